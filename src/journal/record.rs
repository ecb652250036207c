//! An occurrence's record, folded from its events (started, each clip's result, how it
//! ended), and the figures the log and the report read from the records.

use super::*;

/// Occurrences of one plan/slot/topic that ended one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeCount {
    pub plan: String,
    pub slot: String,
    pub topic: Option<String>,
    pub outcome: Option<Outcome>,
    pub count: i64,
}

/// An occurrence that did not air in full, as its last event tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    pub info: OccurrenceInfo,
    /// `None`: started but not ended.
    pub outcome: Option<Outcome>,
    pub reason: Option<Reason>,
}

/// One clip's airings within one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipFigure {
    pub plan: String,
    pub slot: String,
    pub topic: Option<String>,
    pub clip: String,
    pub sha256: String,
    pub aired_in_full: i64,
    pub played_ms: i64,
    pub dead_air: i64,
}

/// One clip's line in an occurrence record.
#[derive(Debug, Clone, Serialize)]
pub struct ClipRecord {
    pub rel: String,
    pub role: Role,
    pub topic: Option<String>,
    pub sha256: String,
    pub duration_ms: u64,
    pub played_ms: u64,
    pub outcome: Option<Outcome>,
    pub reason: Option<Reason>,
    pub levels: Option<Levels>,
    /// For a relay: what came from the source, the gaps, the fallback, the errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<Box<RelayAired>>,
}

/// Everything the journal says about one occurrence.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    #[serde(flatten)]
    pub info: OccurrenceInfo,
    pub output: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `None` while a broadcast is on air (or was cut by a crash not yet recovered).
    pub outcome: Option<Outcome>,
    pub reason: Option<Reason>,
    pub clips: Vec<ClipRecord>,
    /// What the stream for IP loudspeakers carried of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamFacts>,
}

/// Folds events into per-occurrence records, in order of first appearance.
pub fn fold(events: impl Iterator<Item = Event>) -> Vec<Record> {
    let mut order: Vec<String> = Vec::new();
    let mut by_key: BTreeMap<String, Record> = BTreeMap::new();
    for e in events {
        match e {
            Event::BroadcastStarted {
                occurrence,
                output,
                clips,
            } => {
                order.push(occurrence.key.clone());
                by_key.insert(
                    occurrence.key.clone(),
                    Record {
                        info: occurrence,
                        output: Some(output),
                        started_at: None,
                        ended_at: None,
                        outcome: None,
                        reason: None,
                        stream: None,
                        clips: clips
                            .into_iter()
                            .map(|c| ClipRecord {
                                rel: c.rel,
                                role: c.role,
                                topic: c.topic,
                                levels: None,
                                sha256: c.sha256,
                                duration_ms: c.duration_ms,
                                played_ms: 0,
                                outcome: None,
                                reason: None,
                                relay: None,
                            })
                            .collect(),
                    },
                );
            }
            Event::OccurrenceMissed { occurrence, reason } => {
                order.push(occurrence.key.clone());
                by_key.insert(
                    occurrence.key.clone(),
                    Record {
                        info: occurrence,
                        output: None,
                        started_at: None,
                        ended_at: None,
                        outcome: Some(Outcome::Missed),
                        reason: Some(reason),
                        clips: Vec::new(),
                        stream: None,
                    },
                );
            }
            Event::ClipAired {
                occurrence,
                index,
                played_ms,
                outcome,
                reason,
                rel,
                sha256,
                duration_ms,
                levels,
                topic,
                ..
            } => {
                if let Some(r) = by_key.get_mut(&occurrence) {
                    if let Some(c) = r.clips.get_mut(index) {
                        c.played_ms = played_ms;
                        c.outcome = Some(outcome);
                        c.reason = reason;
                        c.levels = levels;
                    } else {
                        r.clips.push(ClipRecord {
                            rel,
                            role: Role::Clip,
                            topic,
                            levels,
                            sha256,
                            duration_ms,
                            played_ms,
                            outcome: Some(outcome),
                            reason,
                            relay: None,
                        });
                    }
                }
            }
            Event::RelayAired(relay) => {
                if let Some(r) = by_key.get_mut(&relay.occurrence) {
                    if let Some(c) = r.clips.get_mut(relay.index) {
                        // What came from the source: fallback and silence are shown apart.
                        c.played_ms = relay.relayed_ms;
                        c.outcome = Some(relay.outcome);
                        c.reason = relay.reason.clone();
                        c.levels = relay.levels;
                        c.relay = Some(relay);
                    }
                }
            }
            Event::BroadcastEnded {
                occurrence,
                outcome,
                reason,
                started_at,
                ended_at,
                stream,
            } => {
                if let Some(r) = by_key.get_mut(&occurrence.key) {
                    r.outcome = Some(outcome);
                    r.reason = reason;
                    r.started_at = started_at;
                    r.ended_at = Some(ended_at);
                    r.stream = stream;
                }
            }
            _ => {}
        }
    }
    order
        .into_iter()
        .filter_map(|k| by_key.remove(&k))
        .collect()
}
