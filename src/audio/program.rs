//! One broadcast's audio as a single rodio source: intro, clips and outro back to back with
//! no added gap, converted to the output's format, with gain applied and every sample
//! counted per clip as the output pulls it. The counts are what the journal trusts: a clip is
//! aired in full only if the samples handed to the output match its decoded length.

use std::num::NonZero;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rodio::source::UniformSourceIterator;
use rodio::Source;

use super::clip::FileClip;
use super::item::{ItemAudio, PlannedItem};

/// Shared between the program (on the output's thread) and whoever watches it.
#[derive(Debug)]
pub struct ProgramState {
    /// Samples (not frames) handed to the output, per clip.
    pub samples: Vec<AtomicU64>,
    /// Index of the clip being played; equals the clip count once finished.
    pub current: AtomicUsize,
    pub finished: AtomicBool,
    /// Wakes whoever waits for the end (the airing thread sleeps on it, not in a poll loop).
    ended: (Mutex<()>, Condvar),
    /// Set to fade out and end early (shutdown, or preemption by a higher priority).
    pub stop: AtomicBool,
    /// With `stop`: end with a fade of [`QUICK_FADE`], not [`FADE`] (see
    /// [`ProgramState::request_cut`]).
    quick: AtomicBool,
    /// Set once the broadcast's start is journaled: no sample goes out before that.
    pub go: AtomicBool,
    /// How long before the first instant the output needs `go` (milliseconds).
    pub clear_ahead_ms: AtomicU64,
    /// Clips that failed to open at play time, with the reason.
    pub open_errors: Mutex<Vec<(usize, String)>>,
    pub channels: u16,
    pub sample_rate: u32,
    /// Level measurements per clip, of the samples as handed to the output.
    pub levels: Mutex<Vec<LevelMeter>>,
}

/// Running level measurement of one clip: peak, energy, and 10 ms windows below −50 dBFS.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct LevelMeter {
    pub peak: f32,
    pub sum_squares: f64,
    pub samples: u64,
    pub windows: u64,
    pub silent_windows: u64,
}

/// −50 dBFS as an amplitude.
const SILENCE: f64 = 0.003_162_277_66;

fn dbfs(amplitude: f64) -> f64 {
    (20.0 * amplitude.max(1e-10).log10() * 10.0).round() / 10.0
}

impl LevelMeter {
    pub fn levels(&self) -> Option<crate::journal::Levels> {
        (self.samples > 0).then(|| crate::journal::Levels {
            peak_dbfs: dbfs(f64::from(self.peak)),
            rms_dbfs: dbfs((self.sum_squares / self.samples as f64).sqrt()),
            silent_percent: (self.silent_windows as f64 * 1000.0 / self.windows.max(1) as f64)
                .round()
                / 10.0,
        })
    }
}

impl ProgramState {
    pub fn levels(&self, clip: usize) -> Option<crate::journal::Levels> {
        self.levels.lock().ok()?.get(clip)?.levels()
    }

    pub fn played_ms(&self, clip: usize) -> u64 {
        let samples = self
            .samples
            .get(clip)
            .map_or(0, |s| s.load(Ordering::Relaxed));
        samples * 1000 / (u64::from(self.channels) * u64::from(self.sample_rate))
    }

    /// Samples handed to the output so far, all clips together.
    pub fn total_samples(&self) -> u64 {
        self.samples.iter().map(|s| s.load(Ordering::Relaxed)).sum()
    }

    pub fn clear_to_start(&self) {
        self.go.store(true, Ordering::SeqCst);
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Stops at once, with a fade just long enough not to click: for a source already gone
    /// (a browser's live voice), where a long fade would only air the last of its buffer.
    pub fn request_cut(&self) {
        self.quick.store(true, Ordering::SeqCst);
        self.request_stop();
    }

    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }

    /// Waits until the program has ended, or `timeout`; returns whether it has.
    pub fn wait_finished(&self, timeout: Duration) -> bool {
        let Ok(guard) = self.ended.0.lock() else {
            return self.is_finished();
        };
        if self.is_finished() {
            return true;
        }
        let _ = self.ended.1.wait_timeout(guard, timeout);
        self.is_finished()
    }

