//! The station configuration (`config/loaxa.toml`), layered: built-in defaults, then the file,
//! then `LOAXA_*` environment variables, then command-line flags. Parsing is two-phase: a raw
//! serde shape that rejects unknown keys, then a validated [`Config`] with every path resolved
//! against the station directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{from_toml_error, Diagnostic};
use crate::lang::Lang;
use crate::tr;

/// Where the installed service looks when no station directory or `--config` is given.
pub const SYSTEM_CONFIG: &str = "/etc/loaxa/loaxa.toml";
/// Where a station directory keeps its configuration.
pub const STATION_CONFIG: &str = "config/loaxa.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    NotFound(String),
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file or an override is invalid; each diagnostic is located.
    #[error("invalid configuration")]
    Invalid(Vec<Diagnostic>),
}

/// Where aired audio goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// The system's default sound device.
    Default,
    /// A named ALSA/cpal device (as `aplay -L` lists it).
    Device(String),
    /// Write what airs to a WAV file (paced in real time, like a sound card).
    Wav(PathBuf),
    /// Discard audio, paced in real time. For tests.
    Null,
}

impl OutputSpec {
    /// Parses `default`, `null`, `wav:PATH` or `device:NAME` / a bare device name.
    pub fn parse(s: &str, base: &Path) -> Result<OutputSpec, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty".into());
        }
        Ok(match s {
            "default" => OutputSpec::Default,
            "null" => OutputSpec::Null,
            _ => {
                if let Some(p) = s.strip_prefix("wav:") {
                    if p.is_empty() {
                        return Err("wav:".into());
                    }
                    OutputSpec::Wav(base.join(p))
                } else if let Some(d) = s.strip_prefix("device:") {
                    OutputSpec::Device(d.to_string())
                } else {
                    OutputSpec::Device(s.to_string())
                }
            }
        })
    }

    pub fn describe(&self, lang: Lang) -> String {
        match self {
            OutputSpec::Default => lang
                .pick("thiết bị âm thanh mặc định", "default sound device")
                .into(),
            OutputSpec::Device(d) => tr!(lang, "thiết bị âm thanh «{d}»", "sound device “{d}”"),
            OutputSpec::Wav(p) => tr!(
                lang,
                "tệp WAV {} (không phát ra loa)",
                "WAV file {} (not to the loudspeakers)",
                p.display()
            ),
            OutputSpec::Null => lang
                .pick(
                    "không phát đi đâu (null, chỉ để thử)",
                    "nowhere (null, for tests)",
                )
                .into(),
        }
    }
}

/// The device's period in frames at 48 kHz (170 ms). loaxa places a broadcast's first sample
/// by the device's clock, so the start does not depend on it; a large period means few
/// wake-ups (little CPU) and no underruns on a weak PC, at the price of a cut (a shutdown, an
/// emergency) taking up to two periods longer to be heard.
pub const DEFAULT_BUFFER_FRAMES: i64 = 8192;

/// The validated station configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, if any.
    pub file: Option<PathBuf>,
    pub station_dir: PathBuf,
    pub station_name: String,
    pub timezone: Tz,
    pub language: Lang,
    pub audio_dir: PathBuf,
    pub schedules_dir: PathBuf,
    pub journal: PathBuf,
    pub output: OutputSpec,
    pub volume: f32,
    pub grace: Duration,
    /// Frames per device buffer; smaller starts closer to the second but risks underruns.
    pub buffer_frames: u32,
    /// Measured output latency to start early by, so the first sample is heard on the second.
    pub latency_compensation: Duration,
    pub loudness: Loudness,
    /// Folder under the audio folder whose files air at once as emergencies.
    pub emergency_dir: String,
    /// A clip (inside the audio folder) aired once before each emergency, such as a chime.
    pub emergency_intro: Option<String>,
    /// How many times an emergency file airs back to back.
    pub emergency_repeat: u32,
    /// How old a handed-over emergency may be and still air: older, it is journaled as
    /// expired and set aside.
    pub emergency_max_age: Duration,
    /// The station's microphone (or mixer) for going live, an ALSA capture device's name
    /// (`live_input = "alsa:NAME"`): `loaxa live` and the console's Live button air it.
    pub live_input: Option<String>,
    /// The longest a live occurrence runs: it ends there if nobody stops it.
    pub live_max: Duration,
    pub guards: Guards,
    /// The file's text, which the parts that own a section (`[web]`, `[stream]`, `[sync]`)
    /// read their section from.
    pub text: String,
}

