//! The stream for IP loudspeakers: what airs is also sent to an Icecast server as a source
//! client (MP3 or Opus, the slot's title as metadata). The output's thread hands each chunk
//! of samples it pulls to a [`Tap`] that never waits — if the streamer falls behind, the
//! chunk is dropped and counted — so the sound card's timing cannot suffer for the network.
//! A thread of its own encodes, sends, reconnects with back-off, fills the time between
//! broadcasts with silence (or leaves the mount) as configured, and tells the daemon, per
//! broadcast, how much of it went out.

pub mod codec;
pub mod icecast;
pub mod settings;

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::audio::convert::Converter;
pub use crate::journal::StreamFacts;
pub use settings::{Idle, StreamConfig, StreamFormat};

/// Chunks that may wait for the streamer (each is one pull of the output, about 50–500 ms).
const QUEUE: usize = 256;
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Silence between broadcasts goes out in steps this long.
const IDLE_STEP: Duration = Duration::from_millis(200);

enum Msg {
    Begin {
        title: String,
    },
    Audio {
        samples: Vec<f32>,
        channels: u16,
        rate: u32,
    },
    End,
}

/// The output thread's end: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Tap {
    tx: SyncSender<Msg>,
    dropped: Arc<Mutex<u64>>,
}

impl crate::audio::tap::Tap for Tap {
    fn audio(&self, samples: Vec<f32>, channels: u16, rate: u32) {
        let n = samples.len() as u64 / u64::from(channels.max(1));
        let sent = self.tx.try_send(Msg::Audio {
            samples,
            channels,
            rate,
        });
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = sent {
            if let Ok(mut d) = self.dropped.lock() {
                *d += n * 1000 / u64::from(rate.max(1));
            }
        }
    }
}

/// The daemon's end.
pub struct Streamer {
    tx: SyncSender<Msg>,
    facts: Arc<Mutex<StreamFacts>>,
    dropped: Arc<Mutex<u64>>,
    ended: Arc<(Mutex<u64>, std::sync::Condvar)>,
    ends_sent: u64,
}

impl Streamer {
    /// Starts the streaming thread for `config`.
    pub fn start(config: StreamConfig, station: String) -> Result<Streamer, String> {
        let encoder: Box<dyn codec::Encoder> = match config.format {
            StreamFormat::Mp3 => Box::new(codec::Mp3::new(44_100, config.bitrate_kbps)?),
            StreamFormat::Opus => Box::new(codec::Opus::new(config.bitrate_kbps, &station)?),
        };
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let facts = Arc::new(Mutex::new(StreamFacts::default()));
        let ended = Arc::new((Mutex::new(0u64), std::sync::Condvar::new()));
        let mut worker = Worker {
            client: icecast::Client::new(config.clone(), station.clone()),
            idle: config.idle,
            converter: Converter::new(2, encoder.rate()),
            encoder,
            facts: facts.clone(),
            ended: ended.clone(),
            title: station,
            on_air: None,
            backoff: BACKOFF_FIRST,
            retry_at: None,
            scratch: Vec::new(),
            bytes: Vec::new(),
            aired_us: 0,
            sent_us: 0,
        };
        thread::Builder::new()
            .name("loaxa-stream".into())
            .spawn(move || worker.run(&rx))
            .map_err(|e| e.to_string())?;
        Ok(Streamer {
            tx,
            facts,
            dropped: Arc::default(),
            ended,
            ends_sent: 0,
        })
    }
}

impl crate::audio::tap::Streaming for Streamer {
    fn tap(&self) -> Arc<dyn crate::audio::tap::Tap> {
        Arc::new(Tap {
            tx: self.tx.clone(),
            dropped: self.dropped.clone(),
        })
    }

    /// A broadcast begins: its title goes out as the stream's metadata.
    fn begin(&self, title: &str) {
        if let Ok(mut d) = self.dropped.lock() {
            *d = 0;
        }
        let _ = self.tx.try_send(Msg::Begin {
            title: title.to_string(),
        });
    }

    /// The broadcast ended: waits (briefly) for the streamer to account for it.
    fn end(&mut self) -> StreamFacts {
        self.ends_sent += 1;
        let queued = self.tx.try_send(Msg::End).is_ok();
        let (lock, cvar) = &*self.ended;
        if queued {
            if let Ok(guard) = lock.lock() {
                let _ =
                    cvar.wait_timeout_while(guard, Duration::from_secs(3), |n| *n < self.ends_sent);
            }
        }
        let mut facts = self.facts.lock().map(|f| f.clone()).unwrap_or_default();
        let dropped = self.dropped.lock().map_or(0, |d| *d);
        if dropped > 0 {
            facts.aired_ms += dropped;
            facts
                .error
                .get_or_insert_with(|| format!("the stream fell behind: {dropped} ms dropped"));
        }
        if !queued {
            facts
                .error
                .get_or_insert_with(|| "the stream is not keeping up".into());
        }
        facts
    }
}

