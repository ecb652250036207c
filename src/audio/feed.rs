//! Decoded live audio between the thread that receives it (a relay's session, a capture) and
//! the output's thread, which reads it as one item of a broadcast (see `live`). The feed
//! also keeps the [`Facts`] the journal gets of that item: connections, errors, what aired.
//! It lives with audio so that the output knows nothing of where live audio comes from.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How much audio is kept before the start: the relay begins this far behind live.
const PREROLL: Duration = Duration::from_secs(3);
/// How much may wait in the feed once airing (the source is then read no faster).
const CAPACITY: Duration = Duration::from_secs(12);
/// After a dropout, the source comes back on air once this much is buffered.
pub const RESUME: Duration = Duration::from_millis(1500);

/// A gap in the source while on air, in milliseconds from the relay's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub at_ms: u64,
    pub length_ms: u64,
}

/// What the session and the output learned of one relay.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// When the first audio arrived.
    pub connected_at: Option<DateTime<Utc>>,
    /// Connections that gave audio; more than one means reconnects.
    pub connections: u32,
    /// Each distinct failure, with when it happened (the same one repeating is counted).
    pub errors: Vec<(DateTime<Utc>, String, u32)>,
    pub codec: Option<String>,
    /// Samples the output took from the source, from fallback clips, and silence.
    pub source_samples: u64,
    pub fallback_samples: u64,
    pub silence_samples: u64,
    pub gaps: Vec<Gap>,
    /// Fallback clips that went out: path, SHA-256, samples.
    pub fallback: Vec<(String, String, u64)>,
    /// The source ended for good, and why: a voice from a browser whose connection closed.
    /// Nothing reconnects to it; the live occurrence it fed ends with it.
    pub ended: Option<String>,
}

/// How far behind live a feed runs: kept before the start, and buffered again after a gap.
/// A network source needs seconds against its jitter; a capture device (a microphone, a
/// line-in) delivers steadily, and a voice aired live must not lag behind the speaker.
#[derive(Debug, Clone, Copy)]
struct Latency {
    preroll: Duration,
    resume: Duration,
}

const NETWORK: Latency = Latency {
    preroll: PREROLL,
    resume: RESUME,
};

const CAPTURE: Latency = Latency {
    preroll: Duration::from_millis(100),
    resume: Duration::from_millis(60),
};

/// A voice from a browser on the office network: close behind, with room for the jitter of
/// a Wi-Fi link and of the browser's own audio thread.
const BROWSER: Latency = Latency {
    preroll: Duration::from_millis(300),
    resume: Duration::from_millis(200),
};

/// Decoded audio between the session's thread and the output's.
pub struct Feed {
    pub channels: u16,
    pub rate: u32,
    latency: Latency,
    ring: Mutex<Ring>,
    space: Condvar,
    stop: AtomicBool,
    facts: Mutex<Facts>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Feed({} ch, {} Hz)", self.channels, self.rate)
    }
}

#[derive(Default)]
struct Ring {
    samples: VecDeque<f32>,
    /// The output has begun taking: from now the source waits for room rather than
    /// dropping its oldest audio.
    airing: bool,
}

impl Ring {
    /// Before airing, drops the oldest audio beyond `preroll` samples (whole frames, so
    /// channels stay in place).
    fn keep_preroll(&mut self, preroll: usize, channels: u16) {
        if !self.airing && self.samples.len() > preroll {
            let ch = usize::from(channels.max(1));
            let excess = (self.samples.len() - preroll).div_ceil(ch) * ch;
            let len = self.samples.len();
            self.samples.drain(..excess.min(len));
        }
    }
}

impl Feed {
    pub fn new(channels: u16, rate: u32) -> Feed {
        Self::with_latency(channels, rate, NETWORK)
    }

    /// A feed for a capture device: it airs close behind what the device hears.
    pub fn captured(channels: u16, rate: u32) -> Feed {
        Self::with_latency(channels, rate, CAPTURE)
    }

    /// A feed for a voice a browser sends live (the console's Record page).
    pub fn browser(channels: u16, rate: u32) -> Feed {
        Self::with_latency(channels, rate, BROWSER)
    }

