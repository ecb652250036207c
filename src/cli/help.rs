//! Help in the operator's language: clap's derive gives English; for Vietnamese every
//! about and help string, and the headings, are replaced. The language is decided before the
//! command line is parsed.

use crate::config::Overrides;
use crate::lang::Lang;

/// The language for help and usage errors, decided before the command line is parsed:
/// `--lang`, then `LOAXA_LANGUAGE`, then the station's configuration, then Vietnamese.
pub(super) fn help_language() -> Lang {
    let args: Vec<String> = std::env::args().collect();
    let flag = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--lang=")
            .map(str::to_string)
            .or_else(|| (a == "--lang").then(|| args.get(i + 1).cloned()).flatten())
    });
    if let Some(l) = flag.as_deref().and_then(Lang::parse) {
        return l;
    }
    if let Some(l) = std::env::var("LOAXA_LANGUAGE")
        .ok()
        .as_deref()
        .and_then(Lang::parse)
    {
        return l;
    }
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            crate::config::load(
                &Overrides::default(),
                &crate::config::environment(),
                &cwd,
                &[],
            )
            .ok()
        })
        .map(|c| c.language)
        .unwrap_or_default()
}

/// The frame of the help in the operator's language: the help texts themselves are chosen
/// as the arguments are built (`args::h`); Vietnamese also needs clap's own words — the
/// headings, the usage line, the help and version flags — replaced.
pub(super) fn localize(cmd: clap::Command, lang: Lang) -> clap::Command {
    if lang == Lang::En {
        return cmd;
    }
    let template = "{about-with-newline}\nCách dùng: {usage}\n\n{all-args}{after-help}";
    fn frame(c: clap::Command, template: &'static str) -> clap::Command {
        let c = c
            .help_template(template)
            .mut_args(|a| {
                if a.is_positional() {
                    a.help_heading("Tham số")
                } else {
                    a.help_heading("Tùy chọn")
                }
            })
            .next_help_heading("Tùy chọn")
            .subcommand_help_heading("Lệnh")
            .disable_help_flag(true)
            .arg(
                clap::Arg::new("help")
                    .short('h')
                    .long("help")
                    .action(clap::ArgAction::Help)
                    .help("In trợ giúp này")
                    .global(true),
            );
        let names: Vec<String> = c
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        names
            .iter()
            .fold(c, |c, n| c.mut_subcommand(n, |s| frame(s, template)))
    }
    frame(cmd, template)
        .disable_help_subcommand(true)
        .disable_version_flag(true)
        .arg(
            clap::Arg::new("version")
                .short('V')
                .long("version")
                .action(clap::ArgAction::Version)
                .help("In phiên bản"),
        )
}

