//! Help in the operator's language for `loaxa`: the language decided before the command line
//! is parsed (`config::help_language`), clap's frame replaced (`usage`), and the tests that
//! every command and argument has its help in both languages (written side by side in
//! `args.rs`).

pub(super) use crate::config::help_language;
pub(super) use crate::usage::{localize, usage_error};

#[cfg(test)]
mod tests {
    use super::super::args::set_help_language;
    use super::super::Cli;
    use super::*;
    use crate::lang::Lang;
    use clap::CommandFactory;

    /// The help language is one global: the tests that set it take turns.
    /// Regression: run in parallel, one test's `Vi` landed between the other's `En` and its
    /// building the English command, and every help text looked untranslated.
    static HELP_LANGUAGE: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn turn() -> std::sync::MutexGuard<'static, ()> {
        HELP_LANGUAGE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every command and every argument an operator can type has its help in both languages,
    /// written side by side in `args.rs`.
    #[test]
    fn every_command_and_argument_has_vietnamese_and_english_help() {
        let _turn = turn();
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
        let _turn = turn();
        set_help_language(Lang::Vi);
        let said = |args: &[&str]| {
            let e = Cli::try_parse_from(std::iter::once("loaxa").chain(args.iter().copied()))
                .err()
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            usage_error(&e, "loaxa").unwrap_or_else(|| format!("(clap's own) {e}"))
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
