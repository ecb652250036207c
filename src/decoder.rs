//! A clip file decoded to samples, whatever made it: rodio's decoders (symphonia) for MP3,
//! AAC in MP4, Vorbis, FLAC and WAV, and the system's libopus for Opus in Ogg or WebM — what a
//! browser records (Chromium and Firefox; Safari records AAC in MP4). The one place loaxa binds
//! libopus's decoder: the relay's Ogg Opus reader decodes through [`OpusDecoder`] too.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::Duration;

use rodio::Source;
use symphonia::core::codecs::CODEC_TYPE_OPUS;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

#[link(name = "opus")]
unsafe extern "C" {
    fn opus_decoder_create(
        rate: i32,
        channels: std::ffi::c_int,
        error: *mut std::ffi::c_int,
    ) -> *mut std::ffi::c_void;
    fn opus_decode_float(
        st: *mut std::ffi::c_void,
        data: *const u8,
        len: i32,
        pcm: *mut f32,
        frame_size: std::ffi::c_int,
        decode_fec: std::ffi::c_int,
    ) -> std::ffi::c_int;
    fn opus_decoder_destroy(st: *mut std::ffi::c_void);
}

/// Opus's longest frame: 120 ms at 48 kHz.
pub const OPUS_MAX_FRAMES: usize = 5760;

/// A libopus decoder at 48 kHz, mono or stereo.
pub struct OpusDecoder {
    state: *mut std::ffi::c_void,
    channels: u16,
}

// SAFETY: the decoder state is used only through `&mut self`, by one thread at a time.
unsafe impl Send for OpusDecoder {}

impl OpusDecoder {
    pub fn new(channels: u16) -> Result<OpusDecoder, String> {
        let channels = channels.clamp(1, 2);
        let mut error = 0;
        // SAFETY: creating a decoder; checked for null and error below.
        let state =
            unsafe { opus_decoder_create(48_000, std::ffi::c_int::from(channels), &raw mut error) };
        if state.is_null() || error != 0 {
            return Err(format!("libopus would not decode (error {error})"));
        }
        Ok(OpusDecoder { state, channels })
    }

    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Decodes one packet into `pcm` (interleaved): how many frames, or libopus's error code.
    pub fn decode(&mut self, packet: &[u8], pcm: &mut Vec<f32>) -> Result<usize, i32> {
        pcm.resize(OPUS_MAX_FRAMES * usize::from(self.channels), 0.0);
        // SAFETY: `pcm` holds OPUS_MAX_FRAMES frames of this decoder's channels.
        let frames = unsafe {
            opus_decode_float(
                self.state,
                packet.as_ptr(),
                i32::try_from(packet.len()).unwrap_or(i32::MAX),
                pcm.as_mut_ptr(),
                OPUS_MAX_FRAMES as std::ffi::c_int,
                0,
            )
        };
        if frames < 0 {
            return Err(frames);
        }
        let frames = frames as usize;
        pcm.truncate(frames * usize::from(self.channels));
        Ok(frames)
    }
}

impl Drop for OpusDecoder {
    fn drop(&mut self) {
        // SAFETY: made by opus_decoder_create, destroyed once.
        unsafe { opus_decoder_destroy(self.state) };
    }
}

/// Opus in a container symphonia reads (Ogg, WebM), its packets decoded by libopus.
pub struct OpusFile {
    reader: Box<dyn FormatReader>,
    track: u32,
    decoder: OpusDecoder,
    /// Samples at the start that are encoder delay, not audio.
    skip: usize,
    pcm: Vec<f32>,
    at: usize,
    total: Option<Duration>,
    bad: u32,
}

/// Packets in a row that may fail to decode before the file counts as damaged.
const BAD_PACKETS: u32 = 8;

