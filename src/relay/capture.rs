//! A line-in relay: an FM or satellite receiver wired to the sound card, captured through
//! ALSA (cpal). The capture callback converts and levels what it hears and hands it to the
//! feed without ever waiting; this thread only watches for errors and for the device going
//! quiet at the driver level (no callbacks), which counts as stalled.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::{Feed, Pipeline, RelayError};
use crate::tr;

fn find(device: &str) -> Result<cpal::Device, RelayError> {
    let host = cpal::default_host();
    if device == "default" {
        return host
            .default_input_device()
            .ok_or_else(|| RelayError::NoCaptureDevice(device.into()));
    }
    let devices = host.input_devices().map_err(|e| RelayError::Capture {
        device: device.into(),
        detail: e.to_string(),
    })?;
    devices
        .into_iter()
        .find(|d| crate::audio::device::is_named(d, device))
        .ok_or_else(|| RelayError::NoCaptureDevice(device.into()))
}

/// Captures `device` into `feed` until `until`, the relay is stopped, or the device fails.
pub(super) fn relay(
    device: &str,
    feed: &Arc<Feed>,
    loudness_target: Option<f64>,
    until: Instant,
    lang: crate::lang::Lang,
) -> Result<(), RelayError> {
    let d = find(device)?;
    let err = |detail: String| RelayError::Capture {
        device: device.into(),
        detail,
    };
    let config = d.default_input_config().map_err(|e| err(e.to_string()))?;
    let channels = config.channels();
    let rate = config.sample_rate();
    let format = config.sample_format();
    let frames = *config.buffer_size();
    let mut stream_config: cpal::StreamConfig = config.into();
    // Periods of about 20 ms: what the device hears reaches the feed, and the air, without
    // waiting for a large buffer to fill (a voice aired live must not lag).
    if let cpal::SupportedBufferSize::Range { min, max } = frames {
        stream_config.buffer_size = cpal::BufferSize::Fixed((rate / 50).clamp(min, max));
    }
    tracing::debug!(
        "capture {device}: {channels} ch {rate} Hz, buffer {:?} (device allows {frames:?})",
        stream_config.buffer_size
    );
    let failed: Arc<Mutex<Option<String>>> = Arc::default();
    let heard: Arc<Mutex<Instant>> = Arc::new(Mutex::new(Instant::now()));
    let failed_cb = failed.clone();
    let heard_cb = heard.clone();
    let mut pipeline = Pipeline::new(feed.clone(), loudness_target);
    let mut scratch: Vec<f32> = Vec::new();
    let mut on_samples = move |data: &[f32]| {
        if let Ok(mut h) = heard_cb.lock() {
            *h = Instant::now();
        }
        pipeline.deliver_now(data, channels, rate, "line-in");
    };
    let overran = std::sync::atomic::AtomicBool::new(false);
    let on_error = move |e: cpal::Error| {
        // An overrun (the PC too busy for a moment to read the device) loses a few
        // milliseconds of the voice; the capture goes on, as the output does after an underrun.
        if crate::audio::device::is_underrun(&e) {
            if !overran.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(
                    "{}",
                    tr!(
                        lang,
                        "đầu vào tràn bộ đệm: mất vài mili giây âm thanh, vẫn tiếp tục thu",
                        "line-in overrun: a few milliseconds of input lost, the capture goes on"
                    )
                );
            }
            return;
        }
        if let Ok(mut f) = failed_cb.lock() {
            f.get_or_insert(e.to_string());
        }
    };
    let stream = match format {
        cpal::SampleFormat::F32 => d.build_input_stream::<f32, _, _>(
            stream_config,
            move |data: &[f32], _| on_samples(data),
            on_error,
            None,
        ),
        cpal::SampleFormat::I16 => d.build_input_stream::<i16, _, _>(
            stream_config,
            move |data: &[i16], _| {
                scratch.clear();
                scratch.extend(data.iter().map(|s| f32::from(*s) / 32768.0));
                on_samples(&scratch);
            },
            on_error,
            None,
        ),
        other => return Err(err(format!("sample format {other:?} is not supported"))),
    }
    .map_err(|e| err(e.to_string()))?;
    stream.play().map_err(|e| err(e.to_string()))?;
    let result = loop {
        std::thread::sleep(Duration::from_millis(200));
        if feed.stopped() || Instant::now() >= until {
            break Ok(());
        }
        if let Some(f) = failed.lock().ok().and_then(|f| f.clone()) {
            break Err(err(f));
        }
        let quiet = heard.lock().map(|h| h.elapsed()).unwrap_or_default();
        if quiet > super::TIMEOUT {
            break Err(err(format!(
                "no audio from the device for {} s",
                super::TIMEOUT.as_secs()
            )));
        }
    };
    drop(stream);
    result
}
