//! The command line: arguments (with their Vietnamese help beside the English, in `help`),
//! and one file per command. Each command loads the station, does one job, writes to the
//! writers it is given, and maps the outcome to an exit code: 0 ok, 1 a runtime failure,
//! 2 invalid input or usage. `run_args` runs any command in-process, for tests.

mod args;
mod central;
mod doctor;
mod help;
mod install;
mod live;
mod log;
mod next;
mod play;
mod report;
mod run;
mod status;
mod sync;
mod validate;
mod web;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

pub use args::Cli;
use args::{
    BulletinAction, BulletinArgs, CentralAction, Command, Format, GroupAction, LiveAction,
    LogAction, LogArgs, NextFormat, PlayPriority, ReportFormat,
};

use crate::audio::device::DeviceOutput;
use crate::audio::paced::PacedOutput;
use crate::audio::{AudioHandle, Output};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, OutputSpec, Overrides};
use crate::daemon::{self, RunOptions};
use crate::diagnostic::Diagnostic;
use crate::journal::{Journal, Record};
use crate::lang::Lang;
use crate::library;
use crate::planner::Planned;
use crate::station::{Loaded, Schedules, Station, StationError};
use crate::tr;

/// How a command failed, which decides the exit code.
pub(crate) enum Failure {
    /// Invalid input: exit 2. Messages are already printed.
    Invalid,
    /// A runtime failure: exit 1.
    Runtime(String),
    /// A check failed (already reported): exit 1.
    Broken,
}

/// A failed write to the terminal (a closed pipe): the command cannot finish its output.
fn io(e: std::io::Error) -> Failure {
    Failure::Runtime(format!("stdout: {e}"))
}

/// Everything a command reads of the world besides its arguments, so a test can run any
/// command in-process: flags that apply to all, the environment's `LOAXA_*`, the working
/// directory, and the time.
pub struct Context {
    pub overrides: Overrides,
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub now: DateTime<Utc>,
    /// Standard output is a terminal (a workbook is then written to a file, not to it).
    pub terminal: bool,
}

impl Context {
    /// The language before the configuration is read (its own errors are said in it).
    fn early_lang(&self) -> Lang {
        self.overrides
            .language
            .as_deref()
            .or(self.env.get("LOAXA_LANGUAGE").map(String::as_str))
            .and_then(Lang::parse)
            .unwrap_or_default()
    }

    /// The station's configuration; its errors are printed, located. Only the station-wide
    /// keys can stop a command: a section another process owns (`[sync]`, `[web]`,
    /// `[stream]`) with errors is said as a warning, located, and the command goes on — a
    /// mistake there must never keep the station off the air.
    fn config(&self, err: &mut dyn Write) -> Result<Config, Failure> {
        match crate::config::load(&self.overrides, &self.env, &self.cwd, &[]) {
            Ok(c) => {
                crate::logging::set_zone(c.timezone);
                let others = section_problems(&c);
                if !others.is_empty() {
                    print_diagnostics(err, &others, c.language)?;
                }
                Ok(c)
            }
            Err(ConfigError::Invalid(d)) => {
                print_diagnostics(err, &d, self.early_lang())?;
                Err(Failure::Invalid)
            }
            Err(ConfigError::NotFound(msg)) => {
                writeln!(err, "loaxa: {msg}").map_err(io)?;
                Err(Failure::Invalid)
            }
            Err(e) => Err(Failure::Runtime(e.to_string())),
        }
    }

