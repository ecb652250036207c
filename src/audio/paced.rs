//! Outputs that stand in for a sound card: they pull samples in real time (so a broadcast
//! takes as long as it would on air and the journal's times mean the same thing) and either
//! append them to a WAV file (`wav:PATH`) or drop them (`null`).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::output::{sleep_until, wait_for_start, Aired, Format, Output, OutputError};
use super::program::Program;

const FORMAT: Format = Format {
    channels: 2,
    sample_rate: 44_100,
};
const HEADER_LEN: u64 = 44;

pub struct PacedOutput {
    wav: Option<PathBuf>,
    file: Option<File>,
}

impl PacedOutput {
    pub fn wav(path: PathBuf) -> Self {
        PacedOutput {
            wav: Some(path),
            file: None,
        }
    }

    pub fn null() -> Self {
        PacedOutput {
            wav: None,
            file: None,
        }
    }
}

fn file_error(path: &Path, e: impl ToString) -> OutputError {
    OutputError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// The canonical 44-byte header of a 16-bit PCM WAV file holding `data_len` bytes.
fn header(data_len: u32) -> [u8; 44] {
    let mut h = [0u8; 44];
    let ch = u32::from(FORMAT.channels);
    let rate = FORMAT.sample_rate;
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_len).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&(ch as u16).to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * ch * 2).to_le_bytes());
    h[32..34].copy_from_slice(&((ch * 2) as u16).to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// Opens the WAV file for appending: a new file gets a header; an existing one must be a WAV
/// file loaxa wrote in this same format, or loaxa refuses rather than overwrite it.
fn open_wav(path: &Path) -> Result<File, OutputError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
        }
    }
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| file_error(path, e))?;
    let len = f.metadata().map_err(|e| file_error(path, e))?.len();
    if len == 0 {
        f.write_all(&header(0)).map_err(|e| file_error(path, e))?;
    } else {
        let mut existing = [0u8; 44];
        f.read_exact(&mut existing)
            .map_err(|e| file_error(path, e))?;
        let expected = header(0);
        if len < HEADER_LEN || existing[..4] != expected[..4] || existing[8..40] != expected[8..40]
        {
            return Err(file_error(
                path,
                "exists and is not a 44.1 kHz stereo WAV file written by loaxa; move it away or name another file",
            ));
        }
    }
    f.seek(SeekFrom::End(0)).map_err(|e| file_error(path, e))?;
    Ok(f)
}

fn finalize(f: &mut File) -> std::io::Result<()> {
    let len = f.seek(SeekFrom::End(0))?;
    let data = (len.saturating_sub(HEADER_LEN)).min(u64::from(u32::MAX) - 36) as u32;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&header(data))?;
    f.seek(SeekFrom::End(0))?;
    f.sync_data()
}

impl Output for PacedOutput {
    fn name(&self) -> String {
        match &self.wav {
            Some(p) => format!("wav:{}", p.display()),
            None => "null".into(),
        }
    }

    fn open(&mut self, _prefer: Option<Format>) -> Result<Format, OutputError> {
        if let Some(path) = &self.wav {
            self.file = Some(open_wav(path)?);
        }
        Ok(FORMAT)
    }

    fn air(&mut self, mut program: Program, start_at: Instant) -> Aired {
        let state = program.state();
        // 20 ms chunks: fine enough that a stop fades promptly.
        let chunk_frames = FORMAT.sample_rate as usize / 50;
        let per_chunk = chunk_frames * FORMAT.channels as usize;
        let mut bytes = Vec::with_capacity(per_chunk * 2);
        let mut samples = vec![0.0; per_chunk];
        if !wait_for_start(start_at, &state) {
            return Aired::default();
        }
        let start = Instant::now();
        let started_at = Some(Utc::now());
        let mut frames: u64 = 0;
        let mut error = None;
        loop {
            bytes.clear();
            let n = program.fill(&mut samples);
            for s in &samples[..n] {
                bytes.extend_from_slice(&((s * 32767.0) as i16).to_le_bytes());
            }
            if n == 0 {
                break;
            }
            if let (Some(f), Some(path)) = (self.file.as_mut(), self.wav.as_ref()) {
                if let Err(e) = f.write_all(&bytes) {
                    error = Some(file_error(path, e));
                    state.request_stop();
                    break;
                }
            }
            frames += (n / FORMAT.channels as usize) as u64;
            sleep_until(
                start + Duration::from_micros(frames * 1_000_000 / u64::from(FORMAT.sample_rate)),
            );
        }
        if let (Some(f), Some(path)) = (self.file.as_mut(), self.wav.as_ref()) {
            if let Err(e) = finalize(f) {
                error.get_or_insert(file_error(path, e));
            }
        }
        Aired { started_at, error }
    }

    fn close(&mut self) {
        self.file = None;
    }
}
