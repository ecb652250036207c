//! Sample-format conversion between chunks of interleaved audio: any channel count and rate
//! to a wanted one, by linear interpolation with the phase carried from chunk to chunk. Used
//! by a relay (the source to the relay's format) and by the stream (the output's format to
//! the encoder's).

/// Converts interleaved chunks from any channel count and rate to a wanted one, by linear
/// interpolation with the phase carried from chunk to chunk.
pub struct Converter {
    channels: u16,
    rate: u32,
    from: (u16, u32),
    /// Position of the next output frame, in input frames from the start of `last`.
    phase: f64,
    /// The last input frame of the previous chunk, in output channels.
    last: Vec<f32>,
    frame: Vec<f32>,
}

impl Converter {
    pub fn new(channels: u16, rate: u32) -> Self {
        Converter {
            channels: channels.max(1),
            rate: rate.max(1),
            from: (0, 0),
            phase: 0.0,
            last: Vec::new(),
            frame: Vec::new(),
        }
    }

    /// Maps one input frame to the output's channels (mono is doubled, more are folded).
    fn map(&mut self, input: &[f32]) {
        let out = usize::from(self.channels);
        self.frame.clear();
        match (input.len(), out) {
            (1, n) => self.frame.extend(std::iter::repeat_n(input[0], n)),
            (n, 1) => self.frame.push(input.iter().sum::<f32>() / n as f32),
            (_, n) => self
                .frame
                .extend((0..n).map(|c| input.get(c).copied().unwrap_or(input[0]))),
        }
    }

    /// Appends `input` (interleaved, `channels` at `rate`) to `out` in the relay's format.
    pub fn push(&mut self, input: &[f32], channels: u16, rate: u32, out: &mut Vec<f32>) {
        let ch = usize::from(channels.max(1));
        let oc = usize::from(self.channels);
        if (channels, rate) != self.from {
            // A new stream (or a reconnect in another format): start afresh.
            self.from = (channels, rate);
            self.phase = 0.0;
            self.last.clear();
        }
        if channels == self.channels && rate == self.rate {
            out.extend_from_slice(input);
            return;
        }
        let frames = input.len() / ch;
        if frames == 0 {
            return;
        }
        let step = f64::from(rate) / f64::from(self.rate);
        // Frame i of the joined signal: `last` is frame 0 when there is one.
        let offset = usize::from(!self.last.is_empty());
        let total = frames + offset;
        let mut a = vec![0.0; oc];
        let mut b = vec![0.0; oc];
        while self.phase + 1.0 < total as f64 {
            let i = self.phase.floor() as usize;
            let t = (self.phase - i as f64) as f32;
            for (k, dst) in [(i, &mut a), (i + 1, &mut b)] {
                if k < offset {
                    dst.copy_from_slice(&self.last);
                } else {
                    let f = (k - offset) * ch;
                    self.map(&input[f..f + ch]);
                    dst.copy_from_slice(&self.frame);
                }
            }
            out.extend(a.iter().zip(&b).map(|(x, y)| x + (y - x) * t));
            self.phase += step;
        }
        self.phase -= (total - 1) as f64;
        let f = (frames - 1) * ch;
        self.map(&input[f..f + ch]);
        self.last = self.frame.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_keeps_a_tone_continuous_across_chunks() {
        // A 441 Hz mono tone at 44.1 kHz, fed in uneven chunks, to 48 kHz stereo.
        let tone: Vec<f32> = (0..44_100)
            .map(|i| (i as f32 * 441.0 * std::f32::consts::TAU / 44_100.0).sin() * 0.5)
            .collect();
        let mut c = Converter::new(2, 48_000);
        let mut out = Vec::new();
        for chunk in tone.chunks(1153) {
            c.push(chunk, 1, 44_100, &mut out);
        }
        let frames = out.len() / 2;
        assert!((47_990..=48_000).contains(&frames), "{frames}");
        // No jump between neighbouring samples larger than the tone's own slope allows.
        let max_step = out
            .chunks(2)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| (w[1][0] - w[0][0]).abs())
            .fold(0.0f32, f32::max);
        assert!(max_step < 0.03, "{max_step}");
        assert!(out.chunks(2).all(|f| f[0] == f[1]));
    }

    #[test]
    fn the_same_format_passes_through() {
        let mut c = Converter::new(2, 44_100);
        let mut out = Vec::new();
        c.push(&[0.1, 0.2, 0.3, 0.4], 2, 44_100, &mut out);
        assert_eq!(out, [0.1, 0.2, 0.3, 0.4]);
    }
}
