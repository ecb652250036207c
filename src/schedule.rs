//! Broadcast schedules (`schedules/*.toml`): a plan, its topics (plan items) and its slots
//! (sessions), each saying when it airs and what it plays. Parsing is two-phase: raw serde
//! structs that reject unknown keys, then a validated [`Schedule`]. Validation collects every
//! problem in every file, each located as `file:line:col`, so one `loaxa validate` run shows
//! the operator everything to fix.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime, Weekday};
use croner::Cron;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::{Spanned, Value};

use crate::diagnostic::{bad_date, date_value, from_toml_error, Diagnostic};
pub use crate::journal::Priority;
use crate::lang::Lang;
use crate::library::{self, PathProblem, ProbeCache};
use crate::tr;

/// Days of the week a slot airs on, as a bit set (bit 0 = Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days(u8);

impl Days {
    pub const ALL: Days = Days(0b111_1111);

    pub fn contains(self, d: Weekday) -> bool {
        self.0 & (1 << d.num_days_from_monday()) != 0
    }

    fn with(self, d: Weekday) -> Days {
        Days(self.0 | (1 << d.num_days_from_monday()))
    }

    /// Parses one item: `daily`, `weekdays`, `weekends`, a day (`mon`, `t2`, `cn`) or a
    /// range (`mon-sat`, `t2-t6`).
    pub fn parse_item(s: &str) -> Option<Days> {
        let s = s.trim().to_lowercase();
        match s.as_str() {
            "daily" | "every-day" | "hang-ngay" | "hàng ngày" | "hằng ngày" => {
                return Some(Days::ALL)
            }
            "weekdays" | "ngay-thuong" => return Some(Days(0b001_1111)),
            "weekends" | "cuoi-tuan" => return Some(Days(0b110_0000)),
            _ => {}
        }
        if let Some((a, b)) = s.split_once('-') {
            let (a, b) = (weekday(a)?, weekday(b)?);
            let mut days = Days(0);
            let mut d = a;
            loop {
                days = days.with(d);
                if d == b {
                    break;
                }
                d = d.succ();
            }
            return Some(days);
        }
        weekday(&s).map(|d| Days(0).with(d))
    }
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim() {
        "mon" | "monday" | "t2" | "thu2" => Weekday::Mon,
        "tue" | "tuesday" | "t3" | "thu3" => Weekday::Tue,
        "wed" | "wednesday" | "t4" | "thu4" => Weekday::Wed,
        "thu" | "thursday" | "t5" | "thu5" => Weekday::Thu,
        "fri" | "friday" | "t6" | "thu6" => Weekday::Fri,
        "sat" | "saturday" | "t7" | "thu7" => Weekday::Sat,
        "sun" | "sunday" | "cn" | "chu-nhat" => Weekday::Sun,
        _ => return None,
    })
}

/// When a slot fires within a day.
#[derive(Debug, Clone)]
pub enum When {
    /// Times of day in the station's zone, with the days they apply on.
    Times { at: Vec<NaiveTime>, days: Days },
    /// A croner pattern (5 or 6 fields, seconds optional) for what the simple form cannot say.
    Cron { pattern: String, cron: Box<Cron> },
}

/// Something a slot plays from a fixed path (relative to the audio folder, NFC-normalised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipRef {
    pub rel: String,
    /// The plan item this clip serves, when it differs from its slot's.
    pub topic: Option<String>,
}

#[derive(Debug, Clone)]
pub struct QueueRef {
    /// Folder under the audio folder.
    pub folder: String,
    /// How many clips to take per occurrence.
    pub take: usize,
    /// How the clips take turns, when the slot says (else the folder's `queue.toml` does).
    pub mode: Option<crate::sidecar::Mode>,
}

/// What a relay slot relays, for how long, and what fills a gap in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct RelaySlot {
    pub source: crate::relay::Source,
    /// The text as the schedule wrote it (journaled and shown as is).
    pub text: String,
    /// How long it relays (`minutes`, which may have a fraction).
    pub duration_ms: u64,
    pub fallback: Vec<FallbackRef>,
    /// Set only on a relay resumed after an emergency: it relays until then, so the slot
    /// still ends on time.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

/// A clip, or every clip of a folder in name order, to air while the source is down.
#[derive(Debug, Clone, PartialEq)]
pub enum FallbackRef {
    Clip(ClipRef),
    Folder(String),
}

/// A session of the plan: when it airs and what it plays.
#[derive(Debug, Clone)]
pub struct Slot {
    pub plan: String,
    pub id: String,
    pub title: String,
    pub when: When,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub except: BTreeSet<NaiveDate>,
    pub topic: Option<String>,
    pub priority: Priority,
    pub intro: Option<ClipRef>,
    pub play: Vec<ClipRef>,
    pub queue: Option<QueueRef>,
    pub outro: Option<ClipRef>,
    pub max_minutes: Option<u32>,
    pub volume: f32,
    /// A relay slot airs its source for its minutes (between intro and outro) instead of clips.
    pub relay: Option<RelaySlot>,
    /// Position among all slots, so clashing equal-priority slots keep the operator's order.
    pub order: usize,
}

impl Slot {
    /// A slot made on the spot for something outside the schedules (`loaxa play`, an
    /// emergency file): no times of its own, just what it plays.
    pub fn ad_hoc(
        plan: &str,
        id: &str,
        title: String,
        priority: Priority,
        play: Vec<ClipRef>,
    ) -> Slot {
        Slot {
            plan: plan.into(),
            id: id.into(),
            title,
            when: When::Times {
                at: Vec::new(),
                days: Days::ALL,
            },
            from: None,
            until: None,
            except: BTreeSet::new(),
            topic: None,
            priority,
            intro: None,
            play,
            queue: None,
            outro: None,
            max_minutes: None,
            volume: 1.0,
            relay: None,
            order: 0,
        }
    }

    /// Whether the slot may air on this local date (date range, plan range, holidays).
    pub fn airs_on(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|f| date >= f)
            && self.until.is_none_or(|u| date <= u)
            && !self.except.contains(&date)
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub title: String,
    pub document: String,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// Plan items (section III.1 of the commune's plan): key → description.
    pub topics: BTreeMap<String, String>,
}

/// One validated schedule file.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub file: PathBuf,
    pub sha256: String,
    pub text: String,
    pub plan: Plan,
    pub slots: Vec<Slot>,
}

/// Every schedule in force.
#[derive(Debug, Clone, Default)]
pub struct Schedules {
    pub files: Vec<Schedule>,
}

impl Schedules {
    pub fn slots(&self) -> impl Iterator<Item = &Slot> + Clone {
        self.files.iter().flat_map(|f| f.slots.iter())
    }

    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.files.iter().map(|f| &f.plan).find(|p| p.id == id)
    }
}

