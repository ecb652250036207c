//! Test harness: temporary stations with generated clips, and helpers to read what loaxa
//! journaled. Clips are written here in Rust so tests need no audio tools.

use std::path::{Path, PathBuf};

/// Writes a 16-bit PCM WAV tone at half scale: `secs` long, at `rate` Hz, `channels` channels.
pub fn tone_wav(path: &Path, secs: f64, freq: f64, rate: u32, channels: u16) {
    tone_wav_at(path, secs, freq, rate, channels, 0.5);
}

/// Writes a 16-bit PCM WAV sine of the given peak amplitude (0–1).
pub fn tone_wav_at(path: &Path, secs: f64, freq: f64, rate: u32, channels: u16, amplitude: f64) {
    let frames = (secs * f64::from(rate)).round() as u32;
    let data_len = frames * u32::from(channels) * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let t = f64::from(i) / f64::from(rate);
        let v = ((t * freq * std::f64::consts::TAU).sin() * amplitude * 32767.0) as i16;
        for _ in 0..channels {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, out).unwrap();
    // Old enough to count as fully copied.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(old).unwrap();
}

/// A new temporary folder for a test, under [`scratch_base`].
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("loaxa-test")
        .tempdir_in(scratch_base())
        .unwrap()
}

/// Where tests' temporary folders go: `LOAXA_TEST_TMP` if set; otherwise `/dev/shm`, a
/// file system in memory, when it has room; otherwise the system's temporary folder. The
/// journal syncs each write to disk (WAL, synchronous FULL), and on a test machine's disk
/// those syncs were half of a simulated month's time (the province's catch-up test: 33 s on
/// disk, 17 s in memory), and every daemon beside it waited on the same disk. No test can
/// check a sync short of pulling the power, as the private PostgreSQL runs with fsync off.
pub fn scratch_base() -> &'static Path {
    static BASE: std::sync::LazyLock<PathBuf> = std::sync::LazyLock::new(|| {
        if let Some(dir) = std::env::var_os("LOAXA_TEST_TMP") {
            return PathBuf::from(dir);
        }
        let shm = Path::new("/dev/shm");
        // A container's /dev/shm may be 64 MiB: the suite's folders (PostgreSQL clusters,
        // journals of 120,000 events) want a few hundred at once, and Chromium uses it too.
        let room = loaxa::files::free_bytes(shm).unwrap_or(0);
        if room >= 4 << 30 {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        }
    });
    &BASE
}

/// A station directory in a temporary folder.
pub struct TempStation {
    pub dir: tempfile::TempDir,
}

