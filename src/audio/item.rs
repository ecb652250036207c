//! What a broadcast is made of, as the output airs it: items, each a clip file or a relay,
//! and the sample format the output is opened in.

use std::path::PathBuf;

/// The sample format an output wants; programs are converted to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub channels: u16,
    pub sample_rate: u32,
}

impl Default for Format {
    fn default() -> Self {
        Format {
            channels: 2,
            sample_rate: 44_100,
        }
    }
}

/// One item of a broadcast, as the output airs it: a clip file or a relay, with what was
/// measured or planned of it.
#[derive(Debug, Clone)]
pub struct PlannedItem {
    /// A clip's path relative to the audio folder (NFC-normalised); a relay's source as shown.
    pub rel: String,
    pub duration_ms: u64,
    pub gain: f32,
    /// The item's own format, so the output can be opened in it and spared a conversion.
    pub channels: u16,
    pub sample_rate: u32,
    pub audio: ItemAudio,
}

/// Where an item's audio comes from.
#[derive(Debug, Clone)]
pub enum ItemAudio {
    /// A clip file, as checked (its SHA-256).
    File { path: PathBuf, sha256: String },
    /// A relay: whoever airs the broadcast starts its session and hands the feed over.
    Relay(RelayItem),
}

impl PlannedItem {
    /// The relay this item is, if it is one.
    pub fn relay(&self) -> Option<&RelayItem> {
        match &self.audio {
            ItemAudio::Relay(r) => Some(r),
            ItemAudio::File { .. } => None,
        }
    }

    pub fn relay_mut(&mut self) -> Option<&mut RelayItem> {
        match &mut self.audio {
            ItemAudio::Relay(r) => Some(r),
            ItemAudio::File { .. } => None,
        }
    }
}

/// A relay as an item of a broadcast: what fills gaps, and (once the session is started in
/// the lead time) the feed the output reads.
#[derive(Debug, Clone)]
pub struct RelayItem {
    /// The source as shown and journaled (an address without its credentials).
    pub source: String,
    /// Clip files that fill the relay's gaps.
    pub fallback: Vec<PlannedItem>,
    pub feed: Option<std::sync::Arc<super::feed::Feed>>,
}

impl RelayItem {
    /// Whether it is a voice or a line heard live (a capture device, a browser's microphone),
    /// which airs as it is heard: faded in, with a short delay through the output.
    pub fn is_capture(&self) -> bool {
        self.source.starts_with("alsa:") || self.source.starts_with("browser:")
    }
}

/// The format most of a program's audio is in (by duration): the one to ask the device for.
pub fn preferred_format(clips: &[PlannedItem]) -> Option<Format> {
    let mut by_format: std::collections::BTreeMap<(u16, u32), u64> = Default::default();
    for c in clips.iter().filter(|c| c.channels > 0 && c.sample_rate > 0) {
        *by_format.entry((c.channels, c.sample_rate)).or_default() += c.duration_ms;
    }
    by_format
        .into_iter()
        .max_by_key(|(_, ms)| *ms)
        .map(|((channels, sample_rate), _)| Format {
            channels,
            sample_rate,
        })
}
