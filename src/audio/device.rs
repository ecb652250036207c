//! A real sound device through rodio (cpal → ALSA on Linux). The device is opened a little
//! before a broadcast and closed after it, so between sessions the device is released and
//! loaxa idles. rodio's stream error callback is wired in: a device error during a broadcast
//! ends it and marks what was cut, never `completed`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use cpal::traits::{DeviceTrait, HostTrait};
use rodio::{DeviceSinkBuilder, MixerDeviceSink};

use super::output::{wait_for_start, Aired, Format, Output, OutputError};
use super::program::Program;

const OPEN_ATTEMPTS: u32 = 3;
/// How often the airing thread looks at the device's health and the program's progress.
const WATCH: Duration = Duration::from_millis(40);
/// How long a stream may take no samples before it counts as dead.
const STALL: Duration = Duration::from_secs(2);
/// How long a fresh stream must run without error before a broadcast is trusted to it.
const SETTLE: Duration = Duration::from_millis(120);

pub struct DeviceOutput {
    /// `None` for the system default device.
    name: Option<String>,
    buffer_frames: u32,
    sink: Option<MixerDeviceSink>,
    error: Arc<Mutex<Option<String>>>,
    /// The last airing ended in a device failure (its error may already have been taken).
    failed: bool,
}

impl DeviceOutput {
    pub fn new(name: Option<String>, buffer_frames: u32) -> Self {
        silence_alsa_stderr();
        DeviceOutput {
            name,
            buffer_frames,
            sink: None,
            error: Arc::new(Mutex::new(None)),
            failed: false,
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
                for d in devices {
                    let id = d.id().map(|i| i.to_string()).unwrap_or_default();
                    let name = d
                        .description()
                        .map(|x| x.name().to_string())
                        .unwrap_or_default();
                    if &id == want || &name == want || id.ends_with(&format!(":{want}")) {
                        return Ok(d);
                    }
                }
                Err(OutputError::NoDevice(Some(want.clone())))
            }
        }
    }

    fn open_once(&mut self, prefer: Option<Format>) -> Result<Format, OutputError> {
        self.close();
        let device = self.find_device()?;
        let error = self.error.clone();
        if let Ok(mut e) = error.lock() {
            *e = None;
        }
        // In the program's own format when the device takes it: no resampling here. The
        // buffer keeps the same length in time (`buffer_frames` is counted at 48 kHz), so
        // the start stays as close to the second.
        let native = prefer.filter(|f| supports(&device, *f));
        let mut builder =
            DeviceSinkBuilder::from_device(device).map_err(|e| OutputError::Open(e.to_string()))?;
        let mut frames = self.buffer_frames;
        if let Some(f) = native {
            if let (Some(ch), Some(rate)) = (
                std::num::NonZeroU16::new(f.channels),
                std::num::NonZeroU32::new(f.sample_rate),
            ) {
                builder = builder.with_channels(ch).with_sample_rate(rate);
                frames = (self.buffer_frames as u64 * f.sample_rate as u64 / 48_000).max(64) as u32;
            }
        }
        let mut sink = builder
            .with_buffer_size(cpal::BufferSize::Fixed(frames))
            .with_error_callback(move |e| {
                // A dying stream repeats its error in a tight loop: say it once.
                if let Ok(mut slot) = error.lock() {
                    if slot.is_none() {
                        tracing::warn!("sound device error: {e}");
                        *slot = Some(e.to_string());
                    }
                }
            })
            .open_stream()
            .map_err(|e| OutputError::Open(e.to_string()))?;
        sink.log_on_drop(false);
        let config = sink.config();
        let format = Format {
            channels: config.channel_count().get(),
            sample_rate: config.sample_rate().get(),
        };
        self.sink = Some(sink);
        Ok(format)
    }

    fn take_error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
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
    fn open(&mut self, prefer: Option<Format>) -> Result<Format, OutputError> {
        let mut last = None;
        for attempt in 1..=OPEN_ATTEMPTS {
            // A format the device refused is not asked for again.
            let prefer = prefer.filter(|_| attempt == 1);
            match self.open_once(prefer) {
                Ok(format) => {
                    std::thread::sleep(SETTLE);
                    match self.take_error() {
                        None => return Ok(format),
                        Some(e) => {
                            tracing::warn!(
                                "sound device failed right after opening (attempt {attempt}): {e}"
                            );
                            self.close();
                            last = Some(OutputError::Open(e));
                        }
                    }
                }
                Err(e @ OutputError::NoDevice(_)) => return Err(e),
                Err(e) => {
                    tracing::warn!("cannot open the sound device (attempt {attempt}): {e}");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or(OutputError::NoDevice(self.name.clone())))
    }

    fn air(&mut self, program: Program, start_at: Instant) -> Aired {
        let Some(sink) = self.sink.as_ref() else {
            return Aired {
                started_at: None,
                error: Some(OutputError::Device("not open".into())),
            };
        };
        let state = program.state();
        let config = *sink.config();
        let buffer = match config.buffer_size() {
            cpal::BufferSize::Fixed(n) => *n,
            cpal::BufferSize::Default => 4096,
        };
        let drain = Duration::from_millis(
            buffer as u64 * 1000 / config.sample_rate().get() as u64 * 2 + 60,
        );
        if !wait_for_start(start_at, &state) {
            return Aired::default();
        }
        sink.mixer().add(program);
        let started_at = Some(Utc::now());
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
                    error: Some(OutputError::Device(format!(
                        "the sound device stopped taking audio for {} s",
                        STALL.as_secs()
                    ))),
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
                return Aired { started_at, error };
            }
            // The program fades and stops itself; this loop only watches the device, so it
            // need not wake often (each wake-up is CPU the broadcast pays for).
            std::thread::sleep(WATCH);
        }
    }

    fn close(&mut self) {
        let Some(sink) = self.sink.take() else {
            return;
        };
        if self.error.lock().map(|e| e.is_some()).unwrap_or(true) || self.failed {
            // Dropping a dead stream joins its ALSA thread, which can hang for good when the
            // sound server is gone; the audio thread must stay free for the next broadcast.
            let _ = std::thread::Builder::new()
                .name("loaxa-dead-stream".into())
                .spawn(move || drop(sink));
        }
        self.failed = false;
    }
}

/// Whether the device lists a configuration with this channel count and sample rate.
fn supports(device: &cpal::Device, f: Format) -> bool {
    device
        .supported_output_configs()
        .map(|configs| {
            configs.into_iter().any(|c| {
                c.channels() == f.channels
                    && c.min_sample_rate() <= f.sample_rate
                    && f.sample_rate <= c.max_sample_rate()
            })
        })
        .unwrap_or(false)
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
