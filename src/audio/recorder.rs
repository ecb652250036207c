//! An in-memory output for tests: it takes a program's samples as fast as they decode, keeps
//! them, and can be told to fail part-way like a device pulled out mid-broadcast.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;

use super::output::{Aired, Format, Output, OutputError};
use super::program::Program;

#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub samples: Vec<f32>,
}

/// What the recorder heard, shared with the test.
#[derive(Debug, Clone, Default)]
pub struct Tape {
    pub broadcasts: Arc<Mutex<Vec<Recording>>>,
}

impl Tape {
    pub fn count(&self) -> usize {
        self.broadcasts.lock().map_or(0, |b| b.len())
    }
}

pub struct Recorder {
    tape: Tape,
    /// The clock to timestamp airings with (a test's fake clock); the system's otherwise.
    pub clock: Option<std::sync::Arc<dyn crate::clock::Clock>>,
    /// Fail with a device error after this many samples of a broadcast.
    pub fail_after: Option<usize>,
    /// Refuse to open, like a missing device.
    pub missing: bool,
}

impl Recorder {
    pub fn new(tape: Tape) -> Self {
        Recorder {
            tape,
            clock: None,
            fail_after: None,
            missing: false,
        }
    }
}

impl Output for Recorder {
    fn name(&self) -> String {
        "recorder".into()
    }

    fn open(&mut self, _prefer: Option<Format>) -> Result<Format, OutputError> {
        if self.missing {
            return Err(OutputError::NoDevice(None));
        }
        Ok(Format {
            channels: 1,
            sample_rate: 8_000,
        })
    }

    fn air(&mut self, mut program: Program, _start_at: Instant) -> Aired {
        let state = program.state();
        // No waiting for the instant (tests run on a fake clock), but never before the start
        // is journaled.
        while !state.go.load(std::sync::atomic::Ordering::SeqCst) {
            if state.stop.load(std::sync::atomic::Ordering::SeqCst) {
                return Aired::default();
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        let started_at = Some(self.clock.as_ref().map_or_else(Utc::now, |c| c.now()));
        if let Some(c) = &self.clock {
            c.playing(true);
        }
        let mut rec = Recording::default();
        let mut error = None;
        // A period at a time, as a device's callback takes them (not a sample at a time
        // through the iterator: a month on a fake clock is millions of samples, and the tests
        // run this code unoptimised). Never past `fail_after`.
        let mut period = [0.0f32; 1024];
        loop {
            let want = self
                .fail_after
                .map_or(period.len(), |n| n.saturating_sub(rec.samples.len()))
                .min(period.len());
            let got = program.fill(&mut period[..want]);
            rec.samples.extend_from_slice(&period[..got]);
            if self.fail_after.is_some_and(|n| rec.samples.len() >= n) {
                state.request_stop();
                error = Some(OutputError::Device("unplugged (simulated)".into()));
                break;
            }
            if got < want {
                break;
            }
        }
        if let Ok(mut b) = self.tape.broadcasts.lock() {
            b.push(rec);
        }
        if let Some(c) = &self.clock {
            c.playing(false);
        }
        Aired { started_at, error }
    }

    fn close(&mut self) {}
}
