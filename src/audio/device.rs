//! A real sound device through cpal (ALSA on Linux). The device is opened a little before a
//! broadcast and closed after it, so between sessions the device is released and loaxa
//! idles. loaxa drives the stream itself rather than through a mixer: each time the device
//! asks for a period of samples, the callback knows when that period will reach the speaker
//! (cpal's playback timestamp: now plus what is queued ahead of it), so the broadcast's first
//! sample is placed at the frame that sounds on its instant. The start is then exact whatever
//! the buffer's size, and the buffer can be large — a few wake-ups a second, little CPU and
//! no crackle on a weak station PC. Stream errors end the broadcast and mark what was cut,
//! never `completed`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::output::{Aired, Format, Output, OutputError};
use super::program::{Program, ProgramState};
use crate::tr;

const OPEN_ATTEMPTS: u32 = 3;
/// How often the airing thread looks at the device's health while the program plays (the
/// program's end wakes it at once).
const WATCH: Duration = Duration::from_secs(1);
/// How often it looks while waiting for the first instant.
const WAIT: Duration = Duration::from_millis(50);
/// How long a stream may take no samples before it counts as dead.
const STALL: Duration = Duration::from_secs(2);
/// How long a fresh stream must run without error before a broadcast is trusted to it.
const SETTLE: Duration = Duration::from_millis(120);

/// What the stream's callback and the airing thread share.
#[derive(Default)]
struct Handover {
    /// A program waiting for its first instant: the callback takes it when that instant falls
    /// in the period it is filling (and its start is journaled).
    pending: Option<(Program, Instant, Arc<ProgramState>)>,
    /// When the program's first sample reaches the speaker, as the callback placed it.
    started_at: Option<DateTime<Utc>>,
}

pub struct DeviceOutput {
    /// `None` for the system default device.
    name: Option<String>,
    /// Period length in frames at 48 kHz; scaled to the rate the device is opened at.
    buffer_frames: u32,
    stream: Option<cpal::Stream>,
    /// Frames per period and sample rate of the open stream.
    period: (u32, u32),
    handover: Arc<Mutex<Handover>>,
    /// The stream's first error, and how many periods it had delivered at its latest one.
    error: Arc<Mutex<Option<(String, u64)>>>,
    /// Periods the open stream has delivered (its data callbacks).
    periods: Arc<AtomicU64>,
    /// Underruns on the open stream: each a short gap the device filled with silence before
    /// the stream went on (ALSA recovers from them itself). Not a failure: what the program
    /// holds still airs, whole and in order.
    underruns: Arc<AtomicU64>,
    /// The last airing ended in a device failure (its error may already have been taken).
    failed: bool,
    /// The next opening airs a live voice: a short period, whatever `buffer_frames` says.
    short_delay: bool,
    /// The language the operator reads the log in.
    lang: crate::lang::Lang,
}

/// The period (frames at 48 kHz) while a live voice airs: about 43 ms, which keeps the
/// microphone-to-loudspeaker delay near 0.17 s (measured) instead of near 0.5 s at the default
/// 8192.
const SHORT_DELAY_FRAMES: u32 = 2048;

impl DeviceOutput {
    pub fn new(name: Option<String>, buffer_frames: u32, lang: crate::lang::Lang) -> Self {
        silence_alsa_stderr();
        DeviceOutput {
            name,
            buffer_frames,
            stream: None,
            period: (0, 0),
            handover: Arc::default(),
            error: Arc::new(Mutex::new(None)),
            periods: Arc::default(),
            underruns: Arc::default(),
            failed: false,
            short_delay: false,
            lang,
        }
    }

    fn find_device(&self) -> Result<cpal::Device, OutputError> {
        let host = cpal::default_host();
        match &self.name {
            None => host
                .default_output_device()
                .ok_or(OutputError::NoDevice(None)),
            Some(want) => {
                let devices = host
                    .output_devices()
                    .map_err(|e| OutputError::Open(e.to_string()))?;
                devices
                    .into_iter()
                    .find(|d| is_named(d, want))
                    .ok_or_else(|| OutputError::NoDevice(Some(want.clone())))
            }
        }
    }

