//! Planning: what one occurrence of a slot airs, decided in one place for everyone who asks —
//! the daemon about to air it, `next` and `status` looking ahead, and the coming console.
//! A plan applies the station's guards (quiet hours, sessions a day; emergencies exempt),
//! picks the queue's clips (modes, sidecar dates, priorities, rotation from the journal),
//! and fits fixed clips and picks into the slot's and station's minutes (emergencies exempt
//! from the station's cap). What it needs of history comes through a [`Ledger`]: the journal
//! itself for the daemon, or a [`Forecast`] that adds what is predicted to air before, so a
//! month ahead is planned exactly as the daemon will air it, occurrence by occurrence.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::broadcast::{Assembly, Prepared};
use crate::catalog::{Catalog, Clip};
use crate::config::Config;
use crate::journal::{Journal, JournalError, Reason};
use crate::library::ProbeCache;
use crate::recurrence;
use crate::schedule::{ClipRef, Priority, Schedules, Slot};
use crate::sidecar::{Mode, Window};

/// An occurrence to plan: a slot at an instant, or something aired by hand.
#[derive(Debug, Clone)]
pub struct Due {
    pub slot: Slot,
    pub at: DateTime<Utc>,
    /// Aired on request (`play`, a rehearsal, an emergency file): exempt from the guards.
    pub manual: bool,
    /// The schedule version that planned it, when not the one in force now.
    pub schedule_sha256: Option<String>,
}

/// What an occurrence will do.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // short-lived, one at a time: a box buys nothing
pub enum Planned {
    /// It airs these clips (some may be marked skipped, with why).
    Airs(Prepared),
    /// A guard keeps it off the air: it is journaled missed, with this reason.
    Held(Reason),
}

/// What the journal says of a queue folder's clips: the journal sequence number of each
/// clip's last full airing (rotation order; later airings have higher numbers whatever the
/// wall clock did), and full airings per clip version (path, content hash).
#[derive(Debug, Clone, Default)]
pub struct QueueHistory {
    pub last: HashMap<String, i64>,
    pub aired: HashMap<(String, String), i64>,
}

