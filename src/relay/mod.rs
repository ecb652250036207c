//! Relaying the upper levels' programmes (VOV, the province's radio) or a line-in receiver
//! at a slot's hours. A [`Session`] is started in the broadcast's lead time: its own thread
//! connects to the source, decodes it, brings it to the relay's format and the station's
//! loudness, and fills a [`Feed`]; the output's thread reads the feed as one item of the
//! broadcast (see `audio::live`), filling gaps with the slot's fallback or silence. The
//! session reconnects with back-off for as long as the slot lasts and keeps the
//! [`Facts`] the journal gets: when it connected, each error, what it relayed.

pub mod capture;
pub mod decode;
pub mod loudness;
pub mod mpeg;
pub mod playlist;
pub mod source;

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chrono::Utc;

pub use crate::audio::feed::{Facts, Feed, Gap, RESUME};
use crate::lang::Lang;
pub use crate::net::{http, NetError, Url, TIMEOUT};
use crate::tr;
pub use source::Source;

const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(8);
/// A connection that brings bytes but no decodable audio for this long is dropped.
pub const NO_AUDIO: Duration = Duration::from_secs(10);
/// How long a relay waits, once its source plays and it has read all that has come, before
/// reading again. A live stream trickles in a TCP segment (about three MP3 frames) at a time;
/// decoding each as it comes woke the thread a dozen times a second and ran the decoder from
/// cold caches every time; gathering a few tenths of a second first costs less (the relay
/// bench's CPU figure). The feed holds seconds, so the output never notices.
const GATHER: Duration = Duration::from_millis(300);
/// A playlist or an HLS segment larger than this is not one.
const MAX_TEXT: u64 = 1 << 20;
const MAX_SEGMENT: u64 = 32 << 20;

/// Why a source gave no audio, in words an operator can act on.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RelayError {
    /// Reaching the source over HTTP(S) failed.
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("{at} closed the stream")]
    Closed { at: String },
    #[error("{at} sends what is not audio loaxa can decode ({detail})")]
    NotAudio { at: String, detail: String },
    #[error("{at}: the HLS playlist stopped updating")]
    PlaylistStale { at: String },
    #[error("{at}: {detail}")]
    Playlist { at: String, detail: String },
    #[error("no capture device “{0}”")]
    NoCaptureDevice(String),
    #[error("capture device {device}: {detail}")]
    Capture { device: String, detail: String },
}

impl RelayError {
    /// The operator's sentence for it.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            RelayError::Net(e) => e.text(lang),
            RelayError::Closed { at } => tr!(lang, "{at} đóng luồng", "{at} closed the stream"),
            RelayError::NotAudio { at, detail } => tr!(
                lang,
                "{at} gửi dữ liệu không phải âm thanh giải mã được ({detail})",
                "{at} sends what is not audio loaxa can decode ({detail})"
            ),
            RelayError::PlaylistStale { at } => tr!(
                lang,
                "{at}: danh sách HLS không còn được cập nhật",
                "{at}: the HLS playlist stopped updating"
            ),
            RelayError::Playlist { at, detail } => tr!(
                lang,
                "{at}: danh sách phát không đọc được ({detail})",
                "{at}: unreadable playlist ({detail})"
            ),
            RelayError::NoCaptureDevice(d) => tr!(
                lang,
                "không có thiết bị thu «{d}»",
                "no capture device “{d}”"
            ),
            RelayError::Capture { device, detail } => tr!(
                lang,
                "thiết bị thu {device}: {detail}",
                "capture device {device}: {detail}"
            ),
        }
    }
}

/// A relay's connection, kept up on its own thread until the slot ends or it is stopped.
pub struct Session {
    feed: Arc<Feed>,
}

impl Session {
    /// A session whose feed is `channels` × `rate`, not yet connected (see [`Session::run`]).
    pub fn new(channels: u16, rate: u32) -> Session {
        Session {
            feed: Arc::new(Feed::new(channels, rate)),
        }
    }

