//! Metadata the operator writes next to the audio, without touching it: a clip's sidecar
//! `NAME.toml` (title, topic, valid dates, how many times to air it, priority) and a queue
//! folder's `queue.toml` (how the queue takes turns). Both are parsed in two phases like the
//! schedules, and a file with any error is rejected whole with located diagnostics: a clip
//! whose `until` could not be read must not air as if it had none.

use std::ops::Range;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{from_toml_error, Diagnostic};
use crate::journal::Priority;
use crate::lang::Lang;
use crate::tr;

/// The name of a queue folder's settings file.
pub const QUEUE_FILE: &str = "queue.toml";

/// How a queue's clips take turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Least recently aired first, for ever (the default).
    #[default]
    Rotate,
    /// Each clip airs this many times, then is retired to `da-phat/`.
    Times(u32),
}

impl Mode {
    pub fn limit(self) -> Option<u32> {
        match self {
            Mode::Rotate => None,
            Mode::Times(n) => Some(n),
        }
    }
}

/// The priorities a clip's sidecar may give it: an emergency is not a clip's setting but a
/// file handed to the emergency folder. The console offers exactly these.
pub const CLIP_PRIORITIES: [Priority; 2] = [Priority::Normal, Priority::Priority];

/// A clip's sidecar, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClipMeta {
    pub title: Option<String>,
    pub topic: Option<String>,
    /// Where `topic` is written in the sidecar, for errors found later (an undeclared topic).
    pub topic_span: Option<Range<usize>>,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    /// `until` written as an instant (`2026-12-06T10:30:00+07:00`): a bulletin's end, to the
    /// second. Nothing airs it from then on.
    pub ends: Option<DateTime<Utc>>,
    pub times: Option<u32>,
    pub priority: Option<Priority>,
    /// The province's bulletin it is (handed in by `loaxa sync`).
    pub bulletin: Option<i64>,
    /// For a hand-over: the times of day (the station's zone) it airs at, not at once.
    pub at: Vec<chrono::NaiveTime>,
}

impl ClipMeta {
    /// Whether the clip may air on this local date; `Err` says whether it waits or expired.
    pub fn window(&self, date: NaiveDate) -> Result<(), Window> {
        if self.from.is_some_and(|f| date < f) {
            return Err(Window::NotYet);
        }
        if self.until.is_some_and(|u| date > u) {
            return Err(Window::Expired);
        }
        Ok(())
    }