    fn mark_finished(&self) {
        // Under the lock, so a waiter between its check and its wait cannot miss it.
        let _guard = self.ended.0.lock();
        self.finished.store(true, Ordering::SeqCst);
        self.ended.1.notify_all();
    }
}

/// An item's samples in the program's format: a clip file's, or a relay's feed (converted
/// only when the feed is not in the program's format).
// One value per broadcast, read per sample: the file variant stays inline (boxing it would
// add an indirection on the output's hot path to save a few hundred bytes once).
#[allow(clippy::large_enum_variant)]
pub(super) enum Clip {
    File(FileClip),
    Live(Box<super::live::LiveSource>),
    LiveConverted(Box<UniformSourceIterator<super::live::LiveSource>>),
}

impl Clip {
    #[inline]
    pub(super) fn next(&mut self) -> Option<f32> {
        match self {
            Clip::File(f) => f.next(),
            Clip::Live(l) => l.next(),
            Clip::LiveConverted(l) => l.next(),
        }
    }

    /// Fills `out` from the clip; fewer than `out.len()` only at its end.
    pub(super) fn fill(&mut self, out: &mut [f32]) -> usize {
        if let Clip::Live(l) = self {
            return l.fill(out);
        }
        for (n, slot) in out.iter_mut().enumerate() {
            match self.next() {
                Some(s) => *slot = s,
                None => return n,
            }
        }
        out.len()
    }
}

/// The broadcast as a source. Created on the async side, moved into the output.
pub struct Program {
    clips: Vec<PlannedItem>,
    index: usize,
    current: Option<Clip>,
    state: Arc<ProgramState>,
    channels: NonZero<u16>,
    rate: NonZero<u32>,
    master: f32,
    fade_total: u64,
    fade_left: Option<u64>,
    /// Samples of a capture relay's fade in still to go: a microphone or a line-in comes up
    /// over [`FADE`] rather than at full level at once.
    fade_in_left: u64,
    meter: LevelMeter,
    /// Samples of the current clip not yet added to its shared count (published with each
    /// 10 ms window rather than per sample: the output's thread pays for every atomic).
    unpublished: u64,
    window_len: u32,
    window_n: u32,
    window_squares: f64,
    /// The stream's tap, and the samples gathered for its next chunk.
    tap: Option<(std::sync::Arc<dyn super::tap::Tap>, Vec<f32>)>,
}

/// Samples handed to the stream at a time.
const TAP_CHUNK: usize = 8192;

/// How long the fade is when a broadcast is cut.
pub const FADE: Duration = Duration::from_millis(400);
/// The fade of a cut (see [`ProgramState::request_cut`]).
pub const QUICK_FADE: Duration = Duration::from_millis(20);

impl Program {
    /// Prepares the program; the first clip is opened (and its first packet decoded) now, so
    /// the start at the due instant costs nothing.
    pub fn new(clips: Vec<PlannedItem>, channels: u16, sample_rate: u32, master: f32) -> Program {
        let channels = NonZero::new(channels.max(1)).unwrap_or(NonZero::<u16>::MIN);
        let rate = NonZero::new(sample_rate.max(1)).unwrap_or(NonZero::<u32>::MIN);
        let state = Arc::new(ProgramState {
            samples: clips.iter().map(|_| AtomicU64::new(0)).collect(),
            current: AtomicUsize::new(0),
            finished: AtomicBool::new(clips.is_empty()),
            ended: (Mutex::new(()), Condvar::new()),
            stop: AtomicBool::new(false),
            quick: AtomicBool::new(false),
            go: AtomicBool::new(false),
            clear_ahead_ms: AtomicU64::new(0),
            open_errors: Mutex::new(Vec::new()),
            channels: channels.get(),
            sample_rate: rate.get(),
            levels: Mutex::new(vec![LevelMeter::default(); clips.len()]),
        });
        let mut p = Program {
            clips,
            index: 0,
            current: None,
            state,
            channels,
            rate,
            master,
            fade_total: FADE.as_millis() as u64 * u64::from(rate.get()) * u64::from(channels.get())
                / 1000,
            fade_left: None,
            fade_in_left: 0,
            meter: LevelMeter::default(),
            unpublished: 0,
            window_len: rate.get() * u32::from(channels.get()) / 100,
            window_n: 0,
            window_squares: 0.0,
            tap: None,
        };
        p.open_current();
        p
    }