    /// A session for `source`: a capture device's feed runs close behind what it hears (a
    /// voice aired live must not lag), a network source's seconds behind (its jitter).
    pub fn for_source(source: &Source, channels: u16, rate: u32) -> Session {
        let feed = match source {
            Source::Alsa(_) => Feed::captured(channels, rate),
            Source::Http(_) => Feed::new(channels, rate),
            Source::Browser(_) => Feed::browser(channels, rate),
        };
        Session {
            feed: Arc::new(feed),
        }
    }

    /// Starts relaying `source` into a feed of `channels` × `rate`, until `until`.
    pub fn start(
        source: Source,
        channels: u16,
        rate: u32,
        until: Instant,
        loudness_target: Option<f64>,
        lang: Lang,
    ) -> Session {
        let s = Session::for_source(&source, channels, rate);
        s.run(source, until, loudness_target, lang);
        s
    }

    /// Connects, on the session's own thread, and relays until `until` or [`Session::stop`].
    pub fn run(&self, source: Source, until: Instant, loudness_target: Option<f64>, lang: Lang) {
        let feed = self.feed.clone();
        let f = feed.clone();
        let spawned = thread::Builder::new()
            .name("loaxa-relay".into())
            .spawn(move || receive(&source, f, until, loudness_target, lang, true));
        if let Err(e) = spawned {
            feed.note_error(tr!(
                lang,
                "không tạo được luồng tiếp sóng: {e}",
                "cannot start the relay thread: {e}"
            ));
        }
    }

    pub fn feed(&self) -> Arc<Feed> {
        self.feed.clone()
    }

    pub fn stop(&self) {
        self.feed.stop();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connected audio on its way into the feed: converted, levelled, counted.
pub struct Pipeline {
    feed: Arc<Feed>,
    converter: decode::Converter,
    agc: Option<loudness::Agc>,
    out: Vec<f32>,
    /// Audio has come on this connection.
    pub delivered: bool,
    pub started: Instant,
    /// Probe for any format, not only the one the server names (see [`receive`]).
    probe_any: bool,
    /// When audio last came, in ms after `created` (read by the [`Watchdog`]).
    heard: Arc<AtomicU64>,
    created: Instant,
    /// An HLS playlist's address and the media sequence to take next: kept across
    /// reconnects, so a segment that aired never airs again (a frozen playlist offers the
    /// same ones each time).
    pub(super) hls_next: Option<(String, u64)>,
}

impl Pipeline {
    pub fn new(feed: Arc<Feed>, loudness_target: Option<f64>) -> Self {
        Pipeline {
            converter: decode::Converter::new(feed.channels, feed.rate),
            agc: loudness_target.and_then(|t| loudness::Agc::new(feed.channels, feed.rate, t)),
            feed,
            out: Vec::new(),
            delivered: false,
            started: Instant::now(),
            probe_any: false,
            heard: Arc::new(AtomicU64::new(0)),
            created: Instant::now(),
            hls_next: None,
        }
    }

    /// Wraps a connection's bytes so that it fails once no audio has come of them for
    /// [`NO_AUDIO`], or the relay is stopped, or its slot is over.
    fn watch(
        &self,
        inner: Box<dyn Read + Send + Sync>,
        at: &Url,
        until: Instant,
    ) -> Box<dyn Read + Send + Sync> {
        let since = self.created.elapsed().as_millis() as u64;
        self.heard.store(since, Ordering::Relaxed);
        Box::new(Watchdog {
            inner,
            since,
            feed: self.feed.clone(),
            heard: self.heard.clone(),
            created: self.created,
            until,
            at: at.to_string(),
        })
    }

    /// Notes the connection's first audio, then converts and levels a chunk into `out`.
    fn prepare(&mut self, samples: &[f32], channels: u16, rate: u32, codec: &str) {
        if !samples.is_empty() {
            self.heard
                .store(self.created.elapsed().as_millis() as u64, Ordering::Relaxed);
        }
        if !self.delivered {
            self.delivered = true;
            self.started = Instant::now();
            self.feed.with_facts(|f| {
                f.connections += 1;
                f.connected_at.get_or_insert_with(Utc::now);
                f.codec = Some(format!("{codec} {channels} ch {rate} Hz"));
            });
        }
        self.out.clear();
        self.converter.push(samples, channels, rate, &mut self.out);
        if let Some(agc) = self.agc.as_mut() {
            agc.apply(&mut self.out);
        }
    }

    /// Converts and adds a chunk; false once the relay is stopped.
    pub fn deliver(&mut self, samples: &[f32], channels: u16, rate: u32, codec: &str) -> bool {
        self.prepare(samples, channels, rate, codec);
        self.feed.push(&self.out)
    }

    /// As [`Pipeline::deliver`], but never waits (for a capture callback): what does
    /// not fit is dropped.
    pub fn deliver_now(&mut self, samples: &[f32], channels: u16, rate: u32, codec: &str) {
        self.prepare(samples, channels, rate, codec);
        self.feed.push_now(&self.out);
    }
}

/// A connection's bytes, cut off when they stop turning into audio (a decoder may
/// otherwise search a stream of garbage for as long as it flows) or when the relay ends,
/// and read in gathered batches once audio flows (see [`GATHER`]).
struct Watchdog {
    inner: Box<dyn Read + Send + Sync>,
    feed: Arc<Feed>,
    heard: Arc<AtomicU64>,
    /// `heard` when the connection was made: audio has come on it once `heard` is later.
    since: u64,
    created: Instant,
    until: Instant,
    at: String,
}

/// The error a [`Watchdog`] cuts a connection with, told apart from a read's own.
#[derive(Debug)]
struct NoAudio;

impl std::fmt::Display for NoAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no audio decoded in {} s", NO_AUDIO.as_secs())
    }
}

