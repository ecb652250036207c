//! The command line: `run`, `validate`, `next`, `log`, `play`. Each command loads the
//! station, does one job and maps the outcome to an exit code: 0 ok, 1 a runtime failure,
//! 2 invalid input or usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};

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
use crate::plan::{Planned, Planner};
use crate::station::{Station, StationError};
use crate::tr;

#[derive(Debug, Parser)]
#[command(
    name = "loaxa",
    version,
    about = "loaxa (loa xã): airs a commune radio station's scheduled announcements on the second and journals every broadcast"
)]
pub struct Cli {
    /// The station configuration (default: config/loaxa.toml in this directory or a parent,
    /// else /etc/loaxa/loaxa.toml). Also LOAXA_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Language of messages: vi (default) or en. Also LOAXA_LANGUAGE.
    #[arg(long, global = true, value_name = "vi|en")]
    lang: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the station in the foreground: air the schedules, journal every broadcast.
    Run {
        /// Where audio goes: default, a device name, wav:PATH or null. Also LOAXA_OUTPUT.
        #[arg(long, value_name = "OUTPUT")]
        output: Option<String>,
        /// First air every slot once, back to back, as a journaled manual rehearsal.
        #[arg(long)]
        rehearse: bool,
    },
    /// Check the configuration, every schedule and every referenced clip; report all problems.
    Validate,
    /// Show what will air, when and which clips, in the station's time zone.
    Next {
        /// How many days ahead to look.
        #[arg(long, default_value_t = 2)]
        days: u32,
    },
    /// Show what aired (and what did not, and why).
    Log {
        #[command(subcommand)]
        action: Option<LogAction>,
        #[command(flatten)]
        args: LogArgs,
    },
    /// The commune's report: what the plan called for and what aired, per topic and slot,
    /// the completion ratio as scored, what did not air in full and why, every clip aired.
    Report {
        /// A month: 2025-09. Default: this month.
        #[arg(long, conflicts_with_all = ["quarter", "from", "to"])]
        month: Option<String>,
        /// A quarter: 2025-Q3.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        quarter: Option<String>,
        /// First day (YYYY-MM-DD), with --to.
        #[arg(long, requires = "to")]
        from: Option<NaiveDate>,
        /// Last day, inclusive (YYYY-MM-DD), with --from.
        #[arg(long, requires = "from")]
        to: Option<NaiveDate>,
        /// Only this plan (its id).
        #[arg(long)]
        plan: Option<String>,
        /// Output: table, csv, json, html (to print or save as PDF), xlsx (Excel).
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Write to this file instead of standard output (xlsx on a terminal defaults to
        /// bao-cao-PERIOD.xlsx).
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check everything an operator would need to: configuration, schedules, audio library,
    /// sound output, journal integrity, disk space, clock sync, the service; with fixes.
    Doctor,
    /// Install loaxa as a system service (as root): binary, systemd unit, the loaxa user,
    /// /etc/loaxa/loaxa.toml and the station folder /var/lib/loaxa with the example plan.
    Install {
        /// Install into this directory instead of / (for packaging); nothing outside it changes.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
        /// Enable the service but do not start it now.
        #[arg(long)]
        no_start: bool,
        /// The Debian package's post-install step: the package already placed the binary,
        /// unit and sysusers file; do the rest (user, configuration, station folder, enable).
        #[arg(long)]
        packaged: bool,
    },
    /// Whether the station is running, what is on air, what airs next, the queues and their
    /// clips, rejected schedule files and the output's state.
    Status,
    /// Air one file now (a sound check), journaled as manual. With loaxa running, the file is
    /// handed to it and airs as soon as nothing is on air; otherwise it airs here, through
    /// the configured output.
    Play {
        /// The audio file (relative to audio/, or any path).
        file: PathBuf,
        /// Where audio goes: default, a device name, wav:PATH or null. Also LOAXA_OUTPUT.
        #[arg(long, value_name = "OUTPUT")]
        output: Option<String>,
        /// Air as soon as possible (the default; kept for clarity in scripts). With
        /// `--priority emergency`, what is on air is cut.
        #[arg(long)]
        now: bool,
        /// `emergency` hands the file to the running daemon, which cuts what is on air and
        /// repeats it as configured; without a running daemon it airs here, repeated.
        #[arg(long, value_enum, default_value_t = PlayPriority::Normal)]
        priority: PlayPriority,
    },
}

#[derive(Debug, clap::Args)]
struct LogArgs {
    /// First day (YYYY-MM-DD, station time). Default: 7 days ago.
    #[arg(long, conflicts_with = "day")]
    from: Option<NaiveDate>,
    /// Last day, inclusive (YYYY-MM-DD, station time). Default: today.
    #[arg(long, conflicts_with = "day")]
    to: Option<NaiveDate>,
    /// One day as a timeline: what was planned against what aired, clip by clip.
    #[arg(long)]
    day: Option<NaiveDate>,
    /// Only this plan (its id).
    #[arg(long)]
    plan: Option<String>,
    /// Only this slot (its id).
    #[arg(long)]
    slot: Option<String>,
    /// Only this plan item (topic key).
    #[arg(long)]
    topic: Option<String>,
    /// Only this outcome: completed, partial, failed, missed, interrupted or unfinished.
    #[arg(long)]
    outcome: Option<String>,
    /// Output: table, csv or json.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum LogAction {
    /// Walk the journal's hash chain and report the first event altered, removed, inserted
    /// or reordered. Exit 1 if the chain is broken.
    Verify {
        /// A report's pinned head, as printed on it: EVENTS:HASH. Checks that the journal
        /// still holds the history that report was made from.
        #[arg(long, value_name = "EVENTS:HASH")]
        pin: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum PlayPriority {
    Normal,
    Emergency,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ReportFormat {
    Table,
    Csv,
    Json,
    Html,
    Xlsx,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

/// How a command failed, which decides the exit code.
enum Failure {
    /// Invalid input: exit 2. Messages are already printed.
    Invalid,
    /// A runtime failure: exit 1.
    Runtime(String),
    /// A check failed (already reported): exit 1.
    Broken,
}

pub fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let lang = help_language();
    let parsed = localize(Cli::command(), lang)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging();
    let lang = cli
        .lang
        .as_deref()
        .or(std::env::var("LOAXA_LANGUAGE").ok().as_deref())
        .and_then(Lang::parse)
        .unwrap_or_default();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid) => ExitCode::from(2),
        Err(Failure::Broken) => ExitCode::from(1),
        Err(Failure::Runtime(msg)) => {
            eprintln!("loaxa: {}: {msg}", lang.pick("lỗi", "error"));
            ExitCode::from(1)
        }
    }
}

/// The language for help and usage errors, decided before the command line is parsed:
/// `--lang`, then `LOAXA_LANGUAGE`, then the station's configuration, then Vietnamese.
fn help_language() -> Lang {
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

/// Vietnamese help: clap's derive texts are English, so for `vi` every about and help
/// string, and the headings, are replaced.
fn localize(cmd: clap::Command, lang: Lang) -> clap::Command {
    if lang == Lang::En {
        return cmd;
    }
    let template = "{about-with-newline}\nCách dùng: {usage}\n\n{all-args}{after-help}";
    let common = |c: clap::Command| {
        c.help_template(template)
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
            )
    };
    let output =
        "Đầu ra âm thanh: default, tên thiết bị, wav:ĐƯỜNG_DẪN hoặc null (hoặc LOAXA_OUTPUT)";
    common(cmd)
        .about("loaxa (loa xã): phát các bản tin theo lịch của đài truyền thanh xã đúng từng giây và ghi nhật ký mọi lần phát")
        .disable_help_subcommand(true)
        .mut_arg("config", |a| {
            a.help("Tệp cấu hình của đài (mặc định: config/loaxa.toml ở thư mục này hoặc thư mục cha, rồi /etc/loaxa/loaxa.toml; hoặc LOAXA_CONFIG)")
        })
        .mut_arg("lang", |a| a.help("Ngôn ngữ: vi (mặc định) hoặc en (hoặc LOAXA_LANGUAGE)"))
        .disable_version_flag(true)
        .arg(
            clap::Arg::new("version")
                .short('V')
                .long("version")
                .action(clap::ArgAction::Version)
                .help("In phiên bản"),
        )
        .mut_subcommand("run", |c| {
            common(c)
                .about("Chạy đài: phát theo lịch, ghi nhật ký mọi lần phát (chạy ở tiền cảnh; Ctrl-C để dừng)")
                .mut_arg("output", |a| a.help(output))
                .mut_arg("rehearse", |a| a.help("Phát thử mỗi phiên một lần ngay khi khởi động (ghi là phát thủ công)"))
        })
        .mut_subcommand("validate", |c| {
            common(c).about("Kiểm tra cấu hình, mọi lịch phát và mọi tệp âm thanh; báo tất cả lỗi")
        })
        .mut_subcommand("next", |c| {
            common(c)
                .about("Xem các lần phát sắp tới: giờ nào, bài nào (theo giờ của đài)")
                .mut_arg("days", |a| a.help("Xem trước bao nhiêu ngày"))
        })
        .mut_subcommand("log", |c| {
            common(c)
                .about("Xem nhật ký: đã phát gì, chưa phát được gì và vì sao")
                .mut_subcommand("verify", |v| {
                    common(v)
                        .about("Kiểm tra chuỗi băm của nhật ký: báo sự kiện đầu tiên bị sửa, xóa, chèn hoặc đổi chỗ (mã thoát 1 nếu hỏng)")
                        .mut_arg("pin", |a| a.help("Mốc in trên báo cáo, dạng SỐ_SỰ_KIỆN:MÃ_BĂM: kiểm tra nhật ký vẫn đúng là lịch sử báo cáo đã dựa vào"))
                })
                .mut_arg("from", |a| a.help("Từ ngày (NĂM-THÁNG-NGÀY, giờ của đài). Mặc định: 7 ngày trước"))
                .mut_arg("to", |a| a.help("Đến hết ngày (NĂM-THÁNG-NGÀY). Mặc định: hôm nay"))
                .mut_arg("day", |a| a.help("Xem một ngày theo dòng thời gian: kế hoạch và thực tế, từng bài"))
                .mut_arg("plan", |a| a.help("Chỉ một kế hoạch (mã)"))
                .mut_arg("slot", |a| a.help("Chỉ một phiên (mã)"))
                .mut_arg("topic", |a| a.help("Chỉ một nội dung/chủ đề (mã)"))
                .mut_arg("outcome", |a| a.help("Chỉ một kết quả: completed, partial, failed, missed, interrupted hoặc unfinished"))
                .mut_arg("format", |a| a.help("Dạng in: table (bảng), csv hoặc json"))
        })
        .mut_subcommand("report", |c| {
            common(c)
                .about("Báo cáo kết quả phát sóng: kế hoạch và thực tế theo chủ đề và phiên, tỷ lệ hoàn thành và điểm, các lần không phát đủ và lý do, các bài đã phát")
                .mut_arg("month", |a| a.help("Tháng: 2025-09. Mặc định: tháng này"))
                .mut_arg("quarter", |a| a.help("Quý: 2025-Q3"))
                .mut_arg("from", |a| a.help("Từ ngày (NĂM-THÁNG-NGÀY), đi cùng --to"))
                .mut_arg("to", |a| a.help("Đến hết ngày (NĂM-THÁNG-NGÀY), đi cùng --from"))
                .mut_arg("plan", |a| a.help("Chỉ một kế hoạch (mã của nó)"))
                .mut_arg("format", |a| a.help("Dạng: table (bảng), csv, json, html (in ra giấy/PDF), xlsx (Excel)"))
                .mut_arg("out", |a| a.help("Ghi ra tệp này thay vì đầu ra chuẩn (xlsx khi in ra màn hình thì mặc định ghi vào bao-cao-KỲ.xlsx)"))
        })
        .mut_subcommand("doctor", |c| {
            common(c).about("Kiểm tra toàn bộ: cấu hình, lịch phát, thư viện bài, đầu ra âm thanh, nhật ký, dung lượng đĩa, đồng bộ giờ, dịch vụ; kèm cách khắc phục")
        })
        .mut_subcommand("install", |c| {
            common(c)
                .about("Cài loaxa làm dịch vụ hệ thống (chạy với quyền root): chương trình, dịch vụ systemd, người dùng loaxa, /etc/loaxa/loaxa.toml và thư mục đài /var/lib/loaxa kèm kế hoạch mẫu")
                .mut_arg("root", |a| a.help("Cài vào thư mục này thay vì / (để đóng gói); không đụng gì bên ngoài"))
                .mut_arg("no_start", |a| a.help("Bật dịch vụ nhưng chưa chạy ngay"))
                .mut_arg("packaged", |a| a.help("Bước sau khi cài gói Debian: gói đã đặt chương trình, dịch vụ và tệp sysusers; làm nốt phần còn lại (người dùng, cấu hình, thư mục đài, bật dịch vụ)"))
        })
        .mut_subcommand("status", |c| {
            common(c).about("Trạng thái: đài có đang chạy không, đang phát gì, sắp phát gì, các hàng đợi và bài trong đó, lịch phát bị từ chối, tình trạng đầu ra")
        })
        .mut_subcommand("play", |c| {
            common(c)
                .about("Phát ngay một tệp (thử loa), ghi là phát thủ công. Nếu loaxa đang chạy, tệp được giao cho nó và phát ngay khi không có gì đang phát; nếu không, phát tại đây qua đầu ra đã cấu hình")
                .mut_arg("file", |a| a.help("Tệp âm thanh (tính từ audio/, hoặc đường dẫn bất kỳ)"))
                .mut_arg("output", |a| a.help(output))
                .mut_arg("now", |a| a.help("Phát sớm nhất có thể (mặc định); đi cùng --priority emergency thì ngắt phiên đang phát"))
                .mut_arg("priority", |a| a.help("emergency: giao cho loaxa đang chạy để ngắt phiên đang phát và phát lặp lại như tin khẩn cấp; nếu loaxa không chạy thì phát tại đây"))
        })
}

/// The station's zone, once known, so log lines carry the operator's clock, not UTC.
static LOG_ZONE: std::sync::OnceLock<chrono_tz::Tz> = std::sync::OnceLock::new();

struct StationTime;

impl tracing_subscriber::fmt::time::FormatTime for StationTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        let tz = LOG_ZONE
            .get()
            .copied()
            .unwrap_or(chrono_tz::Asia::Ho_Chi_Minh);
        write!(
            w,
            "{}",
            Utc::now()
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S%.3f")
        )
    }
}

/// Decoders log every damaged file at error level; loaxa reports those itself, once, in
/// the operator's language, so their chatter is off unless RUST_LOG asks for it.
/// RUST_LOG takes `target=level` directives, comma-separated, and a bare level for the rest
/// (env_logger's form without its regular expressions, which would cost the daemon a regex
/// engine in memory for a feature nobody at a station uses).
fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let spec = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let parsed = spec.as_deref().map(str::parse::<Targets>);
    let rejected = match &parsed {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    let filter = move || match &parsed {
        Some(Ok(t)) => t.clone(),
        _ => Targets::new()
            .with_default(LevelFilter::WARN)
            .with_target("loaxa", LevelFilter::INFO)
            .with_target("symphonia", LevelFilter::OFF),
    };
    let warn_rejected = || {
        if let (Some(spec), Some(e)) = (&spec, &rejected) {
            tracing::warn!("RUST_LOG «{spec}»: không hiểu / not understood ({e}); dùng mức mặc định / using the default levels");
        }
    };
    if stderr_is_journal() {
        // journald stamps each line itself and reads the level from a <N> prefix.
        let _ = tracing_subscriber::fmt()
            .event_format(Journald)
            .with_writer(std::io::stderr)
            .finish()
            .with(filter())
            .try_init();
        warn_rejected();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_timer(StationTime)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .finish()
        .with(filter())
        .try_init();
    warn_rejected();
}

/// Whether stderr is connected to the systemd journal: `JOURNAL_STREAM` names the device
/// and inode of the journal's stream, which must be stderr's own.
fn stderr_is_journal() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
            return false;
        };
        let Some((dev, ino)) = stream.split_once(':') else {
            return false;
        };
        let stderr =
            std::fs::metadata("/proc/self/fd/2").or_else(|_| std::fs::metadata("/dev/stderr"));
        stderr.is_ok_and(|m| Some(m.dev()) == dev.parse().ok() && Some(m.ino()) == ino.parse().ok())
    }
    #[cfg(not(unix))]
    false
}

