//! The audio folder as the running daemon sees it: every clip file, whether it is complete,
//! whether it decodes, its sidecar metadata, and each queue folder's settings.
//!
//! A file counts as complete once loaxa itself has seen its size and mtime stand still for
//! the settle time: copies (Explorer, `cp -p`, rsync) keep the source's mtime, so an old mtime
//! proves nothing. A file renamed into the folder (the console, `loaxa play`, a careful `mv`)
//! is complete by construction: the watcher saw it arrive whole, and it needs no settle time. A complete file is then ingested once, on a worker thread so the deadline
//! loop never waits on a decode, and its facts are cached by content hash in the journal
//! database; a restart with an unchanged library re-reads only file metadata. A notify
//! watcher wakes the daemon on any change; a periodic rescan catches what the watcher cannot
//! see (network shares, a full inotify queue).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::lang::Lang;
use crate::library::{self, ClipInfo, ProbeCache, Stamp};
use crate::sidecar::{self, ClipMeta, QueueSettings};
use crate::tr;

/// How often the whole folder is listed again even if the watcher said nothing.
pub const RESCAN: Duration = Duration::from_secs(30);
/// Where aired-out clips are moved, inside their folder.
pub const RETIRED_DIR: &str = "da-phat";
/// Where hand-overs that came too late to air (a stale emergency) are moved, inside their
/// folder.
pub const EXPIRED_DIR: &str = "het-han";
/// The folder under the audio folder where `loaxa play` (or an operator, or a province's
/// ưu tiên bulletin) hands a clip to the running daemon: it airs once, as soon as nothing is
/// on air (its sidecar's priority first), journaled manual, then moves to `da-phat/`.
pub const PLAY_DIR: &str = "phat-ngay";
/// The queue folder the province's thông thường bulletins arrive in: a commune's schedule
/// takes from it (`queue = "tinh"`) like any queue, so airing them is the commune's choice.
pub const PROVINCE_DIR: &str = "tinh";

/// Where a clip stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipState {
    /// Still being copied: a temporary name, or its size or mtime changed within the settle time.
    Incomplete,
    /// Complete, being measured.
    Checking,
    Ready(ClipInfo),
    /// Complete but does not decode to the end.
    Undecodable(String),
    /// Not an audio format loaxa airs.
    NotAudio,
    /// Aired out: in a `da-phat/` folder.
    Retired,
    /// Not a file loaxa airs whatever it holds (a link leading outside the audio folder, a
    /// name that is not UTF-8): why, in the operator's language.
    Refused(String),
}

impl ClipState {
    pub fn code(&self) -> &'static str {
        match self {
            ClipState::Incomplete => "incomplete",
            ClipState::Checking => "checking",
            ClipState::Ready(_) => "ready",
            ClipState::Undecodable(_) => "undecodable",
            ClipState::NotAudio => "not_audio",
            ClipState::Retired => "retired",
            ClipState::Refused(_) => "refused",
        }
    }
}

/// One file of the audio folder.
#[derive(Debug, Clone)]
pub struct Clip {
    /// Path relative to the audio folder, NFC-normalised (the journal's identity for it).
    pub rel: String,
    pub path: PathBuf,
    /// The folder it sits in, relative to the audio folder ("" at the top).
    pub folder: String,
    pub state: ClipState,
    /// The sidecar's metadata (default without one), or its rendered errors.
    pub meta: Result<ClipMeta, Vec<String>>,
    stamp: Stamp,
    /// When loaxa first saw the current stamp.
    since: Instant,
    /// The stamp was in the ingest cache when first seen: measured before, no need to settle.
    known: bool,
    meta_stamp: Option<Stamp>,
}

impl Clip {
    /// The title the operator gave in the sidecar, else the file name without extension.
    pub fn title(&self) -> String {
        if let Ok(ClipMeta { title: Some(t), .. }) = &self.meta {
            return t.clone();
        }
        Path::new(&self.rel)
            .file_stem()
            .map_or_else(|| self.rel.clone(), |s| s.to_string_lossy().into_owned())
    }

    /// The file's own name, without its folder.
    pub fn name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }

    pub fn info(&self) -> Option<&ClipInfo> {
        match &self.state {
            ClipState::Ready(info) => Some(info),
            _ => None,
        }
    }
}

/// A queue folder's settings, or the rendered errors of its `queue.toml`.
type Settings = Result<QueueSettings, Vec<String>>;

