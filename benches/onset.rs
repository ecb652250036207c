//! Onset benchmark (not a timed test): 20 scheduled starts aired by the loaxa daemon through
//! ALSA into a PulseAudio null sink, heard on the sink's monitor. Prints the median and worst
//! onset error, and the same for a baseline measured in the same run: `aplay` launched by a
//! precise sleep-until (the way a cron-plus-player station starts a clip, at best).
//!
//! Run: `cargo bench --bench onset`. Targets: median ≤ 20 ms, worst ≤ 50 ms.

// The tests' harness, of which a bench uses a part (the suite itself keeps no dead helper).
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::pulse::{unix_now, Listener, Pulse};
use support::{TempStation, PLAN};

const STARTS: usize = 20;
const SPACING: f64 = 2.0;
const CLIP: f64 = 0.5;

fn stats(mut errs: Vec<f64>) -> (f64, f64) {
    errs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = if errs.len() % 2 == 1 {
        errs[errs.len() / 2]
    } else {
        (errs[errs.len() / 2 - 1] + errs[errs.len() / 2]) / 2.0
    };
    let worst = errs.iter().fold(0.0f64, |w, e| w.max(e.abs()));
    (median, worst)
}

/// Onset errors (ms) of the segments heard against the instants due.
fn errors(listener: &Listener, due: &[f64]) -> Vec<f64> {
    let segs = listener.segments(0.01);
    due.iter()
        .map(|d| {
            segs.iter()
                .map(|s| (s.onset - d) * 1000.0)
                .filter(|e| (-200.0..500.0).contains(e))
                .fold(f64::NAN, |best, e| {
                    if best.is_nan() || e.abs() < best.abs() {
                        e
                    } else {
                        best
                    }
                })
        })
        .collect()
}

fn main() {
    let Some(pulse) = Pulse::start() else {
        return;
    };
    let tz = chrono_tz::Asia::Ho_Chi_Minh;

    // loaxa: one slot with 20 times, each airing a 0.5 s tone.
    let listener = Listener::start(&pulse);
    let base = (unix_now() + 4.0).floor();
    let due: Vec<f64> = (0..STARTS).map(|i| base + i as f64 * SPACING).collect();
    let at: Vec<String> = due
        .iter()
        .map(|t| {
            let t = chrono::DateTime::from_timestamp(*t as i64, 0).unwrap();
            format!("\"{}\"", t.with_timezone(&tz).format("%H:%M:%S"))
        })
        .collect();
    let st = TempStation::new(
        "output = \"default\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "bench"
at = [{}]
play = ["a.wav"]
"#,
            at.join(", ")
        ),
    );
    support::tone_wav(&st.path().join("audio/a.wav"), CLIP, 440.0, 48_000, 2);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loaxa"));
    pulse.env(&mut cmd);
    let mut child = cmd
        .current_dir(st.path())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs_f64(
        (due.last().unwrap() + 1.5 - unix_now()).max(0.0),
    ));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
    let loaxa = errors(&listener, &due);
    drop(listener);
    if loaxa.iter().any(|e| e.is_nan()) {
        // Show what the journal says of the starts that were not heard.
        let mut c = Command::new(env!("CARGO_BIN_EXE_loaxa"));
        let out = c
            .current_dir(st.path())
            .args(["log", "--lang", "en"])
            .output()
            .unwrap();
        println!(
            "not heard: {:?}\n{}",
            loaxa
                .iter()
                .enumerate()
                .filter(|(_, e)| e.is_nan())
                .map(|(i, _)| i)
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // Baseline: aplay started by a precise sleep-until, same clip, same path.
    let listener = Listener::start(&pulse);
    let base = (unix_now() + 2.0).floor();
    let due_b: Vec<f64> = (0..due.len()).map(|i| base + i as f64 * SPACING).collect();
    for d in &due_b {
        let wait = d - unix_now();
        if wait > 0.002 {
            std::thread::sleep(Duration::from_secs_f64(wait - 0.001));
        }
        while unix_now() < *d {
            std::hint::spin_loop();
        }
        let mut c = pulse.command("aplay");
        c.args(["-q"])
            .arg(st.path().join("audio/a.wav"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = c
            .spawn()
            .map(|mut ch| std::thread::spawn(move || ch.wait()));
    }
    std::thread::sleep(Duration::from_secs(2));
    let aplay = errors(&listener, &due_b);

    let heard = |v: &[f64]| v.iter().filter(|e| !e.is_nan()).count();
    let (lm, lw) = stats(loaxa.iter().copied().filter(|e| !e.is_nan()).collect());
    let (am, aw) = stats(aplay.iter().copied().filter(|e| !e.is_nan()).collect());
    println!(
        "onset error after the scheduled instant, PulseAudio null sink via ALSA, {} starts each",
        due.len()
    );
    println!(
        "  loaxa daemon             median {lm:+6.1} ms  worst {lw:6.1} ms  heard {}/{}",
        heard(&loaxa),
        loaxa.len()
    );
    println!(
        "  aplay by sleep-until     median {am:+6.1} ms  worst {aw:6.1} ms  heard {}/{}",
        heard(&aplay),
        aplay.len()
    );
    println!(
        "  ratio loaxa/aplay        median {:.2}  worst {:.2}",
        lm / am,
        lw / aw
    );
    println!(
        "  targets: median ≤ 20 ms, worst ≤ 50 ms: {}",
        if lm <= 20.0 && lw <= 50.0 && heard(&loaxa) == loaxa.len() {
            "met"
        } else {
            "NOT met"
        }
    );
}