/// Log lines for journald: `<priority>message`, no timestamp (sd-daemon(3)).
struct Journald;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Journald
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(w, "<{priority}>")?;
        tracing_subscriber::fmt::FormatFields::format_fields(ctx, w.by_ref(), event)?;
        writeln!(w)
    }
}

fn print_diagnostics(diags: &[Diagnostic], lang: Lang) {
    let journal = stderr_is_journal();
    for d in diags {
        if journal {
            // One journal entry per line, each with the diagnostic's priority.
            let priority = if d.is_error() { 3 } else { 4 };
            for line in d.render(lang).lines() {
                eprintln!("<{priority}>{line}");
            }
            continue;
        }
        eprintln!("{}\n", d.render(lang));
    }
}

fn load(overrides: &Overrides, check_audio: bool) -> Result<Station, Failure> {
    let cwd =
        std::env::current_dir().map_err(|e| Failure::Runtime(format!("current directory: {e}")))?;
    let early = overrides
        .language
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_default();
    match Station::load(overrides, &cwd, check_audio) {
        Ok((station, warnings)) => {
            let _ = LOG_ZONE.set(station.config.timezone);
            print_diagnostics(&warnings, station.lang());
            Ok(station)
        }
        Err(StationError::Config(ConfigError::Invalid(d))) => {
            print_diagnostics(&d, early);
            Err(Failure::Invalid)
        }
        Err(StationError::Config(ConfigError::NotFound(msg))) => {
            eprintln!("loaxa: {msg}");
            Err(Failure::Invalid)
        }
        Err(StationError::Config(e)) => Err(Failure::Runtime(e.to_string())),
        Err(StationError::Schedules(d)) => {
            let lang = config_lang(overrides, &cwd).unwrap_or(early);
            print_diagnostics(&d, lang);
            let errors = d.iter().filter(|d| d.is_error()).count();
            eprintln!(
                "{}",
                tr!(
                    lang,
                    "lịch phát có {errors} lỗi; hãy sửa rồi chạy lại",
                    "the schedules have {errors} error(s); fix them and run again"
                )
            );
            Err(Failure::Invalid)
        }
    }
}