/// Something the operator must hear about once: a clip that will not air, or a metadata file
/// with errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Undecodable { rel: String, reason: String },
    Refused { rel: String, reason: String },
    BadMetadata { file: String, errors: Vec<String> },
}

pub struct Catalog {
    audio_dir: PathBuf,
    lang: Lang,
    probes: Arc<ProbeCache>,
    settle: Duration,
    clips: BTreeMap<String, Clip>,
    queues: BTreeMap<String, (Option<Stamp>, Settings)>,
    /// Set by the watcher: the folder may have changed.
    dirty: Arc<AtomicBool>,
    /// Set by the ingest workers: a measurement is ready.
    measured: Arc<AtomicBool>,
    changed: Arc<tokio::sync::Notify>,
    /// Set by the watcher: files renamed into the folder since the last listing.
    arrived: Arc<Mutex<HashSet<PathBuf>>>,
    _watcher: Option<notify::RecommendedWatcher>,
    last_scan: Option<Instant>,
    ingest: Option<mpsc::Sender<PathBuf>>,
    in_flight: Arc<Mutex<HashSet<PathBuf>>>,
    /// What was already reported, by file and version, so each problem is said once.
    reported: HashSet<(String, Stamp)>,
    notices: Vec<Notice>,
}

impl Catalog {
    /// A catalog of `audio_dir`. `watch` starts the notify watcher and the ingest workers
    /// (the daemon); without it, files are measured when asked (one-shot commands, tests).
    pub fn new(audio_dir: &Path, probes: Arc<ProbeCache>, lang: Lang, watch: bool) -> Catalog {
        let dirty = Arc::new(AtomicBool::new(true));
        let measured = Arc::new(AtomicBool::new(false));
        let changed = Arc::new(tokio::sync::Notify::new());
        let in_flight = Arc::new(Mutex::new(HashSet::new()));
        let arrived = Arc::new(Mutex::new(HashSet::new()));
        let mut watcher = None;
        let mut ingest = None;
        if watch {
            watcher = start_watcher(audio_dir, &dirty, &changed, &arrived, lang);
            ingest = Some(start_workers(&probes, &in_flight, &measured, &changed));
        }
        Catalog {
            audio_dir: audio_dir.to_path_buf(),
            lang,
            probes,
            settle: library::SETTLE,
            clips: BTreeMap::new(),
            queues: BTreeMap::new(),
            dirty,
            measured,
            changed,
            arrived,
            _watcher: watcher,
            last_scan: None,
            ingest,
            in_flight,
            reported: HashSet::new(),
            notices: Vec::new(),
        }
    }

    /// Wakes whoever waits on it when the watcher or an ingest worker saw a change.
    pub fn changed(&self) -> Arc<tokio::sync::Notify> {
        self.changed.clone()
    }

    /// When the next still-settling file is due to be looked at again.
    pub fn next_check(&self) -> Option<Instant> {
        // Temporary names stay incomplete until renamed: nothing to wait for.
        self.clips
            .values()
            .filter(|c| c.state == ClipState::Incomplete && !library::is_temporary_name(c.name()))
            .map(|c| c.since + self.settle)
            .min()
    }

    /// Brings the catalog up to date with the folder. Cheap when nothing happened: the folder
    /// is listed only when the watcher flagged a change, a file is settling, or [`RESCAN`]
    /// passed. Returns whether any clip's state changed.
    pub fn refresh(&mut self) -> bool {
        let now = Instant::now();
        let flagged = self.dirty.swap(false, Ordering::AcqRel);
        let measured = self.measured.swap(false, Ordering::AcqRel);
        let due = self.last_scan.is_none_or(|t| now - t >= RESCAN);
        let settling = self.next_check().is_some_and(|t| t <= now);
        if !(flagged || measured || due || settling) {
            return false;
        }
        let listed = (flagged || due) && self.scan(now);
        self.update_states(now) || listed
    }

