//! Command-line help and usage errors in the operator's language: clap's derive gives
//! English; for Vietnamese the headings, the usage line, the help and version flags and the
//! usage errors are replaced. Shared by `loaxa` and the console's program, `loaxa-web`.

use crate::lang::Lang;

/// The frame of the help in the operator's language: the help texts themselves are chosen
/// as the arguments are built (`args::h`); Vietnamese also needs clap's own words — the
/// headings, the usage line, the help and version flags — replaced.
pub fn localize(cmd: clap::Command, lang: Lang) -> clap::Command {
    if lang == Lang::En {
        return cmd;
    }
    let template = "{about-with-newline}\nCách dùng: {usage}\n\n{all-args}{after-help}";
    fn frame(c: clap::Command, template: &'static str) -> clap::Command {
        let c = c
            .help_template(template)
            .mut_args(|a| {
                let a = if a.is_positional() {
                    a.help_heading("Tham số")
                } else {
                    a.help_heading("Tùy chọn")
                };
                said_in_vietnamese(a)
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
pub fn usage_error(e: &clap::Error, program: &str) -> Option<String> {
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
        "lỗi: {what}{usage}\n\nXem thêm: {program} --help (hoặc --lang en)\n"
    ))
}

/// clap's "[default: …] [possible values: …]" said in Vietnamese, after the help.
fn said_in_vietnamese(a: clap::Arg) -> clap::Arg {
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let values: Vec<String> = if a.is_hide_possible_values_set() {
        Vec::new()
    } else {
        a.get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect()
    };
    // A flag's "true"/"false" are no values an operator types.
    if !a.get_action().takes_values() || (defaults.is_empty() && values.is_empty()) {
        return a;
    }
    let mut said = a.get_help().map(ToString::to_string).unwrap_or_default();
    if !defaults.is_empty() && !a.is_hide_default_value_set() {
        said += &format!(" [mặc định: {}]", defaults.join(", "));
    }
    if !values.is_empty() {
        said += &format!(" [một trong: {}]", values.join(", "));
    }
    a.help(said)
        .hide_default_value(true)
        .hide_possible_values(true)
}