/// For commands that read the journal and need no schedule (`log`, `report`, `log verify`):
/// a schedule file with errors must not stop anyone reading what already aired.
fn load_journal_reader(overrides: &Overrides) -> Result<Station, Failure> {
    let cwd =
        std::env::current_dir().map_err(|e| Failure::Runtime(format!("current directory: {e}")))?;
    match Station::load_lenient(overrides, &cwd) {
        Ok((station, _)) => {
            let _ = LOG_ZONE.set(station.config.timezone);
            Ok(station)
        }
        Err(_) => load(overrides, false),
    }
}

fn config_lang(overrides: &Overrides, cwd: &Path) -> Option<Lang> {
    crate::config::load(overrides, &crate::config::environment(), cwd)
        .ok()
        .map(|c| c.language)
}

fn open_output(config: &Config) -> Box<dyn Output> {
    match &config.output {
        OutputSpec::Default => Box::new(DeviceOutput::new(None, config.buffer_frames)),
        OutputSpec::Device(name) => {
            Box::new(DeviceOutput::new(Some(name.clone()), config.buffer_frames))
        }
        OutputSpec::Wav(path) => Box::new(PacedOutput::wav(path.clone())),
        OutputSpec::Null => Box::new(PacedOutput::null()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("tokio: {e}")))
}

/// The journal for commands that only read it: one that does not exist yet is the
/// operator's mistake (a wrong station or config), not something to create.
fn existing_journal(config: &Config, lang: Lang) -> Result<Journal, Failure> {
    if !config.journal.is_file() {
        eprintln!(
            "{}",
            tr!(
                lang,
                "chưa có nhật ký ở {}",
                "no journal at {}",
                config.journal.display()
            )
        );
        return Err(Failure::Invalid);
    }
    open_journal(config)
}

fn open_journal(config: &Config) -> Result<Journal, Failure> {
    Journal::open(&config.journal).map_err(|e| Failure::Runtime(e.to_string()))
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    let mut overrides = Overrides {
        config: cli.config.clone(),
        output: None,
        language: cli.lang.clone(),
    };
    match cli.command {
        Command::Run { output, rehearse } => {
            overrides.output = output;
            run(&overrides, rehearse)
        }
        Command::Validate => validate(&overrides),
        Command::Status => status(&overrides),
        Command::Doctor => doctor(&overrides),
        Command::Install {
            root,
            no_start,
            packaged,
        } => {
            let lang = overrides
                .language
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or_default();
            match crate::install::install(&root, no_start, packaged, lang) {
                Ok(done) => {
                    for line in done {
                        println!("{line}");
                    }
                    println!(
                        "{}",
                        tr!(
                            lang,
                            "xong. Bài phát: /var/lib/loaxa/audio, lịch phát: /var/lib/loaxa/schedules (đổi tên tệp .toml.example thành .toml để dùng lịch mẫu), cấu hình: /etc/loaxa/loaxa.toml",
                            "done. Clips: /var/lib/loaxa/audio, schedules: /var/lib/loaxa/schedules (rename the .toml.example file to .toml to use the example plan), configuration: /etc/loaxa/loaxa.toml"
                        )
                    );
                    Ok(())
                }
                Err(e) => Err(Failure::Runtime(e.to_string())),
            }
        }
        Command::Next { days } => next(&overrides, days),
        Command::Log {
            action: Some(LogAction::Verify { pin }),
            ..
        } => verify(&overrides, pin.as_deref()),
        Command::Log { args, .. } => log(&overrides, args),
        Command::Report {
            month,
            quarter,
            from,
            to,
            plan,
            format,
            out,
        } => report(&overrides, month, quarter, from.zip(to), plan, format, out),
        Command::Play {
            file,
            output,
            priority,
            ..
        } => {
            overrides.output = output;
            play(&overrides, &file, priority == PlayPriority::Emergency)
        }
    }
}

