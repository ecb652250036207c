//! The daemon's deadline loop. It computes what falls due from the schedules (in the
//! station's zone), sleeps on the monotonic clock until shortly before the next instant
//! (waking at least once a second to notice wall-clock steps and suspend/resume), hands the
//! prepared broadcast to the audio thread to start on the second, and journals everything:
//! what aired, what was cut, and what was missed and why. Clock, output and shutdown are
//! injected, mini-redis style, so tests drive days of schedule in milliseconds.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use crate::audio::{AirReport, AudioHandle};
use crate::backlog::Backlog;
use crate::broadcast::{self, Prepared};
use crate::catalog::{Catalog, ClipState};
use crate::clock::Clock;
use crate::journal::{Event, Journal, JournalError, OccurrenceInfo, Outcome, Reason};
use crate::lang::Lang;
use crate::plan::{Due, Planned, Planner, QueueHistory, QueueRules};
use crate::recurrence;
use crate::schedule::Slot;
use crate::station::Station;
use crate::status::{self, OnAir, Status, Upcoming};
use crate::tr;

/// How long before its first sample a broadcast's start is journaled (an fsync), at least; an
/// output that writes its samples further ahead (a sound device's buffer) asks for more.
const JOURNAL_AHEAD_MS: i64 = 40;

/// How long before its instant a broadcast is handed to the audio thread: enough to open
/// the device and decode the first clip, so the first sample goes out on the second.
pub const LEAD: Duration = Duration::from_millis(1500);
/// The longest the loop sleeps without looking at the wall clock.
pub const TICK: Duration = Duration::from_secs(30);
/// The longest the loop sleeps while a broadcast airs. Events and the next occurrence wake it
/// sooner; this bounds how far a fake clock runs ahead of a broadcast playing in real time.
const AIRING_TICK: Duration = Duration::from_secs(1);
/// How often the configuration and schedules are looked at when no event said they changed.
const FILES_RECHECK: Duration = Duration::from_secs(30);
/// A disagreement between wall and monotonic time larger than this is a clock step.
const STEP_THRESHOLD: chrono::Duration = chrono::Duration::seconds(2);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Journal(#[from] JournalError),
}

pub struct RunOptions {
    /// Air every slot once, right after start, as a journaled manual rehearsal.
    pub rehearse: bool,
    /// The longest sleep between looks at the wall clock ([`TICK`]); tests on a fake clock
    /// raise it to cover months quickly.
    pub tick: Duration,
    /// The service manager to tell about readiness, status and liveness, if any.
    pub notifier: Option<crate::service::Notifier>,
    /// How to read the configuration again when its file changes; `None` keeps it fixed.
    pub reload: Option<ConfigReload>,
    /// Signalled on SIGHUP: configuration, schedules and audio folder are read again at once.
    pub hangup: Option<Arc<tokio::sync::Notify>>,
}

/// Reads the station's configuration again, with the same environment and flags as at start.
pub type ConfigReload =
    Box<dyn Fn() -> Result<crate::config::Config, crate::config::ConfigError> + Send>;

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("rehearse", &self.rehearse)
            .field("tick", &self.tick)
            .finish_non_exhaustive()
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            rehearse: false,
            tick: TICK,
            notifier: None,
            reload: None,
            hangup: None,
        }
    }
}

/// An occurrence waiting its turn.
type Pending = Due;

struct Daemon<'a> {
    station: &'a Station,
    /// The configuration in force: the station's at start, then each valid edit.
    config: crate::config::Config,
    /// Reads the configuration again (file, environment, flags), for live edits and SIGHUP.
    reload: Option<ConfigReload>,
    /// The configuration file as last seen.
    config_stamp: Option<FileStamp>,
    /// A configuration version that failed, reported once.
    config_rejected: Option<FileStamp>,
    /// Set by SIGHUP: look at everything again now.
    hangup: Option<Arc<tokio::sync::Notify>>,
    journal: &'a mut Journal,
    audio: AudioHandle,
    clock: Arc<dyn Clock>,
    /// Every occurrence at or before this instant has been aired, queued or journaled.
    cursor: DateTime<Utc>,
    /// Wall-clock spans skipped by a forward step.
    steps: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    last_wall: DateTime<Utc>,
    last_mono: Duration,
    /// Occurrences that fell due while another was airing, to air next.
    queue: Vec<Pending>,
    stopping: bool,
    schedule_hashes: HashMap<String, String>,
    tick: Duration,
    /// The schedules in force: those loaded at start, then each valid edit.
    schedules: crate::schedule::Schedules,
    /// Schedule file versions that failed validation (path → content hash), reported once.
    rejected: HashMap<std::path::PathBuf, String>,
    /// The schedules folder as last seen, to skip re-reading it when nothing changed.
    schedules_stamp: Option<Vec<FileStamp>>,
    /// Counts the changes put in force (schedules or configuration): what was worked out
    /// from the old ones is worked out again.
    schedules_epoch: u64,
    notifier: Option<crate::service::Notifier>,
    /// What `loaxa status` reads, and when it was last written.
    status: Status,
    status_written: Option<std::time::Instant>,
    /// Rendered errors of rejected schedule files, for the status.
    rejected_errors: std::collections::BTreeMap<std::path::PathBuf, Vec<String>>,
    /// Whether this is the station's daemon, which alone writes its status, library list and
    /// retirements; a one-shot `loaxa play` airs and journals, nothing more.
    publishes: bool,
    /// Emergency files whose airing failed, with when: retried after [`EMERGENCY_RETRY`].
    emergency_failed: HashMap<String, std::time::Instant>,
    /// The audio folder: what is complete, decodes, and may air.
    catalog: Catalog,
    /// Saved files and clock steps, reported as they happen (absent in one-shot commands).
    wakers: Option<crate::watch::Wakers>,
    /// When the configuration and schedules were last looked at, on the daemon's monotonic
    /// clock (a fake clock's time in tests, so their edits are seen on schedule).
    files_checked: Option<Duration>,
    /// Clips were being measured at the last look (their memory is released when done).
    was_ingesting: bool,
    /// The library status needs writing (the catalog changed, or a clip aired).
    library_dirty: bool,
    /// Events the journal refused (full disk, read-only), held until it takes writes again.
    backlog: Backlog,
    /// Undeclared clip topics already warned about (clip, topic).
    topic_warned: std::collections::HashSet<(String, String)>,
    /// The output failed: when to look for it again, and the current back-off.
    device_down: Option<(std::time::Instant, Duration)>,
    /// When the backlog was last offered to the journal, and last announced.
    backlog_tried: Option<std::time::Instant>,
    backlog_announced: Option<std::time::Instant>,
}

/// The first and the longest wait between looks for a lost sound device.
const DEVICE_RETRY_FIRST: Duration = Duration::from_secs(2);
const DEVICE_RETRY_MAX: Duration = Duration::from_secs(60);

/// How often held journal events are offered to the journal again.
const BACKLOG_RETRY: Duration = Duration::from_secs(5);
/// How often the operator is reminded that events are held.
const BACKLOG_REMIND: Duration = Duration::from_secs(60);

/// The plan name emergencies are journaled under (they are not part of any plan).
pub const EMERGENCY_PLAN: &str = "khan-cap";
/// The plan and slot a clip aired by hand (`loaxa play`) is journaled under.
pub const MANUAL_PLAN: &str = "manual";
const MANUAL_SLOT: &str = "play";
/// The folder under the audio folder where `loaxa play` (or an operator) hands a clip to the
/// running daemon: it airs once, as soon as nothing is on air, journaled manual, then moves
/// to the folder's `da-phat/`.
pub const PLAY_DIR: &str = "phat-ngay";
/// How long after a failed attempt (no device, say) an emergency file is tried again.
const EMERGENCY_RETRY: Duration = Duration::from_secs(30);

