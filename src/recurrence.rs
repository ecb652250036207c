//! When slots fall due: the instants at which each slot fires within a span of time, computed
//! in the station's time zone (independent of the machine's), whatever the machine's clock
//! does. Times of day go through chrono-tz; cron patterns through croner.

use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::schedule::{Priority, Slot, When};

/// One planned airing of a slot.
#[derive(Debug, Clone)]
pub struct Occurrence<'a> {
    pub at: DateTime<Utc>,
    pub slot: &'a Slot,
}

impl Occurrence<'_> {
    /// The identity of this occurrence in the journal: stable across restarts and
    /// schedule reloads, so an occurrence is never journaled twice.
    pub fn key(&self) -> String {
        occurrence_key(&self.slot.plan, &self.slot.id, self.at)
    }

    pub fn priority(&self) -> Priority {
        self.slot.priority
    }
}

pub fn occurrence_key(plan: &str, slot: &str, at: DateTime<Utc>) -> String {
    format!("{plan}/{slot}@{}", at.format("%Y-%m-%dT%H:%M:%SZ"))
}

/// A safety bound on how many occurrences one question may produce (a per-second cron over a
/// year would otherwise exhaust memory).
pub const MAX_OCCURRENCES: usize = 200_000;

/// Maps a local wall-clock time to an instant. A time that occurs twice (clocks going back)
/// fires once, at its first instance; a time skipped by a clock change fires at the first
/// instant after the gap, so a slot never silently disappears.
/// The instant a local day begins in the station's zone.
pub fn local_midnight(tz: Tz, day: chrono::NaiveDate) -> DateTime<Utc> {
    local_to_utc(tz, day.and_hms_opt(0, 0, 0).unwrap_or_default()).unwrap_or_default()
}

pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    if let Some(t) = tz.from_local_datetime(&local).earliest() {
        return Some(t.with_timezone(&Utc));
    }
    let mut probe = local;
    for _ in 0..(4 * 60) {
        probe += ChronoDuration::minutes(1);
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return Some(t.with_timezone(&Utc));
        }
    }
    None
}

/// Every occurrence of `slots` in the half-open span `(after, until]`, in airing order:
/// by instant, then higher priority first, then the order the operator wrote the slots in.
pub fn between<'a>(
    slots: impl IntoIterator<Item = &'a Slot>,
    tz: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Occurrence<'a>> {
    first(slots, tz, after, until, usize::MAX)
}

/// The first `n` occurrences of `slots` in `(after, until]`, in airing order: what
/// [`between`] would put first, without walking a frequent cron slot to the end of the span
/// (the daemon asks what comes next several times a broadcast, and a slot every quarter hour
/// is over a thousand instants a fortnight). Each cron slot is walked to its first `n` only
/// (a pattern's instants come in order); times of day are all kept: they are few, and a
/// day's times need not be written in order.
pub fn first<'a>(
    slots: impl IntoIterator<Item = &'a Slot>,
    tz: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    n: usize,
) -> Vec<Occurrence<'a>> {
    let mut out = Vec::new();
    if until <= after {
        return out;
    }
    for slot in slots {
        slot_between(slot, tz, after, until, n, &mut out);
        if out.len() >= MAX_OCCURRENCES {
            break;
        }
    }
    sort(&mut out);
    out.truncate(n.min(MAX_OCCURRENCES));
    out
}

pub fn sort(out: &mut [Occurrence<'_>]) {
    out.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then(b.slot.priority.cmp(&a.slot.priority))
            .then(a.slot.order.cmp(&b.slot.order))
    });
}

fn slot_between<'a>(
    slot: &'a Slot,
    tz: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    per_slot: usize,
    out: &mut Vec<Occurrence<'a>>,
) {
    match &slot.when {
        When::Times { at, days } => {
            // A day either side covers zone offsets and times moved across midnight by a gap.
            let first = after.with_timezone(&tz).date_naive() - ChronoDuration::days(1);
            let last = until.with_timezone(&tz).date_naive() + ChronoDuration::days(1);
            let first = match slot.from {
                Some(f) if f > first => f,
                _ => first,
            };
            let last = match slot.until {
                Some(u) if u < last => u,
                _ => last,
            };
            let mut date = first;
            while date <= last {
                if days.contains(chrono::Datelike::weekday(&date)) && slot.airs_on(date) {
                    for t in at {
                        if let Some(instant) = local_to_utc(tz, date.and_time(*t)) {
                            if instant > after && instant <= until {
                                out.push(Occurrence { at: instant, slot });
                            }
                        }
                    }
                }
                if out.len() >= MAX_OCCURRENCES {
                    return;
                }
                date = match date.succ_opt() {
                    Some(d) => d,
                    None => return,
                };
            }
        }
        When::Cron { cron, .. } => {
            let start = after.with_timezone(&tz);
            let from_date: Option<NaiveDate> = slot.from;
            let mut kept = 0;
            for t in cron.iter_after(start) {
                let instant = t.with_timezone(&Utc);
                if instant > until {
                    break;
                }
                let date = t.date_naive();
                if slot.until.is_some_and(|u| date > u) {
                    break;
                }
                if from_date.is_some_and(|f| date < f) || !slot.airs_on(date) {
                    continue;
                }
                out.push(Occurrence { at: instant, slot });
                kept += 1;
                if kept >= per_slot || out.len() >= MAX_OCCURRENCES {
                    return;
                }
            }
        }
    }
}