fn run(overrides: &Overrides, rehearse: bool) -> Result<(), Failure> {
    let cwd =
        std::env::current_dir().map_err(|e| Failure::Runtime(format!("current directory: {e}")))?;
    // A bad schedule edit must not keep a rebooted station silent: the daemon starts with the
    // other files, and the bad one's last good version if the journal has it.
    let station = match Station::load_for_run(overrides, &cwd) {
        Ok((station, diags, kept)) => {
            let _ = LOG_ZONE.set(station.config.timezone);
            let lang = station.lang();
            print_diagnostics(&diags, lang);
            let broken: std::collections::BTreeSet<String> = diags
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.file.display().to_string())
                .collect();
            for file in broken {
                if kept.contains(&file) {
                    tracing::error!("{}", tr!(lang, "lịch phát {file} có lỗi: dùng bản đúng đã lưu lần trước cho đến khi sửa xong", "schedule {file} has errors: its last good version stays in force until it is fixed"));
                } else {
                    tracing::error!("{}", tr!(lang, "lịch phát {file} có lỗi và chưa có bản đúng nào: tệp này không được dùng", "schedule {file} has errors and no earlier good version: it is not in force"));
                }
            }
            station
        }
        Err(_) => load(overrides, true)?,
    };
    let lang = station.lang();
    if matches!(station.config.output, OutputSpec::Wav(_) | OutputSpec::Null) {
        tracing::warn!(
            "{}",
            tr!(
                lang,
                "CHÚ Ý: đầu ra là {}. Đổi `output` trong {} để phát ra loa thật.",
                "NOTE: the output is {}. Change `output` in {} to air to the loudspeakers.",
                station.config.output.describe(lang),
                station
                    .config
                    .file
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        );
    }
    // On a read-only file system the journal opens read-only (by SQLite itself, or here as
    // it stands when SQLite cannot): the daemon airs anyway and holds what it would write
    // until the journal can be opened for writing again.
    let mut journal = match Journal::open(&station.config.journal) {
        Ok(j) => j,
        Err(e) => match Journal::open_read_only(&station.config.journal) {
            Ok(j) => {
                tracing::error!(
                    "{}",
                    tr!(
                        lang,
                        "KHÔNG MỞ ĐƯỢC NHẬT KÝ ĐỂ GHI ({e}); loaxa vẫn phát và giữ các sự kiện cho đến khi ghi được",
                        "CANNOT OPEN THE JOURNAL FOR WRITING ({e}); loaxa airs anyway and holds its events until it can"
                    )
                );
                j
            }
            Err(_) => return Err(Failure::Runtime(e.to_string())),
        },
    };
    let audio = AudioHandle::spawn(open_output(&station.config))
        .map_err(|e| Failure::Runtime(format!("audio thread: {e}")))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let rt = runtime()?;
    let hangup = Arc::new(tokio::sync::Notify::new());
    let reload: crate::daemon::ConfigReload = {
        let overrides = overrides.clone();
        Box::new(move || crate::config::load(&overrides, &crate::config::environment(), &cwd))
    };
    rt.block_on(async {
        let hup_notify = hangup.clone();
        let shutdown = async move {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                match (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::hangup()),
                ) {
                    (Ok(mut term), Ok(mut hup)) => loop {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => break,
                            _ = term.recv() => break,
                            // SIGHUP must not end the station (its default action would): it
                            // reads configuration, schedules and audio again, as a save does.
                            _ = hup.recv() => hup_notify.notify_one(),
                        }
                    },
                    _ => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
        };
        daemon::run(
            &station,
            &mut journal,
            audio,
            clock,
            shutdown,
            RunOptions {
                rehearse,
                notifier: crate::service::Notifier::from_env(),
                reload: Some(reload),
                hangup: Some(hangup),
                ..RunOptions::default()
            },
        )
        .await
    })
    .map_err(|e| Failure::Runtime(e.to_string()))
}

fn validate(overrides: &Overrides) -> Result<(), Failure> {
    let station = load(overrides, true)?;
    let lang = station.lang();
    // Queue contents: what will be skipped is worth knowing before it is due.
    let mut warnings = 0;
    let mut folders: Vec<&str> = station
        .schedules
        .slots()
        .filter_map(|s| s.queue.as_ref().map(|q| q.folder.as_str()))
        .collect();
    folders.sort();
    folders.dedup();
    // Queue settings and sidecars are operator-written files like the schedules: their errors
    // fail validation; what a queue holds only warns.
    let mut errors = 0;
    let mut catalog = station.catalog();
    for n in catalog.take_notices() {
        if let crate::catalog::Notice::BadMetadata { errors: es, .. } = &n {
            errors += 1;
            for e in es {
                eprintln!("{e}");
            }
        }
    }
    // A topic a sidecar or queue.toml names must be one the slot's plan declares: otherwise its
    // minutes would count under no plan item in the report.
    let mut reported = std::collections::HashSet::new();
    for f in &station.schedules.files {
        for q in f.slots.iter().filter_map(|s| s.queue.as_ref()) {
            let mut named: Vec<(PathBuf, String)> = Vec::new();
            if let Ok(crate::sidecar::QueueSettings { topic: Some(t), .. }) =
                catalog.queue_settings(&q.folder)
            {
                named.push((
                    station
                        .config
                        .audio_dir
                        .join(&q.folder)
                        .join(crate::sidecar::QUEUE_FILE),
                    t,
                ));
            }
            for c in catalog.queue(&q.folder) {
                if let Ok(crate::sidecar::ClipMeta { topic: Some(t), .. }) = &c.meta {
                    named.push((crate::sidecar::sidecar_path(&c.path), t.clone()));
                }
            }
            for (file, topic) in named {
                if f.plan.topics.contains_key(&topic)
                    || !reported.insert((file.clone(), f.plan.id.clone()))
                {
                    continue;
                }
                errors += 1;
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                let span = text
                    .lines()
                    .scan(0, |at, line| {
                        let start = *at;
                        *at += line.len() + 1;
                        Some((start, line))
                    })
                    .find(|(_, l)| l.trim_start().starts_with("topic"))
                    .map(|(start, l)| {
                        let v = l.find('=').map(|i| i + 1).unwrap_or(0);
                        let lead = l[v..].len() - l[v..].trim_start().len();
                        start + v + lead..start + l.trim_end().len()
                    })
                    .unwrap_or(0..0);
                let message = tr!(
                    lang,
                    "chủ đề «{topic}» không có trong [topics] của kế hoạch «{}» (hàng đợi {}/ được lịch này dùng)",
                    "topic “{topic}” is not declared in plan “{}”'s [topics] (the queue {}/ airs in it)",
                    f.plan.id,
                    q.folder
                );
                eprintln!(
                    "{}",
                    crate::diagnostic::Diagnostic::error(&file, &text, span, message).render(lang)
                );
            }
        }
    }
    if let Some(intro) = &station.config.emergency_intro {
        if !library::resolve(&station.config.audio_dir, intro).is_some_and(|p| p.is_file()) {
            errors += 1;
            eprintln!(
                "{}: {}: {}",
                station
                    .config
                    .file
                    .as_deref()
                    .unwrap_or(Path::new("loaxa.toml"))
                    .display(),
                lang.pick("lỗi", "error"),
                tr!(
                    lang,
                    "không có tệp emergency_intro «{intro}» trong {}",
                    "no emergency_intro file “{intro}” in {}",
                    station.config.audio_dir.display()
                )
            );
        }
    }
    for folder in folders {
        let mut ready = 0;
        for c in catalog.queue(folder) {
            match &c.state {
                crate::catalog::ClipState::Ready(info) => {
                    ready += 1;
                    let target = (
                        station.config.loudness.target,
                        station.config.loudness.margin,
                    );
                    if let Some(problem) = crate::schedule::loudness_problem(info, target, lang) {
                        warnings += 1;
                        eprintln!(
                            "{}: {}: {problem}",
                            c.path.display(),
                            lang.pick("cảnh báo", "warning")
                        );
                    }
                }
                crate::catalog::ClipState::Undecodable(reason) => {
                    warnings += 1;
                    eprintln!(
                        "{}: {}: {}",
                        c.path.display(),
                        lang.pick("cảnh báo", "warning"),
                        tr!(
                            lang,
                            "{reason} — sẽ bị bỏ qua khi phát",
                            "{reason} — it will be skipped"
                        )
                    );
                }
                crate::catalog::ClipState::Refused(reason) => {
                    warnings += 1;
                    eprintln!(
                        "{}: {}: {}",
                        c.path.display(),
                        lang.pick("cảnh báo", "warning"),
                        tr!(
                            lang,
                            "{reason} — sẽ bị bỏ qua khi phát",
                            "it {reason} — it will be skipped"
                        )
                    );
                }
                crate::catalog::ClipState::Incomplete | crate::catalog::ClipState::Checking => {
                    eprintln!(
                        "{}: {}: {}",
                        c.path.display(),
                        lang.pick("ghi chú", "note"),
                        lang.pick(
                            "tệp đang chép dở hoặc là tệp tạm, chưa được phát",
                            "still being copied or a temporary file; not aired yet"
                        )
                    );
                }
                _ => {}
            }
        }
        if ready == 0 {
            warnings += 1;
            eprintln!(
                "{}: {}: {}",
                station.config.audio_dir.join(folder).display(),
                lang.pick("cảnh báo", "warning"),
                lang.pick(
                    "hàng đợi chưa có bài nào phát được",
                    "the queue has no airable clip"
                )
            );
        }
    }
    if errors > 0 {
        return Err(Failure::Invalid);
    }
    let slots = station.schedules.slots().count();
    println!(
        "{}",
        tr!(
            lang,
            "hợp lệ: {} tệp lịch phát, {} phiên{}",
            "valid: {} schedule file(s), {} slot(s){}",
            station.schedules.files.len(),
            slots,
            if warnings > 0 {
                tr!(lang, ", {warnings} cảnh báo", ", {warnings} warning(s)")
            } else {
                String::new()
            }
        )
    );
    Ok(())
}