// ---- raw shape -------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    plan: Spanned<RawPlan>,
    #[serde(default)]
    topics: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    slot: Vec<Spanned<RawSlot>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    id: Spanned<String>,
    title: Spanned<String>,
    #[serde(default)]
    document: Option<Spanned<String>>,
    #[serde(default)]
    valid_from: Option<Spanned<Value>>,
    #[serde(default)]
    valid_until: Option<Spanned<Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlot {
    id: Spanned<String>,
    #[serde(default)]
    title: Option<Spanned<String>>,
    #[serde(default)]
    at: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    days: Option<Spanned<Value>>,
    #[serde(default)]
    cron: Option<Spanned<String>>,
    #[serde(default)]
    from: Option<Spanned<Value>>,
    #[serde(default)]
    until: Option<Spanned<Value>>,
    #[serde(default)]
    except: Vec<Spanned<Value>>,
    #[serde(default)]
    topic: Option<Spanned<String>>,
    #[serde(default)]
    priority: Option<Spanned<String>>,
    #[serde(default)]
    intro: Option<Spanned<String>>,
    #[serde(default)]
    play: Vec<Spanned<PlayItem>>,
    #[serde(default)]
    queue: Option<Spanned<String>>,
    #[serde(default)]
    take: Option<Spanned<i64>>,
    #[serde(default)]
    mode: Option<Spanned<String>>,
    #[serde(default)]
    times: Option<Spanned<i64>>,
    #[serde(default)]
    outro: Option<Spanned<String>>,
    #[serde(default)]
    max_minutes: Option<Spanned<i64>>,
    #[serde(default)]
    volume: Option<Spanned<f64>>,
    #[serde(default)]
    relay: Option<Spanned<String>>,
    #[serde(default)]
    minutes: Option<Spanned<f64>>,
    #[serde(default)]
    fallback: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A `play` entry: a file name, or `{ file = "…", topic = "…" }` for a clip that serves
/// another plan item than its slot.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PlayItem {
    File(String),
    Detailed(RawClip),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClip {
    file: String,
    #[serde(default)]
    topic: Option<String>,
}

// ---- validation ------------------------------------------------------------------------

/// What validation may look at beyond the text: the audio folder, to check references.
pub struct Context<'a> {
    pub lang: Lang,
    /// `None` skips file checks (for tests of the text alone).
    pub audio_dir: Option<&'a Path>,
    pub probes: Option<&'a ProbeCache>,
    /// The station's loudness target and margin (LUFS, LU), to flag clips far from it.
    pub loudness: Option<(f64, f64)>,
    /// The station's guards, to warn of slots that would break them.
    pub guards: Option<crate::config::Guards>,
}

impl<'a> Context<'a> {
    /// Checking schedules as the station runs them: its audio folder (and, with `probes`,
    /// every clip decoded), its loudness policy and its guards.
    pub fn for_station(config: &'a crate::config::Config, probes: Option<&'a ProbeCache>) -> Self {
        Context {
            lang: config.language,
            audio_dir: Some(&config.audio_dir),
            probes,
            loudness: Some((config.loudness.target, config.loudness.margin)),
            guards: Some(config.guards),
        }
    }

    /// Checking a schedule's text alone (a stored version read back).
    pub fn text_only(lang: Lang) -> Self {
        Context {
            lang,
            audio_dir: None,
            probes: None,
            loudness: None,
            guards: None,
        }
    }
}