impl TempStation {
    /// A station with `config` (appended to a minimal base) and one schedule file.
    pub fn new(config_extra: &str, schedule: &str) -> TempStation {
        // A test that has not said it may share the machine runs alone (see `turn`).
        alone();
        let dir = scratch();
        let st = TempStation { dir };
        st.write(
            "config/loaxa.toml",
            &format!(
                "station = \"Đài thử\"\n{}{config_extra}\n",
                if config_extra.contains("output") {
                    ""
                } else {
                    "output = \"null\"\n"
                }
            ),
        );
        std::fs::create_dir_all(st.path().join("audio")).unwrap();
        st.write("schedules/test.toml", schedule);
        st
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn tone(&self, rel: &str, secs: f64) -> PathBuf {
        let p = self.path().join("audio").join(rel);
        tone_wav(&p, secs, 440.0, 8000, 1);
        p
    }

    pub fn journal(&self) -> PathBuf {
        self.path().join("journal/loaxa.db")
    }
}

/// A copy of the bundled example station (its config, schedules and audio), as a new user
/// gets it.
pub fn example_station() -> TempStation {
    alone();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let st = TempStation { dir: scratch() };
    for dir in ["config", "schedules", "audio"] {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(root.join(dir))
            .arg(st.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    st
}

/// A plan header for schedule texts.
pub const PLAN: &str =
    "[plan]\nid = \"kh\"\ntitle = \"Kế hoạch thử\"\n[topics]\na = \"Chủ đề A\"\n";
pub mod bin;
pub mod browser;
pub mod daemon;
pub mod icecast;
pub mod postgres;
pub mod proxy;
#[path = "pulse.rs"]
pub mod pulse;
pub mod tmpfs;
pub mod web;

/// Every test takes a turn on the machine, said first thing in its body, and holds it until its
/// thread ends. Many measure real time (an onset on the null sink, a daemon's reaction within a
/// second), so what may run beside what is decided here, not by the harness's thread count
/// (the harness runs several at a time, `.cargo/config.toml`, so that a turn that fits is
/// always waiting):
/// - [`alone`] (the default, taken by `TempStation::new`, by the servers and the real
///   daemon): nothing else runs. For margins tighter than a second, anything machine-wide (a
///   PulseAudio server, a mounted file system, thousands of sockets) or a heavy load (a browser).
/// - [`light`]: measures real time with margins of a second or more, but mostly sleeps (a few
///   per cent of a core: daemons waiting for their second, real-time relays, a private
///   PostgreSQL) and uses nothing machine-wide. Runs beside one other light test and beside
///   shared ones.
/// - [`shared`]: measures no real time (a fake clock, a database alone). Runs beside two other
///   shared tests and beside light ones. A shared test may keep both cores busy, so it yields
///   them: its thread, and every process it starts, runs at a lower CPU and I/O priority than
///   the light tests' daemons, whose seconds count.
static MACHINE: std::sync::Mutex<Machine> = std::sync::Mutex::new(Machine {
    alone: false,
    light: 0,
    shared: 0,
});
static FREED: std::sync::Condvar = std::sync::Condvar::new();

/// How many light tests run at once: four, on this 2-core machine and CI's. In session 17,
/// with three, a browser's live voice once timed out as gone, when the shared tests beside
/// them took twice the processor they take now and synced every journal write to disk. Since
/// those were fixed, the turn simulation of a whole run's measured times gives 543 s with two,
/// 470 s with three and 445 s with four, and whole runs took 564, 480 and 452 s.
const LIGHT_BESIDE: usize = 4;
/// How many shared tests run at once: three (a simulation of the turns from a whole run's
/// measured times gave 721 s with two and 654 s with three); they yield the processors to the
/// light tests beside them.
const SHARED_BESIDE: usize = 3;

/// Who holds the machine now.
struct Machine {
    alone: bool,
    light: usize,
    shared: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Alone,
    Light,
    Shared,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Alone => "alone",
            Kind::Light => "light",
            Kind::Shared => "shared",
        }
    }
}

impl Machine {
    fn admits(&self, kind: Kind) -> bool {
        !self.alone
            && match kind {
                Kind::Alone => self.light == 0 && self.shared == 0,
                Kind::Light => self.light < LIGHT_BESIDE,
                Kind::Shared => self.shared < SHARED_BESIDE,
            }
    }

    fn count(&mut self, kind: Kind, taken: bool) {
        match kind {
            Kind::Alone => self.alone = taken,
            Kind::Light if taken => self.light += 1,
            Kind::Light => self.light -= 1,
            Kind::Shared if taken => self.shared += 1,
            Kind::Shared => self.shared -= 1,
        }
    }
}

/// When the first test asked for its turn.
static RUN_BEGAN: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

/// A test's turn: held, not read. Dropping it (when the test's thread ends) gives the machine
/// back, and writes how long it was held (and when it began) to the file `LOAXA_TEST_TIMES`
/// names (if set): where the suite's time goes, for whoever makes it faster.
struct Turn {
    kind: Kind,
    since: std::time::Instant,
}

impl Turn {
    fn take(kind: Kind) -> Turn {
        std::sync::LazyLock::force(&RUN_BEGAN);
        let mut m = MACHINE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while !m.admits(kind) {
            m = FREED
                .wait(m)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        m.count(kind, true);
        drop(m);
        if kind == Kind::Shared {
            yield_to_real_time();
        }
        Turn {
            kind,
            since: std::time::Instant::now(),
        }
    }
}

/// This thread, and every process it starts from now on (they inherit it), runs at nice 10
/// and in the lowest best-effort I/O class: the light tests' daemons beside it, at nice 0,
/// have the processor and the disk first whenever they need them. (Each test has its own
/// thread, so nothing is given back.)
fn yield_to_real_time() {
    // SAFETY: plain system calls on this thread's own id.
    let tid = unsafe { libc::gettid() };
    let niced = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10) };
    assert_eq!(niced, 0, "setpriority: {}", std::io::Error::last_os_error());
    // ioprio_set(IOPRIO_WHO_PROCESS, tid, IOPRIO_CLASS_BE << 13 | 7)
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const BEST_EFFORT_LOWEST: libc::c_long = (2 << 13) | 7;
    let ioniced = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            libc::c_long::from(tid),
            BEST_EFFORT_LOWEST,
        )
    };
    assert_eq!(
        ioniced,
        0,
        "ioprio_set: {}",
        std::io::Error::last_os_error()
    );
}

