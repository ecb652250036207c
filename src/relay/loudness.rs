//! Live loudness for relays: a programme relayed from above comes at its own level, and the
//! station's listeners should not have to reach for the volume between a clip and a relay.
//! The short-term loudness (EBU R128, 3 s) is measured as the audio passes and a gain is
//! eased toward the station's target: slowly (seconds), within ±12 dB, never raising
//! silence, and with a hard ceiling so a raised gain cannot clip.

use ebur128::{EbuR128, Mode};

/// How far the gain may go either way.
const RANGE_DB: f64 = 12.0;
/// Below this, the source is treated as silent and the gain is held.
const GATE_LUFS: f64 = -50.0;
/// Share of the remaining distance the gain moves each 100 ms (about 3 s to settle).
const EASE: f64 = 0.035;

pub struct Agc {
    meter: EbuR128,
    channels: usize,
    target: f64,
    gain_db: f64,
    /// Frames since the last look at the meter.
    since: usize,
    every: usize,
}

impl Agc {
    pub fn new(channels: u16, rate: u32, target: f64) -> Option<Agc> {
        let meter = EbuR128::new(u32::from(channels), rate, Mode::S).ok()?;
        Some(Agc {
            meter,
            channels: usize::from(channels.max(1)),
            target,
            gain_db: 0.0,
            since: 0,
            every: rate as usize / 10,
        })
    }

    pub fn gain_db(&self) -> f64 {
        self.gain_db
    }

    /// Measures `samples` (interleaved) and applies the gain in place.
    pub fn apply(&mut self, samples: &mut [f32]) {
        if self.meter.add_frames_f32(samples).is_err() {
            return;
        }
        let start = 10f64.powf(self.gain_db / 20.0) as f32;
        self.since += samples.len() / self.channels;
        if self.since >= self.every {
            self.since = 0;
            if let Ok(l) = self.meter.loudness_shortterm() {
                if l.is_finite() && l > GATE_LUFS {
                    let want = (self.target - l).clamp(-RANGE_DB, RANGE_DB);
                    self.gain_db += (want - self.gain_db) * EASE;
                }
            }
        }
        let end = 10f64.powf(self.gain_db / 20.0) as f32;
        let frames = (samples.len() / self.channels).max(1);
        for (i, frame) in samples.chunks_mut(self.channels).enumerate() {
            let g = start + (end - start) * (i as f32 / frames as f32);
            for s in frame {
                *s = (*s * g).clamp(-1.0, 1.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(amplitude: f32, seconds: usize) -> Vec<f32> {
        (0..48_000 * seconds)
            .flat_map(|i| {
                let s = (i as f32 * 1000.0 * std::f32::consts::TAU / 48_000.0).sin() * amplitude;
                [s, s]
            })
            .collect()
    }

    #[test]
    fn a_quiet_source_is_raised_toward_the_target_and_silence_is_not() {
        let mut agc = Agc::new(2, 48_000, -16.0).unwrap();
        for chunk in tone(0.02, 60).chunks_mut(9600) {
            agc.apply(chunk);
        }
        assert!(agc.gain_db() > 11.0, "{}", agc.gain_db());
        let mut quiet = Agc::new(2, 48_000, -16.0).unwrap();
        for chunk in vec![0.0f32; 48_000 * 2 * 10].chunks_mut(9600) {
            quiet.apply(chunk);
        }
        assert_eq!(quiet.gain_db(), 0.0);
    }
}
