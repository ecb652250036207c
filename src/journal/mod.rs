//! The broadcast journal: an append-only, hash-chained log of events in SQLite. Events are
//! only ever inserted (triggers refuse UPDATE and DELETE); each carries the hash of the one
//! before it, so an edit, deletion, insertion or reordering breaks the chain. What an
//! occurrence's record says (started, each clip's result, how it ended) is derived by folding
//! its events, so a broadcast is written as started before its first sample and as ended
//! after its last, and a crash leaves a visible, unfinished record.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod facts;

pub use facts::{Action, Priority, StreamFacts, What};

use crate::hex::hex;
use crate::lang::Lang;
use crate::tr;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("journal {path}: cannot create its folder: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {path}: event {seq} is unreadable: {reason}")]
    Corrupt {
        path: PathBuf,
        seq: i64,
        reason: String,
    },
    #[error("journal {path}: written by a newer loaxa (schema {found}, this one knows {known})")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

/// How an occurrence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    Partial,
    Failed,
    Missed,
    Interrupted,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
            Outcome::Missed => "missed",
            Outcome::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "completed" => Outcome::Completed,
            "partial" => Outcome::Partial,
            "failed" => Outcome::Failed,
            "missed" => Outcome::Missed,
            "interrupted" => Outcome::Interrupted,
            _ => return None,
        })
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Outcome::Completed => lang.pick("đã phát đủ", "completed"),
            Outcome::Partial => lang.pick("phát không trọn", "partial"),
            Outcome::Failed => lang.pick("thất bại", "failed"),
            Outcome::Missed => lang.pick("bị lỡ", "missed"),
            Outcome::Interrupted => lang.pick("bị ngắt", "interrupted"),
        }
    }
}

/// Why something did not air in full, stored structurally and worded at display time in
/// the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum Reason {
    /// loaxa was not running when the occurrence fell due.
    NotRunning,
    /// Due while loaxa could not act (suspended, busy) and more than the grace period passed.
    TooLate {
        late_seconds: i64,
    },
    /// The wall clock was stepped forward past the occurrence.
    ClockStepped,
    NoDevice(String),
    DeviceError(String),
    DamagedFile {
        file: String,
        reason: String,
    },
    MissingFile(String),
    /// loaxa was asked to stop (service stop, Ctrl-C).
    Stopped,
    /// A higher-priority broadcast took the air.
    Preempted(String),
    /// loaxa ended abruptly (power loss, crash, kill) while airing.
    Crashed,
    NothingToPlay,
    /// Clips dropped because the slot's minutes were used up.
    DidNotFit {
        clips: Vec<String>,
    },
    /// Some clips were skipped (their own reasons are on the clips).
    ClipsSkipped {
        count: usize,
    },
    /// The decoder ended before the clip's measured length.
    EndedEarly,
    /// The station's quiet hours: no broadcasting then, except emergencies.
    QuietHours {
        hours: String,
    },
    /// The station's limit of sessions a day was already reached.
    SessionLimit {
        per_day: u32,
    },
    /// A relay's source gave no audio at all.
    SourceDown {
        source: String,
        error: String,
    },
    /// A relay's source was missing for part of the slot.
    SourceGaps {
        count: usize,
        missing_ms: u64,
        error: Option<String>,
    },
    /// What went out was (nearly) silent: the source sent silence.
    DeadAir,
}

impl Reason {
    pub fn text(&self, lang: Lang) -> String {
        match self {
            Reason::NotRunning => lang
                .pick("loaxa không chạy lúc đó", "loaxa was not running")
                .into(),
            Reason::TooLate { late_seconds } => tr!(
                lang,
                "quá giờ {late_seconds} giây (máy bận hoặc ngủ), vượt thời gian cho phép",
                "{late_seconds} s late (machine busy or asleep), beyond the grace period"
            ),
            Reason::ClockStepped => lang
                .pick(
                    "đồng hồ máy bị chỉnh nhảy qua giờ phát",
                    "the system clock was stepped past it",
                )
                .into(),
            Reason::NoDevice(d) if d.is_empty() => lang
                .pick("không có thiết bị âm thanh", "no sound device")
                .into(),
            Reason::NoDevice(d) => tr!(
                lang,
                "không có thiết bị âm thanh: {d}",
                "no sound device: {d}"
            ),
            Reason::DeviceError(d) => tr!(
                lang,
                "lỗi thiết bị âm thanh: {d}",
                "sound device error: {d}"
            ),
            Reason::DamagedFile { file, reason } => {
                tr!(
                    lang,
                    "tệp bị hỏng: {file} ({reason})",
                    "damaged file: {file} ({reason})"
                )
            }
            Reason::MissingFile(f) => tr!(lang, "không tìm thấy tệp: {f}", "file not found: {f}"),
            Reason::Stopped => lang.pick("dừng dịch vụ", "service stopped").into(),
            Reason::Preempted(by) => tr!(
                lang,
                "nhường sóng cho bản tin ưu tiên hơn: {by}",
                "gave way to a higher-priority broadcast: {by}"
            ),
            Reason::Crashed => lang
                .pick(
                    "loaxa bị tắt đột ngột khi đang phát (mất điện hoặc lỗi)",
                    "loaxa ended abruptly while airing (power loss or crash)",
                )
                .into(),
            Reason::NothingToPlay => lang
                .pick("không có bài nào để phát", "nothing to play")
                .into(),
            Reason::DidNotFit { clips } => tr!(
                lang,
                "không đủ thời lượng cho: {}",
                "did not fit in the slot's minutes: {}",
                clips.join(", ")
            ),
            Reason::ClipsSkipped { count } => {
                tr!(lang, "{count} bài bị bỏ qua", "{count} clip(s) skipped")
            }
            Reason::QuietHours { hours } => tr!(
                lang,
                "trong giờ yên tĩnh của đài ({hours}), chỉ phát tin khẩn cấp",
                "within the station's quiet hours ({hours}): emergencies only"
            ),
            Reason::SessionLimit { per_day } => tr!(
                lang,
                "đã đủ {per_day} phiên trong ngày theo giới hạn của đài",
                "the station's limit of {per_day} sessions a day was reached"
            ),
            Reason::SourceDown { source, error } => tr!(
                lang,
                "nguồn tiếp sóng {source} không có tín hiệu: {error}",
                "relay source {source} gave no audio: {error}"
            ),
            Reason::SourceGaps {
                count,
                missing_ms,
                error,
            } => {
                let secs = (*missing_ms as f64 / 1000.0).round();
                let why = error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                tr!(
                    lang,
                    "nguồn tiếp sóng bị mất {count} lần, thiếu {secs} giây{why}",
                    "the relay source dropped {count} time(s), {secs} s missing{why}"
                )
            }
            Reason::DeadAir => lang
                .pick(
                    "phát ra gần như im lặng (nguồn gửi khoảng lặng)",
                    "what went out was (nearly) silent: the source sent silence",
                )
                .into(),
            Reason::EndedEarly => lang
                .pick(
                    "tệp kết thúc sớm hơn độ dài đo được",
                    "the file ended before its measured length",
                )
                .into(),
        }
    }
}

/// What an occurrence is: enough to account for it without the schedule at hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccurrenceInfo {
    pub key: String,
    pub plan: String,
    pub slot: String,
    pub title: String,
    pub topic: Option<String>,
    pub priority: Priority,
    pub scheduled_at: DateTime<Utc>,
    /// Aired by hand (`loaxa play`, a rehearsal), not by the plan.
    pub manual: bool,
    /// The schedule file version that planned it.
    pub schedule_sha256: Option<String>,
}