    /// Lists the folder; returns whether any file appeared, went, or changed.
    fn scan(&mut self, now: Instant) -> bool {
        let mut changed = false;
        // With no history to go on (the first listing, or a one-shot command), a file whose
        // mtime is older than the settle time counts as settled: copy tools write with a
        // current mtime and set the source's only when done. After that, loaxa trusts only
        // what it saw itself.
        let first = self.last_scan.is_none() || self.ingest.is_none();
        let wall = std::time::SystemTime::now();
        let settled_since = now.checked_sub(self.settle).unwrap_or(now);
        // Taken before the listing: whatever was renamed in by now is listed below.
        let arrived = self
            .arrived
            .lock()
            .map(|mut a| std::mem::take(&mut *a))
            .unwrap_or_default();
        self.last_scan = Some(now);
        let mut seen = HashSet::new();
        let mut dirs = vec![(self.audio_dir.clone(), String::new(), false)];
        while let Some((dir, rel_dir, retired)) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut queue_file = None;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                // A link is looked through (to a file inside the folder it is that file),
                // unless it is refused below.
                // Only a link or a name that is not UTF-8 can be refused, and the listing
                // says which: a library of thousands pays no extra look per file per rescan.
                let suspect = entry.file_name().to_str().is_none()
                    || entry.file_type().is_ok_and(|t| t.is_symlink());
                let refused = suspect
                    .then(|| library::refusal(&self.audio_dir, &entry.path(), self.lang))
                    .flatten();
                let Ok(meta) = std::fs::metadata(entry.path())
                    .or_else(|_| std::fs::symlink_metadata(entry.path()))
                else {
                    continue;
                };
                if let Some(reason) = refused {
                    if name.starts_with('.') {
                        continue;
                    }
                    let rel = library::normalize(&if rel_dir.is_empty() {
                        name.clone()
                    } else {
                        format!("{rel_dir}/{name}")
                    });
                    seen.insert(rel.clone());
                    let stamp = library::stamp_of(&meta);
                    if self.clips.get(&rel).is_some_and(|c| c.stamp == stamp) {
                        continue;
                    }
                    changed = true;
                    if self.reported.insert((rel.clone(), stamp)) {
                        self.notices.push(Notice::Refused {
                            rel: rel.clone(),
                            reason: reason.clone(),
                        });
                    }
                    self.clips.insert(
                        rel.clone(),
                        Clip {
                            rel,
                            folder: library::normalize(&rel_dir),
                            path: entry.path(),
                            state: ClipState::Refused(reason),
                            meta: Ok(ClipMeta::default()),
                            stamp,
                            since: now,
                            known: false,
                            meta_stamp: None,
                        },
                    );
                    continue;
                }
                let rel = library::normalize(&if rel_dir.is_empty() {
                    name.clone()
                } else {
                    format!("{rel_dir}/{name}")
                });
                if meta.is_dir() {
                    if !name.starts_with('.') {
                        let aside = name == RETIRED_DIR || name == EXPIRED_DIR;
                        dirs.push((entry.path(), rel, retired || aside));
                    }
                    continue;
                }
                // Hidden files (`.gitkeep`, a desktop's `.DS_Store`, rsync's `.name.XXXXXX`
                // while it copies) are not the operator's clips.
                if !meta.is_file() || name.starts_with('.') {
                    continue;
                }
                let lower = name.to_lowercase();
                if lower == sidecar::QUEUE_FILE {
                    queue_file = Some((entry.path(), library::stamp_of(&meta)));
                    continue;
                }
                if lower.ends_with(".toml") {
                    continue; // a sidecar, read with its clip
                }
                seen.insert(rel.clone());
                let stamp = library::stamp_of(&meta);
                match self.clips.get_mut(&rel) {
                    Some(c) if c.stamp == stamp => {
                        // Listed while it was being renamed in, before the watcher said so.
                        if c.state == ClipState::Incomplete && arrived.contains(&c.path) {
                            changed = true;
                            c.since = settled_since;
                        }
                    }
                    Some(c) => {
                        changed = true;
                        c.stamp = stamp;
                        c.since = if arrived.contains(&c.path) {
                            settled_since
                        } else {
                            now
                        };
                        c.known = false;
                        c.state = ClipState::Incomplete;
                    }
                    None => {
                        changed = true;
                        let path = entry.path();
                        let known = self.probes.cached(&path, stamp).is_some();
                        let old = stamp
                            .1
                            .and_then(|m| wall.duration_since(m).ok())
                            .is_some_and(|age| age >= self.settle);
                        let whole = arrived.contains(&path);
                        let since = if (first && old) || whole {
                            settled_since
                        } else {
                            now
                        };
                        self.clips.insert(
                            rel.clone(),
                            Clip {
                                rel: rel.clone(),
                                folder: library::normalize(&rel_dir),
                                path,
                                state: if retired {
                                    ClipState::Retired
                                } else {
                                    ClipState::Incomplete
                                },
                                meta: Ok(ClipMeta::default()),
                                stamp,
                                since,
                                known,
                                meta_stamp: None,
                            },
                        );
                    }
                }
            }
            if !retired {
                changed |= self.read_queue_settings(&library::normalize(&rel_dir), queue_file);
            }
        }
        let before = self.clips.len();
        self.clips.retain(|rel, _| seen.contains(rel));
        changed |= self.clips.len() != before;
        // Sidecars: re-read only the ones whose file changed.
        let lang = self.lang;
        for clip in self.clips.values_mut() {
            if matches!(clip.state, ClipState::Retired | ClipState::Refused(_)) {
                continue;
            }
            let side = sidecar::sidecar_path(&clip.path);
            let stamp = std::fs::metadata(&side).ok().map(|m| library::stamp_of(&m));
            if stamp == clip.meta_stamp {
                continue;
            }
            changed = true;
            clip.meta_stamp = stamp;
            clip.meta = match stamp {
                None => Ok(ClipMeta::default()),
                Some(s) => {
                    let parsed = match std::fs::read_to_string(&side) {
                        Ok(text) => sidecar::parse_clip(&side, &text, lang)
                            .map_err(|ds| ds.iter().map(|d| d.render(lang)).collect()),
                        Err(e) => Err(vec![format!("{}: {e}", side.display())]),
                    };
                    if let Err(errors) = &parsed {
                        if self.reported.insert((side.display().to_string(), s)) {
                            self.notices.push(Notice::BadMetadata {
                                file: side.display().to_string(),
                                errors: errors.clone(),
                            });
                        }
                    }
                    parsed
                }
            };
        }
        changed
    }

    /// Reads a folder's `queue.toml` if it changed; returns whether it did.
    fn read_queue_settings(&mut self, folder: &str, file: Option<(PathBuf, Stamp)>) -> bool {
        let stamp = file.as_ref().map(|(_, s)| *s);
        if self.queues.get(folder).is_some_and(|(s, _)| *s == stamp) {
            return false;
        }
        let lang = self.lang;
        let settings = match &file {
            None => Ok(QueueSettings::default()),
            Some((path, s)) => {
                let parsed = match std::fs::read_to_string(path) {
                    Ok(text) => sidecar::parse_queue(path, &text, lang)
                        .map_err(|ds| ds.iter().map(|d| d.render(lang)).collect()),
                    Err(e) => Err(vec![format!("{}: {e}", path.display())]),
                };
                if let Err(errors) = &parsed {
                    if self.reported.insert((path.display().to_string(), *s)) {
                        self.notices.push(Notice::BadMetadata {
                            file: path.display().to_string(),
                            errors: errors.clone(),
                        });
                    }
                }
                parsed
            }
        };
        self.queues.insert(folder.to_string(), (stamp, settings));
        true
    }

    fn update_states(&mut self, now: Instant) -> bool {
        let mut changed = false;
        let settle = self.settle;
        let probes = self.probes.clone();
        let inline = self.ingest.is_none();
        let mut to_ingest = Vec::new();
        for clip in self.clips.values_mut() {
            if matches!(clip.state, ClipState::Retired | ClipState::Refused(_)) {
                continue;
            }
            let new_state = if library::is_temporary_name(clip.name()) {
                ClipState::Incomplete
            } else if !library::has_audio_extension(clip.name()) {
                ClipState::NotAudio
            } else if !clip.known && now < clip.since + settle {
                ClipState::Incomplete
            } else {
                // Settled as far as the last listing knows; a file on a share the watcher
                // cannot see is looked at once more before it counts as complete.
                if !clip.known && matches!(clip.state, ClipState::Incomplete) {
                    let current = std::fs::metadata(&clip.path)
                        .ok()
                        .map(|m| library::stamp_of(&m));
                    if current != Some(clip.stamp) {
                        if let Some(s) = current {
                            clip.stamp = s;
                        }
                        clip.since = now;
                        continue;
                    }
                }
                let result = match probes.cached(&clip.path, clip.stamp) {
                    // Not the daemon: measure here and now.
                    None if inline => Some(probes.probe(&clip.path)),
                    r => r,
                };
                match result {
                    Some(Ok(info)) => ClipState::Ready(info),
                    Some(Err(e)) => ClipState::Undecodable(e.reason(self.lang)),
                    None => {
                        to_ingest.push(clip.path.clone());
                        ClipState::Checking
                    }
                }
            };
            if let ClipState::Undecodable(reason) = &new_state {
                if self.reported.insert((clip.rel.clone(), clip.stamp)) {
                    self.notices.push(Notice::Undecodable {
                        rel: clip.rel.clone(),
                        reason: reason.clone(),
                    });
                }
            }
            if new_state != clip.state {
                clip.state = new_state;
                changed = true;
            }
        }
        for path in to_ingest {
            self.ingest(path);
        }
        changed
    }

    fn ingest(&mut self, path: PathBuf) {
        if let Some(tx) = &self.ingest {
            let fresh = self
                .in_flight
                .lock()
                .is_ok_and(|mut s| s.insert(path.clone()));
            if fresh && tx.send(path).is_err() {
                tracing::error!("clip ingest worker is gone");
            }
        }
    }

    /// Whether clips are being measured right now.
    pub fn ingesting(&self) -> bool {
        self.in_flight.lock().is_ok_and(|s| !s.is_empty())
    }

    /// Lists the whole folder again at the next refresh (SIGHUP).
    pub fn rescan(&mut self) {
        self.last_scan = None;
    }

    /// Measures on this thread the complete clips of `folder` still waiting for the ingest
    /// workers: a broadcast about to pick from it cannot wait for them.
    pub fn measure_now(&mut self, folder: &str) -> bool {
        let folder = library::normalize(folder);
        let waiting: Vec<PathBuf> = self
            .clips
            .values()
            .filter(|c| c.folder == folder && c.state == ClipState::Checking)
            .map(|c| c.path.clone())
            .collect();
        if waiting.is_empty() {
            return false;
        }
        for path in &waiting {
            let _ = self.probes.probe(path);
        }
        self.update_states(Instant::now())
    }

    /// Lists the folder and states every clip now (commands that are not the daemon measure
    /// on this thread). Files that changed within the settle time stay incomplete.
    pub fn settle_now(&mut self) {
        self.scan(Instant::now());
        self.update_states(Instant::now());
    }

    /// What must be reported since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    pub fn clips(&self) -> impl Iterator<Item = &Clip> {
        self.clips.values()
    }

    pub fn get(&self, rel: &str) -> Option<&Clip> {
        self.clips.get(rel)
    }

    /// The clips directly in `folder` (not its retired ones), sorted by name.
    pub fn queue(&self, folder: &str) -> impl Iterator<Item = &Clip> {
        let folder = library::normalize(folder);
        self.clips.values().filter(move |c| c.folder == folder)
    }

    /// The clips `folder` has retired to its `da-phat/`.
    pub fn retired(&self, folder: &str) -> impl Iterator<Item = &Clip> {
        let folder = format!("{}/{RETIRED_DIR}", library::normalize(folder));
        self.clips.values().filter(move |c| c.folder == folder)
    }

    /// A queue folder's own settings (`queue.toml`), or its errors.
    pub fn queue_settings(&self, folder: &str) -> Result<QueueSettings, Vec<String>> {
        self.queues
            .get(&library::normalize(folder))
            .map_or_else(|| Ok(QueueSettings::default()), |(_, s)| s.clone())
    }

    /// Moves a clip (and its sidecar) into its folder's `da-phat/`; the journal keeps its
    /// record under the old name.
    pub fn retire(&mut self, rel: &str) -> std::io::Result<PathBuf> {
        self.set_aside(rel, RETIRED_DIR)
    }

    /// Moves a hand-over that came too late to air into its folder's `het-han/`.
    pub fn expire(&mut self, rel: &str) -> std::io::Result<PathBuf> {
        self.set_aside(rel, EXPIRED_DIR)
    }

    fn set_aside(&mut self, rel: &str, aside: &str) -> std::io::Result<PathBuf> {
        let Some(clip) = self.clips.get(rel) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                rel.to_string(),
            ));
        };
        let dir = clip.path.parent().unwrap_or(&self.audio_dir).join(aside);
        std::fs::create_dir_all(&dir)?;
        let to = dir.join(clip.path.file_name().unwrap_or_default());
        std::fs::rename(&clip.path, &to)?;
        let side = sidecar::sidecar_path(&clip.path);
        if side.is_file() {
            let _ = std::fs::rename(&side, dir.join(side.file_name().unwrap_or_default()));
        }
        // Gone from the queue at once, not when the watcher's event arrives: nothing may pick
        // it in between.
        self.clips.remove(rel);
        self.dirty.store(true, Ordering::Release);
        self.last_scan = None;
        Ok(to)
    }

    /// Renders a notice for the log, in the operator's language.
    pub fn describe(&self, n: &Notice) -> String {
        let lang = self.lang;
        match n {
            Notice::Undecodable { rel, reason } => tr!(
                lang,
                "tệp {rel} sẽ không được phát: {reason}. Hãy chép lại tệp gốc.",
                "{rel} will not air: {reason}. Copy the original file again.",
            ),
            Notice::Refused { rel, reason } => tr!(
                lang,
                "tệp {rel} sẽ không được phát: {reason}",
                "{rel} will not air: {reason}",
            ),
            Notice::BadMetadata { file, errors } => tr!(
                lang,
                "{file} có lỗi, bài liên quan sẽ không được phát cho đến khi sửa:\n{}",
                "{file} has errors; the clips it describes will not air until it is fixed:\n{}",
                errors.join("\n")
            ),
        }
    }
}

