//! The output trait: somewhere a broadcast's samples go, opened before the broadcast, closed
//! after it so the device idles between sessions.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::program::{Program, ProgramState};

pub use super::item::Format;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OutputError {
    /// No device by that name, or no device at all.
    #[error("no sound device{}", .0.as_deref().map(|n| format!(" named “{n}”")).unwrap_or_default())]
    NoDevice(Option<String>),
    #[error("cannot open the sound device: {0}")]
    Open(String),
    #[error("the sound device failed: {0}")]
    Device(String),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

/// How an airing went, as the output saw it. Per-clip counts live in the program's state.
#[derive(Debug, Clone, Default)]
pub struct Aired {
    /// Wall time the first sample was handed over.
    pub started_at: Option<DateTime<Utc>>,
    /// A device error that cut the airing short.
    pub error: Option<OutputError>,
}

pub trait Output: Send {
    /// How the journal names this output.
    fn name(&self) -> String;
    /// Opens the output, in `prefer` if it can take that format (a sound card then does the
    /// conversion, not loaxa); returns the format it opened in.
    fn open(&mut self, prefer: Option<Format>) -> Result<Format, OutputError>;
    /// Plays `program` starting at `start_at`; blocks until it ends, is stopped (through its
    /// state) or the output fails.
    fn air(&mut self, program: Program, start_at: Instant) -> Aired;
    /// How long before its instant the output must be cleared to start (its first samples
    /// are written that far ahead), once open.
    fn clear_ahead(&self) -> Duration {
        Duration::ZERO
    }
    /// Whether the next opening must keep the delay through the output short (a voice aired
    /// live as it is spoken), at some cost in processor time. Outputs without a buffer of
    /// their own ignore it.
    fn want_short_delay(&mut self, _short: bool) {}
    fn close(&mut self);
}

/// Sleeps until `deadline` precisely: a coarse sleep, then a short spin for the last
/// millisecond, since thread wake-ups are late by up to a scheduler tick.
pub fn sleep_until(deadline: Instant) {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        let left = deadline - now;
        if left > Duration::from_millis(2) {
            std::thread::sleep(left - Duration::from_millis(1));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Waits for a broadcast's first instant, and for its start to be journaled. Returns false,
/// early, if the program is stopped meanwhile: a broadcast stopped before its instant never
/// starts.
pub fn wait_for_start(deadline: Instant, state: &ProgramState) -> bool {
    while Instant::now() + Duration::from_millis(60) < deadline {
        if state.stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    sleep_until(deadline);
    // Normally cleared well before; if the journal write is slow, the start waits for it.
    while !state.go.load(Ordering::SeqCst) {
        if state.stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    !state.stop.load(Ordering::SeqCst)
}