    /// Also hands every sample that goes out to the stream.
    pub fn with_tap(mut self, tap: Option<std::sync::Arc<dyn super::tap::Tap>>) -> Program {
        self.tap = tap.map(|t| (t, Vec::with_capacity(TAP_CHUNK)));
        self
    }

    fn flush_tap(&mut self) {
        if let Some((tap, buf)) = self.tap.as_mut() {
            if !buf.is_empty() {
                let chunk = std::mem::replace(buf, Vec::with_capacity(TAP_CHUNK));
                tap.audio(chunk, self.channels.get(), self.rate.get());
            }
        }
    }

    pub fn state(&self) -> Arc<ProgramState> {
        self.state.clone()
    }

    fn open_current(&mut self) {
        while self.current.is_none() && self.index < self.clips.len() {
            let clip = &self.clips[self.index];
            let opened = match &clip.audio {
                ItemAudio::File { path, .. } => {
                    FileClip::open(path, self.channels, self.rate).map(Clip::File)
                }
                ItemAudio::Relay(relay) => match &relay.feed {
                    None => Err("the relay was not started".into()),
                    Some(feed) => {
                        let live = super::live::LiveSource::new(
                            feed.clone(),
                            clip.duration_ms,
                            relay.fallback.clone(),
                        );
                        Ok(
                            if feed.channels == self.channels.get() && feed.rate == self.rate.get()
                            {
                                Clip::Live(Box::new(live))
                            } else {
                                Clip::LiveConverted(Box::new(UniformSourceIterator::new(
                                    live,
                                    self.channels,
                                    self.rate,
                                )))
                            },
                        )
                    }
                },
            };
            match opened {
                Ok(c) => {
                    // A capture device (a microphone, a line-in) comes up without a click.
                    let captured = self.clips[self.index]
                        .relay()
                        .is_some_and(super::item::RelayItem::is_capture);
                    if captured {
                        self.fade_in_left = self.fade_total;
                    }
                    self.current = Some(c);
                }
                Err(e) => {
                    if let Ok(mut errs) = self.state.open_errors.lock() {
                        errs.push((self.index, e));
                    }
                    self.index += 1;
                    self.state.current.store(self.index, Ordering::SeqCst);
                }
            }
        }
    }

    /// Closes the current 10 ms window and makes the clip's measurement visible.
    fn publish(&mut self, clip_ended: bool) {
        if self.unpublished > 0 {
            if let Some(count) = self.state.samples.get(self.index) {
                count.fetch_add(self.unpublished, Ordering::Relaxed);
            }
            self.unpublished = 0;
        }
        if self.window_n > 0 && (clip_ended || self.window_n >= self.window_len) {
            self.meter.windows += 1;
            if (self.window_squares / f64::from(self.window_n)).sqrt() < SILENCE {
                self.meter.silent_windows += 1;
            }
            self.window_n = 0;
            self.window_squares = 0.0;
        }
        if let Ok(mut levels) = self.state.levels.lock() {
            if let Some(slot) = levels.get_mut(self.index) {
                *slot = self.meter;
            }
        }
        if clip_ended {
            self.meter = LevelMeter::default();
        }
    }