/// A usage error in Vietnamese (clap's own are English): what was wrong, the nearest right
/// spelling if clap has one, the usage line, and where to look. `None` for the kinds that are
/// not errors (help, version) or that clap words best itself.
pub(super) fn usage_error(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let text = |kind: ContextKind| -> Option<String> {
        match e.get(kind)? {
            ContextValue::String(s) => Some(s.clone()),
            ContextValue::Strings(v) => Some(v.join(", ")),
            ContextValue::StyledStr(s) => Some(s.to_string()),
            ContextValue::StyledStrs(v) => Some(
                v.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ContextValue::Number(n) => Some(n.to_string()),
            ContextValue::Bool(_) | ContextValue::None => None,
            _ => None,
        }
    };
    let arg = text(ContextKind::InvalidArg).unwrap_or_default();
    let mut what = match e.kind() {
        ErrorKind::InvalidSubcommand => format!(
            "không có lệnh «{}»",
            text(ContextKind::InvalidSubcommand).unwrap_or_default()
        ),
        ErrorKind::UnknownArgument => format!("không có tùy chọn «{arg}»"),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let value = text(ContextKind::InvalidValue).unwrap_or_default();
            let mut t = format!("giá trị «{value}» không dùng được cho {arg}");
            if let Some(valid) = text(ContextKind::ValidValue) {
                t += &format!("; dùng một trong: {valid}");
            }
            t
        }
        ErrorKind::ArgumentConflict => format!(
            "{arg} không dùng cùng {}",
            text(ContextKind::PriorArg).unwrap_or_default()
        ),
        ErrorKind::MissingRequiredArgument => format!("còn thiếu: {arg}"),
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues => {
            format!("số giá trị cho {arg} không đúng")
        }
        ErrorKind::NoEquals => format!("{arg} cần dấu = trước giá trị"),
        ErrorKind::InvalidUtf8 => "tham số có ký tự không phải UTF-8".to_string(),
        _ => return None,
    };
    let suggested = text(ContextKind::SuggestedSubcommand)
        .or_else(|| text(ContextKind::SuggestedArg))
        .or_else(|| text(ContextKind::SuggestedValue));
    if let Some(s) = suggested {
        what += &format!("\n\n  gợi ý: có phải ý bạn là «{s}»?");
    }
    let usage = text(ContextKind::Usage)
        .map(|u| {
            let u = u.trim_start();
            let u = u.strip_prefix("Usage:").unwrap_or(u).trim();
            format!("\n\nCách dùng: {u}")
        })
        .unwrap_or_default();
    Some(format!(
        "lỗi: {what}{usage}\n\nXem thêm: loaxa --help (hoặc --lang en)\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::super::args::set_help_language;
    use super::super::Cli;
    use super::*;
    use clap::CommandFactory;

    /// Every command and every argument an operator can type has its help in both languages,
    /// written side by side in `args.rs`.
    #[test]
    fn every_command_and_argument_has_vietnamese_and_english_help() {
        fn walk(en: &clap::Command, vi: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let about = |c: &clap::Command| c.get_about().map(ToString::to_string);
            match (about(en), about(vi)) {
                (Some(e), Some(v)) if e != v => {}
                (e, v) => missing.push(format!("{path}: about en={e:?} vi={v:?}")),
            }
            for a in en.get_arguments() {
                let id = a.get_id().as_str();
                let e = a.get_help().map(ToString::to_string);
                let v = vi
                    .get_arguments()
                    .find(|b| b.get_id() == a.get_id())
                    .and_then(|b| b.get_help().map(ToString::to_string));
                match (e, v) {
                    (Some(e), Some(v)) if e != v => {}
                    (e, v) => missing.push(format!("{path} --{id}: en={e:?} vi={v:?}")),
                }
            }
            // (clap's `help` subcommand; in Vietnamese `-h` serves instead.)
            for sub in en.get_subcommands().filter(|s| s.get_name() != "help") {
                let name = sub.get_name();
                match vi.get_subcommands().find(|s| s.get_name() == name) {
                    Some(v) => walk(sub, v, &format!("{path} {name}"), missing),
                    None => missing.push(format!("{path} {name}: no Vietnamese command")),
                }
            }
        }
        set_help_language(Lang::En);
        let mut en = Cli::command();
        en.build();
        set_help_language(Lang::Vi);
        let mut vi = localize(Cli::command(), Lang::Vi);
        vi.build();
        let mut missing = Vec::new();
        walk(&en, &vi, "loaxa", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    /// A usage error speaks Vietnamese too, with clap's suggestion and the usage line.
    #[test]
    fn usage_errors_are_said_in_vietnamese() {
        use clap::Parser as _;
        set_help_language(Lang::Vi);
        let said = |args: &[&str]| {
            let e = Cli::try_parse_from(std::iter::once("loaxa").chain(args.iter().copied()))
                .err()
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            usage_error(&e).unwrap_or_else(|| format!("(clap's own) {e}"))
        };
        let t = said(&["nxt"]);
        assert!(
            t.contains("không có lệnh «nxt»") && t.contains("«next»"),
            "{t}"
        );
        let t = said(&["next", "--dayz", "3"]);
        assert!(
            t.contains("không có tùy chọn «--dayz»") && t.contains("«--days»"),
            "{t}"
        );
        let t = said(&["next", "--days", "abc"]);
        assert!(
            t.contains("giá trị «abc» không dùng được cho --days"),
            "{t}"
        );
        let t = said(&["report", "--format", "pdf"]);
        assert!(
            t.contains("dùng một trong: table, csv, json, html, xlsx"),
            "{t}"
        );
        let t = said(&["report", "--month", "2025-09", "--quarter", "2025-Q3"]);
        assert!(t.contains("không dùng cùng"), "{t}");
        let t = said(&["play"]);
        assert!(
            t.contains("còn thiếu: <FILE>") && t.contains("Cách dùng: loaxa play"),
            "{t}"
        );
    }
}