    /// The station, its schedules loaded as `mode` says. In the strict mode, schedule
    /// errors fail the command and warnings are printed; the lenient modes print nothing
    /// (the caller decides what to say of what was left out).
    fn station(&self, mode: Schedules, err: &mut dyn Write) -> Result<Loaded, Failure> {
        let config = self.config(err)?;
        let lang = config.language;
        match Station::load(config, mode) {
            Ok(loaded) => {
                if matches!(mode, Schedules::Strict { .. }) {
                    print_diagnostics(err, &loaded.diagnostics, lang)?;
                }
                Ok(loaded)
            }
            Err(StationError::Schedules(d)) => {
                print_diagnostics(err, &d, lang)?;
                let errors = d.iter().filter(|d| d.is_error()).count();
                writeln!(
                    err,
                    "{}",
                    tr!(
                        lang,
                        "lịch phát có {errors} lỗi; hãy sửa rồi chạy lại",
                        "the schedules have {errors} error(s); fix them and run again"
                    )
                )
                .map_err(io)?;
                Err(Failure::Invalid)
            }
            Err(StationError::Config(e)) => Err(Failure::Runtime(e.to_string())),
        }
    }
}

/// The configuration's sections other parts own (the list in one place). Each part refuses
/// to start with its own section broken; every other command says it as a warning.
pub const SECTIONS: &[crate::config::Section] = &[
    crate::web::settings::check,
    crate::stream::settings::check,
    crate::sync::settings::check,
];

/// The problems of the sections other processes own, as warnings that say what they stop.
fn section_problems(config: &Config) -> Vec<Diagnostic> {
    let path = config
        .file
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("config/loaxa.toml"));
    let lang = config.language;
    SECTIONS
        .iter()
        .flat_map(|check| check(&path, &config.text, lang))
        .map(|mut d| {
            d.message += &tr!(
                lang,
                " (đài vẫn phát bình thường; chỉ phần dùng mục này không chạy được cho đến khi sửa)",
                " (the station airs as usual; only the part that uses this section cannot start until it is fixed)"
            );
            d.as_warning()
        })
        .collect()
}

pub fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let lang = help::help_language();
    args::set_help_language(lang);
    let parsed = help::localize(Cli::command(), lang)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            match help::usage_error(&e, "loaxa").filter(|_| lang == Lang::Vi) {
                Some(text) => eprint!("{text}"),
                None => {
                    let _ = e.print();
                }
            }
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    crate::logging::init_logging();
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("loaxa: current directory: {e}");
            return ExitCode::from(1);
        }
    };
    let ctx = Context {
        overrides: Overrides::default(),
        env: crate::config::environment(),
        cwd,
        now: Utc::now(),
        terminal: std::io::IsTerminal::is_terminal(&std::io::stdout()),
    };
    let code = execute(
        cli,
        ctx,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr(),
    );
    ExitCode::from(code)
}

/// Runs a command line as `loaxa` would (`args` without the program's name), writing to
/// `out` and `err`; returns the exit code. For tests: every command in-process.
pub fn run_args(args: &[&str], ctx: Context, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    use clap::Parser as _;
    match Cli::try_parse_from(std::iter::once("loaxa").chain(args.iter().copied())) {
        Ok(cli) => execute(cli, ctx, out, err),
        Err(e) => {
            let _ = write!(err, "{e}");
            if e.use_stderr() {
                2
            } else {
                0
            }
        }
    }
}

fn execute(cli: Cli, mut ctx: Context, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    ctx.overrides.config = cli.config.clone();
    ctx.overrides.language = cli.lang.clone();
    let lang = ctx.early_lang();
    match dispatch(cli.command, &mut ctx, out, err) {
        Ok(()) => 0,
        Err(Failure::Invalid) => 2,
        Err(Failure::Broken) => 1,
        Err(Failure::Runtime(msg)) => {
            let _ = writeln!(err, "loaxa: {}: {msg}", lang.pick("lỗi", "error"));
            1
        }
    }
}

fn print_diagnostics(err: &mut dyn Write, diags: &[Diagnostic], lang: Lang) -> Result<(), Failure> {
    let journal = crate::logging::stderr_is_journal();
    for d in diags {
        if journal {
            // One journal entry per line, each with the diagnostic's priority.
            let priority = if d.is_error() { 3 } else { 4 };
            for line in d.render(lang).lines() {
                writeln!(err, "<{priority}>{line}").map_err(io)?;
            }
            continue;
        }
        writeln!(err, "{}\n", d.render(lang)).map_err(io)?;
    }
    Ok(())
}

