//! MPEG audio (MP3, and MP2/MP1) framed here rather than by symphonia's reader, so that a
//! splice in a live stream is seen and concealed. Where a source's bytes splice — a server
//! looping a file, an upstream that reconnected mid-frame — the frame cut by the splice holds
//! another stream's bytes, and the frames after it borrow their bit reservoir from bytes of
//! the stream before: decoded, both are noise, a burst up to 12 dB above the programme.
//! Here each frame counts as whole only when the next frame's header follows it where its
//! length says (as mpg123 checks); a frame that is not whole is dropped, the decoder is made
//! afresh (an empty reservoir: what the frames after the splice borrow is skipped, not
//! invented), and the audio fades out before the splice and in after it. Output is held one
//! frame (26 ms at 44.1 kHz) so that the fade-out can reach back.

use std::io::{self, Read};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CodecParameters, Decoder, DecoderOptions, CODEC_TYPE_MP1, CODEC_TYPE_MP2, CODEC_TYPE_MP3,
};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::Packet;

use super::decode::{Chunks, DecodeEnd};

/// Bytes that are neither a frame nor a tag searched for the next frame before the source
/// counts as not MPEG audio.
const MAX_JUNK: usize = 64 * 1024;
/// Frames in a row the decoder refuses before the source counts as not audio.
const BAD_FRAMES: u32 = 50;

/// The fields of a frame header that say how long the frame is and what it decodes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// 1 for MPEG-1, 2 for MPEG-2, 25 for MPEG-2.5.
    version: u8,
    layer: u8,
    rate: u32,
    mono: bool,
    /// A CRC follows the header.
    crc: bool,
    /// The whole frame, header included.
    len: usize,
}

impl Header {
    /// The header at the start of `b`, if it is one (free-format frames, whose length no
    /// header states, are not taken).
    pub fn parse(b: &[u8]) -> Option<Header> {
        let b: [u8; 4] = b.get(..4)?.try_into().ok()?;
        if b[0] != 0xff || b[1] & 0xe0 != 0xe0 {
            return None;
        }
        let version = match (b[1] >> 3) & 3 {
            0 => 25,
            2 => 2,
            3 => 1,
            _ => return None,
        };
        let layer = match (b[1] >> 1) & 3 {
            1 => 3,
            2 => 2,
            3 => 1,
            _ => return None,
        };
        let bitrate_index = usize::from(b[2] >> 4);
        let rate_index = usize::from((b[2] >> 2) & 3);
        if bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 || b[3] & 3 == 2 {
            return None;
        }
        const KBPS: [[u32; 14]; 5] = [
            [
                32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
            ],
            [
                32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
            ],
            [
                32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
            ],
            [
                32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
            ],
            [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
        ];
        let table = match (version, layer) {
            (1, l) => usize::from(l - 1),
            (_, 1) => 3,
            _ => 4,
        };
        let bitrate = KBPS[table][bitrate_index - 1] * 1000;
        let rate = [44_100, 48_000, 32_000][rate_index]
            / match version {
                1 => 1,
                2 => 2,
                _ => 4,
            };
        let padding = usize::from((b[2] >> 1) & 1);
        let len = match layer {
            1 => (12 * bitrate / rate) as usize * 4 + padding * 4,
            3 if version != 1 => (72 * bitrate / rate) as usize + padding,
            _ => (144 * bitrate / rate) as usize + padding,
        };
        Some(Header {
            version,
            layer,
            rate,
            mono: b[3] >> 6 == 3,
            crc: b[1] & 1 == 0,
            len,
        })
    }

    /// Whether `other` continues the stream this one is in (bit rate may change every
    /// frame; the rest may not).
    fn continued_by(&self, other: &Header) -> bool {
        (self.version, self.layer, self.rate, self.mono)
            == (other.version, other.layer, other.rate, other.mono)
    }

    /// For a Layer III frame: how many bytes of main data it borrows from the frames
    /// before it (`main_data_begin`), and how many it brings.
    fn main_data(&self, frame: &[u8]) -> Option<(usize, usize)> {
        if self.layer != 3 {
            return None;
        }
        let at = 4 + if self.crc { 2 } else { 0 };
        let side = match (self.version == 1, self.mono) {
            (true, true) => 17,
            (true, false) => 32,
            (false, true) => 9,
            (false, false) => 17,
        };
        let first = usize::from(*frame.get(at)?);
        let begin = if self.version == 1 {
            (first << 1) | usize::from(frame.get(at + 1)? >> 7)
        } else {
            first
        };
        Some((begin, self.len.checked_sub(at + side)?))
    }

    fn params(&self) -> CodecParameters {
        let mut p = CodecParameters::new();
        p.for_codec(match self.layer {
            1 => CODEC_TYPE_MP1,
            2 => CODEC_TYPE_MP2,
            _ => CODEC_TYPE_MP3,
        })
        .with_sample_rate(self.rate);
        p
    }
}

/// How a frame ends, seen from the bytes after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// The next frame of the same stream.
    Continues,
    /// A clean boundary: a tag, a frame of another format (another file begins), or the
    /// stream's end.
    Boundary,
    /// Anything else: the stream was cut inside this frame.
    Cut,
}

