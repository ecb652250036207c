//! One broadcast from plan to journal: which clips an occurrence airs (fixed files, the next
//! clips of a queue, intro and outro, within the slot's minutes), and, once the output is
//! done, the verdict on each clip and on the whole, as journal events. A clip is `completed`
//! only if the samples handed to the output match its measured length.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::audio::{AirReport, ItemAudio, OutputError, PlannedItem};
use crate::journal::{ClipPlan, Event, OccurrenceInfo, Outcome, Reason, Role};
use crate::library::{self, ClipError, ProbeCache};
use crate::recurrence::occurrence_key;
use crate::schedule::{ClipRef, Slot};

/// The slot of a live occurrence (`loaxa live`, the console's Live buttons), aired by hand.
pub const LIVE_SLOT: &str = "live";

/// Whether an occurrence (aired by hand or not, its slot) is a live one.
pub fn is_live(manual: bool, slot: &str) -> bool {
    manual && slot == LIVE_SLOT
}

/// A clip of the broadcast as planned: playable, or skipped with a reason.
#[derive(Debug, Clone)]
pub struct Entry {
    pub plan: ClipPlan,
    pub playable: Option<PlannedItem>,
    pub skip: Option<Reason>,
}

/// A broadcast ready to air.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub info: OccurrenceInfo,
    pub entries: Vec<Entry>,
    pub did_not_fit: Vec<String>,
    /// The slot's queue folder, when its `queue.toml` has errors and it added nothing.
    pub unreadable_queue: Option<String>,
}

impl Prepared {
    pub fn playable(&self) -> Vec<PlannedItem> {
        self.entries
            .iter()
            .filter_map(|e| e.playable.clone())
            .collect()
    }

    pub fn duration_ms(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.playable.is_some())
            .map(|e| e.plan.duration_ms)
            .sum()
    }
}

/// What the journal records of an occurrence. A manual airing (`play`, a rehearsal) is keyed
/// to the millisecond, so two in one second stay two.
pub fn occurrence_info(
    slot: &Slot,
    at: DateTime<Utc>,
    manual: bool,
    schedule_sha256: Option<String>,
) -> OccurrenceInfo {
    let key = if manual {
        format!(
            "manual/{}/{}@{}",
            slot.plan,
            slot.id,
            at.format("%Y-%m-%dT%H:%M:%S%.3fZ")
        )
    } else {
        occurrence_key(&slot.plan, &slot.id, at)
    };
    OccurrenceInfo {
        key,
        plan: slot.plan.clone(),
        slot: slot.id.clone(),
        title: slot.title.clone(),
        topic: slot.topic.clone(),
        priority: slot.priority,
        scheduled_at: at,
        manual,
        schedule_sha256,
    }
}

/// Everything needed to assemble one occurrence of a slot from its clips (see
/// [`crate::planner`] for deciding which clips those are).
pub struct Assembly<'a> {
    pub audio_dir: &'a Path,
    pub probes: &'a ProbeCache,
    pub schedule_sha256: Option<String>,
    /// Bring each clip to this loudness (LUFS) by gain, if set.
    pub loudness_target: Option<f64>,
    /// The station's cap on a session's minutes, on top of the slot's own.
    pub max_minutes: Option<u32>,
    /// The station's language, for reasons journaled as text.
    pub lang: crate::lang::Lang,
}

