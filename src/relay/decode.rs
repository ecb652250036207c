//! Turning a source's bytes into the station's samples: symphonia's decoders over a byte
//! stream that never seeks (MP3, AAC in ADTS, Ogg Vorbis), an MPEG-TS demuxer for HLS
//! segments (the audio elementary stream out of its PES packets), and a converter to the
//! relay's channel count and rate that keeps its state across chunks, so a live stream
//! comes out as one continuous signal.

use std::io::{self, Read};

pub use crate::audio::convert::Converter;

use crate::decoder::OpusDecoder;
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

/// A decoder of a live stream, chunk by chunk.
pub trait Chunks {
    /// The next decoded chunk: interleaved samples, channels, rate.
    fn next_chunk(&mut self) -> Result<(&[f32], u16, u32), DecodeEnd>;
}

/// A decoder over a live byte stream.
pub struct StreamDecoder {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn symphonia::core::codecs::Decoder>,
    track: u32,
    /// The track's parameters, to make the decoder afresh when the stream changes format.
    params: symphonia::core::codecs::CodecParameters,
    buffer: Option<SampleBuffer<f32>>,
    pub codec: String,
}

/// The container/codec a stream is (`mp3`, `aac`, `ogg`…), from its content type or,
/// failing that, the address's extension.
pub fn kind_for(content_type: Option<&str>, extension: Option<&str>) -> Option<String> {
    let t = content_type
        .map(|t| t.split(';').next().unwrap_or_default().trim().to_string())
        .unwrap_or_default();
    match t.as_str() {
        "audio/mpeg" | "audio/mp3" | "audio/mpeg3" => Some("mp3".into()),
        "audio/aac" | "audio/aacp" | "audio/x-aac" | "audio/adts" => Some("aac".into()),
        "audio/ogg" | "application/ogg" | "audio/vorbis" | "audio/x-ogg" | "audio/opus" => {
            Some("ogg".into())
        }
        _ => extension.map(|e| {
            if e == "opus" || e == "oga" {
                "ogg".into()
            } else {
                e.to_string()
            }
        }),
    }
}

/// symphonia's hint for a kind.
pub fn hint_for(kind: Option<&str>) -> Hint {
    let mut hint = Hint::new();
    if let Some(k) = kind {
        hint.with_extension(k);
    }
    hint
}

/// The probe for a stream of `kind`. symphonia's probe ignores its hint and takes the first
/// marker of any format it knows: joined mid-frame, a live AAC stream can show an MP3 sync
/// word before its next ADTS header (or the reverse), and the wrong reader then finds no audio
/// at all. A stream whose kind is known is searched for its own format's markers only.
fn probe_for(kind: Option<&str>) -> &'static symphonia::core::probe::Probe {
    use std::sync::OnceLock;
    use symphonia::core::probe::Probe;
    use symphonia::default::formats::{AdtsReader, IsoMp4Reader, MpaReader, OggReader};
    fn only<R: symphonia::core::probe::QueryDescriptor>(
        cell: &'static OnceLock<Probe>,
    ) -> &'static Probe {
        cell.get_or_init(|| {
            let mut p = Probe::default();
            p.register_all::<R>();
            p
        })
    }
    static MP3: OnceLock<Probe> = OnceLock::new();
    static AAC: OnceLock<Probe> = OnceLock::new();
    static OGG: OnceLock<Probe> = OnceLock::new();
    static MP4: OnceLock<Probe> = OnceLock::new();
    match kind {
        Some("mp3") => only::<MpaReader>(&MP3),
        Some("aac") => only::<AdtsReader>(&AAC),
        Some("ogg") => only::<OggReader>(&OGG),
        Some("mp4" | "m4a" | "m4s") => only::<IsoMp4Reader>(&MP4),
        _ => symphonia::default::get_probe(),
    }
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
    pub fn open(body: Box<dyn Read + Send + Sync>, kind: Option<&str>) -> Result<Self, DecodeEnd> {
        let hint = hint_for(kind);
        let stream = MediaSourceStream::new(
            Box::new(ReadOnlySource::new(body)),
            MediaSourceStreamOptions {
                buffer_len: 64 * 1024,
            },
        );
        let probed = probe_for(kind)
            .format(
                &hint,
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
            params: track.codec_params.clone(),
            format,
            decoder,
            buffer: None,
            codec,
        })
    }
}

