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

mod folder;
mod model;
mod parse;
mod raw;

pub use folder::*;
pub use model::*;
pub use parse::*;
use raw::*;

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