    fn open_once(&mut self, prefer: Option<Format>) -> Result<Format, OutputError> {
        self.close();
        let device = self.find_device()?;
        if let Ok(mut e) = self.error.lock() {
            *e = None;
        }
        self.periods = Arc::default();
        self.underruns = Arc::default();
        // In the program's own format when the device takes it: no resampling here.
        let (format, sample_format, frames) = match prefer.and_then(|f| native(&device, f)) {
            Some(found) => found,
            None => {
                let c = device
                    .default_output_config()
                    .map_err(|e| OutputError::Open(e.to_string()))?;
                (
                    Format {
                        channels: c.channels(),
                        sample_rate: c.sample_rate(),
                    },
                    c.sample_format(),
                    *c.buffer_size(),
                )
            }
        };
        // The period keeps the same length in time whatever the rate.
        let frames_at_48k = if self.short_delay {
            self.buffer_frames.min(SHORT_DELAY_FRAMES)
        } else {
            self.buffer_frames
        };
        let mut period =
            (u64::from(frames_at_48k) * u64::from(format.sample_rate) / 48_000).max(64) as u32;
        if let cpal::SupportedBufferSize::Range { min, max } = frames {
            period = period.clamp(min.max(1), max.max(min.max(1)));
        }
        tracing::debug!(
            "opening the sound device: {} ch {} Hz {sample_format} (the program is {prefer:?}), {period} frames a period",
            format.channels,
            format.sample_rate
        );
        let config = cpal::StreamConfig {
            channels: format.channels,
            sample_rate: format.sample_rate,
            buffer_size: cpal::BufferSize::Fixed(period),
        };
        let feeder = Feeder {
            handover: self.handover.clone(),
            playing: None,
            channels: format.channels.max(1) as usize,
            rate: f64::from(format.sample_rate.max(1)),
            scratch: Vec::new(),
        };
        let error = self.error.clone();
        let periods = self.periods.clone();
        let underruns = self.underruns.clone();
        let lang = self.lang;
        let on_error = move |e: cpal::Error| {
            // A PC busy for a moment (a browser, an update) lets the device run dry: a gap,
            // after which cpal has prepared the stream and it plays on. Ending the broadcast
            // there (an emergency, a live voice) would lose far more than the gap.
            if is_underrun(&e) {
                if underruns.fetch_add(1, Ordering::SeqCst) == 0 {
                    tracing::warn!(
                        "{}",
                        tr!(
                            lang,
                            "thiết bị âm thanh cạn bộ đệm: ngắt quãng ngắn, vẫn tiếp tục phát",
                            "sound device underrun: a short gap, the broadcast goes on"
                        )
                    );
                }
                return;
            }
            // A dying stream repeats its error in a tight loop: say it once, but mark each.
            if let Ok(mut slot) = error.lock() {
                let at = periods.load(Ordering::SeqCst);
                match slot.as_mut() {
                    Some((_, mark)) => *mark = at,
                    None => {
                        tracing::warn!("sound device error: {e}");
                        *slot = Some((e.to_string(), at));
                    }
                }
            }
        };
        let p = self.periods.clone();
        let stream = match sample_format {
            cpal::SampleFormat::F32 => build::<f32>(&device, &config, feeder, p, on_error),
            cpal::SampleFormat::I16 => build::<i16>(&device, &config, feeder, p, on_error),
            cpal::SampleFormat::I32 => build::<i32>(&device, &config, feeder, p, on_error),
            cpal::SampleFormat::U8 => build::<u8>(&device, &config, feeder, p, on_error),
            other => {
                return Err(OutputError::Open(format!(
                    "the device only takes {other} samples, which loaxa does not write"
                )))
            }
        }
        .map_err(|e| OutputError::Open(e.to_string()))?;
        stream
            .play()
            .map_err(|e| OutputError::Open(e.to_string()))?;
        self.stream = Some(stream);
        self.period = (period, format.sample_rate.max(1));
        Ok(format)
    }

    /// The stream's error, if it is one that ends a broadcast. The PulseAudio plugin's
    /// glitch (below) is not: it comes again after each underrun, as the plugin restarts its
    /// stream, and the stream plays on. Whether a stream is dead is then the stall watch's to
    /// say (no samples taken for [`STALL`]), which sees a stream dead of any cause.
    fn take_error(&self) -> Option<String> {
        let (e, _) = self.error.lock().ok()?.take()?;
        if is_plugin_glitch(&e) {
            tracing::debug!("the sound device reported the PulseAudio plugin's glitch: {e}");
            return None;
        }
        Some(e)
    }

