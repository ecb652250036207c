//! Library scale benchmark (not a timed test): 10,000 small clips in 100 queue folders and
//! schedules with 1,000 slots, on the real binary (null output). Prints:
//! - cold ingest: from start until every clip is measured and airable (`library.json`);
//! - warm start: a restart with the library unchanged, from exec to READY=1 (NOTIFY_SOCKET);
//! - reaction: a file dropped in while running, from the end of its settle time (3 s after
//!   its last write) to its being airable, median of several drops;
//! - resident memory (VmRSS and peak VmHWM) with the whole library catalogued.
//!
//! Run: `cargo bench --bench library_scale` (LOAXA_BENCH_CLIPS overrides the 10,000).
//! Targets: warm start ≤ 1 s, reaction ≤ 1 s, RSS ≤ 50 MB. Cold ingest is reported.

// The tests' harness, of which a bench uses a part (the suite itself keeps no dead helper).
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{TempStation, PLAN};

const FOLDERS: usize = 100;
const SLOTS: usize = 1000;
const SETTLE: Duration = Duration::from_secs(3);

fn rss_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

/// Clip states in the daemon's `library.json`: (airable, total).
fn library_states(st: &TempStation) -> Option<(usize, usize, serde_json::Value)> {
    let text = std::fs::read_to_string(st.path().join("journal/library.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let mut ready = 0;
    let mut total = 0;
    for f in v["folders"].as_array()? {
        for c in f["clips"].as_array()? {
            total += 1;
            if c["state"] == "waiting" {
                ready += 1;
            }
        }
    }
    Some((ready, total, v))
}

fn state_of(v: &serde_json::Value, rel: &str) -> Option<String> {
    v["folders"].as_array()?.iter().find_map(|f| {
        f["clips"]
            .as_array()?
            .iter()
            .find(|c| c["rel"] == rel)
            .and_then(|c| c["state"].as_str().map(String::from))
    })
}

fn start(st: &TempStation, sock: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .current_dir(st.path())
        .args(["run", "--lang", "en"])
        .env("NOTIFY_SOCKET", sock)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_ready(sock: &UnixDatagram, deadline: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    let mut buf = [0u8; 4096];
    while t0.elapsed() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            if String::from_utf8_lossy(&buf[..n]).contains("READY=1") {
                return Some(t0.elapsed());
            }
        }
    }
    None
}

fn stop(mut child: Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let clips: usize = std::env::var("LOAXA_BENCH_CLIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    // 1,000 slots over the small hours of the day, each taking from one of the folders; all
    // far from now, so nothing airs during the benchmark.
    let mut schedule = String::from(PLAN);
    for i in 0..SLOTS {
        let secs = i * 3;
        schedule.push_str(&format!(
            r#"[[slot]]
id = "s{i}"
at = ["{:02}:{:02}:{:02}"]
queue = "q{:03}"
"#,
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            i % FOLDERS
        ));
    }
    let st = TempStation::new("", &schedule);
    let t = Instant::now();
    for i in 0..clips {
        let p = st
            .path()
            .join(format!("audio/q{:03}/clip-{i:05}.wav", i % FOLDERS));
        support::tone_wav(&p, 0.5, 440.0 + (i % 200) as f64, 8000, 1);
    }
    println!(
        "library: {clips} clips of 0.5 s in {FOLDERS} folders, {SLOTS} slots (made in {:.1} s)",
        t.elapsed().as_secs_f64()
    );

    let sock_path = st.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();

    // Cold: nothing measured yet.
    let t0 = Instant::now();
    let child = start(&st, &sock_path);
    let cold_ready = wait_ready(&sock, Duration::from_secs(120));
    let mut ingested = None;
    while t0.elapsed() < Duration::from_secs(1800) {
        if let Some((ready, total, _)) = library_states(&st) {
            if total == clips && ready == clips {
                ingested = Some(t0.elapsed());
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (rss_cold, hwm_cold) = rss_mb(child.id());
    stop(child);
    println!(
        "cold start: READY after {:.2} s; every clip measured after {}; RSS {:.1} MB (peak {:.1} MB)",
        cold_ready.map_or(f64::NAN, |d| d.as_secs_f64()),
        ingested.map_or_else(|| "NOT within 30 min".into(), |d| format!("{:.1} s ({:.2} ms/clip)", d.as_secs_f64(), d.as_secs_f64() * 1000.0 / clips as f64)),
        rss_cold,
        hwm_cold
    );

    // Warm: the same library again.
    let mut warm = Vec::new();
    for _ in 0..3 {
        let c = start(&st, &sock_path);
        warm.push(wait_ready(&sock, Duration::from_secs(60)).map_or(f64::NAN, |d| d.as_secs_f64()));
        stop(c);
    }
    let warm_median = median(warm.clone());
    let c = start(&st, &sock_path);
    let _ = wait_ready(&sock, Duration::from_secs(60));
    let all_airable = library_states(&st).map_or(0, |(r, _, _)| r);
    println!(
        "warm start: READY after {} s (median {:.3} s; target ≤ 1 s: {}); clips airable at READY: {all_airable}",
        warm.iter().map(|w| format!("{w:.3}")).collect::<Vec<_>>().join(", "),
        warm_median,
        if warm_median <= 1.0 { "met" } else { "NOT met" }
    );

    // Reaction: drop files in while running.
    let mut reactions = Vec::new();
    for k in 0..5 {
        let rel = format!("q{:03}/moi-{k}.wav", k * 7);
        let p = st.path().join("audio").join(&rel);
        support::tone_wav(&p, 0.5, 500.0, 8000, 1);
        // tone_wav backdates the mtime; a copy in progress would not, so mark it fresh.
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(std::time::SystemTime::now())
            .unwrap();
        let written = Instant::now();
        let settled = written + SETTLE;
        let mut airable = None;
        while written.elapsed() < Duration::from_secs(30) {
            if let Some((_, _, v)) = library_states(&st) {
                if state_of(&v, &rel).as_deref() == Some("waiting") {
                    airable = Some(Instant::now());
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        match airable {
            Some(a) => reactions.push(a.saturating_duration_since(settled).as_secs_f64()),
            None => reactions.push(f64::NAN),
        }
    }
    let (rss, hwm) = rss_mb(c.id());
    stop(c);
    let reaction = median(reactions.clone());
    println!(
        "settle → airable: {} s (median {:.3} s; target ≤ 1 s: {})",
        reactions
            .iter()
            .map(|r| format!("{r:.3}"))
            .collect::<Vec<_>>()
            .join(", "),
        reaction,
        if reaction <= 1.0 { "met" } else { "NOT met" }
    );
    println!(
        "memory with the library catalogued: RSS {rss:.1} MB, peak {hwm:.1} MB (target ≤ 50 MB: {})",
        if hwm.max(hwm_cold) <= 50.0 { "met" } else { "NOT met" }
    );
}