/// The first occurrence strictly after `after`, looking at most `horizon` ahead.
pub fn next_after<'a>(
    slots: impl IntoIterator<Item = &'a Slot> + Clone,
    tz: Tz,
    after: DateTime<Utc>,
    horizon: ChronoDuration,
) -> Option<Occurrence<'a>> {
    // Widen the window step by step: most stations fire daily, so a day usually suffices.
    let mut span = ChronoDuration::hours(26);
    loop {
        let span_now = span.min(horizon);
        let found = first(slots.clone(), tz, after, after + span_now, 1);
        if let Some(first) = found.into_iter().next() {
            return Some(first);
        }
        if span >= horizon {
            return None;
        }
        span = span * 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Lang;
    use crate::schedule::{self, Context};
    use std::path::Path;

    const TZ: Tz = chrono_tz::Asia::Ho_Chi_Minh;

    fn slots(body: &str) -> Vec<Slot> {
        let text = format!("[plan]\nid = \"p\"\ntitle = \"t\"\n{body}");
        let ctx = Context {
            lang: Lang::En,
            audio_dir: None,
            probes: None,
            loudness: None,
            guards: None,
        };
        let (s, d) = schedule::parse(Path::new("t.toml"), &text, &ctx, 0);
        assert!(d.iter().all(|d| !d.is_error()), "{d:?}");
        s.unwrap().slots
    }

    fn local(s: &str) -> DateTime<Utc> {
        let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        local_to_utc(TZ, n).unwrap()
    }

    fn fmt(o: &[Occurrence<'_>]) -> Vec<String> {
        o.iter()
            .map(|o| {
                format!(
                    "{} {}",
                    o.at.with_timezone(&TZ).format("%Y-%m-%d %H:%M:%S"),
                    o.slot.id
                )
            })
            .collect()
    }

    #[test]
    fn times_of_day_cross_midnight_month_and_year_ends() {
        let s =
            slots("[[slot]]\nid = \"s\"\nat = [\"23:59:30\", \"00:00:10\"]\nplay = [\"a.mp3\"]\n");
        let got = between(
            &s,
            TZ,
            local("2025-12-31 23:00:00"),
            local("2026-01-01 01:00:00"),
        );
        assert_eq!(
            fmt(&got),
            ["2025-12-31 23:59:30 s", "2026-01-01 00:00:10 s"]
        );
        let got = between(
            &s,
            TZ,
            local("2025-09-30 23:59:30"),
            local("2025-10-01 00:00:10"),
        );
        assert_eq!(
            fmt(&got),
            ["2025-10-01 00:00:10 s"],
            "the span is open at its start"
        );
    }

    #[test]
    fn the_station_zone_decides_not_the_machine() {
        let s = slots("[[slot]]\nid = \"s\"\nat = [\"06:00\"]\nplay = [\"a.mp3\"]\n");
        let got = between(
            &s,
            TZ,
            local("2025-09-01 00:00:00"),
            local("2025-09-02 00:00:00"),
        );
        assert_eq!(got[0].at.to_rfc3339(), "2025-08-31T23:00:00+00:00");
    }

    #[test]
    fn days_date_ranges_and_holidays_filter() {
        let s = slots(
            "[[slot]]\nid = \"s\"\nat = [\"06:00\"]\ndays = \"mon-fri\"\nfrom = 2025-09-01\nuntil = 2025-09-10\nexcept = [2025-09-02]\nplay = [\"a.mp3\"]\n",
        );
        let got = between(
            &s,
            TZ,
            local("2025-08-25 00:00:00"),
            local("2025-09-30 00:00:00"),
        );
        let days: Vec<String> = got
            .iter()
            .map(|o| o.at.with_timezone(&TZ).format("%d").to_string())
            .collect();
        // 1 Sep 2025 is a Monday; the 2nd is a holiday; 6-7 are a weekend; nothing after the 10th.
        assert_eq!(days, ["01", "03", "04", "05", "08", "09", "10"]);
    }

    #[test]
    fn cron_runs_in_the_station_zone_with_optional_seconds() {
        let s = slots("[[slot]]\nid = \"c\"\ncron = \"30 0 6 * * 1\"\nplay = [\"a.mp3\"]\n[[slot]]\nid = \"d\"\ncron = \"0 17 * * *\"\nplay = [\"a.mp3\"]\n");
        let got = between(
            &s,
            TZ,
            local("2025-09-01 00:00:00"),
            local("2025-09-02 00:00:00"),
        );
        assert_eq!(
            fmt(&got),
            ["2025-09-01 06:00:30 c", "2025-09-01 17:00:00 d"]
        );
    }

    #[test]
    fn clashing_slots_air_by_priority_then_by_written_order() {
        let s = slots(
            "[[slot]]\nid = \"a\"\nat = [\"06:00\"]\nplay = [\"a.mp3\"]\n[[slot]]\nid = \"b\"\nat = [\"06:00\"]\nplay = [\"a.mp3\"]\n[[slot]]\nid = \"e\"\nat = [\"06:00\"]\npriority = \"emergency\"\nplay = [\"a.mp3\"]\n",
        );
        let got = between(
            &s,
            TZ,
            local("2025-09-01 00:00:00"),
            local("2025-09-01 12:00:00"),
        );
        let ids: Vec<&str> = got.iter().map(|o| o.slot.id.as_str()).collect();
        assert_eq!(ids, ["e", "a", "b"]);
    }

    #[test]
    fn dst_gaps_and_repeats_neither_skip_nor_double() {
        let tz: Tz = chrono_tz::Europe::Berlin;
        let s = slots("[[slot]]\nid = \"s\"\nat = [\"02:30\"]\nplay = [\"a.mp3\"]\n");
        let day = |y, m, d| {
            tz.with_ymd_and_hms(y, m, d, 0, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        // 30 March 2025: 02:30 does not exist in Berlin; it fires once, after the gap.
        assert_eq!(between(&s, tz, day(2025, 3, 30), day(2025, 3, 31)).len(), 1);
        // 26 October 2025: 02:30 happens twice; it fires once.
        assert_eq!(
            between(&s, tz, day(2025, 10, 26), day(2025, 10, 27)).len(),
            1
        );
    }

    #[test]
    fn next_after_finds_sparse_slots() {
        let s = slots("[[slot]]\nid = \"y\"\ncron = \"0 8 1 1 *\"\nplay = [\"a.mp3\"]\n");
        let n = next_after(
            &s,
            TZ,
            local("2025-03-01 00:00:00"),
            ChronoDuration::days(400),
        )
        .unwrap();
        assert_eq!(fmt(&[n]), ["2026-01-01 08:00:00 y"]);
    }

    #[test]
    fn next_after_and_first_are_what_between_puts_first_whichever_slot_it_is() {
        // Cron slots every few minutes (one only on some dates, one clashing with a time of
        // day at a higher priority), beside times of day: `first` and next_after walk each
        // cron slot only to its first few occurrences, and must still give what `between`
        // puts first.
        let s = slots(
            "[[slot]]\nid = \"q\"\ncron = \"*/15 * * * *\"\nplay = [\"a.mp3\"]\n\
             [[slot]]\nid = \"w\"\ncron = \"*/7 * * * *\"\nexcept = [2025-09-02]\nplay = [\"a.mp3\"]\n\
             [[slot]]\nid = \"t\"\nat = [\"06:00\", \"17:30\"]\npriority = \"emergency\"\nplay = [\"a.mp3\"]\n",
        );
        let mut at = local("2025-09-01 05:50:00");
        while at < local("2025-09-03 00:00:00") {
            let next = next_after(&s, TZ, at, ChronoDuration::days(400)).unwrap();
            let all = between(&s, TZ, at, at + ChronoDuration::hours(26));
            assert_eq!(fmt(&[next]), fmt(&all[..1]), "after {at}");
            let five = first(&s, TZ, at, at + ChronoDuration::hours(26), 5);
            assert_eq!(fmt(&five), fmt(&all[..5]), "after {at}");
            at += ChronoDuration::minutes(11);
        }
    }
}
