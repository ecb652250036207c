//! The audio thread. It alone owns the output; the async side sends it a prepared program
//! with the instant to start and gets back how the airing went. Blocking work (opening the
//! device, waiting for the exact instant, pacing) stays off the async runtime.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use tokio::sync::oneshot;

use super::item::PlannedItem;
use super::output::{Aired, Format, Output, OutputError};
use super::program::{Program, ProgramState};
use super::tap::{Streaming, Tap};

/// How an airing went: the output's view plus the program's per-clip counts.
#[derive(Debug)]
pub struct AirReport {
    pub output: String,
    pub aired: Aired,
    /// `None` if the output could not be opened at all.
    pub state: Option<Arc<ProgramState>>,
}

impl AirReport {
    /// Nothing was handed to the output (there was nothing playable).
    pub fn silent(output: &str) -> AirReport {
        AirReport {
            output: output.to_string(),
            aired: Aired::default(),
            state: None,
        }
    }

    /// The audio thread went away before reporting.
    pub fn lost(output: &str, state: Option<Arc<ProgramState>>) -> AirReport {
        AirReport {
            output: output.to_string(),
            aired: Aired {
                started_at: None,
                error: Some(OutputError::Device("the audio thread stopped".into())),
            },
            state,
        }
    }
}

enum Command {
    Air {
        clips: Vec<PlannedItem>,
        master: f32,
        start_at: Instant,
        started: oneshot::Sender<Arc<ProgramState>>,
        done: oneshot::Sender<AirReport>,
    },
    /// Opens the output and closes it again: is the device there?
    Check {
        reply: oneshot::Sender<Result<(), OutputError>>,
    },
}

/// The async side's end of the audio thread.
#[derive(Clone)]
pub struct AudioHandle {
    tx: mpsc::Sender<Command>,
    name: String,
    /// The stream for IP loudspeakers, if one is configured.
    streamer: Option<Arc<std::sync::Mutex<Box<dyn Streaming>>>>,
}

/// A broadcast in progress: stop it through `state`, await `done`.
pub struct Airing {
    pub state: Option<Arc<ProgramState>>,
    pub done: oneshot::Receiver<AirReport>,
}

impl AudioHandle {
    /// Starts the audio thread with `output`.
    pub fn spawn(output: Box<dyn Output>) -> std::io::Result<AudioHandle> {
        AudioHandle::spawn_streaming(output, None)
    }

    /// As [`AudioHandle::spawn`], also sending what airs to `streamer`.
    pub fn spawn_streaming(
        output: Box<dyn Output>,
        streamer: Option<Box<dyn Streaming>>,
    ) -> std::io::Result<AudioHandle> {
        let name = output.name();
        let (tx, rx) = mpsc::channel();
        let tap = streamer.as_ref().map(|s| s.tap());
        thread::Builder::new()
            .name("loaxa-audio".into())
            .spawn(move || run(output, rx, tap))?;
        Ok(AudioHandle {
            tx,
            name,
            streamer: streamer.map(|s| Arc::new(std::sync::Mutex::new(s))),
        })
    }

    /// A broadcast titled `title` is about to air: the stream announces it.
    pub fn stream_begin(&self, title: &str) {
        if let Some(s) = &self.streamer {
            if let Ok(s) = s.lock() {
                s.begin(title);
            }
        }
    }

    /// The broadcast ended: what the stream carried of it (waits up to a few seconds).
    pub async fn stream_end(&self) -> Option<crate::journal::StreamFacts> {
        let s = self.streamer.clone()?;
        tokio::task::spawn_blocking(move || s.lock().ok().map(|mut s| s.end()))
            .await
            .ok()
            .flatten()
    }

    pub fn output_name(&self) -> &str {
        &self.name
    }

    /// Hands a broadcast to the audio thread: it opens the output now, decodes the first clip,
    /// and starts at `start_at`.
    pub async fn air(&self, clips: Vec<PlannedItem>, master: f32, start_at: Instant) -> Airing {
        let (started_tx, started_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let sent = self.tx.send(Command::Air {
            clips,
            master,
            start_at,
            started: started_tx,
            done: done_tx,
        });
        if let Err(mpsc::SendError(Command::Air { done, .. })) = sent {
            let _ = done.send(AirReport::lost(&self.name, None));
        }
        Airing {
            state: started_rx.await.ok(),
            done: done_rx,
        }
    }
}

impl AudioHandle {
    /// Opens the output and closes it, without airing anything: whether the device is back.
    pub async fn check(&self) -> Result<(), OutputError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Check { reply })
            .map_err(|_| OutputError::Device("the audio thread stopped".into()))?;
        rx.await
            .unwrap_or_else(|_| Err(OutputError::Device("the audio thread stopped".into())))
    }
}

fn run(mut output: Box<dyn Output>, rx: mpsc::Receiver<Command>, tap: Option<Arc<dyn Tap>>) {
    while let Ok(cmd) = rx.recv() {
        match cmd {
            Command::Check { reply } => {
                let result = output.open(None).map(|_| output.close());
                let _ = reply.send(result);
            }
            Command::Air {
                clips,
                master,
                start_at,
                started,
                done,
            } => {
                let name = output.name();
                let prefer = super::item::preferred_format(&clips);
                // A capture device (a microphone, a line-in) airs as it is heard.
                output.want_short_delay(
                    clips
                        .iter()
                        .any(|c| c.relay().is_some_and(super::item::RelayItem::is_capture)),
                );
                let report = match output.open(prefer) {
                    Err(e) => {
                        drop(started);
                        AirReport {
                            output: name,
                            aired: Aired {
                                started_at: None,
                                error: Some(e),
                            },
                            state: None,
                        }
                    }
                    Ok(Format {
                        channels,
                        sample_rate,
                    }) => {
                        let program = Program::new(clips, channels, sample_rate, master)
                            .with_tap(tap.clone());
                        let state = program.state();
                        state.clear_ahead_ms.store(
                            output.clear_ahead().as_millis() as u64,
                            std::sync::atomic::Ordering::SeqCst,
                        );
                        let _ = started.send(state.clone());
                        let aired = output.air(program, start_at);
                        output.close();
                        AirReport {
                            output: name,
                            aired,
                            state: Some(state),
                        }
                    }
                };
                let _ = done.send(report);
            }
        }
    }
}