/// A date as operators write it in TOML: a bare date (`2025-09-02`) or the same as a string.
struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    lang: Lang,
    problems: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: String) {
        self.problems
            .push(Diagnostic::error(self.file, self.text, span, message));
    }
    fn warning(&mut self, span: Range<usize>, message: String) {
        self.problems
            .push(Diagnostic::warning(self.file, self.text, span, message));
    }

    fn date(&mut self, v: &Spanned<Value>) -> Option<NaiveDate> {
        let parsed = date_value(v.get_ref());
        if parsed.is_none() {
            let lang = self.lang;
            self.error(v.span(), bad_date(lang).into());
        }
        parsed
    }

    fn range(
        &mut self,
        from: &Option<Spanned<Value>>,
        until: &Option<Spanned<Value>>,
    ) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let f = from.as_ref().and_then(|v| self.date(v));
        let u = until.as_ref().and_then(|v| self.date(v));
        if let (Some(f), Some(u), Some(us)) = (f, u, until.as_ref()) {
            if f > u {
                let lang = self.lang;
                self.error(
                    us.span(),
                    tr!(
                        lang,
                        "khoảng ngày rỗng: ngày kết thúc {u} trước ngày bắt đầu {f}",
                        "empty date range: the end {u} comes before the start {f}"
                    ),
                );
            }
        }
        (f, u)
    }

    /// A relay slot's `relay`, `minutes` and `fallback`, checked together.
    fn relay(
        &mut self,
        rs: &RawSlot,
        ctx: &Context<'_>,
        slot_span: std::ops::Range<usize>,
    ) -> Option<RelaySlot> {
        let lang = self.lang;
        let Some(r) = &rs.relay else {
            for span in [
                rs.minutes.as_ref().map(toml::Spanned::span),
                rs.fallback.as_ref().map(toml::Spanned::span),
            ]
            .into_iter()
            .flatten()
            {
                self.error(
                    span,
                    lang.pick(
                        "`minutes` và `fallback` là của phiên tiếp sóng: cần đi cùng `relay`",
                        "`minutes` and `fallback` belong to a relay slot: they need a `relay`",
                    )
                    .into(),
                );
            }
            return None;
        };
        for span in [
            rs.play.first().map(toml::Spanned::span),
            rs.queue.as_ref().map(toml::Spanned::span),
        ]
        .into_iter()
        .flatten()
        {
            self.error(
                span,
                lang.pick(
                    "phiên tiếp sóng phát nguồn của nó, không phát `play` hay `queue` (được dùng `intro`, `outro` và `fallback`)",
                    "a relay slot airs its source, not `play` or `queue` (`intro`, `outro` and `fallback` are allowed)",
                )
                .into(),
            );
        }
        let source = match crate::relay::Source::parse(r.get_ref(), lang) {
            Ok(s) => Some(s),
            Err(msg) => {
                self.error(r.span(), msg);
                None
            }
        };
        let minutes = match &rs.minutes {
            None => {
                self.error(
                    slot_span.start..slot_span.start + 7,
                    lang.pick(
                        "phiên tiếp sóng cần `minutes = N`: tiếp sóng bao nhiêu phút",
                        "a relay slot needs `minutes = N`: how many minutes to relay",
                    )
                    .into(),
                );
                None
            }
            Some(m) if (0.1..=1440.0).contains(m.get_ref()) => {
                Some((m.get_ref() * 60_000.0).round() as u64)
            }
            Some(m) => {
                self.error(
                    m.span(),
                    lang.pick(
                        "`minutes` phải từ 0.1 đến 1440",
                        "`minutes` must be from 0.1 to 1440",
                    )
                    .into(),
                );
                None
            }
        };
        let mut fallback = Vec::new();
        for f in rs.fallback.iter().flat_map(toml::Spanned::get_ref) {
            if let Some(folder) = f.get_ref().strip_suffix('/') {
                match library::check_relative(folder) {
                    Ok(folder) => {
                        if let Some(audio) = ctx.audio_dir {
                            if !library::resolve(audio, &folder).is_some_and(|p| p.is_dir()) {
                                self.error(
                                    f.span(),
                                    tr!(
                                        lang,
                                        "không có thư mục «{folder}» trong {}",
                                        "no folder “{folder}” in {}",
                                        audio.display()
                                    ),
                                );
                            }
                        }
                        fallback.push(FallbackRef::Folder(folder));
                    }
                    Err(_) => self.error(
                        f.span(),
                        tr!(
                            lang,
                            "«{}» phải là một thư mục bên trong audio/",
                            "“{}” must be a folder inside audio/",
                            f.get_ref()
                        ),
                    ),
                }
            } else if let Some(c) = self.clip(f, ctx) {
                fallback.push(FallbackRef::Clip(c));
            }
        }
        Some(RelaySlot {
            source: source?,
            text: r.get_ref().trim().to_string(),
            duration_ms: minutes?,
            fallback,
            until: None,
        })
    }

    fn clip(&mut self, v: &Spanned<String>, ctx: &Context<'_>) -> Option<ClipRef> {
        let lang = self.lang;
        let rel = match library::check_relative(v.get_ref()) {
            Ok(rel) => rel,
            Err(problem) => {
                let msg = match problem {
                    PathProblem::Absolute => tr!(
                        lang,
                        "đường dẫn «{}» phải nằm trong thư mục audio/ (viết tương đối, ví dụ \"ban-tin/so-1.mp3\")",
                        "path “{}” must be inside the audio/ folder (write it relative, e.g. \"ban-tin/so-1.mp3\")",
                        v.get_ref()
                    ),
                    PathProblem::Escapes => tr!(
                        lang,
                        "đường dẫn «{}» ra ngoài thư mục audio/",
                        "path “{}” escapes the audio/ folder",
                        v.get_ref()
                    ),
                    PathProblem::Empty => lang.pick("đường dẫn rỗng", "empty path").to_string(),
                };
                self.error(v.span(), msg);
                return None;
            }
        };
        if let Some(audio) = ctx.audio_dir {
            match library::resolve(audio, &rel).filter(|p| p.is_file()) {
                None => self.error(
                    v.span(),
                    tr!(
                        lang,
                        "không có tệp «{rel}» trong {}",
                        "no file “{rel}” in {}",
                        audio.display()
                    ),
                ),
                Some(path) => {
                    if let Some(why) = library::refusal(audio, &path, lang) {
                        self.error(v.span(), tr!(lang, "«{rel}»: {why}", "“{rel}”: {why}"));
                    } else if let Some(probes) = ctx.probes {
                        match probes.probe(&path) {
                            Err(e) => self.error(
                                v.span(),
                                tr!(lang, "«{rel}»: {}", "“{rel}”: {}", e.reason(lang)),
                            ),
                            Ok(info) => {
                                let problem =
                                    ctx.loudness.and_then(|l| loudness_problem(&info, l, lang));
                                if let Some(problem) = problem {
                                    self.warning(
                                        v.span(),
                                        tr!(lang, "«{rel}»: {problem}", "“{rel}”: {problem}"),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        Some(ClipRef { rel, topic: None })
    }

    fn play_item(
        &mut self,
        v: &Spanned<PlayItem>,
        plan: &Plan,
        ctx: &Context<'_>,
    ) -> Option<ClipRef> {
        let (file, topic) = match v.get_ref() {
            PlayItem::File(f) => (f.clone(), None),
            PlayItem::Detailed(c) => (c.file.clone(), c.topic.clone()),
        };
        if let Some(t) = &topic {
            self.check_topic(t, v.span(), plan);
        }
        let clip = self.clip(&Spanned::new(v.span(), file), ctx)?;
        Some(ClipRef { topic, ..clip })
    }

    fn check_topic(&mut self, topic: &str, span: Range<usize>, plan: &Plan) {
        if !plan.topics.contains_key(topic) {
            let lang = self.lang;
            let known = plan.topics.keys().cloned().collect::<Vec<_>>().join(", ");
            self.error(
                span,
                tr!(
                    lang,
                    "chủ đề «{topic}» chưa khai báo trong [topics] (đã có: {known})",
                    "topic “{topic}” is not declared in [topics] (declared: {known})"
                ),
            );
        }
    }
}

/// Whether a clip's loudness is too far from the station's target (or silent), in words.
pub fn loudness_problem(
    info: &library::ClipInfo,
    (target, margin): (f64, f64),
    lang: Lang,
) -> Option<String> {
    match info.loudness_lufs {
        // Too short to gate (under 0.4 s) is not silence: only the peak can say that.
        None if info.peak_dbfs.get() > -60.0 => None,
        None => Some(lang.pick("tệp không có tiếng (im lặng)", "the file is silent").to_string()),
        Some(l) if (l.get() - target).abs() > margin => Some(tr!(
            lang,
            "độ to {:.1} LUFS, lệch {:+.1} LU so với mức chuẩn {target} LUFS của đài (cho phép ±{margin})",
            "loudness {:.1} LUFS is {:+.1} LU from the station's {target} LUFS target (margin ±{margin})",
            l.get(),
            l.get() - target
        )),
        Some(_) => None,
    }
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(0, |p| p.parse::<u32>().unwrap_or(99));
    NaiveTime::from_hms_opt(n(0), n(1), n(2))
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Parses and validates one schedule file. Errors and warnings are both returned;
/// the schedule is usable only if no diagnostic is an error.
pub fn parse(
    file: &Path,
    text: &str,
    ctx: &Context<'_>,
    first_order: usize,
) -> (Option<Schedule>, Vec<Diagnostic>) {
    let lang = ctx.lang;
    let raw: RawSchedule = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => return (None, vec![from_toml_error(file, text, &e, lang)]),
    };
    let mut c = Checker {
        file,
        text,
        lang,
        problems: Vec::new(),
    };

    let rp = raw.plan.get_ref();
    if !valid_id(rp.id.get_ref()) {
        c.error(
            rp.id.span(),
            tr!(
                lang,
                "mã kế hoạch «{}» không hợp lệ: chỉ dùng chữ thường không dấu, số, '-' và '_'",
                "plan id “{}” is invalid: use lower-case ASCII letters, digits, '-' and '_'",
                rp.id.get_ref()
            ),
        );
    }
    if rp.title.get_ref().trim().is_empty() {
        c.error(
            rp.title.span(),
            lang.pick("tên kế hoạch đang để trống", "the plan title is empty")
                .into(),
        );
    }
    let (valid_from, valid_until) = c.range(&rp.valid_from, &rp.valid_until);
    let mut topics = BTreeMap::new();
    for (k, v) in &raw.topics {
        if v.get_ref().trim().is_empty() {
            c.error(
                v.span(),
                tr!(
                    lang,
                    "chủ đề «{k}» chưa có mô tả",
                    "topic “{k}” has no description"
                ),
            );
        }
        topics.insert(k.clone(), v.get_ref().clone());
    }
    let plan = Plan {
        id: rp.id.get_ref().clone(),
        title: rp.title.get_ref().clone(),
        document: rp
            .document
            .as_ref()
            .map(|d| d.get_ref().clone())
            .unwrap_or_default(),
        valid_from,
        valid_until,
        topics,
    };
    if raw.slot.is_empty() {
        c.warning(
            raw.plan.span(),
            lang.pick(
                "kế hoạch chưa có phiên phát nào ([[slot]])",
                "the plan has no slots ([[slot]])",
            )
            .into(),
        );
    }

    let mut seen: HashMap<String, Range<usize>> = HashMap::new();
    let mut slots = Vec::new();
    for (i, rs) in raw.slot.iter().enumerate() {
        let slot_span = rs.span();
        let rs = rs.get_ref();
        let id = rs.id.get_ref().clone();
        if !valid_id(&id) {
            c.error(
                rs.id.span(),
                tr!(
                    lang,
                    "mã phiên «{id}» không hợp lệ: chỉ dùng chữ thường không dấu, số, '-' và '_'",
                    "slot id “{id}” is invalid: use lower-case ASCII letters, digits, '-' and '_'"
                ),
            );
        }
        if let Some(prev) = seen.get(&id) {
            let (line, _) = line_col(text, prev.start);
            c.error(
                rs.id.span(),
                tr!(
                    lang,
                    "mã phiên «{id}» bị trùng (đã dùng ở dòng {line})",
                    "duplicate slot id “{id}” (already used on line {line})"
                ),
            );
        } else {
            seen.insert(id.clone(), rs.id.span());
        }

        let when = match (&rs.at, &rs.cron) {
            (Some(_), Some(cron)) => {
                c.error(
                    cron.span(),
                    lang.pick(
                        "chỉ dùng một trong hai: `at` (giờ phát) hoặc `cron`",
                        "use either `at` (times of day) or `cron`, not both",
                    )
                    .into(),
                );
                None
            }
            (None, None) => {
                c.error(
                    slot_span.start..slot_span.start + 7,
                    tr!(
                        lang,
                        "phiên «{id}» chưa có giờ phát: thêm `at = [\"06:00\"]` hoặc `cron`",
                        "slot “{id}” has no time: add `at = [\"06:00\"]` or `cron`"
                    ),
                );
                None
            }
            (Some(at), None) => {
                let mut times = Vec::new();
                if at.get_ref().is_empty() {
                    c.error(
                        at.span(),
                        lang.pick(
                            "danh sách giờ phát đang trống",
                            "the list of times is empty",
                        )
                        .into(),
                    );
                }
                for t in at.get_ref() {
                    match parse_time(t.get_ref()) {
                        Some(time) => {
                            if times.contains(&time) {
                                c.warning(t.span(), tr!(lang, "giờ «{}» bị lặp lại", "time “{}” is repeated", t.get_ref()));
                            } else {
                                times.push(time);
                            }
                        }
                        None => c.error(
                            t.span(),
                            tr!(
                                lang,
                                "giờ không hợp lệ «{}»: dùng dạng GIỜ:PHÚT 24 giờ, ví dụ \"06:00\" hoặc \"17:30\"",
                                "invalid time “{}”: use 24-hour HH:MM, for example \"06:00\" or \"17:30\"",
                                t.get_ref()
                            ),
                        ),
                    }
                }
                times.sort();
                let days = match &rs.days {
                    None => Some(Days::ALL),
                    Some(v) => parse_days(&mut c, v),
                };
                days.map(|days| When::Times { at: times, days })
            }
            (None, Some(cron)) => {
                if rs.days.is_some() {
                    c.error(
                        rs.days.as_ref().map(toml::Spanned::span).unwrap_or(0..0),
                        lang.pick(
                            "`days` không dùng cùng `cron`: ghi ngày trong mẫu cron",
                            "`days` does not combine with `cron`: put the days in the cron pattern",
                        )
                        .into(),
                    );
                }
                let parser = croner::parser::CronParser::builder()
                    .seconds(croner::parser::Seconds::Optional)
                    .build();
                match parser.parse(cron.get_ref()) {
                    Ok(parsed) => Some(When::Cron {
                        pattern: cron.get_ref().clone(),
                        cron: Box::new(parsed),
                    }),
                    Err(e) => {
                        c.error(
                            cron.span(),
                            tr!(
                                lang,
                                "mẫu cron không hợp lệ: {e}",
                                "invalid cron pattern: {e}"
                            ),
                        );
                        None
                    }
                }
            }
        };

        let (from, until) = c.range(&rs.from, &rs.until);
        // The slot's own dates narrow the plan's.
        let from = match (from, plan.valid_from) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let until = match (until, plan.valid_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let (Some(f), Some(u)) = (from, until) {
            if f > u && (rs.from.is_some() || rs.until.is_some()) {
                let span = rs
                    .from
                    .as_ref()
                    .or(rs.until.as_ref())
                    .map(toml::Spanned::span)
                    .unwrap_or(slot_span.clone());
                c.error(
                    span,
                    tr!(
                        lang,
                        "phiên «{id}» không có ngày nào nằm trong thời hạn của kế hoạch",
                        "slot “{id}” has no date within the plan's validity"
                    ),
                );
            }
        }
        let mut except = BTreeSet::new();
        for e in &rs.except {
            if let Some(d) = c.date(e) {
                except.insert(d);
            }
        }

        let topic = rs.topic.as_ref().map(|t| {
            c.check_topic(t.get_ref(), t.span(), &plan);
            t.get_ref().clone()
        });
        let priority = match &rs.priority {
            None => Priority::Normal,
            Some(p) => Priority::parse(p.get_ref()).unwrap_or_else(|| {
                c.error(
                    p.span(),
                    tr!(
                        lang,
                        "mức ưu tiên không hợp lệ «{}»: dùng \"normal\" (thông thường), \"priority\" (ưu tiên) hoặc \"emergency\" (khẩn cấp)",
                        "invalid priority “{}”: use \"normal\", \"priority\" or \"emergency\"",
                        p.get_ref()
                    ),
                );
                Priority::Normal
            }),
        };

        let intro = rs.intro.as_ref().and_then(|v| c.clip(v, ctx));
        let outro = rs.outro.as_ref().and_then(|v| c.clip(v, ctx));
        let play: Vec<ClipRef> = rs
            .play
            .iter()
            .filter_map(|v| c.play_item(v, &plan, ctx))
            .collect();
        let queue = match &rs.queue {
            None => {
                if let Some(t) = &rs.take {
                    c.error(
                        t.span(),
                        lang.pick("`take` cần đi cùng `queue`", "`take` needs a `queue`")
                            .into(),
                    );
                }
                for span in [
                    rs.mode.as_ref().map(toml::Spanned::span),
                    rs.times.as_ref().map(toml::Spanned::span),
                ]
                .into_iter()
                .flatten()
                {
                    c.error(
                        span,
                        lang.pick(
                            "`mode` và `times` là cách phát của một hàng đợi: cần đi cùng `queue`",
                            "`mode` and `times` say how a queue airs: they need a `queue`",
                        )
                        .into(),
                    );
                }
                None
            }
            Some(q) => {
                let take = match &rs.take {
                    None => 1,
                    Some(t) if (1..=100).contains(t.get_ref()) => *t.get_ref() as usize,
                    Some(t) => {
                        c.error(
                            t.span(),
                            lang.pick(
                                "`take` phải là số từ 1 đến 100",
                                "`take` must be a number from 1 to 100",
                            )
                            .into(),
                        );
                        1
                    }
                };
                match library::check_relative(q.get_ref()) {
                    Err(_) => {
                        c.error(
                            q.span(),
                            tr!(
                                lang,
                                "hàng đợi «{}» phải là một thư mục bên trong audio/",
                                "queue “{}” must be a folder inside audio/",
                                q.get_ref()
                            ),
                        );
                        None
                    }
                    Ok(folder) => {
                        if let Some(audio) = ctx.audio_dir {
                            if !library::resolve(audio, &folder).is_some_and(|p| p.is_dir()) {
                                c.error(
                                    q.span(),
                                    tr!(
                                        lang,
                                        "không có thư mục hàng đợi «{folder}» trong {}",
                                        "no queue folder “{folder}” in {}",
                                        audio.display()
                                    ),
                                );
                            }
                        }
                        let mode = match crate::sidecar::slot_mode(
                            c.file,
                            c.text,
                            lang,
                            rs.mode.as_ref(),
                            rs.times.as_ref(),
                        ) {
                            Ok(m) => m,
                            Err(errors) => {
                                c.problems.extend(errors);
                                None
                            }
                        };
                        Some(QueueRef { folder, take, mode })
                    }
                }
            }
        };
        let relay = c.relay(rs, ctx, slot_span.clone());
        if relay.is_none()
            && rs.relay.is_none()
            && play.is_empty()
            && queue.is_none()
            && rs.play.is_empty()
            && rs.queue.is_none()
        {
            c.error(
                slot_span.start..slot_span.start + 7,
                tr!(
                    lang,
                    "phiên «{id}» không có gì để phát: thêm `play = [...]`, `queue` hoặc `relay`",
                    "slot “{id}” has nothing to play: add `play = [...]`, `queue` or `relay`"
                ),
            );
        }
        let max_minutes = match &rs.max_minutes {
            None => None,
            Some(m) if (1..=1440).contains(m.get_ref()) => Some(*m.get_ref() as u32),
            Some(m) => {
                c.error(
                    m.span(),
                    lang.pick(
                        "`max_minutes` phải từ 1 đến 1440",
                        "`max_minutes` must be from 1 to 1440",
                    )
                    .into(),
                );
                None
            }
        };
        let volume = match &rs.volume {
            None => 1.0,
            Some(v) if (0.0..=2.0).contains(v.get_ref()) => *v.get_ref() as f32,
            Some(v) => {
                c.error(
                    v.span(),
                    lang.pick(
                        "`volume` phải từ 0.0 đến 2.0 (1.0 là giữ nguyên)",
                        "`volume` must be from 0.0 to 2.0 (1.0 leaves clips as they are)",
                    )
                    .into(),
                );
                1.0
            }
        };

        if let (Some(g), Some(at)) = (ctx.guards, &rs.at) {
            if priority < Priority::Emergency {
                for t in at.get_ref() {
                    if parse_time(t.get_ref()).is_some_and(|x| g.is_quiet(x)) {
                        c.warning(
                            t.span(),
                            tr!(
                                lang,
                                "giờ {} nằm trong giờ yên tĩnh của đài ({}): phiên này sẽ không được phát",
                                "{} falls in the station's quiet hours ({}): this session will not air",
                                t.get_ref(),
                                g.quiet_text()
                            ),
                        );
                    }
                }
            }
        }
        if let (Some(max), Some(m)) = (
            ctx.guards.and_then(|g| g.max_session_minutes),
            &rs.max_minutes,
        ) {
            if *m.get_ref() > i64::from(max) {
                c.warning(
                    m.span(),
                    tr!(
                        lang,
                        "dài hơn giới hạn {max} phút mỗi phiên của đài: phiên sẽ bị cắt bớt",
                        "longer than the station's {max}-minute limit: the session will be trimmed"
                    ),
                );
            }
        }
        if let Some(when) = when {
            slots.push(Slot {
                plan: plan.id.clone(),
                id,
                title: rs
                    .title
                    .as_ref()
                    .map_or_else(|| rs.id.get_ref().clone(), |t| t.get_ref().clone()),
                when,
                from,
                until,
                except,
                topic,
                priority,
                intro,
                play,
                queue,
                outro,
                max_minutes,
                volume,
                relay,
                order: first_order + i,
            });
        }
    }

    if let Some(max) = ctx.guards.and_then(|g| g.max_sessions_per_day) {
        for day in [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ] {
            let planned: usize = slots
                .iter()
                .filter(|s| s.priority < Priority::Emergency)
                .map(|s| match &s.when {
                    When::Times { at, days } if days.contains(day) => at.len(),
                    _ => 0,
                })
                .sum();
            if planned > max as usize {
                let vi = [
                    "thứ Hai",
                    "thứ Ba",
                    "thứ Tư",
                    "thứ Năm",
                    "thứ Sáu",
                    "thứ Bảy",
                    "Chủ nhật",
                ];
                let name = match lang {
                    Lang::Vi => vi[day.num_days_from_monday() as usize].to_string(),
                    Lang::En => format!("{day}"),
                };
                c.warning(
                    raw.plan.span(),
                    tr!(
                        lang,
                        "{planned} phiên vào {name}, nhiều hơn giới hạn {max} phiên mỗi ngày của đài: các phiên sau sẽ không được phát",
                        "{planned} sessions on {name}, more than the station's limit of {max} a day: the later ones will not air"
                    ),
                );
                break;
            }
        }
    }
    let failed = c.problems.iter().any(Diagnostic::is_error);
    let schedule = (!failed).then(|| Schedule {
        file: file.to_path_buf(),
        sha256: crate::hex::hex(&Sha256::digest(text.as_bytes())),
        text: text.to_string(),
        plan,
        slots,
    });
    (schedule, c.problems)
}

fn parse_days(c: &mut Checker<'_>, v: &Spanned<Value>) -> Option<Days> {
    let lang = c.lang;
    let items: Vec<String> = match v.get_ref() {
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).unwrap_or_default())
            .collect(),
        _ => vec![String::new()],
    };
    let mut days = Days(0);
    let mut ok = true;
    for item in &items {
        match Days::parse_item(item) {
            Some(d) => days = Days(days.0 | d.0),
            None => {
                ok = false;
                c.error(
                    v.span(),
                    tr!(
                        lang,
                        "ngày trong tuần không hợp lệ «{item}»: dùng \"daily\", \"weekdays\", \"mon-sat\", hoặc danh sách như [\"mon\", \"wed\"] (hoặc t2…t7, cn)",
                        "unknown day “{item}”: use \"daily\", \"weekdays\", \"mon-sat\", or a list such as [\"mon\", \"wed\"]"
                    ),
                );
            }
        }
    }
    (ok && days.0 != 0).then_some(days)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let d = Diagnostic::error(Path::new(""), text, offset..offset, "");
    (d.line, d.col)
}

/// The schedule files of a folder as they stand: every `*.toml` but hidden ones (an editor's
/// or a save's temporary), sorted by name, each with its text or why it could not be read.
/// The one way the loader, the daemon's reload and the console's check read the folder.
pub fn read_folder(dir: &Path) -> std::io::Result<Vec<(PathBuf, std::io::Result<String>)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "toml")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                && p.is_file()
        })
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p);
            (p, text)
        })
        .collect())
}

