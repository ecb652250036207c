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
            crate::config::load(&Overrides::default(), &crate::config::environment(), &cwd).ok()
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
}
