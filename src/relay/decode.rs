//! Turning a source's bytes into the station's samples: symphonia's decoders over a byte
//! stream that never seeks (MP3, AAC in ADTS, Ogg Vorbis), an MPEG-TS demuxer for HLS
//! segments (the audio elementary stream out of its PES packets), and a converter to the
//! relay's channel count and rate that keeps its state across chunks, so a live stream
//! comes out as one continuous signal.

use std::io::{self, Read};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// How many packets in a row may fail to decode before the source counts as garbage.
const BAD_PACKETS: u32 = 50;

/// Why decoding stopped.
#[derive(Debug)]
pub enum DecodeEnd {
    /// The stream ended (the server closed it).
    Ended,
    /// A read failed: the socket's error, to be told stalled from closed.
    Io(io::Error),
    /// What came was not audio loaxa can decode.
    NotAudio(String),
}

/// A decoder over a live byte stream.
pub struct StreamDecoder {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn symphonia::core::codecs::Decoder>,
    track: u32,
    buffer: Option<SampleBuffer<f32>>,
    pub codec: String,
}

/// The container/codec a stream is, from its content type (or the address's extension).
pub fn hint_for(content_type: Option<&str>, extension: Option<&str>) -> Hint {
    let mut hint = Hint::new();
    let t = content_type
        .map(|t| t.split(';').next().unwrap_or_default().trim().to_string())
        .unwrap_or_default();
    let ext = match t.as_str() {
        "audio/mpeg" | "audio/mp3" | "audio/mpeg3" => Some("mp3"),
        "audio/aac" | "audio/aacp" | "audio/x-aac" | "audio/adts" => Some("aac"),
        "audio/ogg" | "application/ogg" | "audio/vorbis" | "audio/x-ogg" => Some("ogg"),
        _ => extension,
    };
    if let Some(e) = ext {
        hint.with_extension(e);
    }
    if !t.is_empty() {
        hint.mime_type(&t);
    }
    hint
}

fn end_of(e: SymError) -> DecodeEnd {
    match e {
        SymError::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => DecodeEnd::Ended,
        SymError::IoError(io) => DecodeEnd::Io(io),
        SymError::Unsupported(what) => DecodeEnd::NotAudio(format!("unsupported: {what}")),
        other => DecodeEnd::NotAudio(other.to_string()),
    }
}

impl StreamDecoder {
    pub fn open(body: Box<dyn Read + Send + Sync>, hint: &Hint) -> Result<Self, DecodeEnd> {
        let stream = MediaSourceStream::new(
            Box::new(ReadOnlySource::new(body)),
            MediaSourceStreamOptions {
                buffer_len: 64 * 1024,
            },
        );
        let probed = symphonia::default::get_probe()
            .format(
                hint,
                stream,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(end_of)?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| DecodeEnd::NotAudio("no audio track".into()))?;
        let codec = symphonia::default::get_codecs()
            .get_codec(track.codec_params.codec)
            .map_or_else(|| "?".to_string(), |d| d.short_name.to_string());
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(end_of)?;
        Ok(StreamDecoder {
            track: track.id,
            format,
            decoder,
            buffer: None,
            codec,
        })
    }

    /// The next decoded chunk: interleaved samples, channels, rate.
    pub fn next_chunk(&mut self) -> Result<(&[f32], u16, u32), DecodeEnd> {
        let mut bad = 0;
        let (channels, rate) = loop {
            let packet = self.format.next_packet().map_err(end_of)?;
            if packet.track_id() != self.track {
                continue;
            }
            match self.decoder.decode(&packet) {
                Ok(decoded) => {
                    let spec = *decoded.spec();
                    if decoded.frames() == 0 {
                        continue;
                    }
                    let needed = decoded.capacity() * spec.channels.count();
                    let buffer = match self.buffer.take() {
                        Some(b) if b.capacity() >= needed => b,
                        _ => SampleBuffer::new(decoded.capacity() as u64, spec),
                    };
                    let buffer = self.buffer.insert(buffer);
                    buffer.copy_interleaved_ref(decoded);
                    break (spec.channels.count().max(1) as u16, spec.rate);
                }
                Err(SymError::DecodeError(why)) => {
                    bad += 1;
                    if bad >= BAD_PACKETS {
                        return Err(DecodeEnd::NotAudio(why.to_string()));
                    }
                }
                Err(e) => return Err(end_of(e)),
            }
        };
        let samples = self.buffer.as_ref().map_or(&[][..], SampleBuffer::samples);
        Ok((samples, channels, rate))
    }
}