/// A file that could not be read, said at the file.
fn unreadable(path: &Path, e: &std::io::Error, lang: Lang) -> Diagnostic {
    Diagnostic::whole_file(
        path,
        tr!(lang, "không đọc được tệp: {e}", "cannot read the file: {e}"),
    )
}

/// A plan id another file already uses, located at the id in `text`.
fn plan_id_clash(path: &Path, text: &str, id: &str, other: &Path, lang: Lang) -> Diagnostic {
    let span = text
        .find(&format!("\"{id}\""))
        .map(|i| i..i + id.len() + 2)
        .unwrap_or(0..0);
    Diagnostic::error(
        path,
        text,
        span,
        tr!(
            lang,
            "mã kế hoạch «{}» đã dùng trong {}",
            "plan id “{}” is already used in {}",
            id,
            other.display()
        ),
    )
}

/// Loads every `*.toml` in the schedules folder (sorted by name), validating each and the
/// set as a whole (plan ids are unique across files).
pub fn load_dir(dir: &Path, ctx: &Context<'_>) -> (Schedules, Vec<Diagnostic>) {
    match read_folder(dir) {
        Ok(files) => load_files(dir, files, ctx),
        Err(e) => (
            Schedules::default(),
            vec![Diagnostic::whole_file(
                dir,
                tr!(
                    ctx.lang,
                    "không đọc được thư mục lịch phát: {e}",
                    "cannot read the schedules folder: {e}"
                ),
            )],
        ),
    }
}