/// Hands memory freed by start-up (schedule parsing, decoding clips to measure them) and by a
/// broadcast (decoder buffers) back to the system: the daemon idles for hours between
/// sessions, and glibc keeps freed heap by default.
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The configured attention signal aired before each emergency, if any.
fn emergency_intro(cfg: &crate::config::Config) -> Option<crate::schedule::ClipRef> {
    cfg.emergency_intro
        .as_ref()
        .map(|rel| crate::schedule::ClipRef {
            rel: rel.clone(),
            topic: None,
        })
}

/// A file's name, size and modification time.
type FileStamp = (std::path::PathBuf, u64, Option<SystemTime>);

fn file_stamp(path: &std::path::Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((path.to_path_buf(), m.len(), m.modified().ok()))
}

fn folder_stamp(dir: &std::path::Path) -> Vec<FileStamp> {
    let mut v: Vec<FileStamp> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let m = e.metadata().ok()?;
                    Some((e.path(), m.len(), m.modified().ok()))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Runs the station until `shutdown` resolves. Journals the start, recovers from an abrupt
/// previous end, accounts for what fell due while loaxa was down, then airs the schedule.
pub async fn run(
    station: &Station,
    journal: &mut Journal,
    audio: AudioHandle,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()>,
    options: RunOptions,
) -> Result<(), DaemonError> {
    let now = clock.now();
    let mut d = Daemon::new(station, journal, audio, clock, true);
    d.startup(now)?;
    d.refresh_catalog()?;
    release_memory();
    if options.rehearse {
        let at = now + chrono::Duration::seconds(3);
        for slot in station.schedules.slots() {
            d.queue.push(Pending {
                slot: slot.clone(),
                at,
                manual: true,
                schedule_sha256: None,
            });
        }
        tracing::info!(
            "{}",
            tr!(
                d.lang(),
                "phát thử: {} phiên sẽ lần lượt phát ngay sau 3 giây (ghi nhật ký là phát thủ công)",
                "rehearsal: {} slot(s) will air back to back in 3 seconds (journaled as manual)",
                d.queue.len()
            )
        );
    }
    let mut shutdown = pin!(shutdown);
    d.tick = options.tick;
    d.notifier = options.notifier;
    d.reload = options.reload;
    d.hangup = options.hangup;
    d.publish_status(true);
    if let Some(n) = &d.notifier {
        n.ready(&d.next_status());
    }
    d.main_loop(&mut shutdown).await?;
    if let Some(n) = &d.notifier {
        n.stopping();
    }
    // Not running any more: no status to read.
    status::remove(&status::path_for(&d.config.journal));
    let now = d.clock.now();
    d.record(
        &[Event::StationStopped {
            reason: "shutdown".into(),
        }],
        now,
    );
    if !d.backlog.is_empty() {
        tracing::error!(
            "{}",
            tr!(
                d.lang(),
                "{} sự kiện chưa ghi được vào nhật ký, đang giữ trong {}: sẽ được ghi khi loaxa chạy lại và nhật ký ghi được",
                "{} event(s) could not reach the journal and wait in {}: they are written when loaxa runs again and the journal takes writes",
                d.backlog.len(),
                d.backlog
                    .file()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "(memory only: LOST)".into())
            )
        );
    }
    tracing::info!("{}", d.lang().pick("đã dừng loaxa", "loaxa stopped"));
    Ok(())
}