/// Converts interleaved chunks from any channel count and rate to the relay's, by linear
/// interpolation with the phase carried from chunk to chunk.
pub struct Converter {
    channels: u16,
    rate: u32,
    from: (u16, u32),
    /// Position of the next output frame, in input frames from the start of `last`.
    phase: f64,
    /// The last input frame of the previous chunk, in output channels.
    last: Vec<f32>,
    frame: Vec<f32>,
}

impl Converter {
    pub fn new(channels: u16, rate: u32) -> Self {
        Converter {
            channels: channels.max(1),
            rate: rate.max(1),
            from: (0, 0),
            phase: 0.0,
            last: Vec::new(),
            frame: Vec::new(),
        }
    }

    /// Maps one input frame to the output's channels (mono is doubled, more are folded).
    fn map(&mut self, input: &[f32]) {
        let out = usize::from(self.channels);
        self.frame.clear();
        match (input.len(), out) {
            (1, n) => self.frame.extend(std::iter::repeat_n(input[0], n)),
            (n, 1) => self.frame.push(input.iter().sum::<f32>() / n as f32),
            (_, n) => self
                .frame
                .extend((0..n).map(|c| input.get(c).copied().unwrap_or(input[0]))),
        }
    }

    /// Appends `input` (interleaved, `channels` at `rate`) to `out` in the relay's format.
    pub fn push(&mut self, input: &[f32], channels: u16, rate: u32, out: &mut Vec<f32>) {
        let ch = usize::from(channels.max(1));
        let oc = usize::from(self.channels);
        if (channels, rate) != self.from {
            // A new stream (or a reconnect in another format): start afresh.
            self.from = (channels, rate);
            self.phase = 0.0;
            self.last.clear();
        }
        if channels == self.channels && rate == self.rate {
            out.extend_from_slice(input);
            return;
        }
        let frames = input.len() / ch;
        if frames == 0 {
            return;
        }
        let step = f64::from(rate) / f64::from(self.rate);
        // Frame i of the joined signal: `last` is frame 0 when there is one.
        let offset = usize::from(!self.last.is_empty());
        let total = frames + offset;
        let mut a = vec![0.0; oc];
        let mut b = vec![0.0; oc];
        while self.phase + 1.0 < total as f64 {
            let i = self.phase.floor() as usize;
            let t = (self.phase - i as f64) as f32;
            for (k, dst) in [(i, &mut a), (i + 1, &mut b)] {
                if k < offset {
                    dst.copy_from_slice(&self.last);
                } else {
                    let f = (k - offset) * ch;
                    self.map(&input[f..f + ch]);
                    dst.copy_from_slice(&self.frame);
                }
            }
            out.extend(a.iter().zip(&b).map(|(x, y)| x + (y - x) * t));
            self.phase += step;
        }
        self.phase -= (total - 1) as f64;
        let f = (frames - 1) * ch;
        self.map(&input[f..f + ch]);
        self.last = self.frame.clone();
    }
}

/// Pulls the audio elementary stream out of MPEG transport-stream bytes: the first audio
/// stream the PMT lists (AAC in ADTS, or MPEG audio), PES headers stripped.
#[derive(Default)]
pub struct TsDemuxer {
    pmt_pid: Option<u16>,
    audio_pid: Option<u16>,
    /// Bytes of an incomplete 188-byte packet carried to the next call.
    partial: Vec<u8>,
    pub kind: Option<&'static str>,
}

