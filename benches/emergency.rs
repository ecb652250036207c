//! Emergency benchmark (not a timed test): an operator presses "air the emergency now" in the
//! console 20 times; each time, how long until its first sample is heard on a PulseAudio null
//! sink's monitor, with the daemon (`loaxa run`) and the console (`loaxa web`) running as on a
//! station. Prints the median and the worst, and the same for a baseline measured in the same
//! run: `aplay` of the same clip started at the press (the least any player could take).
//!
//! Run: `cargo bench --bench emergency`. Target: worst ≤ 1 s.

// The tests' harness, of which a bench uses a part (the suite itself keeps no dead helper).
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::pulse::{unix_now, Listener, Pulse};
use support::web::{Console, Part, OPERATOR};
use support::{TempStation, PLAN};

const PRESSES: usize = 20;
const CLIP: f64 = 0.5;

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (median, v.last().copied().unwrap_or(f64::NAN))
}

/// For each press, the delay (ms) to the first segment heard after it.
fn delays(listener: &Listener, pressed: &[f64]) -> Vec<f64> {
    let segs = listener.segments(0.01);
    pressed
        .iter()
        .map(|p| {
            segs.iter()
                .map(|s| s.onset)
                .find(|o| *o >= *p)
                .map_or(f64::NAN, |o| (o - p) * 1000.0)
        })
        .collect()
}

fn main() {
    let Some(pulse) = Pulse::start() else {
        return;
    };
    // Only the presses are heard: the one slot airs an empty queue.
    let st = TempStation::new(
        "output = \"default\"\nemergency_repeat = 1",
        &format!("{PLAN}[[slot]]\nid = \"s\"\nat = [\"03:00\"]\nqueue = \"q\"\n"),
    );
    support::tone_wav(&st.path().join("audio/q/bao.wav"), CLIP, 440.0, 48_000, 2);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loaxa"));
    pulse.env(&mut cmd);
    let mut daemon = cmd
        .current_dir(st.path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let console = Console::start(&st);
    let op = console.login(OPERATOR);
    let token = op.csrf.clone().unwrap();
    // The daemon is up once it publishes its status.
    let status = st.path().join("journal/status.json");
    for _ in 0..100 {
        if status.is_file() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));

    let listener = Listener::start(&pulse);
    let mut pressed = Vec::new();
    for _ in 0..PRESSES {
        pressed.push(unix_now());
        let r = op.post_multipart(
            &format!("/emergency?csrf={token}"),
            &[
                Part::Field("rel", "q/bao.wav"),
                Part::Field("confirm", "yes"),
            ],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        std::thread::sleep(Duration::from_secs(3));
    }
    let loaxa = delays(&listener, &pressed);
    drop(listener);
    unsafe {
        libc::kill(daemon.id() as i32, libc::SIGTERM);
    }
    let _ = daemon.wait();

    // Baseline: aplay of the same clip started at the press.
    let listener = Listener::start(&pulse);
    let mut started = Vec::new();
    for _ in 0..PRESSES {
        started.push(unix_now());
        let _ = pulse
            .command("aplay")
            .arg("-q")
            .arg(st.path().join("audio/q/bao.wav"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_secs(1));
    }
    let aplay = delays(&listener, &started);

    let heard = |v: &[f64]| v.iter().filter(|e| !e.is_nan()).count();
    let (lm, lw) = stats(loaxa.iter().copied().filter(|e| !e.is_nan()).collect());
    let (am, aw) = stats(aplay.iter().copied().filter(|e| !e.is_nan()).collect());
    println!(
        "console press to first sample on air, PulseAudio null sink via ALSA, {PRESSES} presses each"
    );
    println!(
        "  loaxa console + daemon   median {lm:6.0} ms  worst {lw:6.0} ms  heard {}/{}",
        heard(&loaxa),
        loaxa.len()
    );
    println!(
        "  aplay at the press       median {am:6.0} ms  worst {aw:6.0} ms  heard {}/{}",
        heard(&aplay),
        aplay.len()
    );
    println!(
        "  ratio loaxa/aplay        median {:.1}  worst {:.1}",
        lm / am,
        lw / aw
    );
    println!(
        "  target: worst ≤ 1000 ms: {}",
        if lw <= 1000.0 && heard(&loaxa) == loaxa.len() {
            "met"
        } else {
            "NOT met"
        }
    );
}