/// What going live says when no microphone is configured (the command line, the console and
/// the daemon say it alike).
pub fn no_live_input(lang: Lang) -> &'static str {
    lang.pick(
        "chưa cấu hình micro để phát trực tiếp: thêm live_input = \"alsa:TÊN\" vào tệp cấu hình (xem `arecord -L`)",
        "no microphone is configured for going live: add live_input = \"alsa:NAME\" to the configuration (see `arecord -L`)",
    )
}

/// What going live says when the daemon, which airs it, is not running.
pub fn live_needs_daemon(lang: Lang) -> &'static str {
    lang.pick(
        "loaxa không chạy: không phát trực tiếp được. Hãy khởi động loaxa: sudo systemctl start loaxa",
        "loaxa is not running: nothing can go live. Start loaxa: sudo systemctl start loaxa",
    )
}

/// Station-wide limits the operator sets once; emergencies are exempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Guards {
    pub max_session_minutes: Option<u32>,
    pub max_sessions_per_day: Option<u32>,
    /// No broadcasting from the first time to the second (which may be past midnight).
    pub quiet_hours: Option<(chrono::NaiveTime, chrono::NaiveTime)>,
}

impl Guards {
    pub fn is_quiet(&self, t: chrono::NaiveTime) -> bool {
        match self.quiet_hours {
            None => false,
            Some((from, to)) if from <= to => t >= from && t < to,
            Some((from, to)) => t >= from || t < to,
        }
    }

    pub fn quiet_text(&self) -> String {
        self.quiet_hours
            .map(|(a, b)| format!("{}-{}", a.format("%H:%M"), b.format("%H:%M")))
            .unwrap_or_default()
    }
}

/// The station's loudness policy (EBU R128).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loudness {
    /// Integrated loudness every clip should have, LUFS.
    pub target: f64,
    /// How far (LU) a clip may be from the target before validation flags it.
    pub margin: f64,
    /// Bring each clip to the target by gain at play time.
    pub normalize: bool,
}

impl Default for Loudness {
    fn default() -> Self {
        Loudness {
            target: -16.0,
            margin: 3.0,
            normalize: true,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    station: Option<Spanned<String>>,
    station_dir: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
    audio_dir: Option<Spanned<String>>,
    schedules_dir: Option<Spanned<String>>,
    journal: Option<Spanned<String>>,
    output: Option<Spanned<String>>,
    volume: Option<Spanned<f64>>,
    grace_seconds: Option<Spanned<i64>>,
    emergency_dir: Option<Spanned<String>>,
    emergency_intro: Option<Spanned<String>>,
    emergency_repeat: Option<Spanned<i64>>,
    emergency_max_age_minutes: Option<Spanned<i64>>,
    live_input: Option<Spanned<String>>,
    live_max_minutes: Option<Spanned<f64>>,
    buffer_frames: Option<Spanned<i64>>,
    latency_compensation_ms: Option<Spanned<i64>>,
    loudness_target: Option<Spanned<f64>>,
    loudness_margin: Option<Spanned<f64>>,
    loudness_normalize: Option<bool>,
    max_session_minutes: Option<Spanned<i64>>,
    max_sessions_per_day: Option<Spanned<i64>>,
    quiet_hours: Option<Spanned<String>>,
    // The sections other parts own: each checks its own (see `Section`).
    #[serde(rename = "web")]
    _web: Option<serde::de::IgnoredAny>,
    #[serde(rename = "stream")]
    _stream: Option<serde::de::IgnoredAny>,
    #[serde(rename = "sync")]
    _sync: Option<serde::de::IgnoredAny>,
}

/// A section another part owns (`[web]`, `[stream]`, `[sync]`): given the file and its text,
/// it returns the section's problems, located. [`load`] runs the checks it is handed and
/// reports them with the station-wide ones, all at once, while this module knows none of
/// those parts. Each part reads its typed settings with [`Config::section`].
pub type Section = fn(&Path, &str, Lang) -> Vec<Diagnostic>;

/// Reads and checks a section another part owns. `F` is that part's view of the whole file
/// (one field, the section), so the other keys, checked by [`parse`], are ignored there;
/// `settings` validates it, pushing each problem located. Every part's `parse` is this.
pub fn parse_section<F: serde::de::DeserializeOwned, T>(
    path: &Path,
    text: &str,
    lang: Lang,
    settings: impl FnOnce(&F, &mut Vec<Diagnostic>) -> T,
) -> Result<T, Vec<Diagnostic>> {
    let file: F = toml::from_str(text).map_err(|e| vec![from_toml_error(path, text, &e, lang)])?;
    let mut problems = Vec::new();
    let found = settings(&file, &mut problems);
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

impl Config {
    /// A section as the file has it, untyped: enough to tell whether it changed.
    pub fn raw_section(&self, name: &str) -> Option<toml::Value> {
        toml::from_str::<toml::Table>(&self.text)
            .ok()
            .and_then(|mut t| t.remove(name))
    }

    /// A section's typed settings, read by the part that owns it (its `parse`).
    pub fn section<T>(
        &self,
        parse: fn(&Path, &str, Lang) -> Result<T, Vec<Diagnostic>>,
    ) -> Result<T, ConfigError> {
        let path = self.file.as_deref().unwrap_or(Path::new(STATION_CONFIG));
        parse(path, &self.text, self.language).map_err(ConfigError::Invalid)
    }
}

/// Command-line overrides, the last layer.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub output: Option<String>,
    pub language: Option<String>,
}

/// One setting's textual value and where it came from, for located errors.
struct Setting<'a> {
    value: String,
    origin: Origin<'a>,
}

impl<'a> Setting<'a> {
    /// A key's value as the station's file gives it, located there.
    fn from_file<T: ToString>(
        v: &Option<Spanned<T>>,
        path: &'a Path,
        text: &'a str,
    ) -> Option<Setting<'a>> {
        v.as_ref().map(|s| Setting {
            value: s.get_ref().to_string(),
            origin: Origin::File {
                path,
                text,
                span: s.span(),
            },
        })
    }
}