    fn with_latency(channels: u16, rate: u32, latency: Latency) -> Feed {
        Feed {
            channels: channels.max(1),
            rate: rate.max(1),
            latency,
            ring: Mutex::new(Ring::default()),
            space: Condvar::new(),
            stop: AtomicBool::new(false),
            facts: Mutex::new(Facts::default()),
        }
    }

    /// How much must be buffered after a gap before the source airs again.
    pub fn resume(&self) -> Duration {
        self.latency.resume
    }

    fn samples_in(&self, d: Duration) -> usize {
        (d.as_millis() as usize) * self.rate as usize / 1000 * usize::from(self.channels)
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.space.notify_all();
    }

    /// Adds whole frames of decoded audio. Before airing, only the latest preroll is
    /// kept (so the relay starts near live); once airing, waits for room. False once stopped.
    pub fn push(&self, samples: &[f32]) -> bool {
        let preroll = self.samples_in(self.latency.preroll);
        let capacity = self.samples_in(CAPACITY);
        let Ok(mut ring) = self.ring.lock() else {
            return false;
        };
        loop {
            if self.stopped() {
                return false;
            }
            if !ring.airing || ring.samples.len() + samples.len() <= capacity {
                break;
            }
            ring = match self.space.wait_timeout(ring, Duration::from_millis(200)) {
                Ok((r, _)) => r,
                Err(_) => return false,
            };
        }
        ring.samples.extend(samples);
        ring.keep_preroll(preroll, self.channels);
        true
    }

    /// Adds without waiting (a capture callback must not block): what does not fit is dropped.
    pub fn push_now(&self, samples: &[f32]) {
        let capacity = self.samples_in(CAPACITY);
        if let Ok(mut ring) = self.ring.try_lock() {
            let room = capacity.saturating_sub(ring.samples.len());
            let n =
                room.min(samples.len()) / usize::from(self.channels) * usize::from(self.channels);
            ring.samples.extend(&samples[..n]);
            ring.keep_preroll(self.samples_in(self.latency.preroll), self.channels);
        }
    }

    /// Moves up to `max` samples (whole frames) into `out`, for the output. When `min` is
    /// set, nothing is taken unless at least that much is waiting (coming back after a gap).
    pub fn take(&self, out: &mut Vec<f32>, max: usize, min: usize) -> usize {
        let Ok(mut ring) = self.ring.lock() else {
            return 0;
        };
        ring.airing = true;
        if ring.samples.len() < min.max(1) {
            return 0;
        }
        let n =
            ring.samples.len().min(max) / usize::from(self.channels) * usize::from(self.channels);
        let (front, back) = ring.samples.as_slices();
        let k = n.min(front.len());
        out.extend_from_slice(&front[..k]);
        out.extend_from_slice(&back[..n - k]);
        ring.samples.drain(..n);
        drop(ring);
        self.space.notify_all();
        n
    }

    /// How long a buffer of `samples` samples lasts.
    pub fn ms(&self, samples: u64) -> u64 {
        samples * 1000 / (u64::from(self.channels) * u64::from(self.rate))
    }

    pub fn facts(&self) -> Facts {
        self.facts.lock().map(|f| f.clone()).unwrap_or_default()
    }

    pub fn with_facts(&self, f: impl FnOnce(&mut Facts)) {
        if let Ok(mut facts) = self.facts.lock() {
            f(&mut facts);
        }
    }

    /// The source ended for good, for `why`: what feeds it will not reconnect.
    pub fn end(&self, why: String) {
        self.with_facts(|f| f.ended = Some(why));
    }

    /// Records a failure; the same one repeating is counted, not listed again.
    pub fn note_error(&self, text: String) {
        self.with_facts(|f| {
            if let Some((_, last, n)) = f.errors.last_mut().filter(|(_, last, _)| *last == text) {
                let _ = last;
                *n += 1;
            } else if f.errors.len() < 50 {
                f.errors.push((Utc::now(), text, 1));
            }
        });
    }
}