fn next(overrides: &Overrides, days: u32) -> Result<(), Failure> {
    let station = load(overrides, false)?;
    let lang = station.lang();
    let tz = station.config.timezone;
    // Read, never created: `next` on a station that has not run yet plans from no history.
    let journal = if station.config.journal.is_file() {
        Some(
            Journal::open_read_only(&station.config.journal)
                .map_err(|e| Failure::Runtime(e.to_string()))?,
        )
    } else {
        None
    };
    let now = Utc::now();
    let until = now + chrono::Duration::days(i64::from(days));
    println!(
        "{}",
        tr!(
            lang,
            "{} — lịch phát {} ngày tới (giờ {}, UTC{})",
            "{} — the next {} day(s) (times in {}, UTC{})",
            station.config.station_name,
            days,
            tz,
            now.with_timezone(&tz).format("%:z")
        )
    );
    let catalog = station.catalog();
    let planner = Planner {
        config: &station.config,
        catalog: &catalog,
        probes: &station.probes,
    };
    let ahead = planner
        .forecast(&station.schedules, journal.as_ref(), now, until, usize::MAX)
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    if ahead.is_empty() {
        println!(
            "{}",
            lang.pick("(không có lần phát nào)", "(nothing scheduled)")
        );
        return Ok(());
    }
    let mut rows = Vec::new();
    let mut last_at = None;
    for (due, planned) in &ahead {
        let (length, clips) = match planned {
            Planned::Airs(prepared) => (
                format!("{:.0}s", prepared.duration_ms() as f64 / 1000.0),
                prepared
                    .entries
                    .iter()
                    .map(|e| match &e.skip {
                        None => e.plan.rel.clone(),
                        Some(r) => format!("{} [{}]", e.plan.rel, r.text(lang)),
                    })
                    .chain(prepared.did_not_fit.iter().map(|rel| {
                        tr!(lang, "{rel} [không đủ thời lượng]", "{rel} [does not fit]")
                    }))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Planned::Held(reason) => (
                "-".to_string(),
                tr!(lang, "KHÔNG PHÁT: {}", "NOT AIRED: {}", reason.text(lang)),
            ),
        };
        let clash = last_at == Some(due.at);
        last_at = Some(due.at);
        rows.push(vec![
            format!(
                "{} {}",
                weekday_label(due.at.with_timezone(&tz).date_naive(), lang),
                due.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S")
            ),
            format!("{}/{}", due.slot.plan, due.slot.id),
            due.slot.title.clone(),
            due.slot.priority.label(lang).to_string()
                + if clash {
                    lang.pick(" (trùng giờ, phát sau)", " (clash: airs after)")
                } else {
                    ""
                },
            length,
            clips,
        ]);
    }
    let header = if lang == Lang::Vi {
        ["GIỜ", "PHIÊN", "TÊN", "ƯU TIÊN", "DÀI", "BÀI PHÁT"]
    } else {
        ["TIME", "SLOT", "TITLE", "PRIORITY", "LENGTH", "CLIPS"]
    };
    print!("{}", crate::report::text_table(&header, &rows));
    Ok(())
}

fn weekday_label(d: NaiveDate, lang: Lang) -> &'static str {
    use chrono::{Datelike, Weekday};
    match (d.weekday(), lang) {
        (Weekday::Mon, Lang::Vi) => "T2",
        (Weekday::Tue, Lang::Vi) => "T3",
        (Weekday::Wed, Lang::Vi) => "T4",
        (Weekday::Thu, Lang::Vi) => "T5",
        (Weekday::Fri, Lang::Vi) => "T6",
        (Weekday::Sat, Lang::Vi) => "T7",
        (Weekday::Sun, Lang::Vi) => "CN",
        (Weekday::Mon, Lang::En) => "Mon",
        (Weekday::Tue, Lang::En) => "Tue",
        (Weekday::Wed, Lang::En) => "Wed",
        (Weekday::Thu, Lang::En) => "Thu",
        (Weekday::Fri, Lang::En) => "Fri",
        (Weekday::Sat, Lang::En) => "Sat",
        (Weekday::Sun, Lang::En) => "Sun",
    }
}

fn log(overrides: &Overrides, args: LogArgs) -> Result<(), Failure> {
    use crate::history::{Filter, View};
    let station = load_journal_reader(overrides)?;
    let lang = station.lang();
    let tz = station.config.timezone;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let (from, to) = match args.day {
        Some(d) => (d, d),
        None => {
            let to = args.to.unwrap_or(today);
            (args.from.unwrap_or(to - chrono::Duration::days(7)), to)
        }
    };
    if from > to {
        eprintln!(
            "{}",
            tr!(
                lang,
                "khoảng ngày rỗng: --from {from} sau --to {to}",
                "empty range: --from {from} is after --to {to}"
            )
        );
        return Err(Failure::Invalid);
    }
    if let Some(o) = args
        .outcome
        .as_deref()
        .filter(|o| !Filter::OUTCOMES.contains(o))
    {
        eprintln!(
            "{}",
            tr!(
                lang,
                "kết quả không hợp lệ «{o}»: dùng một trong {}",
                "invalid outcome “{o}”: use one of {}",
                Filter::OUTCOMES.join(", ")
            )
        );
        return Err(Failure::Invalid);
    }
    let (start, end) = crate::report::Period::Days { from, to }.bounds(tz);
    let journal = existing_journal(&station.config, lang)?;
    let filter = Filter {
        plan: args.plan,
        slot: args.slot,
        topic: args.topic,
        outcome: args.outcome,
    };
    let records: Vec<Record> = journal
        .records(start, end)
        .map_err(|e| Failure::Runtime(e.to_string()))?
        .into_iter()
        .filter(|r| filter.accepts(r))
        .collect();
    let view = View {
        station: &station.config.station_name,
        tz,
        lang,
        from,
        to,
    };
    let text = match (args.day, args.format) {
        (Some(_), Format::Table) => view.timeline(&records),
        (_, Format::Table) => view.table(&records),
        (_, Format::Csv) => view.csv(&records),
        (_, Format::Json) => view.json(&records),
    };
    print!("{text}");
    // Files the station refused to air in the period: the reason a queue aired less.
    if matches!(args.format, Format::Table) {
        let rejected = journal
            .rejections(start, end)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        if !rejected.is_empty() {
            println!(
                "\n{}",
                lang.pick("Tệp bị từ chối (không phát):", "Files refused (not aired):")
            );
            for (at, file, reason) in rejected {
                let first = reason.lines().next().unwrap_or_default();
                println!(
                    "  {}  {file}: {first}",
                    at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S")
                );
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn report(
    overrides: &Overrides,
    month: Option<String>,
    quarter: Option<String>,
    days: Option<(NaiveDate, NaiveDate)>,
    plan: Option<String>,
    format: ReportFormat,
    out: Option<PathBuf>,
) -> Result<(), Failure> {
    use crate::report::{self as rep, Period};
    let station = load_journal_reader(overrides)?;
    let lang = station.lang();
    let tz = station.config.timezone;
    let period = match (month, quarter, days) {
        (Some(m), _, _) => Period::month(&m).ok_or(m),
        (_, Some(q), _) => Period::quarter(&q).ok_or(q),
        (_, _, Some((from, to))) if from <= to => Ok(Period::Days { from, to }),
        (_, _, Some((from, to))) => Err(format!("{from} > {to}")),
        _ => Ok(rep::month_of(Utc::now().with_timezone(&tz).date_naive())),
    };
    let period = match period {
        Ok(p) => p,
        Err(bad) => {
            eprintln!(
                "{}",
                tr!(
                    lang,
                    "kỳ báo cáo không hợp lệ «{bad}»: dùng --month 2025-09, --quarter 2025-Q3, hoặc --from 2025-09-01 --to 2025-09-30",
                    "invalid period “{bad}”: use --month 2025-09, --quarter 2025-Q3, or --from 2025-09-01 --to 2025-09-30"
                )
            );
            return Err(Failure::Invalid);
        }
    };
    let journal = existing_journal(&station.config, lang)?;
    let r = rep::build(
        &journal,
        &station.config.station_name,
        tz,
        period,
        plan.as_deref(),
        lang,
        Utc::now(),
    )
    .map_err(|e| Failure::Runtime(e.to_string()))?;
    let bytes = match format {
        ReportFormat::Table => r.to_text().into_bytes(),
        ReportFormat::Csv => r.to_csv().into_bytes(),
        ReportFormat::Json => r.to_json().into_bytes(),
        ReportFormat::Html => r.to_html().into_bytes(),
        ReportFormat::Xlsx => r
            .to_xlsx()
            .map_err(|e| Failure::Runtime(format!("xlsx: {e}")))?,
    };
    // A workbook is no use on a terminal: there it goes to a file named for the period.
    // Redirected (`> bao-cao.xlsx`, a pipe), every format goes where it was sent.
    let terminal = {
        use std::io::IsTerminal;
        std::io::stdout().is_terminal()
    };
    let out = out.or_else(|| {
        (format == ReportFormat::Xlsx && terminal).then(|| {
            let (from, to) = period.days();
            PathBuf::from(format!(
                "bao-cao-{}-{}.xlsx",
                from.format("%Y%m%d"),
                to.format("%Y%m%d")
            ))
        })
    });
    match out {
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&bytes)
                .map_err(|e| Failure::Runtime(format!("stdout: {e}")))?;
        }
        Some(path) => {
            std::fs::write(&path, &bytes)
                .map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))?;
            eprintln!(
                "{}",
                tr!(
                    lang,
                    "đã ghi báo cáo vào {}",
                    "report written to {}",
                    path.display()
                )
            );
        }
    }
    Ok(())
}