/// What a clip is in its broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Intro,
    /// A fixed clip of the slot (`play`).
    Clip,
    /// Picked from the slot's queue folder.
    Queue,
    Outro,
    /// A relay of the slot's source (its `rel` is the source).
    Relay,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Intro => "intro",
            Role::Clip => "clip",
            Role::Queue => "queue",
            Role::Outro => "outro",
            Role::Relay => "relay",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipPlan {
    pub rel: String,
    pub sha256: String,
    pub duration_ms: u64,
    pub role: Role,
    /// The plan item the clip serves (its own, else its slot's).
    #[serde(default)]
    pub topic: Option<String>,
    /// Gain applied to bring it to the station's loudness target, dB.
    #[serde(default)]
    pub gain_db: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    StationStarted {
        version: String,
        output: String,
        /// The instant from which this run answers for occurrences (its start less the
        /// grace): what fell due before was settled at its start, what falls due after is
        /// its own to air or journal. The next start looks again from here, because a run
        /// killed mid-way leaves some of its own unjournaled. Absent in older journals.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accounts_from: Option<DateTime<Utc>>,
    },
    StationStopped {
        reason: String,
    },
    ScheduleLoaded {
        file: String,
        sha256: String,
        content: String,
    },
    /// A schedule file that was in force is no longer present.
    ScheduleUnloaded {
        file: String,
    },
    BroadcastStarted {
        occurrence: OccurrenceInfo,
        output: String,
        clips: Vec<ClipPlan>,
    },
    ClipAired {
        occurrence: String,
        /// The occurrence's scheduled instant, so clip figures can be totalled by period.
        scheduled_at: DateTime<Utc>,
        index: usize,
        rel: String,
        sha256: String,
        topic: Option<String>,
        duration_ms: u64,
        played_ms: u64,
        outcome: Outcome,
        reason: Option<Reason>,
        /// What was measured of the samples handed to the output.
        levels: Option<Levels>,
    },
    BroadcastEnded {
        /// The occurrence again, whole: the end event alone says what ended and how, so
        /// reports need not join it to its start.
        occurrence: OccurrenceInfo,
        outcome: Outcome,
        reason: Option<Reason>,
        started_at: Option<DateTime<Utc>>,
        ended_at: DateTime<Utc>,
        /// What the stream for IP loudspeakers carried of it, when one is configured.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream: Option<StreamFacts>,
    },
    OccurrenceMissed {
        occurrence: OccurrenceInfo,
        reason: Reason,
    },
    /// A file in the audio folder that will not air (it does not decode, or its metadata has
    /// errors), journaled once per version of the file.
    ClipRejected {
        file: String,
        sha256: Option<String>,
        reason: String,
    },
    /// Something done from the operator's console, by whom (handed over by `loaxa web`).
    ConsoleAction(Action),
    /// A relay of the broadcast, as a clip is journaled: its verdict and what it was made of.
    RelayAired(Box<RelayAired>),
}

/// What the journal keeps of one relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayAired {
    pub occurrence: String,
    pub scheduled_at: DateTime<Utc>,
    pub index: usize,
    /// The source as the schedule names it (an address without credentials, or `alsa:…`).
    pub source: String,
    pub topic: Option<String>,
    /// The slot's minutes, and what went out of them (source, fallback and silence).
    pub duration_ms: u64,
    pub played_ms: u64,
    /// What came from the source itself.
    pub relayed_ms: u64,
    pub connected_at: Option<DateTime<Utc>>,
    pub reconnects: u32,
    /// What the source was (codec, channels, rate), as first connected.
    #[serde(default)]
    pub codec: Option<String>,
    /// Each gap while on air: where (ms from the relay's start) and how long.
    pub dropouts: Vec<Dropout>,
    /// Fallback clips that filled gaps.
    pub fallback: Vec<FallbackAired>,
    pub silence_ms: u64,
    /// What went wrong with the source, in order, with how often.
    pub errors: Vec<SourceError>,
    pub levels: Option<Levels>,
    pub outcome: Outcome,
    pub reason: Option<Reason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropout {
    pub at_ms: u64,
    pub length_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FallbackAired {
    pub rel: String,
    pub sha256: String,
    pub played_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceError {
    pub at: DateTime<Utc>,
    pub error: String,
    pub times: u32,
}

/// Levels of the samples actually handed to the output (after volume), per clip: the proof
/// that sound, not dead air, went out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Levels {
    pub peak_dbfs: f64,
    pub rms_dbfs: f64,
    /// Share of the clip (0–100 %) quieter than −50 dBFS.
    pub silent_percent: f64,
}

impl Levels {
    /// Below this RMS, or this silent share, a clip counts as dead air.
    pub const DEAD_AIR_RMS_DBFS: f64 = -50.0;
    pub const DEAD_AIR_SILENT_PERCENT: f64 = 90.0;

    pub fn is_dead_air(&self) -> bool {
        self.rms_dbfs < Self::DEAD_AIR_RMS_DBFS
            || self.silent_percent >= Self::DEAD_AIR_SILENT_PERCENT
    }
}

/// The indexed columns stored beside each event's body. They are covered by the hash chain,
/// so reports can aggregate them in SQL without an edit going unnoticed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Columns {
    pub occurrence: Option<String>,
    pub scheduled_at: Option<i64>,
    pub plan: Option<String>,
    pub slot: Option<String>,
    pub topic: Option<String>,
    pub manual: Option<i64>,
    pub outcome: Option<String>,
    pub played_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub clip: Option<String>,
    pub sha256: Option<String>,
    /// 1 when a clip's measured levels say it was (nearly) silent on air.
    pub dead_air: Option<i64>,
}

impl Columns {
    fn text(&self) -> [Option<String>; 12] {
        [
            self.occurrence.clone(),
            self.scheduled_at.map(|v| v.to_string()),
            self.plan.clone(),
            self.slot.clone(),
            self.topic.clone(),
            self.manual.map(|v| v.to_string()),
            self.outcome.clone(),
            self.played_ms.map(|v| v.to_string()),
            self.duration_ms.map(|v| v.to_string()),
            self.clip.clone(),
            self.sha256.clone(),
            self.dead_air.map(|v| v.to_string()),
        ]
    }
}