fn open_output(config: &Config) -> Box<dyn Output> {
    match &config.output {
        OutputSpec::Default => Box::new(DeviceOutput::new(
            None,
            config.buffer_frames,
            config.language,
        )),
        OutputSpec::Device(name) => Box::new(DeviceOutput::new(
            Some(name.clone()),
            config.buffer_frames,
            config.language,
        )),
        OutputSpec::Wav(path) => Box::new(PacedOutput::wav(path.clone())),
        OutputSpec::Null => Box::new(PacedOutput::null()),
    }
}

/// A report rendered in the format asked for.
fn render(r: &dyn crate::report::Formats, format: ReportFormat) -> Result<Vec<u8>, Failure> {
    Ok(match format {
        ReportFormat::Table => r.to_text().into_bytes(),
        ReportFormat::Csv => r.to_csv().into_bytes(),
        ReportFormat::Json => r.to_json().into_bytes(),
        ReportFormat::Html => r.to_html().into_bytes(),
        ReportFormat::Xlsx => r
            .to_xlsx()
            .map_err(|e| Failure::Runtime(format!("xlsx: {e}")))?,
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("tokio: {e}")))
}

/// The journal for commands that only read it: one that does not exist yet is the
/// operator's mistake (a wrong station or config), not something to create; one that does
/// is opened read-only (these commands never write the daemon's files).
fn existing_journal(config: &Config, lang: Lang, err: &mut dyn Write) -> Result<Journal, Failure> {
    if !config.journal.is_file() {
        writeln!(
            err,
            "{}",
            tr!(
                lang,
                "chưa có nhật ký ở {}",
                "no journal at {}",
                config.journal.display()
            )
        )
        .map_err(io)?;
        return Err(Failure::Invalid);
    }
    journal_if_any(config)?.ok_or_else(|| Failure::Runtime(config.journal.display().to_string()))
}

/// The journal if the station has one yet, read-only: for commands that plan or show state
/// and must not create it (a read-only file system as `Journal::open_reader` says).
fn journal_if_any(config: &Config) -> Result<Option<Journal>, Failure> {
    if !config.journal.is_file() {
        return Ok(None);
    }
    Journal::open_reader(&config.journal)
        .map(Some)
        .map_err(|e| Failure::Runtime(e.to_string()))
}

fn dispatch(
    command: Command,
    ctx: &mut Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    match command {
        Command::Run { output, rehearse } => {
            ctx.overrides.output = output;
            run::run(ctx, rehearse, err)
        }
        Command::Validate { online } => validate::validate(ctx, online, out, err),
        Command::Status => status::status(ctx, out, err),
        Command::Doctor => doctor::doctor(ctx, out, err),
        Command::Install {
            root,
            no_start,
            packaged,
        } => install::install(ctx, &root, no_start, packaged, out),
        Command::Next { days, format } => next::next(ctx, days, format, out, err),
        Command::Log {
            action: Some(LogAction::Verify { pin }),
            ..
        } => log::verify(ctx, pin.as_deref(), out, err),
        Command::Log { args, .. } => log::log(ctx, args, out, err),
        Command::Report {
            month,
            quarter,
            from,
            to,
            plan,
            format,
            out: file,
        } => report::report(
            ctx,
            report::Request {
                month,
                quarter,
                days: from.zip(to),
                plan,
                format,
                file,
            },
            out,
            err,
        ),
        Command::Web { args } => web::web(ctx, &args, err),
        Command::Sync { once } => sync::sync(ctx, once, out, err),
        Command::Central { db, action } => central::central(ctx, db, action, out, err),
        Command::Live { action } => live::live(
            ctx,
            match action {
                LiveAction::Start { priority } => Some(priority.priority()),
                LiveAction::Stop => None,
            },
            out,
            err,
        ),
        Command::Play {
            file,
            output,
            priority,
            ..
        } => {
            ctx.overrides.output = output;
            play::play(ctx, &file, priority == PlayPriority::Emergency, out, err)
        }
    }
}