fn doctor(overrides: &Overrides) -> Result<(), Failure> {
    let cwd =
        std::env::current_dir().map_err(|e| Failure::Runtime(format!("current directory: {e}")))?;
    let (station, diags) = match Station::load_lenient(overrides, &cwd) {
        Ok(x) => x,
        Err(_) => {
            // The configuration itself is broken: that is the finding.
            let _ = load(overrides, false)?;
            return Err(Failure::Invalid);
        }
    };
    let lang = station.lang();
    // Count problems as `validate` would (with audio checks).
    let full = Station::with_config(station.config.clone(), true);
    let (errors, warnings) = match &full {
        Ok((_, w)) => (0, w.len()),
        Err(crate::station::StationError::Schedules(d)) => (
            d.iter().filter(|d| d.is_error()).count(),
            d.iter().filter(|d| !d.is_error()).count(),
        ),
        Err(_) => (diags.iter().filter(|d| d.is_error()).count(), 0),
    };
    let findings =
        crate::doctor::examine(&station, errors, warnings, &|cfg| Some(open_output(cfg)));
    println!(
        "{}",
        tr!(
            lang,
            "{} — kiểm tra sức khỏe",
            "{} — health check",
            station.config.station_name
        )
    );
    print!("{}", crate::doctor::render(&findings, lang));
    if findings
        .iter()
        .any(|f| f.level == crate::doctor::Level::Fail)
    {
        Err(Failure::Broken)
    } else {
        Ok(())
    }
}