/// The history a plan depends on.
pub trait Ledger {
    /// Planned (not manual) broadcasts started for occurrences scheduled in `[from, to)`.
    fn sessions(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64, JournalError>;
    /// The history of the clips under `folder/`.
    fn queue_history(&self, folder: &str) -> Result<QueueHistory, JournalError>;
}

impl Ledger for Journal {
    fn sessions(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64, JournalError> {
        self.sessions_between(from, to)
    }

    fn queue_history(&self, folder: &str) -> Result<QueueHistory, JournalError> {
        Ok(QueueHistory {
            last: self.last_aired(folder)?,
            aired: self.aired_versions(folder)?,
        })
    }
}

/// The journal (if there is one yet) plus what is predicted to air after it: each predicted
/// broadcast is assumed to air in full, as the daemon journals it.
pub struct Forecast<'j> {
    journal: Option<&'j Journal>,
    /// Predicted planned broadcasts, by scheduled instant.
    sessions: Vec<DateTime<Utc>>,
    /// Predicted full airings: clip → last sequence number; (clip, hash) → count.
    last: HashMap<String, i64>,
    aired: HashMap<(String, String), i64>,
    seq: i64,
}

impl<'j> Forecast<'j> {
    pub fn new(journal: Option<&'j Journal>) -> Forecast<'j> {
        Forecast {
            journal,
            sessions: Vec::new(),
            last: HashMap::new(),
            aired: HashMap::new(),
            seq: journal.map_or(0, |j| j.head().0),
        }
    }

    /// Counts a predicted broadcast as aired, in full.
    pub fn record(&mut self, due: &Due, prepared: &Prepared) {
        if !due.manual {
            self.sessions.push(due.at);
        }
        for e in prepared.entries.iter().filter(|e| e.playable.is_some()) {
            self.seq += 1;
            self.last.insert(e.plan.rel.clone(), self.seq);
            *self
                .aired
                .entry((e.plan.rel.clone(), e.plan.sha256.clone()))
                .or_default() += 1;
        }
    }
}

fn under(folder: &str, rel: &str) -> bool {
    rel.strip_prefix(folder)
        .is_some_and(|rest| rest.starts_with('/'))
}

impl Ledger for Forecast<'_> {
    fn sessions(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<i64, JournalError> {
        let journaled = match self.journal {
            Some(j) => j.sessions_between(from, to)?,
            None => 0,
        };
        let predicted = self
            .sessions
            .iter()
            .filter(|t| **t >= from && **t < to)
            .count();
        Ok(journaled + predicted as i64)
    }

    fn queue_history(&self, folder: &str) -> Result<QueueHistory, JournalError> {
        let mut h = match self.journal {
            Some(j) => j.queue_history(folder)?,
            None => QueueHistory::default(),
        };
        for (rel, seq) in self.last.iter().filter(|(rel, _)| under(folder, rel)) {
            h.last.insert(rel.clone(), *seq);
        }
        for (key, n) in self.aired.iter().filter(|((rel, _), _)| under(folder, rel)) {
            *h.aired.entry(key.clone()).or_default() += n;
        }
        Ok(h)
    }
}

/// How a queue airs on a given day: its mode, its topic, and what history says of its clips.
pub struct QueueRules<'a> {
    pub mode: Mode,
    /// The queue's own topic (`queue.toml`), over the slot's.
    pub topic: Option<String>,
    /// The occurrence's local date, for clips' `from` / `until`, and its instant, for an
    /// `until` written to the second (a bulletin's end).
    pub date: NaiveDate,
    pub at: DateTime<Utc>,
    pub history: &'a QueueHistory,
}

impl<'a> QueueRules<'a> {
    /// The rules a queue folder airs by on `date`: the slot's own `mode` over the folder's
    /// `queue.toml`, whose topic the clips take. `Err` holds that file's rendered errors: the
    /// queue does not air on guesses. The one place a queue's rules are made.
    pub fn for_folder(
        catalog: &Catalog,
        folder: &str,
        slot_mode: Option<Mode>,
        (date, at): (NaiveDate, DateTime<Utc>),
        history: &'a QueueHistory,
    ) -> Result<QueueRules<'a>, Vec<String>> {
        let settings = catalog.queue_settings(folder)?;
        Ok(QueueRules {
            mode: slot_mode.or(settings.mode).unwrap_or_default(),
            topic: settings.topic,
            date,
            at,
            history,
        })
    }

    /// How many times this clip may air in all, if limited (its sidecar's `times` first).
    pub fn limit(&self, clip: &Clip) -> Option<u32> {
        clip.meta
            .as_ref()
            .ok()
            .and_then(|m| m.times)
            .or(self.mode.limit())
    }

    pub fn aired(&self, clip: &Clip) -> i64 {
        clip.info()
            .and_then(|i| {
                self.history
                    .aired
                    .get(&(clip.rel.clone(), i.sha256.clone()))
            })
            .copied()
            .unwrap_or(0)
    }

    /// Whether the clip has aired as often as it should: due to be retired.
    pub fn spent(&self, clip: &Clip) -> bool {
        self.limit(clip)
            .is_some_and(|n| self.aired(clip) >= i64::from(n))
    }

    /// Why a clip of the queue cannot air today, if it cannot.
    pub fn hold(&self, clip: &Clip) -> Option<Hold> {
        let Ok(meta) = &clip.meta else {
            return Some(Hold::BadMetadata);
        };
        if clip.info().is_none() {
            return Some(Hold::NotReady);
        }
        match meta.window(self.date) {
            Err(Window::NotYet) => return Some(Hold::NotYet),
            Err(Window::Expired) => return Some(Hold::Expired),
            Ok(()) if meta.ended(self.at) => return Some(Hold::Expired),
            Ok(()) => {}
        }
        if self.spent(clip) {
            return Some(Hold::Spent);
        }
        None
    }

