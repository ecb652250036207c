//! Where what airs may also go (the stream for IP loudspeakers), as the output sees it: a
//! [`Tap`] the output's thread hands each chunk to, which must never wait, and the
//! [`Streaming`] the audio thread's handle announces broadcasts to. The stream implements
//! them; audio knows nothing more of it.

use std::sync::Arc;

use crate::journal::StreamFacts;

/// The output thread's end: cheap to share, never blocks (a chunk that cannot be taken now
/// is dropped and counted by the other side).
pub trait Tap: Send + Sync {
    fn audio(&self, samples: Vec<f32>, channels: u16, rate: u32);
}

/// A destination for what airs, told where each broadcast begins and ends.
pub trait Streaming: Send {
    /// The tap the output feeds.
    fn tap(&self) -> Arc<dyn Tap>;
    /// A broadcast titled `title` is about to air.
    fn begin(&self, title: &str);
    /// The broadcast ended: what the destination carried of it (may wait a few seconds).
    fn end(&mut self) -> StreamFacts;
}