impl Event {
    /// The columns this event is stored with.
    pub fn columns(&self) -> Columns {
        match self {
            Event::BroadcastStarted { occurrence: o, .. } => Columns {
                occurrence: Some(o.key.clone()),
                scheduled_at: Some(ms(o.scheduled_at)),
                plan: Some(o.plan.clone()),
                slot: Some(o.slot.clone()),
                topic: o.topic.clone(),
                manual: Some(i64::from(o.manual)),
                ..Columns::default()
            },
            Event::OccurrenceMissed { occurrence: o, .. } => Columns {
                occurrence: Some(o.key.clone()),
                scheduled_at: Some(ms(o.scheduled_at)),
                plan: Some(o.plan.clone()),
                slot: Some(o.slot.clone()),
                topic: o.topic.clone(),
                manual: Some(i64::from(o.manual)),
                outcome: Some(Outcome::Missed.code().into()),
                ..Columns::default()
            },
            Event::ClipAired {
                occurrence,
                scheduled_at,
                rel,
                sha256,
                topic,
                duration_ms,
                played_ms,
                outcome,
                levels,
                ..
            } => Columns {
                dead_air: levels.map(|l| i64::from(l.is_dead_air())),
                occurrence: Some(occurrence.clone()),
                scheduled_at: Some(ms(*scheduled_at)),
                topic: topic.clone(),
                outcome: Some(outcome.code().into()),
                played_ms: Some(*played_ms as i64),
                duration_ms: Some(*duration_ms as i64),
                clip: Some(rel.clone()),
                sha256: Some(sha256.clone()),
                ..Columns::default()
            },
            Event::RelayAired(r) => Columns {
                dead_air: r.levels.map(|l| i64::from(l.is_dead_air())),
                occurrence: Some(r.occurrence.clone()),
                scheduled_at: Some(ms(r.scheduled_at)),
                topic: r.topic.clone(),
                outcome: Some(r.outcome.code().into()),
                played_ms: Some(r.relayed_ms as i64),
                duration_ms: Some(r.duration_ms as i64),
                clip: Some(r.source.clone()),
                ..Columns::default()
            },
            Event::BroadcastEnded {
                occurrence: o,
                outcome,
                ..
            } => Columns {
                occurrence: Some(o.key.clone()),
                scheduled_at: Some(ms(o.scheduled_at)),
                plan: Some(o.plan.clone()),
                slot: Some(o.slot.clone()),
                topic: o.topic.clone(),
                manual: Some(i64::from(o.manual)),
                outcome: Some(outcome.code().into()),
                ..Columns::default()
            },
            _ => Columns::default(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Event::StationStarted { .. } => "station_started",
            Event::StationStopped { .. } => "station_stopped",
            Event::ScheduleLoaded { .. } => "schedule_loaded",
            Event::ScheduleUnloaded { .. } => "schedule_unloaded",
            Event::BroadcastStarted { .. } => "broadcast_started",
            Event::ClipAired { .. } => "clip_aired",
            Event::RelayAired(_) => "relay_aired",
            Event::BroadcastEnded { .. } => "broadcast_ended",
            Event::OccurrenceMissed { .. } => "occurrence_missed",
            Event::ClipRejected { .. } => "clip_rejected",
            Event::ConsoleAction(_) => "console_action",
        }
    }
}

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

const SCHEMA: &[&str] = &[
    // 1: the event log. Every column but `hash` is covered by the hash chain.
    "CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        kind TEXT NOT NULL,
        occurrence TEXT,
        scheduled_at INTEGER,
        plan TEXT,
        slot TEXT,
        topic TEXT,
        manual INTEGER,
        outcome TEXT,
        played_ms INTEGER,
        duration_ms INTEGER,
        clip TEXT,
        sha256 TEXT,
        dead_air INTEGER,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
     );
     CREATE INDEX events_by_occurrence ON events(occurrence);
     CREATE INDEX events_by_schedule ON events(scheduled_at, kind);
     CREATE INDEX events_by_clip ON events(clip) WHERE clip IS NOT NULL;
     -- Covering indexes for reports: a period's outcomes and clip figures without touching bodies.
     CREATE INDEX events_outcomes ON events(kind, scheduled_at, manual, plan, slot, topic, outcome);
     CREATE INDEX events_clips ON events(kind, scheduled_at, occurrence, topic, clip, sha256, outcome, played_ms, dead_air);
     CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the loaxa journal is append-only'); END;
     CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the loaxa journal is append-only'); END;",
    // 2: the ingest cache: what was measured of each clip, by content hash, and which file
    // version (path, size, mtime) had which content. Not evidence, so not chained; it only
    // spares a restart from decoding an unchanged library again.
    "CREATE TABLE clip_facts (
        sha256 TEXT PRIMARY KEY,
        duration_ms INTEGER NOT NULL,
        channels INTEGER NOT NULL,
        sample_rate INTEGER NOT NULL,
        loudness_tenths INTEGER,
        peak_tenths INTEGER NOT NULL,
        lead_silence_ms INTEGER NOT NULL,
        trail_silence_ms INTEGER NOT NULL
     );
     CREATE TABLE clip_files (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER,
        sha256 TEXT,
        error TEXT
     );",
];

/// The columns of an event row in storage order, for INSERT and verification.
const ROW: &str = "seq, recorded_at, kind, occurrence, scheduled_at, plan, slot, topic, manual, outcome, played_ms, duration_ms, clip, sha256, dead_air, body, prev_hash, hash";

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub events: i64,
    pub head: String,
    pub problem: Option<Problem>,
    /// With a pin: whether the pinned event still has the pinned hash.
    pub pin_matches: Option<bool>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.problem.is_none() && self.pin_matches != Some(false)
    }
}

/// The first break in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The event's content no longer matches its hash.
    Altered { seq: i64 },
    /// Events between these two are gone.
    Removed { after: i64, before: i64 },
    /// An event that was never part of the chain sits here.
    Inserted { seq: i64 },
    /// The event is out of its place.
    Reordered { seq: i64 },
}

impl Problem {
    pub fn text(&self, lang: Lang) -> String {
        match self {
            Problem::Altered { seq } => tr!(
                lang,
                "sự kiện số {seq} đã bị sửa (nội dung không khớp mã băm)",
                "event {seq} was altered (its content no longer matches its hash)"
            ),
            Problem::Removed { after, before } => tr!(
                lang,
                "đã bị xóa sự kiện giữa số {after} và số {before}",
                "events between {after} and {before} were removed"
            ),
            Problem::Inserted { seq } => tr!(
                lang,
                "sự kiện số {seq} bị chèn thêm vào (không thuộc chuỗi ban đầu)",
                "event {seq} was inserted (it was never part of the chain)"
            ),
            Problem::Reordered { seq } => tr!(
                lang,
                "sự kiện số {seq} bị đổi chỗ",
                "event {seq} was moved out of its place"
            ),
        }
    }
}

/// One stored event as it is chained: every field the hash covers, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEvent {
    pub seq: i64,
    pub recorded_at: String,
    pub kind: String,
    /// The indexed columns in storage order (see [`Columns`]), numbers as decimal text.
    pub columns: [Option<String>; 12],
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

impl RawEvent {
    /// What this event's hash must be, given its stored previous hash.
    pub fn link(&self) -> String {
        let fields: [Option<&[u8]>; 12] =
            std::array::from_fn(|i| self.columns[i].as_deref().map(str::as_bytes));
        hex(&chain_digest(
            self.prev_hash.as_bytes(),
            self.seq,
            self.recorded_at.as_bytes(),
            self.kind.as_bytes(),
            &fields,
            self.body.as_bytes(),
        ))
    }
}

/// The hash that starts the chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain link: a hash over the previous hash and this event's canonical encoding (every
/// stored field, each length-prefixed, absent fields marked as such).
pub fn chain_hash(
    prev: &str,
    seq: i64,
    recorded_at: &str,
    kind: &str,
    columns: &Columns,
    body: &str,
) -> String {
    let text = columns.text();
    let fields: [Option<&[u8]>; 12] =
        std::array::from_fn(|i| text[i].as_deref().map(str::as_bytes));
    hex(&chain_digest(
        prev.as_bytes(),
        seq,
        recorded_at.as_bytes(),
        kind.as_bytes(),
        &fields,
        body.as_bytes(),
    ))
}

