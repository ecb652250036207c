//! A clip file decoded for the output: its samples in the program's format, converted only
//! when the file is not already in it.

use std::num::NonZero;
use std::time::Duration;

use rodio::source::UniformSourceIterator;
use rodio::Source;

use crate::decoder::ClipDecoder;

/// A clip file's samples in the program's format: straight from the decoder when the file is
/// already in it (the usual case: the device is opened in the clips' format), converted
/// otherwise. The straight path skips a converter's per-sample work for the whole broadcast.
pub(super) enum FileClip {
    Direct(ClipDecoder),
    Converted(UniformSourceIterator<Steady<ClipDecoder>>),
}

impl FileClip {
    #[inline]
    pub(super) fn next(&mut self) -> Option<f32> {
        match self {
            FileClip::Direct(d) => d.next(),
            FileClip::Converted(c) => c.next(),
        }
    }

    /// Opens a file in the program's format (converted only if it is not in it already).
    pub(super) fn open(
        path: &std::path::Path,
        channels: NonZero<u16>,
        rate: NonZero<u32>,
    ) -> Result<FileClip, String> {
        let d = ClipDecoder::open(path)?;
        // The decoder reports its format from the first packet; a file whose format
        // changes mid-stream is not something loaxa airs.
        Ok(if d.channels() == channels && d.sample_rate() == rate {
            FileClip::Direct(d)
        } else {
            FileClip::Converted(UniformSourceIterator::new(Steady(d), channels, rate))
        })
    }
}

/// A decoder seen as one format from start to end. rodio's decoders report a span length
/// of zero until their first packet is decoded, and the converter then takes zero samples
/// and ends the clip; files whose format changes mid-stream are not something loaxa airs.
pub(super) struct Steady<S>(S);

impl<S: Source> Iterator for Steady<S> {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<S: Source> Source for Steady<S> {
    fn current_span_len(&self) -> Option<usize> {
        None
    }

    fn channels(&self) -> rodio::ChannelCount {
        self.0.channels()
    }

    fn sample_rate(&self) -> rodio::SampleRate {
        self.0.sample_rate()
    }

    fn total_duration(&self) -> Option<Duration> {
        self.0.total_duration()
    }
}