/// Validates a folder's files as read by [`read_folder`] (or as they would be after a save:
/// the console checks an edit this way, in memory), each and as a set.
pub fn load_files(
    dir: &Path,
    files: Vec<(PathBuf, std::io::Result<String>)>,
    ctx: &Context<'_>,
) -> (Schedules, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let mut schedules = Schedules::default();
    let mut order = 0;
    let mut plan_files: HashMap<String, PathBuf> = HashMap::new();
    for (path, text) in files {
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                problems.push(unreadable(&path, &e, ctx.lang));
                continue;
            }
        };
        let (schedule, mut diags) = parse(&path, &text, ctx, order);
        problems.append(&mut diags);
        if let Some(s) = schedule {
            if let Some(other) = plan_files.get(&s.plan.id) {
                problems.push(plan_id_clash(&path, &text, &s.plan.id, other, ctx.lang));
                continue;
            }
            plan_files.insert(s.plan.id.clone(), path.clone());
            order += s.slots.len();
            schedules.files.push(s);
        }
    }
    if schedules.files.is_empty() && problems.is_empty() {
        // An empty station is not broken (a fresh install, say): it airs nothing, loudly.
        let mut empty = Diagnostic::whole_file(
            dir,
            tr!(
                ctx.lang,
                "chưa có lịch phát nào (*.toml) trong thư mục này: đài sẽ không phát gì cho đến khi có",
                "no schedules (*.toml) in this folder: nothing will air until there are"
            ),
        );
        empty.severity = crate::diagnostic::Severity::Warning;
        problems.push(empty);
    }
    (schedules, problems)
}