/// The chain hash over borrowed fields (columns as their text), as raw bytes.
fn chain_digest(
    prev: &[u8],
    seq: i64,
    recorded_at: &[u8],
    kind: &[u8],
    columns: &[Option<&[u8]>; 12],
    body: &[u8],
) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |part: Option<&[u8]>| match part {
        Some(p) => {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        None => h.update(u64::MAX.to_le_bytes()),
    };
    let mut digits = [0u8; 24];
    field(Some(prev));
    field(Some(decimal(seq, &mut digits)));
    field(Some(recorded_at));
    field(Some(kind));
    for c in columns {
        field(*c);
    }
    field(Some(body));
    h.finalize().into()
}

/// `v` in decimal, written into `buf` (no allocation: verify does this for every row).
fn decimal(v: i64, buf: &mut [u8; 24]) -> &[u8] {
    let mut i = buf.len();
    let neg = v < 0;
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Decodes a lower-case hex SHA-256; `None` if it is not one.
fn unhex(b: &[u8]) -> Option<[u8; 32]> {
    if b.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = nibble(b[2 * i])? << 4 | nibble(b[2 * i + 1])?;
    }
    Some(out)
}
pub struct Journal {
    conn: Connection,
    path: PathBuf,
    head: (i64, String),
    /// Opened read-only because it could not be opened for writing (a read-only file system):
    /// readable, every write refused.
    read_only: bool,
}