impl OpusFile {
    /// Opens `path` if it holds an Opus track; `None` if it holds none (or cannot be read:
    /// rodio's decoders then say why).
    pub fn open(path: &Path) -> Option<Result<OpusFile, String>> {
        let file = File::open(path).ok()?;
        let stream = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(
                &hint,
                stream,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .ok()?;
        let reader = probed.format;
        let track = reader
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec == CODEC_TYPE_OPUS)?;
        let params = &track.codec_params;
        // The identification header (Ogg's first packet, WebM's codec private data) says the
        // channels and the encoder's delay; the container's own fields stand in without it.
        let head = params
            .extra_data
            .as_deref()
            .filter(|h| h.starts_with(b"OpusHead") && h.len() >= 12);
        let channels = head.map_or_else(
            || params.channels.map_or(2, |c| c.count() as u16),
            |h| u16::from(h[9]),
        );
        let pre_skip = head.map_or_else(
            || params.delay.unwrap_or(0) as usize,
            |h| usize::from(u16::from_le_bytes([h[10], h[11]])),
        );
        let total = params
            .n_frames
            .map(|n| Duration::from_micros(n.saturating_sub(pre_skip as u64) * 1_000_000 / 48_000));
        let id = track.id;
        Some(OpusDecoder::new(channels).map(|decoder| OpusFile {
            skip: pre_skip * usize::from(decoder.channels()),
            reader,
            track: id,
            decoder,
            pcm: Vec::new(),
            at: 0,
            total,
            bad: 0,
        }))
    }

    /// Decodes the next packet of the track; false at the end (or a damaged file's end).
    fn refill(&mut self) -> bool {
        loop {
            let packet = match self.reader.next_packet() {
                Ok(p) => p,
                Err(SymphoniaError::ResetRequired) => continue,
                Err(_) => return false,
            };
            if packet.track_id() != self.track {
                continue;
            }
            match self.decoder.decode(&packet.data, &mut self.pcm) {
                Ok(_) => {
                    self.bad = 0;
                    let from = self.skip.min(self.pcm.len());
                    self.skip -= from;
                    self.at = from;
                    if self.at < self.pcm.len() {
                        return true;
                    }
                }
                Err(_) => {
                    self.bad += 1;
                    if self.bad >= BAD_PACKETS {
                        return false;
                    }
                }
            }
        }
    }
}

impl Iterator for OpusFile {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        if self.at >= self.pcm.len() && !self.refill() {
            return None;
        }
        let s = self.pcm[self.at];
        self.at += 1;
        Some(s)
    }
}

/// A clip file's decoder: rodio's, or libopus for Opus.
pub enum ClipDecoder {
    Rodio(Box<rodio::Decoder<BufReader<File>>>),
    Opus(Box<OpusFile>),
}

impl ClipDecoder {
    /// Opens a clip file with the decoder its contents need.
    pub fn open(path: &Path) -> Result<ClipDecoder, String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        match rodio::Decoder::try_from(file) {
            Ok(d) => Ok(ClipDecoder::Rodio(Box::new(d))),
            Err(e) => match OpusFile::open(path) {
                Some(opus) => opus.map(|o| ClipDecoder::Opus(Box::new(o))),
                None => Err(e.to_string()),
            },
        }
    }
}

impl Iterator for ClipDecoder {
    type Item = f32;

    #[inline]
    fn next(&mut self) -> Option<f32> {
        match self {
            ClipDecoder::Rodio(d) => d.next(),
            ClipDecoder::Opus(o) => o.next(),
        }
    }
}

impl Source for ClipDecoder {
    fn current_span_len(&self) -> Option<usize> {
        match self {
            ClipDecoder::Rodio(d) => d.current_span_len(),
            ClipDecoder::Opus(_) => None,
        }
    }

    fn channels(&self) -> rodio::ChannelCount {
        match self {
            ClipDecoder::Rodio(d) => d.channels(),
            ClipDecoder::Opus(o) => std::num::NonZero::new(o.decoder.channels())
                .unwrap_or(std::num::NonZero::<u16>::MIN),
        }
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        match self {
            ClipDecoder::Rodio(d) => d.sample_rate(),
            ClipDecoder::Opus(_) => {
                std::num::NonZero::new(48_000).unwrap_or(std::num::NonZero::<u32>::MIN)
            }
        }
    }

    fn total_duration(&self) -> Option<Duration> {
        match self {
            ClipDecoder::Rodio(d) => d.total_duration(),
            ClipDecoder::Opus(o) => o.total,
        }
    }
}
