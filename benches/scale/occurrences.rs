//! One occurrence of the province-scale journal the scale benchmarks share: a broadcast of
//! two queue clips (most completed, some partial or failed) or a missed one.

use chrono::{DateTime, Utc};
use loaxa::journal::{ClipPlan, Event, Levels, OccurrenceInfo, Outcome, Reason};

pub fn occurrence(i: u64, start: DateTime<Utc>, spacing_ms: i64) -> Vec<Event> {
    let at = start + chrono::Duration::milliseconds(i as i64 * spacing_ms);
    let slot = format!("xa-{:03}", i % 200);
    let topic = ["a", "b", "c", "d", "dd", "e"][(i % 6) as usize].to_string();
    let key = loaxa::recurrence::occurrence_key("tinh-2025", &slot, at);
    let info = OccurrenceInfo {
        key: key.clone(),
        plan: "tinh-2025".into(),
        slot: slot.clone(),
        title: format!("Bản tin xã {}", i % 200),
        topic: Some(topic.clone()),
        priority: loaxa::schedule::Priority::Normal,
        scheduled_at: at,
        manual: false,
        schedule_sha256: Some("5".repeat(64)),
    };
    let roll = i % 100;
    if roll < 4 {
        return vec![Event::OccurrenceMissed {
            occurrence: info,
            reason: Reason::NotRunning,
        }];
    }
    let clips: Vec<ClipPlan> = (0..2)
        .map(|c| ClipPlan {
            rel: format!("cchc/ban-tin-{:04}.mp3", (i + c) % 5000),
            sha256: format!("{:064x}", (i + c) % 5000),
            duration_ms: 120_000,
            role: loaxa::journal::Role::Queue,
            topic: Some(topic.clone()),
            gain_db: Some(-2.5),
            bulletin: None,
        })
        .collect();
    let outcome = match roll {
        4..=6 => Outcome::Partial,
        7 => Outcome::Failed,
        _ => Outcome::Completed,
    };
    let mut events = vec![Event::BroadcastStarted {
        occurrence: info.clone(),
        output: "default".into(),
        clips: clips.clone(),
    }];
    for (index, c) in clips.iter().enumerate() {
        let played = if outcome == Outcome::Completed || index == 0 {
            c.duration_ms
        } else {
            30_000
        };
        events.push(Event::ClipAired {
            occurrence: key.clone(),
            scheduled_at: at,
            index,
            rel: c.rel.clone(),
            sha256: c.sha256.clone(),
            topic: c.topic.clone(),
            duration_ms: c.duration_ms,
            played_ms: played,
            outcome: if played == c.duration_ms {
                Outcome::Completed
            } else {
                Outcome::Partial
            },
            reason: None,
            bulletin: None,
            levels: Some(Levels {
                peak_dbfs: -1.5,
                rms_dbfs: -18.2,
                silent_percent: 3.0,
            }),
        });
    }
    events.push(Event::BroadcastEnded {
        occurrence: info,
        outcome,
        reason: (outcome != Outcome::Completed).then(|| Reason::DeviceError("underrun".into())),
        started_at: Some(at),
        ended_at: at + chrono::Duration::minutes(4),
        stream: None,
    });
    events
}