/// What a [`Schedules::refresh`] changed.
#[derive(Debug, Default)]
pub struct Refresh {
    /// Files whose new content is now in force.
    pub loaded: Vec<PathBuf>,
    /// Files gone from the folder, no longer in force.
    pub removed: Vec<PathBuf>,
    /// Files whose new content failed validation; their previous version (if any) stays in
    /// force. With the content's hash, so a caller can report each bad version once.
    pub rejected: Vec<(PathBuf, String, Vec<Diagnostic>)>,
}

impl Schedules {
    /// Re-reads the schedules folder. A file whose content changed is validated again, as a
    /// whole: if it passes it replaces its previous version, if it fails the previous version
    /// stays in force. Slots keep the order of their files' names.
    pub fn refresh(&mut self, dir: &Path, ctx: &Context<'_>) -> Refresh {
        let mut out = Refresh::default();
        let Ok(files) = read_folder(dir) else {
            return out;
        };
        let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
        for (path, text) in &files {
            let text = match text {
                Ok(t) => t,
                Err(e) => {
                    let d = unreadable(path, e, ctx.lang);
                    out.rejected.push((path.clone(), String::new(), vec![d]));
                    continue;
                }
            };
            let sha = crate::hex::hex(&Sha256::digest(text.as_bytes()));
            if self
                .files
                .iter()
                .any(|f| &f.file == path && f.sha256 == sha)
            {
                continue;
            }
            let (parsed, mut diags) = parse(path, text, ctx, 0);
            let parsed = parsed.filter(|s| {
                let clash = self
                    .files
                    .iter()
                    .find(|f| &f.file != path && f.plan.id == s.plan.id);
                if let Some(other) = clash {
                    diags.push(plan_id_clash(path, text, &s.plan.id, &other.file, ctx.lang));
                }
                clash.is_none()
            });
            match parsed {
                Some(s) => {
                    self.files.retain(|f| &f.file != path);
                    self.files.push(s);
                    out.loaded.push(path.clone());
                }
                None => out.rejected.push((path.clone(), sha, diags)),
            }
        }
        self.files.retain(|f| {
            let keep = paths.contains(&f.file);
            if !keep {
                out.removed.push(f.file.clone());
            }
            keep
        });
        if !out.loaded.is_empty() || !out.removed.is_empty() {
            self.put_in_order();
        }
        out
    }