fn status(overrides: &Overrides) -> Result<(), Failure> {
    use std::fmt::Write as _;
    // A schedule file with errors must not hide the station's status; the daemon's own
    // report of rejected files is shown below.
    let cwd =
        std::env::current_dir().map_err(|e| Failure::Runtime(format!("current directory: {e}")))?;
    let station = match Station::load_lenient(overrides, &cwd) {
        Ok((station, _)) => station,
        Err(_) => load(overrides, false)?,
    };
    let lang = station.lang();
    let tz = station.config.timezone;
    let now = Utc::now();
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}",
        tr!(
            lang,
            "{} — trạng thái lúc {} ({})",
            "{} — status at {} ({})",
            station.config.station_name,
            local(now),
            tz
        )
    );
    let live = crate::status::read(&crate::status::path_for(&station.config.journal))
        .filter(|s| s.is_live(now));
    match &live {
        Some(s) => {
            let _ = writeln!(
                o,
                "{}",
                tr!(
                    lang,
                    "loaxa: đang chạy (pid {}, từ {}); đầu ra: {}",
                    "loaxa: running (pid {}, since {}); output: {}",
                    s.pid,
                    local(s.started_at),
                    s.output
                )
            );
            if s.journal_pending > 0 {
                let _ = writeln!(
                    o,
                    "{}",
                    tr!(
                        lang,
                        "  NHẬT KÝ KHÔNG GHI ĐƯỢC ({}): {} sự kiện đang được giữ, sẽ ghi khi ghi được — hãy giải phóng ổ đĩa",
                        "  JOURNAL NOT WRITABLE ({}): {} event(s) held, to be written once it is — free disk space",
                        s.journal_error.clone().unwrap_or_default(),
                        s.journal_pending
                    )
                );
            }
            match (&s.output_lost_since, &s.output_error) {
                (Some(since), e) => {
                    let _ = writeln!(
                        o,
                        "{}",
                        tr!(
                            lang,
                            "  ĐẦU RA ÂM THANH MẤT từ {} ({}); loaxa đang tự tìm lại — kiểm tra card âm thanh, dây loa",
                            "  SOUND OUTPUT LOST since {} ({}); loaxa keeps looking for it — check the sound card and cables",
                            local(*since),
                            e.clone().unwrap_or_default()
                        )
                    );
                }
                (None, Some(e)) => {
                    let _ = writeln!(
                        o,
                        "{}",
                        tr!(
                            lang,
                            "  lần phát trước, đầu ra báo lỗi: {e}",
                            "  last broadcast, the output failed: {e}"
                        )
                    );
                }
                (None, None) => {
                    let _ = writeln!(
                        o,
                        "{}",
                        lang.pick(
                            "  đầu ra âm thanh: tốt (lần phát gần nhất không lỗi)",
                            "  sound output: fine (no error at the last broadcast)"
                        )
                    );
                }
            }
            match &s.on_air {
                Some(a) => {
                    let _ = writeln!(
                        o,
                        "{}",
                        tr!(
                            lang,
                            "Đang phát: {}/{} «{}» (lịch {})",
                            "On air: {}/{} “{}” (scheduled {})",
                            a.plan,
                            a.slot,
                            a.title,
                            local(a.scheduled_at)
                        )
                    );
                }
                None => {
                    let _ = writeln!(o, "{}", lang.pick("Đang phát: không", "On air: nothing"));
                }
            }
        }
        None => {
            let last = if station.config.journal.is_file() {
                open_journal(&station.config)?
                    .last_activity()
                    .ok()
                    .flatten()
            } else {
                None
            };
            let _ = writeln!(
                o,
                "{}",
                match last {
                    Some(t) => tr!(
                        lang,
                        "loaxa: KHÔNG CHẠY (hoạt động cuối: {})",
                        "loaxa: NOT RUNNING (last active {})",
                        local(t)
                    ),
                    None => lang
                        .pick(
                            "loaxa: KHÔNG CHẠY (chưa từng chạy)",
                            "loaxa: NOT RUNNING (never ran)"
                        )
                        .to_string(),
                }
            );
        }
    }

    let _ = writeln!(o, "\n{}", lang.pick("Sắp phát:", "Next:"));
    let next: Vec<crate::status::Upcoming> = match &live {
        Some(s) => s.next.clone(),
        None => {
            let journal = if station.config.journal.is_file() {
                Some(
                    Journal::open_read_only(&station.config.journal)
                        .map_err(|e| Failure::Runtime(e.to_string()))?,
                )
            } else {
                None
            };
            let catalog = station.catalog();
            let planner = Planner {
                config: &station.config,
                catalog: &catalog,
                probes: &station.probes,
            };
            planner
                .forecast(
                    &station.schedules,
                    journal.as_ref(),
                    now,
                    now + chrono::Duration::days(14),
                    5,
                )
                .map_err(|e| Failure::Runtime(e.to_string()))?
                .iter()
                .map(|(due, planned)| crate::status::Upcoming::of(due, planned, lang))
                .collect()
        }
    };
    if next.is_empty() {
        let _ = writeln!(
            o,
            "  {}",
            lang.pick(
                "(không có trong 14 ngày tới)",
                "(nothing in the next 14 days)"
            )
        );
    }
    for u in next {
        let held = u
            .held
            .map(|r| tr!(lang, "  — KHÔNG PHÁT: {r}", "  — NOT AIRED: {r}"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {}  {}/{}  «{}»{held}",
            local(u.at),
            u.plan,
            u.slot,
            u.title
        );
    }

    if let Some(s) = &live {
        if !s.rejected.is_empty() {
            let _ = writeln!(
                o,
                "\n{}",
                lang.pick(
                    "Tệp lịch phát hoặc cấu hình bị từ chối (bản cũ vẫn được dùng nếu có):",
                    "Rejected schedule or configuration files (their previous version stays in force, if any):"
                )
            );
            for r in &s.rejected {
                let _ = writeln!(o, "  {}", r.file);
                for e in &r.errors {
                    for line in e.lines() {
                        let _ = writeln!(o, "    {line}");
                    }
                }
            }
        }
    }

    // Queues and their clips: as the running daemon sees them, else looked at now.
    let library = match live.as_ref().and_then(|_| {
        crate::status::read_library(&crate::status::library_path_for(&station.config.journal))
    }) {
        Some(l) => l,
        None => {
            let journal = if station.config.journal.is_file() {
                Some(open_journal(&station.config)?)
            } else {
                None
            };
            let catalog = station.catalog();
            crate::status::library(
                &catalog,
                journal.as_ref(),
                &station.schedules,
                &station.config.emergency_dir,
                now.with_timezone(&tz).date_naive(),
                lang,
            )
            .map_err(|e| Failure::Runtime(e.to_string()))?
        }
    };
    let on_air: Vec<String> = live
        .as_ref()
        .and_then(|s| s.on_air.as_ref())
        .map(|a| a.clips.clone())
        .unwrap_or_default();
    for f in &library.folders {
        use crate::status::{ClipStatus, FolderMode};
        if f.mode == FolderMode::Emergency && f.clips.is_empty() {
            continue;
        }
        let mode = match f.mode {
            FolderMode::Emergency => lang.pick("tin khẩn cấp", "emergencies").to_string(),
            FolderMode::Rotate => lang.pick("xoay vòng", "rotate").to_string(),
            FolderMode::Times(1) => lang
                .pick("mỗi bài phát một lần", "each clip once")
                .to_string(),
            FolderMode::Times(n) => tr!(lang, "mỗi bài phát {n} lần", "each clip {n} times"),
        };
        let _ = writeln!(
            o,
            "\n{}",
            tr!(
                lang,
                "Hàng đợi {}/ ({}, {} tệp):",
                "Queue {}/ ({}, {} files):",
                f.folder,
                mode,
                f.clips.len()
            )
        );
        for e in &f.settings_errors {
            for line in e.lines() {
                let _ = writeln!(o, "  {line}");
            }
        }
        for c in &f.clips {
            let aired = c.aired;
            let detail = c.detail.clone().unwrap_or_default();
            let state = match c.state {
                _ if on_air.contains(&c.rel) => lang.pick("ĐANG PHÁT", "ON AIR").to_string(),
                ClipStatus::Waiting => match c.limit {
                    Some(n) => tr!(
                        lang,
                        "chờ phát — đã phát {aired}/{n} lần",
                        "waiting — aired {aired} of {n} time(s)"
                    ),
                    None => tr!(
                        lang,
                        "chờ phát — đã phát {aired} lần",
                        "waiting — aired {aired} time(s)"
                    ),
                },
                ClipStatus::Incomplete => lang
                    .pick(
                        "đang chép dở, chưa phát",
                        "still being copied, not aired yet",
                    )
                    .to_string(),
                ClipStatus::Checking => lang.pick("đang kiểm tra tệp", "being checked").to_string(),
                ClipStatus::NotAudio => lang
                    .pick("không phải tệp âm thanh", "not an audio file")
                    .to_string(),
                ClipStatus::Undecodable => {
                    tr!(lang, "KHÔNG PHÁT ĐƯỢC: {detail}", "UNDECODABLE: {detail}")
                }
                ClipStatus::Refused => tr!(lang, "KHÔNG PHÁT: {detail}", "NOT AIRED: it {detail}"),
                ClipStatus::BadMetadata => lang
                    .pick(
                        "KHÔNG PHÁT: tệp mô tả .toml có lỗi (xem dưới)",
                        "NOT AIRED: its .toml sidecar has errors (below)",
                    )
                    .to_string(),
                ClipStatus::NotYet => tr!(lang, "chưa đến ngày ({detail})", "not yet ({detail})"),
                ClipStatus::Expired => tr!(
                    lang,
                    "hết hạn, không phát ({detail})",
                    "expired, not aired ({detail})"
                ),
                ClipStatus::Spent => tr!(
                    lang,
                    "đã phát đủ {aired} lần",
                    "aired out ({aired} time(s))"
                ),
                ClipStatus::Retired => tr!(
                    lang,
                    "đã phát xong ({aired} lần), trong da-phat/",
                    "done (aired {aired} time(s)), in da-phat/"
                ),
            };
            let name = c
                .rel
                .strip_prefix(&format!("{}/", f.folder))
                .unwrap_or(&c.rel)
                .to_string();
            let _ = writeln!(o, "  {name:<40}  {state}");
            if c.state == ClipStatus::BadMetadata {
                for line in c.detail.as_deref().unwrap_or_default().lines() {
                    let _ = writeln!(o, "      {line}");
                }
            }
        }
    }
    print!("{o}");
    Ok(())
}

