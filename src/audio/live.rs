//! A relay as the output sees it: exactly the slot's minutes of samples, taken from the
//! relay's feed while it has audio and, in a gap, from the slot's fallback clips (in turn,
//! round and round) or silence. It runs on the output's thread, so it never waits: a gap is
//! noticed when the feed is empty, and the source comes back once it has buffered a little.
//! What went out from where, and each gap, is written to the feed's facts for the journal.

use std::num::NonZero;
use std::sync::Arc;
use std::time::Duration;

use rodio::Source;

use super::clip::FileClip;
use super::feed::{Feed, Gap};
use super::item::{ItemAudio, PlannedItem};

/// Samples taken from the feed at a time (the lock is taken once per chunk, not per sample).
const CHUNK: usize = 4096;

pub struct LiveSource {
    feed: Arc<Feed>,
    channels: NonZero<u16>,
    rate: NonZero<u32>,
    /// Samples to give in all, and given so far.
    total: u64,
    given: u64,
    chunk: Vec<f32>,
    pos: usize,
    /// Where the current gap began (samples given before it).
    gap: Option<u64>,
    fallback: Vec<PlannedItem>,
    next_fallback: usize,
    current: Option<(FileClip, usize, u64)>,
    /// Where the current frame's samples come from (switching only between frames).
    from_source: bool,
    counts: [u64; 3],
    resume: usize,
    finished: bool,
}

impl LiveSource {
    pub fn new(feed: Arc<Feed>, duration_ms: u64, fallback: Vec<PlannedItem>) -> LiveSource {
        let channels = NonZero::new(feed.channels).unwrap_or(NonZero::<u16>::MIN);
        let rate = NonZero::new(feed.rate).unwrap_or(NonZero::<u32>::MIN);
        let total = duration_ms * u64::from(rate.get()) / 1000 * u64::from(channels.get());
        let resume = (feed.resume().as_millis() as usize) * rate.get() as usize / 1000
            * usize::from(channels.get());
        LiveSource {
            feed,
            channels,
            rate,
            total,
            given: 0,
            chunk: Vec::with_capacity(CHUNK),
            pos: 0,
            gap: None,
            fallback,
            next_fallback: 0,
            current: None,
            from_source: false,
            counts: [0; 3],
            resume,
            finished: false,
        }
    }

    fn close_fallback(&mut self) {
        if let Some((_, i, n)) = self.current.take() {
            let clip = &self.fallback[i];
            if let ItemAudio::File { sha256, .. } = &clip.audio {
                let (rel, sha) = (clip.rel.clone(), sha256.clone());
                self.feed.with_facts(|f| f.fallback.push((rel, sha, n)));
            }
        }
    }

    /// One sample of what fills a gap: the next fallback clip's, or silence.
    fn filler(&mut self) -> (f32, usize) {
        for _ in 0..=self.fallback.len() {
            if self.current.is_none() && !self.fallback.is_empty() {
                let i = self.next_fallback % self.fallback.len();
                self.next_fallback += 1;
                if let ItemAudio::File { path, .. } = &self.fallback[i].audio {
                    if let Ok(c) = FileClip::open(path, self.channels, self.rate) {
                        self.current = Some((c, i, 0));
                    }
                }
            }
            let Some((clip, i, n)) = self.current.as_mut() else {
                break;
            };
            if let Some(s) = clip.next() {
                *n += 1;
                return (s * self.fallback[*i].gain, 1);
            }
            self.close_fallback();
        }
        (0.0, 2)
    }

    fn end_gap(&mut self) {
        if let Some(start) = self.gap.take() {
            let at_ms = self.feed.ms(start);
            let length_ms = self.feed.ms(self.given - start);
            self.feed
                .with_facts(|f| f.gaps.push(Gap { at_ms, length_ms }));
        }
        self.close_fallback();
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.end_gap();
        let [source, fallback, silence] = self.counts;
        self.feed.with_facts(|f| {
            f.source_samples = source;
            f.fallback_samples = fallback;
            f.silence_samples = silence;
        });
        self.feed.stop();
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        self.finish();
    }
}

impl LiveSource {
    /// Fills `out`; fewer than `out.len()` only at the relay's end. What the feed has is
    /// copied in bulk; a gap goes sample by sample through [`Iterator::next`].
    pub fn fill(&mut self, out: &mut [f32]) -> usize {
        let mut n = 0;
        while n < out.len() {
            let left = usize::try_from(self.total.saturating_sub(self.given)).unwrap_or(usize::MAX);
            let ready = self.chunk.len() - self.pos;
            if ready > 0 && left > 0 {
                let k = ready.min(left).min(out.len() - n);
                out[n..n + k].copy_from_slice(&self.chunk[self.pos..self.pos + k]);
                self.pos += k;
                self.given += k as u64;
                self.counts[0] += k as u64;
                n += k;
                continue;
            }
            match self.next() {
                Some(s) => {
                    out[n] = s;
                    n += 1;
                }
                None => break,
            }
        }
        n
    }
}

impl Iterator for LiveSource {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        if self.given >= self.total {
            self.finish();
            return None;
        }
        let frame_start = self.given.is_multiple_of(u64::from(self.channels.get()));
        self.given += 1;
        if self.pos < self.chunk.len() {
            self.pos += 1;
            self.counts[0] += 1;
            return Some(self.chunk[self.pos - 1]);
        }
        if frame_start {
            self.chunk.clear();
            self.pos = 0;
            let min = if self.gap.is_some() { self.resume } else { 0 };
            if self.feed.take(&mut self.chunk, CHUNK, min) > 0 {
                self.end_gap();
                self.from_source = true;
                self.pos = 1;
                self.counts[0] += 1;
                return Some(self.chunk[0]);
            }
            self.from_source = false;
            if self.gap.is_none() {
                self.gap = Some(self.given - 1);
            }
        }
        let (s, kind) = self.filler();
        self.counts[kind] += 1;
        Some(s)
    }
}

impl Source for LiveSource {
    fn current_span_len(&self) -> Option<usize> {
        None
    }

    fn channels(&self) -> rodio::ChannelCount {
        self.channels
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        self.rate
    }

    fn total_duration(&self) -> Option<Duration> {
        Some(Duration::from_millis(self.feed.ms(self.total)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_gives_exactly_its_length_and_counts_a_gap_filled_with_silence() {
        // 1000 Hz mono: 1 s = 1000 samples; the source has 300 ms, then nothing.
        let feed = Arc::new(Feed::new(1, 1000));
        assert!(feed.push(&[0.5; 300]));
        let mut live = LiveSource::new(feed.clone(), 1000, Vec::new());
        let out: Vec<f32> = live.by_ref().collect();
        assert_eq!(out.len(), 1000);
        assert!(out[..300].iter().all(|s| *s == 0.5));
        assert!(out[300..].iter().all(|s| *s == 0.0));
        drop(live);
        let f = feed.facts();
        assert_eq!((f.source_samples, f.silence_samples), (300, 700));
        assert_eq!(
            f.gaps,
            [Gap {
                at_ms: 300,
                length_ms: 700
            }]
        );
        assert!(feed.stopped(), "the session is told the relay is over");
    }
}