fn start_watcher(
    dir: &Path,
    dirty: &Arc<AtomicBool>,
    changed: &Arc<tokio::sync::Notify>,
    arrived: &Arc<Mutex<HashSet<PathBuf>>>,
    lang: Lang,
) -> Option<notify::RecommendedWatcher> {
    use notify::event::{EventKind, ModifyKind, RenameMode};
    use notify::Watcher as _;
    let (d, c, a) = (dirty.clone(), changed.clone(), arrived.clone());
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // A rename's target arrived whole; noted before the flag, so the listing the flag
        // brings about sees it.
        if let Ok(e) = &res {
            let target = match e.kind {
                EventKind::Modify(ModifyKind::Name(RenameMode::To)) => e.paths.first(),
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => e.paths.get(1),
                _ => None,
            };
            if let (Some(t), Ok(mut set)) = (target, a.lock()) {
                set.insert(t.clone());
            }
        }
        // Any event, even an error (a queue overflow), means "look again".
        let interesting = match &res {
            Ok(e) => !e.kind.is_access(),
            Err(_) => true,
        };
        if interesting {
            d.store(true, Ordering::Release);
            c.notify_one();
        }
    });
    match watcher.and_then(|mut w| {
        w.watch(dir, notify::RecursiveMode::Recursive)?;
        Ok(w)
    }) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(
                "{}",
                tr!(
                    lang,
                    "không theo dõi được thư mục {} ({e}); loaxa vẫn quét lại mỗi {} giây",
                    "cannot watch {} ({e}); loaxa still rescans it every {} seconds",
                    dir.display(),
                    RESCAN.as_secs()
                )
            );
            None
        }
    }
}

