//! The daemon's deadline loop. It computes what falls due from the schedules (in the
//! station's zone), sleeps on the monotonic clock until shortly before the next instant
//! (waking at least once a second to notice wall-clock steps and suspend/resume), hands the
//! prepared broadcast to the audio thread to start on the second, and journals everything:
//! what aired, what was cut, and what was missed and why. Clock, output and shutdown are
//! injected, mini-redis style, so tests drive days of schedule in milliseconds.

mod airing;
mod clips;
mod clock_steps;
mod device;
mod handover;
mod journaling;
mod publishing;
mod recovery;
mod reload;

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
use crate::planner::{Due, Planned, Planner, QueueHistory, QueueRules};
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
/// A relay's lead: time to connect to its source and buffer a few seconds of it before its
/// start, so it starts on the second like a clip.
pub const RELAY_LEAD: Duration = Duration::from_secs(8);

/// How long a resumed relay waits to connect before it airs again.
const RESUME_LEAD_SECONDS: i64 = 4;

/// How far ahead of its instant an occurrence of `slot` is taken up.
fn lead_for(slot: &Slot) -> chrono::Duration {
    let lead = if slot.relay.is_some() {
        RELAY_LEAD
    } else {
        LEAD
    };
    chrono::Duration::from_std(lead).unwrap_or_default()
}
/// The longest the loop sleeps without looking at the wall clock.
pub const TICK: Duration = Duration::from_secs(30);
/// The longest the loop sleeps while a broadcast airs. Events and the next occurrence wake it
/// sooner; this bounds how far a fake clock runs ahead of a broadcast playing in real time.
const AIRING_TICK: Duration = Duration::from_secs(1);
/// How often a live occurrence is looked at while it airs.
const LIVE_TICK: Duration = Duration::from_millis(100);
/// Seconds a request to go live may wait in the mailbox and still be acted on.
const LIVE_REQUEST_MAX_AGE: i64 = 15;
/// Seconds a live occurrence's microphone may give nothing before it is ended as down.
const LIVE_SILENT_START: i64 = 5;
/// How long a saved configuration file must have been still before it is read.
const CONFIG_SETTLE: Duration = Duration::from_millis(300);
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
    pub notifier: Option<crate::systemd::Notifier>,
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
    journal: &'a mut Journal,
    audio: AudioHandle,
    clock: Arc<dyn Clock>,
    /// The configuration in force: the station's at start, then each valid edit.
    config: crate::config::Config,
    /// The schedules in force: those loaded at start, then each valid edit.
    schedules: crate::schedule::Schedules,
    timeline: Timeline,
    files: Files,
    clips: Clips,
    publishing: Publishing,
    held: Held,
    /// The output failed: when (on the daemon's monotonic clock) to look for it again, and
    /// the current back-off.
    device_down: Option<(Duration, Duration)>,
    /// The longest sleep between looks at the wall clock.
    tick: Duration,
    /// Set by SIGHUP: look at everything again now.
    hangup: Option<Arc<tokio::sync::Notify>>,
    stopping: bool,
}

/// Where the daemon stands in time: what it has accounted for, and what waits its turn.
struct Timeline {
    /// Every occurrence at or before this instant has been aired, queued or journaled.
    cursor: DateTime<Utc>,
    /// Wall-clock spans skipped by a forward step.
    steps: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    last_wall: DateTime<Utc>,
    last_mono: Duration,
    /// Occurrences that fell due while another was airing, to air next.
    queue: Vec<Pending>,
}