impl Assembly<'_> {
    fn entry(&self, rel: &str, role: Role, topic: Option<String>, volume: f32) -> Entry {
        let path = library::resolve(self.audio_dir, rel).filter(|p| p.is_file());
        // A province's bulletin says so in its sidecar (written by `loaxa sync`).
        let bulletin = path.as_ref().and_then(|p| {
            let sidecar = crate::sidecar::sidecar_path(p);
            let text = std::fs::read_to_string(&sidecar).ok()?;
            crate::sidecar::parse_clip(&sidecar, &text, self.lang)
                .ok()?
                .bulletin
        });
        let plan = |sha256: String, duration_ms, gain_db| ClipPlan {
            rel: rel.to_string(),
            sha256,
            duration_ms,
            role,
            topic: topic.clone(),
            gain_db,
            bulletin,
        };
        let Some(path) = path else {
            return Entry {
                plan: plan(String::new(), 0, None),
                playable: None,
                skip: Some(Reason::MissingFile(rel.to_string())),
            };
        };
        if let Some(reason) = library::refusal(self.audio_dir, &path, self.lang) {
            return Entry {
                plan: plan(String::new(), 0, None),
                playable: None,
                skip: Some(Reason::DamagedFile {
                    file: rel.to_string(),
                    reason,
                }),
            };
        }
        match self.probes.probe(&path) {
            Ok(info) => {
                let gain_db = self
                    .loudness_target
                    .map(|t| library::normalising_gain_db(&info, t));
                let gain = volume * 10f32.powf(gain_db.unwrap_or(0.0) as f32 / 20.0);
                Entry {
                    plan: plan(info.sha256.clone(), info.duration_ms, gain_db),
                    playable: Some(PlannedItem {
                        rel: rel.to_string(),
                        duration_ms: info.duration_ms,
                        gain,
                        channels: info.channels,
                        sample_rate: info.sample_rate,
                        audio: ItemAudio::File {
                            path,
                            sha256: info.sha256,
                        },
                    }),
                    skip: None,
                }
            }
            Err(ClipError::Unreadable { reason, .. } | ClipError::Undecodable { reason, .. }) => {
                Entry {
                    plan: plan(String::new(), 0, None),
                    playable: None,
                    skip: Some(Reason::DamagedFile {
                        file: rel.to_string(),
                        reason,
                    }),
                }
            }
        }
    }

    /// A relay slot's relay as one entry, with its fallback clips resolved (those that will
    /// not play are left out: a gap then falls to the next, or to silence).
    fn relay_entry(&self, slot: &Slot, r: &crate::schedule::RelaySlot) -> Entry {
        let mut fallback = Vec::new();
        for f in &r.fallback {
            match f {
                crate::schedule::FallbackRef::Clip(c) => {
                    fallback.extend(self.entry(&c.rel, Role::Clip, None, slot.volume).playable);
                }
                crate::schedule::FallbackRef::Folder(folder) => {
                    let mut names: Vec<String> = library::resolve(self.audio_dir, folder)
                        .and_then(|dir| std::fs::read_dir(dir).ok())
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .filter(|n| library::has_audio_extension(n) && !n.starts_with('.'))
                        .collect();
                    names.sort();
                    for n in names {
                        let rel = format!("{folder}/{n}");
                        fallback.extend(self.entry(&rel, Role::Clip, None, slot.volume).playable);
                    }
                }
            }
        }
        let duration_ms = r.duration_ms;
        let format = crate::audio::Format::default();
        // Shown and journaled without the credentials an address may carry.
        let shown = r.source.to_string();
        Entry {
            plan: ClipPlan {
                rel: shown.clone(),
                sha256: String::new(),
                duration_ms,
                role: Role::Relay,
                topic: slot.topic.clone(),
                gain_db: None,
                bulletin: None,
            },
            playable: Some(PlannedItem {
                rel: shown.clone(),
                duration_ms,
                gain: slot.volume,
                channels: format.channels,
                sample_rate: format.sample_rate,
                audio: ItemAudio::Relay(crate::audio::RelayItem {
                    source: shown,
                    fallback,
                    feed: None,
                }),
            }),
            skip: None,
        }
    }

    /// Plans the occurrence of `slot` at `at`. `queue_picks` are the queue clips chosen for it.
    pub fn prepare(
        &self,
        slot: &Slot,
        at: DateTime<Utc>,
        manual: bool,
        queue_picks: &[ClipRef],
    ) -> Prepared {
        let info = occurrence_info(slot, at, manual, self.schedule_sha256.clone());
        let make = |c: &ClipRef, role: Role| {
            let topic = c.topic.clone().or_else(|| slot.topic.clone());
            self.entry(&c.rel, role, topic, slot.volume)
        };
        let intro = slot.intro.as_ref().map(|c| make(c, Role::Intro));
        let outro = slot.outro.as_ref().map(|c| make(c, Role::Outro));
        let mut body: Vec<Entry> = slot.play.iter().map(|c| make(c, Role::Clip)).collect();
        if let Some(r) = &slot.relay {
            body.push(self.relay_entry(slot, r));
        }
        body.extend(queue_picks.iter().map(|c| {
            let topic = c.topic.clone().or_else(|| slot.topic.clone());
            self.entry(&c.rel, Role::Queue, topic, slot.volume)
        }));

        // The slot's cap: intro and outro always frame the session; body clips are taken in
        // order while they fit.
        let mut did_not_fit = Vec::new();
        let cap = match (slot.max_minutes, self.max_minutes) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(max) = cap {
            let budget = u64::from(max) * 60_000;
            let frame: u64 = intro
                .iter()
                .chain(outro.iter())
                .map(|e| e.plan.duration_ms)
                .sum();
            let mut used = frame;
            // A relay is cut to what is left rather than dropped.
            for e in body.iter_mut().filter(|e| e.plan.role == Role::Relay) {
                let left = budget.saturating_sub(used).max(60_000);
                if e.plan.duration_ms > left {
                    did_not_fit.push(e.plan.rel.clone());
                    e.plan.duration_ms = left;
                    if let Some(p) = e.playable.as_mut() {
                        p.duration_ms = left;
                    }
                }
            }
            body.retain(|e| {
                if e.playable.is_none() || e.plan.role == Role::Relay {
                    return true;
                }
                if used + e.plan.duration_ms <= budget {
                    used += e.plan.duration_ms;
                    true
                } else {
                    did_not_fit.push(e.plan.rel.clone());
                    false
                }
            });
        }
        let mut entries = Vec::new();
        entries.extend(intro);
        entries.extend(body);
        entries.extend(outro);
        // A resumed relay gets what is left of its slot once the rest is counted.
        if let Some(until) = slot.relay.as_ref().and_then(|r| r.until) {
            let others: u64 = entries
                .iter()
                .filter(|e| e.plan.role != Role::Relay && e.playable.is_some())
                .map(|e| e.plan.duration_ms)
                .sum();
            let left = ((until - at).num_milliseconds().max(0) as u64).saturating_sub(others);
            for e in entries.iter_mut().filter(|e| e.plan.role == Role::Relay) {
                e.plan.duration_ms = left;
                if let Some(p) = e.playable.as_mut() {
                    p.duration_ms = left;
                }
            }
        }
        Prepared {
            info,
            entries,
            did_not_fit,
            unreadable_queue: None,
        }
    }
}

