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

mod chain;
mod event;
mod facts;
mod query;
mod record;
mod schema;

pub use chain::*;
pub use event::*;
pub use facts::{Action, ClashOrder, Priority, StreamFacts, What};
pub use record::*;
use schema::*;

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
    /// On a read-only file system, where SQLite cannot share a journal being written, it is
    /// read as it stands on disk ([`Journal::open_read_only`]): one policy for every reader
    /// (the commands, the console, `loaxa sync`, `doctor`).
    pub fn open_reader(path: &Path) -> Result<Journal, JournalError> {
        Self::open_for_reading(path, false).or_else(|_| Self::open_read_only(path))
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
        if version == 0 {
            // The daemon is creating this journal at this moment (its schema goes in one
            // transaction) or it is an empty file: it reads as a journal with no events.
            // Regression: `loaxa sync` started beside a daemon creating its journal stopped
            // with "no such table: events".
            drop(conn);
            let mut j = Journal {
                conn: Connection::open_in_memory().map_err(sql)?,
                path: path.to_path_buf(),
                head: (0, GENESIS.to_string()),
                read_only: true,
            };
            j.migrate()?;
            // Written to like any read-only journal, it refuses (nothing is kept in memory).
            j.conn
                .pragma_update(None, "query_only", true)
                .map_err(j.sql())?;
            return Ok(j);
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
        if version == known {
            return Ok(());
        }
        // Every step in one transaction: a reader (`loaxa sync` started beside the daemon at
        // boot) sees either no schema or the whole of it, never a journal half migrated.
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|source| JournalError::Sqlite {
                path: path.clone(),
                source,
            })?;
        SCHEMA
            .iter()
            .skip(version as usize)
            .try_for_each(|step| tx.execute_batch(step))
            .and_then(|()| tx.pragma_update(None, "user_version", known))
            .and_then(|()| tx.commit())
            .map_err(|source| JournalError::Sqlite { path, source })
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

    /// Regression: `loaxa sync`, started by systemd beside a daemon creating its journal,
    /// stopped with "no such table: events".
    #[test]
    fn a_journal_being_created_reads_as_empty_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loaxa.db");
        // What a reader sees before the daemon's schema transaction commits.
        rusqlite::Connection::open(&path)
            .unwrap()
            .pragma_update(None, "journal_mode", "WAL")
            .unwrap();
        for j in [
            Journal::open_reader(&path).unwrap(),
            Journal::open_read_only(&path).unwrap(),
        ] {
            assert_eq!(j.head().0, 0);
            assert!(j.raw_events(0, 10).unwrap().is_empty());
            assert!(j.is_read_only());
        }
        let mut j = Journal::open_reader(&path).unwrap();
        let t = Utc.with_ymd_and_hms(2025, 9, 1, 23, 0, 0).unwrap();
        let started = Event::BroadcastStarted {
            occurrence: info("p/s@1", t),
            output: "null".into(),
            clips: Vec::new(),
        };
        assert!(j.append(&started, t).is_err(), "a reader never writes");
        // The daemon then creates it in full; a reader opened after sees it.
        Journal::open(&path).unwrap().append(&started, t).unwrap();
        assert_eq!(Journal::open_reader(&path).unwrap().head().0, 1);
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
                    bulletin: None,
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
                bulletin: None,
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