fn start_workers(
    probes: &Arc<ProbeCache>,
    in_flight: &Arc<Mutex<HashSet<PathBuf>>>,
    measured: &Arc<AtomicBool>,
    changed: &Arc<tokio::sync::Notify>,
) -> mpsc::Sender<PathBuf> {
    let (tx, rx) = mpsc::channel::<PathBuf>();
    let rx = Arc::new(Mutex::new(rx));
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 2);
    for i in 0..workers {
        let (rx, probes, in_flight, measured, changed) = (
            rx.clone(),
            probes.clone(),
            in_flight.clone(),
            measured.clone(),
            changed.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name(format!("loaxa-ingest-{i}"))
            .spawn(move || loop {
                let next = rx.lock().ok().and_then(|r| r.recv().ok());
                let Some(path) = next else {
                    return;
                };
                let _ = probes.probe(&path);
                if let Ok(mut s) = in_flight.lock() {
                    s.remove(&path);
                }
                measured.store(true, Ordering::Release);
                changed.notify_one();
            });
        if let Err(e) = spawned {
            tracing::error!("clip ingest worker: {e}");
        }
    }
    tx
}

#[cfg(test)]
pub(crate) mod tests_support {
    use std::path::Path;
    use std::time::Duration;

    /// An old-enough (settled) 0.1 s WAV file.
    pub(crate) fn wav(path: &Path) {
        wav_aged(path, true);
    }

