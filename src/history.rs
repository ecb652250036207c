//! Browsing the journal: occurrence records filtered by plan, slot, topic and outcome over a
//! span of days, as a table, CSV or JSON, and one day as a timeline of what was planned
//! against what aired. Times are always the station's, with the zone shown.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::journal::{Outcome, Record};
use crate::lang::Lang;
use crate::report::{csv_line, text_table};
use crate::tr;

/// Which records to show. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub plan: Option<String>,
    pub slot: Option<String>,
    pub topic: Option<String>,
    /// An outcome code, or `unfinished` for a broadcast not ended.
    pub outcome: Option<String>,
}

impl Filter {
    /// Outcome names this filter accepts, for the operator's error message.
    pub const OUTCOMES: &'static [&'static str] = Outcome::CODES;

    /// The outcome code a record is filtered and styled by (`unfinished` if not ended).
    pub fn outcome_code(r: &Record) -> &'static str {
        r.outcome.map_or("unfinished", Outcome::code)
    }

    pub fn accepts(&self, r: &Record) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.plan, &r.info.plan)
            && is(&self.slot, &r.info.slot)
            && (self.topic.is_none()
                || r.info.topic == self.topic
                || r.clips.iter().any(|c| c.topic == self.topic))
            && is(&self.outcome, Filter::outcome_code(r))
    }
}

/// The log's CSV columns: the code scripts read, and the names a person reads (vi, en).
const CSV_COLUMNS: [(&str, &str, &str); 16] = [
    ("scheduled_local", "Giờ lịch", "Scheduled"),
    ("timezone", "Múi giờ", "Time zone"),
    ("plan", "Kế hoạch", "Plan"),
    ("slot", "Buổi", "Slot"),
    ("title", "Tên buổi", "Title"),
    ("topic", "Mục kế hoạch", "Plan item"),
    ("priority", "Mức ưu tiên", "Priority"),
    ("manual", "Thủ công", "Manual"),
    ("outcome", "Kết quả", "Outcome"),
    ("reason", "Lý do", "Reason"),
    ("started_local", "Bắt đầu", "Started"),
    ("ended_local", "Kết thúc", "Ended"),
    ("played_ms", "Đã phát (ms)", "Played (ms)"),
    ("duration_ms", "Độ dài (ms)", "Length (ms)"),
    ("clips", "Các bài", "Clips"),
    ("output", "Đầu ra", "Output"),
];

pub struct View<'a> {
    pub station: &'a str,
    pub tz: Tz,
    pub lang: Lang,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn local(tz: Tz, t: Option<DateTime<Utc>>, fmt: &str) -> String {
    t.map(|t| t.with_timezone(&tz).format(fmt).to_string())
        .unwrap_or_default()
}

/// How a record ended, in words (a broadcast not ended is said so): the one label the log
/// and the console show.
pub fn outcome(r: &Record, lang: Lang) -> String {
    outcome_label(Filter::outcome_code(r), lang)
}

/// The words for an outcome code of [`Filter::OUTCOMES`] (the log filter's choices).
pub fn outcome_label(code: &str, lang: Lang) -> String {
    Outcome::parse(code).map_or_else(
        || {
            lang.pick("đang phát / chưa kết thúc", "on air / not ended")
                .to_string()
        },
        |o| o.label(lang).to_string(),
    )
}

/// What of a record aired, in words: played of its length (a relay's fallback said apart).
pub fn played(r: &Record, lang: Lang) -> String {
    let secs = |ms: u64| ms as f64 / 1000.0;
    let p: u64 = r.clips.iter().map(|c| c.played_ms).sum();
    let d: u64 = r.clips.iter().map(|c| c.duration_ms).sum();
    // A relay's played time is what came from its source; what filled its gaps is said apart.
    let fallback: u64 = r
        .clips
        .iter()
        .filter_map(|c| c.relay.as_ref())
        .map(|a| a.fallback.iter().map(|f| f.played_ms).sum::<u64>())
        .sum();
    let silence: u64 = r
        .clips
        .iter()
        .filter_map(|c| c.relay.as_ref())
        .map(|a| a.silence_ms)
        .sum();
    let mut said = format!("{:.1}/{:.1}s", secs(p), secs(d));
    if fallback > 0 {
        said += &tr!(
            lang,
            " +dự phòng {:.1}s",
            " +fallback {:.1}s",
            secs(fallback)
        );
    }
    if silence > 0 {
        said += &tr!(lang, " +im lặng {:.1}s", " +silence {:.1}s", secs(silence));
    }
    said
}