    /// Files by name, and every slot numbered in that order: clashing slots of equal
    /// priority air in the order the operator reads them.
    pub fn put_in_order(&mut self) {
        self.files.sort_by(|a, b| a.file.cmp(&b.file));
        let mut order = 0;
        for f in &mut self.files {
            for slot in &mut f.slots {
                slot.order = order;
                order += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[plan]
id = "cchc-2025"
title = "Kế hoạch tuyên truyền CCHC năm 2025"
document = "Kế hoạch số 12/KH-UBND"
valid_from = 2025-08-19
valid_until = "2025-12-31"

[topics]
a = "Vai trò, ý nghĩa của CCHC"
dd = "Một cửa, chuyển đổi số"

[[slot]]
id = "sang"
title = "Bản tin sáng"
at = ["06:00", "06:30:15"]
days = "mon-sat"
except = [2025-09-02]
topic = "dd"
intro = "nhac-hieu.wav"
play = ["gioi-thieu.mp3", { file = "mot-cua.mp3", topic = "a" }]
queue = "cchc"
take = 2
max_minutes = 15

[[slot]]
id = "bao"
cron = "0 */15 * * * *"
priority = "emergency"
play = ["canh-bao.mp3"]
"#;

    fn ctx() -> Context<'static> {
        Context {
            lang: Lang::En,
            audio_dir: None,
            probes: None,
            loudness: None,
            guards: None,
        }
    }

    fn errors(text: &str) -> Vec<Diagnostic> {
        let (s, d) = parse(Path::new("s.toml"), text, &ctx(), 0);
        let errs: Vec<Diagnostic> = d
            .into_iter()
            .filter(super::super::diagnostic::Diagnostic::is_error)
            .collect();
        assert_eq!(s.is_none(), !errs.is_empty());
        errs
    }

    #[test]
    fn a_good_schedule_parses_into_the_model() {
        let (s, d) = parse(Path::new("s.toml"), GOOD, &ctx(), 0);
        assert!(d.is_empty(), "{d:?}");
        let s = s.unwrap();
        assert_eq!(s.plan.id, "cchc-2025");
        assert_eq!(s.slots.len(), 2);
        let sang = &s.slots[0];
        let When::Times { at, days } = &sang.when else {
            panic!()
        };
        assert_eq!(at.len(), 2);
        assert!(days.contains(Weekday::Sat) && !days.contains(Weekday::Sun));
        assert_eq!(sang.from, NaiveDate::from_ymd_opt(2025, 8, 19));
        assert_eq!(sang.queue.as_ref().unwrap().take, 2);
        assert_eq!(
            sang.play[0],
            ClipRef {
                rel: "gioi-thieu.mp3".into(),
                topic: None
            }
        );
        assert_eq!(
            sang.play[1],
            ClipRef {
                rel: "mot-cua.mp3".into(),
                topic: Some("a".into())
            }
        );
        assert!(!sang.airs_on(NaiveDate::from_ymd_opt(2025, 9, 2).unwrap()));
        assert_eq!(s.slots[1].priority, Priority::Emergency);
    }

    #[test]
    fn every_problem_is_reported_with_its_location() {
        let text = r#"[plan]
id = "kh"
title = "T"
valid_from = "2025-12-31"
valid_until = "2025-01-01"

[[slot]]
id = "sang"
at = ["25:00", "6h"]
days = "mon-xyz"
play = ["../../etc/passwd"]

[[slot]]
id = "sang"
at = ["07:00"]
priority = "urgent"
topic = "nope"
queue = "/abs"
"#;
        let errs = errors(text);
        let at: Vec<(usize, usize)> = errs.iter().map(|d| (d.line, d.col)).collect();
        // empty plan range, two bad times, bad days, escaping path, duplicate id,
        // bad priority, undeclared topic, absolute queue
        assert!(at.contains(&(5, 15)), "{errs:#?}");
        assert!(at.contains(&(9, 7)), "{at:?}");
        assert!(at.contains(&(9, 16)), "{at:?}");
        assert!(at.contains(&(10, 8)), "{at:?}");
        assert!(at.contains(&(11, 9)), "{at:?}");
        assert!(at.contains(&(14, 6)), "{at:?}");
        assert!(at.contains(&(16, 12)), "{at:?}");
        assert!(at.contains(&(17, 9)), "{at:?}");
        assert!(at.contains(&(18, 9)), "{at:?}");
        assert_eq!(errs.len(), 9, "{errs:#?}");
    }

    #[test]
    fn a_clip_topic_must_be_declared_and_play_items_have_one_shape() {
        let base = "[plan]\nid = \"a\"\ntitle = \"t\"\n[topics]\nx = \"X\"\n[[slot]]\nid = \"s\"\nat = [\"06:00\"]\n";
        let errs = errors(&format!(
            "{base}play = [{{ file = \"a.mp3\", topic = \"y\" }}]\n"
        ));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!((errs[0].line, errs[0].col), (9, 9));
        assert!(
            errs[0].message.contains("topic “y” is not declared"),
            "{errs:?}"
        );
        let errs = errors(&format!("{base}play = [{{ fil = \"a.mp3\" }}]\n"));
        assert_eq!(errs[0].line, 9);
        assert!(
            errs[0].message.contains("each `play` item is a file name"),
            "{errs:?}"
        );
    }

    #[test]
    fn unknown_keys_are_located() {
        let errs = errors("[plan]\nid = \"a\"\ntitle = \"t\"\n[[slot]]\nid = \"x\"\nat = [\"06:00\"]\nplay = [\"a.mp3\"]\nvolumne = 1\n");
        assert_eq!(errs.len(), 1);
        assert_eq!((errs[0].line, errs[0].col), (8, 1), "{errs:?}");
    }

    #[test]
    fn syntax_errors_are_located() {
        let errs = errors("[plan]\nid = \"a\ntitle = \"t\"\n");
        assert_eq!(errs[0].line, 2, "{errs:?}");
    }

    #[test]
    fn a_slot_needs_a_time_and_something_to_play() {
        let errs = errors("[plan]\nid = \"a\"\ntitle = \"t\"\n[[slot]]\nid = \"x\"\n");
        assert_eq!(errs.len(), 2, "{errs:?}");
    }

    #[test]
    fn cron_and_at_are_exclusive_and_cron_is_checked() {
        let errs = errors("[plan]\nid = \"a\"\ntitle = \"t\"\n[[slot]]\nid = \"x\"\ncron = \"99 * * * *\"\nplay = [\"a.mp3\"]\n");
        assert_eq!((errs[0].line, errs[0].col), (6, 8), "{errs:?}");
        let errs = errors("[plan]\nid = \"a\"\ntitle = \"t\"\n[[slot]]\nid = \"x\"\nat=[\"06:00\"]\ncron = \"0 * * * *\"\nplay = [\"a.mp3\"]\n");
        assert_eq!(errs.len(), 1, "{errs:?}");
    }

    #[test]
    fn messages_speak_vietnamese_by_default() {
        let c = Context {
            lang: Lang::Vi,
            audio_dir: None,
            probes: None,
            loudness: None,
            guards: None,
        };
        let (_, d) = parse(Path::new("s.toml"), "[plan]\nid = \"a\"\ntitle = \"t\"\n[[slot]]\nid = \"x\"\nat = [\"25:00\"]\nplay=[\"a.mp3\"]\n", &c, 0);
        assert!(d[0].message.starts_with("giờ không hợp lệ"), "{d:?}");
    }

    #[test]
    fn days_accept_names_ranges_lists_and_vietnamese() {
        assert_eq!(Days::parse_item("weekdays"), Days::parse_item("mon-fri"));
        assert_eq!(Days::parse_item("t2-t7"), Days::parse_item("mon-sat"));
        assert!(Days::parse_item("cn").unwrap().contains(Weekday::Sun));
        assert!(Days::parse_item("sat-mon").unwrap().contains(Weekday::Sun));
        assert!(Days::parse_item("funday").is_none());
    }

    /// Regression guard for "validate must never panic": every prefix of a valid file, and
    /// the file with each line dropped, parses to a schedule or to located diagnostics.
    #[test]
    fn malformed_input_never_panics_and_every_problem_is_located() {
        let variants: Vec<String> = (0..GOOD.len())
            .filter(|i| GOOD.is_char_boundary(*i))
            .map(|i| GOOD[..i].to_string())
            .chain((0..GOOD.lines().count()).map(|skip| {
                GOOD.lines()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, l)| l)
                    .collect::<Vec<_>>()
                    .join("\n")
            }))
            .collect();
        for text in variants {
            let (s, d) = parse(Path::new("s.toml"), &text, &ctx(), 0);
            let lines = text.lines().count().max(1);
            for diag in &d {
                assert!(
                    diag.line >= 1 && diag.line <= lines + 1,
                    "{diag:?} in\n{text}"
                );
            }
            assert_eq!(s.is_none(), d.iter().any(Diagnostic::is_error));
        }
    }