    /// Whether the clip's end (an instant) has come at `now`.
    pub fn ended(&self, now: DateTime<Utc>) -> bool {
        self.ends.is_some_and(|e| now >= e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    NotYet,
    Expired,
}

/// A queue folder's settings, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueSettings {
    pub mode: Option<Mode>,
    pub topic: Option<String>,
    /// Where `topic` is written in `queue.toml`.
    pub topic_span: Option<Range<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClip {
    #[serde(default)]
    title: Option<Spanned<String>>,
    #[serde(default)]
    topic: Option<Spanned<String>>,
    #[serde(default)]
    from: Option<Spanned<toml::Value>>,
    #[serde(default)]
    until: Option<Spanned<toml::Value>>,
    #[serde(default)]
    times: Option<Spanned<i64>>,
    #[serde(default)]
    priority: Option<Spanned<String>>,
    #[serde(default)]
    bulletin: Option<Spanned<i64>>,
    #[serde(default)]
    at: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    #[serde(default)]
    mode: Option<Spanned<String>>,
    #[serde(default)]
    times: Option<Spanned<i64>>,
    #[serde(default)]
    topic: Option<Spanned<String>>,
}

struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    lang: Lang,
    errors: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    fn new(file: &'a Path, text: &'a str, lang: Lang) -> Self {
        Checker {
            file,
            text,
            lang,
            errors: Vec::new(),
        }
    }

    fn error(&mut self, span: Range<usize>, message: String) {
        self.errors
            .push(Diagnostic::error(self.file, self.text, span, message));
    }

    fn date(&mut self, v: &Spanned<toml::Value>) -> Option<NaiveDate> {
        let parsed = crate::diagnostic::date_value(v.get_ref());
        if parsed.is_none() {
            let lang = self.lang;
            self.error(v.span(), crate::diagnostic::bad_date(lang).into());
        }
        parsed
    }

    fn times(&mut self, v: &Spanned<i64>) -> Option<u32> {
        match *v.get_ref() {
            n @ 1..=10_000 => Some(n as u32),
            _ => {
                let lang = self.lang;
                self.error(
                    v.span(),
                    lang.pick(
                        "`times` phải là số lần phát, từ 1 trở lên",
                        "`times` must be a number of airings, 1 or more",
                    )
                    .into(),
                );
                None
            }
        }
    }

    fn text(&mut self, v: &Spanned<String>, what: &str) -> Option<String> {
        let t = v.get_ref().trim();
        if t.is_empty() {
            let lang = self.lang;
            self.error(
                v.span(),
                tr!(lang, "`{what}` đang để trống", "`{what}` is empty"),
            );
            return None;
        }
        Some(t.to_string())
    }

    fn done<T>(self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}

/// Parses a clip's sidecar.
pub fn parse_clip(file: &Path, text: &str, lang: Lang) -> Result<ClipMeta, Vec<Diagnostic>> {
    let raw: RawClip =
        toml::from_str(text).map_err(|e| vec![from_toml_error(file, text, &e, lang)])?;
    let mut c = Checker::new(file, text, lang);
    let from = raw.from.as_ref().and_then(|v| c.date(v));
    let ends = raw.until.as_ref().and_then(|v| instant_value(v.get_ref()));
    let until = raw
        .until
        .as_ref()
        .filter(|_| ends.is_none())
        .and_then(|v| c.date(v));
    if let (Some(f), Some(u), Some(span)) = (from, until, raw.until.as_ref()) {
        if f > u {
            c.error(
                span.span(),
                tr!(
                    lang,
                    "khoảng ngày rỗng: ngày kết thúc {u} trước ngày bắt đầu {f}",
                    "empty date range: the end {u} comes before the start {f}"
                ),
            );
        }
    }
    let priority = raw.priority.as_ref().and_then(|p| {
        let parsed = Priority::parse(p.get_ref()).filter(|p| CLIP_PRIORITIES.contains(p));
        if parsed.is_none() {
            c.error(
                p.span(),
                lang.pick(
                    "`priority` của một bài là \"normal\" hoặc \"priority\" (tin khẩn cấp thì thả vào thư mục khẩn cấp)",
                    "a clip's `priority` is \"normal\" or \"priority\" (emergencies go in the emergency folder)",
                )
                .into(),
            );
        }
        parsed
    });
    let meta = ClipMeta {
        title: raw.title.as_ref().and_then(|t| c.text(t, "title")),
        topic: raw.topic.as_ref().and_then(|t| c.text(t, "topic")),
        topic_span: raw.topic.as_ref().map(toml::Spanned::span),
        from,
        until,
        ends,
        times: raw.times.as_ref().and_then(|t| c.times(t)),
        priority,
        bulletin: raw.bulletin.as_ref().map(|b| *b.get_ref()),
        at: raw.at.as_ref().map_or_else(Vec::new, |at| {
            let times: Vec<_> = at.get_ref().iter().filter_map(|t| time_of_day(t)).collect();
            if times.len() != at.get_ref().len() {
                c.error(
                    at.span(),
                    lang.pick(
                        "`at` là danh sách giờ trong ngày, dạng \"07:30\" hoặc \"07:30:15\"",
                        "`at` is a list of times of day, like \"07:30\" or \"07:30:15\"",
                    )
                    .into(),
                );
            }
            times
        }),
    };
    c.done(meta)
}

/// `HH:MM` or `HH:MM:SS`.
pub fn time_of_day(s: &str) -> Option<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M:%S")
        .or_else(|_| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M"))
        .ok()
}

/// A TOML date-time with its offset, as an instant (a local one without offset is not:
/// the sidecar does not say whose clock it is).
fn instant_value(v: &toml::Value) -> Option<DateTime<Utc>> {
    match v {
        toml::Value::Datetime(d) if d.date.is_some() && d.time.is_some() && d.offset.is_some() => {
            DateTime::parse_from_rfc3339(&d.to_string())
                .ok()
                .map(|t| t.with_timezone(&Utc))
        }
        _ => None,
    }
}

/// Parses a queue folder's `queue.toml`.
pub fn parse_queue(file: &Path, text: &str, lang: Lang) -> Result<QueueSettings, Vec<Diagnostic>> {
    let raw: RawQueue =
        toml::from_str(text).map_err(|e| vec![from_toml_error(file, text, &e, lang)])?;
    let mut c = Checker::new(file, text, lang);
    let mode = mode(&mut c, raw.mode.as_ref(), raw.times.as_ref());
    let settings = QueueSettings {
        mode,
        topic: raw.topic.as_ref().and_then(|t| c.text(t, "topic")),
        topic_span: raw.topic.as_ref().map(toml::Spanned::span),
    };
    c.done(settings)
}

/// `mode = "rotate" | "once"` and `times = N`, wherever they are written.
fn mode(
    c: &mut Checker<'_>,
    mode: Option<&Spanned<String>>,
    times: Option<&Spanned<i64>>,
) -> Option<Mode> {
    let lang = c.lang;
    let times = times.and_then(|t| c.times(t).map(|n| (n, t.span())));
    match (
        mode.map(|m| (m.get_ref().trim().to_lowercase(), m.span())),
        times,
    ) {
        (None, None) => None,
        (None, Some((n, _))) => Some(Mode::Times(n)),
        (Some((m, _)), None) if m == "rotate" || m == "xoay-vong" => Some(Mode::Rotate),
        (Some((m, _)), None) if m == "once" || m == "mot-lan" => Some(Mode::Times(1)),
        (Some((m, _)), Some((n, _))) if m == "times" => Some(Mode::Times(n)),
        (Some((m, span)), Some((_, tspan))) if m == "rotate" || m == "once" => {
            let _ = span;
            c.error(
                tspan,
                lang.pick(
                    "`times` không đi cùng mode = \"rotate\" hay \"once\": bỏ `mode` để phát mỗi bài N lần",
                    "`times` does not go with mode = \"rotate\" or \"once\": drop `mode` to air each clip N times",
                )
                .into(),
            );
            None
        }
        (Some((_, span)), _) => {
            c.error(
                span,
                lang.pick(
                    "`mode` là \"rotate\" (xoay vòng) hoặc \"once\" (mỗi bài một lần); hoặc ghi `times = N`",
                    "`mode` is \"rotate\" or \"once\"; or write `times = N`",
                )
                .into(),
            );
            None
        }
    }
}

/// For the schedule: a slot's own `mode` / `times`, checked the same way.
pub fn slot_mode(
    file: &Path,
    text: &str,
    lang: Lang,
    mode_value: Option<&Spanned<String>>,
    times: Option<&Spanned<i64>>,
) -> Result<Option<Mode>, Vec<Diagnostic>> {
    let mut c = Checker::new(file, text, lang);
    let m = mode(&mut c, mode_value, times);
    c.done(m)
}

/// The sidecar of a clip file: `NAME.toml` beside `NAME.mp3`.
pub fn sidecar_path(clip: &Path) -> std::path::PathBuf {
    clip.with_extension("toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(text: &str) -> Result<ClipMeta, Vec<Diagnostic>> {
        parse_clip(Path::new("tin.toml"), text, Lang::En)
    }

    #[test]
    fn a_full_sidecar_reads_as_written() {
        let m = clip(
            "title = \"Lịch tiêm chủng\"\ntopic = \"cchc-1\"\nfrom = 2025-09-01\nuntil = \"2025-09-30\"\ntimes = 3\npriority = \"priority\"\n",
        )
        .unwrap();
        assert_eq!(m.title.as_deref(), Some("Lịch tiêm chủng"));
        assert_eq!(m.times, Some(3));
        assert_eq!(m.priority, Some(Priority::Priority));
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(m.window(d("2025-08-31")), Err(Window::NotYet));
        assert_eq!(m.window(d("2025-09-30")), Ok(()));
        assert_eq!(m.window(d("2025-10-01")), Err(Window::Expired));
    }

    /// A province's bulletin ends at an instant, not a day: `until` written with a time
    /// and an offset is that instant; one without an offset is refused (whose clock?).
    #[test]
    fn a_bulletin_s_sidecar_ends_at_the_second() {
        let m = clip(
            "title = \"Bão số 5\"\nbulletin = 42\nuntil = 2026-12-06T10:30:00+07:00\ntimes = 3\n",
        )
        .unwrap();
        assert_eq!(m.bulletin, Some(42));
        let ends: DateTime<Utc> = "2026-12-06T03:30:00Z".parse().unwrap();
        assert_eq!(m.ends, Some(ends));
        assert_eq!(m.until, None);
        assert!(m.at.is_empty());
        let timed = clip("at = [\"07:30\", \"17:00:15\"]\n").unwrap();
        assert_eq!(timed.at.len(), 2);
        let bad = clip("at = [\"7h30\"]\n").unwrap_err();
        assert_eq!((bad[0].line, bad[0].col), (1, 6));
        assert!(!m.ended(ends - chrono::Duration::seconds(1)));
        assert!(m.ended(ends));
        let local = clip("until = 2026-12-06T10:30:00\n").unwrap_err();
        assert_eq!((local[0].line, local[0].col), (1, 9));
    }

    #[test]
    fn every_sidecar_error_is_located() {
        let errs = clip("times = 0\nuntil = \"30/9\"\npriority = \"emergency\"\n").unwrap_err();
        let mut at: Vec<(usize, usize)> = errs.iter().map(|d| (d.line, d.col)).collect();
        at.sort();
        assert_eq!(at, [(1, 9), (2, 9), (3, 12)]);
        let unknown = clip("titel = \"x\"\n").unwrap_err();
        assert_eq!((unknown[0].line, unknown[0].col), (1, 1));
        assert!(
            unknown[0].message.contains("titel"),
            "{}",
            unknown[0].message
        );
    }

    #[test]
    fn queue_modes() {
        let q = |t: &str| parse_queue(Path::new("queue.toml"), t, Lang::En);
        assert_eq!(q("").unwrap().mode, None);
        assert_eq!(q("mode = \"rotate\"").unwrap().mode, Some(Mode::Rotate));
        assert_eq!(q("mode = \"once\"").unwrap().mode, Some(Mode::Times(1)));
        assert_eq!(q("times = 4").unwrap().mode, Some(Mode::Times(4)));
        assert_eq!(
            q("topic = \"cchc-2\"").unwrap().topic.as_deref(),
            Some("cchc-2")
        );
        assert!(q("mode = \"shuffle\"").is_err());
        assert!(q("mode = \"once\"\ntimes = 2").is_err());
    }
}
