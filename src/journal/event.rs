//! The events the journal stores, as the rest of loaxa writes and reads them: what an
//! occurrence was, each clip's and relay's result, how a broadcast ended and why, and the
//! twelve columns every event is hashed over.

use super::*;

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
    /// Every outcome code, in the order tables list them, and `unfinished` for a broadcast
    /// not ended: the one list the log's filter, the console and the report's columns use.
    pub const CODES: &'static [&'static str] = &[
        "completed",
        "partial",
        "failed",
        "missed",
        "interrupted",
        "unfinished",
    ];

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
    /// Withdrawn by whoever sent it (a province's bulletin): a false alarm must be
    /// stoppable.
    Withdrawn {
        bulletin: Option<i64>,
        reason: String,
    },
    /// A live occurrence its operator ended (`by`: the account, or `command line`).
    LiveEnded {
        by: String,
    },
    /// A live voice from a browser whose connection went (the tab closed, the network
    /// dropped), and what the relay heard of it.
    VoiceLost {
        error: String,
    },
    /// Its end (a bulletin's `until`) passed before it could air.
    PastEnd {
        file: String,
        ends: DateTime<Utc>,
    },
    /// A hand-over (an emergency) found older than the station allows: a warning aired
    /// hours late is worse than none.
    Expired {
        /// The file as it was handed over, under the audio folder.
        file: String,
        handed_at: DateTime<Utc>,
        age_seconds: i64,
        max_age_seconds: i64,
    },
}

impl Reason {
    /// A short label for a reason's code alone (as a rollup keeps it, without details).
    pub fn label_of(code: &str, lang: Lang) -> Option<&'static str> {
        let (vi, en) = match code {
            "not_running" => ("loaxa không chạy", "loaxa not running"),
            "too_late" => (
                "quá giờ (máy bận hoặc ngủ)",
                "too late (machine busy or asleep)",
            ),
            "clock_stepped" => (
                "đồng hồ bị chỉnh nhảy qua giờ phát",
                "clock stepped past it",
            ),
            "no_device" => ("không có thiết bị âm thanh", "no sound device"),
            "device_error" => ("lỗi thiết bị âm thanh", "sound device error"),
            "damaged_file" => ("tệp bị hỏng", "damaged file"),
            "missing_file" => ("không tìm thấy tệp", "file not found"),
            "stopped" => ("dừng dịch vụ", "service stopped"),
            "preempted" => (
                "nhường sóng cho bản tin ưu tiên hơn",
                "gave way to a higher priority",
            ),
            "crashed" => ("tắt đột ngột khi đang phát", "ended abruptly while airing"),
            "nothing_to_play" => ("không có bài nào để phát", "nothing to play"),
            "did_not_fit" => ("không đủ thời lượng", "did not fit the slot's minutes"),
            "clips_skipped" => ("có bài bị bỏ qua", "clips skipped"),
            "ended_early" => ("tệp kết thúc sớm", "file ended early"),
            "quiet_hours" => ("trong giờ yên tĩnh", "within quiet hours"),
            "session_limit" => ("đã đủ số phiên trong ngày", "daily session limit reached"),
            "source_down" => (
                "nguồn tiếp sóng không có tín hiệu",
                "relay source gave no audio",
            ),
            "source_gaps" => ("nguồn tiếp sóng bị mất quãng", "relay source dropped out"),
            "dead_air" => ("phát ra gần như im lặng", "dead air"),
            "expired" => ("tin khẩn cấp quá hạn", "stale emergency"),
            "withdrawn" => ("bị thu hồi", "withdrawn"),
            "past_end" => ("quá thời hạn phát", "past its end"),
            "live_ended" => ("người nói dừng phát trực tiếp", "ended by whoever spoke"),
            "voice_lost" => (
                "mất kết nối với trình duyệt phát trực tiếp",
                "lost the live browser",
            ),
            _ => return None,
        };
        Some(lang.pick(vi, en))
    }

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
            Reason::Expired {
                age_seconds,
                max_age_seconds,
                ..
            } => tr!(
                lang,
                "tin khẩn cấp quá hạn, không phát: giao cách đây {}, quá {} cho phép",
                "a stale emergency, not aired: handed over {} before, beyond the {} allowed",
                lang.span(*age_seconds),
                lang.span(*max_age_seconds)
            ),
            Reason::Withdrawn { reason, .. } => {
                tr!(lang, "bị thu hồi: {reason}", "withdrawn: {reason}")
            }
            Reason::LiveEnded { by } => {
                tr!(lang, "{by} dừng phát trực tiếp", "live ended by {by}")
            }
            Reason::VoiceLost { error } => tr!(
                lang,
                "mất kết nối với trình duyệt đang phát trực tiếp: {error}",
                "lost the browser that was live: {error}"
            ),
            Reason::PastEnd { file, ends } => tr!(
                lang,
                "đã quá thời hạn phát ({}), không phát: {file}",
                "past its end ({}), not aired: {file}",
                ends.format("%Y-%m-%d %H:%M UTC")
            ),
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
    /// The province's bulletin the clip is (its sidecar says), so the centre counts an
    /// airing for that bulletin and no other that shares its audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulletin: Option<i64>,
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
        /// The province's bulletin the clip is, if it is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bulletin: Option<i64>,
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
    pub(super) fn text(&self) -> [Option<String>; 12] {
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

    pub(super) fn kind(&self) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reason's code has a label of its own (the province's report words rollups,
    /// which keep only the code, with it; regression #23: "device error" in English).
    #[test]
    fn every_reason_code_has_a_label_in_both_languages() {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        let s = String::new;
        for r in [
            Reason::NotRunning,
            Reason::TooLate { late_seconds: 1 },
            Reason::ClockStepped,
            Reason::NoDevice(s()),
            Reason::DeviceError(s()),
            Reason::DamagedFile {
                file: s(),
                reason: s(),
            },
            Reason::MissingFile(s()),
            Reason::Stopped,
            Reason::Preempted(s()),
            Reason::Crashed,
            Reason::NothingToPlay,
            Reason::DidNotFit { clips: vec![] },
            Reason::ClipsSkipped { count: 1 },
            Reason::EndedEarly,
            Reason::QuietHours { hours: s() },
            Reason::SessionLimit { per_day: 1 },
            Reason::SourceDown {
                source: s(),
                error: s(),
            },
            Reason::SourceGaps {
                count: 1,
                missing_ms: 1,
                error: None,
            },
            Reason::DeadAir,
            Reason::Withdrawn {
                bulletin: None,
                reason: s(),
            },
            Reason::PastEnd { file: s(), ends: t },
            Reason::LiveEnded { by: s() },
            Reason::VoiceLost { error: s() },
            Reason::Expired {
                file: s(),
                handed_at: t,
                age_seconds: 1,
                max_age_seconds: 1,
            },
        ] {
            let v = serde_json::to_value(&r).unwrap();
            let code = v["code"].as_str().unwrap();
            let vi = Reason::label_of(code, Lang::Vi).unwrap_or_else(|| panic!("{code}"));
            let en = Reason::label_of(code, Lang::En).unwrap_or_else(|| panic!("{code}"));
            assert_ne!(vi, en, "{code}");
        }
    }
}