    /// Regression: a 0.2 s clip was reported "silent" because EBU R128 cannot gate under 0.4 s.
    #[test]
    fn a_clip_too_short_to_measure_is_not_called_silent() {
        let info = |lufs: Option<f64>, peak: f64| library::ClipInfo {
            sha256: String::new(),
            duration_ms: 200,
            channels: 1,
            sample_rate: 8000,
            loudness_lufs: lufs.map(library::Tenths::of),
            peak_dbfs: library::Tenths::of(peak),
            lead_silence_ms: 0,
            trail_silence_ms: 0,
        };
        assert_eq!(
            loudness_problem(&info(None, -6.0), (-16.0, 3.0), Lang::En),
            None
        );
        assert!(loudness_problem(&info(None, -90.0), (-16.0, 3.0), Lang::En)
            .unwrap()
            .contains("silent"));
        assert!(loudness_problem(&info(Some(-30.0), -10.0), (-16.0, 3.0), Lang::En).is_some());
        assert_eq!(
            loudness_problem(&info(Some(-17.0), -3.0), (-16.0, 3.0), Lang::En),
            None
        );
    }

    #[test]
    fn validation_warns_of_slots_that_would_break_the_station_guards() {
        let guards = crate::config::Guards {
            max_session_minutes: Some(15),
            max_sessions_per_day: Some(2),
            quiet_hours: Some((
                NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
                NaiveTime::from_hms_opt(5, 0, 0).unwrap(),
            )),
        };
        let ctx = Context {
            lang: Lang::En,
            audio_dir: None,
            probes: None,
            loudness: None,
            guards: Some(guards),
        };
        let text = "[plan]\nid = \"a\"\ntitle = \"t\"\n[[slot]]\nid = \"s\"\nat = [\"04:00\", \"06:00\", \"17:00\"]\nmax_minutes = 30\nplay = [\"a.mp3\"]\n";
        let (s, d) = parse(Path::new("s.toml"), text, &ctx, 0);
        assert!(s.is_some(), "warnings do not reject: {d:?}");
        let msgs: Vec<String> = d
            .iter()
            .map(|d| format!("{}:{} {}", d.line, d.col, d.message))
            .collect();
        assert!(
            msgs.iter().any(
                |m| m.starts_with("6:7 04:00 falls in the station's quiet hours (21:00-05:00)")
            ),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("7:15 longer than the station's 15-minute limit")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("3 sessions on Mon, more than the station's limit of 2 a day")),
            "{msgs:?}"
        );
    }

    #[test]
    fn a_relay_slot_names_its_source_and_minutes_and_may_frame_it_with_intro_outro_and_fallback() {
        let text = "[plan]\nid = \"kh\"\ntitle = \"t\"\n[[slot]]\nid = \"vov1\"\nat = [\"05:30\"]\nintro = \"nhac-hieu.wav\"\nrelay = \"https://stream.vov.vn/vov1.m3u8\"\nminutes = 30\nfallback = [\"cho.mp3\", \"nhac-nen/\"]\n";
        let (s, d) = parse(Path::new("s.toml"), text, &ctx(), 0);
        assert!(d.iter().all(|d| !d.is_error()), "{d:?}");
        let slot = &s.unwrap().slots[0];
        let r = slot.relay.as_ref().unwrap();
        assert_eq!(r.duration_ms, 30 * 60_000);
        assert_eq!(r.text, "https://stream.vov.vn/vov1.m3u8");
        assert_eq!(r.fallback.len(), 2);
        assert!(matches!(&r.fallback[1], FallbackRef::Folder(f) if f == "nhac-nen"));
        assert!(slot.intro.is_some() && slot.play.is_empty());
    }

    #[test]
    fn relay_mistakes_are_each_reported_at_their_place() {
        let head = "[plan]\nid = \"kh\"\ntitle = \"t\"\n[[slot]]\nid = \"s\"\nat = [\"17:00\"]\n";
        let cases = [
            (
                "relay = \"rtsp://x/y\"\nminutes = 5\n",
                "relay source “rtsp://x/y” is not valid",
            ),
            ("relay = \"alsa:\"\nminutes = 5\n", "alsa:NAME"),
            ("relay = \"http://h/a.mp3\"\n", "needs `minutes = N`"),
            (
                "relay = \"http://h/a.mp3\"\nminutes = 0\n",
                "`minutes` must be from 0.1 to 1440",
            ),
            (
                "relay = \"http://h/a.mp3\"\nminutes = 5\nplay = [\"a.mp3\"]\n",
                "a relay slot airs its source",
            ),
            ("play = [\"a.mp3\"]\nminutes = 5\n", "they need a `relay`"),
            (
                "play = [\"a.mp3\"]\nfallback = [\"b.mp3\"]\n",
                "they need a `relay`",
            ),
            (
                "relay = \"http://h/a.mp3\"\nminutes = 5\nfallback = [\"../x/\"]\n",
                "must be a folder inside audio/",
            ),
        ];
        for (slot, want) in cases {
            let errs = errors(&format!("{head}{slot}"));
            let all: Vec<String> = errs.iter().map(|e| e.render(Lang::En)).collect();
            assert!(all.iter().any(|e| e.contains(want)), "{slot}: {all:?}");
        }
    }
}