    /// The next `take` clips of the queue folder: `priority` clips first, then least
    /// recently aired (never aired first of all), then by name; clips outside their dates,
    /// spent, or not ready are passed over. Rotation follows the journal, so it survives
    /// restarts.
    pub fn pick(&self, catalog: &Catalog, folder: &str, take: usize) -> Vec<ClipRef> {
        type Ranked<'c> = (std::cmp::Reverse<Priority>, Option<i64>, &'c Clip);
        let mut ready: Vec<Ranked<'_>> = catalog
            .queue(folder)
            .filter(|c| self.hold(c).is_none())
            .map(|c| {
                let priority = c
                    .meta
                    .as_ref()
                    .ok()
                    .and_then(|m| m.priority)
                    .unwrap_or_default();
                (
                    std::cmp::Reverse(priority),
                    self.history.last.get(&c.rel).copied(),
                    c,
                )
            })
            .collect();
        ready.sort_by(|a, b| (a.0, a.1, &a.2.rel).cmp(&(b.0, b.1, &b.2.rel)));
        ready
            .into_iter()
            .take(take)
            .map(|(_, _, c)| ClipRef {
                rel: c.rel.clone(),
                topic: c
                    .meta
                    .as_ref()
                    .ok()
                    .and_then(|m| m.topic.clone())
                    .or_else(|| self.topic.clone()),
            })
            .collect()
    }
}

/// Why a queue clip is not picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    NotReady,
    BadMetadata,
    NotYet,
    Expired,
    Spent,
}

/// Everything a plan reads of the station as it stands.
pub struct Planner<'a> {
    pub config: &'a Config,
    pub catalog: &'a Catalog,
    pub probes: &'a ProbeCache,
}

impl<'a> Planner<'a> {
    /// The planner of a station: its configuration, its audio folder as seen now, its clips'
    /// measurements.
    pub fn new(config: &'a Config, catalog: &'a Catalog, probes: &'a ProbeCache) -> Self {
        Planner {
            config,
            catalog,
            probes,
        }
    }

    /// Plans one occurrence. `schedule_sha256` is the version of the schedule it belongs to,
    /// as the journal records it.
    pub fn plan(
        &self,
        ledger: &impl Ledger,
        due: &Due,
        schedule_sha256: Option<String>,
    ) -> Result<Planned, JournalError> {
        if let Some(reason) = self.guard(ledger, due)? {
            return Ok(Planned::Held(reason));
        }
        let (picks, unreadable_queue) = match &due.slot.queue {
            None => (Vec::new(), None),
            Some(q) => {
                let history = ledger.queue_history(&q.folder)?;
                let date = due.at.with_timezone(&self.config.timezone).date_naive();
                match QueueRules::for_folder(
                    self.catalog,
                    &q.folder,
                    q.mode,
                    (date, due.at),
                    &history,
                ) {
                    Err(_) => (Vec::new(), Some(q.folder.clone())),
                    Ok(rules) => (rules.pick(self.catalog, &q.folder, q.take), None),
                }
            }
        };
        let loudness = self.config.loudness;
        let assembly = Assembly {
            // An emergency airs whole: the station's cap is for routine sessions.
            max_minutes: (due.slot.priority < Priority::Emergency)
                .then_some(self.config.guards.max_session_minutes)
                .flatten(),
            loudness_target: loudness.normalize.then_some(loudness.target),
            audio_dir: &self.config.audio_dir,
            probes: self.probes,
            schedule_sha256,
            lang: self.config.language,
        };
        let mut prepared = assembly.prepare(&due.slot, due.at, due.manual, &picks);
        prepared.unreadable_queue = unreadable_queue;
        Ok(Planned::Airs(prepared))
    }

