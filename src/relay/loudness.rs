//! Live loudness for relays: a programme relayed from above comes at its own level, and the
//! station's listeners should not have to reach for the volume between a clip and a relay.
//! The short-term loudness (EBU R128: K-weighted, 3 s) is measured as the audio passes and a
//! gain is eased toward the station's target: slowly (seconds), within ±12 dB, never raising
//! silence, and with a hard ceiling so a raised gain cannot clip.
//!
//! The measurement is done here rather than by the `ebur128` crate (which measures clips):
//! a relay runs for hours, and the crate's general meter (gating histories, f64 frames, mode
//! bookkeeping) cost as much CPU as decoding the stream; the two K-weighting filters and a
//! ring of 100 ms block energies are all short-term loudness needs.

/// How far the gain may go either way.
const RANGE_DB: f64 = 12.0;
/// Below this, the source is treated as silent and the gain is held.
const GATE_LUFS: f64 = -50.0;
/// Share of the remaining distance the gain moves each 100 ms (about 3 s to settle).
const EASE: f64 = 0.035;

/// One channel's K-weighting: BS.1770's high shelf then high pass, as biquads.
#[derive(Clone, Copy, Default)]
struct KFilter {
    /// (b0, b1, b2, a1, a2) of each stage.
    stages: [[f64; 5]; 2],
    state: [[f64; 2]; 2],
}

impl KFilter {
    /// Coefficients for `rate`, from the analogue prototypes BS.1770 and libebur128 use.
    fn new(rate: f64) -> KFilter {
        let shelf = {
            let (f0, g, q) = (1681.974450955533, 3.999843853973347, 0.7071752369554196);
            let k = (std::f64::consts::PI * f0 / rate).tan();
            let vh = 10f64.powf(g / 20.0);
            let vb = vh.powf(0.4996667741545416);
            let a0 = 1.0 + k / q + k * k;
            [
                (vh + vb * k / q + k * k) / a0,
                2.0 * (k * k - vh) / a0,
                (vh - vb * k / q + k * k) / a0,
                2.0 * (k * k - 1.0) / a0,
                (1.0 - k / q + k * k) / a0,
            ]
        };
        let high_pass = {
            let (f0, q) = (38.13547087602444, 0.5003270373238773);
            let k = (std::f64::consts::PI * f0 / rate).tan();
            let a0 = 1.0 + k / q + k * k;
            [
                1.0,
                -2.0,
                1.0,
                2.0 * (k * k - 1.0) / a0,
                (1.0 - k / q + k * k) / a0,
            ]
        };
        KFilter {
            stages: [shelf, high_pass],
            state: [[0.0; 2]; 2],
        }
    }

    #[inline]
    fn run(&mut self, x: f64) -> f64 {
        let mut v = x;
        for (c, s) in self.stages.iter().zip(self.state.iter_mut()) {
            // Transposed direct form II.
            let y = c[0] * v + s[0];
            s[0] = c[1] * v - c[3] * y + s[1];
            s[1] = c[2] * v - c[4] * y;
            v = y;
        }
        v
    }
}

/// Blocks in the short-term window (3 s of 100 ms).
const BLOCKS: usize = 30;

pub struct Agc {
    filters: Vec<KFilter>,
    channels: usize,
    target: f64,
    gain_db: f64,
    /// K-weighted energy of the block being filled, and its frames.
    energy: f64,
    frames: usize,
    every: usize,
    /// The last blocks' mean energies (sum over channels), oldest overwritten.
    blocks: [f64; BLOCKS],
    filled: usize,
    next: usize,
}

impl Agc {
    pub fn new(channels: u16, rate: u32, target: f64) -> Option<Agc> {
        let channels = usize::from(channels.max(1));
        (rate > 0).then(|| Agc {
            filters: vec![KFilter::new(f64::from(rate)); channels],
            channels,
            target,
            gain_db: 0.0,
            energy: 0.0,
            frames: 0,
            every: (rate as usize / 10).max(1),
            blocks: [0.0; BLOCKS],
            filled: 0,
            next: 0,
        })
    }

    pub fn gain_db(&self) -> f64 {
        self.gain_db
    }

    /// Short-term loudness (LUFS) of the last 3 s, once there are 3 s.
    fn short_term(&self) -> Option<f64> {
        (self.filled >= BLOCKS).then(|| {
            let mean = self.blocks.iter().sum::<f64>() / BLOCKS as f64;
            -0.691 + 10.0 * mean.max(1e-12).log10()
        })
    }

    /// Measures `samples` (interleaved) and applies the gain in place.
    pub fn apply(&mut self, samples: &mut [f32]) {
        let start = 10f64.powf(self.gain_db / 20.0) as f32;
        let frames = samples.len() / self.channels;
        let mut done = 0;
        while done < frames {
            let take = (self.every - self.frames).min(frames - done);
            let block = &samples[done * self.channels..(done + take) * self.channels];
            self.energy += k_energy(&mut self.filters, block);
            self.frames += take;
            done += take;
            if self.frames >= self.every {
                self.blocks[self.next] = self.energy / self.frames as f64;
                self.next = (self.next + 1) % BLOCKS;
                self.filled += 1;
                self.energy = 0.0;
                self.frames = 0;
                if let Some(l) = self.short_term().filter(|l| *l > GATE_LUFS) {
                    let want = (self.target - l).clamp(-RANGE_DB, RANGE_DB);
                    self.gain_db += (want - self.gain_db) * EASE;
                }
            }
        }
        let end = 10f64.powf(self.gain_db / 20.0) as f32;
        let step = (end - start) / frames.max(1) as f32;
        for (i, frame) in samples.chunks_mut(self.channels).enumerate() {
            let g = start + step * i as f32;
            for s in frame {
                *s = (*s * g).clamp(-1.0, 1.0);
            }
        }
    }
}

/// The K-weighted energy of `block` (interleaved, a filter per channel), summed over its
/// samples. Stereo, the usual case, runs both channels' filters side by side: a relay
/// filters every sample it airs, and the two independent chains then overlap in the CPU.
fn k_energy(filters: &mut [KFilter], block: &[f32]) -> f64 {
    let mut energy = 0.0;
    if let [left, right] = filters {
        let (mut l, mut r) = (*left, *right);
        for frame in block.chunks_exact(2) {
            let a = l.run(f64::from(frame[0]));
            let b = r.run(f64::from(frame[1]));
            energy += a * a + b * b;
        }
        (*left, *right) = (l, r);
    } else {
        for frame in block.chunks(filters.len().max(1)) {
            for (f, s) in filters.iter_mut().zip(frame) {
                let k = f.run(f64::from(*s));
                energy += k * k;
            }
        }
    }
    energy
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
    fn short_term_loudness_agrees_with_the_ebu_r128_meter() {
        for amplitude in [0.5f32, 0.05] {
            let signal = tone(amplitude, 4);
            let mut ours = Agc::new(2, 48_000, -16.0).unwrap();
            let mut copy = signal.clone();
            // Measured only: a target equal to the signal keeps the gain near 0 but it is the
            // meter that is compared here.
            for chunk in copy.chunks_mut(4800) {
                ours.apply(chunk);
            }
            let mut reference = ebur128::EbuR128::new(2, 48_000, ebur128::Mode::S).unwrap();
            reference.add_frames_f32(&signal).unwrap();
            let want = reference.loudness_shortterm().unwrap();
            let got = ours.short_term().unwrap();
            assert!((got - want).abs() < 0.1, "{got} against {want}");
        }
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
