//! Getting audio on air. A broadcast's clips are chained into one [`program::Program`]
//! source that counts every sample handed to the output, so the journal can say whether each
//! clip went out in full. Outputs (a real sound device through rodio, a WAV file, nothing, an
//! in-memory recorder for tests) sit behind the [`output::Output`] trait, and one audio
//! thread, the [`actor`], owns whichever output is in use.

pub mod actor;
mod clip;
pub mod convert;
pub mod device;
pub mod feed;
pub mod item;
pub mod live;
pub mod output;
pub mod paced;
pub mod program;
pub mod recorder;
pub mod tap;

pub use actor::{AirReport, AudioHandle};
pub use item::{preferred_format, ItemAudio, PlannedItem, RelayItem};
pub use output::{Format, Output, OutputError};
pub use program::{Program, ProgramState};