/// A live MPEG audio stream decoded frame by frame, splices concealed.
pub struct MpegStream {
    body: Box<dyn Read + Send + Sync>,
    /// Bytes read and not yet taken; `at` is where the next frame or search starts.
    buf: Vec<u8>,
    at: usize,
    eof: bool,
    /// Whether `at` is at a frame's header (else the next step searches for one).
    synced: bool,
    /// The decoder and the format it was made for; none until the first frame, and none
    /// again after a splice.
    decoder: Option<(Box<dyn Decoder>, Header)>,
    samples: Option<SampleBuffer<f32>>,
    /// The last decoded frame (channels, rate), held so a splice after it can fade it out.
    held: Vec<f32>,
    held_format: (u16, u32),
    out: Vec<f32>,
    out_format: (u16, u32),
    /// The next frame decoded is the first of a connection or after a splice: it fades in
    /// (and the held one has already faded out).
    fade_in: bool,
    /// Main-data bytes the decoder has been given since it was made: a frame that borrows
    /// more than that decodes only in part (the missing granules zeroed, their neighbours'
    /// aliasing left uncancelled, which overshoots), so it airs as silence.
    reservoir: usize,
    /// An end met while a frame was held, given after that frame.
    end: Option<DecodeEnd>,
    bad: u32,
    /// Splices concealed so far.
    pub splices: u32,
    pub codec: String,
}

impl MpegStream {
    /// Opens a stream: finds its first frame (past any ID3v2 tag) and names its codec.
    pub fn open(body: Box<dyn Read + Send + Sync>) -> Result<MpegStream, DecodeEnd> {
        let mut s = MpegStream {
            body,
            buf: Vec::with_capacity(64 * 1024),
            at: 0,
            eof: false,
            synced: false,
            decoder: None,
            samples: None,
            held: Vec::new(),
            held_format: (0, 0),
            out: Vec::new(),
            out_format: (0, 0),
            fade_in: true,
            reservoir: 0,
            end: None,
            bad: 0,
            splices: 0,
            codec: String::new(),
        };
        let first = s.sync()?;
        s.synced = true;
        s.codec = format!("mp{}", first.layer);
        Ok(s)
    }

    /// Makes sure `n` bytes from `at` are in the buffer; false if the stream ended first.
    fn fill(&mut self, n: usize) -> Result<bool, DecodeEnd> {
        if self.at > 32 * 1024 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        while self.buf.len() - self.at < n {
            if self.eof {
                return Ok(false);
            }
            let old = self.buf.len();
            self.buf.resize(old + 16 * 1024, 0);
            let read = self.body.read(&mut self.buf[old..]);
            self.buf.truncate(old + read.as_ref().map_or(0, |got| *got));
            match read {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => self.eof = true,
                Err(e) => return Err(DecodeEnd::Io(e)),
            }
        }
        Ok(true)
    }

    /// Moves `at` to the next frame whose length leads to another frame of the same stream
    /// (one header alone is too easily matched by chance), passing over ID3v2 tags whole.
    fn sync(&mut self) -> Result<Header, DecodeEnd> {
        let mut junk = 0;
        loop {
            if !self.fill(10)? {
                return Err(DecodeEnd::Ended);
            }
            let here = &self.buf[self.at..];
            if here.starts_with(b"ID3") {
                let size = here[6..10]
                    .iter()
                    .fold(0usize, |n, b| (n << 7) | usize::from(b & 0x7f));
                let footer = if here[5] & 0x10 != 0 { 10 } else { 0 };
                // Passed over without keeping it: a tag may hold a picture.
                let mut skip = 10 + size + footer;
                while skip > 0 {
                    if !self.fill(1)? {
                        return Err(DecodeEnd::Ended);
                    }
                    let n = skip.min(self.buf.len() - self.at);
                    self.at += n;
                    skip -= n;
                }
                continue;
            }
            if let Some(h) = Header::parse(here) {
                if !self.fill(h.len + 4)? {
                    return Err(DecodeEnd::Ended);
                }
                let next = Header::parse(&self.buf[self.at + h.len..]);
                if next.is_some_and(|n| h.continued_by(&n)) {
                    return Ok(h);
                }
            }
            self.at += 1;
            junk += 1;
            if junk > MAX_JUNK {
                return Err(DecodeEnd::NotAudio(format!(
                    "no MPEG audio frame in {} KB",
                    MAX_JUNK / 1024
                )));
            }
        }
    }

