//! The two encoders a stream may use, bound by hand to the system's libmp3lame and libopus
//! (Debian's libmp3lame0 and libopus0, linked dynamically). A handful of functions each: a
//! wrapper crate would build its own static copy of LAME, whose LGPL licence a static link
//! into loaxa would bind, for no gain over these few declarations. Opus goes out in Ogg,
//! whose pages are written here too (a header, a checksum, segment lacing).

use std::ffi::{c_int, c_void};

#[link(name = "mp3lame")]
unsafe extern "C" {
    fn lame_init() -> *mut c_void;
    fn lame_set_num_channels(gfp: *mut c_void, n: c_int) -> c_int;
    fn lame_set_in_samplerate(gfp: *mut c_void, rate: c_int) -> c_int;
    fn lame_set_brate(gfp: *mut c_void, kbps: c_int) -> c_int;
    fn lame_set_quality(gfp: *mut c_void, q: c_int) -> c_int;
    fn lame_init_params(gfp: *mut c_void) -> c_int;
    fn lame_encode_buffer_interleaved_ieee_float(
        gfp: *mut c_void,
        pcm: *const f32,
        frames: c_int,
        out: *mut u8,
        out_size: c_int,
    ) -> c_int;
    fn lame_close(gfp: *mut c_void) -> c_int;
}

#[link(name = "opus")]
unsafe extern "C" {
    fn opus_encoder_create(
        rate: i32,
        channels: c_int,
        application: c_int,
        error: *mut c_int,
    ) -> *mut c_void;
    fn opus_encoder_ctl(st: *mut c_void, request: c_int, ...) -> c_int;
    fn opus_encode_float(
        st: *mut c_void,
        pcm: *const f32,
        frame_size: c_int,
        data: *mut u8,
        max_data_bytes: i32,
    ) -> i32;
    fn opus_encoder_destroy(st: *mut c_void);
}

const OPUS_APPLICATION_AUDIO: c_int = 2049;
const OPUS_SET_BITRATE_REQUEST: c_int = 4002;
const OPUS_GET_LOOKAHEAD_REQUEST: c_int = 4027;

/// Turns interleaved stereo samples at the stream's rate into the bytes a listener reads.
pub trait Encoder: Send {
    /// Appends the encoded form of `pcm` (interleaved, 2 channels) to `out`.
    fn encode(&mut self, pcm: &[f32], out: &mut Vec<u8>);
    /// Starts a new item with `title` (Ogg: a new chained stream whose tags carry it).
    fn retitle(&mut self, _title: &str, _out: &mut Vec<u8>) {}
    /// Bytes a fresh connection must begin with (Ogg headers).
    fn start(&mut self, _out: &mut Vec<u8>) {}
    fn content_type(&self) -> &'static str;
    fn rate(&self) -> u32;
}

pub struct Mp3 {
    lame: *mut c_void,
    buf: Vec<u8>,
}

// SAFETY: the LAME handle is used only by the thread that owns this value.
unsafe impl Send for Mp3 {}

impl Mp3 {
    pub fn new(rate: u32, kbps: u32) -> Result<Mp3, String> {
        // SAFETY: plain calls into LAME on a handle it returned; checked for null and errors.
        unsafe {
            let lame = lame_init();
            if lame.is_null() {
                return Err("libmp3lame would not start".into());
            }
            let e = lame_set_num_channels(lame, 2)
                | lame_set_in_samplerate(lame, rate as c_int)
                | lame_set_brate(lame, kbps as c_int)
                // 5: LAME's "good" speed/quality balance; a weak station PC encodes all day.
                | lame_set_quality(lame, 5);
            if e != 0 || lame_init_params(lame) < 0 {
                lame_close(lame);
                return Err(format!("libmp3lame refused {kbps} kbps at {rate} Hz"));
            }
            Ok(Mp3 {
                lame,
                buf: Vec::new(),
            })
        }
    }
}

impl Encoder for Mp3 {
    fn encode(&mut self, pcm: &[f32], out: &mut Vec<u8>) {
        let frames = pcm.len() / 2;
        if frames == 0 {
            return;
        }
        // LAME's own bound: 1.25 × samples + 7200.
        let size = frames * 5 / 4 + 7200;
        self.buf.resize(size, 0);
        // SAFETY: `pcm` holds `frames` interleaved stereo frames; `buf` has `size` bytes.
        let n = unsafe {
            lame_encode_buffer_interleaved_ieee_float(
                self.lame,
                pcm.as_ptr(),
                frames as c_int,
                self.buf.as_mut_ptr(),
                size as c_int,
            )
        };
        if n > 0 {
            out.extend_from_slice(&self.buf[..n as usize]);
        }
    }

    fn content_type(&self) -> &'static str {
        "audio/mpeg"
    }

    fn rate(&self) -> u32 {
        44_100
    }
}