    /// Counts and measures samples as they go out, a 10 ms window at a time.
    fn measure(&mut self, samples: &[f32]) {
        let mut rest = samples;
        while !rest.is_empty() {
            let room = (self.window_len.saturating_sub(self.window_n)).max(1) as usize;
            let (now, later) = rest.split_at(room.min(rest.len()));
            let mut peak = self.meter.peak;
            let mut squares = 0.0;
            for s in now {
                peak = peak.max(s.abs());
                squares += f64::from(*s) * f64::from(*s);
            }
            self.meter.peak = peak;
            self.meter.sum_squares += squares;
            self.meter.samples += now.len() as u64;
            self.window_squares += squares;
            self.window_n += now.len() as u32;
            self.unpublished += now.len() as u64;
            if self.window_n >= self.window_len {
                self.publish(false);
            }
            rest = later;
        }
    }

    fn finish(&mut self) {
        self.flush_tap();
        if self.current.is_some() {
            self.publish(true);
        }
        self.current = None;
        if !self.state.is_finished() {
            self.state.mark_finished();
        }
    }
}

impl Program {
    /// Fills `out` with the program's next samples; fewer than `out.len()` only once the
    /// program has ended (the rest of `out` is left as it was). The output's thread calls
    /// this once a period: the work per sample is a copy and a multiply, not a walk through
    /// nested iterators.
    pub fn fill(&mut self, out: &mut [f32]) -> usize {
        let mut n = 0;
        while n < out.len() {
            if self.state.stop.load(Ordering::Relaxed) && self.fade_left.is_none() {
                self.fade_left = Some(if self.state.quick.load(Ordering::Relaxed) {
                    self.fade_total * QUICK_FADE.as_millis() as u64 / FADE.as_millis() as u64
                } else {
                    self.fade_total
                });
            }
            // A fade takes exactly its samples, and then the program ends.
            let want = match self.fade_left {
                Some(0) => {
                    self.finish();
                    return n;
                }
                Some(left) => (out.len() - n).min(usize::try_from(left).unwrap_or(usize::MAX)),
                None => out.len() - n,
            };
            let Some(current) = self.current.as_mut() else {
                self.finish();
                return n;
            };
            let got = current.fill(&mut out[n..n + want]);
            if got == 0 {
                self.publish(true);
                self.current = None;
                self.index += 1;
                self.state.current.store(self.index, Ordering::SeqCst);
                self.open_current();
                continue;
            }
            self.shape(&mut out[n..n + got]);
            n += got;
        }
        n
    }

    /// Applies gain (and the fade) to samples just taken from the current clip, measures
    /// them and hands them to the stream.
    fn shape(&mut self, samples: &mut [f32]) {
        let gain = self.master * self.clips[self.index].gain;
        if self.fade_in_left > 0 {
            let total = self.fade_total.max(1) as f32;
            for s in samples.iter_mut() {
                *s *= 1.0 - self.fade_in_left as f32 / total;
                self.fade_in_left = self.fade_in_left.saturating_sub(1);
            }
        }
        match self.fade_left.as_mut() {
            None => {
                for s in samples.iter_mut() {
                    *s = (*s * gain).clamp(-1.0, 1.0);
                }
            }
            Some(left) => {
                let total = self.fade_total.max(1) as f32;
                for s in samples.iter_mut() {
                    *s = (*s * gain * (*left as f32 / total)).clamp(-1.0, 1.0);
                    *left = left.saturating_sub(1);
                }
            }
        }
        self.measure(samples);
        let mut rest: &[f32] = samples;
        while let Some((_, buf)) = self.tap.as_mut().filter(|_| !rest.is_empty()) {
            let (now, later) = rest.split_at((TAP_CHUNK - buf.len()).min(rest.len()));
            buf.extend_from_slice(now);
            rest = later;
            if buf.len() >= TAP_CHUNK {
                self.flush_tap();
            }
        }
    }
}

impl Iterator for Program {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        let mut one = [0.0];
        (self.fill(&mut one) == 1).then_some(one[0])
    }
}

impl Source for Program {
    fn current_span_len(&self) -> Option<usize> {
        None
    }

    fn channels(&self) -> rodio::ChannelCount {
        self.channels
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        self.rate
    }

    fn total_duration(&self) -> Option<Duration> {
        None
    }
}
