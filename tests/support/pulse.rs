//! A private PulseAudio daemon with a null sink called `air`: a real-time, real-stack sound
//! card on a machine without one. ALSA's default device is routed to it through an
//! `.asoundrc` in a private HOME, and [`Listener`] records the sink's monitor to find when
//! each audible segment started and how long it lasted, by wall clock.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct Pulse {
    pub dir: tempfile::TempDir,
}

impl Pulse {
    /// Starts the daemon, or `None` when PulseAudio is not installed (after
    /// [`super::skip`], which fails under CI). The server is private (its own HOME and runtime
    /// folder), so a test that only airs through it may run beside others; one that measures
    /// onsets on it ([`Listener`]) must run alone.
    pub fn start() -> Option<Pulse> {
        super::alone();
        if !super::installed(&["pulseaudio", "pactl", "parec"]) {
            return None;
        }
        let dir = crate::support::scratch();
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        std::fs::write(
            dir.path().join(".asoundrc"),
            "pcm.!default { type pulse }\nctl.!default { type pulse }\n",
        )
        .unwrap();
        let p = Pulse { dir };
        p.launch();
        Some(p)
    }

    /// Starts a daemon with the `air` null sink, and waits until it answers.
    fn launch(&self) {
        let status = self
            .command("pulseaudio")
            .args([
                "-D",
                "--exit-idle-time=-1",
                "-n",
                "--load=module-null-sink sink_name=air rate=48000",
                "--load=module-native-protocol-unix",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("pulseaudio is not installed: run scripts/setup");
        assert!(status.success(), "pulseaudio did not start");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self
            .command("pactl")
            .arg("info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(Instant::now() < deadline, "pulseaudio did not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// A second sound card's input: a null sink `sink` at `rate` whose monitor ALSA knows as
    /// `pcm` (a receiver's line-in, a microphone). Whatever plays into `sink` is what it hears.
    pub fn capture_device(&self, sink: &str, pcm: &str, rate: u32) {
        let ok = self
            .command("pactl")
            .args(["load-module", "module-null-sink"])
            .arg(format!("sink_name={sink}"))
            .arg(format!("rate={rate}"))
            .output()
            .unwrap();
        assert!(ok.status.success(), "{ok:?}");
        let mut rc = std::fs::OpenOptions::new()
            .append(true)
            .open(self.home().join(".asoundrc"))
            .unwrap();
        use std::io::Write as _;
        writeln!(
            rc,
            "pcm.{pcm} {{ type pulse device \"{sink}.monitor\" hint {{ show on description \"{pcm}\" }} }}"
        )
        .unwrap();
    }

    /// Makes a stand-in microphone's sink (see [`Pulse::capture_device`]) the browsers'
    /// default microphone. Chromium lists no monitor as a microphone: the monitor is remapped
    /// as a source of its own.
    pub fn browser_microphone(&self, sink: &str) {
        for args in [
            vec![
                "load-module".to_string(),
                "module-remap-source".into(),
                format!("master={sink}.monitor"),
                format!("source_name={sink}-browser"),
            ],
            vec!["set-default-source".into(), format!("{sink}-browser")],
        ] {
            let ok = self.command("pactl").args(&args).output().unwrap();
            assert!(ok.status.success(), "{ok:?}");
        }
    }

    /// A command that talks to this daemon (and, through ALSA's default, plays into `air`).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        self.env(&mut c);
        c
    }

    pub fn env(&self, c: &mut Command) {
        c.env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env_remove("PULSE_SERVER");
    }

    /// Starts the daemon again after it was killed (a restarted sound server).
    /// `loaxa run` in `station`, playing into this server, its log in English (piped).
    pub fn start_daemon(&self, station: &Path) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loaxa"));
        self.env(&mut cmd);
        cmd.current_dir(station)
            .args(["run", "--lang", "en"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    pub fn restart(&self) {
        self.launch();
    }

    /// Ends the daemon, as when the sound server crashes.
    pub fn kill(&self) {
        let _ = self
            .command("pulseaudio")
            .arg("--kill")
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self
            .command("pulseaudio")
            .arg("--kill")
            .stderr(Stdio::null())
            .status();
    }
}

/// One audible stretch heard on the monitor.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    /// Wall-clock onset, seconds since the Unix epoch.
    pub onset: f64,
    pub length: f64,
}

/// Records a sink's monitor (`air`'s unless said) and splits it into audible segments.
pub struct Listener {
    child: Child,
    // (wall time of the block's first sample, rms, zero crossings)
    blocks: Arc<Mutex<Vec<(f64, f64, u32)>>>,
}

const RATE: usize = 48_000;
const BLOCK: usize = RATE / 200; // 5 ms

impl Listener {
    pub fn start(pulse: &Pulse) -> Listener {
        Self::on(pulse, "air.monitor")
    }

    /// Records `monitor` (another sink's, such as a stand-in microphone's).
    pub fn on(pulse: &Pulse, monitor: &str) -> Listener {
        super::only_alone("it measures onsets on a PulseAudio monitor");
        let mut child = pulse
            .command("parec")
            .args([
                "-d",
                monitor,
                "--raw",
                "--format=s16le",
                "--channels=1",
                &format!("--rate={RATE}"),
                "--latency-msec=5",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("parec is not installed: run scripts/setup");
        let mut out = child.stdout.take().unwrap();
        let blocks = Arc::new(Mutex::new(Vec::new()));
        let sink = blocks.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; BLOCK * 2];
            // The last sample of the block before: a crossing at a block's edge counts once.
            let mut last = 0.0;
            while out.read_exact(&mut buf).is_ok() {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs_f64();
                let mut sum = 0.0;
                let mut crossings = 0;
                for s in buf.chunks_exact(2) {
                    let v = f64::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0;
                    sum += v * v;
                    if (v < 0.0) != (last < 0.0) {
                        crossings += 1;
                    }
                    last = v;
                }
                let rms = (sum / BLOCK as f64).sqrt();
                sink.lock()
                    .unwrap()
                    .push((now - BLOCK as f64 / RATE as f64, rms, crossings));
            }
        });
        // Let the recorder settle so the first block timestamps are steady.
        std::thread::sleep(Duration::from_millis(500));
        Listener { child, blocks }
    }

    /// Audible segments so far: blocks above `threshold` RMS, split by 300 ms of silence.
    pub fn segments(&self, threshold: f64) -> Vec<Segment> {
        let blocks = self.blocks.lock().unwrap().clone();
        let mut out = Vec::new();
        let mut start: Option<f64> = None;
        let mut last_loud = 0.0;
        for (t, rms, _) in blocks {
            if rms >= threshold {
                if start.is_none() {
                    start = Some(t);
                }
                last_loud = t + BLOCK as f64 / RATE as f64;
            } else if let Some(s) = start {
                if t - last_loud >= 0.3 {
                    out.push(Segment {
                        onset: s,
                        length: last_loud - s,
                    });
                    start = None;
                }
            }
        }
        if let Some(s) = start {
            out.push(Segment {
                onset: s,
                length: last_loud - s,
            });
        }
        out
    }
}

impl Listener {
    /// The frequency heard over a segment, in hertz, from the zero crossings of its blocks
    /// above `threshold` RMS (its fades and dropouts left out).
    pub fn frequency(&self, s: &Segment, threshold: f64) -> f64 {
        let blocks = self.blocks.lock().unwrap();
        let within = blocks.iter().filter(|(t, rms, _)| {
            *rms >= threshold
                && *t >= s.onset
                && *t + (BLOCK as f64 / RATE as f64) <= s.onset + s.length
        });
        let (n, crossings) =
            within.fold((0u64, 0u64), |(n, c), (_, _, x)| (n + 1, c + u64::from(*x)));
        crossings as f64 / 2.0 / (n as f64 * BLOCK as f64 / RATE as f64).max(1e-9)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGTERM to a daemon from [`Pulse::start_daemon`]; it must exit 0. Returns its log.
pub fn stop_daemon(child: Child) -> String {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    log
}

/// A wall-clock instant (seconds since the epoch) as a schedule writes a time of day.
pub fn hms(unix: f64) -> String {
    let t = chrono::DateTime::from_timestamp(unix as i64, 0).unwrap();
    t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .format("%H:%M:%S")
        .to_string()
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