/// Per-version airing counts summed by path.
pub fn by_path(versions: &HashMap<(String, String), i64>) -> HashMap<String, i64> {
    let mut out: HashMap<String, i64> = HashMap::new();
    for ((rel, _), n) in versions {
        *out.entry(rel.clone()).or_default() += n;
    }
    out
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl Journal {
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|source| JournalError::Folder {
                    path: path.to_path_buf(),
                    source,
                })?;
            }
        }
        let sql = |source| JournalError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        // SQLite falls back to read-only by itself when the file cannot be opened for writing
        // (a read-only file system); such a connection never becomes writable.
        let read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false);
        let mut j = Journal {
            conn,
            path: path.to_path_buf(),
            head: (0, GENESIS.to_string()),
            read_only,
        };
        if read_only {
            // With a write-ahead log left by a crash, only SQLite's own read-only connection
            // sees its events; without one, the immutable form reads the file as it stands.
            let wal = PathBuf::from(format!("{}-wal", path.display()));
            if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                j.head = j.read_head()?;
                return Ok(j);
            }
            drop(j);
            return Journal::open_read_only(path);
        }
        j.migrate()?;
        j.head = j.read_head()?;
        Ok(j)
    }

    /// Opens an existing journal for reading only, as it stands on disk (SQLite's `immutable`
    /// mode needs no lock or `-shm` file, so it works on a read-only file system where a
    /// normal open cannot create one). The daemon falls back to this when the journal cannot
    /// be opened at all, holds what it would have written, and reopens once it can.
    pub fn open_read_only(path: &Path) -> Result<Journal, JournalError> {
        Self::open_for_reading(path, true)
    }

    /// Opens an existing journal to read it while the daemon may be writing it (`log`,
    /// `report`, `status`, `next`): it sees what the daemon committed, and never writes,
    /// migrates or creates anything.
    pub fn open_reader(path: &Path) -> Result<Journal, JournalError> {
        Self::open_for_reading(path, false)
    }

    fn open_for_reading(path: &Path, immutable: bool) -> Result<Journal, JournalError> {
        let sql = |source| JournalError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let full = std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string();
        // The characters a URI gives meaning to, escaped.
        let escaped = full
            .replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23");
        let conn = Connection::open_with_flags(
            format!(
                "file:{escaped}{}",
                if immutable { "?immutable=1" } else { "" }
            ),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(sql)?;
        if !immutable {
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(sql)?;
        }
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        if version > SCHEMA.len() as i64 {
            return Err(JournalError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: SCHEMA.len() as i64,
            });
        }
        let mut j = Journal {
            conn,
            path: path.to_path_buf(),
            head: (0, GENESIS.to_string()),
            read_only: true,
        };
        j.head = j.read_head()?;
        Ok(j)
    }

    /// Whether SQLite could open the journal for reading only (a read-only file system): every
    /// write is refused until it is opened again.
    /// Opens the journal afresh, closing this connection first: SQLite shares a file's lock
    /// and shared-memory state between the connections of one process, so a read-only one
    /// left open would make the new one read-only too. Returns whether it is now writable.
    pub fn reopen(&mut self) -> Result<bool, JournalError> {
        let placeholder = Connection::open_in_memory().map_err(self.sql())?;
        drop(std::mem::replace(&mut self.conn, placeholder));
        match Journal::open(&self.path) {
            Ok(j) => {
                *self = j;
                Ok(!self.read_only)
            }
            Err(e) => {
                // Back to reading it as it stands, so the daemon never works from nothing.
                if let Ok(j) = Journal::open_read_only(&self.path) {
                    *self = j;
                }
                self.read_only = true;
                Err(e)
            }
        }
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> JournalError + '_ {
        |source| JournalError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&mut self) -> Result<(), JournalError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.sql())?;
        let known = SCHEMA.len() as i64;
        if version > known {
            return Err(JournalError::TooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        for (i, step) in SCHEMA.iter().enumerate().skip(version as usize) {
            let path = self.path.clone();
            let tx = self
                .conn
                .transaction()
                .map_err(|source| JournalError::Sqlite {
                    path: path.clone(),
                    source,
                })?;
            tx.execute_batch(step)
                .and_then(|_| tx.pragma_update(None, "user_version", (i + 1) as i64))
                .and_then(|_| tx.commit())
                .map_err(|source| JournalError::Sqlite { path, source })?;
        }
        Ok(())
    }

    fn read_head(&self) -> Result<(i64, String), JournalError> {
        let head = self
            .conn
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.sql())?;
        Ok(head.unwrap_or((0, GENESIS.to_string())))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stored events after `after`, at most `limit`, exactly as they are chained (for the
    /// province's copy, which re-walks the chain with [`RawEvent::link`]).
    pub fn raw_events(&self, after: i64, limit: usize) -> Result<Vec<RawEvent>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ROW} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))
            .map_err(self.sql())?;
        let mut rows = stmt
            .query(params![after, limit as i64])
            .map_err(self.sql())?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(self.sql())? {
            use rusqlite::types::ValueRef;
            let text = |i: usize| -> Result<Option<String>, rusqlite::Error> {
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => None,
                    ValueRef::Integer(v) => Some(v.to_string()),
                    ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                    other => {
                        return Err(rusqlite::Error::InvalidColumnType(
                            i,
                            format!("{other:?}"),
                            other.data_type(),
                        ))
                    }
                })
            };
            let event = (|| -> Result<RawEvent, rusqlite::Error> {
                Ok(RawEvent {
                    seq: r.get(0)?,
                    recorded_at: r.get(1)?,
                    kind: r.get(2)?,
                    columns: [
                        text(3)?,
                        text(4)?,
                        text(5)?,
                        text(6)?,
                        text(7)?,
                        text(8)?,
                        text(9)?,
                        text(10)?,
                        text(11)?,
                        text(12)?,
                        text(13)?,
                        text(14)?,
                    ],
                    body: r.get(15)?,
                    prev_hash: r.get(16)?,
                    hash: r.get(17)?,
                })
            })()
            .map_err(self.sql())?;
            out.push(event);
        }
        Ok(out)
    }

    /// The stored hash of event `seq`, if there is one.
    pub fn hash_at(&self, seq: i64) -> Result<Option<String>, JournalError> {
        if seq == 0 {
            return Ok(Some(GENESIS.to_string()));
        }
        self.conn
            .query_row("SELECT hash FROM events WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.sql())
    }

    /// The chain head: event count and the last hash.
    pub fn head(&self) -> (i64, &str) {
        (self.head.0, &self.head.1)
    }

    /// Appends one event, durably (WAL + synchronous FULL), and returns its sequence number.
    pub fn append(&mut self, event: &Event, now: DateTime<Utc>) -> Result<i64, JournalError> {
        self.append_all(std::slice::from_ref(event), now)
    }

    /// Appends events in one transaction (one fsync): all of them or none. Returns the last
    /// sequence number.
    pub fn append_all(
        &mut self,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> Result<i64, JournalError> {
        let path = self.path.clone();
        let sql = |source| JournalError::Sqlite {
            path: path.clone(),
            source,
        };
        let recorded_at = now.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut head = self.head.clone();
        let tx = self.conn.transaction().map_err(sql)?;
        {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "INSERT INTO events ({ROW}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
                ))
                .map_err(sql)?;
            for event in events {
                let seq = head.0 + 1;
                let body = serde_json::to_string(event).map_err(|e| JournalError::Corrupt {
                    path: path.clone(),
                    seq,
                    reason: e.to_string(),
                })?;
                let kind = event.kind();
                let c = event.columns();
                let hash = chain_hash(&head.1, seq, &recorded_at, kind, &c, &body);
                stmt.execute(params![
                    seq,
                    recorded_at,
                    kind,
                    c.occurrence,
                    c.scheduled_at,
                    c.plan,
                    c.slot,
                    c.topic,
                    c.manual,
                    c.outcome,
                    c.played_ms,
                    c.duration_ms,
                    c.clip,
                    c.sha256,
                    c.dead_air,
                    body,
                    head.1,
                    hash
                ])
                .map_err(sql)?;
                head = (seq, hash);
            }
        }
        tx.commit().map_err(sql)?;
        self.head = head;
        Ok(self.head.0)
    }

    /// Moves the write-ahead log into the database now, while nothing waits on the journal,
    /// so the next broadcast's first write does not pay for it.
    pub fn checkpoint(&self) -> Result<(), JournalError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(self.sql())
    }

    /// Walks the hash chain from the first event and reports the first one that was altered,
    /// removed, inserted or reordered. With `pin` (an event number and the hash a printed
    /// report showed for it), also checks that the journal still holds that very history.
    pub fn verify(&self, pin: Option<(i64, &str)>) -> Result<Verification, JournalError> {
        self.verify_counting(pin, &std::sync::atomic::AtomicI64::new(0))
    }

    /// The events in the journal (its last sequence number), for a progress bar.
    pub fn event_count(&self) -> Result<i64, JournalError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(self.sql())
    }

    /// As [`Journal::verify`], adding to `checked` as it goes (every few thousand events), so
    /// another thread can show progress on a large journal.
    pub fn verify_counting(
        &self,
        pin: Option<(i64, &str)>,
        checked: &std::sync::atomic::AtomicI64,
    ) -> Result<Verification, JournalError> {
        // The chain is checked in two halves at once, one per core, each on its own read-only
        // connection: the second half starts from the stored hash at the split, which the
        // first half checks. The first problem found, in sequence order, is the one reported.
        let last: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(self.sql())?;
        let split = if last > 100_000 { last / 2 } else { last };
        let at_split: (i64, String) = if split == last {
            (0, GENESIS.to_string())
        } else {
            self.conn
                .query_row(
                    "SELECT seq, hash FROM events WHERE seq <= ?1 ORDER BY seq DESC LIMIT 1",
                    [split],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(self.sql())?
                .unwrap_or((0, GENESIS.to_string()))
        };
        let path = self.path.clone();
        let open = || {
            Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(
                |source| JournalError::Sqlite {
                    path: path.clone(),
                    source,
                },
            )
        };
        let (first, second) = if split == last {
            (
                verify_span(
                    &self.conn,
                    &self.path,
                    (0, GENESIS.to_string()),
                    i64::MAX,
                    pin,
                    checked,
                )?,
                None,
            )
        } else {
            std::thread::scope(|scope| -> Result<_, JournalError> {
                let tail =
                    scope.spawn(|| verify_span(&open()?, &path, at_split, i64::MAX, pin, checked));
                let head = verify_span(
                    &self.conn,
                    &self.path,
                    (0, GENESIS.to_string()),
                    split,
                    pin,
                    checked,
                )?;
                let tail = tail.join().map_err(|_| JournalError::Corrupt {
                    path: path.clone(),
                    seq: split,
                    reason: "verification thread failed".into(),
                })??;
                Ok((head, Some(tail)))
            })?
        };
        let mut v = first;
        if let Some(t) = second {
            v.problem = v.problem.or(t.problem);
            v.events += t.events;
            if t.events > 0 {
                v.head = t.head;
            }
            v.pin_matches = match (v.pin_matches, t.pin_matches) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (a, b) => a.or(b),
            };
        }
        Ok(v)
    }

    /// Whether a clip with this content ever went on air (a scan: for the rare deletion of a
    /// clip from the console, which must never remove evidence).
    pub fn knows_clip(&self, sha256: &str) -> Result<bool, JournalError> {
        self.conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM events WHERE kind = 'clip_aired' AND sha256 = ?1 AND played_ms > 0)",
                [sha256],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// Whether anything is journaled for this occurrence (it must never be journaled twice).
    pub fn knows(&self, key: &str) -> Result<bool, JournalError> {
        // Asked at every wake of the daemon: the statement is prepared once.
        self.conn
            .prepare_cached("SELECT 1 FROM events WHERE occurrence = ?1 LIMIT 1")
            .and_then(|mut st| st.query_row([key], |_| Ok(())))
            .optional()
            .map(|r| r.is_some())
            .map_err(self.sql())
    }

    /// Whether a batch of events written together already reached the journal after event
    /// `after_seq` (they are one transaction: the first one tells for all).
    pub fn holds(&self, events: &[Event], after_seq: i64) -> Result<bool, JournalError> {
        let Some(first) = events.first() else {
            return Ok(true);
        };
        let body = serde_json::to_string(first).map_err(|e| JournalError::Corrupt {
            path: self.path.clone(),
            seq: after_seq,
            reason: e.to_string(),
        })?;
        self.conn
            .query_row(
                "SELECT 1 FROM events WHERE seq > ?1 AND kind = ?2 AND body = ?3 LIMIT 1",
                params![after_seq, first.kind(), body],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(self.sql())
    }

    /// The last moment loaxa is known to have been running: its latest event.
    pub fn last_activity(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        self.instant(
            "SELECT recorded_at FROM events ORDER BY seq DESC LIMIT 1",
            &[],
        )
    }

    /// The instant (an RFC 3339 text) in the one row `sql` selects, if any.
    fn instant(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<DateTime<Utc>>, JournalError> {
        let at: Option<Option<String>> = self
            .conn
            .query_row(sql, args, |r| r.get(0))
            .optional()
            .map_err(self.sql())?;
        Ok(at
            .flatten()
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    /// Where the last run began to answer for occurrences (see `Event::StationStarted`), if
    /// a run has started and its journal says.
    pub fn last_accounts_from(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        self.instant(
            "SELECT json_extract(body, '$.accounts_from') FROM events
             WHERE kind = 'station_started' ORDER BY seq DESC LIMIT 1",
            &[],
        )
    }

    /// When the version in force of schedule `file` was loaded (its last
    /// `schedule_loaded` event).
    pub fn schedule_loaded_at(&self, file: &str) -> Result<Option<DateTime<Utc>>, JournalError> {
        self.instant(
            "SELECT recorded_at FROM events WHERE kind = 'schedule_loaded'
             AND json_extract(body, '$.file') = ?1 ORDER BY seq DESC LIMIT 1",
            &[&file],
        )
    }

    /// When the last run started (its `station_started` event), if any did.
    pub fn last_started(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        self.instant(
            "SELECT recorded_at FROM events WHERE kind = 'station_started'
             ORDER BY seq DESC LIMIT 1",
            &[],
        )
    }

    /// The keys of the occurrences the journal has any event for, scheduled in `[from, until]`.
    pub fn occurrences_scheduled(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<std::collections::HashSet<String>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT occurrence FROM events
                 WHERE scheduled_at >= ?1 AND scheduled_at <= ?2 AND occurrence IS NOT NULL",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(
                params![from.timestamp_millis(), until.timestamp_millis()],
                |r| r.get::<_, String>(0),
            )
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The latest scheduled instant the journal accounts for.
    pub fn last_scheduled(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        let last: Option<i64> = self
            .conn
            .query_row("SELECT MAX(scheduled_at) FROM events", [], |r| r.get(0))
            .map_err(self.sql())?;
        Ok(last.and_then(|m| Utc.timestamp_millis_opt(m).single()))
    }

    fn events_where(
        &self,
        clause: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<(i64, Event)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT seq, body FROM events {clause} ORDER BY seq"
            ))
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(args, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body) = row.map_err(self.sql())?;
            let event = serde_json::from_str(&body).map_err(|e| JournalError::Corrupt {
                path: self.path.clone(),
                seq,
                reason: e.to_string(),
            })?;
            out.push((seq, event));
        }
        Ok(out)
    }

    /// Records of the occurrences scheduled in `[from, to)`, in schedule order.
    pub fn records(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Record>, JournalError> {
        let events = self.events_where(
            "WHERE occurrence IN (SELECT occurrence FROM events WHERE scheduled_at >= ?1 AND scheduled_at < ?2)",
            &[&ms(from), &ms(to)],
        )?;
        let mut records = fold(events.into_iter().map(|(_, e)| e));
        records.sort_by_key(|r| r.info.scheduled_at);
        Ok(records)
    }

    /// How many planned broadcasts (not manual, not missed) were started for `[from, to)`.
    pub fn sessions_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, JournalError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM events INDEXED BY events_outcomes
                 WHERE kind = 'broadcast_started' AND scheduled_at >= ?1 AND scheduled_at < ?2 AND manual = 0",
                params![ms(from), ms(to)],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// Counts of planned (non-manual) occurrences scheduled in `[from, to)` by plan, slot,
    /// topic and outcome (`None`: started but not ended).
    pub fn outcome_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<OutcomeCount>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT kind, plan, slot, topic, outcome, COUNT(*) FROM events INDEXED BY events_outcomes
                 WHERE kind IN ('broadcast_started', 'broadcast_ended', 'occurrence_missed')
                   AND scheduled_at >= ?1 AND scheduled_at < ?2 AND manual = 0
                 GROUP BY 1, 2, 3, 4, 5",
            )
            .map_err(self.sql())?;
        let mut rows = stmt.query(params![ms(from), ms(to)]).map_err(self.sql())?;
        // Per plan/slot/topic: started, and ended-or-missed by outcome. The difference between
        // started and ended is what is still on air (or was cut by a crash not yet recovered).
        type Key = (String, String, Option<String>);
        let mut started: BTreeMap<Key, i64> = BTreeMap::new();
        let mut ended: BTreeMap<(Key, Option<Outcome>), i64> = BTreeMap::new();
        while let Some(r) = rows.next().map_err(self.sql())? {
            let kind: String = r.get(0).map_err(self.sql())?;
            let key: Key = (
                r.get(1).map_err(self.sql())?,
                r.get(2).map_err(self.sql())?,
                r.get(3).map_err(self.sql())?,
            );
            let outcome = r
                .get::<_, Option<String>>(4)
                .map_err(self.sql())?
                .and_then(|o| Outcome::parse(&o));
            let n: i64 = r.get(5).map_err(self.sql())?;
            if kind == "broadcast_started" {
                *started.entry(key).or_default() += n;
            } else {
                if kind == "broadcast_ended" {
                    *started.entry(key.clone()).or_default() -= n;
                }
                *ended.entry((key, outcome)).or_default() += n;
            }
        }
        let mut out: Vec<OutcomeCount> = ended
            .into_iter()
            .map(|((k, outcome), count)| OutcomeCount {
                plan: k.0,
                slot: k.1,
                topic: k.2,
                outcome,
                count,
            })
            .collect();
        out.extend(
            started
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, count)| OutcomeCount {
                    plan: k.0,
                    slot: k.1,
                    topic: k.2,
                    outcome: None,
                    count,
                }),
        );
        Ok(out)
    }

    /// What each clip did in planned occurrences scheduled in `[from, to)`, by slot, topic,
    /// file and content hash.
    pub fn clip_figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ClipFigure>, JournalError> {
        self.figures("clip_aired", from, to)
    }

    /// What each relay did in planned occurrences in `[from, to)`, by slot, topic and source:
    /// `played_ms` is what came from the source, `aired_in_full` the relays completed.
    pub fn relay_figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ClipFigure>, JournalError> {
        self.figures("relay_aired", from, to)
    }

    /// Figures of `clip_aired` or `relay_aired` events in `[from, to)`, by slot, topic,
    /// file (or source) and content hash.
    fn figures(
        &self,
        kind: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ClipFigure>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT substr(occurrence, 1, instr(occurrence, '@') - 1), topic, clip, COALESCE(sha256, ''),
                        SUM(outcome = 'completed'), SUM(played_ms), SUM(COALESCE(dead_air, 0))
                 FROM events INDEXED BY events_clips
                 WHERE kind = ?3 AND scheduled_at >= ?1 AND scheduled_at < ?2
                   AND occurrence NOT LIKE 'manual/%'
                 GROUP BY 1, 2, 3, 4",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![ms(from), ms(to), kind], |r| {
                let slot_key: String = r.get(0)?;
                let (plan, slot) = slot_key
                    .split_once('/')
                    .map(|(p, s)| (p.to_string(), s.to_string()))
                    .unwrap_or_default();
                Ok(ClipFigure {
                    plan,
                    slot,
                    topic: r.get(1)?,
                    clip: r.get(2)?,
                    sha256: r.get(3)?,
                    aired_in_full: r.get(4)?,
                    played_ms: r.get(5)?,
                    dead_air: r.get(6)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The planned occurrences in `[from, to)` that did not air in full, from their end
    /// (or missed) events alone, in schedule order; with `unfinished`, also those started
    /// and not ended.
    pub fn shortfalls(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        unfinished: bool,
    ) -> Result<Vec<Shortfall>, JournalError> {
        let mut out = Vec::new();
        for (_, e) in self.events_where(
            "INDEXED BY events_outcomes WHERE kind IN ('broadcast_ended', 'occurrence_missed')
               AND scheduled_at >= ?1 AND scheduled_at < ?2 AND manual = 0 AND outcome != 'completed'",
            &[&ms(from), &ms(to)],
        )? {
            match e {
                Event::BroadcastEnded { occurrence, outcome, reason, .. } => out.push(Shortfall {
                    info: occurrence,
                    outcome: Some(outcome),
                    reason,
                }),
                Event::OccurrenceMissed { occurrence, reason } => out.push(Shortfall {
                    info: occurrence,
                    outcome: Some(Outcome::Missed),
                    reason: Some(reason),
                }),
                _ => {}
            }
        }
        if unfinished {
            for (_, e) in self.events_where(
                "WHERE kind = 'broadcast_started' AND scheduled_at >= ?1 AND scheduled_at < ?2 AND manual = 0
                   AND occurrence NOT IN (SELECT occurrence FROM events INDEXED BY events_outcomes
                       WHERE kind = 'broadcast_ended' AND scheduled_at >= ?1 AND scheduled_at < ?2)",
                &[&ms(from), &ms(to)],
            )? {
                if let Event::BroadcastStarted { occurrence, .. } = e {
                    out.push(Shortfall {
                        info: occurrence,
                        outcome: None,
                        reason: None,
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            a.info
                .scheduled_at
                .cmp(&b.info.scheduled_at)
                .then(a.info.key.cmp(&b.info.key))
        });
        Ok(out)
    }

    /// Broadcasts that were started but never ended: loaxa stopped abruptly while airing.
    pub fn unfinished(&self) -> Result<Vec<Record>, JournalError> {
        let events = self.events_where(
            "WHERE occurrence IN (SELECT occurrence FROM events WHERE kind = 'broadcast_started'
               EXCEPT SELECT occurrence FROM events WHERE kind = 'broadcast_ended')",
            &[],
        )?;
        Ok(fold(events.into_iter().map(|(_, e)| e)))
    }

    /// The journal sequence number of each clip under `folder/`'s last full airing: queue
    /// rotation's order. Numbers, not times: a clock set back, or two broadcasts journaled in
    /// the same millisecond, cannot reorder them.
    pub fn last_aired(&self, folder: &str) -> Result<HashMap<String, i64>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT clip, MAX(seq) FROM events INDEXED BY events_by_clip
                 WHERE clip >= ?1 AND clip < ?2 AND kind = 'clip_aired' AND outcome = 'completed'
                 GROUP BY clip",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![format!("{folder}/"), format!("{folder}0")], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The schedule versions in force as of the journal's last word: for each file, its
    /// latest stored content, unless it was unloaded since. (file, sha256, content).
    pub fn schedules_in_force(&self) -> Result<Vec<(String, String, String)>, JournalError> {
        let events = self.events_where(
            "WHERE kind IN ('schedule_loaded', 'schedule_unloaded')",
            &[],
        )?;
        let mut in_force: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (_, e) in events {
            match e {
                Event::ScheduleLoaded {
                    file,
                    sha256,
                    content,
                } => {
                    in_force.insert(file, (sha256, content));
                }
                Event::ScheduleUnloaded { file } => {
                    in_force.remove(&file);
                }
                _ => {}
            }
        }
        Ok(in_force.into_iter().map(|(f, (h, c))| (f, h, c)).collect())
    }

    /// Every stored schedule version, oldest first: (file, sha256, content).
    pub fn schedule_history(&self) -> Result<Vec<(String, String, String)>, JournalError> {
        Ok(self
            .events_where("WHERE kind = 'schedule_loaded'", &[])?
            .into_iter()
            .filter_map(|(_, e)| match e {
                Event::ScheduleLoaded {
                    file,
                    sha256,
                    content,
                } => Some((file, sha256, content)),
                _ => None,
            })
            .collect())
    }

    /// How many times each clip under `folder/` aired in full (manual airings included),
    /// whatever its content: [`Journal::aired_versions`] summed by path.
    pub fn aired_counts(&self, folder: &str) -> Result<HashMap<String, i64>, JournalError> {
        Ok(by_path(&self.aired_versions(folder)?))
    }

    /// Files rejected from the audio folder between two instants: when, which, why.
    pub fn rejections(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, String, String)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT recorded_at, body FROM events
                 WHERE kind = 'clip_rejected' AND recorded_at >= ?1 AND recorded_at < ?2
                 ORDER BY seq",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(
                params![
                    from.to_rfc3339_opts(SecondsFormat::Millis, true),
                    to.to_rfc3339_opts(SecondsFormat::Millis, true)
                ],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (at, body) = row.map_err(self.sql())?;
            let (Ok(at), Ok(Event::ClipRejected { file, reason, .. })) = (
                DateTime::parse_from_rfc3339(&at),
                serde_json::from_str::<Event>(&body),
            ) else {
                continue;
            };
            out.push((at.with_timezone(&Utc), file, reason));
        }
        Ok(out)
    }

    /// How many times each version (path, content hash) of a folder's clips aired in full:
    /// what `once` / `times = N` queues count, so a new file under an old name starts afresh.
    pub fn aired_versions(
        &self,
        folder: &str,
    ) -> Result<HashMap<(String, String), i64>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT clip, sha256, COUNT(*) FROM events INDEXED BY events_by_clip
                 WHERE clip >= ?1 AND clip < ?2 AND kind = 'clip_aired' AND outcome = 'completed'
                 GROUP BY clip, sha256",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![format!("{folder}/"), format!("{folder}0")], |r| {
                Ok(((r.get(0)?, r.get(1)?), r.get(2)?))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The sha256 of the last stored version of a schedule file.
    pub fn last_schedule_version(&self, file: &str) -> Result<Option<String>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT json_extract(body, '$.sha256') FROM events
                 WHERE kind = 'schedule_loaded' AND json_extract(body, '$.file') = ?1
                 ORDER BY seq DESC LIMIT 1",
            )
            .map_err(self.sql())?;
        stmt.query_row([file], |r| r.get(0))
            .optional()
            .map_err(self.sql())
    }
}