enum Origin<'a> {
    File {
        path: &'a Path,
        text: &'a str,
        span: std::ops::Range<usize>,
    },
    Env(&'static str),
    Flag(&'static str),
}

impl Setting<'_> {
    fn problem(&self, message: String) -> Diagnostic {
        match &self.origin {
            Origin::File { path, text, span } => {
                Diagnostic::error(path, text, span.clone(), message)
            }
            Origin::Env(name) => Diagnostic::whole_file(Path::new(&format!("${name}")), message),
            Origin::Flag(name) => Diagnostic::whole_file(Path::new(&format!("--{name}")), message),
        }
    }
}

/// Applies the environment and flag layers over a file's setting.
fn layer<'a>(
    file: Option<Setting<'a>>,
    env: &BTreeMap<String, String>,
    env_name: &'static str,
    flag: Option<(&'static str, &Option<String>)>,
) -> Option<Setting<'a>> {
    let mut s = file;
    if let Some(v) = env.get(env_name) {
        s = Some(Setting {
            value: v.clone(),
            origin: Origin::Env(env_name),
        });
    }
    if let Some((name, Some(v))) = flag {
        s = Some(Setting {
            value: v.clone(),
            origin: Origin::Flag(name),
        });
    }
    s
}

/// Finds the configuration file: `--config`/`LOAXA_CONFIG`, else `config/loaxa.toml` in the
/// current directory or one of its parents, else the system file.
pub fn locate(explicit: Option<&Path>, cwd: &Path, lang: Lang) -> Result<PathBuf, ConfigError> {
    if let Some(p) = explicit {
        let p = cwd.join(p);
        if p.is_file() {
            return Ok(p);
        }
        return Err(ConfigError::NotFound(tr!(
            lang,
            "không tìm thấy tệp cấu hình {} (được chỉ định bằng --config hoặc LOAXA_CONFIG)",
            "configuration file {} not found (named by --config or LOAXA_CONFIG)",
            p.display()
        )));
    }
    for dir in cwd.ancestors() {
        let candidate = dir.join(STATION_CONFIG);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let system = Path::new(SYSTEM_CONFIG);
    if system.is_file() {
        return Ok(system.to_path_buf());
    }
    Err(ConfigError::NotFound(tr!(
        lang,
        "không tìm thấy đài: thư mục này (và các thư mục cha) không có {STATION_CONFIG}, và không có {SYSTEM_CONFIG}. Hãy chạy loaxa trong thư mục của đài, hoặc chỉ ra tệp cấu hình bằng --config",
        "no station found: neither this directory nor its parents hold {STATION_CONFIG}, and {SYSTEM_CONFIG} does not exist. Run loaxa in the station directory or name the configuration with --config"
    )))
}

/// Loads the configuration with every layer applied.
pub fn load(
    overrides: &Overrides,
    env: &BTreeMap<String, String>,
    cwd: &Path,
    sections: &[Section],
) -> Result<Config, ConfigError> {
    // Which language to complain in is itself configurable; pick it before anything can fail.
    let early_lang = overrides
        .language
        .as_deref()
        .or(env.get("LOAXA_LANGUAGE").map(String::as_str))
        .and_then(Lang::parse)
        .unwrap_or_default();
    let explicit = overrides
        .config
        .clone()
        .or_else(|| env.get("LOAXA_CONFIG").map(PathBuf::from));
    let path = locate(explicit.as_deref(), cwd, early_lang)?;
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    parse(&path, &text, overrides, env, sections)
}

/// Parses and validates a configuration text; `path` names it in messages and anchors
/// relative paths.
pub fn parse(
    path: &Path,
    text: &str,
    overrides: &Overrides,
    env: &BTreeMap<String, String>,
    sections: &[Section],
) -> Result<Config, ConfigError> {
    // The file's own `language` counts too when only another setting is wrong.
    let sniffed = toml::from_str::<toml::Table>(text).ok().and_then(|t| {
        t.get("language")
            .and_then(|v| v.as_str())
            .and_then(Lang::parse)
    });
    let early_lang = overrides
        .language
        .as_deref()
        .or(env.get("LOAXA_LANGUAGE").map(String::as_str))
        .and_then(Lang::parse)
        .or(sniffed)
        .unwrap_or_default();
    let raw: RawConfig = toml::from_str(text)
        .map_err(|e| ConfigError::Invalid(vec![from_toml_error(path, text, &e, early_lang)]))?;

    let file_setting = |v: &Option<Spanned<String>>| Setting::from_file(v, path, text);
    let file_number = |v: &Option<Spanned<i64>>| Setting::from_file(v, path, text);
    let layered = |file, env_name, flag| layer(file, env, env_name, flag);

    let mut problems = Vec::new();

    let language = match layered(
        file_setting(&raw.language),
        "LOAXA_LANGUAGE",
        Some(("lang", &overrides.language)),
    ) {
        None => Lang::default(),
        Some(s) => Lang::parse(&s.value).unwrap_or_else(|| {
            problems.push(s.problem(tr!(
                early_lang,
                "ngôn ngữ không hợp lệ «{}»: dùng \"vi\" hoặc \"en\"",
                "invalid language “{}”: use \"vi\" or \"en\"",
                s.value
            )));
            Lang::default()
        }),
    };
    let lang = language;

    let config_dir = path.parent().unwrap_or(Path::new("."));
    let default_station_dir = if config_dir.file_name().is_some_and(|n| n == "config") {
        config_dir.parent().unwrap_or(config_dir).to_path_buf()
    } else if path == Path::new(SYSTEM_CONFIG) {
        PathBuf::from("/var/lib/loaxa")
    } else {
        config_dir.to_path_buf()
    };
    let station_dir = match layered(file_setting(&raw.station_dir), "LOAXA_STATION_DIR", None) {
        Some(s) => config_dir.join(s.value),
        None => default_station_dir,
    };
    let resolve = |s: Option<Setting<'_>>, default: &str| -> PathBuf {
        station_dir.join(s.map_or_else(|| default.to_string(), |s| s.value))
    };

    let station_name = layered(file_setting(&raw.station), "LOAXA_STATION", None).map_or_else(
        || {
            lang.pick("Đài truyền thanh xã", "Commune radio station")
                .to_string()
        },
        |s| s.value,
    );

    let timezone = match layered(file_setting(&raw.timezone), "LOAXA_TIMEZONE", None) {
        None => chrono_tz::Asia::Ho_Chi_Minh,
        Some(s) => s.value.parse::<Tz>().unwrap_or_else(|_| {
            problems.push(s.problem(tr!(
                lang,
                "múi giờ không hợp lệ «{}»: dùng tên IANA, ví dụ \"Asia/Ho_Chi_Minh\"",
                "invalid time zone “{}”: use an IANA name such as \"Asia/Ho_Chi_Minh\"",
                s.value
            )));
            chrono_tz::Asia::Ho_Chi_Minh
        }),
    };

    let audio_dir = resolve(
        layered(file_setting(&raw.audio_dir), "LOAXA_AUDIO_DIR", None),
        "audio",
    );
    let schedules_dir = resolve(
        layered(
            file_setting(&raw.schedules_dir),
            "LOAXA_SCHEDULES_DIR",
            None,
        ),
        "schedules",
    );
    let journal = resolve(
        layered(file_setting(&raw.journal), "LOAXA_JOURNAL", None),
        "journal/loaxa.db",
    );

    let output = match layered(
        file_setting(&raw.output),
        "LOAXA_OUTPUT",
        Some(("output", &overrides.output)),
    ) {
        None => OutputSpec::Default,
        Some(s) => {
            // A flag's or variable's wav path is relative to where the operator typed it.
            let base = match s.origin {
                Origin::File { .. } => station_dir.clone(),
                _ => std::env::current_dir().unwrap_or_else(|_| station_dir.clone()),
            };
            OutputSpec::parse(&s.value, &base).unwrap_or_else(|_| {
                problems.push(s.problem(tr!(
                    lang,
                    "đầu ra không hợp lệ «{}»: dùng \"default\", tên thiết bị, \"wav:ĐƯỜNG_DẪN\" hoặc \"null\"",
                    "invalid output “{}”: use \"default\", a device name, \"wav:PATH\" or \"null\"",
                    s.value
                )));
                OutputSpec::Default
            })
        }
    };

    let volume_setting = layered(
        Setting::from_file(&raw.volume, path, text),
        "LOAXA_VOLUME",
        None,
    );
    let volume = match volume_setting {
        None => 1.0,
        Some(s) => match s.value.trim().parse::<f32>() {
            Ok(v) if (0.0..=2.0).contains(&v) => v,
            _ => {
                problems.push(s.problem(tr!(
                    lang,
                    "âm lượng không hợp lệ «{}»: dùng số từ 0.0 đến 2.0 (1.0 là giữ nguyên)",
                    "invalid volume “{}”: use a number from 0.0 to 2.0 (1.0 leaves clips as they are)",
                    s.value
                )));
                1.0
            }
        },
    };

    // In minutes, a decimal as a relay slot's `minutes` is (0.5 is half a minute), from the
    // same least of 0.1.
    let live_max = match Setting::from_file(&raw.live_max_minutes, path, text) {
        None => 30.0,
        Some(s) => match s.value.parse::<f64>() {
            Ok(m) if (0.1..=240.0).contains(&m) => m,
            _ => {
                problems.push(s.problem(tr!(
                    lang,
                    "thời lượng tối đa của một lần phát trực tiếp (phút) không hợp lệ «{}»: cần số từ 0.1 đến 240",
                    "invalid live_max_minutes “{}”: expected a number from 0.1 to 240",
                    s.value
                )));
                30.0
            }
        },
    };

    let mut number = |s: Option<Setting<'_>>,
                      default: i64,
                      range: std::ops::RangeInclusive<i64>,
                      what_vi: &str,
                      what_en: &str|
     -> i64 {
        match s {
            None => default,
            Some(s) => match s.value.trim().parse::<i64>() {
                Ok(v) if range.contains(&v) => v,
                _ => {
                    problems.push(s.problem(tr!(
                        lang,
                        "{what_vi} không hợp lệ «{}»: cần số nguyên từ {} đến {}",
                        "invalid {what_en} “{}”: expected a whole number from {} to {}",
                        s.value,
                        range.start(),
                        range.end()
                    )));
                    default
                }
            },
        }
    };
    let grace = number(
        layered(file_number(&raw.grace_seconds), "LOAXA_GRACE_SECONDS", None),
        60,
        0..=86_400,
        "thời gian cho phép trễ",
        "grace_seconds",
    );
    let buffer_frames = number(
        layered(file_number(&raw.buffer_frames), "LOAXA_BUFFER_FRAMES", None),
        DEFAULT_BUFFER_FRAMES,
        64..=16_384,
        "kích thước bộ đệm",
        "buffer_frames",
    );
    let latency = number(
        layered(
            file_number(&raw.latency_compensation_ms),
            "LOAXA_LATENCY_COMPENSATION_MS",
            None,
        ),
        0,
        0..=1_000,
        "bù độ trễ",
        "latency_compensation_ms",
    );

    let emergency_repeat = number(
        Setting::from_file(&raw.emergency_repeat, path, text),
        3,
        1..=10,
        "số lần phát tin khẩn cấp",
        "emergency_repeat",
    ) as u32;

    let emergency_max_age = number(
        file_number(&raw.emergency_max_age_minutes),
        10,
        1..=1440,
        "tuổi tối đa của tin khẩn cấp (phút)",
        "emergency_max_age_minutes",
    );

    let max_session_minutes = Setting::from_file(&raw.max_session_minutes, path, text);
    let max_sessions_per_day = Setting::from_file(&raw.max_sessions_per_day, path, text);
    let guards_minutes = max_session_minutes.is_some().then(|| {
        number(
            max_session_minutes,
            0,
            1..=1440,
            "số phút tối đa mỗi phiên",
            "max_session_minutes",
        ) as u32
    });
    let guards_sessions = max_sessions_per_day.is_some().then(|| {
        number(
            max_sessions_per_day,
            0,
            1..=100,
            "số phiên tối đa mỗi ngày",
            "max_sessions_per_day",
        ) as u32
    });

    let mut loudness = Loudness::default();
    if let Some(t) = &raw.loudness_target {
        if (-40.0..=-5.0).contains(t.get_ref()) {
            loudness.target = *t.get_ref();
        } else {
            problems.push(Diagnostic::error(
                path,
                text,
                t.span(),
                lang.pick(
                    "`loudness_target` là độ to chuẩn theo LUFS, từ -40 đến -5 (ví dụ -16)",
                    "`loudness_target` is a loudness in LUFS from -40 to -5 (e.g. -16)",
                ),
            ));
        }
    }
    if let Some(m) = &raw.loudness_margin {
        if (0.5..=20.0).contains(m.get_ref()) {
            loudness.margin = *m.get_ref();
        } else {
            problems.push(Diagnostic::error(
                path,
                text,
                m.span(),
                lang.pick(
                    "`loudness_margin` là số LU từ 0.5 đến 20",
                    "`loudness_margin` is in LU, from 0.5 to 20",
                ),
            ));
        }
    }
    if let Some(n) = raw.loudness_normalize {
        loudness.normalize = n;
    }

    let emergency_dir = match &raw.emergency_dir {
        None => "khan-cap".to_string(),
        Some(d) => match crate::library::check_relative(d.get_ref()) {
            Ok(rel) => rel,
            Err(_) => {
                problems.push(Diagnostic::error(
                    path,
                    text,
                    d.span(),
                    lang.pick(
                        "`emergency_dir` phải là một thư mục bên trong audio/",
                        "`emergency_dir` must be a folder inside audio/",
                    ),
                ));
                "khan-cap".to_string()
            }
        },
    };

    let emergency_intro = raw.emergency_intro.as_ref().and_then(|c| {
        let checked = crate::library::check_relative(c.get_ref()).ok();
        if checked.is_none() {
            problems.push(Diagnostic::error(
                path,
                text,
                c.span(),
                lang.pick(
                    "`emergency_intro` là một tệp bên trong audio/, ví dụ \"chuong-bao.wav\"",
                    "`emergency_intro` is a file inside audio/, for example \"chime.wav\"",
                ),
            ));
        }
        checked
    });

    // An ALSA capture device, as a line-in relay names one (the daemon airs it through the
    // relay path).
    let live_input = raw.live_input.as_ref().and_then(|i| {
        let device = i
            .get_ref()
            .trim()
            .strip_prefix("alsa:")
            .filter(|d| !d.is_empty() && !d.chars().any(char::is_whitespace));
        if device.is_none() {
            problems.push(Diagnostic::error(
                path,
                text,
                i.span(),
                lang.pick(
                    "`live_input` là thiết bị thu của micro, viết `alsa:TÊN`, ví dụ \"alsa:default\" hoặc \"alsa:hw:1,0\"",
                    "`live_input` is the microphone's capture device, written `alsa:NAME`, e.g. \"alsa:default\" or \"alsa:hw:1,0\"",
                ),
            ));
        }
        device.map(|d| format!("alsa:{d}"))
    });

    let quiet_hours = raw.quiet_hours.as_ref().and_then(|q| {
        let parsed = q.get_ref().split_once('-').and_then(|(a, b)| {
            let t = |s: &str| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
            Some((t(a)?, t(b)?))
        });
        if parsed.is_none() {
            problems.push(Diagnostic::error(
                path,
                text,
                q.span(),
                lang.pick(
                    "`quiet_hours` có dạng \"21:00-05:00\" (từ giờ nào đến giờ nào)",
                    "`quiet_hours` looks like \"21:00-05:00\" (from, to)",
                ),
            ));
        }
        parsed
    });

    for check in sections {
        problems.extend(check(path, text, lang));
    }

    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    Ok(Config {
        text: text.to_string(),
        guards: Guards {
            max_session_minutes: guards_minutes,
            max_sessions_per_day: guards_sessions,
            quiet_hours,
        },
        emergency_dir,
        emergency_intro,
        emergency_repeat,
        emergency_max_age: Duration::from_secs(emergency_max_age as u64 * 60),
        live_input,
        live_max: Duration::from_secs_f64(live_max * 60.0),
        loudness,
        file: Some(path.to_path_buf()),
        station_dir,
        station_name,
        timezone,
        language,
        audio_dir,
        schedules_dir,
        journal,
        output,
        volume,
        grace: Duration::from_secs(grace as u64),
        buffer_frames: buffer_frames as u32,
        latency_compensation: Duration::from_millis(latency as u64),
    })
}