/// The `broadcast_started` event: written before the first sample.
pub fn started_event(p: &Prepared, output: &str) -> Event {
    Event::BroadcastStarted {
        occurrence: p.info.clone(),
        output: output.to_string(),
        clips: p.entries.iter().map(|e| e.plan.clone()).collect(),
    }
}

/// Tolerance for "played in full": resampling to the device rate can round a few frames.
fn aired_in_full(played_ms: u64, duration_ms: u64) -> bool {
    played_ms + 30 + duration_ms / 500 >= duration_ms
}

/// Turns the output's report into journal events: one per clip, then how the broadcast ended.
/// `stopped` is why loaxa itself cut the broadcast short, if it did.
pub fn verdict(
    p: &Prepared,
    report: &AirReport,
    stopped: Option<Reason>,
    now: DateTime<Utc>,
) -> Vec<Event> {
    let key = &p.info.key;
    let device_reason = report.aired.error.as_ref().map(|e| match e {
        OutputError::NoDevice(name) => Reason::NoDevice(name.clone().unwrap_or_default()),
        OutputError::Open(detail) => Reason::NoDevice(detail.clone()),
        OutputError::Device(detail) => Reason::DeviceError(detail.clone()),
        OutputError::File { .. } => Reason::DeviceError(e.to_string()),
    });
    let open_errors: Vec<(usize, String)> = report
        .state
        .as_ref()
        .and_then(|s| s.open_errors.lock().ok().map(|e| e.clone()))
        .unwrap_or_default();

    let mut events = Vec::new();
    let mut program_index = 0;
    let (mut completed, mut played_any, mut skipped) = (0usize, false, 0usize);
    let mut ended_early = false;
    let mut relay_short: Option<Option<Reason>> = None;
    // Whether anything real went out: a clip, or a relay's source (a relay whose source
    // gave nothing airs its fallback or silence, and that is not the broadcast).
    let mut substance = false;
    for (index, e) in p.entries.iter().enumerate() {
        let (played_ms, outcome, reason) = match (&e.playable, &e.skip) {
            (None, skip) => {
                skipped += 1;
                (0, Outcome::Failed, skip.clone())
            }
            (Some(clip), _) => {
                let k = program_index;
                program_index += 1;
                let played = report.state.as_ref().map_or(0, |s| s.played_ms(k));
                if let Some((_, why)) = open_errors.iter().find(|(i, _)| *i == k) {
                    skipped += 1;
                    (
                        0,
                        Outcome::Failed,
                        Some(Reason::DamagedFile {
                            file: clip.rel.clone(),
                            reason: why.clone(),
                        }),
                    )
                } else if aired_in_full(played, clip.duration_ms) {
                    completed += 1;
                    played_any = true;
                    (played, Outcome::Completed, None)
                } else {
                    played_any |= played > 0;
                    if let (Some(r @ Reason::LiveEnded { .. }), true) = (&stopped, played > 0) {
                        // A live occurrence is as long as whoever spoke made it: ended by
                        // them, it aired in full.
                        completed += 1;
                        (played, Outcome::Completed, Some(r.clone()))
                    } else if let Some(r) = &stopped {
                        (played, Outcome::Interrupted, Some(r.clone()))
                    } else if let Some(r) = &device_reason {
                        (
                            played,
                            if played > 0 {
                                Outcome::Partial
                            } else {
                                Outcome::Failed
                            },
                            Some(r.clone()),
                        )
                    } else {
                        ended_early = true;
                        (
                            played,
                            if played > 0 {
                                Outcome::Partial
                            } else {
                                Outcome::Failed
                            },
                            Some(Reason::EndedEarly),
                        )
                    }
                }
            }
        };
        let levels = e
            .playable
            .as_ref()
            .and(report.state.as_ref())
            .and_then(|s| s.levels(program_index.saturating_sub(1)));
        if let Some(relay) = e.playable.as_ref().and_then(PlannedItem::relay) {
            let aired = relay_verdict(&p.info, index, e, relay, played_ms, outcome, reason, levels);
            substance |= aired.relayed_ms > 0;
            if aired.outcome != Outcome::Completed && outcome == Outcome::Completed {
                completed -= 1;
                relay_short = Some(aired.reason.clone());
            }
            events.push(Event::RelayAired(Box::new(aired)));
            continue;
        }
        substance |= played_ms > 0;
        events.push(Event::ClipAired {
            occurrence: key.clone(),
            scheduled_at: p.info.scheduled_at,
            topic: e.plan.topic.clone(),
            levels,
            index,
            rel: e.plan.rel.clone(),
            sha256: e.plan.sha256.clone(),
            duration_ms: e.plan.duration_ms,
            played_ms,
            outcome,
            reason,
            bulletin: e.plan.bulletin,
        });
    }

    let total = p.entries.len();
    let (outcome, reason) = if total == 0 {
        (Outcome::Failed, Some(Reason::NothingToPlay))
    } else if completed == total && p.did_not_fit.is_empty() {
        // Who ended a live occurrence is said with it.
        (
            Outcome::Completed,
            stopped.filter(|r| matches!(r, Reason::LiveEnded { .. })),
        )
    } else if let Some(r) = stopped {
        (Outcome::Interrupted, Some(r))
    } else if !played_any {
        let r = device_reason.or_else(|| p.entries.iter().find_map(|e| e.skip.clone()));
        (Outcome::Failed, r.or(Some(Reason::NothingToPlay)))
    } else if let Some(r) = device_reason {
        (Outcome::Partial, Some(r))
    } else if !substance {
        // Only fallback or silence went out: the broadcast failed, for its relay's reason.
        (
            Outcome::Failed,
            relay_short.flatten().or(Some(Reason::NothingToPlay)),
        )
    } else if let Some(r) = relay_short {
        (Outcome::Partial, r)
    } else if skipped > 0 {
        (
            Outcome::Partial,
            Some(Reason::ClipsSkipped { count: skipped }),
        )
    } else if !p.did_not_fit.is_empty() {
        (
            Outcome::Partial,
            Some(Reason::DidNotFit {
                clips: p.did_not_fit.clone(),
            }),
        )
    } else if ended_early {
        (Outcome::Partial, Some(Reason::EndedEarly))
    } else {
        (Outcome::Partial, None)
    };
    events.push(Event::BroadcastEnded {
        occurrence: p.info.clone(),
        outcome,
        reason,
        started_at: report.aired.started_at,
        ended_at: now,
        stream: None,
    });
    events
}