    /// Like [`Self::take_error`], for a stream not yet given a program: ALSA's PulseAudio
    /// plugin fails `snd_pcm_avail_delay` with EIO until the server's first timing reply
    /// (alsa-plugins compares `pa_stream_get_latency`'s `-PA_ERR_NODATA` with
    /// `PA_ERR_NODATA`). cpal's worker carries on after it; if the stream has delivered a
    /// period since its latest error, it is healthy and the error is dropped.
    fn take_startup_error(&self) -> Option<String> {
        let mut slot = self.error.lock().ok()?;
        let (e, mark) = slot.take()?;
        if recovered(&e, mark, self.periods.load(Ordering::SeqCst)) {
            tracing::debug!("the sound device recovered from a start-up error: {e}");
            return None;
        }
        Some(e)
    }

    fn started_at(&self) -> Option<DateTime<Utc>> {
        self.handover.lock().ok().and_then(|h| h.started_at)
    }

    /// Takes back a program the callback has not started; false if it has.
    fn withdraw(&self) -> bool {
        self.handover
            .lock()
            .map_or(true, |mut h| h.pending.take().is_some())
    }

    /// Waits for the callback to start the program. `Err` if it never will: stopped first
    /// (`None`) or the device failed (`Some`).
    fn wait_for_start(
        &mut self,
        start_at: Instant,
        state: &ProgramState,
    ) -> Result<(), Option<OutputError>> {
        loop {
            if self.started_at().is_some() {
                return Ok(());
            }
            if state.stop.load(std::sync::atomic::Ordering::SeqCst) && self.withdraw() {
                return Err(None);
            }
            let dead = match self.take_error() {
                Some(e) => Some(e),
                // Cleared to go, its instant long past, and still not taken: the stream is
                // not calling back.
                None if state.go.load(std::sync::atomic::Ordering::SeqCst)
                    && Instant::now() > start_at + STALL =>
                {
                    Some(stalled())
                }
                None => None,
            };
            if let Some(e) = dead {
                if self.withdraw() {
                    self.failed = true;
                    return Err(Some(OutputError::Device(e)));
                }
                return Ok(());
            }
            std::thread::sleep(WAIT);
        }
    }
}

/// Why a stream that stopped calling back counts as failed.
fn stalled() -> String {
    format!(
        "the sound device stopped taking audio for {} s",
        STALL.as_secs()
    )
}

/// Whether a stream's error `e`, its latest at `mark` periods, is the PulseAudio plugin's
/// start-up glitch and the stream has called back since (`periods` > `mark`).
fn recovered(e: &str, mark: u64, periods: u64) -> bool {
    is_plugin_glitch(e) && periods > mark
}

/// ALSA's PulseAudio plugin failing `snd_pcm_avail_delay` with EIO: it has no timing reply
/// from the server yet, on a fresh stream or one restarted after an underrun.
fn is_plugin_glitch(e: &str) -> bool {
    e.contains("'snd_pcm_avail_delay'") && e.contains("(5)")
}

/// The callback's side: places the pending program's first sample, then pulls the program.
struct Feeder {
    handover: Arc<Mutex<Handover>>,
    playing: Option<Program>,
    channels: usize,
    rate: f64,
    scratch: Vec<f32>,
}

impl Feeder {
    fn fill(&mut self, data: &mut [f32], info: &cpal::OutputCallbackInfo) {
        data.fill(0.0);
        let mut from = 0;
        if self.playing.is_none() {
            from = data.len();
            // Never wait on the airing thread here: if it holds the lock, look next period.
            let handover = self.handover.clone();
            if let Ok(mut h) = handover.try_lock() {
                if let Some(first) = self.place(&mut h, data.len() / self.channels, info) {
                    from = first * self.channels;
                }
            };
        }
        if let Some(program) = self.playing.as_mut() {
            let want = data.len() - from;
            if program.fill(&mut data[from..]) < want {
                self.playing = None;
            }
        }
    }