    pub(crate) fn wav_aged(path: &Path, old: bool) {
        // 0.1 s of an 8 kHz mono square wave.
        let frames = 800u32;
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + frames * 2).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
        out.extend_from_slice(&1u16.to_le_bytes()); // PCM
        out.extend_from_slice(&1u16.to_le_bytes()); // mono
        out.extend_from_slice(&8000u32.to_le_bytes()); // rate
        out.extend_from_slice(&16000u32.to_le_bytes()); // bytes per second
        out.extend_from_slice(&2u16.to_le_bytes()); // block align
        out.extend_from_slice(&16u16.to_le_bytes()); // bits
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(frames * 2).to_le_bytes());
        for i in 0..frames {
            let v: i16 = if i % 20 < 10 { 8000 } else { -8000 };
            out.extend_from_slice(&v.to_le_bytes());
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, out).unwrap();
        if old {
            let f = std::fs::File::options().write(true).open(path).unwrap();
            f.set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
                .unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::wav_aged as wav;
    use super::*;

    #[test]
    fn each_file_gets_the_state_an_operator_would_expect() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path();
        wav(&a.join("q/1-old.wav"), true);
        wav(&a.join("q/2-fresh.wav"), false);
        wav(&a.join("q/3.wav.part"), true);
        std::fs::write(a.join("q/4-bad.mp3"), b"not audio").unwrap();
        let f = std::fs::File::options()
            .write(true)
            .open(a.join("q/4-bad.mp3"))
            .unwrap();
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        wav(&a.join("q/5-side.wav"), true);
        std::fs::write(a.join("q/5-side.toml"), "times = 0\n").unwrap();
        wav(&a.join("q/da-phat/0-done.wav"), true);
        std::fs::write(a.join("q/queue.toml"), "mode = \"once\"\n").unwrap();
        std::fs::write(a.join("q/ghi-chu.txt"), "x").unwrap();

        let mut c = Catalog::new(a, Arc::new(ProbeCache::default()), Lang::En, false);
        c.settle_now();
        let states: Vec<(String, &'static str)> = c
            .queue("q")
            .map(|c| (c.rel.clone(), c.state.code()))
            .collect();
        assert_eq!(
            states,
            [
                ("q/1-old.wav".to_string(), "ready"),
                ("q/2-fresh.wav".to_string(), "incomplete"),
                ("q/3.wav.part".to_string(), "incomplete"),
                ("q/4-bad.mp3".to_string(), "undecodable"),
                ("q/5-side.wav".to_string(), "ready"),
                ("q/ghi-chu.txt".to_string(), "not_audio"),
            ]
        );
        assert!(c.get("q/5-side.wav").unwrap().meta.is_err());
        assert_eq!(c.retired("q").count(), 1);
        assert_eq!(
            c.queue_settings("q").unwrap().mode,
            Some(sidecar::Mode::Times(1))
        );
        let notices = c.take_notices();
        assert_eq!(notices.len(), 2, "{notices:?}");
        // Said once: a second look at the same files reports nothing new.
        c.settle_now();
        assert!(c.take_notices().is_empty());
    }
}