impl Drop for Mp3 {
    fn drop(&mut self) {
        // SAFETY: the handle came from lame_init and is closed once.
        unsafe {
            lame_close(self.lame);
        }
    }
}

/// Opus at 48 kHz stereo, 20 ms frames, in Ogg pages (one page a second).
pub struct Opus {
    st: *mut c_void,
    pending: Vec<f32>,
    packet: Vec<u8>,
    serial: u32,
    page: u32,
    granule: u64,
    pre_skip: u16,
    /// Packets waiting for the current page.
    packets: Vec<Vec<u8>>,
    title: String,
}

// SAFETY: the Opus encoder is used only by the thread that owns this value.
unsafe impl Send for Opus {}

const OPUS_FRAME: usize = 960;

impl Opus {
    pub fn new(kbps: u32, title: &str) -> Result<Opus, String> {
        let mut error: c_int = 0;
        // SAFETY: creating and configuring an encoder libopus returned, checked for errors.
        let (st, lookahead) = unsafe {
            let st = opus_encoder_create(48_000, 2, OPUS_APPLICATION_AUDIO, &raw mut error);
            if st.is_null() || error != 0 {
                return Err(format!("libopus would not start (error {error})"));
            }
            if opus_encoder_ctl(st, OPUS_SET_BITRATE_REQUEST, (kbps * 1000) as i32) != 0 {
                opus_encoder_destroy(st);
                return Err(format!("libopus refused {kbps} kbps"));
            }
            let mut lookahead: i32 = 0;
            opus_encoder_ctl(st, OPUS_GET_LOOKAHEAD_REQUEST, &raw mut lookahead);
            (st, lookahead)
        };
        Ok(Opus {
            st,
            pending: Vec::new(),
            packet: vec![0; 4000],
            serial: 0x6c6f_6178,
            page: 0,
            granule: 0,
            pre_skip: lookahead.clamp(0, 65_535) as u16,
            packets: Vec::new(),
            title: title.to_string(),
        })
    }

    /// Writes the two header pages of a new logical stream.
    fn headers(&mut self, out: &mut Vec<u8>) {
        self.serial = self.serial.wrapping_add(1);
        self.granule = 0;
        let title = format!("TITLE={}", self.title);
        opus_header_pages(out, self.serial, 2, self.pre_skip, &[&title]);
        self.page = 2;
    }

    fn flush_page(&mut self, out: &mut Vec<u8>, last: bool) {
        if self.packets.is_empty() && !last {
            return;
        }
        let refs: Vec<&[u8]> = self.packets.iter().map(Vec::as_slice).collect();
        ogg_page(
            out,
            self.serial,
            self.page,
            self.granule,
            if last { 0x04 } else { 0 },
            &refs,
        );
        self.page += 1;
        self.packets.clear();
    }
}

impl Encoder for Opus {
    fn encode(&mut self, pcm: &[f32], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(pcm);
        let mut used = 0;
        while self.pending.len() - used >= OPUS_FRAME * 2 {
            let frame = &self.pending[used..used + OPUS_FRAME * 2];
            // SAFETY: `frame` holds 960 stereo frames; `packet` has its length in bytes.
            let n = unsafe {
                opus_encode_float(
                    self.st,
                    frame.as_ptr(),
                    OPUS_FRAME as c_int,
                    self.packet.as_mut_ptr(),
                    self.packet.len() as i32,
                )
            };
            used += OPUS_FRAME * 2;
            if n > 0 {
                self.packets.push(self.packet[..n as usize].to_vec());
                self.granule += OPUS_FRAME as u64;
                // 50 packets: a page a second, well under the 255-segment limit.
                if self.packets.len() >= 50 {
                    self.flush_page(out, false);
                }
            }
        }
        self.pending.drain(..used);
    }

    fn retitle(&mut self, title: &str, out: &mut Vec<u8>) {
        self.flush_page(out, true);
        self.title = title.to_string();
        self.headers(out);
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        self.packets.clear();
        self.headers(out);
    }

    fn content_type(&self) -> &'static str {
        "audio/ogg"
    }

    fn rate(&self) -> u32 {
        48_000
    }
}

impl Drop for Opus {
    fn drop(&mut self) {
        // SAFETY: the encoder came from opus_encoder_create and is destroyed once.
        unsafe {
            opus_encoder_destroy(self.st);
        }
    }
}

/// The CRC Ogg uses (polynomial 0x04c11db7, no reflection).
fn ogg_crc(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
            }
            *e = r;
        }
        t
    });
    data.iter().fold(0u32, |crc, b| {
        (crc << 8) ^ table[((crc >> 24) as u8 ^ b) as usize]
    })
}