struct Worker {
    client: icecast::Client,
    idle: Idle,
    encoder: Box<dyn codec::Encoder>,
    converter: Converter,
    facts: Arc<Mutex<StreamFacts>>,
    ended: Arc<(Mutex<u64>, std::sync::Condvar)>,
    title: String,
    /// The broadcast on air: when it began streaming.
    on_air: Option<Instant>,
    backoff: Duration,
    retry_at: Option<Instant>,
    scratch: Vec<f32>,
    bytes: Vec<u8>,
    aired_us: u64,
    sent_us: u64,
}

impl Worker {
    fn run(&mut self, rx: &Receiver<Msg>) {
        if self.idle == Idle::Silence {
            self.connect();
        }
        let mut next_silence = Instant::now();
        loop {
            let wait = if self.on_air.is_none() && self.idle == Idle::Silence {
                next_silence.saturating_duration_since(Instant::now())
            } else {
                Duration::from_secs(1)
            };
            match rx.recv_timeout(wait) {
                Ok(Msg::Begin { title }) => {
                    self.title = title;
                    self.aired_us = 0;
                    self.sent_us = 0;
                    self.on_air = Some(Instant::now());
                    if let Ok(mut f) = self.facts.lock() {
                        *f = StreamFacts {
                            mount: self.client.mount(),
                            ..StreamFacts::default()
                        };
                    }
                    if !self.client.connected() {
                        self.retry_at = None;
                        self.connect();
                    } else {
                        self.bytes.clear();
                        self.encoder.retitle(&self.title, &mut self.bytes);
                        let bytes = std::mem::take(&mut self.bytes);
                        self.send(&bytes, 0);
                        self.client.set_title(&self.title);
                    }
                }
                Ok(Msg::Audio {
                    samples,
                    channels,
                    rate,
                }) => {
                    // Microseconds, so thousands of chunks do not lose a rounding each.
                    let us = samples.len() as u64 * 1_000_000
                        / (u64::from(channels.max(1)) * u64::from(rate.max(1)));
                    self.aired_us += us;
                    if let Ok(mut f) = self.facts.lock() {
                        f.aired_ms = self.aired_us / 1000;
                    }
                    self.scratch.clear();
                    self.converter
                        .push(&samples, channels, rate, &mut self.scratch);
                    self.encode_and_send(us);
                }
                Ok(Msg::End) => {
                    self.on_air = None;
                    if self.idle == Idle::Drop {
                        self.client.disconnect();
                    }
                    next_silence = Instant::now();
                    let (lock, cvar) = &*self.ended;
                    if let Ok(mut n) = lock.lock() {
                        *n += 1;
                    }
                    cvar.notify_all();
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if self.on_air.is_none() && self.idle == Idle::Silence {
                        let frames =
                            (IDLE_STEP.as_millis() as usize) * self.encoder.rate() as usize / 1000;
                        self.scratch.clear();
                        self.scratch.resize(frames * 2, 0.0);
                        self.encode_and_send(0);
                        next_silence += IDLE_STEP;
                        if next_silence + IDLE_STEP * 5 < Instant::now() {
                            next_silence = Instant::now();
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn connect(&mut self) {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        self.bytes.clear();
        self.encoder.start(&mut self.bytes);
        match self
            .client
            .connect(self.encoder.content_type(), &self.title)
        {
            Ok(()) => {
                self.backoff = BACKOFF_FIRST;
                self.retry_at = None;
                let bytes = std::mem::take(&mut self.bytes);
                self.send(&bytes, 0);
            }
            Err(e) => {
                tracing::warn!("stream {}: {e}", self.client.mount());
                self.note_down(&e);
                self.retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
            }
        }
    }

    fn note_down(&mut self, e: &str) {
        if let (Some(start), Ok(mut f)) = (self.on_air, self.facts.lock()) {
            let at = start.elapsed().as_millis() as u64;
            match f.down.last_mut() {
                // Still the same outage: it grows.
                Some((from, len)) if *from + *len + 2_000 >= at => *len = at - *from,
                _ => f.down.push((at, 0)),
            }
            f.error = Some(e.to_string());
        }
    }

    fn encode_and_send(&mut self, us: u64) {
        if !self.client.connected() {
            self.connect();
            if !self.client.connected() {
                let e = self.client.last_error();
                self.note_down(&e);
                return;
            }
        }
        self.bytes.clear();
        self.encoder.encode(&self.scratch, &mut self.bytes);
        let bytes = std::mem::take(&mut self.bytes);
        self.send(&bytes, us);
        self.bytes = bytes;
    }

    fn send(&mut self, bytes: &[u8], us: u64) {
        match self.client.send(bytes) {
            Ok(()) => {
                self.sent_us += us;
                if let Ok(mut f) = self.facts.lock() {
                    f.sent_ms = self.sent_us / 1000;
                }
            }
            Err(e) => {
                tracing::warn!("stream {}: {e}", self.client.mount());
                self.note_down(&e);
                self.retry_at = Some(Instant::now() + self.backoff);
            }
        }
    }
}