#[cfg(test)]
mod regressions {
    use super::*;

    /// Regression: a `.gitkeep` in the emergency folder counted as a file still settling, so
    /// the daemon's loop never slept (2 % CPU idle instead of 0.05 %).
    #[test]
    fn files_with_temporary_names_are_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("khan-cap")).unwrap();
        std::fs::write(dir.path().join("khan-cap/.gitkeep"), b"").unwrap();
        std::fs::write(dir.path().join("khan-cap/tin.mp3.part"), b"x").unwrap();
        let mut c = Catalog::new(dir.path(), Arc::new(ProbeCache::default()), Lang::En, false);
        c.settle_now();
        assert_eq!(c.clips().count(), 1, "hidden files are not tracked at all");
        assert_eq!(c.next_check(), None);
    }

    /// Regression: an aired emergency file was moved to da-phat/ but stayed in the catalog
    /// until the watcher's event arrived, so the loop could queue it again (and journal a
    /// failed third emergency with "missing file").
    #[test]
    fn a_retired_clip_leaves_its_queue_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("khan-cap/bao-lu.wav");
        super::tests_support::wav(&p);
        let mut c = Catalog::new(dir.path(), Arc::new(ProbeCache::default()), Lang::En, false);
        c.settle_now();
        assert_eq!(c.queue("khan-cap").count(), 1);
        let to = c.retire("khan-cap/bao-lu.wav").unwrap();
        assert!(to.ends_with("khan-cap/da-phat/bao-lu.wav") && to.is_file());
        assert_eq!(
            c.queue("khan-cap").count(),
            0,
            "without waiting for a rescan"
        );
    }
}
