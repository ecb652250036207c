//! HLS as a relay source: the media playlist is polled, each new segment fetched in order
//! and its audio (MPEG-TS demuxed, or packed ADTS/MP3) handed to one decoder as a single
//! continuous stream. A live playlist is joined three segments from its end, as players do;
//! one that stops growing for three target durations counts as a stalled source.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::decode::TsDemuxer;
use super::playlist::{self, Media, Playlist};
use super::{http, read_text, Pipeline, RelayError, Url, MAX_SEGMENT, TIMEOUT};

/// Segments as one byte stream for the decoder.
struct Segments {
    playlist: Url,
    media: Media,
    next: u64,
    /// `next`, for the pipeline to carry to the next connection once this one ends.
    taken: Arc<std::sync::atomic::AtomicU64>,
    pending: Vec<u8>,
    pos: usize,
    demux: Option<TsDemuxer>,
    changed_at: Instant,
    until: Instant,
    /// Read for its stop flag: a stopped relay stops polling at once.
    feed: Arc<super::Feed>,
    /// Why the stream ended, when it was the playlist's fault rather than a read's.
    why: Arc<Mutex<Option<RelayError>>>,
    segment_ext: Option<String>,
}

impl Segments {
    fn fail(&self, e: RelayError) -> io::Error {
        let text = e.to_string();
        if let Ok(mut why) = self.why.lock() {
            *why = Some(e);
        }
        io::Error::other(text)
    }

    fn fetch(&mut self, url: &Url) -> Result<(), RelayError> {
        let mut r = http::get(url, TIMEOUT)?;
        let mut bytes = Vec::new();
        r.body
            .by_ref()
            .take(MAX_SEGMENT)
            .read_to_end(&mut bytes)
            .map_err(|e| http::io_error(url, &e))?;
        self.pending.clear();
        self.pos = 0;
        if bytes.first() == Some(&0x47) {
            let demux = self.demux.get_or_insert_with(TsDemuxer::default);
            demux
                .push(&bytes, &mut self.pending)
                .map_err(|detail| RelayError::NotAudio {
                    at: url.to_string(),
                    detail,
                })?;
        } else {
            self.segment_ext = url.extension();
            self.pending = bytes;
        }
        Ok(())
    }

    fn refresh(&mut self) -> Result<(), RelayError> {
        let mut r = http::get(&self.playlist, TIMEOUT)?;
        let text = read_text(&mut r.body, &self.playlist)?;
        match playlist::parse(&text, &self.playlist) {
            Ok(Playlist::Media(m)) => {
                let last = |m: &Media| m.segments.last().map(|s| s.sequence);
                if last(&m) > last(&self.media) || m.ended != self.media.ended {
                    self.changed_at = Instant::now();
                }
                self.media = m;
                Ok(())
            }
            Ok(_) => Err(RelayError::Playlist {
                at: self.playlist.to_string(),
                detail: "it is no longer a media playlist".into(),
            }),
            Err(detail) => Err(RelayError::Playlist {
                at: self.playlist.to_string(),
                detail,
            }),
        }
    }

    /// Brings the next segment's audio into `pending`.
    fn fill(&mut self) -> io::Result<()> {
        loop {
            if Instant::now() >= self.until || self.feed.stopped() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if let Some(seg) = self
                .media
                .segments
                .iter()
                .find(|s| s.sequence >= self.next)
                .cloned()
            {
                self.next = seg.sequence + 1;
                self.taken
                    .store(self.next, std::sync::atomic::Ordering::Relaxed);
                self.fetch(&seg.url).map_err(|e| self.fail(e))?;
                if self.pos < self.pending.len() {
                    return Ok(());
                }
                continue;
            }
            if self.media.ended {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let stale = Duration::from_secs_f64((self.media.target_duration * 3.0).max(6.0));
            if self.changed_at.elapsed() > stale {
                return Err(self.fail(RelayError::PlaylistStale {
                    at: self.playlist.to_string(),
                }));
            }
            thread::sleep(Duration::from_secs_f64(
                (self.media.target_duration / 2.0).clamp(0.2, 5.0),
            ));
            self.refresh().map_err(|e| self.fail(e))?;
        }
    }
}

impl Read for Segments {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.pending.len() {
            self.fill()?;
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Relays the HLS stream whose media playlist `media` was read from `at`.
pub(super) fn relay(
    at: &Url,
    media: Media,
    pipeline: &mut Pipeline,
    until: Instant,
) -> Result<(), RelayError> {
    let first = media.segments.first().map_or(0, |s| s.sequence);
    let joined = if media.ended {
        first
    } else {
        media
            .segments
            .len()
            .checked_sub(3)
            .and_then(|i| media.segments.get(i))
            .map_or(first, |s| s.sequence)
    };
    // Back after a reconnect: on from where the last connection stopped, never again over
    // what aired (unless the playlist has moved past it, or started over).
    let next = match &pipeline.hls_next {
        Some((url, n)) if *url == at.to_string() && *n >= first => *n,
        _ => joined,
    };
    let taken = Arc::new(std::sync::atomic::AtomicU64::new(next));
    let why = Arc::new(Mutex::new(None));
    let mut segments = Segments {
        playlist: at.clone(),
        media,
        next,
        taken: taken.clone(),
        pending: Vec::new(),
        pos: 0,
        demux: None,
        changed_at: Instant::now(),
        until,
        feed: pipeline.feed.clone(),
        why: why.clone(),
        segment_ext: None,
    };
    // Fragmented MP4: the initialisation segment, then each segment as it comes, is one
    // fragmented MP4 stream, which symphonia reads without seeking.
    let init = segments.media.map.clone();
    if let Some(map) = &init {
        segments.fetch(map)?;
        segments.segment_ext = Some("mp4".into());
        let result = super::decode_stream(Box::new(segments), Some("mp4"), at, pipeline, until);
        pipeline.hls_next = Some((
            at.to_string(),
            taken.load(std::sync::atomic::Ordering::Relaxed),
        ));
        return match why.lock().ok().and_then(|mut w| w.take()) {
            Some(e) => Err(e),
            None => result,
        };
    }
    // The first segment tells what codec to expect.
    let primed = segments.fill();
    pipeline.hls_next = Some((
        at.to_string(),
        taken.load(std::sync::atomic::Ordering::Relaxed),
    ));
    let failed = why.lock().ok().and_then(|mut w| w.take());
    if let Some(e) = failed {
        return Err(e);
    }
    primed.map_err(|_| RelayError::Closed { at: at.to_string() })?;
    let ext = segments
        .demux
        .as_ref()
        .and_then(|d| d.kind.map(str::to_string))
        .or_else(|| segments.segment_ext.clone());
    if segments.demux.as_ref().is_some_and(|d| d.kind.is_none()) {
        return Err(RelayError::NotAudio {
            at: at.to_string(),
            detail: "no AAC or MP3 stream in the MPEG-TS segments".into(),
        });
    }
    let result = super::decode_stream(Box::new(segments), ext.as_deref(), at, pipeline, until);
    pipeline.hls_next = Some((
        at.to_string(),
        taken.load(std::sync::atomic::Ordering::Relaxed),
    ));
    match why.lock().ok().and_then(|mut w| w.take()) {
        Some(e) => Err(e),
        None => result,
    }
}