/// A relay's own verdict: `completed` only if the whole slot came from the source and it
/// was not silence. The output's verdict (`outcome`, from the samples handed over) comes
/// first: a relay cut short is interrupted or partial whatever the source did.
#[allow(clippy::too_many_arguments)]
fn relay_verdict(
    info: &OccurrenceInfo,
    index: usize,
    e: &Entry,
    relay: &crate::audio::RelayItem,
    played_ms: u64,
    outcome: Outcome,
    reason: Option<Reason>,
    levels: Option<crate::journal::Levels>,
) -> crate::journal::RelayAired {
    let facts = relay.feed.as_ref().map(|f| f.facts()).unwrap_or_default();
    let ms = |samples: u64| relay.feed.as_ref().map_or(0, |f| f.ms(samples));
    let relayed_ms = ms(facts.source_samples);
    let last_error = facts.errors.last().map(|(_, e, _)| e.clone());
    let duration_ms = e.plan.duration_ms;
    // A live occurrence is judged from when its voice first came: opening the microphone, or
    // a browser's voice reaching the station, is not a gap in what it says (the dropouts
    // still show it). Ended by whoever spoke, it is judged on what aired, not its maximum.
    let opening = if is_live(info.manual, &info.slot) {
        facts
            .gaps
            .first()
            .filter(|g| g.at_ms == 0)
            .map_or(0, |g| g.length_ms)
    } else {
        0
    };
    let expected_ms = if matches!(reason, Some(Reason::LiveEnded { .. })) {
        played_ms
    } else {
        duration_ms
    }
    .saturating_sub(opening);
    let (outcome, reason) = if outcome != Outcome::Completed {
        (outcome, reason)
    } else if relayed_ms == 0 {
        (
            Outcome::Failed,
            Some(Reason::SourceDown {
                source: relay.source.clone(),
                error: last_error.unwrap_or_else(|| "?".into()),
            }),
        )
    } else if relayed_ms + 500 < expected_ms {
        (
            Outcome::Partial,
            Some(Reason::SourceGaps {
                count: facts.gaps.len(),
                missing_ms: expected_ms.saturating_sub(relayed_ms),
                error: last_error,
            }),
        )
    } else if levels.is_some_and(|l| l.is_dead_air()) {
        (Outcome::Partial, Some(Reason::DeadAir))
    } else {
        (Outcome::Completed, reason)
    };
    crate::journal::RelayAired {
        occurrence: info.key.clone(),
        scheduled_at: info.scheduled_at,
        index,
        source: relay.source.clone(),
        topic: e.plan.topic.clone(),
        duration_ms,
        played_ms,
        relayed_ms,
        connected_at: facts.connected_at,
        reconnects: facts.connections.saturating_sub(1),
        codec: facts.codec.clone(),
        dropouts: facts
            .gaps
            .iter()
            .map(|g| crate::journal::Dropout {
                at_ms: g.at_ms,
                length_ms: g.length_ms,
            })
            .collect(),
        fallback: facts
            .fallback
            .iter()
            .map(|(rel, sha256, n)| crate::journal::FallbackAired {
                rel: rel.clone(),
                sha256: sha256.clone(),
                played_ms: ms(*n),
            })
            .collect(),
        silence_ms: ms(facts.silence_samples),
        errors: facts
            .errors
            .iter()
            .map(|(at, error, times)| crate::journal::SourceError {
                at: *at,
                error: error.clone(),
                times: *times,
            })
            .collect(),
        levels,
        outcome,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::output::Aired;
    use crate::audio::Program;
    use crate::schedule::Priority;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_756_684_800, 0).unwrap_or_default()
    }

    /// A broadcast of clips of these lengths (ms); `None` is a clip skipped before airing.
    fn prepared(clips: &[Option<u64>]) -> Prepared {
        let mut slot = Slot::ad_hoc("kh", "s", "t".into(), Priority::Normal, Vec::new());
        slot.topic = Some("a".into());
        let entries = clips
            .iter()
            .enumerate()
            .map(|(i, ms)| {
                let rel = format!("{i}.wav");
                Entry {
                    plan: ClipPlan {
                        rel: rel.clone(),
                        sha256: "00".into(),
                        duration_ms: ms.unwrap_or(0),
                        role: Role::Clip,
                        topic: None,
                        gain_db: None,
                        bulletin: None,
                    },
                    playable: ms.map(|ms| PlannedItem {
                        rel: rel.clone(),
                        duration_ms: ms,
                        gain: 1.0,
                        channels: 1,
                        sample_rate: 1000,
                        audio: ItemAudio::File {
                            path: std::path::PathBuf::from("/nonexistent").join(&rel),
                            sha256: "00".into(),
                        },
                    }),
                    skip: ms.is_none().then(|| Reason::MissingFile(rel.clone())),
                }
            })
            .collect();
        Prepared {
            info: occurrence_info(&slot, at(), false, None),
            entries,
            did_not_fit: Vec::new(),
            unreadable_queue: None,
        }
    }

    /// What the output reports after handing over `played` ms of each playable clip (at
    /// 1000 samples a second, mono), with a device error if given.
    fn report(p: &Prepared, played: &[u64], error: Option<OutputError>) -> AirReport {
        let program = Program::new(p.playable(), 1, 1000, 1.0);
        let state = program.state();
        if let Ok(mut e) = state.open_errors.lock() {
            e.clear(); // the files do not exist: only the counts below matter here
        }
        for (k, ms) in played.iter().enumerate() {
            state.samples[k].store(*ms, std::sync::atomic::Ordering::Relaxed);
        }
        AirReport {
            output: "test".into(),
            aired: Aired {
                started_at: Some(at()),
                error,
            },
            state: Some(state),
        }
    }

    fn ended(events: &[Event]) -> (Outcome, Option<Reason>) {
        match events.last() {
            Some(Event::BroadcastEnded {
                outcome, reason, ..
            }) => (*outcome, reason.clone()),
            other => panic!("no end: {other:?}"),
        }
    }

    fn clip_outcomes(events: &[Event]) -> Vec<Outcome> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::ClipAired { outcome, .. } => Some(*outcome),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_clip_out_in_full_is_completed() {
        let p = prepared(&[Some(2000), Some(1000)]);
        let events = verdict(&p, &report(&p, &[2000, 1000], None), None, at());
        assert_eq!(ended(&events), (Outcome::Completed, None));
        assert_eq!(
            clip_outcomes(&events),
            [Outcome::Completed, Outcome::Completed]
        );
    }

    #[test]
    fn a_clip_a_few_frames_short_from_resampling_still_counts_in_full() {
        let p = prepared(&[Some(60_000)]);
        let events = verdict(&p, &report(&p, &[59_960], None), None, at());
        assert_eq!(ended(&events).0, Outcome::Completed);
    }

    #[test]
    fn a_clip_that_ended_early_makes_the_broadcast_partial() {
        let p = prepared(&[Some(2000), Some(1000)]);
        let events = verdict(&p, &report(&p, &[2000, 400], None), None, at());
        assert_eq!(ended(&events), (Outcome::Partial, Some(Reason::EndedEarly)));
        assert_eq!(
            clip_outcomes(&events),
            [Outcome::Completed, Outcome::Partial]
        );
    }

    #[test]
    fn a_broadcast_loaxa_cut_is_interrupted_with_why() {
        let p = prepared(&[Some(2000), Some(1000)]);
        let why = Reason::Preempted("Tin khẩn cấp".into());
        let events = verdict(&p, &report(&p, &[1200, 0], None), Some(why.clone()), at());
        assert_eq!(ended(&events), (Outcome::Interrupted, Some(why)));
        assert_eq!(
            clip_outcomes(&events),
            [Outcome::Interrupted, Outcome::Interrupted]
        );
    }

    #[test]
    fn a_device_error_fails_what_did_not_air_and_names_the_device() {
        let p = prepared(&[Some(2000), Some(1000)]);
        let error = OutputError::Device("unplugged".into());
        let events = verdict(&p, &report(&p, &[2000, 0], Some(error)), None, at());
        assert_eq!(
            ended(&events),
            (
                Outcome::Partial,
                Some(Reason::DeviceError("unplugged".into()))
            )
        );
        assert_eq!(
            clip_outcomes(&events),
            [Outcome::Completed, Outcome::Failed]
        );
        let none = prepared(&[Some(1000)]);
        let events = verdict(
            &none,
            &report(&none, &[0], Some(OutputError::NoDevice(None))),
            None,
            at(),
        );
        assert_eq!(ended(&events).0, Outcome::Failed);
    }

    #[test]
    fn a_skipped_clip_makes_it_partial_and_nothing_to_play_fails() {
        let p = prepared(&[Some(1000), None]);
        let events = verdict(&p, &report(&p, &[1000], None), None, at());
        assert_eq!(
            ended(&events),
            (Outcome::Partial, Some(Reason::ClipsSkipped { count: 1 }))
        );
        let empty = prepared(&[]);
        let events = verdict(&empty, &AirReport::silent("test"), None, at());
        assert_eq!(
            ended(&events),
            (Outcome::Failed, Some(Reason::NothingToPlay))
        );
    }

    #[test]
    fn clips_that_did_not_fit_keep_the_broadcast_from_counting_complete() {
        let mut p = prepared(&[Some(1000)]);
        p.did_not_fit = vec!["dai.wav".into()];
        let events = verdict(&p, &report(&p, &[1000], None), None, at());
        assert_eq!(
            ended(&events),
            (
                Outcome::Partial,
                Some(Reason::DidNotFit {
                    clips: vec!["dai.wav".into()]
                })
            )
        );
    }
}