    /// Starts the pending program if its instant falls within this period; returns the
    /// frame it starts at.
    fn place(
        &mut self,
        h: &mut Handover,
        frames: usize,
        info: &cpal::OutputCallbackInfo,
    ) -> Option<usize> {
        let (_, start_at, state) = h.pending.as_ref()?;
        let cleared = state.go.load(std::sync::atomic::Ordering::SeqCst);
        if !cleared || state.stop.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        let ts = info.timestamp();
        let now = Instant::now();
        // When the first frame of this period will sound.
        let sounds_at = now + ts.playback.saturating_duration_since(ts.callback);
        let offset = start_at.saturating_duration_since(sounds_at);
        let first = (offset.as_secs_f64() * self.rate).round() as usize;
        if first >= frames {
            return None;
        }
        let (program, _, _) = h.pending.take()?;
        let lead = (sounds_at + Duration::from_secs_f64(first as f64 / self.rate))
            .saturating_duration_since(now);
        h.started_at = Some(Utc::now() + chrono::Duration::from_std(lead).unwrap_or_default());
        self.playing = Some(program);
        Some(first)
    }
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mut feeder: Feeder,
    periods: Arc<AtomicU64>,
    on_error: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, cpal::Error>
where
    T: cpal::SizedSample + cpal::FromSample<f32>,
{
    device.build_output_stream::<T, _, _>(
        *config,
        move |data: &mut [T], info| {
            let mut scratch = std::mem::take(&mut feeder.scratch);
            scratch.resize(data.len(), 0.0);
            feeder.fill(&mut scratch, info);
            for (out, s) in data.iter_mut().zip(&scratch) {
                *out = T::from_sample(*s);
            }
            feeder.scratch = scratch;
            periods.fetch_add(1, Ordering::SeqCst);
        },
        on_error,
        None,
    )
}

/// The device's configuration for `f`, if it has one: its sample format (float preferred,
/// then the widest integer) and buffer size range.
fn native(
    device: &cpal::Device,
    f: Format,
) -> Option<(Format, cpal::SampleFormat, cpal::SupportedBufferSize)> {
    let rank = |s: cpal::SampleFormat| match s {
        cpal::SampleFormat::F32 => 0,
        cpal::SampleFormat::I32 => 1,
        cpal::SampleFormat::I16 => 2,
        cpal::SampleFormat::U8 => 3,
        _ => 9,
    };
    device
        .supported_output_configs()
        .ok()?
        .filter(|c| {
            c.channels() == f.channels
                && c.min_sample_rate() <= f.sample_rate
                && f.sample_rate <= c.max_sample_rate()
                && rank(c.sample_format()) < 9
        })
        .min_by_key(|c| rank(c.sample_format()))
        .map(|c| (f, c.sample_format(), *c.buffer_size()))
}

/// Opens a stream with `once`, up to [`OPEN_ATTEMPTS`] times, asking for `prefer` (the
/// program's format). `failed` waits a moment after an open and says whether the stream
/// has already failed. A format the device refused is not asked for again; a stream that
/// opened and then failed keeps its format, since ALSA's PulseAudio plugin fails a fresh
/// stream now and then whatever its format. Giving the format up there left whole relays
/// resampled twice, by rodio and again by the sound server. The last attempt takes the
/// device's own format, in case it was the format that made the stream fail.
fn open_with_retries(
    prefer: Option<Format>,
    mut once: impl FnMut(Option<Format>) -> Result<Format, OutputError>,
    mut failed: impl FnMut() -> Option<String>,
) -> Result<Format, Option<OutputError>> {
    let mut last = None;
    let mut prefer = prefer;
    for attempt in 1..=OPEN_ATTEMPTS {
        let asked = prefer.filter(|_| attempt < OPEN_ATTEMPTS);
        match once(asked) {
            Ok(format) => match failed() {
                None => return Ok(format),
                Some(e) => {
                    tracing::warn!(
                        "sound device failed right after opening (attempt {attempt}): {e}"
                    );
                    last = Some(OutputError::Open(e));
                }
            },
            Err(e @ OutputError::NoDevice(_)) => return Err(Some(e)),
            Err(e) => {
                tracing::warn!("cannot open the sound device (attempt {attempt}): {e}");
                prefer = None;
                last = Some(e);
            }
        }
    }
    Err(last)
}

impl Output for DeviceOutput {
    fn name(&self) -> String {
        match &self.name {
            None => "default".into(),
            Some(n) => format!("device:{n}"),
        }
    }

    /// Opens the device and checks that the stream is healthy before the broadcast needs it:
    /// ALSA's PulseAudio plugin sometimes fails a stream in its first milliseconds
    /// (`snd_pcm_avail_delay` I/O error), which a reopen cures. This happens during the lead
    /// time, so the retry costs the start nothing.
    fn want_short_delay(&mut self, short: bool) {
        self.short_delay = short;
    }