/// Hands a file to the running daemon, through the folder an operator would drop it in (the
/// emergency folder, or the play folder): copied under a temporary name, dated as settled,
/// then renamed, so the daemon never sees half of it. The command itself touches neither
/// the output nor the daemon's files.
fn hand_over(station: &Station, file: &Path, emergency: bool) -> Result<(), Failure> {
    let lang = station.lang();
    let cwd = std::env::current_dir().map_err(|e| Failure::Runtime(e.to_string()))?;
    let source = [cwd.join(file), station.config.audio_dir.join(file)]
        .into_iter()
        .find(|p| p.is_file());
    let Some(source) = source else {
        eprintln!(
            "{}",
            tr!(
                lang,
                "không tìm thấy tệp {}",
                "file not found: {}",
                file.display()
            )
        );
        return Err(Failure::Invalid);
    };
    let dir = station.config.audio_dir.join(if emergency {
        station.config.emergency_dir.as_str()
    } else {
        daemon::PLAY_DIR
    });
    let name = source
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    // A second play of the same file while the first waits is a second airing, not a
    // replacement of the first.
    let mut target = dir.join(&name);
    for n in 2.. {
        if !target.exists() {
            break;
        }
        let p = Path::new(&name);
        let stem = p.file_stem().unwrap_or_default().to_string_lossy();
        target = match p.extension() {
            Some(ext) => dir.join(format!("{stem}-{n}.{}", ext.to_string_lossy())),
            None => dir.join(format!("{stem}-{n}")),
        };
    }
    let name = target
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let part = dir.join(format!("{name}.part"));
    let copied = std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::copy(&source, &part))
        .and_then(|_| std::fs::File::options().write(true).open(&part))
        .and_then(|f| {
            f.set_modified(
                std::time::SystemTime::now()
                    - crate::library::SETTLE
                    - std::time::Duration::from_secs(1),
            )
        })
        .map(|_| ());
    copied.map_err(|e| Failure::Runtime(format!("{}: {e}", part.display())))?;
    // Measured here, before it appears under its real name: a damaged file is refused now,
    // with the operator at the keyboard, and a good one airs without a settle wait.
    match library::probe(&part) {
        Ok(info) => {
            if let Ok(meta) = std::fs::metadata(&part) {
                station
                    .probes
                    .remember(&target, library::stamp_of(&meta), info);
            }
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            eprintln!("{}: {}", source.display(), e.reason(lang));
            return Err(Failure::Invalid);
        }
    }
    std::fs::rename(&part, &target)
        .map_err(|e| Failure::Runtime(format!("{}: {e}", target.display())))?;
    if emergency {
        println!(
            "{}",
            tr!(
                lang,
                "đã giao {} cho loaxa đang chạy: phát ngay như tin khẩn cấp",
                "handed {} to the running loaxa: it airs now as an emergency",
                name
            )
        );
    } else {
        println!(
            "{}",
            tr!(
                lang,
                "đã giao {} cho loaxa đang chạy: phát ngay khi không có gì đang phát (ghi nhật ký là phát thủ công; xem `loaxa log`)",
                "handed {} to the running loaxa: it airs as soon as nothing is on air (journaled as manual; see `loaxa log`)",
                name
            )
        );
    }
    Ok(())
}

fn verify(overrides: &Overrides, pin: Option<&str>) -> Result<(), Failure> {
    let station = load_journal_reader(overrides)?;
    let lang = station.lang();
    let pin = match pin {
        None => None,
        Some(p) => match p
            .split_once(':')
            .and_then(|(n, h)| Some((n.trim().parse::<i64>().ok()?, h.trim())))
        {
            Some(pin) => Some(pin),
            None => {
                eprintln!(
                    "{}",
                    tr!(
                        lang,
                        "--pin cần dạng SỐ_SỰ_KIỆN:MÃ_BĂM, như in trên báo cáo",
                        "--pin takes EVENTS:HASH, as printed on a report"
                    )
                );
                return Err(Failure::Invalid);
            }
        },
    };
    let journal = existing_journal(&station.config, lang)?;
    let v = journal
        .verify(pin)
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    println!(
        "{}",
        tr!(
            lang,
            "nhật ký {}: {} sự kiện, mã băm cuối {}",
            "journal {}: {} events, head {}",
            station.config.journal.display(),
            v.events,
            v.head
        )
    );
    if let Some(p) = &v.problem {
        println!(
            "{}",
            tr!(
                lang,
                "CHUỖI BỊ PHÁ VỠ: {}",
                "CHAIN BROKEN: {}",
                p.text(lang)
            )
        );
    }
    match (pin, v.pin_matches) {
        (Some((n, _)), Some(false)) => println!(
            "{}",
            tr!(
                lang,
                "KHÔNG KHỚP: sự kiện số {n} không còn là sự kiện mà báo cáo đã ghi — lịch sử đã bị viết lại",
                "MISMATCH: event {n} is no longer the one the report pinned — history was rewritten"
            )
        ),
        (Some((n, _)), Some(true)) => println!("{}", tr!(lang, "khớp với báo cáo đã in (sự kiện số {n})", "matches the printed report (event {n})")),
        _ => {}
    }
    if v.is_intact() {
        println!(
            "{}",
            lang.pick("chuỗi băm nguyên vẹn", "the hash chain is intact")
        );
        Ok(())
    } else {
        Err(Failure::Broken)
    }
}

fn play(overrides: &Overrides, file: &Path, emergency: bool) -> Result<(), Failure> {
    let station = load(overrides, false)?;
    let lang = station.lang();
    // The running daemon owns the output and the station's files: it airs what it is handed.
    // (An output named on the command line is the operator's own check, aired here.)
    let live = crate::status::read(&crate::status::path_for(&station.config.journal))
        .is_some_and(|s| s.is_live(Utc::now()));
    if live && overrides.output.is_none() {
        return hand_over(&station, file, emergency);
    }
    let cwd = std::env::current_dir().map_err(|e| Failure::Runtime(e.to_string()))?;
    // A file under audio/ is named relative to it, as schedules name it.
    let rel = if cwd.join(file).is_file() {
        let abs = cwd.join(file);
        match abs
            .canonicalize()
            .ok()
            .zip(station.config.audio_dir.canonicalize().ok())
        {
            Some((a, audio)) => a
                .strip_prefix(&audio)
                .map(|r| library::normalize(&r.to_string_lossy()))
                .unwrap_or_else(|_| a.display().to_string()),
            None => abs.display().to_string(),
        }
    } else if library::resolve(
        &station.config.audio_dir,
        &library::normalize(&file.to_string_lossy()),
    )
    .is_some_and(|p| p.is_file())
    {
        library::normalize(&file.to_string_lossy())
    } else {
        eprintln!(
            "{}",
            tr!(
                lang,
                "không tìm thấy tệp {}",
                "file not found: {}",
                file.display()
            )
        );
        return Err(Failure::Invalid);
    };
    eprintln!(
        "{}",
        tr!(
            lang,
            "phát {} ra {}",
            "playing {} to {}",
            rel,
            station.config.output.describe(lang)
        )
    );
    let mut journal = open_journal(&station.config)?;
    let audio = AudioHandle::spawn(open_output(&station.config))
        .map_err(|e| Failure::Runtime(format!("audio thread: {e}")))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let outcome = runtime()?
        .block_on(daemon::play_now(
            &station,
            &mut journal,
            audio,
            clock,
            &rel,
            emergency,
        ))
        .map_err(|e| Failure::Runtime(e.to_string()))?
        .unwrap_or(crate::journal::Outcome::Failed);
    let records = journal
        .records(
            Utc::now() - chrono::Duration::hours(1),
            Utc::now() + chrono::Duration::seconds(5),
        )
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let reason = records
        .last()
        .and_then(|r| r.reason.as_ref())
        .map(|r| format!(" — {}", r.text(lang)))
        .unwrap_or_default();
    println!("{}{}", outcome.label(lang), reason);
    if outcome == crate::journal::Outcome::Completed {
        Ok(())
    } else {
        Err(Failure::Runtime(tr!(
            lang,
            "chưa phát trọn bài",
            "the file did not air in full"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command and every argument an operator can type has its help in both languages
    /// (clap's derive gives the English; `localize` must give the Vietnamese beside it).
    #[test]
    fn every_command_and_argument_has_vietnamese_and_english_help() {
        fn walk(en: &clap::Command, vi: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let about = |c: &clap::Command| c.get_about().map(|a| a.to_string());
            match (about(en), about(vi)) {
                (Some(e), Some(v)) if e != v => {}
                (e, v) => missing.push(format!("{path}: about en={e:?} vi={v:?}")),
            }
            for a in en.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                let e = a.get_help().map(|h| h.to_string());
                let v = vi
                    .get_arguments()
                    .find(|b| b.get_id() == a.get_id())
                    .and_then(|b| b.get_help().map(|h| h.to_string()));
                match (e, v) {
                    (Some(e), Some(v)) if e != v => {}
                    (e, v) => missing.push(format!("{path} --{id}: en={e:?} vi={v:?}")),
                }
            }
            for sub in en.get_subcommands() {
                let name = sub.get_name();
                match vi.get_subcommands().find(|s| s.get_name() == name) {
                    Some(v) => walk(sub, v, &format!("{path} {name}"), missing),
                    None => missing.push(format!("{path} {name}: no Vietnamese command")),
                }
            }
        }
        let en = Cli::command();
        let vi = localize(Cli::command(), Lang::Vi);
        let mut missing = Vec::new();
        walk(&en, &vi, "loaxa", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