/// A password given inline or, better, in a file only the service can read (relative to
/// the configuration's folder), each problem located.
pub fn secret(
    section: &str,
    private: bool,
    given: (Option<&Spanned<String>>, Option<&Spanned<String>>),
    inline: Option<String>,
    section_at: usize,
    (path, text, lang): (&Path, &str, Lang),
    problems: &mut Vec<Diagnostic>,
) -> Option<String> {
    let mut err = |span: std::ops::Range<usize>, msg: String| {
        problems.push(Diagnostic::error(path, text, span, msg));
    };
    match given {
        (Some(p), None) => Some(p.get_ref().clone()),
        (None, Some(f)) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            let file = dir.join(f.get_ref());
            #[cfg(unix)]
            let others_read = private
                && std::fs::metadata(&file).is_ok_and(|m| {
                    std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o004 != 0
                });
            #[cfg(not(unix))]
            let others_read = false;
            match std::fs::read_to_string(&file) {
                Ok(_) if others_read => {
                    err(
                        f.span(),
                        tr!(
                            lang,
                            "mọi người dùng trên máy đều đọc được tệp mật khẩu {}: chỉ để dịch vụ đọc (chmod 640, nhóm loaxa)",
                            "the password file {} is readable by every user of this machine: make it the service's only (chmod 640, group loaxa)",
                            file.display()
                        ),
                    );
                    None
                }
                Ok(p) if !p.trim().is_empty() => Some(p.trim().to_string()),
                Ok(_) => {
                    err(
                        f.span(),
                        tr!(
                            lang,
                            "tệp mật khẩu {} rỗng",
                            "the password file {} is empty",
                            file.display()
                        ),
                    );
                    None
                }
                Err(e) => {
                    err(
                        f.span(),
                        tr!(
                            lang,
                            "không đọc được tệp mật khẩu {}: {e}",
                            "cannot read the password file {}: {e}",
                            file.display()
                        ),
                    );
                    None
                }
            }
        }
        (None, None) if inline.is_some() => inline,
        (None, None) => {
            err(
                section_at..section_at + section.len(),
                tr!(
                    lang,
                    "{section} cần `password_file` (tệp chỉ dịch vụ đọc được) hoặc `password`",
                    "{section} needs `password_file` (a file only the service can read) or `password`"
                ),
            );
            None
        }
        (Some(p), Some(_)) => {
            err(
                p.span(),
                lang.pick(
                    "chỉ dùng một trong `password` và `password_file`",
                    "use one of `password` and `password_file`, not both",
                )
                .into(),
            );
            None
        }
    }
}