impl View<'_> {
    pub fn table(&self, records: &[Record]) -> String {
        let (lang, tz) = (self.lang, self.tz);
        let mut o = tr!(
            lang,
            "{} — nhật ký phát sóng {} → {} (giờ {})\n",
            "{} — broadcast log {} → {} (times in {})\n",
            self.station,
            self.from,
            self.to,
            tz
        );
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|r| {
                vec![
                    local(tz, Some(r.info.scheduled_at), "%Y-%m-%d %H:%M:%S"),
                    format!(
                        "{}/{}{}",
                        r.info.plan,
                        r.info.slot,
                        if r.info.manual { "*" } else { "" }
                    ),
                    r.info.topic.clone().unwrap_or_default(),
                    outcome(r, lang),
                    played(r, lang),
                    local(tz, r.started_at, "%H:%M:%S%.3f"),
                    r.reason.as_ref().map(|x| x.text(lang)).unwrap_or_default(),
                ]
            })
            .collect();
        let header = if lang == Lang::Vi {
            [
                "GIỜ LỊCH",
                "PHIÊN",
                "CHỦ ĐỀ",
                "KẾT QUẢ",
                "ĐÃ PHÁT",
                "BẮT ĐẦU",
                "LÝ DO",
            ]
        } else {
            [
                "SCHEDULED",
                "SLOT",
                "TOPIC",
                "OUTCOME",
                "PLAYED",
                "STARTED",
                "REASON",
            ]
        };
        o.push_str(&text_table(&header, &rows));
        if records.iter().any(|r| r.info.manual) {
            o.push_str(lang.pick(
                "* phát thủ công, không tính vào kế hoạch\n",
                "* manual, not counted against the plan\n",
            ));
        }
        if records.is_empty() {
            o.push_str(lang.pick("(không có bản ghi nào)\n", "(no records)\n"));
        }
        o
    }

    /// One row per occurrence, under the column codes scripts read (`loaxa log --format csv`).
    pub fn csv(&self, records: &[Record]) -> String {
        let codes: Vec<&str> = CSV_COLUMNS.iter().map(|(code, _, _)| *code).collect();
        self.csv_under(&codes.join(","), records)
    }

    /// The same rows for a person opening the file in a spreadsheet: a byte-order mark (Excel
    /// on Windows reads UTF-8 only with it) and the columns named in the view's language.
    pub fn csv_for_people(&self, records: &[Record]) -> String {
        let names: Vec<&str> = CSV_COLUMNS
            .iter()
            .map(|(_, vi, en)| self.lang.pick(vi, en))
            .collect();
        format!("\u{FEFF}{}", self.csv_under(&names.join(","), records))
    }

    fn csv_under(&self, header: &str, records: &[Record]) -> String {
        let tz = self.tz;
        let mut o = format!("{header}\n");
        for r in records {
            let fields = [
                local(tz, Some(r.info.scheduled_at), "%Y-%m-%d %H:%M:%S"),
                tz.to_string(),
                r.info.plan.clone(),
                r.info.slot.clone(),
                r.info.title.clone(),
                r.info.topic.clone().unwrap_or_default(),
                r.info.priority.code().to_string(),
                r.info.manual.to_string(),
                r.outcome.map(|o| o.code().to_string()).unwrap_or_default(),
                r.reason
                    .as_ref()
                    .map(|x| x.text(self.lang))
                    .unwrap_or_default(),
                local(tz, r.started_at, "%Y-%m-%d %H:%M:%S%.3f"),
                local(tz, r.ended_at, "%Y-%m-%d %H:%M:%S%.3f"),
                r.clips.iter().map(|c| c.played_ms).sum::<u64>().to_string(),
                r.clips
                    .iter()
                    .map(|c| c.duration_ms)
                    .sum::<u64>()
                    .to_string(),
                r.clips
                    .iter()
                    .map(|c| c.rel.clone())
                    .collect::<Vec<_>>()
                    .join(" | "),
                r.output.clone().unwrap_or_default(),
            ];
            csv_line(&mut o, &fields);
        }
        o
    }

    pub fn json(&self, records: &[Record]) -> String {
        let doc = serde_json::json!({
            "station": self.station,
            "timezone": self.tz.to_string(),
            "from": self.from.to_string(),
            "to": self.to.to_string(),
            "records": records,
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
    }

    /// One day: each occurrence as planned, then what aired, clip by clip.
    pub fn timeline(&self, records: &[Record]) -> String {
        let (lang, tz) = (self.lang, self.tz);
        let mut o = tr!(
            lang,
            "{} — ngày {} (giờ {})\n",
            "{} — {} (times in {})\n",
            self.station,
            self.from.format("%d/%m/%Y"),
            tz
        );
        if records.is_empty() {
            o.push_str(lang.pick(
                "(không có gì theo kế hoạch hay đã phát trong ngày)\n",
                "(nothing planned or aired that day)\n",
            ));
        }
        let planned = lang.pick("kế hoạch", "planned");
        let aired = lang.pick("đã phát  ", "aired    ");
        for r in records {
            let _ = writeln!(
                o,
                "\n{}  {planned}  {}/{}  «{}»{}{}",
                local(tz, Some(r.info.scheduled_at), "%H:%M:%S"),
                r.info.plan,
                r.info.slot,
                r.info.title,
                r.info
                    .topic
                    .as_deref()
                    .map(|t| format!("  [{t}]"))
                    .unwrap_or_default(),
                if r.info.manual {
                    lang.pick("  (thủ công)", "  (manual)")
                } else {
                    ""
                }
            );
            let span = match (r.started_at, r.ended_at) {
                (Some(s), Some(e)) => format!(
                    "{} → {}",
                    local(tz, Some(s), "%H:%M:%S%.3f"),
                    local(tz, Some(e), "%H:%M:%S%.3f")
                ),
                (Some(s), None) => format!("{} → …", local(tz, Some(s), "%H:%M:%S%.3f")),
                _ => "—".into(),
            };
            let reason = r
                .reason
                .as_ref()
                .map(|x| format!(" — {}", x.text(lang)))
                .unwrap_or_default();
            let _ = writeln!(o, "          {aired}  {span}  {}{reason}", outcome(r, lang));
            for c in &r.clips {
                let mark = match c.outcome {
                    Some(Outcome::Completed) => "✓",
                    Some(_) => "✗",
                    None => "?",
                };
                let dead = c
                    .levels
                    .filter(super::journal::Levels::is_dead_air)
                    .map_or("", |_| {
                        lang.pick("  CÂM (không có tiếng)", "  DEAD AIR (silent)")
                    });
                let _ = writeln!(
                    o,
                    "                     {mark} {:<7} {}  {:.1}/{:.1}s{dead}",
                    c.role.code(),
                    c.rel,
                    c.played_ms as f64 / 1000.0,
                    c.duration_ms as f64 / 1000.0
                );
            }
        }
        o
    }
}