/// Checks the rows after `after` (a sequence number and the hash it should carry) up to
/// `upto`, inclusive.
fn verify_span(
    conn: &Connection,
    path: &Path,
    after: (i64, String),
    upto: i64,
    pin: Option<(i64, &str)>,
    checked: &std::sync::atomic::AtomicI64,
) -> Result<Verification, JournalError> {
    let sql = |source| JournalError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {ROW} FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq"
        ))
        .map_err(sql)?;
    let mut rows = stmt.query(params![after.0, upto]).map_err(sql)?;
    let (mut last_seq, mut last_hash) = after;
    let mut count = 0i64;
    let mut problem = None;
    let mut pin_ok = pin.map(|_| false);
    // Integer columns are hashed as their decimal text, written into these buffers.
    let mut ints = [[0u8; 24]; 5];
    let mut last_digest = unhex(last_hash.as_bytes());
    while let Some(r) = rows.next().map_err(sql)? {
        use rusqlite::types::ValueRef;
        if count % 4096 == 4095 {
            checked.fetch_add(4096, std::sync::atomic::Ordering::Relaxed);
        }
        let bytes = |i: usize| -> Result<Option<&[u8]>, JournalError> {
            match r.get_ref(i).map_err(sql)? {
                ValueRef::Null => Ok(None),
                ValueRef::Text(t) => Ok(Some(t)),
                other => Err(sql(rusqlite::Error::InvalidColumnType(
                    i,
                    format!("{other:?}"),
                    other.data_type(),
                ))),
            }
        };
        let seq: i64 = r.get(0).map_err(sql)?;
        let mut int_vals = [None; 5];
        for (k, col) in [4usize, 8, 10, 11, 14].into_iter().enumerate() {
            int_vals[k] = r.get::<_, Option<i64>>(col).map_err(sql)?;
        }
        let [b0, b1, b2, b3, b4] = &mut ints;
        let ints_text: [Option<&[u8]>; 5] = [
            int_vals[0].map(|v| decimal(v, b0)),
            int_vals[1].map(|v| decimal(v, b1)),
            int_vals[2].map(|v| decimal(v, b2)),
            int_vals[3].map(|v| decimal(v, b3)),
            int_vals[4].map(|v| decimal(v, b4)),
        ];
        let (recorded_at, kind) = (bytes(1)?.unwrap_or(b""), bytes(2)?.unwrap_or(b""));
        let fields: [Option<&[u8]>; 12] = [
            bytes(3)?,
            ints_text[0],
            bytes(5)?,
            bytes(6)?,
            bytes(7)?,
            ints_text[1],
            bytes(9)?,
            ints_text[2],
            ints_text[3],
            bytes(12)?,
            bytes(13)?,
            ints_text[4],
        ];
        let (body, prev, hash) = (
            bytes(15)?.unwrap_or(b""),
            bytes(16)?.unwrap_or(b""),
            bytes(17)?.unwrap_or(b""),
        );
        count += 1;
        let digest = unhex(hash);
        if problem.is_none() {
            let intact = digest.is_some()
                && digest == Some(chain_digest(prev, seq, recorded_at, kind, &fields, body));
            let linked = unhex(prev) == last_digest && seq == last_seq + 1;
            if !(intact && linked) {
                let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
                let num = |b: Option<&[u8]>| text(b).and_then(|v| v.parse().ok());
                let c = Columns {
                    occurrence: text(fields[0]),
                    scheduled_at: num(fields[1]),
                    plan: text(fields[2]),
                    slot: text(fields[3]),
                    topic: text(fields[4]),
                    manual: num(fields[5]),
                    outcome: text(fields[6]),
                    played_ms: num(fields[7]),
                    duration_ms: num(fields[8]),
                    clip: text(fields[9]),
                    sha256: text(fields[10]),
                    dead_air: num(fields[11]),
                };
                let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                problem = check_link(
                    conn,
                    path,
                    seq,
                    last_seq,
                    &last_hash,
                    &s(recorded_at),
                    &s(kind),
                    &c,
                    &s(body),
                    &s(prev),
                    &s(hash),
                )?;
            }
        }
        let hash = std::str::from_utf8(hash).unwrap_or("");
        if let Some((n, h)) = pin {
            if seq == n {
                pin_ok = Some(hash == h);
            }
        }
        last_seq = seq;
        last_digest = digest;
        last_hash.clear();
        last_hash.push_str(hash);
    }
    Ok(Verification {
        events: count,
        head: last_hash,
        problem,
        pin_matches: pin_ok,
    })
}