/// The `LOAXA_*` variables of this process, for [`load`].
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("LOAXA_"))
        .collect()
}

/// The language for help and usage errors, decided before the command line is parsed:
/// `--lang`, then `LOAXA_LANGUAGE`, then the station's configuration, then Vietnamese.
pub fn help_language() -> Lang {
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
        .and_then(|cwd| load(&Overrides::default(), &environment(), &cwd, &[]).ok())
        .map(|c| c.language)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/st/config/loaxa.toml")
    }

    #[test]
    fn defaults_apply_and_paths_are_relative_to_the_station() {
        let c = parse(p(), "", &Overrides::default(), &BTreeMap::new(), &[]).unwrap();
        assert_eq!(c.station_dir, Path::new("/st"));
        assert_eq!(c.timezone, chrono_tz::Asia::Ho_Chi_Minh);
        assert_eq!(c.language, Lang::Vi);
        assert_eq!(c.audio_dir, Path::new("/st/audio"));
        assert_eq!(c.journal, Path::new("/st/journal/loaxa.db"));
        assert_eq!(c.output, OutputSpec::Default);
        assert_eq!(c.grace, Duration::from_secs(60));
    }

    #[test]
    fn env_overrides_file_and_flag_overrides_env() {
        let text = "output = \"null\"\nlanguage = \"vi\"\n";
        let mut env = BTreeMap::new();
        env.insert("LOAXA_OUTPUT".into(), "wav:/tmp/a.wav".into());
        let c = parse(p(), text, &Overrides::default(), &env, &[]).unwrap();
        assert_eq!(c.output, OutputSpec::Wav("/tmp/a.wav".into()));
        let flags = Overrides {
            output: Some("null".into()),
            language: Some("en".into()),
            ..Default::default()
        };
        let c = parse(p(), text, &flags, &env, &[]).unwrap();
        assert_eq!(c.output, OutputSpec::Null);
        assert_eq!(c.language, Lang::En);
    }

    #[test]
    fn unknown_key_is_located() {
        let Err(ConfigError::Invalid(d)) = parse(
            p(),
            "station = \"x\"\nvolumn = 1\n",
            &Overrides::default(),
            &BTreeMap::new(),
            &[],
        ) else {
            panic!("expected an error")
        };
        assert_eq!((d[0].line, d[0].col), (2, 1));
        assert!(d[0].message.contains("volumn"), "{}", d[0].message);
    }

    #[test]
    fn a_live_microphone_is_an_alsa_capture_device_and_a_live_broadcast_has_an_end() {
        let ok =
            |text: &str| parse(p(), text, &Overrides::default(), &BTreeMap::new(), &[]).unwrap();
        let c = ok("live_input = \"alsa:hw:1,0\"\n");
        assert_eq!(c.live_input.as_deref(), Some("alsa:hw:1,0"));
        assert_eq!(c.live_max, Duration::from_secs(30 * 60));
        assert_eq!(ok("").live_input, None);
        assert_eq!(
            ok("live_max_minutes = 5\n").live_max,
            Duration::from_secs(300)
        );
        assert_eq!(
            ok("live_max_minutes = 0.5\n").live_max,
            Duration::from_secs(30)
        );
        for (text, col) in [
            ("live_input = \"default\"\n", 14),
            ("live_input = \"alsa:\"\n", 14),
            ("live_input = \"http://x/y.mp3\"\n", 14),
            ("live_max_minutes = 0\n", 20),
            ("live_max_minutes = 600\n", 20),
            ("live_max_minutes = 0.05\n", 20),
        ] {
            let Err(ConfigError::Invalid(d)) =
                parse(p(), text, &Overrides::default(), &BTreeMap::new(), &[])
            else {
                panic!("{text}: expected an error")
            };
            assert_eq!((d[0].line, d[0].col), (1, col), "{text}: {d:?}");
        }
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let text =
            "timezone = \"Mars/Base\"\nvolume = 7.0\ngrace_seconds = -1\nlanguage = \"fr\"\n";
        let Err(ConfigError::Invalid(d)) =
            parse(p(), text, &Overrides::default(), &BTreeMap::new(), &[])
        else {
            panic!("expected errors")
        };
        let lines: Vec<usize> = d.iter().map(|d| d.line).collect();
        assert_eq!(lines.len(), 4, "{d:?}");
        for l in 1..=4 {
            assert!(lines.contains(&l), "{lines:?}");
        }
    }

    #[test]
    fn explicit_missing_config_is_an_error() {
        let dir = std::env::temp_dir();
        let err = locate(Some(Path::new("/nonexistent/loaxa.toml")), &dir, Lang::En).unwrap_err();
        assert!(err.to_string().contains("not found"));
    }
}