    fn open(&mut self, prefer: Option<Format>) -> Result<Format, OutputError> {
        let name = self.name.clone();
        let this = std::cell::RefCell::new(self);
        open_with_retries(
            prefer,
            |asked| this.borrow_mut().open_once(asked),
            || {
                std::thread::sleep(SETTLE);
                let mut me = this.borrow_mut();
                let e = me.take_startup_error();
                if e.is_some() {
                    me.close();
                }
                e
            },
        )
        .map_err(|e| e.unwrap_or(OutputError::NoDevice(name)))
    }

    /// The callback writes a period while two more are queued ahead of it; it must know the
    /// program may start by the time the instant comes into that reach.
    fn clear_ahead(&self) -> Duration {
        let (frames, rate) = self.period;
        Duration::from_millis(u64::from(frames) * 3000 / u64::from(rate.max(1)) + 100)
    }

    fn air(&mut self, program: Program, start_at: Instant) -> Aired {
        if self.stream.is_none() {
            return Aired {
                started_at: None,
                error: Some(OutputError::Device("not open".into())),
            };
        }
        let state = program.state();
        let (frames, rate) = self.period;
        // What the device holds (two periods) plays out after the program's last sample.
        let drain = Duration::from_millis(u64::from(frames) * 2000 / u64::from(rate) + 60);
        if let Ok(mut h) = self.handover.lock() {
            h.started_at = None;
            h.pending = Some((program, start_at, state.clone()));
        }
        if let Err(error) = self.wait_for_start(start_at, &state) {
            return Aired {
                started_at: None,
                error,
            };
        }
        let started_at = self.started_at();
        // A stream can also die silently (seen with ALSA's PulseAudio plugin when the sound
        // server goes away): no error, it just stops taking samples. That is a failure too.
        let mut last_progress = (state.total_samples(), Instant::now());
        loop {
            let taken = state.total_samples();
            if taken != last_progress.0 {
                last_progress = (taken, Instant::now());
            } else if last_progress.1.elapsed() > STALL && !state.is_finished() {
                tracing::warn!(
                    "sound device stalled: no samples taken for {} s",
                    STALL.as_secs()
                );
                self.failed = true;
                state.request_stop();
                return Aired {
                    started_at,
                    error: Some(OutputError::Device(stalled())),
                };
            }
            if let Some(e) = self.take_error() {
                // The program may still be pulled by a half-dead stream; stop it so the
                // counts freeze at what the device actually took.
                self.failed = true;
                state.request_stop();
                return Aired {
                    started_at,
                    error: Some(OutputError::Device(e)),
                };
            }
            if state.is_finished() {
                // Let what the device buffered play out before the device is closed.
                std::thread::sleep(drain);
                let error = self.take_error().map(OutputError::Device);
                self.failed = error.is_some();
                let gaps = self.underruns.swap(0, Ordering::SeqCst);
                if gaps > 0 {
                    tracing::warn!(
                        "{}",
                        tr!(
                            self.lang,
                            "thiết bị âm thanh cạn bộ đệm {gaps} lần trong lần phát này: máy bận, không kịp cấp âm thanh; tăng buffer_frames để tránh",
                            "{gaps} sound device underrun(s) during this broadcast: the PC was too busy to keep the device fed; a larger buffer_frames avoids them"
                        )
                    );
                }
                return Aired { started_at, error };
            }
            // The program fades and stops itself and says when it has ended; until then this
            // loop only watches the device, so it need not wake often (each wake-up is CPU
            // the broadcast pays for).
            state.wait_finished(WATCH);
        }
    }