    /// The station's guards: quiet hours and sessions a day keep a planned broadcast off the
    /// air (emergencies and a file handed over to air now are exempt; a live occurrence is not:
    /// a voice is held to the station's hours as its schedule is).
    fn guard(&self, ledger: &impl Ledger, due: &Due) -> Result<Option<Reason>, JournalError> {
        let guards = self.config.guards;
        let live = crate::broadcast::is_live(due.manual, &due.slot.id);
        if (due.manual && !live) || due.slot.priority >= Priority::Emergency {
            return Ok(None);
        }
        let tz = self.config.timezone;
        let local = due.at.with_timezone(&tz);
        if guards.is_quiet(local.time()) {
            return Ok(Some(Reason::QuietHours {
                hours: guards.quiet_text(),
            }));
        }
        if let Some(max) = guards.max_sessions_per_day {
            let day = crate::report::Period::Days {
                from: local.date_naive(),
                to: local.date_naive(),
            };
            let (start, end) = day.bounds(tz);
            if ledger.sessions(start, end)? >= i64::from(max) {
                return Ok(Some(Reason::SessionLimit { per_day: max }));
            }
        }
        Ok(None)
    }

    /// What the schedules will air in `(after, until]`, in airing order, each occurrence
    /// planned after the ones before it as the daemon will plan it; at most `limit` of them.
    pub fn forecast(
        &self,
        schedules: &Schedules,
        journal: Option<&Journal>,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(Due, Planned)>, JournalError> {
        let mut ledger = Forecast::new(journal);
        let mut out = Vec::new();
        for o in recurrence::first(schedules.slots(), self.config.timezone, after, until, limit) {
            let due = Due {
                slot: o.slot.clone(),
                at: o.at,
                manual: false,
                schedule_sha256: None,
            };
            let sha = schedules
                .files
                .iter()
                .find(|f| f.plan.id == due.slot.plan)
                .map(|f| f.sha256.clone());
            let planned = self.plan(&ledger, &due, sha)?;
            if let Planned::Airs(p) = &planned {
                ledger.record(&due, p);
            }
            out.push((due, planned));
        }
        Ok(out)
    }
}

/// One planned occurrence as data: the one shape `loaxa next --format json` and the
/// console's `/api/timetable` give.
#[derive(serde::Serialize)]
pub struct ForecastRow<'a> {
    pub at: DateTime<Utc>,
    pub plan: &'a str,
    pub slot: &'a str,
    pub title: &'a str,
    pub priority: crate::schedule::Priority,
    /// Why a guard keeps it off the air, if one does.
    pub held: Option<&'a crate::journal::Reason>,
    /// What it airs, in order; a clip that will be skipped says why.
    pub clips: Vec<ForecastClip<'a>>,
    /// Clips left out because the minutes ran out.
    pub did_not_fit: &'a [String],
}

#[derive(serde::Serialize)]
pub struct ForecastClip<'a> {
    pub rel: &'a str,
    pub role: crate::journal::Role,
    pub duration_ms: u64,
    pub skip: Option<&'a crate::journal::Reason>,
}

