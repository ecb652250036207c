//! What the running daemon is doing, written to a small JSON file beside the journal so other
//! commands (`loaxa status`) can read it without talking to the process: its pid, what is on
//! air, what airs next, which schedule files were rejected and why, and the output's state.
//! The file is replaced atomically and refreshed every few seconds, so a stale one means the
//! daemon is gone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lang::Lang;
use crate::schedule::Priority;
use crate::tr;

/// How old the file may be before the daemon counts as not running.
pub const STALE_AFTER: Duration = Duration::from_secs(90);
/// How often the daemon rewrites it when nothing else changes.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub pid: u32,
    pub version: String,
    pub output: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub on_air: Option<OnAir>,
    pub next: Vec<Upcoming>,
    pub rejected: Vec<Rejected>,
    /// The last error the output reported, if the last broadcast had one.
    pub output_error: Option<String>,
    /// Since when the output has been unavailable, while loaxa keeps looking for it.
    #[serde(default)]
    pub output_lost_since: Option<DateTime<Utc>>,
    /// Events the journal refused and loaxa holds for it, and why.
    #[serde(default)]
    pub journal_pending: usize,
    #[serde(default)]
    pub journal_error: Option<String>,
    /// Emergencies handed over too long ago to air, set aside by this run (the latest few).
    #[serde(default)]
    pub expired: Vec<Expired>,
}

/// A stale emergency hand-over that was not aired.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Expired {
    /// Where it was handed over (under the audio folder).
    pub file: String,
    pub handed_at: DateTime<Utc>,
    /// When loaxa found it too old, journaled it and set it aside.
    pub found_at: DateTime<Utc>,
    pub max_age_seconds: i64,
}

impl Expired {
    /// How many a status keeps: enough to see a burst, never a growing file.
    pub const KEEP: usize = 10;

