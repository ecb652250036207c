//! `loaxa sync`: copies the journal to the province's database (`[sync]`), in order, in
//! batches, from the last event the centre acknowledged. It is its own process (its own
//! service unit), reading the journal as the console does: the daemon that airs never
//! waits on a network it does not control, and a station offline for weeks airs and
//! journals as ever, then catches up.
//!
//! What the centre acknowledged is kept in `sync.json` beside the journal, which `status`,
//! the console and the report show ("đã gửi lên tỉnh đến sự kiện N"). The centre decides
//! what it accepts; this side only names what it was told.

pub mod bulletins;
pub mod settings;

pub use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::central::{self, CentralError, Head, Refusal};
use crate::journal::{Journal, JournalError, RawEvent};
use crate::lang::Lang;
use crate::tr;
pub use settings::SyncConfig;

/// Events per batch, and the most body text one batch carries.
pub const BATCH: usize = 2_000;
const BATCH_BYTES: usize = 4 << 20;
/// How often a caught-up station looks in its journal for new events (without connecting).
const POLL: Duration = Duration::from_secs(5);
/// How often a caught-up station with nothing new still tells the centre it is alive.
const HEARTBEAT: Duration = Duration::from_secs(3600);
const BACKOFF_FIRST: Duration = Duration::from_secs(5);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Central(#[from] CentralError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{path}: {source}")]
    State {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SyncError {
    pub fn text(&self, lang: Lang) -> String {
        match self {
            SyncError::Central(e) => e.text(lang),
            other => other.to_string(),
        }
    }
}

/// What the centre acknowledged, and how the last attempt went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub centre: String,
    pub station: String,
    /// The last event the centre holds, its hash, and when it said so.
    pub acked_seq: i64,
    pub acked_hash: String,
    pub acked_at: Option<DateTime<Utc>>,
    /// The journal's own last event at that time.
    pub local_seq: i64,
    pub attempt_at: Option<DateTime<Utc>>,
    /// The failure that keeps it from being sent, since when.
    pub error: Option<String>,
    pub error_since: Option<DateTime<Utc>>,
    /// The failure is the province refusing what was sent (not a link down).
    #[serde(default)]
    pub refused: bool,
}

/// Where the state lives: beside the journal.
pub fn path_for(journal: &Path) -> PathBuf {
    journal.with_file_name("sync.json")
}

/// The state last written, if any.
pub fn read(path: &Path) -> Option<State> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn write(path: &Path, state: &State) -> Result<(), SyncError> {
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    crate::files::replace(path, text.as_bytes()).map_err(|source| SyncError::State {
        path: path.to_path_buf(),
        source,
    })
}

impl State {
    /// Events not yet acknowledged.
    pub fn pending(&self) -> i64 {
        (self.local_seq - self.acked_seq).max(0)
    }

    /// One line for `status`, the console and the report, under their heading ("Gửi lên
    /// tỉnh"): a refusal first as what it is, then how far the province's copy goes and how
    /// many events wait.
    pub fn line(&self, lang: Lang, tz: chrono_tz::Tz) -> String {
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        let mut s = String::new();
        if let (true, Some(e), Some(since)) = (self.refused, &self.error, self.error_since) {
            s += &tr!(
                lang,
                "BỊ TỈNH TỪ CHỐI từ {}: {e}; ",
                "REFUSED BY THE PROVINCE since {}: {e}; ",
                local(since)
            );
        }
        s += &match self.acked_at {
            Some(at) => tr!(
                lang,
                "tỉnh giữ đến sự kiện {} (lúc {})",
                "the province holds up to event {} (at {})",
                self.acked_seq,
                local(at)
            ),
            None => lang
                .pick("tỉnh chưa nhận được gì", "nothing received yet")
                .to_string(),
        };
        if self.pending() > 0 {
            s += &tr!(
                lang,
                "; còn {} sự kiện chưa gửi",
                "; {} event(s) not yet sent",
                self.pending()
            );
        }
        if let (false, Some(e), Some(since)) = (self.refused, &self.error, self.error_since) {
            s += &tr!(
                lang,
                "; KHÔNG GỬI ĐƯỢC từ {}: {e}",
                "; CANNOT SEND since {}: {e}",
                local(since)
            );
        }
        s
    }
}

/// One pass: connect, learn what the centre holds, report this journal's head and its hash
/// at the centre's (the centre checks them), send what it lacks in batches, noting each
/// acknowledgement in `state` (and its file) as it comes. A journal whose history left the
/// centre's copy is refused: this side then locates the first differing event and sends
/// its events from there on as evidence, as the centre asks.
pub async fn push(
    sync: &SyncConfig,
    journal_path: &Path,
    state_path: &Path,
    state: &mut State,
) -> Result<(), SyncError> {
    let t = &sync.target;
    let client = central::connect(t).await?;
    let held = central::head(t, &client, &sync.station).await?;
    let journal = Journal::open_reader(journal_path)?;
    let (local, local_hash) = (journal.head().0, journal.head().1.to_string());
    state.local_seq = local;
    acknowledge(state, &held, state_path)?;
    let at = held.seq.min(local);
    let mine = hash_here(&journal, at)?;
    let checked =
        central::contact(t, &client, &sync.station, (local, &local_hash), (at, &mine)).await;
    match checked {
        Err(CentralError::Refused(r)) if r.is_fork() => {
            let point = locate(t, &client, &sync.station, &journal, held.seq.min(local)).await?;
            return Err(match point {
                Some(point) => send_evidence(t, &client, &sync.station, &journal, &point).await?,
                // Nothing here differs any more from the centre's copy: the flag stands
                // until the province re-admits the station.
                None => CentralError::Refused(r),
            }
            .into());
        }
        other => other?,
    }
    let mut after = held.seq;
    loop {
        let mut events = journal.raw_events(after, BATCH)?;
        if events.is_empty() {
            return Ok(());
        }
        trim(&mut events);
        let head = central::ingest(t, &client, &sync.station, &events).await?;
        after = head.seq;
        state.local_seq = state.local_seq.max(after);
        acknowledge(state, &head, state_path)?;
    }
}

/// This journal's hash at `seq` (the genesis at 0).
fn hash_here(journal: &Journal, seq: i64) -> Result<String, SyncError> {
    Ok(journal
        .hash_at(seq)?
        .unwrap_or_else(|| crate::journal::GENESIS.to_string()))
}

/// Finds the first event where this journal and the centre's copy differ, by binary search
/// over both sides' hashes up to `upto` (the lesser of the two heads): about twenty calls
/// for a million events. `None` if they agree throughout and the journal lacks nothing.
async fn locate(
    t: &central::Target,
    client: &tokio_postgres::Client,
    station: &str,
    journal: &Journal,
    upto: i64,
) -> Result<Option<central::ForkPoint>, SyncError> {
    let agree = |seq: i64| async move {
        let theirs = central::hash_at(t, client, station, seq).await?;
        Ok::<bool, SyncError>(theirs.as_deref() == Some(hash_here(journal, seq)?.as_str()))
    };
    let local = journal.head().0;
    let at = if agree(upto).await? {
        // Both agree up to the shorter: a difference is this journal lacking what follows.
        let held = central::hash_at(t, client, station, upto + 1).await?;
        if local > upto || held.is_none() {
            return Ok(None);
        }
        upto + 1
    } else {
        // Invariant: they agree at `lo` (the genesis at worst) and differ at `hi`.
        let (mut lo, mut hi) = (0, upto);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if agree(mid).await? {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    };
    Ok(Some(central::ForkPoint {
        at,
        prev_hash: hash_here(journal, at - 1)?,
        at_hash: if at <= local {
            journal.hash_at(at)?
        } else {
            None
        },
        station_seq: local,
    }))
}

/// Names the fork point to the centre and sends this journal's events from there on, in
/// batches, from wherever the centre's evidence ends; returns the centre's last refusal.
async fn send_evidence(
    t: &central::Target,
    client: &tokio_postgres::Client,
    station: &str,
    journal: &Journal,
    point: &central::ForkPoint,
) -> Result<CentralError, SyncError> {
    let mut answer = central::fork(t, client, station, point, &[]).await?;
    while let Refusal::Fork { kept_to, .. } = &answer {
        let kept = (*kept_to).max(point.at - 1);
        let mut events = journal.raw_events(kept, BATCH)?;
        if events.is_empty() {
            break;
        }
        trim(&mut events);
        answer = central::fork(t, client, station, point, &events).await?;
        if matches!(&answer, Refusal::Fork { kept_to, .. } if *kept_to <= kept) {
            break;
        }
    }
    Ok(CentralError::Refused(answer))
}

/// Keeps a batch under [`BATCH_BYTES`] of body text (at least one event).
fn trim(events: &mut Vec<RawEvent>) {
    let mut bytes = 0;
    let keep = events
        .iter()
        .position(|e| {
            bytes += e.body.len();
            bytes > BATCH_BYTES
        })
        .unwrap_or(events.len())
        .max(1);
    events.truncate(keep);
}

fn acknowledge(state: &mut State, head: &Head, path: &Path) -> Result<(), SyncError> {
    state.acked_seq = head.seq;
    state.acked_hash = head.hash.clone();
    state.acked_at = Some(Utc::now());
    write(path, state)
}

/// The wait before the next pass: after a failure, doubling up to [`BACKOFF_MAX`]; after
/// any pass that got something through (the disk freed, the link back), from the start
/// again, so what is left goes at once, not after minutes of waiting.
struct Backoff(Duration);

impl Backoff {
    fn after(&mut self, progressed: bool, ok: bool) -> Duration {
        if progressed || ok {
            self.0 = BACKOFF_FIRST;
        }
        if ok {
            return POLL;
        }
        let wait = self.0;
        self.0 = (self.0 * 2).min(BACKOFF_MAX);
        wait
    }
}

/// Sends until `shutdown`, retrying with back-off; with `once`, one pass and its result.
pub async fn run(
    sync: &SyncConfig,
    journal_path: &Path,
    lang: Lang,
    once: bool,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<State, SyncError> {
    let state_path = path_for(journal_path);
    let mut state = read(&state_path)
        .filter(|s| s.station == sync.station && s.centre == sync.target.display)
        .unwrap_or_else(|| State {
            centre: sync.target.display.clone(),
            station: sync.station.clone(),
            ..State::default()
        });
    tokio::pin!(shutdown);
    let mut backoff = Backoff(BACKOFF_FIRST);
    loop {
        // Caught up and nothing new here: no connection, except an hourly one so the
        // province sees the station is alive. (10,000 stations polling the centre every few
        // seconds would be its busiest load; this way it is a few connections a second.)
        let local = Journal::open_reader(journal_path).map(|j| j.head().0).ok();
        let fresh = state
            .acked_at
            .is_some_and(|t| (Utc::now() - t).to_std().unwrap_or(Duration::ZERO) < HEARTBEAT);
        if !once && state.error.is_none() && fresh && local == Some(state.acked_seq) {
            tokio::select! {
                () = &mut shutdown => return Ok(state),
                () = tokio::time::sleep(POLL) => continue,
            }
        }
        state.attempt_at = Some(Utc::now());
        let acked_before = state.acked_seq;
        // What waits is counted against the journal as it is now, even while the centre
        // cannot be reached.
        if let Some(head) = local {
            state.local_seq = head;
        }
        let result = push(sync, journal_path, &state_path, &mut state).await;
        let wait = backoff.after(state.acked_seq > acked_before, result.is_ok());
        match &result {
            Ok(()) => {
                if state.error.take().is_some() {
                    tracing::info!(
                        "{}",
                        lang.pick("gửi lên tỉnh được trở lại", "sending to the province again")
                    );
                }
                state.error_since = None;
                state.refused = false;
            }
            Err(e) => {
                let text = e.text(lang);
                if state.error.as_deref() != Some(text.as_str()) {
                    tracing::warn!("{text}");
                }
                state.error = Some(text);
                state.error_since.get_or_insert_with(Utc::now);
                state.refused = matches!(e, SyncError::Central(CentralError::Refused(_)));
            }
        }
        write(&state_path, &state)?;
        if once {
            return result.map(|()| state);
        }
        tokio::select! {
            () = &mut shutdown => return Ok(state),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (#23): after a full disk was freed, 21.7k events waited 59 s, almost all
    /// of it back-off grown while nothing could be written.
    #[test]
    fn back_off_doubles_while_nothing_goes_through_and_starts_again_after_any_progress() {
        let mut b = Backoff(BACKOFF_FIRST);
        let waits: Vec<u64> = (0..8).map(|_| b.after(false, false).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        // A pass that sent some batches, then failed again: the next try is soon.
        assert_eq!(b.after(true, false), BACKOFF_FIRST);
        assert_eq!(b.after(false, false), BACKOFF_FIRST * 2);
        assert_eq!(b.after(false, true), POLL);
        assert_eq!(b.after(false, false), BACKOFF_FIRST);
    }
}