/// Decides whether one row continues the chain, and if not, what was done to it.
#[allow(clippy::too_many_arguments)]
fn check_link(
    conn: &Connection,
    path: &Path,
    seq: i64,
    last_seq: i64,
    last_hash: &str,
    recorded_at: &str,
    kind: &str,
    c: &Columns,
    body: &str,
    prev: &str,
    hash: &str,
) -> Result<Option<Problem>, JournalError> {
    let seq_of_hash = |h: &str| {
        conn.query_row("SELECT seq FROM events WHERE hash = ?1", [h], |r| {
            r.get::<_, i64>(0)
        })
        .optional()
        .map_err(|source| JournalError::Sqlite {
            path: path.to_path_buf(),
            source,
        })
    };
    let at = |n: i64| chain_hash(prev, n, recorded_at, kind, c, body) == hash;
    if !at(seq) {
        // The content still matches its hash under another number: it was moved.
        if at(seq - 1) {
            return Ok(Some(Problem::Inserted { seq: seq - 1 }));
        }
        if at(seq + 1) {
            return Ok(Some(Problem::Removed {
                after: seq - 1,
                before: seq,
            }));
        }
        if let Some(origin) = seq_of_hash(prev)? {
            if at(origin + 1) {
                return Ok(Some(Problem::Reordered { seq }));
            }
        }
        return Ok(Some(Problem::Altered { seq }));
    }
    if prev == last_hash {
        return Ok(None);
    }
    if seq > last_seq + 1 {
        return Ok(Some(Problem::Removed {
            after: last_seq,
            before: seq,
        }));
    }
    Ok(Some(match seq_of_hash(prev)? {
        // Its true predecessor is elsewhere in the journal.
        Some(_) => Problem::Reordered { seq },
        // Its true predecessor is gone and the row before it is not part of the chain.
        None => Problem::Inserted { seq: last_seq },
    }))
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
                        c.played_ms = relay.played_ms;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn info(key: &str, at: DateTime<Utc>) -> OccurrenceInfo {
        OccurrenceInfo {
            key: key.into(),
            plan: "p".into(),
            slot: "s".into(),
            title: "t".into(),
            topic: None,
            priority: Priority::Normal,
            scheduled_at: at,
            manual: false,
            schedule_sha256: None,
        }
    }

    #[test]
    fn events_fold_into_records_and_the_table_is_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j/loaxa.db")).unwrap();
        let t = Utc.with_ymd_and_hms(2025, 9, 1, 23, 0, 0).unwrap();
        j.append(
            &Event::BroadcastStarted {
                occurrence: info("p/s@1", t),
                output: "null".into(),
                clips: vec![ClipPlan {
                    rel: "q/a.mp3".into(),
                    sha256: "ab".into(),
                    duration_ms: 1000,
                    role: Role::Clip,
                    topic: None,
                    gain_db: None,
                }],
            },
            t,
        )
        .unwrap();
        assert_eq!(j.unfinished().unwrap().len(), 1);
        j.append(
            &Event::ClipAired {
                occurrence: "p/s@1".into(),
                scheduled_at: t,
                index: 0,
                rel: "q/a.mp3".into(),
                sha256: "ab".into(),
                topic: None,
                levels: None,
                duration_ms: 1000,
                played_ms: 1000,
                outcome: Outcome::Completed,
                reason: None,
            },
            t,
        )
        .unwrap();
        j.append(
            &Event::BroadcastEnded {
                occurrence: info("p/s@1", t),
                outcome: Outcome::Completed,
                reason: None,
                started_at: Some(t),
                ended_at: t,
                stream: None,
            },
            t,
        )
        .unwrap();
        assert!(j.unfinished().unwrap().is_empty());
        let r = j.records(t, t + chrono::Duration::seconds(1)).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].outcome, Some(Outcome::Completed));
        assert_eq!(r[0].clips[0].played_ms, 1000);
        assert!(j.knows("p/s@1").unwrap());
        assert_eq!(j.last_aired("q").unwrap().len(), 1);
        assert!(j.last_aired("qq").unwrap().is_empty());

        assert!(j
            .conn
            .execute("UPDATE events SET body = 'x' WHERE seq = 1", [])
            .is_err());
        assert!(j
            .conn
            .execute("DELETE FROM events WHERE seq = 1", [])
            .is_err());

        let (n, head) = j.head();
        assert_eq!(n, 3);
        let reopened = Journal::open(j.path()).unwrap();
        assert_eq!(reopened.head().1, head);
    }
}
