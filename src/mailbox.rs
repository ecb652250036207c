//! What the operator's console (`loaxa web`) did, and what `loaxa sync` did with a
//! province's bulletin, handed to the daemon to journal. Neither may write the journal, so
//! each action (a login, an upload, a retirement, a schedule saved, an emergency, a
//! bulletin received or withdrawn) is a small JSON file
//! dropped into a hidden folder of `audio/`; the daemon, the journal's one writer, appends it
//! to the hash chain and removes it. One writer keeps the chain one sequence without relying
//! on two processes sharing SQLite's lock, and the console needs no write access to the
//! journal. While no daemon runs, the files wait and are journaled when it starts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use crate::journal::{Action, What};

/// The hidden folder under `audio/` (the catalog skips hidden folders).
pub const PENDING_DIR: &str = ".loaxa-console";

/// Hands an action over: written under a temporary name, then renamed, so the daemon never
/// reads half of one. Names sort in the order they were handed over.
///
/// Regression: the name led with the action's wall-clock time, and a clock stepped back
/// (a virtual machine's clock corrected) sorted a later action before an earlier one. Within
/// one process the time in the name now never goes back.
pub fn hand(audio_dir: &Path, action: &Action) -> std::io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static LAST_MICROS: AtomicU64 = AtomicU64::new(0);
    let dir = audio_dir.join(PENDING_DIR);
    std::fs::create_dir_all(&dir)?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = u64::try_from(action.at.timestamp_micros()).unwrap_or(0);
    let micros = LAST_MICROS
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last + 1))
        })
        .map_or(now, |last| now.max(last + 1));
    let name = format!("{:016}-{:08}-{:06}.json", micros, std::process::id(), n);
    let text = serde_json::to_vec(action).map_err(std::io::Error::other)?;
    let path = dir.join(name);
    crate::files::replace(&path, &text)?;
    Ok(path)
}

/// The actions waiting, oldest first, each with its file (to remove once journaled). A file
/// that does not parse is returned as an error with its path, to be set aside, not lost.
pub fn pending(audio_dir: &Path) -> Vec<(PathBuf, Result<Action, String>)> {
    let Ok(rd) = std::fs::read_dir(audio_dir.join(PENDING_DIR)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let parsed = std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
            (p, parsed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn actions_handed_over_keep_their_order_when_the_clock_steps_back() {
        let dir = tempfile::tempdir().unwrap();
        let at = Utc::now();
        for (i, step) in [0i64, -5_000_000, -10_000_000].into_iter().enumerate() {
            hand(
                dir.path(),
                &Action {
                    at: at + chrono::Duration::microseconds(step),
                    user: "u".into(),
                    from: "127.0.0.1".into(),
                    what: What::SidecarSaved,
                    file: None,
                    sha256: None,
                    detail: Some(i.to_string()),
                    bulletin: None,
                    feed: None,
                },
            )
            .unwrap();
        }
        let details: Vec<String> = pending(dir.path())
            .into_iter()
            .map(|(_, a)| a.unwrap().detail.unwrap())
            .collect();
        assert_eq!(details, ["0", "1", "2"]);
    }

    #[test]
    fn actions_handed_over_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let at = Utc::now();
        for (i, what) in [What::Login, What::Upload, What::Emergency]
            .into_iter()
            .enumerate()
        {
            hand(
                dir.path(),
                &Action {
                    at: at + chrono::Duration::milliseconds(i as i64),
                    user: "can-bo".into(),
                    from: "127.0.0.1".into(),
                    what,
                    file: Some("cchc/a.mp3".into()),
                    sha256: None,
                    detail: None,
                    bulletin: None,
                    feed: None,
                },
            )
            .unwrap();
        }
        let got: Vec<What> = pending(dir.path())
            .into_iter()
            .map(|(_, a)| a.unwrap().what)
            .collect();
        assert_eq!(got, vec![What::Login, What::Upload, What::Emergency]);
    }
}