impl Chunks for StreamDecoder {
    fn next_chunk(&mut self) -> Result<(&[f32], u16, u32), DecodeEnd> {
        let mut bad = 0;
        let (channels, rate) = loop {
            let packet = self.format.next_packet().map_err(end_of)?;
            if packet.track_id() != self.track {
                continue;
            }
            let mut decoded = self.decoder.decode(&packet).map(|_| ());
            if let Err(SymError::DecodeError(_)) = decoded {
                // A stream that changes format mid-way (another sample rate, mono to
                // stereo: a server splicing sources) is not bad data: a decoder made afresh
                // takes the packet in its new format, and the resampler follows.
                if let Ok(fresh) =
                    symphonia::default::get_codecs().make(&self.params, &DecoderOptions::default())
                {
                    self.decoder = fresh;
                    decoded = self.decoder.decode(&packet).map(|_| ());
                }
            }
            match decoded {
                Ok(()) => {
                    let decoded = self.decoder.last_decoded();
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

/// Ogg Opus, which symphonia does not decode: Ogg pages read here, packets decoded by the
/// system's libopus (already linked for the stream output). A new logical stream (an
/// Icecast title change) brings a new `OpusHead`, and the decoder is made afresh.
pub struct OggOpus {
    body: Box<dyn Read + Send + Sync>,
    decoder: Option<OpusDecoder>,
    channels: u16,
    /// Samples at the start of a logical stream that are encoder delay, not audio.
    skip: usize,
    packet: Vec<u8>,
    ready: std::collections::VecDeque<Vec<u8>>,
    pcm: Vec<f32>,
    bad: u32,
}

/// Whether the first bytes of an Ogg stream are an Opus one.
pub fn is_ogg_opus(head: &[u8]) -> bool {
    head.starts_with(b"OggS") && head.windows(8).any(|w| w == b"OpusHead")
}

impl OggOpus {
    pub fn new(body: Box<dyn Read + Send + Sync>) -> OggOpus {
        OggOpus {
            body,
            decoder: None,
            channels: 2,
            skip: 0,
            packet: Vec::new(),
            ready: std::collections::VecDeque::new(),
            pcm: Vec::new(),
            bad: 0,
        }
    }

    /// Reads one page and queues the packets it completes.
    fn page(&mut self) -> Result<(), DecodeEnd> {
        let mut header = [0u8; 27];
        read_exact(&mut self.body, &mut header)?;
        if &header[..4] != b"OggS" {
            return Err(DecodeEnd::NotAudio("lost Ogg page sync".into()));
        }
        let mut lacing = vec![0u8; usize::from(header[26])];
        read_exact(&mut self.body, &mut lacing)?;
        let total: usize = lacing.iter().map(|l| usize::from(*l)).sum();
        let mut data = vec![0u8; total];
        read_exact(&mut self.body, &mut data)?;
        let mut at = 0;
        for l in lacing {
            let l = usize::from(l);
            self.packet.extend_from_slice(&data[at..at + l]);
            at += l;
            if l < 255 {
                self.ready.push_back(std::mem::take(&mut self.packet));
            }
        }
        Ok(())
    }

    fn restart(&mut self, head: &[u8]) -> Result<(), DecodeEnd> {
        self.decoder = None;
        self.channels = u16::from(head.get(9).copied().unwrap_or(2).clamp(1, 2));
        self.skip = usize::from(u16::from_le_bytes([
            head.get(10).copied().unwrap_or(0),
            head.get(11).copied().unwrap_or(0),
        ])) * usize::from(self.channels);
        self.decoder = Some(OpusDecoder::new(self.channels).map_err(DecodeEnd::NotAudio)?);
        Ok(())
    }
}

impl Chunks for OggOpus {
    /// Always at 48 kHz.
    fn next_chunk(&mut self) -> Result<(&[f32], u16, u32), DecodeEnd> {
        loop {
            let Some(packet) = self.ready.pop_front() else {
                self.page()?;
                continue;
            };
            if packet.starts_with(b"OpusHead") {
                self.restart(&packet)?;
                continue;
            }
            if packet.starts_with(b"OpusTags") || packet.is_empty() {
                continue;
            }
            let Some(decoder) = self.decoder.as_mut() else {
                return Err(DecodeEnd::NotAudio("Ogg without an OpusHead".into()));
            };
            let frames = match decoder.decode(&packet, &mut self.pcm) {
                Ok(frames) => frames,
                Err(code) => {
                    self.bad += 1;
                    if self.bad >= BAD_PACKETS {
                        return Err(DecodeEnd::NotAudio(format!("Opus error {code}")));
                    }
                    continue;
                }
            };
            self.bad = 0;
            let n = frames * usize::from(self.channels);
            let from = self.skip.min(n);
            self.skip -= from;
            if from < n {
                return Ok((&self.pcm[from..n], self.channels, 48_000));
            }
        }
    }
}

fn read_exact(r: &mut dyn Read, buf: &mut [u8]) -> Result<(), DecodeEnd> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            DecodeEnd::Ended
        } else {
            DecodeEnd::Io(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_a_transport_stream_are_refused() {
        let mut d = TsDemuxer::default();
        let mut out = Vec::new();
        assert!(d.push(&[0u8; 376], &mut out).is_err());
    }
}