    fn close(&mut self) {
        if let Ok(mut h) = self.handover.lock() {
            *h = Handover::default();
        }
        let Some(stream) = self.stream.take() else {
            return;
        };
        if self.error.lock().map_or(true, |e| e.is_some()) || self.failed {
            // Dropping a dead stream joins its ALSA thread, which can hang for good when the
            // sound server is gone; the audio thread must stay free for the next broadcast.
            let _ = std::thread::Builder::new()
                .name("loaxa-dead-stream".into())
                .spawn(move || drop(stream));
        } else {
            drop(stream);
            release_alsa();
        }
        self.failed = false;
    }
}

/// Whether a stream error is an underrun (or a capture's overrun), which ALSA and cpal
/// recover from, rather than a device that failed.
pub(crate) fn is_underrun(e: &cpal::Error) -> bool {
    e.kind() == cpal::ErrorKind::Xrun
}

/// Whether `d` is the device the configuration names `want`: by its id (`alsa:hw:1,0`), its
/// description, or the id's last part (`hw:1,0`, `linein`).
pub(crate) fn is_named(d: &cpal::Device, want: &str) -> bool {
    let id = d.id().map(|i| i.to_string()).unwrap_or_default();
    let name = d
        .description()
        .map(|x| x.name().to_string())
        .unwrap_or_default();
    id == want || name == want || id.ends_with(&format!(":{want}"))
}

/// Hands back what libasound keeps after a stream is closed: its parsed configuration tree
/// and the plugin libraries it loaded (the PulseAudio plugin pulls in libpulse and its
/// dependencies). A station spends most of its life idle between broadcasts; without this
/// the daemon idles at the size of its first broadcast, not of its start. Open PCMs hold
/// their own references, so this is safe while another is open; the next open reads the
/// configuration again (a few milliseconds, inside the lead time).
fn release_alsa() {
    #[cfg(target_os = "linux")]
    {
        #[link(name = "asound")]
        unsafe extern "C" {
            fn snd_config_update_free_global() -> std::ffi::c_int;
        }
        unsafe {
            snd_config_update_free_global();
        }
    }
}

/// libasound prints configuration chatter straight to stderr (e.g. about unused PCM
/// definitions); loaxa reports device problems itself, through its own errors.
fn silence_alsa_stderr() {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::{c_char, c_int};
        use std::sync::Once;
        // Declared without the trailing varargs: the handler ignores them, and on the
        // System V ABIs a non-variadic callee may be called through a variadic pointer.
        type Handler =
            unsafe extern "C" fn(*const c_char, c_int, *const c_char, c_int, *const c_char);
        unsafe extern "C" fn quiet(
            _: *const c_char,
            _: c_int,
            _: *const c_char,
            _: c_int,
            _: *const c_char,
        ) {
        }
        #[link(name = "asound")]
        unsafe extern "C" {
            fn snd_lib_error_set_handler(handler: Option<Handler>) -> c_int;
        }
        static ONCE: Once = Once::new();
        ONCE.call_once(|| unsafe {
            snd_lib_error_set_handler(Some(quiet));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CD: Format = Format {
        channels: 2,
        sample_rate: 44_100,
    };

    /// Regression: the PulseAudio plugin's early stream failure made the retry open the
    /// device in its own format (48 kHz), and a 44.1 kHz relay was then resampled by rodio,
    /// sample by sample, for its whole length, and again by the sound server.
    #[test]
    fn a_stream_that_fails_right_after_opening_is_reopened_in_the_programs_format() {
        let mut asked = Vec::new();
        let mut failures = vec![None, Some("snd_pcm_avail_delay: I/O error".to_string())];
        let opened = open_with_retries(
            Some(CD),
            |f| {
                asked.push(f);
                Ok(f.unwrap_or_default())
            },
            || failures.pop().flatten(),
        );
        assert_eq!(opened.ok(), Some(CD));
        assert_eq!(asked, [Some(CD), Some(CD)]);
    }

    #[test]
    fn only_the_pulse_start_up_error_followed_by_a_period_is_forgiven() {
        let eio = "ALSA function 'snd_pcm_avail_delay' failed with error 'I/O error (5)'";
        assert!(recovered(eio, 0, 1));
        assert!(!recovered(eio, 3, 3));
        assert!(!recovered("Device disconnected", 0, 5));
    }

    #[test]
    fn a_format_the_device_refuses_is_not_asked_for_again() {
        let mut asked = Vec::new();
        let opened = open_with_retries(
            Some(CD),
            |f| {
                asked.push(f);
                match f {
                    Some(_) => Err(OutputError::Open("format refused".into())),
                    None => Ok(Format::default()),
                }
            },
            || None,
        );
        assert!(opened.is_ok());
        assert_eq!(asked, [Some(CD), None]);
    }

    #[test]
    fn the_last_attempt_takes_the_devices_own_format_and_a_missing_device_is_not_retried() {
        let mut asked = Vec::new();
        let opened = open_with_retries(
            Some(CD),
            |f| {
                asked.push(f);
                Ok(CD)
            },
            || Some("failed".into()),
        );
        assert!(matches!(opened, Err(Some(OutputError::Open(_)))));
        assert_eq!(asked, [Some(CD), Some(CD), None]);
        let mut calls = 0;
        let missing = open_with_retries(
            Some(CD),
            |_| {
                calls += 1;
                Err(OutputError::NoDevice(None))
            },
            || None,
        );
        assert!(matches!(missing, Err(Some(OutputError::NoDevice(None)))));
        assert_eq!(calls, 1);
    }
}