impl<'a> ForecastRow<'a> {
    /// Every occurrence of a forecast, as rows.
    pub fn all(ahead: &'a [(Due, Planned)]) -> Vec<ForecastRow<'a>> {
        ahead
            .iter()
            .map(|(due, planned)| {
                let (held, clips, did_not_fit) = match planned {
                    Planned::Held(reason) => (Some(reason), Vec::new(), &[][..]),
                    Planned::Airs(p) => (
                        None,
                        p.entries
                            .iter()
                            .map(|e| ForecastClip {
                                rel: &e.plan.rel,
                                role: e.plan.role,
                                duration_ms: e.plan.duration_ms,
                                skip: e.skip.as_ref(),
                            })
                            .collect(),
                        &p.did_not_fit[..],
                    ),
                };
                ForecastRow {
                    at: due.at,
                    plan: &due.slot.plan,
                    slot: &due.slot.id,
                    title: &due.slot.title,
                    priority: due.slot.priority,
                    held,
                    clips,
                    did_not_fit,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests_support::wav;
    use crate::lang::Lang;
    use std::sync::Arc;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    /// A queue folder `q/` with these clips (name, sidecar text).
    fn queue(clips: &[(&str, &str)]) -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().unwrap();
        for (name, sidecar) in clips {
            wav(&dir.path().join("q").join(name));
            if !sidecar.is_empty() {
                let side = dir.path().join("q").join(name).with_extension("toml");
                std::fs::write(side, sidecar).unwrap();
            }
        }
        let mut catalog =
            Catalog::new(dir.path(), Arc::new(ProbeCache::default()), Lang::En, false);
        catalog.settle_now();
        (dir, catalog)
    }

    fn picks(catalog: &Catalog, rules: &QueueRules<'_>, take: usize) -> Vec<String> {
        rules
            .pick(catalog, "q", take)
            .into_iter()
            .map(|c| c.rel)
            .collect()
    }

    #[test]
    fn priority_clips_first_then_never_aired_then_least_recently_aired_then_by_name() {
        let (_dir, catalog) = queue(&[
            ("a.wav", ""),
            ("b.wav", ""),
            ("c.wav", ""),
            ("d.wav", "priority = \"priority\"\n"),
            ("e.wav", ""),
        ]);
        let mut history = QueueHistory::default();
        // a aired last, c before it; b and e never.
        history.last.insert("q/c.wav".into(), 10);
        history.last.insert("q/a.wav".into(), 20);
        let rules = QueueRules {
            mode: Mode::Rotate,
            topic: None,
            date: date("2025-09-01"),
            at: Utc::now(),
            history: &history,
        };
        assert_eq!(
            picks(&catalog, &rules, 5),
            ["q/d.wav", "q/b.wav", "q/e.wav", "q/c.wav", "q/a.wav"]
        );
        assert_eq!(picks(&catalog, &rules, 2), ["q/d.wav", "q/b.wav"]);
    }

    #[test]
    fn dates_and_counts_hold_clips_back() {
        let (_dir, catalog) = queue(&[
            ("som.wav", "from = 2025-09-05\n"),
            ("het.wav", "until = 2025-08-31\n"),
            ("hai.wav", "times = 2\n"),
            ("mot.wav", ""),
        ]);
        let sha = |rel: &str| {
            catalog
                .get(rel)
                .and_then(|c| c.info())
                .map(|i| i.sha256.clone())
                .unwrap_or_default()
        };
        let mut history = QueueHistory::default();
        history
            .aired
            .insert(("q/hai.wav".into(), sha("q/hai.wav")), 2);
        history
            .aired
            .insert(("q/mot.wav".into(), sha("q/mot.wav")), 1);
        let on = |day: &str, mode: Mode| {
            let rules = QueueRules {
                mode,
                topic: None,
                date: date(day),
                at: Utc::now(),
                history: &history,
            };
            picks(&catalog, &rules, 9)
        };
        // Rotate: only the sidecar's `times` limits; the dates always hold.
        assert_eq!(on("2025-09-01", Mode::Rotate), ["q/mot.wav"]);
        assert_eq!(on("2025-09-05", Mode::Rotate), ["q/mot.wav", "q/som.wav"]);
        // Once: the clip that aired once is spent too.
        assert_eq!(on("2025-09-05", Mode::Times(1)), ["q/som.wav"]);
        let rules = QueueRules {
            mode: Mode::Times(1),
            topic: None,
            date: date("2025-09-01"),
            at: Utc::now(),
            history: &history,
        };
        let hold = |rel: &str| catalog.get(rel).and_then(|c| rules.hold(c));
        assert_eq!(hold("q/som.wav"), Some(Hold::NotYet));
        assert_eq!(hold("q/het.wav"), Some(Hold::Expired));
        assert_eq!(hold("q/hai.wav"), Some(Hold::Spent));
        assert_eq!(hold("q/mot.wav"), Some(Hold::Spent));
    }

    #[test]
    fn a_clip_takes_its_sidecar_topic_over_the_queue_topic() {
        let (_dir, catalog) = queue(&[("a.wav", "topic = \"b\"\n"), ("c.wav", "")]);
        let history = QueueHistory::default();
        let rules = QueueRules {
            mode: Mode::Rotate,
            topic: Some("q".into()),
            date: date("2025-09-01"),
            at: Utc::now(),
            history: &history,
        };
        let topics: Vec<_> = rules
            .pick(&catalog, "q", 2)
            .into_iter()
            .map(|c| c.topic)
            .collect();
        assert_eq!(topics, [Some("b".to_string()), Some("q".to_string())]);
    }
}
