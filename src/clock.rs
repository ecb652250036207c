//! Time as loaxa sees it, behind a trait so tests can run days of schedule in milliseconds.
//! The system clock reads wall time for *what* is due and sleeps on the monotonic clock for
//! *when*; the fake clock jumps instantly to whatever a sleep asks for, and can be stepped
//! forward or back like an NTP correction.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Wall time and sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Sleeps for `d` of monotonic time (a fake clock advances instead).
    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;
    /// The monotonic instant at which wall time `at` will be reached, for the audio thread's
    /// precise start. A fake clock answers "now": tests do not wait.
    fn instant_at(&self, at: DateTime<Utc>) -> Instant;
    /// Time elapsed on a clock that never steps, to tell wall-clock steps from sleeping.
    fn monotonic(&self) -> Duration;
    /// An output says it is playing a program (`true`) or done (`false`). Real time needs
    /// no telling; a fake clock holds still meanwhile (see [`FakeClock`]).
    fn playing(&self, _on: bool) {}
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(d))
    }

    fn instant_at(&self, at: DateTime<Utc>) -> Instant {
        let (now_wall, now_mono) = (Utc::now(), Instant::now());
        match (at - now_wall).to_std() {
            Ok(ahead) => now_mono + ahead,
            Err(_) => now_mono,
        }
    }

    fn monotonic(&self) -> Duration {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed()
    }
}

/// A clock that tests move by hand; sleeping advances it — except while an output is
/// playing. A test's recorder plays a program in no time, but on the audio thread: on a
/// loaded machine the daemon's loop could otherwise sleep through half an hour of fake time,
/// one tick at a time, before that thread ran, and the broadcast would seem to overrun.
#[derive(Debug, Clone)]
pub struct FakeClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    mono: Arc<Mutex<Duration>>,
    playing: Arc<AtomicUsize>,
}

/// How long a fake sleep waits, in real time, for an output that is playing.
const PLAYING_WAIT: Duration = Duration::from_secs(5);

impl FakeClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        FakeClock {
            now: Arc::new(Mutex::new(start)),
            mono: Arc::new(Mutex::new(Duration::ZERO)),
            playing: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Moves wall time by `d` (negative steps the clock back).
    pub fn step(&self, d: chrono::Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += d;
        }
    }

    pub fn set(&self, t: DateTime<Utc>) {
        if let Ok(mut now) = self.now.lock() {
            *now = t;
        }
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        self.now.lock().map_or_else(|e| *e.into_inner(), |n| *n)
    }

    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        let waited = Instant::now();
        while self.playing.load(Ordering::SeqCst) > 0 && waited.elapsed() < PLAYING_WAIT {
            std::thread::sleep(Duration::from_micros(100));
        }
        self.step(chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero()));
        if let Ok(mut m) = self.mono.lock() {
            *m += d;
        }
        Box::pin(tokio::task::yield_now())
    }

    fn instant_at(&self, _at: DateTime<Utc>) -> Instant {
        Instant::now()
    }

    fn monotonic(&self) -> Duration {
        self.mono.lock().map(|m| *m).unwrap_or_default()
    }

    fn playing(&self, on: bool) {
        if on {
            self.playing.fetch_add(1, Ordering::SeqCst);
        } else {
            self.playing.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