    /// One line for the operator, in `lang`, times in `tz`.
    pub fn text(&self, lang: Lang, tz: chrono_tz::Tz) -> String {
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S");
        tr!(
            lang,
            "TIN KHẨN CẤP QUÁ HẠN, KHÔNG PHÁT: {} (giao lúc {}, thấy lúc {}, quá {} cho phép) — đã chuyển vào {}/",
            "STALE EMERGENCY, NOT AIRED: {} (handed over at {}, found at {}, beyond the {} allowed) — moved to {}/",
            self.file,
            local(self.handed_at),
            local(self.found_at),
            lang.span(self.max_age_seconds),
            crate::catalog::EXPIRED_DIR
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OnAir {
    pub plan: String,
    pub slot: String,
    pub title: String,
    pub priority: Priority,
    pub scheduled_at: DateTime<Utc>,
    pub clips: Vec<String>,
    /// A plan's slot aired by hand (`run --rehearse`), not by the plan.
    #[serde(default)]
    pub rehearsal: bool,
}

impl OnAir {
    /// How it airs, in words: its priority, or that it is a rehearsal.
    pub fn kind(&self, lang: Lang) -> &'static str {
        if self.rehearsal {
            lang.pick("phát thử", "rehearsal")
        } else {
            self.priority.label(lang)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Upcoming {
    pub at: DateTime<Utc>,
    pub plan: String,
    pub slot: String,
    pub title: String,
    pub priority: Priority,
    /// Why a guard keeps it off the air (quiet hours, sessions a day), in the station's
    /// language; `None` when it airs.
    #[serde(default)]
    pub held: Option<String>,
}

impl Upcoming {
    /// The next few occurrences from `now` (five, within two weeks), each as planned: what
    /// the daemon publishes and `status` shows when no daemon runs.
    pub fn ahead(
        planner: &crate::planner::Planner<'_>,
        schedules: &crate::schedule::Schedules,
        journal: Option<&crate::journal::Journal>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Upcoming>, crate::journal::JournalError> {
        let lang = planner.config.language;
        let until = now + chrono::Duration::days(14);
        Ok(planner
            .forecast(schedules, journal, now, until, 5)?
            .iter()
            .map(|(due, planned)| Upcoming::of(due, planned, lang))
            .collect())
    }

    pub fn of(
        due: &crate::planner::Due,
        planned: &crate::planner::Planned,
        lang: Lang,
    ) -> Upcoming {
        Upcoming {
            at: due.at,
            plan: due.slot.plan.clone(),
            slot: due.slot.id.clone(),
            title: due.slot.title.clone(),
            priority: due.slot.priority,
            held: match planned {
                crate::planner::Planned::Held(r) => Some(r.text(lang)),
                crate::planner::Planned::Airs(_) => None,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rejected {
    pub file: String,
    /// Rendered diagnostics, in the station's language.
    pub errors: Vec<String>,
}

/// Where the status file of the station whose journal is `journal` lives.
pub fn path_for(journal: &Path) -> PathBuf {
    journal.with_file_name("status.json")
}

/// Replaces the file atomically (`files::replace`), so a reader never sees half of it.
/// When its folder takes no writes (a full disk), the status goes to a fallback place, so
/// `loaxa status` can still tell the operator what is wrong.
pub fn write(path: &Path, status: &Status) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(status).map_err(std::io::Error::other)?;
    let mut first_error = None;
    for p in std::iter::once(path.to_path_buf()).chain(fallbacks(path)) {
        match crate::files::replace(&p, text.as_bytes()) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| std::io::Error::other("no place to write the status")))
}

/// The freshest status among its usual place and the fallbacks.
pub fn read(path: &Path) -> Option<Status> {
    std::iter::once(path.to_path_buf())
        .chain(fallbacks(path))
        .filter_map(|p| serde_json::from_str::<Status>(&std::fs::read_to_string(p).ok()?).ok())
        .max_by_key(|s| s.updated_at)
}

/// Removes the status wherever it was written (the daemon stopped).
pub fn remove(path: &Path) {
    for p in std::iter::once(path.to_path_buf()).chain(fallbacks(path)) {
        let _ = std::fs::remove_file(p);
    }
}

fn fallbacks(path: &Path) -> Vec<PathBuf> {
    crate::backlog::fallback_files(path, "fallback.json")
        .into_iter()
        .skip(1)
        .collect()
}

impl Status {
    /// Whether the daemon that wrote this is still running: its process exists and it
    /// refreshed the file recently.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        let fresh = (now - self.updated_at)
            .to_std()
            .map_or(true, |age| age <= STALE_AFTER);
        fresh && process_exists(self.pid)
    }
}

fn process_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // Signal 0 checks existence and permission without sending anything.
        let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// The queue folders' contents as the daemon sees them, in `library.json` beside the status
/// file. Written when something changes rather than on every heartbeat: with thousands of
/// clips it is the large part.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Library {
    pub updated_at: Option<DateTime<Utc>>,
    pub folders: Vec<Folder>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Folder {
    pub folder: String,
    pub mode: FolderMode,
    /// Rendered errors of the folder's `queue.toml`, if it has any.
    pub settings_errors: Vec<String>,
    pub clips: Vec<ClipRow>,
}

/// How a listed folder airs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FolderMode {
    /// The emergency folder: each file airs at once, cutting what is on air.
    Emergency,
    /// Least recently aired first, for ever.
    Rotate,
    /// Each clip airs this many times, then is retired (1: `once`).
    Times(u32),
}

impl FolderMode {
    /// How the queue takes turns, the one wording `status` and the console use.
    pub fn label(self, lang: Lang) -> String {
        match self {
            FolderMode::Emergency => lang.pick("tin khẩn cấp", "emergencies").to_string(),
            FolderMode::Rotate => lang.pick("xoay vòng", "rotate").to_string(),
            FolderMode::Times(1) => lang
                .pick("mỗi bài phát một lần", "each clip once")
                .to_string(),
            FolderMode::Times(n) => tr!(lang, "mỗi bài phát {n} lần", "each clip {n} times"),
        }
    }
}

/// Where a queue clip stands, as `status` shows it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClipStatus {
    /// It airs when its turn comes.
    Waiting,
    Incomplete,
    Checking,
    Undecodable,
    /// A link leading outside the audio folder, or a name that is not UTF-8.
    Refused,
    NotAudio,
    /// Its sidecar has errors.
    BadMetadata,
    NotYet,
    Expired,
    /// Aired as often as it should, about to be retired.
    Spent,
    Retired,
}

impl ClipStatus {
    /// The state's name, the one wording `status` and the console use (`status` adds the
    /// clip's figures and detail after it).
    pub fn label(self, lang: Lang) -> &'static str {
        use ClipStatus as S;
        match self {
            S::Waiting => lang.pick("chờ phát", "waiting"),
            S::Incomplete => lang.pick(
                "đang chép dở, chưa phát",
                "still being copied, not aired yet",
            ),
            S::Checking => lang.pick("đang kiểm tra tệp", "being checked"),
            S::Undecodable => lang.pick("KHÔNG PHÁT ĐƯỢC", "UNDECODABLE"),
            S::Refused => lang.pick("KHÔNG PHÁT", "NOT AIRED"),
            S::NotAudio => lang.pick("không phải tệp âm thanh", "not an audio file"),
            S::BadMetadata => lang.pick(
                "KHÔNG PHÁT: tệp mô tả .toml có lỗi",
                "NOT AIRED: its .toml sidecar has errors",
            ),
            S::NotYet => lang.pick("chưa đến ngày", "not yet"),
            S::Expired => lang.pick("hết hạn, không phát", "expired, not aired"),
            S::Spent => lang.pick("đã phát đủ", "aired out"),
            S::Retired => lang.pick("đã phát xong", "done"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClipRow {
    pub rel: String,
    pub title: String,
    pub state: ClipStatus,
    /// The reason behind the state (decode error, dates), in the station's language.
    pub detail: Option<String>,
    pub aired: i64,
    pub limit: Option<u32>,
}

pub fn library_path_for(journal: &Path) -> PathBuf {
    journal.with_file_name("library.json")
}

pub fn write_library(path: &Path, library: &Library) -> std::io::Result<()> {
    let text = serde_json::to_string(library).map_err(std::io::Error::other)?;
    crate::files::replace(path, text.as_bytes())
}

pub fn read_library(path: &Path) -> Option<Library> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// States every clip of the schedules' queue folders and of the emergency folder.
pub fn library(
    catalog: &crate::catalog::Catalog,
    journal: Option<&crate::journal::Journal>,
    schedules: &crate::schedule::Schedules,
    emergency_dir: &str,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    lang: Lang,
) -> Result<Library, crate::journal::JournalError> {
    let date = now.with_timezone(&tz).date_naive();
    use crate::catalog::ClipState;
    use crate::planner::{Hold, QueueHistory, QueueRules};
    use crate::sidecar::Mode;
    let mut queues: Vec<&crate::schedule::QueueRef> =
        schedules.slots().filter_map(|s| s.queue.as_ref()).collect();
    queues.sort_by(|a, b| a.folder.cmp(&b.folder));
    queues.dedup_by(|a, b| a.folder == b.folder);
    let mut folders = Vec::new();
    let mut add = |folder: &str, slot_mode: Option<Mode>| {
        let history = match journal {
            Some(j) => crate::planner::Ledger::queue_history(j, folder)?,
            None => QueueHistory::default(),
        };
        // A queue whose `queue.toml` has errors does not air: its clips are still listed,
        // by the slot's mode if it says one, with the errors.
        let (rules, errors) =
            match QueueRules::for_folder(catalog, folder, slot_mode, (date, now), &history) {
                Ok(rules) => (rules, Vec::new()),
                Err(errors) => (
                    QueueRules {
                        mode: slot_mode.unwrap_or_default(),
                        topic: None,
                        date,
                        at: now,
                        history: &history,
                    },
                    errors,
                ),
            };
        let mode = (errors.is_empty() || slot_mode.is_some()).then_some(rules.mode);
        let by_name = crate::journal::by_path(&history.aired);
        let aired_by_name = |rel: &str| by_name.get(rel).copied().unwrap_or(0);
        let row = |c: &crate::catalog::Clip, state: ClipStatus, detail: Option<String>| ClipRow {
            rel: c.rel.clone(),
            title: c.title(),
            state,
            detail,
            aired: if c.info().is_some() {
                rules.aired(c)
            } else {
                aired_by_name(&c.rel)
            },
            limit: rules.limit(c),
        };
        let mut clips = Vec::new();
        for c in catalog.queue(folder) {
            let (state, detail) = match (&c.state, &c.meta) {
                (ClipState::Incomplete, _) => (ClipStatus::Incomplete, None),
                (ClipState::Checking, _) => (ClipStatus::Checking, None),
                (ClipState::NotAudio, _) => (ClipStatus::NotAudio, None),
                (ClipState::Retired, _) => (ClipStatus::Retired, None),
                (ClipState::Undecodable(r), _) => (ClipStatus::Undecodable, Some(r.clone())),
                (ClipState::Refused(r), _) => (ClipStatus::Refused, Some(r.clone())),
                (ClipState::Ready(_), Err(e)) => (ClipStatus::BadMetadata, Some(e.join("\n"))),
                (ClipState::Ready(_), Ok(m)) => match rules.hold(c) {
                    Some(Hold::NotYet) => (
                        ClipStatus::NotYet,
                        m.from
                            .map(|f| crate::tr!(lang, "phát từ {f}", "airs from {f}")),
                    ),
                    Some(Hold::Expired) => (
                        ClipStatus::Expired,
                        m.until
                            .map(|u| crate::tr!(lang, "ngày cuối {u}", "last day {u}")),
                    ),
                    Some(Hold::Spent) => (ClipStatus::Spent, None),
                    _ => (ClipStatus::Waiting, None),
                },
            };
            clips.push(row(c, state, detail));
        }
        for c in catalog.retired(folder) {
            // Its airings are journaled under the name it had in the queue.
            let name = c.rel.rsplit('/').next().unwrap_or(&c.rel);
            let mut r = row(c, ClipStatus::Retired, None);
            r.aired = aired_by_name(&format!("{folder}/{name}"));
            clips.push(r);
        }
        folders.push(Folder {
            folder: folder.to_string(),
            mode: match mode {
                _ if folder == emergency_dir => FolderMode::Emergency,
                None | Some(Mode::Rotate) => FolderMode::Rotate,
                Some(Mode::Times(n)) => FolderMode::Times(n),
            },
            settings_errors: errors,
            clips,
        });
        Ok::<(), crate::journal::JournalError>(())
    };
    for q in queues {
        add(&q.folder, q.mode)?;
    }
    add(emergency_dir, None)?;
    Ok(Library {
        updated_at: Some(now),
        folders,
    })
}

/// The station as its daemon's status and the journal say it is now, for the heartbeat
/// `loaxa sync` sends the province: whether the daemon runs, what is on air, whether the
/// output is up, how many events wait to be sent. (`loaxa sync` adds where the stream is
/// heard, from `[stream]`.)
pub fn heartbeat(journal: &Path) -> crate::central::bulletin::Heartbeat {
    let now = Utc::now();
    let status = read(&path_for(journal));
    let live = status.as_ref().is_some_and(|s| s.is_live(now));
    let local = crate::journal::Journal::open_reader(journal).map_or(0, |j| j.head().0);
    let acked = crate::sync::read(&crate::sync::path_for(journal)).map_or(0, |s| s.acked_seq);
    crate::central::bulletin::Heartbeat {
        live,
        on_air: status
            .as_ref()
            .filter(|_| live)
            .and_then(|s| s.on_air.as_ref())
            .map(|a| a.title.clone()),
        output_ok: live
            && status
                .as_ref()
                .is_some_and(|s| s.output_lost_since.is_none()),
        backlog: (local - acked).max(0),
        stream: None,
    }
}