/// The configuration and schedule files as last seen, and what was rejected (reload).
struct Files {
    /// Reads the configuration again (file, environment, flags), for live edits and SIGHUP.
    reload: Option<ConfigReload>,
    /// The configuration file as last seen.
    config_stamp: Option<FileStamp>,
    /// A configuration version that failed, reported once.
    config_rejected: Option<FileStamp>,
    /// The configuration file was saved a moment ago: when to look at it again (see
    /// `refresh_config`).
    config_settling: Option<std::time::Instant>,
    /// Schedule file versions that failed validation (path → content hash), reported once.
    rejected: HashMap<std::path::PathBuf, String>,
    /// Rendered errors of rejected files, for the status.
    rejected_errors: BTreeMap<std::path::PathBuf, Vec<String>>,
    /// The schedules folder as last seen, to skip re-reading it when nothing changed.
    schedules_stamp: Option<Vec<FileStamp>>,
    /// Counts the changes put in force (schedules or configuration): what was worked out
    /// from the old ones is worked out again.
    schedules_epoch: u64,
    /// Each plan's schedule version in force, as journaled with its occurrences.
    schedule_hashes: HashMap<String, String>,
    /// Saved files and clock steps, reported as they happen (absent in one-shot commands).
    wakers: Option<crate::watch::Wakers>,
    /// When the files were last looked at, on the daemon's monotonic clock (a fake clock's
    /// time in tests, so their edits are seen on schedule).
    checked: Option<Duration>,
}

/// The audio folder and what the daemon keeps about it.
struct Clips {
    /// What is complete, decodes, and may air.
    catalog: Catalog,
    /// Clips were being measured at the last look (their memory is released when done).
    was_ingesting: bool,
    /// The library status needs writing (the catalog changed, or a clip aired).
    library_dirty: bool,
    /// Undeclared clip topics already warned about (clip, topic).
    topic_warned: std::collections::HashSet<(String, String)>,
    /// Emergency files whose airing failed, with when (monotonic): retried after
    /// [`EMERGENCY_RETRY`].
    emergency_failed: HashMap<String, Duration>,
    /// Bulletins the province withdrew (their clip's SHA-256 and why), as `loaxa sync`
    /// handed them over: a broadcast airing one is cut at the next look.
    withdrawn: Vec<(String, Reason)>,
    /// The operator's order for a province's ưu tiên bulletin that falls due with a
    /// commune priority item (the last choice journaled).
    clash_order: crate::journal::ClashOrder,
    /// A live occurrence asked for, not yet queued.
    live_start: Option<LiveStart>,
    /// A stop asked for: the live occurrence it ends stops at the next look.
    live_stop: Option<LiveStop>,
}

/// What the daemon publishes about itself.
struct Publishing {
    /// Whether this is the station's daemon, which alone writes its status, library list and
    /// retirements; a one-shot `loaxa play` airs and journals, nothing more.
    publishes: bool,
    /// What `loaxa status` reads, and when (monotonic) it was last written.
    status: Status,
    written: Option<Duration>,
    /// The service manager to tell about readiness, status and liveness, if any.
    notifier: Option<crate::systemd::Notifier>,
}

/// Events the journal refused (full disk, read-only), held until it takes writes again.
struct Held {
    backlog: Backlog,
    /// When (monotonic) the backlog was last offered to the journal, and last announced.
    tried: Option<Duration>,
    announced: Option<Duration>,
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
pub use crate::broadcast::LIVE_SLOT;
pub use crate::catalog::PLAY_DIR;

/// A live occurrence asked for (`loaxa live`, the console's Live buttons).
struct LiveStart {
    priority: crate::schedule::Priority,
    /// Who asked.
    by: String,
    /// The console's loopback address of a voice from a browser; none for the station's
    /// own `live_input`.
    feed: Option<String>,
}

/// A live occurrence's end asked for: who asked, and for a browser's page, which voice (a
/// stop from one browser must not end another's, or the station microphone's).
struct LiveStop {
    by: String,
    /// `None`: any live occurrence; `Some(None)`: a feed that is no address, so none.
    feed: Option<Option<crate::net::Url>>,
}

impl LiveStop {
    fn new(by: String, feed: Option<&str>) -> LiveStop {
        LiveStop {
            by,
            feed: feed.map(|f| crate::net::Url::parse(f).ok()),
        }
    }