impl TsDemuxer {
    /// Demuxes `data`, appending the audio bytes to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let mut bytes = std::mem::take(&mut self.partial);
        bytes.extend_from_slice(data);
        let mut chunks = bytes.chunks_exact(188);
        for p in chunks.by_ref() {
            if p[0] != 0x47 {
                return Err("not an MPEG-TS segment (no sync byte)".into());
            }
            let pusi = p[1] & 0x40 != 0;
            let pid = (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
            let afc = (p[3] >> 4) & 0x3;
            let mut i = 4;
            if afc & 0x2 != 0 {
                i += 1 + usize::from(p[4]);
            }
            if afc & 0x1 == 0 || i >= 188 {
                continue;
            }
            let payload = &p[i..];
            if pid == 0 && pusi {
                // PAT: the first program's PMT.
                let s = &payload[1 + usize::from(payload[0]).min(payload.len() - 1)..];
                if s.len() >= 12 {
                    self.pmt_pid = Some((u16::from(s[10] & 0x1f) << 8) | u16::from(s[11]));
                }
            } else if Some(pid) == self.pmt_pid && pusi && self.audio_pid.is_none() {
                let s = &payload[1 + usize::from(payload[0]).min(payload.len() - 1)..];
                if s.len() < 12 {
                    continue;
                }
                let section_len =
                    ((usize::from(s[1] & 0x0f) << 8) | usize::from(s[2])).min(s.len() - 3);
                let info_len = (usize::from(s[10] & 0x0f) << 8) | usize::from(s[11]);
                let mut j = 12 + info_len;
                let end = 3 + section_len.saturating_sub(4);
                while j + 5 <= end {
                    let stream_type = s[j];
                    let es_pid = (u16::from(s[j + 1] & 0x1f) << 8) | u16::from(s[j + 2]);
                    let es_info = (usize::from(s[j + 3] & 0x0f) << 8) | usize::from(s[j + 4]);
                    let kind = match stream_type {
                        0x0f => Some("aac"),
                        0x03 | 0x04 => Some("mp3"),
                        _ => None,
                    };
                    if kind.is_some() {
                        self.audio_pid = Some(es_pid);
                        self.kind = kind;
                        break;
                    }
                    j += 5 + es_info;
                }
            } else if Some(pid) == self.audio_pid {
                if pusi {
                    if payload.len() < 9 || payload[..3] != [0, 0, 1] {
                        continue;
                    }
                    let header = 9 + usize::from(payload[8]);
                    if header < payload.len() {
                        out.extend_from_slice(&payload[header..]);
                    }
                } else {
                    out.extend_from_slice(payload);
                }
            }
        }
        self.partial = chunks.remainder().to_vec();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_keeps_a_tone_continuous_across_chunks() {
        // A 441 Hz mono tone at 44.1 kHz, fed in uneven chunks, to 48 kHz stereo.
        let tone: Vec<f32> = (0..44_100)
            .map(|i| (i as f32 * 441.0 * std::f32::consts::TAU / 44_100.0).sin() * 0.5)
            .collect();
        let mut c = Converter::new(2, 48_000);
        let mut out = Vec::new();
        for chunk in tone.chunks(1153) {
            c.push(chunk, 1, 44_100, &mut out);
        }
        let frames = out.len() / 2;
        assert!((47_990..=48_000).contains(&frames), "{frames}");
        // No jump between neighbouring samples larger than the tone's own slope allows.
        let max_step = out
            .chunks(2)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| (w[1][0] - w[0][0]).abs())
            .fold(0.0f32, f32::max);
        assert!(max_step < 0.03, "{max_step}");
        assert!(out.chunks(2).all(|f| f[0] == f[1]));
    }

    #[test]
    fn the_same_format_passes_through() {
        let mut c = Converter::new(2, 44_100);
        let mut out = Vec::new();
        c.push(&[0.1, 0.2, 0.3, 0.4], 2, 44_100, &mut out);
        assert_eq!(out, [0.1, 0.2, 0.3, 0.4]);
    }

    #[test]
    fn bytes_that_are_not_a_transport_stream_are_refused() {
        let mut d = TsDemuxer::default();
        let mut out = Vec::new();
        assert!(d.push(&[0u8; 376], &mut out).is_err());
    }
}
