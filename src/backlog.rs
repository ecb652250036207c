//! Journal events that could not be written yet (a full disk, a read-only or failing
//! journal): the station keeps airing, and what it did is held in memory and mirrored, batch
//! by batch, to a fallback file on whichever of a few places still takes writes. The daemon
//! retries every few seconds; once the journal takes writes again the batches go in, in order,
//! with their original times, and the fallback file is removed. A fallback file left by a
//! daemon that died while holding events is replayed at the next start, skipping anything
//! that already reached the journal, so nothing is lost and nothing is written twice.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::journal::{Event, Journal, JournalError};

/// Events written together, with the time they happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch {
    pub at: DateTime<Utc>,
    /// The journal's event count when these were held: they can only have reached it after.
    pub after_seq: i64,
    pub events: Vec<Event>,
}

pub struct Backlog {
    batches: Vec<Batch>,
    candidates: Vec<PathBuf>,
    /// The fallback file this run mirrors into, once one took a write.
    file: Option<PathBuf>,
    /// Why the journal refused the last write.
    pub error: Option<String>,
}

impl Backlog {
    /// The fallback places for the journal at `journal`: beside it (a locked or read-only
    /// database file), the service's runtime directory, and the temporary folder (a full
    /// disk: usually another file system).
    pub fn new(journal: &Path) -> Backlog {
        Backlog {
            batches: Vec::new(),
            candidates: fallback_files(journal, "pending.jsonl"),
            file: None,
            error: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// How many events are held.
    pub fn len(&self) -> usize {
        self.batches.iter().map(|b| b.events.len()).sum()
    }

    /// Where the held events are mirrored, if anywhere could take them.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Whether a held event concerns this occurrence (so it is not aired or journaled again).
    pub fn knows(&self, key: &str) -> bool {
        self.batches
            .iter()
            .flat_map(|b| &b.events)
            .any(|e| occurrence_of(e) == Some(key))
    }

    /// Holds events the journal refused.
    pub fn hold(&mut self, events: &[Event], at: DateTime<Utc>, after_seq: i64, error: String) {
        let batch = Batch {
            at,
            after_seq,
            events: events.to_vec(),
        };
        self.error = Some(error);
        let line = serde_json::to_string(&batch).unwrap_or_default();
        self.batches.push(batch);
        let mut tried: Vec<PathBuf> = self.file.iter().cloned().collect();
        tried.extend(
            self.candidates
                .iter()
                .filter(|c| Some(*c) != self.file.as_ref())
                .cloned(),
        );
        let mut written = None;
        for path in tried {
            let ok = path
                .parent()
                .is_none_or(|d| std::fs::create_dir_all(d).is_ok())
                && std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .and_then(|mut f| {
                        f.write_all(line.as_bytes())?;
                        f.write_all(b"\n")?;
                        f.sync_data()
                    })
                    .is_ok();
            if ok {
                written = Some(path);
                break;
            }
        }
        match written {
            // Batches before this one may sit in another file; replay reads them all.
            Some(p) => self.file = Some(p),
            None => tracing::error!(
                "no fallback file could be written either ({}); {} journal event(s) are held in memory only",
                self.candidates
                    .iter()
                    .map(|c| c.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                self.len()
            ),
        }
    }

    /// Writes the held batches to the journal, oldest first, each with its own time. Stops at
    /// the first refusal (the rest stay held). Returns how many events went in.
    pub fn flush(&mut self, journal: &mut Journal) -> Result<usize, JournalError> {
        let mut written = 0;
        while let Some(batch) = self.batches.first() {
            journal.append_all(&batch.events, batch.at)?;
            written += batch.events.len();
            self.batches.remove(0);
        }
        self.error = None;
        self.remove_files();
        self.file = None;
        Ok(written)
    }

    fn remove_files(&self) {
        for c in &self.candidates {
            if c.is_file() {
                if let Err(e) = std::fs::remove_file(c) {
                    tracing::warn!("{}: {e}", c.display());
                }
            }
        }
    }

    /// At start: takes in the batches a previous run left in fallback files. Those already in
    /// the journal are dropped; the rest are held to be written like any others.
    pub fn recover(&mut self, journal: &Journal) -> Result<usize, JournalError> {
        let mut found: Vec<Batch> = Vec::new();
        for c in &self.candidates {
            let Ok(text) = std::fs::read_to_string(c) else {
                continue;
            };
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                match serde_json::from_str::<Batch>(line) {
                    Ok(b) => found.push(b),
                    // A line cut by power loss mid-write: the batch before it is whole.
                    Err(e) => tracing::warn!("{}: unreadable line skipped: {e}", c.display()),
                }
            }
        }
        found.sort_by_key(|b| b.at);
        let mut held = 0;
        for b in found {
            if journal.holds(&b.events, b.after_seq)? {
                continue;
            }
            held += b.events.len();
            self.batches.push(b);
        }
        if self.batches.is_empty() {
            self.remove_files();
        }
        Ok(held)
    }
}

fn occurrence_of(e: &Event) -> Option<&str> {
    match e {
        Event::BroadcastStarted { occurrence, .. }
        | Event::BroadcastEnded { occurrence, .. }
        | Event::OccurrenceMissed { occurrence, .. } => Some(&occurrence.key),
        Event::ClipAired { occurrence, .. } => Some(occurrence),
        Event::RelayAired(r) => Some(&r.occurrence),
        _ => None,
    }
}

/// Where a file that belongs beside the journal (`<journal name>.<suffix>`) may go when the
/// journal's folder takes no writes: beside it first, then the service's runtime directory
/// (`RUNTIME_DIRECTORY`, or `/run/loaxa` if it exists), then the temporary folder — usually
/// other file systems than a full disk's.
pub fn fallback_files(journal: &Path, suffix: &str) -> Vec<PathBuf> {
    let name = journal
        .file_name()
        .map_or_else(|| "loaxa.db".into(), |n| n.to_string_lossy().into_owned());
    // Another station on the same machine must not pick up this one's files.
    let tag = {
        use sha2::{Digest, Sha256};
        let full = std::path::absolute(journal).unwrap_or_else(|_| journal.to_path_buf());
        let digest = Sha256::digest(full.to_string_lossy().as_bytes());
        crate::hex::hex(&digest[..6])
    };
    let elsewhere = format!("loaxa-{tag}.{suffix}");
    let mut out = vec![journal.with_file_name(format!("{name}.{suffix}"))];
    let runtime = std::env::var_os("RUNTIME_DIRECTORY")
        .and_then(|d| std::env::split_paths(&d).next())
        .or_else(|| Some(PathBuf::from("/run/loaxa")).filter(|d| d.is_dir()));
    if let Some(dir) = runtime {
        out.push(dir.join(&elsewhere));
    }
    out.push(std::env::temp_dir().join(elsewhere));
    out
}