    /// Whether it ends the live occurrence fed from `feed` (`None`: the station's
    /// microphone).
    fn ends(&self, feed: Option<crate::net::Url>) -> bool {
        match &self.feed {
            None => true,
            Some(mine) => mine.is_some() && *mine == feed,
        }
    }
}

/// Whether an occurrence (by its plan and slot) is a live one (`loaxa live`, the console's
/// Live button).
fn is_live(plan: &str, slot: &str) -> bool {
    plan == MANUAL_PLAN && slot == LIVE_SLOT
}
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
            d.timeline.queue.push(Pending {
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
                d.timeline.queue.len()
            )
        );
    }
    let mut shutdown = pin!(shutdown);
    d.tick = options.tick;
    d.publishing.notifier = options.notifier;
    d.files.reload = options.reload;
    d.hangup = options.hangup;
    d.publish_status(true);
    if let Some(n) = &d.publishing.notifier {
        n.ready(&d.next_status());
    }
    d.main_loop(&mut shutdown).await?;
    if let Some(n) = &d.publishing.notifier {
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
    if !d.held.backlog.is_empty() {
        tracing::error!(
            "{}",
            tr!(
                d.lang(),
                "{} sự kiện chưa ghi được vào nhật ký, đang giữ trong {}: sẽ được ghi khi loaxa chạy lại và nhật ký ghi được",
                "{} event(s) could not reach the journal and wait in {}: they are written when loaxa runs again and the journal takes writes",
                d.held.backlog.len(),
                d.held.backlog
                    .file().map_or_else(|| "(memory only: LOST)".into(), |p| p.display().to_string())
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
        let clash_order = journal.clash_order().unwrap_or_else(|e| {
            tracing::error!("{e}");
            crate::journal::ClashOrder::default()
        });
        if watch {
            // The hand-over doors exist before the watcher starts. One made by whoever hands
            // the first file over races the watcher: the file can land before the new folder
            // is watched, and then goes unseen until the next rescan, half a minute on (an
            // emergency that late was seen under load, and a request to go live, the first
            // action handed through the console's folder).
            for door in [
                station.config.emergency_dir.as_str(),
                PLAY_DIR,
                crate::mailbox::PENDING_DIR,
            ] {
                let dir = station.config.audio_dir.join(door);
                if let Err(e) = std::fs::create_dir_all(&dir) {
                    tracing::error!("{}: {e}", dir.display());
                }
            }
        }
        Daemon {
            station,
            journal,
            audio,
            clock,
            config: station.config.clone(),
            schedules: station.schedules.clone(),
            timeline: Timeline {
                cursor: now,
                steps: Vec::new(),
                last_wall: now,
                last_mono: mono,
                queue: Vec::new(),
            },
            files: Files {
                reload: None,
                config_stamp: station.config.file.as_deref().and_then(file_stamp),
                config_rejected: None,
                config_settling: None,
                rejected: HashMap::new(),
                rejected_errors: BTreeMap::new(),
                schedules_stamp: None,
                schedules_epoch: 0,
                schedule_hashes: station
                    .schedules
                    .files
                    .iter()
                    .map(|f| (f.plan.id.clone(), f.sha256.clone()))
                    .collect(),
                wakers: watch.then(|| {
                    let mut paths = vec![station.config.schedules_dir.as_path()];
                    if let Some(f) = station.config.file.as_deref() {
                        paths.push(f);
                    }
                    crate::watch::Wakers::start(&paths, station.config.language)
                }),
                checked: None,
            },
            clips: Clips {
                catalog: Catalog::new(
                    &station.config.audio_dir,
                    station.probes.clone(),
                    station.config.language,
                    watch,
                ),
                was_ingesting: false,
                library_dirty: true,
                topic_warned: Default::default(),
                emergency_failed: HashMap::new(),
                withdrawn: Vec::new(),
                clash_order,
                live_start: None,
                live_stop: None,
            },
            publishing: Publishing {
                publishes: watch,
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
                    expired: Vec::new(),
                },
                written: None,
                notifier: None,
            },
            held: Held {
                backlog: Backlog::new(&station.config.journal),
                tried: None,
                announced: None,
            },
            device_down: None,
            tick: TICK,
            hangup: None,
            stopping: false,
        }
    }

    /// Now on the daemon's monotonic clock (a fake clock's in tests): every wait and back-off
    /// of the daemon counts on it.
    fn mono(&self) -> Duration {
        self.clock.monotonic()
    }

    /// What the daemon does at every wake-up, idle or on air: tell the watchdog it lives,
    /// offer held events to the journal, put saved edits in force, bring the audio folder up
    /// to date, refresh the status. Returns what was handed over meanwhile, to air.
    fn housekeeping(&mut self) -> Result<Vec<Pending>, DaemonError> {
        self.ping();
        self.retry_backlog(false);
        self.refresh_files()?;
        self.refresh_catalog()?;
        self.journal_console_actions();
        self.publish_status(false);
        Ok(self.scan_handed())
    }

    /// How long ago `t` was on the daemon's monotonic clock.
    fn since(&self, t: Duration) -> Duration {
        self.mono().saturating_sub(t)
    }

    fn lang(&self) -> Lang {
        self.config.language
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
                .or_else(|| self.files.schedule_hashes.get(&p.slot.plan).cloned()),
        )
    }

    /// How long the daemon may sleep: until the next occurrence less `lead`, a settling file,
    /// the watchdog's ping, the device's retry — and never more than a tick.
    fn sleep_for(&self, now: DateTime<Utc>, lead: chrono::Duration) -> Duration {
        let next = recurrence::next_after(
            self.schedules.slots(),
            self.config.timezone,
            self.timeline.cursor.max(now),
            chrono::Duration::days(400),
        );
        let mut wait = match next {
            Some(o) => (o.at - lead.max(lead_for(o.slot)) - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(self.tick),
            None => self.tick,
        };
        if let Some(ping_every) = self
            .publishing
            .notifier
            .as_ref()
            .and_then(super::systemd::Notifier::max_sleep)
        {
            wait = wait.min(ping_every);
        }
        if let Some((at, _)) = self.device_down {
            wait = wait.min(at.saturating_sub(self.mono()));
        }
        // A file that finishes settling is looked at on time, not a tick later. (Files settle
        // in the file system's real time, which the catalog keeps.)
        if let Some(t) = self.clips.catalog.next_check() {
            wait = wait.min(t.saturating_duration_since(std::time::Instant::now()));
        }
        if let Some(t) = self.files.config_settling {
            wait = wait.min(t.saturating_duration_since(std::time::Instant::now()));
        }
        if !self.held.backlog.is_empty() {
            wait = wait.min(BACKLOG_RETRY);
        }
        // A hand-over waiting for its time.
        for p in &self.timeline.queue {
            let due = (p.at - lead.max(lead_for(&p.slot)) - now)
                .to_std()
                .unwrap_or(Duration::ZERO);
            wait = wait.min(due);
        }
        wait.max(Duration::from_millis(1))
    }

    /// Sleeps `wait`, or less if a watched folder changes or the wall clock is set.
    async fn doze(&mut self, wait: Duration) {
        let changed = self.clips.catalog.changed();
        let hangup = self.hangup.clone();
        let woken = self.files.wakers.as_ref().map(|w| w.notify.clone());
        tokio::select! {
            _ = self.clock.sleep(wait) => {}
            _ = changed.notified() => {}
            _ = async { match &woken { Some(n) => n.notified().await, None => std::future::pending().await } } => {}
            _ = async { match &hangup { Some(h) => h.notified().await, None => std::future::pending().await } } => {
                self.hung_up();
            }
        }
    }

    /// The commune's own priority item that falls due with `p`, a province's ưu tiên
    /// bulletin, when the operator chose that the commune's airs first on such a clash.
    fn commune_first(
        &self,
        p: &Pending,
        now: DateTime<Utc>,
        lead: chrono::Duration,
    ) -> Result<Option<Pending>, DaemonError> {
        use crate::schedule::Priority;
        let bulletin = p.manual
            && p.slot.plan == MANUAL_PLAN
            && p.slot.id.starts_with(handover::BULLETIN_SLOT)
            && p.slot.priority == Priority::Priority;
        if !bulletin || self.clips.clash_order != crate::journal::ClashOrder::CommuneFirst {
            return Ok(None);
        }
        let horizon = p.at.max(now) + lead;
        let first = self
            .due(horizon)?
            .into_iter()
            .find(|c| c.slot.priority >= Priority::Priority);
        if let Some(c) = &first {
            tracing::info!(
                "{}",
                tr!(
                    self.lang(),
                    "{} trùng giờ với {}: phát mục của xã trước, như người vận hành đã chọn",
                    "{} clashes with {}: the commune's item airs first, as the operator chose",
                    p.slot.title,
                    c.slot.title
                )
            );
        }
        Ok(first)
    }

    /// Due occurrences in `[cursor, until]` that are neither journaled nor queued. The
    /// cursor's own instant is included: slots that clash at one instant air one by one.
    fn due(&self, until: DateTime<Utc>) -> Result<Vec<Pending>, DaemonError> {
        let mut out = Vec::new();
        let from = self.timeline.cursor - chrono::Duration::milliseconds(1);
        let tz = self.config.timezone;
        for o in recurrence::between(self.schedules.slots(), tz, from, until) {
            let p = Pending {
                slot: o.slot.clone(),
                at: o.at,
                manual: false,
                schedule_sha256: None,
            };
            let queued = self.timeline.queue.iter().any(|q| {
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
            // What waited behind a broadcast airs first, highest priority first; a hand-over
            // for a later time (a province's ưu tiên bulletin) waits for it.
            let now = self.clock.now();
            self.timeline.queue.sort_by(|a, b| {
                b.slot
                    .priority
                    .cmp(&a.slot.priority)
                    .then(a.at.cmp(&b.at))
                    .then(a.slot.order.cmp(&b.slot.order))
            });
            let ready = self
                .timeline
                .queue
                .iter()
                .position(|p| p.at - now <= lead_for(&p.slot));
            if let Some(i) = ready {
                let mut next = self.timeline.queue.remove(i);
                if let Some(first) = self.commune_first(&next, now, lead)? {
                    self.timeline.queue.push(next);
                    next = first;
                }
                let handed = self.handed_file(&next).is_some().then(|| next.clone());
                let outcome = self.air(next, shutdown).await?;
                if let Some(p) = handed {
                    self.settle_handed(&p, outcome);
                }
                continue;
            }
            let handed = self.housekeeping()?;
            if !handed.is_empty() {
                self.timeline.queue.extend(handed);
                continue;
            }
            self.look_for_device(lead).await;
            let now = self.watch_clock();
            let relay_lead = chrono::Duration::from_std(RELAY_LEAD).unwrap_or_default();
            let next = self.due(now + lead.max(relay_lead))?.into_iter().next();
            if let Some(p) = next.filter(|p| p.at - now <= lead_for(&p.slot)) {
                self.timeline.cursor = p.at;
                if now - p.at > grace {
                    let stepped = self
                        .timeline
                        .steps
                        .iter()
                        .any(|(a, b)| p.at > *a && p.at <= *b);
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
            self.timeline.cursor = self.timeline.cursor.max(now);
            let wait = self.sleep_for(now, lead);
            tokio::select! {
                _ = self.doze(wait) => {}
                _ = shutdown.as_mut() => { self.stopping = true; }
            }
        }
        Ok(())
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
    d.clips.catalog.settle_now();
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
