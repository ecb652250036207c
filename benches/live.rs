//! Live benchmark (not a timed test): the delay from a voice at the station's microphone to
//! the loudspeakers while loaxa airs that microphone live (`live_input`, `loaxa live start`).
//! The microphone is a PulseAudio null sink's monitor, read through ALSA as the daemon reads a
//! real one; 10 short beeps are played into it, each one's onset found on the microphone's
//! monitor and on the air sink's. Prints the median and the worst, and the same for a
//! baseline measured in the same run: PulseAudio's own loopback (`module-loopback`) from the
//! same microphone to the same sink, the least a relay of that device could take.
//!
//! Then the same beeps from a browser's microphone (#26 part 3): Chromium's microphone is the
//! same PulseAudio source, the Record page's "Phát trực tiếp" sends it as Opus over the
//! console's WebSocket, and the daemon relays it from the console: mouth (the microphone's
//! monitor) to loudspeaker (the air sink's), both heard on one clock.
//!
//! Run: `cargo bench --bench live`. Targets (issue #26): station-input live ≤ 0.3 s; browser
//! live ≤ 1.5 s.

// The tests' harness, of which a bench uses a part (the suite itself keeps no dead helper).
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::pulse::{Listener, Pulse};
use support::TempStation;

const BEEPS: usize = 10;

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (median, v.last().copied().unwrap_or(f64::NAN))
}

/// Plays the beeps into the microphone; for each, the delay (ms) from its onset at the
/// microphone to the first onset on air after it.
fn beeps(pulse: &Pulse, beep: &std::path::Path) -> Vec<f64> {
    let mic = Listener::on(pulse, "mic.monitor");
    let air = Listener::start(pulse);
    for _ in 0..BEEPS {
        let _ = pulse
            .command("paplay")
            .args(["--device=mic"])
            .arg(beep)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(1200));
    }
    std::thread::sleep(Duration::from_secs(1));
    let heard = air.segments(0.01);
    mic.segments(0.01)
        .iter()
        .map(|m| {
            heard
                .iter()
                .map(|s| s.onset)
                .find(|o| *o >= m.onset - 0.05)
                .map_or(f64::NAN, |o| (o - m.onset) * 1000.0)
        })
        .collect()
}

fn main() {
    let Some(pulse) = Pulse::start() else {
        return;
    };
    pulse.capture_device("mic", "mic", 48_000);
    let dir = tempfile::tempdir().unwrap();
    let beep = dir.path().join("beep.wav");
    support::tone_wav(&beep, 0.3, 880.0, 48_000, 2);

    // Baseline: PulseAudio's loopback from the microphone to the air, at its lowest latency.
    let module = pulse
        .command("pactl")
        .args([
            "load-module",
            "module-loopback",
            "source=mic.monitor",
            "sink=air",
            "latency_msec=1",
        ])
        .output()
        .unwrap();
    let module_id = String::from_utf8_lossy(&module.stdout).trim().to_string();
    std::thread::sleep(Duration::from_secs(1));
    let baseline = beeps(&pulse, &beep);
    let _ = pulse
        .command("pactl")
        .args(["unload-module", &module_id])
        .status();

    // loaxa: the station's microphone live, with the default `buffer_frames` and a short one
    // (a live voice opens the output with at most 2048 whatever the setting: both should be
    // close).
    let loaxa: Vec<(u32, Vec<f64>)> = [8192, 2048]
        .iter()
        .map(|&frames| (frames, live(&pulse, &beep, frames)))
        .collect();

    let heard = |v: &[f64]| v.iter().filter(|e| !e.is_nan()).count();
    let (bm, bw) = stats(baseline.iter().copied().filter(|e| !e.is_nan()).collect());
    println!("microphone to air while live, PulseAudio null sinks via ALSA, {BEEPS} beeps each");
    for (frames, delays) in &loaxa {
        let (lm, lw) = stats(delays.iter().copied().filter(|e| !e.is_nan()).collect());
        println!(
            "  loaxa live, buffer_frames {frames:5}   median {lm:6.0} ms  worst {lw:6.0} ms  heard {}/{}  (loopback ratio {:.0}/{:.0}; goal worst ≤ 300 ms: {})",
            heard(delays),
            delays.len(),
            lm / bm,
            lw / bw,
            if lw <= 300.0 && heard(delays) == delays.len() { "met" } else { "NOT met" }
        );
    }
    println!(
        "  PulseAudio loopback                median {bm:6.0} ms  worst {bw:6.0} ms  heard {}/{}",
        heard(&baseline),
        baseline.len()
    );

    let Some(delays) = browser(&pulse, &beep) else {
        return;
    };
    let (m, w) = stats(delays.iter().copied().filter(|e| !e.is_nan()).collect());
    println!(
        "microphone to air, live from a browser (Chromium, Opus over the console's WebSocket)"
    );
    println!(
        "  loaxa browser live                 median {m:6.0} ms  worst {w:6.0} ms  heard {}/{}  (loopback ratio {:.0}/{:.0}; goal worst ≤ 1500 ms: {})",
        heard(&delays),
        delays.len(),
        m / bm,
        w / bw,
        if w <= 1500.0 && heard(&delays) == delays.len() { "met" } else { "NOT met" }
    );
}

/// A station going live from a browser whose microphone is the `mic` sink's monitor: the
/// beeps' delays.
fn browser(pulse: &Pulse, beep: &std::path::Path) -> Option<Vec<f64>> {
    pulse.browser_microphone("mic");
    let b = support::browser::Browser::with_pulse_microphone(1366, 768, pulse)?;
    let st = TempStation::new("output = \"default\"\nlive_max_minutes = 5", support::PLAN);
    let daemon = pulse.start_daemon(st.path());
    let status = st.path().join("journal/status.json");
    for _ in 0..100 {
        if status.is_file() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let console = support::web::Console::start(&st);
    let base = format!("http://{}", console.addr);
    b.log_in(&base, support::web::OPERATOR);
    b.go(&format!("{base}/record"));
    b.wait_for("#live-browser:not([hidden])", 10);
    b.click("#live-go");
    b.wait_for("#live-browser[data-state=on-air]", 15);
    std::thread::sleep(Duration::from_secs(3));
    let delays = beeps(pulse, beep);
    b.click("#live-end");
    std::thread::sleep(Duration::from_secs(2));
    support::pulse::stop_daemon(daemon);
    Some(delays)
}

/// A station airing its microphone live with the output's period `frames`: the beeps' delays.
fn live(pulse: &Pulse, beep: &std::path::Path, frames: u32) -> Vec<f64> {
    let st = TempStation::new(
        &format!(
            "output = \"default\"\nlive_input = \"alsa:mic\"\nlive_max_minutes = 5\nbuffer_frames = {frames}"
        ),
        support::PLAN,
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loaxa"));
    pulse.env(&mut cmd);
    let mut daemon = cmd
        .current_dir(st.path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = st.path().join("journal/status.json");
    for _ in 0..100 {
        if status.is_file() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let started = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .current_dir(st.path())
        .args(["live", "start", "--lang", "en"])
        .output()
        .unwrap();
    assert!(started.status.success(), "{started:?}");
    std::thread::sleep(Duration::from_secs(3));
    let delays = beeps(pulse, beep);
    let _ = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .current_dir(st.path())
        .args(["live", "stop", "--lang", "en"])
        .output();
    std::thread::sleep(Duration::from_secs(2));
    unsafe {
        libc::kill(daemon.id() as i32, libc::SIGTERM);
    }
    let _ = daemon.wait();
    delays
}