impl Drop for Turn {
    fn drop(&mut self) {
        MACHINE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .count(self.kind, false);
        FREED.notify_all();
        let Some(path) = std::env::var_os("LOAXA_TEST_TIMES") else {
            return;
        };
        // When the turn began, from the run's first: where the run's time went, in order.
        let began = self.since.saturating_duration_since(*RUN_BEGAN);
        let line = format!(
            "{:.1}\t{}\t{}\t{:.1}\n",
            self.since.elapsed().as_secs_f64(),
            self.kind.label(),
            std::thread::current().name().unwrap_or("?"),
            began.as_secs_f64()
        );
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

thread_local! {
    static TURN: std::cell::RefCell<Option<Turn>> = const { std::cell::RefCell::new(None) };
}

/// Takes a turn of this kind first thing in a test; later calls (a server's, a station's)
/// keep the turn the test took.
fn turn(kind: Kind) {
    TURN.with(|t| {
        let mut t = t.borrow_mut();
        match &*t {
            None => *t = Some(Turn::take(kind)),
            Some(held) => assert!(
                kind == Kind::Alone || held.kind == kind,
                "support::{}() comes first in a test",
                kind.label()
            ),
        }
    });
}

/// This test runs with nothing else beside it (unless it already has its turn).
pub fn alone() {
    turn(Kind::Alone);
}

/// This test needs the machine to itself whatever turn it took: it measures onsets to tens of
/// milliseconds, or holds something machine-wide.
pub fn only_alone(why: &str) {
    TURN.with(|t| {
        let held = t.borrow().as_ref().map(|t| t.kind);
        assert!(
            held.is_none_or(|k| k == Kind::Alone),
            "this test says support::{}() but {why}: it must say support::alone()",
            held.map_or("", Kind::label)
        );
    });
    alone();
}

/// This test measures real time with margins of a second or more and mostly sleeps: it may
/// run beside one other like it. Said before anything else the test does.
pub fn light() {
    turn(Kind::Light);
}

/// This test measures no real time: it may run beside others like it. Said before anything
/// else the test does.
pub fn shared() {
    turn(Kind::Shared);
}

/// A test that cannot run here (it needs root, or a kernel feature) says why and is skipped —
/// except under CI (`CI=true`), where the machine is set up for it and a skip would hide a
/// test that never ran: there it fails.
pub fn skip(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true, and this test cannot run here: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// Whether every program named is installed (on `PATH`); if not, [`skip`] says which: one
/// policy for every server a test starts.
pub fn installed(programs: &[&str]) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| !std::env::split_paths(&path).any(|d| d.join(p).is_file()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    skip(&format!(
        "{} not installed (scripts/setup installs it)",
        missing.join(", ")
    ));
    false
}

/// Writes a WAV file of digital silence, `secs` long (8 kHz mono), already settled.
pub fn silence_wav(path: &Path, secs: f64) {
    tone_wav(path, secs, 0.0, 8000, 1);
}

/// The SHA-256 of some bytes, as hex (as the journal writes it).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
