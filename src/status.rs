//! What the running daemon is doing, written to a small JSON file beside the journal so other
//! commands (`loaxa status`) can read it without talking to the process: its pid, what is on
//! air, what airs next, which schedule files were rejected and why, and the output's state.
//! The file is replaced atomically and refreshed every few seconds, so a stale one means the
//! daemon is gone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How old the file may be before the daemon counts as not running.
pub const STALE_AFTER: Duration = Duration::from_secs(15);
/// How often the daemon rewrites it when nothing else changes.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

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
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OnAir {
    pub plan: String,
    pub slot: String,
    pub title: String,
    pub priority: String,
    pub scheduled_at: DateTime<Utc>,
    pub clips: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Upcoming {
    pub at: DateTime<Utc>,
    pub plan: String,
    pub slot: String,
    pub title: String,
    pub priority: String,
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

/// Replaces the file atomically (write, then rename), so a reader never sees half of it.
pub fn write(path: &Path, status: &Status) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(status).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

pub fn read(path: &Path) -> Option<Status> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

impl Status {
    /// Whether the daemon that wrote this is still running: its process exists and it
    /// refreshed the file recently.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        let fresh = (now - self.updated_at)
            .to_std()
            .map(|age| age <= STALE_AFTER)
            .unwrap_or(true);
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
