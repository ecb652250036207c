//! Footprint benchmark (not a timed test): loaxa as a whole process on the PulseAudio path —
//! idle, then airing an MP3 — against mpg123 playing the same MP3 through the same path in the
//! same run. Prints resident memory (peak, from VmHWM) and CPU time (from /proc), and ratios.
//!
//! Run: `cargo bench --bench footprint` (needs mpg123: `apt-get install mpg123`).
//! Targets: idle RSS ≤ 10 MB and CPU ≤ 0.1 %; airing RSS ≤ 20 MB, CPU time ≤ 1.5 × mpg123's.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::pulse::{unix_now, Pulse};
use support::{TempStation, PLAN};

const IDLE: Duration = Duration::from_secs(20);
/// The clip is aired this many times back to back by both players: a minute of audio, so
/// CPU times (counted in 10 ms ticks) are large enough to compare.
const REPEAT: usize = 6;

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// (current RSS, peak RSS) in MB.
fn rss_mb(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some((kb("VmRSS:")? / 1024.0, kb("VmHWM:")? / 1024.0))
}

/// Watches a process until it exits: its last CPU time and peak RSS.
fn watch_until_exit(pid: u32) -> (f64, f64) {
    let (mut cpu, mut peak) = (0.0, 0.0);
    while let (Some(c), Some((_, p))) = (cpu_seconds(pid), rss_mb(pid)) {
        cpu = c;
        peak = p;
        std::thread::sleep(Duration::from_millis(20));
    }
    (cpu, peak)
}

fn main() {
    let mp3 =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/cchc/01-vai-tro-cchc.mp3");
    let pulse = Pulse::start();

    // mpg123 through ALSA's pulse plugin, as loaxa goes.
    let mut c = pulse.command("mpg123");
    c.args(["-q", "-o", "alsa"])
        .args(std::iter::repeat_n(&mp3, REPEAT))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            println!("mpg123 is needed for the baseline ({e}): apt-get install mpg123");
            return;
        }
    };
    let t = Instant::now();
    let (mpg_cpu, mpg_peak) = watch_until_exit(child.id());
    let mut child = child;
    let _ = child.wait();
    let mpg_wall = t.elapsed().as_secs_f64();

    // loaxa: idle for a while, then one slot airing the same file.
    let at = (unix_now() + IDLE.as_secs_f64() + 4.0).floor();
    let t_at = chrono::DateTime::from_timestamp(at as i64, 0)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    let st = TempStation::new(
        &format!(
            "output = \"default\"\n{}",
            std::env::var("LOAXA_BENCH_CONFIG").unwrap_or_default()
        ),
        &format!(
            "{PLAN}[[slot]]\nid = \"s\"\nat = [\"{}\"]\nplay = [{}]\n",
            t_at.format("%H:%M:%S"),
            ["\"tin.mp3\""; REPEAT].join(", ")
        ),
    );
    std::fs::copy(&mp3, st.path().join("audio/tin.mp3")).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(st.path().join("audio/tin.mp3"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loaxa"));
    pulse.env(&mut cmd);
    let mut child = cmd
        .current_dir(st.path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    std::thread::sleep(Duration::from_secs(2));
    let idle_cpu0 = cpu_seconds(pid).unwrap();
    std::thread::sleep(IDLE);
    let idle_cpu = cpu_seconds(pid).unwrap() - idle_cpu0;
    let (idle_rss, _) = rss_mb(pid).unwrap();
    let air_cpu0 = cpu_seconds(pid).unwrap();
    // Until the broadcast is over (the clip plus the device closing).
    let end = at + mpg_wall + 2.0;
    let mut air_peak = 0.0f64;
    while unix_now() < end {
        if let Some((_, p)) = rss_mb(pid) {
            air_peak = air_peak.max(p);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let air_cpu = cpu_seconds(pid).unwrap() - air_cpu0;
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let _ = child.wait();

    let idle_pct = idle_cpu / IDLE.as_secs_f64() * 100.0;
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "footprint on the PulseAudio path (ALSA pulse plugin), the same MP3 {REPEAT} times ({:.1} s)",
        mpg_wall
    );
    println!("  mpg123          peak RSS {mpg_peak:5.1} MB  CPU {mpg_cpu:5.2} s");
    println!("  loaxa idle      RSS {idle_rss:5.1} MB  CPU {idle_pct:.3} % over {} s   targets ≤ 10 MB: {}, ≤ 0.1 %: {}", IDLE.as_secs(), verdict(idle_rss <= 10.0), verdict(idle_pct <= 0.1));
    println!(
        "  loaxa airing    peak RSS {air_peak:5.1} MB  CPU {air_cpu:5.2} s   ratio to mpg123: RSS {:.1}, CPU {:.2}   targets ≤ 20 MB: {}, CPU ≤ 1.5×: {}",
        air_peak / mpg_peak,
        air_cpu / mpg_cpu.max(0.01),
        verdict(air_peak <= 20.0),
        verdict(air_cpu <= 1.5 * mpg_cpu)
    );
}