    /// One frame further: true when a decoded frame is ready in `out`.
    fn step(&mut self) -> Result<bool, DecodeEnd> {
        if !self.synced {
            self.sync()?;
            self.synced = true;
        }
        let h = Header::parse(&self.buf[self.at..])
            .ok_or_else(|| DecodeEnd::NotAudio("lost MPEG frame sync".into()))?;
        let after = if self.fill(h.len + 4)? {
            let next = &self.buf[self.at + h.len..];
            match Header::parse(next) {
                Some(n) if h.continued_by(&n) => After::Continues,
                Some(_) => After::Boundary,
                None if next.starts_with(b"ID3") || next.starts_with(b"TAG") => After::Boundary,
                None => After::Cut,
            }
        } else if self.buf.len() - self.at >= h.len {
            After::Boundary
        } else {
            return Err(DecodeEnd::Ended);
        };
        self.synced = after == After::Continues;
        if after == After::Cut {
            // The frame holds bytes of whatever came after the cut: dropped.
            self.at += 1;
            self.splice();
            return Ok(false);
        }
        if self
            .decoder
            .as_ref()
            .is_some_and(|(_, made)| !made.continued_by(&h))
        {
            self.decoder = None;
            self.reservoir = 0;
        }
        let whole = match h.main_data(&self.buf[self.at..self.at + h.len]) {
            Some((borrows, brings)) => {
                let whole = borrows <= self.reservoir;
                self.reservoir += brings;
                whole
            }
            None => true,
        };
        let decoded = self.decode(h);
        self.at += h.len;
        let Some((mut samples, channels, rate)) = decoded? else {
            self.bad += 1;
            if self.bad >= BAD_FRAMES {
                return Err(DecodeEnd::NotAudio(format!(
                    "{BAD_FRAMES} MPEG frames in a row would not decode"
                )));
            }
            self.splice();
            return Ok(false);
        };
        self.bad = 0;
        if !whole {
            samples.fill(0.0);
        } else if std::mem::take(&mut self.fade_in) {
            fade(&mut samples, channels, true);
        }
        self.out = std::mem::replace(&mut self.held, samples);
        self.out_format = std::mem::replace(&mut self.held_format, (channels, rate));
        if after == After::Boundary {
            self.splice();
        }
        Ok(!self.out.is_empty())
    }

    /// Decodes the frame at `at`; `None` if the decoder refused it.
    fn decode(&mut self, h: Header) -> Result<Option<(Vec<f32>, u16, u32)>, DecodeEnd> {
        // (A change of format has already dropped the decoder: see `step`.)
        let decoder = match &mut self.decoder {
            Some((decoder, _)) => decoder,
            slot => {
                let made = symphonia::default::get_codecs()
                    .make(&h.params(), &DecoderOptions::default())
                    .map_err(|e| DecodeEnd::NotAudio(e.to_string()))?;
                &mut slot.insert((made, h)).0
            }
        };
        let packet = Packet::new_from_slice(0, 0, 0, &self.buf[self.at..self.at + h.len]);
        match decoder.decode(&packet) {
            Ok(decoded) => {
                let spec = *decoded.spec();
                let needed = decoded.capacity() * spec.channels.count();
                let buffer = match self.samples.take() {
                    Some(b) if b.capacity() >= needed => b,
                    _ => SampleBuffer::new(decoded.capacity() as u64, spec),
                };
                let buffer = self.samples.insert(buffer);
                buffer.copy_interleaved_ref(decoded);
                let channels = spec.channels.count().max(1) as u16;
                Ok(Some((buffer.samples().to_vec(), channels, spec.rate)))
            }
            Err(SymError::DecodeError(_) | SymError::IoError(_)) => Ok(None),
            Err(e) => Err(DecodeEnd::NotAudio(e.to_string())),
        }
    }

    /// A splice after the held frame: it fades out, the decoder goes (and its reservoir
    /// with it), the next frame fades in.
    fn splice(&mut self) {
        if !self.fade_in {
            fade(&mut self.held, self.held_format.0, false);
            self.splices += 1;
        }
        self.decoder = None;
        self.reservoir = 0;
        self.fade_in = true;
    }
}

impl Chunks for MpegStream {
    fn next_chunk(&mut self) -> Result<(&[f32], u16, u32), DecodeEnd> {
        loop {
            if let Some(end) = self.end.take() {
                return Err(end);
            }
            match self.step() {
                Ok(true) => break,
                Ok(false) => {}
                Err(end) => {
                    // The held frame goes out, faded, before the end is told.
                    self.end = Some(end);
                    if !self.fade_in {
                        fade(&mut self.held, self.held_format.0, false);
                    }
                    self.fade_in = true;
                    self.out = std::mem::take(&mut self.held);
                    self.out_format = self.held_format;
                    if !self.out.is_empty() {
                        break;
                    }
                }
            }
        }
        Ok((&self.out, self.out_format.0, self.out_format.1))
    }
}

/// A linear ramp over a whole frame: up from silence, or down to it.
fn fade(samples: &mut [f32], channels: u16, up: bool) {
    let channels = usize::from(channels.max(1));
    let frames = samples.len() / channels;
    for (i, frame) in samples.chunks_mut(channels).enumerate() {
        let gain = (i as f32 + 0.5) / frames.max(1) as f32;
        let gain = if up { gain } else { 1.0 - gain };
        for s in frame {
            *s *= gain;
        }
    }
}