impl std::error::Error for NoAudio {}

impl Read for Watchdog {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.feed.stopped() || Instant::now() >= self.until {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let heard = Duration::from_millis(self.heard.load(Ordering::Relaxed));
        if self.created.elapsed().saturating_sub(heard) > NO_AUDIO {
            tracing::debug!("{}: {}", self.at, NoAudio);
            return Err(std::io::Error::other(NoAudio));
        }
        let n = self.inner.read(buf)?;
        if n < buf.len() && self.heard.load(Ordering::Relaxed) > self.since {
            // Caught up with a source that is playing: let its next bytes gather.
            std::thread::sleep(GATHER);
        }
        Ok(n)
    }
}

/// True if `e` is a [`Watchdog`]'s cut (symphonia keeps the io error it was given).
fn is_no_audio(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<NoAudio>)
}

/// The session's thread: connect, relay, and on any failure wait and try again.
fn receive(
    source: &Source,
    feed: Arc<Feed>,
    until: Instant,
    loudness_target: Option<f64>,
    lang: Lang,
    log: bool,
) {
    let mut backoff = BACKOFF_FIRST;
    // A stream is probed for the format its server names; after an attempt that gave no
    // audio, the next probes for any format (a server may name the wrong one), and so on
    // in turn.
    let mut probe_any = false;
    let mut hls_next = None;
    while !feed.stopped() && Instant::now() < until {
        let mut pipeline = Pipeline::new(feed.clone(), loudness_target);
        pipeline.probe_any = probe_any;
        pipeline.hls_next = hls_next.take();
        let result = match source {
            Source::Http(url) | Source::Browser(url) => relay_http(url, &mut pipeline, until, 0),
            Source::Alsa(device) => capture::relay(device, &feed, loudness_target, until, lang),
        };
        if let Source::Browser(_) = source {
            // A browser's voice is live or gone: what it did not say is not sent again.
            // Said without the address: its one-time path is the console's secret.
            feed.end(
                lang.pick(
                    "trình duyệt đã ngắt kết nối",
                    "the browser's connection closed",
                )
                .into(),
            );
            break;
        }
        hls_next = pipeline.hls_next.take();
        if feed.stopped() || Instant::now() >= until {
            break;
        }
        if let Err(e) = result {
            if log {
                tracing::warn!("{}: {}", source, e.text(lang));
            }
            feed.note_error(e.text(lang));
        }
        if pipeline.delivered && pipeline.started.elapsed() > Duration::from_secs(10) {
            backoff = BACKOFF_FIRST;
        }
        if !pipeline.delivered {
            probe_any = !probe_any;
        }
        let wake = (Instant::now() + backoff).min(until);
        while !feed.stopped() && Instant::now() < wake {
            thread::sleep(Duration::from_millis(100));
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// What a few seconds of a source sounded like (`validate --online`, `doctor`).
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub codec: Option<String>,
    pub heard_ms: u64,
    pub peak_dbfs: f64,
    pub rms_dbfs: f64,
    /// Why nothing (or not enough) was heard.
    pub error: Option<String>,
    /// Audio heard against the real time it took, from the first sound, in percent: a
    /// source slower than real time gaps every relay of it.
    pub realtime_percent: Option<u32>,
}

/// How long `doctor` and `validate --online` listen to a source: the one probe both use.
pub const PROBE_LISTEN: Duration = Duration::from_secs(5);

/// What a probe found, for `doctor` and `validate --online` to judge alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Audio, in real time, not silence.
    Heard,
    /// Audio in real time, but (nearly) silent.
    Silent,
    /// Audio, slower than real time.
    Slow { percent: u32 },
    /// Nothing (not answering, not audio).
    Nothing,
}

/// Below this share of real time a source cannot carry a relay.
const REALTIME_MIN_PERCENT: u32 = 90;

impl Probe {
    pub fn verdict(&self) -> Verdict {
        if self.heard_ms == 0 {
            return Verdict::Nothing;
        }
        match self.realtime_percent {
            Some(p) if p < REALTIME_MIN_PERCENT => Verdict::Slow { percent: p },
            _ if self.rms_dbfs < crate::journal::Levels::DEAD_AIR_RMS_DBFS => Verdict::Silent,
            _ => Verdict::Heard,
        }
    }

    /// One line for the operator.
    pub fn text(&self, lang: Lang) -> String {
        match (&self.codec, &self.error) {
            (Some(codec), _) if self.heard_ms > 0 => {
                let level = if self.rms_dbfs < crate::journal::Levels::DEAD_AIR_RMS_DBFS {
                    lang.pick(" — gần như im lặng", " — nearly silent")
                } else {
                    ""
                };
                let slow = match self.verdict() {
                    Verdict::Slow { percent } => tr!(
                        lang,
                        " — CHẬM: chỉ nhận được {percent}% tốc độ thời gian thực, buổi tiếp sóng sẽ bị ngắt quãng",
                        " — SLOW: it delivers only {percent}% of real time, relays of it will have gaps"
                    ),
                    _ => String::new(),
                };
                tr!(
                    lang,
                    "nghe được {:.1} giây, {codec}, đỉnh {:.1} dBFS, trung bình {:.1} dBFS{level}{slow}",
                    "heard {:.1} s, {codec}, peak {:.1} dBFS, RMS {:.1} dBFS{level}{slow}",
                    self.heard_ms as f64 / 1000.0,
                    self.peak_dbfs,
                    self.rms_dbfs
                )
            }
            (_, Some(e)) => e.clone(),
            _ => lang.pick("không nghe được gì", "heard nothing").into(),
        }
    }
}

/// Listens to `source` for [`PROBE_LISTEN`] of audio, or as long from its first sound
/// (giving up after a connect timeout on top).
pub fn probe(source: &Source, lang: Lang) -> Probe {
    probe_for(source, PROBE_LISTEN, lang)
}

/// [`probe`], listening for `listen` (tests listen briefly).
pub fn probe_for(source: &Source, listen: Duration, lang: Lang) -> Probe {
    let started = Instant::now();
    let give_up = started + listen + TIMEOUT + Duration::from_secs(1);
    let feed = Arc::new(Feed::new(2, 44_100));
    let f = feed.clone();
    let s = source.clone();
    let _ = thread::Builder::new()
        .name("loaxa-probe".into())
        .spawn(move || receive(&s, f, give_up, None, lang, false));
    let (mut peak, mut squares, mut n) = (0f32, 0f64, 0u64);
    let mut chunk = Vec::new();
    let mut first_sound: Option<Instant> = None;
    while Instant::now() < give_up
        && feed.ms(n) < listen.as_millis() as u64
        && first_sound.is_none_or(|t| t.elapsed() < listen)
    {
        thread::sleep(Duration::from_millis(100));
        chunk.clear();
        feed.take(&mut chunk, usize::MAX, 0);
        for s in &chunk {
            peak = peak.max(s.abs());
            squares += f64::from(*s) * f64::from(*s);
        }
        n += chunk.len() as u64;
        if n > 0 && first_sound.is_none() {
            // The first sound came within the last look.
            first_sound = Some(Instant::now() - Duration::from_millis(100));
        }
        // Two failures in a row and nothing heard: it does not answer.
        let failures: u32 = feed.facts().errors.iter().map(|(_, _, k)| k).sum();
        if n == 0 && failures >= 2 {
            break;
        }
    }
    feed.stop();
    let facts = feed.facts();
    let db = |a: f64| (20.0 * a.max(1e-10).log10() * 10.0).round() / 10.0;
    Probe {
        codec: facts.codec,
        heard_ms: feed.ms(n),
        peak_dbfs: db(f64::from(peak)),
        rms_dbfs: db((squares / n.max(1) as f64).sqrt()),
        error: facts.errors.last().map(|(_, e, _)| e.clone()),
        realtime_percent: first_sound.map(|t| {
            let real = t.elapsed().as_millis().max(1) as u64;
            (feed.ms(n) * 100 / real) as u32
        }),
    }
}

fn read_text(body: &mut dyn Read, url: &Url) -> Result<String, RelayError> {
    let mut bytes = Vec::new();
    body.take(MAX_TEXT)
        .read_to_end(&mut bytes)
        .map_err(|e| http::io_error(url, &e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Relays an http source: a stream, or a playlist of them, or HLS.
fn relay_http(
    url: &Url,
    pipeline: &mut Pipeline,
    until: Instant,
    depth: u32,
) -> Result<(), RelayError> {
    if depth > 3 {
        return Err(RelayError::Playlist {
            at: url.to_string(),
            detail: "playlists nested too deep".into(),
        });
    }
    let mut response = http::get(url, TIMEOUT)?;
    let at = response.url.clone();
    if playlist::is_playlist(response.content_type.as_deref(), &at) {
        let text = read_text(&mut response.body, &at)?;
        let parsed = playlist::parse(&text, &at).map_err(|detail| RelayError::Playlist {
            at: at.to_string(),
            detail,
        })?;
        return match parsed {
            playlist::Playlist::Streams(urls) => {
                let mut last = None;
                for u in urls {
                    match relay_http(&u, pipeline, until, depth + 1) {
                        Ok(()) => return Ok(()),
                        Err(e) if pipeline.delivered => return Err(e),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or(RelayError::Playlist {
                    at: at.to_string(),
                    detail: "no stream in it answered".into(),
                }))
            }
            playlist::Playlist::Master(variants) => {
                // The first listed is the one the publisher means by default.
                let (_, u) = variants.into_iter().next().ok_or(RelayError::Playlist {
                    at: at.to_string(),
                    detail: "no variant".into(),
                })?;
                relay_http(&u, pipeline, until, depth + 1)
            }
            playlist::Playlist::Media(media) => hls::relay(&at, media, pipeline, until),
        };
    }
    let kind = decode::kind_for(response.content_type.as_deref(), at.extension().as_deref());
    decode_stream(response.body, kind.as_deref(), &at, pipeline, until)
}

/// Decodes a byte stream into the pipeline until it ends, fails, or the slot is over.
fn decode_stream(
    body: Box<dyn Read + Send + Sync>,
    kind: Option<&str>,
    at: &Url,
    pipeline: &mut Pipeline,
    until: Instant,
) -> Result<(), RelayError> {
    let end = |e: decode::DecodeEnd| match e {
        decode::DecodeEnd::Ended => RelayError::Closed { at: at.to_string() },
        decode::DecodeEnd::Io(io) if is_no_audio(&io) => RelayError::NotAudio {
            at: at.to_string(),
            detail: NoAudio.to_string(),
        },
        decode::DecodeEnd::Io(io) => http::io_error(at, &io).into(),
        decode::DecodeEnd::NotAudio(detail) => RelayError::NotAudio {
            at: at.to_string(),
            detail,
        },
    };
    // Ogg may be Vorbis (symphonia) or Opus (libopus): the first page tells.
    let mut body = pipeline.watch(body, at, until);
    if kind == Some("ogg") {
        let mut head = vec![0u8; 256];
        let mut got = 0;
        while got < head.len() {
            match body.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => return Err(end(decode::DecodeEnd::Io(e))),
            }
        }
        head.truncate(got);
        let opus = decode::is_ogg_opus(&head);
        let joined: Box<dyn Read + Send + Sync> = Box::new(std::io::Cursor::new(head).chain(body));
        if opus {
            return pump(decode::OggOpus::new(joined), "opus", pipeline, until).map_err(end);
        }
        body = joined;
    }
    let probe = if pipeline.probe_any { None } else { kind };
    if probe == Some("mp3") {
        let decoder = mpeg::MpegStream::open(body).map_err(end)?;
        let codec = decoder.codec.clone();
        return pump(decoder, &codec, pipeline, until).map_err(end);
    }
    let decoder = decode::StreamDecoder::open(body, probe).map_err(end)?;
    let codec = decoder.codec.clone();
    pump(decoder, &codec, pipeline, until).map_err(end)
}

/// Hands a decoder's chunks to the pipeline until the stream ends or fails, the relay is
/// stopped, or the slot is over.
fn pump(
    mut decoder: impl decode::Chunks,
    codec: &str,
    pipeline: &mut Pipeline,
    until: Instant,
) -> Result<(), decode::DecodeEnd> {
    while Instant::now() < until {
        let (samples, channels, rate) = decoder.next_chunk()?;
        if !pipeline.deliver(samples, channels, rate, codec) {
            break;
        }
    }
    Ok(())
}

pub mod hls;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    /// Regression: a source that kept sending bytes the decoder could not sync on (here one
    /// ADTS header, then zeros) held the relay in the decoder's search for the next frame
    /// with no error journaled until the slot ended. The watchdog cuts it and names it.
    #[test]
    fn bytes_that_never_decode_are_cut_named_and_retried() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                thread::spawn(move || {
                    // AAC-LC, 44.1 kHz, stereo, a 107-byte frame.
                    let _ = conn.write_all(
                        b"HTTP/1.0 200 OK\r\nContent-Type: audio/aac\r\n\r\n\xff\xf1\x50\x80\x0d\x7f\xfc",
                    );
                    let zeros = [0u8; 4096];
                    while conn.write_all(&zeros).is_ok() {
                        thread::sleep(Duration::from_millis(20));
                    }
                });
            }
        });
        let source =
            Source::parse(&format!("http://127.0.0.1:{port}/zeros.aac"), Lang::En).unwrap();
        let until = Instant::now() + NO_AUDIO + Duration::from_secs(3);
        let session = Session::start(source, 2, 44_100, until, None, Lang::En);
        let feed = session.feed();
        while Instant::now() < until && feed.facts().errors.is_empty() {
            thread::sleep(Duration::from_millis(100));
        }
        let facts = feed.facts();
        let (_, error, _) = facts.errors.first().expect("an error is noted");
        assert!(error.contains("no audio decoded in 10 s"), "{error}");
    }
}