impl<'a> Daemon<'a> {
    fn new(
        station: &'a Station,
        journal: &'a mut Journal,
        audio: AudioHandle,
        clock: Arc<dyn Clock>,
        watch: bool,
    ) -> Daemon<'a> {
        let now = clock.now();
        let mono = clock.monotonic();
        Daemon {
            station,
            config: station.config.clone(),
            reload: None,
            config_stamp: station.config.file.as_deref().and_then(file_stamp),
            config_rejected: None,
            hangup: None,
            journal,
            audio,
            clock,
            cursor: now,
            steps: Vec::new(),
            last_wall: now,
            last_mono: mono,
            queue: Vec::new(),
            stopping: false,
            tick: TICK,
            schedules: station.schedules.clone(),
            rejected: HashMap::new(),
            schedules_stamp: None,
            schedules_epoch: 0,
            notifier: None,
            status: Status {
                pid: std::process::id(),
                version: env!("CARGO_PKG_VERSION").into(),
                output: String::new(),
                started_at: now,
                updated_at: now,
                on_air: None,
                next: Vec::new(),
                rejected: Vec::new(),
                output_error: None,
                output_lost_since: None,
                journal_pending: 0,
                journal_error: None,
            },
            status_written: None,
            rejected_errors: Default::default(),
            emergency_failed: HashMap::new(),
            publishes: watch,
            catalog: Catalog::new(
                &station.config.audio_dir,
                station.probes.clone(),
                station.config.language,
                watch,
            ),
            wakers: watch.then(|| {
                let mut paths = vec![station.config.schedules_dir.as_path()];
                if let Some(f) = station.config.file.as_deref() {
                    paths.push(f);
                }
                crate::watch::Wakers::start(&paths, station.config.language)
            }),
            files_checked: None,
            was_ingesting: false,
            library_dirty: true,
            backlog: Backlog::new(&station.config.journal),
            backlog_tried: None,
            backlog_announced: None,
            device_down: None,
            topic_warned: Default::default(),
            schedule_hashes: station
                .schedules
                .files
                .iter()
                .map(|f| (f.plan.id.clone(), f.sha256.clone()))
                .collect(),
        }
    }

    fn lang(&self) -> Lang {
        self.config.language
    }

    fn startup(&mut self, now: DateTime<Utc>) -> Result<(), DaemonError> {
        let lang = self.lang();
        // Events a previous run could not journal come first: they happened before anything
        // this run does.
        let recovered = self.backlog.recover(self.journal)?;
        if recovered > 0 {
            match self.backlog.flush(self.journal) {
                Ok(n) => tracing::warn!(
                    "{}",
                    tr!(
                        lang,
                        "đã ghi vào nhật ký {n} sự kiện lần chạy trước chưa ghi được",
                        "journaled {n} event(s) the previous run could not write"
                    )
                ),
                Err(e) => {
                    self.backlog.error = Some(e.to_string());
                    tracing::error!(
                        "{}",
                        tr!(
                            lang,
                            "nhật ký vẫn chưa ghi được ({e}): {recovered} sự kiện của lần chạy trước vẫn đang chờ",
                            "the journal still refuses writes ({e}): {recovered} event(s) from the previous run still wait"
                        )
                    );
                }
            }
        }
        // When was loaxa last known to be alive? Everything due after that and before now
        // (less the grace) fell due while it was not running.
        let last_seen = match (
            self.journal.last_activity()?,
            self.journal.last_scheduled()?,
        ) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };

        // A broadcast started but never ended: loaxa died while airing.
        for r in self.journal.unfinished()? {
            tracing::warn!(
                "{}",
                tr!(
                    lang,
                    "phiên {} lúc {} bị ngắt vì loaxa tắt đột ngột",
                    "the broadcast {} at {} was cut: loaxa ended abruptly",
                    r.info.title,
                    self.local(r.info.scheduled_at)
                )
            );
            self.record(
                std::slice::from_ref(&Event::BroadcastEnded {
                    occurrence: r.info.clone(),
                    outcome: Outcome::Interrupted,
                    reason: Some(Reason::Crashed),
                    started_at: None,
                    ended_at: now,
                }),
                now,
            );
        }

        // What was in force before this start decides what was owed while loaxa was down:
        // an edit made while it was stopped does not rewrite that history.
        let previous = self.journal.schedules_in_force()?;
        // The last run answered for occurrences from its own start (less the grace) on, and
        // a kill can leave some of them unjournaled — one it was about to air late, or one
        // waiting behind a broadcast — though later events were written. So this start
        // looks again from there; what the journal already has is skipped. A version loaded
        // mid-run owes nothing from before it came in. Older journals do not say where the
        // last run began; there the last sign of life has to do.
        let owed_from = match self.journal.last_accounts_from()? {
            Some(from) => {
                let last_start = self.journal.last_started()?;
                let mut since = BTreeMap::new();
                for (file, _, _) in &previous {
                    let bound = match self.journal.schedule_loaded_at(file)? {
                        Some(loaded) if last_start.is_some_and(|s| loaded > s) => loaded.max(from),
                        _ => from,
                    };
                    since.insert(file.clone(), bound);
                }
                Some((from, since))
            }
            None => last_seen.map(|seen| (seen, BTreeMap::new())),
        };
        let grace = chrono::Duration::from_std(self.config.grace).unwrap_or_default();
        let horizon = now - grace;

        self.record(
            std::slice::from_ref(&Event::StationStarted {
                version: env!("CARGO_PKG_VERSION").into(),
                output: self.audio.output_name().to_string(),
                accounts_from: Some(horizon),
            }),
            now,
        );
        let mut present = std::collections::BTreeSet::new();
        let mut versions = Vec::new();
        for f in &self.schedules.files {
            let name = f.file.display().to_string();
            present.insert(name.clone());
            if self.journal.last_schedule_version(&name)?.as_deref() != Some(f.sha256.as_str()) {
                versions.push(Event::ScheduleLoaded {
                    file: name,
                    sha256: f.sha256.clone(),
                    content: f.text.clone(),
                });
            }
        }
        for (file, _, _) in &previous {
            if !present.contains(file) {
                versions.push(Event::ScheduleUnloaded { file: file.clone() });
            }
        }
        for e in versions {
            self.record(&[e], now);
        }

        if let Some((from, since)) = owed_from {
            let owed = self.owed_while_down(&previous, &since, from, horizon);
            // After a long run most of these are journaled: one range query, not one each.
            let known = self.journal.occurrences_scheduled(from, horizon)?;
            let mut missed = Vec::new();
            for p in owed {
                if known.contains(&self.info(&p).key) {
                    continue;
                }
                missed.extend(self.missed(&p, Reason::NotRunning)?);
            }
            // One write for all of them: a week down at a busy station is thousands.
            let count = missed.len();
            self.record(&missed, now);
            if count > 0 {
                tracing::warn!(
                    "{}",
                    tr!(
                        lang,
                        "{count} lần phát đã bị lỡ khi loaxa không chạy (đã ghi vào nhật ký)",
                        "{count} occurrence(s) fell due while loaxa was not running (journaled as missed)"
                    )
                );
            }
        }
        self.cursor = horizon;
        tracing::info!(
            "{}",
            tr!(
                lang,
                "đài «{}» đã sẵn sàng; đầu ra: {}; múi giờ {}",
                "station “{}” ready; output: {}; time zone {}",
                self.config.station_name,
                self.config.output.describe(lang),
                self.config.timezone
            )
        );
        match recurrence::next_after(
            self.schedules.slots(),
            self.config.timezone,
            now,
            chrono::Duration::days(400),
        ) {
            Some(o) => tracing::info!(
                "{}",
                tr!(
                    lang,
                    "lần phát tiếp theo: {} «{}» lúc {} ({})",
                    "next: {} “{}” at {} ({})",
                    o.slot.id,
                    o.slot.title,
                    self.local(o.at),
                    self.config.timezone
                )
            ),
            None => tracing::warn!(
                "{}",
                lang.pick(
                    "không có lần phát nào trong 400 ngày tới",
                    "nothing is scheduled in the next 400 days"
                )
            ),
        }
        Ok(())
    }

    /// Occurrences in `(from, until]` of the schedules that were in force (as the journal
    /// stored them), or of the current ones for a journal that predates version storage.
    /// A stored version's occurrences start after `since[file]` where that is given.
    fn owed_while_down(
        &self,
        previous: &[(String, String, String)],
        since: &BTreeMap<String, DateTime<Utc>>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<Pending> {
        let tz = self.config.timezone;
        let now_pending = |o: recurrence::Occurrence<'_>, sha: Option<String>| Pending {
            slot: o.slot.clone(),
            at: o.at,
            manual: false,
            schedule_sha256: sha,
        };
        if previous.is_empty() {
            return recurrence::between(self.schedules.slots(), tz, from, until)
                .into_iter()
                .map(|o| now_pending(o, None))
                .collect();
        }
        let ctx = crate::schedule::Context {
            lang: self.lang(),
            audio_dir: None,
            probes: None,
            loudness: None,
            guards: None,
        };
        let mut out = Vec::new();
        for (file, sha, content) in previous {
            match crate::schedule::parse(std::path::Path::new(file), content, &ctx, 0) {
                (Some(schedule), _) => {
                    let from = since.get(file).copied().unwrap_or(from);
                    for o in recurrence::between(schedule.slots.iter(), tz, from, until) {
                        out.push(now_pending(o, Some(sha.clone())));
                    }
                }
                (None, _) => tracing::warn!("stored schedule version {sha} of {file} no longer parses; its occurrences while loaxa was down cannot be accounted"),
            }
        }
        out.sort_by_key(|p| p.at);
        out
    }

    fn local(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.config.timezone)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }

    fn info(&self, p: &Pending) -> OccurrenceInfo {
        broadcast::occurrence_info(
            &p.slot,
            p.at,
            p.manual,
            p.schedule_sha256
                .clone()
                .or_else(|| self.schedule_hashes.get(&p.slot.plan).cloned()),
        )
    }

    /// Journals an occurrence as missed, unless the journal already accounts for it.
    fn journal_missed(
        &mut self,
        p: &Pending,
        reason: Reason,
        now: DateTime<Utc>,
    ) -> Result<bool, DaemonError> {
        let Some(event) = self.missed(p, reason)? else {
            return Ok(false);
        };
        self.record(std::slice::from_ref(&event), now);
        Ok(true)
    }

    /// The event that journals an occurrence as missed, said in the log; `None` if the
    /// journal already accounts for it.
    fn missed(&self, p: &Pending, reason: Reason) -> Result<Option<Event>, DaemonError> {
        let info = self.info(p);
        if self.knows(&info.key)? {
            return Ok(None);
        }
        tracing::warn!(
            "{}",
            tr!(
                self.lang(),
                "bị lỡ: {} lúc {} — {}",
                "missed: {} at {} — {}",
                p.slot.title,
                self.local(p.at),
                reason.text(self.lang())
            )
        );
        Ok(Some(Event::OccurrenceMissed {
            occurrence: info,
            reason,
        }))
    }

    /// Writes the status file: at once when `force`, else at most every heartbeat.
    fn publish_status(&mut self, force: bool) {
        if !self.publishes {
            return;
        }
        if !force
            && self
                .status_written
                .is_some_and(|t| t.elapsed() < status::HEARTBEAT)
        {
            return;
        }
        let now = self.clock.now();
        self.status.output = self.audio.output_name().to_string();
        self.status.updated_at = now;
        let planner = Planner {
            config: &self.config,
            catalog: &self.catalog,
            probes: &self.station.probes,
        };
        let lang = self.lang();
        match planner.forecast(
            &self.schedules,
            Some(&*self.journal),
            now,
            now + chrono::Duration::days(14),
            5,
        ) {
            Ok(ahead) => {
                self.status.next = ahead
                    .into_iter()
                    .map(|(due, planned)| Upcoming::of(&due, &planned, lang))
                    .collect();
            }
            Err(e) => tracing::debug!("status: next occurrences: {e}"),
        }
        self.status.rejected = self
            .rejected_errors
            .iter()
            .map(|(file, errors)| status::Rejected {
                file: file.display().to_string(),
                errors: errors.clone(),
            })
            .collect();
        let path = status::path_for(&self.config.journal);
        if let Err(e) = status::write(&path, &self.status) {
            // Only worth saying once: the station airs regardless.
            if self.status_written.is_none() {
                tracing::warn!("{}: {e}", path.display());
            }
        }
        self.status_written = Some(std::time::Instant::now());
    }

    /// Complete, decodable files handed over in the emergency folder and the play folder
    /// that are not yet queued. An emergency file becomes an emergency broadcast of the file
    /// repeated as configured; a played one airs once, as soon as nothing is on air.
    /// (Undecodable ones are reported by the catalog, once.)
    fn scan_handed(&mut self) -> Vec<Pending> {
        let lang = self.lang();
        let mut out = Vec::new();
        for dir in [self.config.emergency_dir.clone(), PLAY_DIR.to_string()] {
            let emergency = dir == self.config.emergency_dir;
            let ready: Vec<String> = self
                .catalog
                .queue(&dir)
                .filter(|c| matches!(c.state, ClipState::Ready(_)))
                .map(|c| c.rel.clone())
                .collect();
            for rel in ready {
                let queued = self
                    .queue
                    .iter()
                    .any(|q| self.handed_file(q).is_some_and(|f| f == rel));
                let resting = self
                    .emergency_failed
                    .get(&rel)
                    .is_some_and(|t| t.elapsed() < EMERGENCY_RETRY);
                let on_air = self
                    .status
                    .on_air
                    .as_ref()
                    .is_some_and(|a| a.clips.contains(&rel));
                if queued || resting || on_air {
                    continue;
                }
                let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
                let clip = crate::schedule::ClipRef {
                    rel: rel.clone(),
                    topic: None,
                };
                let slot = if emergency {
                    tracing::warn!(
                        "{}",
                        tr!(
                            lang,
                            "TIN KHẨN CẤP: {} — phát ngay",
                            "EMERGENCY: {} — airing now",
                            name
                        )
                    );
                    let mut slot = Slot::ad_hoc(
                        EMERGENCY_PLAN,
                        EMERGENCY_PLAN,
                        tr!(lang, "Tin khẩn cấp: {name}", "Emergency: {name}"),
                        crate::schedule::Priority::Emergency,
                        vec![clip; self.config.emergency_repeat as usize],
                    );
                    slot.intro = emergency_intro(&self.config);
                    slot
                } else {
                    tracing::info!(
                        "{}",
                        tr!(
                            lang,
                            "nhận bài phát thủ công {}: phát ngay khi không có gì đang phát",
                            "manual play {} handed over: it airs as soon as nothing is on air",
                            name
                        )
                    );
                    Slot::ad_hoc(
                        MANUAL_PLAN,
                        MANUAL_SLOT,
                        tr!(lang, "phát thủ công: {name}", "manual play: {name}"),
                        crate::schedule::Priority::Normal,
                        vec![clip],
                    )
                };
                out.push(Pending {
                    slot,
                    at: self.clock.now(),
                    manual: true,
                    schedule_sha256: None,
                });
            }
        }
        out
    }

    /// The handed-over file an occurrence airs, if it came through a hand-over folder.
    fn handed_file<'p>(&self, p: &'p Pending) -> Option<&'p str> {
        if !p.manual {
            return None;
        }
        let rel = p.slot.play.first().map(|c| c.rel.as_str())?;
        let dir = match p.slot.plan.as_str() {
            EMERGENCY_PLAN => self.config.emergency_dir.as_str(),
            MANUAL_PLAN => PLAY_DIR,
            _ => return None,
        };
        rel.strip_prefix(dir)
            .is_some_and(|r| r.starts_with('/'))
            .then_some(rel)
    }

    /// Journals events, or, if the journal refuses them (a full disk, a read-only file), holds
    /// them and says so loudly: the station keeps airing either way.
    fn record(&mut self, events: &[Event], at: DateTime<Utc>) {
        if events.is_empty() {
            return;
        }
        if !self.backlog.is_empty() {
            self.retry_backlog(true);
        }
        // Behind held events, new ones wait their turn: the journal's order is the order of
        // what happened.
        let result = if self.backlog.is_empty() {
            self.journal
                .append_all(events, at)
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else {
            Err(self.backlog.error.clone().unwrap_or_default())
        };
        if let Err(reason) = result {
            let first = self.backlog.is_empty();
            self.backlog
                .hold(events, at, self.journal.head().0, reason.clone());
            if first
                || self
                    .backlog_announced
                    .is_none_or(|t| t.elapsed() >= BACKLOG_REMIND)
            {
                self.announce_backlog(&reason);
            }
            self.status.journal_pending = self.backlog.len();
            self.status.journal_error = Some(reason);
            self.publish_status(true);
        }
    }

    fn announce_backlog(&mut self, reason: &str) {
        self.backlog_announced = Some(std::time::Instant::now());
        tracing::error!(
            "{}",
            tr!(
                self.lang(),
                "KHÔNG GHI ĐƯỢC NHẬT KÝ ({reason}). loaxa vẫn phát bình thường; {} sự kiện đang được giữ trong bộ nhớ và trong {}, sẽ ghi vào nhật ký ngay khi ghi được. Hãy giải phóng ổ đĩa hoặc sửa quyền ghi.",
                "CANNOT WRITE THE JOURNAL ({reason}). loaxa keeps airing; {} event(s) are held in memory and in {}, to be journaled as soon as it takes writes. Free disk space or fix its permissions.",
                self.backlog.len(),
                self.backlog
                    .file()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "(no fallback file could be written)".into())
            )
        );
        if let Some(n) = &self.notifier {
            n.status(&format!(
                "JOURNAL NOT WRITABLE: {} event(s) held",
                self.backlog.len()
            ));
        }
    }

    /// Offers held events to the journal again (every [`BACKLOG_RETRY`], or now if `force`).
    fn retry_backlog(&mut self, force: bool) {
        if self.backlog.is_empty()
            || (!force
                && self
                    .backlog_tried
                    .is_some_and(|t| t.elapsed() < BACKLOG_RETRY))
        {
            return;
        }
        self.backlog_tried = Some(std::time::Instant::now());
        let mut flushed = self.backlog.flush(self.journal);
        if flushed.is_err() {
            // A connection SQLite opened read-only (a read-only file system at start, which it
            // does not always report as such) never becomes writable: open the journal afresh.
            match self.journal.reopen() {
                Ok(true) => flushed = self.backlog.flush(self.journal),
                Ok(false) => {}
                Err(e) => flushed = Err(e),
            }
        }
        match flushed {
            Ok(n) => {
                tracing::warn!(
                    "{}",
                    tr!(
                        self.lang(),
                        "nhật ký ghi được trở lại: đã ghi {n} sự kiện đang chờ",
                        "the journal takes writes again: {n} held event(s) written"
                    )
                );
                self.backlog_announced = None;
                self.status.journal_pending = 0;
                self.status.journal_error = None;
                self.publish_status(true);
            }
            Err(e) => {
                self.backlog.error = Some(e.to_string());
                if self
                    .backlog_announced
                    .is_none_or(|t| t.elapsed() >= BACKLOG_REMIND)
                {
                    self.announce_backlog(&e.to_string());
                }
            }
        }
    }

    /// Whether the journal, or the events held for it, already account for an occurrence.
    fn knows(&self, key: &str) -> Result<bool, DaemonError> {
        Ok(self.backlog.knows(key) || self.journal.knows(key)?)
    }

    /// While the output is lost, looks for it again with a growing back-off (2 s up to a
    /// minute), so the operator hears when it is back and a waiting emergency airs at once.
    /// Not right before a broadcast: that opens the device itself.
    async fn look_for_device(&mut self, lead: chrono::Duration) {
        let Some((at, backoff)) = self.device_down else {
            return;
        };
        if std::time::Instant::now() < at {
            return;
        }
        let now = self.clock.now();
        let soon = recurrence::next_after(
            self.schedules.slots(),
            self.config.timezone,
            now,
            chrono::Duration::days(1),
        )
        .is_some_and(|o| o.at - now < lead + chrono::Duration::seconds(2));
        if soon {
            return;
        }
        match self.audio.check().await {
            Ok(()) => {
                self.device_down = None;
                self.status.output_error = None;
                self.status.output_lost_since = None;
                // Emergencies that failed for want of a device go now.
                self.emergency_failed.clear();
                tracing::info!(
                    "{}",
                    tr!(
                        self.lang(),
                        "đầu ra âm thanh đã hoạt động trở lại: {}",
                        "the sound output is back: {}",
                        self.audio.output_name()
                    )
                );
                self.publish_status(true);
            }
            Err(e) => {
                let next = (backoff * 2).min(DEVICE_RETRY_MAX);
                self.device_down = Some((std::time::Instant::now() + next, next));
                self.status.output_error = Some(e.to_string());
                tracing::debug!("sound output still unavailable ({e}); next look in {next:?}");
            }
        }
    }

    /// A clip whose sidecar or queue names a topic its plan does not declare still airs, but
    /// its minutes would count under no plan item: said once per clip and topic (`validate`
    /// refuses it outright).
    fn warn_undeclared_topics(&mut self, plan: &str, prepared: &Prepared) {
        let Some(topics) = self
            .schedules
            .files
            .iter()
            .find(|f| f.plan.id == plan)
            .map(|f| f.plan.topics.clone())
        else {
            return;
        };
        for c in prepared.entries.iter().map(|e| &e.plan) {
            let Some(t) = &c.topic else { continue };
            if !topics.contains_key(t) && self.topic_warned.insert((c.rel.clone(), t.clone())) {
                tracing::warn!(
                    "{}",
                    tr!(
                        self.lang(),
                        "{}: chủ đề «{t}» không có trong [topics] của kế hoạch «{plan}»: thời lượng của bài sẽ không được tính cho mục nào của kế hoạch",
                        "{}: topic “{t}” is not declared in plan “{plan}”'s [topics]: its minutes count under no plan item",
                        c.rel
                    )
                );
            }
        }
    }

    /// SIGHUP: read the configuration, the schedules and the audio folder again now.
    fn hung_up(&mut self) {
        tracing::info!(
            "{}",
            self.lang().pick(
                "SIGHUP: đọc lại cấu hình, lịch phát và thư mục âm thanh",
                "SIGHUP: reading the configuration, schedules and audio folder again"
            )
        );
        self.config_stamp = None;
        self.config_rejected = None;
        self.schedules_stamp = None;
        self.files_checked = None;
        self.catalog.rescan();
    }

    /// Looks at the configuration and schedules when a watched file changed, and every
    /// [`FILES_RECHECK`] regardless (a file system whose events are lost, as over a network,
    /// still gets its edits in force, just later).
    fn refresh_files(&mut self) -> Result<(), DaemonError> {
        let flagged = self
            .wakers
            .as_ref()
            .is_none_or(|w| !w.watching_files || w.take_files());
        let mono = self.clock.monotonic();
        let due = self
            .files_checked
            .is_none_or(|t| mono.saturating_sub(t) >= FILES_RECHECK);
        if !(flagged || due) {
            return Ok(());
        }
        self.files_checked = Some(mono);
        self.refresh_config();
        self.refresh_schedules()
    }

    /// How long the daemon may sleep: until the next occurrence less `lead`, a settling file,
    /// the watchdog's ping, the device's retry — and never more than a tick.
    fn sleep_for(&self, now: DateTime<Utc>, lead: chrono::Duration) -> Duration {
        let next = recurrence::next_after(
            self.schedules.slots(),
            self.config.timezone,
            self.cursor.max(now),
            chrono::Duration::days(400),
        );
        let mut wait = match next {
            Some(o) => (o.at - lead - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(self.tick),
            None => self.tick,
        };
        if let Some(ping_every) = self.notifier.as_ref().and_then(|n| n.max_sleep()) {
            wait = wait.min(ping_every);
        }
        let mono = std::time::Instant::now();
        if let Some((at, _)) = self.device_down {
            wait = wait.min(at.saturating_duration_since(mono));
        }
        // A file that finishes settling is looked at on time, not a tick later.
        if let Some(t) = self.catalog.next_check() {
            wait = wait.min(t.saturating_duration_since(mono));
        }
        if !self.backlog.is_empty() {
            wait = wait.min(BACKLOG_RETRY);
        }
        wait.max(Duration::from_millis(1))
    }

    /// Sleeps `wait`, or less if a watched folder changes or the wall clock is set.
    async fn doze(&mut self, wait: Duration) {
        let changed = self.catalog.changed();
        let hangup = self.hangup.clone();
        let woken = self.wakers.as_ref().map(|w| w.notify.clone());
        tokio::select! {
            _ = self.clock.sleep(wait) => {}
            _ = changed.notified() => {}
            _ = async { match &woken { Some(n) => n.notified().await, None => std::future::pending().await } } => {}
            _ = async { match &hangup { Some(h) => h.notified().await, None => std::future::pending().await } } => {
                self.hung_up();
            }
        }
    }

    /// Applies a saved edit of the configuration file: a valid one takes effect at once (what
    /// airs is not cut), one with errors is rejected whole and the previous stays in force.
    /// The output, journal and folders are fixed for the process's life; a change to them is
    /// said to need a restart.
    fn refresh_config(&mut self) {
        let Some(file) = self.config.file.clone() else {
            return;
        };
        let stamp = file_stamp(&file);
        if stamp == self.config_stamp {
            return;
        }
        let Some(reload) = &self.reload else {
            return;
        };
        let result = reload();
        self.config_stamp = stamp.clone();
        let lang = self.lang();
        match result {
            Err(e) => {
                if self.config_rejected != stamp {
                    self.config_rejected = stamp;
                    let detail = match &e {
                        crate::config::ConfigError::Invalid(diags) => diags
                            .iter()
                            .map(|d| d.render(lang))
                            .collect::<Vec<_>>()
                            .join("\n"),
                        other => other.to_string(),
                    };
                    tracing::error!(
                        "{}\n{detail}",
                        tr!(
                            lang,
                            "cấu hình {} có lỗi: không dùng bản này, cấu hình trước vẫn giữ nguyên",
                            "configuration {} rejected: the previous one stays in force",
                            file.display()
                        )
                    );
                    self.rejected_errors.insert(file.clone(), vec![detail]);
                    self.publish_status(true);
                }
            }
            Ok(mut new) => {
                self.config_rejected = None;
                self.rejected_errors.remove(&file);
                let fixed = [
                    ("output", new.output != self.config.output),
                    ("journal", new.journal != self.config.journal),
                    ("audio", new.audio_dir != self.config.audio_dir),
                    ("schedules", new.schedules_dir != self.config.schedules_dir),
                    (
                        "buffer_frames",
                        new.buffer_frames != self.config.buffer_frames,
                    ),
                ];
                let needs_restart: Vec<&str> =
                    fixed.iter().filter(|(_, c)| *c).map(|(k, _)| *k).collect();
                if !needs_restart.is_empty() {
                    tracing::warn!(
                        "{}",
                        tr!(
                            new.language,
                            "thay đổi {} chỉ có hiệu lực sau khi khởi động lại loaxa",
                            "changing {} takes effect only after loaxa restarts",
                            needs_restart.join(", ")
                        )
                    );
                    new.output = self.config.output.clone();
                    new.journal = self.config.journal.clone();
                    new.audio_dir = self.config.audio_dir.clone();
                    new.schedules_dir = self.config.schedules_dir.clone();
                    new.buffer_frames = self.config.buffer_frames;
                }
                self.config = new;
                self.schedules_epoch += 1;
                tracing::info!(
                    "{}",
                    tr!(
                        self.lang(),
                        "đã áp dụng cấu hình mới từ {}",
                        "configuration from {} now in force",
                        file.display()
                    )
                );
                self.publish_status(true);
            }
        }
    }

    /// Brings the catalog up to date: reports new problems once, retires spent queue clips,
    /// and rewrites the library status when anything changed.
    fn refresh_catalog(&mut self) -> Result<(), DaemonError> {
        if !self.publishes {
            return Ok(());
        }
        if self.catalog.refresh() {
            self.library_dirty = true;
        }
        // Measuring clips decodes them whole: once the last is done, its buffers go back.
        let ingesting = self.catalog.ingesting();
        if self.was_ingesting && !ingesting {
            release_memory();
        }
        self.was_ingesting = ingesting;
        self.report_notices()?;
        if self.library_dirty {
            self.retire_spent()?;
            self.publish_library()?;
        }
        Ok(())
    }

    /// Logs and journals, once, each file the catalog found it cannot air.
    fn report_notices(&mut self) -> Result<(), DaemonError> {
        let notices = self.catalog.take_notices();
        if !notices.is_empty() {
            let now = self.clock.now();
            let events: Vec<Event> = notices
                .iter()
                .map(|n| {
                    tracing::error!("{}", self.catalog.describe(n));
                    match n {
                        crate::catalog::Notice::Undecodable { rel, reason }
                        | crate::catalog::Notice::Refused { rel, reason } => Event::ClipRejected {
                            file: rel.clone(),
                            sha256: None,
                            reason: reason.clone(),
                        },
                        crate::catalog::Notice::BadMetadata { file, errors } => {
                            Event::ClipRejected {
                                file: file.clone(),
                                sha256: None,
                                reason: errors.join("\n"),
                            }
                        }
                    }
                })
                .collect();
            self.record(&events, now);
        }
        Ok(())
    }

    /// Moves queue clips that aired as many times as their queue (or sidecar) says into the
    /// folder's `da-phat/`. Their journal records stay as they are.
    fn retire_spent(&mut self) -> Result<(), DaemonError> {
        let lang = self.lang();
        let today = self
            .clock
            .now()
            .with_timezone(&self.config.timezone)
            .date_naive();
        let mut queues: Vec<crate::schedule::QueueRef> = self
            .schedules
            .slots()
            .filter_map(|s| s.queue.clone())
            .collect();
        // Many slots share a queue: one look per folder and mode.
        queues.sort_by(|a, b| a.folder.cmp(&b.folder));
        queues.dedup_by(|a, b| a.folder == b.folder && a.mode == b.mode);
        let on_air: Vec<String> = self
            .status
            .on_air
            .as_ref()
            .map(|a| a.clips.clone())
            .unwrap_or_default();
        for q in queues {
            let Some((mode, topic)) = crate::plan::queue_setup(&self.catalog, &q) else {
                continue;
            };
            let limited = mode.limit().is_some()
                || self
                    .catalog
                    .queue(&q.folder)
                    .any(|c| c.meta.as_ref().is_ok_and(|m| m.times.is_some()));
            if !limited {
                continue;
            }
            let history = QueueHistory {
                last: HashMap::new(),
                aired: self.journal.aired_versions(&q.folder)?,
            };
            let rules = QueueRules {
                mode,
                topic,
                date: today,
                history: &history,
            };
            let spent: Vec<(String, i64)> = self
                .catalog
                .queue(&q.folder)
                .filter(|c| c.info().is_some() && rules.spent(c) && !on_air.contains(&c.rel))
                .map(|c| (c.rel.clone(), rules.aired(c)))
                .collect();
            for (rel, times) in spent {
                match self.catalog.retire(&rel) {
                    Ok(to) => tracing::info!(
                        "{}",
                        tr!(
                            lang,
                            "{rel} đã phát đủ {times} lần: chuyển vào {}",
                            "{rel} aired {times} time(s) as planned: moved to {}",
                            to.display()
                        )
                    ),
                    Err(e) => tracing::error!(
                        "{}",
                        tr!(
                            lang,
                            "{rel} đã phát đủ lần nhưng không chuyển được vào da-phat/: {e}",
                            "{rel} aired out but could not be moved to da-phat/: {e}"
                        )
                    ),
                }
            }
        }
        Ok(())
    }

    /// Writes `library.json` for `loaxa status`.
    fn publish_library(&mut self) -> Result<(), DaemonError> {
        self.library_dirty = false;
        let cfg = &self.config;
        let date = self.clock.now().with_timezone(&cfg.timezone).date_naive();
        let library = status::library(
            &self.catalog,
            Some(self.journal),
            &self.schedules,
            &cfg.emergency_dir,
            date,
            self.lang(),
        )?;
        let path = status::library_path_for(&cfg.journal);
        if let Err(e) = status::write_library(&path, &library) {
            tracing::debug!("{}: {e}", path.display());
        }
        Ok(())
    }

    /// After a handed-over file aired, it moves to the aired folder so it never airs twice.
    /// An emergency that could not air at all stays, to be tried again; a manual play is
    /// not retried (its failure is journaled and the operator can play it again).
    fn settle_handed(&mut self, p: &Pending, outcome: Option<Outcome>) {
        let Some(rel) = self.handed_file(p).map(str::to_string) else {
            return;
        };
        if outcome == Some(Outcome::Failed) && p.slot.plan == EMERGENCY_PLAN {
            self.emergency_failed.insert(rel, std::time::Instant::now());
            return;
        }
        self.emergency_failed.remove(&rel);
        if let Err(e) = self.catalog.retire(&rel) {
            tracing::error!("{rel} → {}/: {e}", crate::catalog::RETIRED_DIR);
        }
    }

    /// One line for the service manager: what airs next.
    fn next_status(&self) -> String {
        let lang = self.lang();
        match recurrence::next_after(
            self.schedules.slots(),
            self.config.timezone,
            self.clock.now(),
            chrono::Duration::days(400),
        ) {
            Some(o) => tr!(
                lang,
                "lần phát tiếp theo: {} «{}» lúc {}",
                "next: {} “{}” at {}",
                o.slot.id,
                o.slot.title,
                self.local(o.at)
            ),
            None => lang
                .pick("không có lần phát nào sắp tới", "nothing scheduled")
                .to_string(),
        }
    }

    fn ping(&mut self) {
        if let Some(n) = &mut self.notifier {
            n.watchdog();
        }
    }

    /// Puts schedule edits in force within a tick of the save. A file that fails validation is
    /// rejected whole and its previous version keeps airing; what airs now is never cut.
    fn refresh_schedules(&mut self) -> Result<(), DaemonError> {
        // Cheap first: unless a file appeared, went, or changed size or time (or changed so
        // recently that a second write could hide in the same timestamp), nothing is read.
        let stamp = folder_stamp(&self.config.schedules_dir);
        let settled = stamp.iter().all(|(_, _, t)| {
            t.and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(2))
        });
        if settled && self.schedules_stamp.as_ref() == Some(&stamp) {
            return Ok(());
        }
        self.schedules_stamp = Some(stamp);
        let lang = self.lang();
        let ctx = crate::schedule::Context {
            lang,
            audio_dir: Some(&self.config.audio_dir),
            probes: Some(&self.station.probes),
            loudness: Some((self.config.loudness.target, self.config.loudness.margin)),
            guards: Some(self.config.guards),
        };
        let change = self.schedules.refresh(&self.config.schedules_dir, &ctx);
        let now = self.clock.now();
        if !change.loaded.is_empty() || !change.removed.is_empty() {
            self.status_written = None;
            self.schedules_epoch += 1;
        }
        for path in &change.loaded {
            self.rejected.remove(path);
            self.rejected_errors.remove(path);
            if let Some(f) = self.schedules.files.iter().find(|f| &f.file == path) {
                tracing::info!(
                    "{}",
                    tr!(
                        lang,
                        "đã áp dụng lịch phát mới: {}",
                        "schedule now in force: {}",
                        path.display()
                    )
                );
                self.schedule_hashes
                    .insert(f.plan.id.clone(), f.sha256.clone());
                let event = Event::ScheduleLoaded {
                    file: path.display().to_string(),
                    sha256: f.sha256.clone(),
                    content: f.text.clone(),
                };
                self.record(std::slice::from_ref(&event), now);
            }
        }
        for path in &change.removed {
            self.rejected.remove(path);
            self.rejected_errors.remove(path);
            tracing::warn!(
                "{}",
                tr!(
                    lang,
                    "lịch phát đã bị xóa, không còn hiệu lực: {}",
                    "schedule removed, no longer in force: {}",
                    path.display()
                )
            );
            self.record(
                std::slice::from_ref(&Event::ScheduleUnloaded {
                    file: path.display().to_string(),
                }),
                now,
            );
        }
        for (path, sha, diags) in change.rejected {
            if self.rejected.get(&path) == Some(&sha) {
                continue;
            }
            let kept = self.schedules.files.iter().any(|f| f.file == path);
            tracing::error!(
                "{}",
                if kept {
                    tr!(
                        lang,
                        "lịch phát {} có lỗi, bản cũ vẫn được dùng:",
                        "schedule {} rejected, its previous version stays in force:",
                        path.display()
                    )
                } else {
                    tr!(
                        lang,
                        "lịch phát {} có lỗi, chưa được dùng:",
                        "schedule {} rejected, not in force:",
                        path.display()
                    )
                }
            );
            for d in diags.iter().filter(|d| d.is_error()) {
                tracing::error!("{}", d.render(lang));
            }
            self.rejected_errors.insert(
                path.clone(),
                diags
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| d.render(lang))
                    .collect(),
            );
            self.rejected.insert(path, sha);
            self.status_written = None;
        }
        Ok(())
    }

    /// Notices the wall clock jumping relative to the monotonic clock.
    fn watch_clock(&mut self) -> DateTime<Utc> {
        let now = self.clock.now();
        let mono = self.clock.monotonic();
        let elapsed =
            chrono::Duration::from_std(mono.saturating_sub(self.last_mono)).unwrap_or_default();
        let expected = self.last_wall + elapsed;
        let drift = now - expected;
        if drift > STEP_THRESHOLD {
            tracing::warn!(
                "{}",
                tr!(
                    self.lang(),
                    "đồng hồ máy nhảy tới {} giây",
                    "the system clock jumped forward {} s",
                    drift.num_seconds()
                )
            );
            self.steps.push((expected, now));
        } else if drift < -STEP_THRESHOLD {
            tracing::warn!(
                "{}",
                tr!(
                    self.lang(),
                    "đồng hồ máy lùi lại {} giây; những gì đã phát sẽ không phát lại",
                    "the system clock went back {} s; nothing already aired will air again",
                    -drift.num_seconds()
                )
            );
        }
        self.last_wall = now;
        self.last_mono = mono;
        now
    }

    /// Due occurrences in `[cursor, until]` that are neither journaled nor queued. The
    /// cursor's own instant is included: slots that clash at one instant air one by one.
    fn due(&self, until: DateTime<Utc>) -> Result<Vec<Pending>, DaemonError> {
        let mut out = Vec::new();
        let from = self.cursor - chrono::Duration::milliseconds(1);
        let tz = self.config.timezone;
        for o in recurrence::between(self.schedules.slots(), tz, from, until) {
            let p = Pending {
                slot: o.slot.clone(),
                at: o.at,
                manual: false,
                schedule_sha256: None,
            };
            let queued = self.queue.iter().any(|q| {
                !q.manual && q.at == p.at && q.slot.plan == p.slot.plan && q.slot.id == p.slot.id
            });
            if !queued && !self.knows(&self.info(&p).key)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn main_loop(
        &mut self,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(), DaemonError> {
        let grace = chrono::Duration::from_std(self.config.grace).unwrap_or_default();
        let lead = chrono::Duration::from_std(LEAD).unwrap_or_default();
        while !self.stopping {
            // What waited behind a broadcast airs first, highest priority first.
            if !self.queue.is_empty() {
                self.queue.sort_by(|a, b| {
                    b.slot
                        .priority
                        .cmp(&a.slot.priority)
                        .then(a.at.cmp(&b.at))
                        .then(a.slot.order.cmp(&b.slot.order))
                });
                let next = self.queue.remove(0);
                let handed = self.handed_file(&next).is_some().then(|| next.clone());
                let outcome = self.air(next, shutdown).await?;
                if let Some(p) = handed {
                    self.settle_handed(&p, outcome);
                }
                continue;
            }
            self.ping();
            self.retry_backlog(false);
            self.refresh_files()?;
            self.refresh_catalog()?;
            self.publish_status(false);
            let handed = self.scan_handed();
            if !handed.is_empty() {
                self.queue.extend(handed);
                continue;
            }
            self.look_for_device(lead).await;
            let now = self.watch_clock();
            if let Some(p) = self.due(now + lead)?.into_iter().next() {
                self.cursor = p.at;
                if now - p.at > grace {
                    let stepped = self.steps.iter().any(|(a, b)| p.at > *a && p.at <= *b);
                    let reason = if stepped {
                        Reason::ClockStepped
                    } else {
                        Reason::TooLate {
                            late_seconds: (now - p.at).num_seconds(),
                        }
                    };
                    self.journal_missed(&p, reason, now)?;
                } else {
                    self.air(p, shutdown).await?;
                }
                continue;
            }
            // Nothing is due up to now: the cursor may move up, so each tick looks at one
            // second of schedule, not at everything since the last broadcast.
            self.cursor = self.cursor.max(now);
            let wait = self.sleep_for(now, lead);
            tokio::select! {
                _ = self.doze(wait) => {}
                _ = shutdown.as_mut() => { self.stopping = true; }
            }
        }
        Ok(())
    }

    /// Airs one occurrence and journals it; returns how it ended (`None` if it was
    /// already journaled).
    async fn air(
        &mut self,
        p: Pending,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<Option<Outcome>, DaemonError> {
        let lang = self.lang();
        let now = self.clock.now();
        let info = self.info(&p);
        if self.knows(&info.key)? {
            return Ok(None);
        }
        if let Some(q) = &p.slot.queue {
            // A clip the broadcast needs is measured now rather than waited for.
            if self.catalog.measure_now(&q.folder) {
                self.library_dirty = true;
                self.report_notices()?;
            }
        }
        let planner = Planner {
            config: &self.config,
            catalog: &self.catalog,
            probes: &self.station.probes,
        };
        let prepared = match planner.plan(&*self.journal, &p, info.schedule_sha256.clone())? {
            Planned::Held(reason) => {
                self.journal_missed(&p, reason, now)?;
                return Ok(Some(Outcome::Missed));
            }
            Planned::Airs(prepared) => prepared,
        };
        if let Some(folder) = &prepared.unreadable_queue {
            tracing::error!(
                "{}",
                tr!(
                    lang,
                    "hàng đợi {}/ không phát được: {}/queue.toml có lỗi",
                    "queue {}/ cannot air: its {}/queue.toml has errors",
                    folder,
                    folder
                )
            );
        }
        self.warn_undeclared_topics(&p.slot.plan, &prepared);
        tracing::info!(
            "{}",
            tr!(
                lang,
                "phát {}: «{}» lúc {} ({} bài, {:.0} giây)",
                "airing {}: “{}” at {} ({} clip(s), {:.0} s)",
                p.slot.id,
                p.slot.title,
                self.local(p.at),
                prepared.entries.len(),
                prepared.duration_ms() as f64 / 1000.0
            )
        );
        for e in &prepared.entries {
            if let Some(r) = &e.skip {
                tracing::warn!(
                    "{}",
                    tr!(
                        lang,
                        "bỏ qua {}: {}",
                        "skipping {}: {}",
                        e.plan.rel,
                        r.text(lang)
                    )
                );
            }
        }

        let clips = prepared.playable();
        self.status.on_air = Some(OnAir {
            plan: p.slot.plan.clone(),
            slot: p.slot.id.clone(),
            title: p.slot.title.clone(),
            priority: p.slot.priority,
            scheduled_at: p.at,
            clips: clips.iter().map(|c| c.rel.clone()).collect(),
        });
        self.publish_status(true);
        let started = broadcast::started_event(&prepared, self.audio.output_name());
        let (report, stopped) = if clips.is_empty() {
            self.record(std::slice::from_ref(&started), self.clock.now());
            (AirReport::silent(self.audio.output_name()), None)
        } else {
            let start_at = self
                .clock
                .instant_at(p.at)
                .checked_sub(self.config.latency_compensation)
                .unwrap_or_else(std::time::Instant::now);
            let airing = self.audio.air(clips, self.config.volume, start_at).await;
            // The start is journaled just before the first sample, not when the device was
            // opened: a crash during the lead time then leaves the occurrence unjournaled, to
            // be aired late (within the grace) or accounted as missed, not as "cut on air".
            // The audio thread does not start until this write is durable.
            let ahead = airing.state.as_ref().map_or(0, |s| {
                s.clear_ahead_ms.load(std::sync::atomic::Ordering::SeqCst) as i64
            });
            let until = (p.at
                - self.clock.now()
                - chrono::Duration::milliseconds(JOURNAL_AHEAD_MS.max(ahead)))
            .to_std()
            .unwrap_or(Duration::ZERO);
            if !until.is_zero() {
                tokio::select! {
                    _ = self.clock.sleep(until) => {}
                    _ = shutdown.as_mut(), if !self.stopping => {
                        self.stopping = true;
                    }
                }
            }
            if self.stopping {
                // Stopped during the lead time: nothing aired, nothing is journaled for it.
                if let Some(s) = &airing.state {
                    s.request_stop();
                }
                let _ = airing.done.await;
                self.status.on_air = None;
                return Ok(None);
            }
            self.record(std::slice::from_ref(&started), self.clock.now());
            if let Some(s) = &airing.state {
                s.clear_to_start();
            }
            self.watch_airing(&prepared, airing, shutdown).await?
        };
        let end = self.clock.now();
        self.status.on_air = None;
        self.status.output_error = report.aired.error.as_ref().map(|e| e.to_string());
        match &report.aired.error {
            Some(_) if self.device_down.is_none() => {
                self.device_down = Some((
                    std::time::Instant::now() + DEVICE_RETRY_FIRST,
                    DEVICE_RETRY_FIRST,
                ));
                self.status.output_lost_since = Some(end);
            }
            Some(_) => {}
            None if report.aired.started_at.is_some() => {
                self.device_down = None;
                self.status.output_lost_since = None;
            }
            None => {}
        }
        self.publish_status(true);
        let events = broadcast::verdict(&prepared, &report, stopped, end);
        // The clips' results and the end are one fact: written together, with one fsync.
        self.record(&events, end);
        if self.backlog.is_empty() {
            if let Err(e) = self.journal.checkpoint() {
                tracing::warn!("journal checkpoint: {e}");
            }
        }
        let mut ended = None;
        if let Some(Event::BroadcastEnded {
            outcome, reason, ..
        }) = events.last()
        {
            ended = Some(*outcome);
            let reason = reason
                .as_ref()
                .map(|r| format!(" — {}", r.text(lang)))
                .unwrap_or_default();
            tracing::info!(
                "{}",
                tr!(
                    lang,
                    "kết thúc {}: {}{}",
                    "ended {}: {}{}",
                    p.slot.id,
                    outcome.label(lang),
                    reason
                )
            );
        }
        // Aired counts changed: queue clips may be spent.
        self.library_dirty = true;
        self.refresh_catalog()?;
        release_memory();
        // The loop's own view of time restarts after a broadcast: airing is not a clock step.
        self.last_wall = self.clock.now();
        self.last_mono = self.clock.monotonic();
        if let Some(n) = &self.notifier {
            n.status(&self.next_status());
        }
        Ok(ended)
    }

    /// Waits for a broadcast to end while watching the schedule: what falls due meanwhile is
    /// queued, and if it outranks what is on air, the broadcast gives way.
    async fn watch_airing(
        &mut self,
        prepared: &Prepared,
        mut airing: crate::audio::actor::Airing,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(AirReport, Option<Reason>), DaemonError> {
        let current = prepared.info.priority;
        let mut stopped: Option<Reason> = None;
        let mut due_checked: Option<(DateTime<Utc>, u64)> = None;
        let report = loop {
            // Wakes for what may cut this broadcast — an occurrence of higher priority at its
            // instant, an emergency file once settled — and otherwise rarely: every wake-up
            // is CPU the broadcast pays for.
            let wait = self
                .sleep_for(self.clock.now(), chrono::Duration::zero())
                .min(AIRING_TICK);
            tokio::select! {
                r = &mut airing.done => {
                    break r.unwrap_or_else(|_| AirReport::lost(self.audio.output_name(), airing.state.clone()));
                }
                _ = self.doze(wait) => {
                    self.ping();
                    self.refresh_files()?;
                    self.refresh_catalog()?;
                    // Keeps the status fresh through long broadcasts, and shows rejections at once.
                    self.publish_status(false);
                    let handed = self.scan_handed();
                    let urgent = handed.iter().find(|p| p.slot.priority >= crate::schedule::Priority::Emergency);
                    if let Some(u) = urgent.filter(|_| current < crate::schedule::Priority::Emergency && stopped.is_none()) {
                        tracing::warn!("{}", tr!(self.lang(), "ngắt phiên đang phát để phát tin khẩn cấp", "cutting the broadcast on air for an emergency"));
                        stopped = Some(Reason::Preempted(u.slot.title.clone()));
                        if let Some(s) = &airing.state {
                            s.request_stop();
                        }
                    }
                    self.queue.extend(handed);
                    let now = self.clock.now();
                    // Asking the journal what is due costs queries: only when an occurrence
                    // can have come due since the last look (or the schedules changed).
                    let look = match due_checked {
                        Some((t, epoch)) if epoch == self.schedules_epoch => recurrence::next_after(
                            self.schedules.slots(),
                            self.config.timezone,
                            t,
                            chrono::Duration::days(400),
                        )
                        .is_some_and(|o| o.at <= now),
                        _ => true,
                    };
                    if !look {
                        continue;
                    }
                    due_checked = Some((now, self.schedules_epoch));
                    for p in self.due(now)? {
                        self.cursor = self.cursor.max(p.at);
                        if p.slot.priority > current && stopped.is_none() {
                            tracing::warn!("{}", tr!(self.lang(), "nhường sóng cho «{}» ({})", "giving way to “{}” ({})", p.slot.title, p.slot.priority.label(self.lang())));
                            stopped = Some(Reason::Preempted(p.slot.title.clone()));
                            if let Some(s) = &airing.state {
                                s.request_stop();
                            }
                        }
                        self.queue.push(p);
                    }
                }
                _ = shutdown.as_mut(), if !self.stopping => {
                    self.stopping = true;
                    stopped = Some(Reason::Stopped);
                    if let Some(s) = &airing.state {
                        s.request_stop();
                    }
                }
            }
        };
        Ok((report, stopped))
    }
}

/// Airs one file now through the station's output (`loaxa play`), journaled as manual;
/// as an emergency, repeated and journaled with that priority.
pub async fn play_now(
    station: &Station,
    journal: &mut Journal,
    audio: AudioHandle,
    clock: Arc<dyn Clock>,
    rel: &str,
    emergency: bool,
) -> Result<Option<Outcome>, DaemonError> {
    let clip = crate::schedule::ClipRef {
        rel: rel.to_string(),
        topic: None,
    };
    let repeat = if emergency {
        station.config.emergency_repeat as usize
    } else {
        1
    };
    let lang = station.config.language;
    let mut slot = Slot::ad_hoc(
        if emergency {
            EMERGENCY_PLAN
        } else {
            MANUAL_PLAN
        },
        MANUAL_SLOT,
        if emergency {
            tr!(lang, "Tin khẩn cấp: {rel}", "Emergency: {rel}")
        } else {
            tr!(lang, "phát thủ công: {rel}", "manual play: {rel}")
        },
        if emergency {
            crate::schedule::Priority::Emergency
        } else {
            crate::schedule::Priority::Normal
        },
        vec![clip; repeat],
    );
    if emergency {
        slot.intro = emergency_intro(&station.config);
    }
    // A moment's lead lets the device open and settle before the first sample.
    let at = clock.now() + chrono::Duration::milliseconds(300);
    let mut d = Daemon::new(station, journal, audio, clock, false);
    d.catalog.settle_now();
    d.air(
        Pending {
            slot,
            at,
            manual: true,
            schedule_sha256: None,
        },
        &mut pin!(std::future::pending::<()>()),
    )
    .await
}