/// Appends the two header pages that begin an Ogg Opus stream (RFC 7845): the identification
/// header (48 kHz input) and the comments, with loaxa as the vendor. Pages 0 and 1 of `serial`.
pub fn opus_header_pages(
    out: &mut Vec<u8>,
    serial: u32,
    channels: u8,
    pre_skip: u16,
    comments: &[&str],
) {
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(channels);
    head.extend(pre_skip.to_le_bytes());
    head.extend(48_000u32.to_le_bytes());
    head.extend(0i16.to_le_bytes());
    head.push(0);
    ogg_page(out, serial, 0, 0, 0x02, &[&head]);
    let vendor = format!("loaxa {}", env!("CARGO_PKG_VERSION"));
    let mut tags = b"OpusTags".to_vec();
    tags.extend((vendor.len() as u32).to_le_bytes());
    tags.extend(vendor.as_bytes());
    tags.extend((comments.len() as u32).to_le_bytes());
    for c in comments {
        tags.extend((c.len() as u32).to_le_bytes());
        tags.extend(c.as_bytes());
    }
    ogg_page(out, serial, 1, 0, 0, &[&tags]);
}

/// How many samples (at 48 kHz) an Opus packet holds, from its table-of-contents byte
/// (RFC 6716, 3.1): the frame length its configuration gives times its frame count.
pub fn opus_packet_samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else {
        return 0;
    };
    let config = toc >> 3;
    // Frame lengths in tenths of a millisecond (SILK, hybrid, CELT).
    let tenths: u64 = match config {
        0..=11 => [100, 200, 400, 600][usize::from(config % 4)],
        12..=15 => [100, 200][usize::from(config % 2)],
        _ => [25, 50, 100, 200][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |b| u64::from(b & 0x3f)),
    };
    tenths * 48 / 10 * frames
}

/// Appends one Ogg page holding `packets` (each under 255 × 255 bytes).
pub fn ogg_page(
    out: &mut Vec<u8>,
    serial: u32,
    sequence: u32,
    granule: u64,
    flags: u8,
    packets: &[&[u8]],
) {
    let mut lacing = Vec::new();
    for p in packets {
        let mut n = p.len();
        while n >= 255 {
            lacing.push(255u8);
            n -= 255;
        }
        lacing.push(n as u8);
    }
    let start = out.len();
    out.extend(b"OggS");
    out.push(0);
    out.push(flags);
    out.extend(granule.to_le_bytes());
    out.extend(serial.to_le_bytes());
    out.extend(sequence.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.push(lacing.len() as u8);
    out.extend(&lacing);
    for p in packets {
        out.extend_from_slice(p);
    }
    let crc = ogg_crc(&out[start..]);
    out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opus_packet_says_how_long_it_is() {
        // CELT 20 ms (config 31), one frame: what a browser's encoder sends.
        assert_eq!(opus_packet_samples(&[31 << 3]), 960);
        // SILK 60 ms, two frames.
        assert_eq!(opus_packet_samples(&[(3 << 3) | 1]), 5760);
        // CELT 2.5 ms, code 3 with 4 frames.
        assert_eq!(opus_packet_samples(&[(16 << 3) | 3, 4]), 480);
        assert_eq!(opus_packet_samples(&[]), 0);
    }

    #[test]
    fn ogg_pages_carry_the_checksum_the_format_defines() {
        // The CRC of "OggS" alone under Ogg's polynomial.
        assert_eq!(ogg_crc(b"123456789"), 0x89a1_897f);
        let mut out = Vec::new();
        ogg_page(&mut out, 1, 0, 0, 2, &[&[7u8; 300]]);
        assert_eq!(&out[..4], b"OggS");
        assert_eq!(out[26], 2, "300 bytes lace as 255 + 45");
        assert_eq!(out.len(), 27 + 2 + 300);
    }

    #[test]
    fn both_encoders_turn_a_second_of_tone_into_their_format() {
        let tone: Vec<f32> = (0..48_000)
            .flat_map(|i| {
                let s = (i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.3;
                [s, s]
            })
            .collect();
        let mut mp3 = Mp3::new(44_100, 64).unwrap();
        let mut out = Vec::new();
        mp3.encode(&tone, &mut out);
        assert!(out.len() > 4000, "{}", out.len());
        assert!(
            out.windows(2).any(|w| w[0] == 0xff && w[1] & 0xe0 == 0xe0),
            "an MP3 frame sync"
        );
        let mut opus = Opus::new(64, "Bản tin").unwrap();
        let mut out = Vec::new();
        opus.start(&mut out);
        opus.encode(&tone, &mut out);
        assert!(out.windows(8).any(|w| w == b"OpusHead"));
        assert!(out
            .windows(14)
            .any(|w| w == &"TITLE=Bản tin".as_bytes()[..14]));
        assert!(out.len() > 6000, "{}", out.len());
    }
}
