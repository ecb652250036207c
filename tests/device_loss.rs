//! The sound server disappearing mid-broadcast (PulseAudio killed, a USB card pulled): the
//! clip on air is journaled partial or failed with the device's reason, never completed; the
//! daemon keeps running, and once the server is back the next occurrence airs in full.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::pulse::{unix_now, Pulse};
use support::{TempStation, PLAN};

#[test]
fn a_sound_server_lost_mid_broadcast_fails_that_clip_and_the_next_occurrence_airs() {
    let pulse = Pulse::start();
    let base = (unix_now() + 3.0).floor();
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let at = |offset: f64| {
        chrono::DateTime::from_timestamp((base + offset) as i64, 0)
            .unwrap()
            .with_timezone(&tz)
            .format("%H:%M:%S")
            .to_string()
    };
    let st = TempStation::new(
        "output = \"default\"",
        &format!(
            "{PLAN}[[slot]]\nid = \"s\"\nat = [\"{}\", \"{}\"]\nplay = [\"a.wav\"]\n",
            at(0.0),
            at(8.0)
        ),
    );
    support::tone_wav(&st.path().join("audio/a.wav"), 3.0, 440.0, 48_000, 2);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loaxa"));
    pulse.env(&mut cmd);
    let child = cmd
        .current_dir(st.path())
        .args(["run", "--lang", "en"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // One second into the first broadcast, the sound server dies; it is back two seconds later.
    std::thread::sleep(Duration::from_secs_f64((base + 1.0 - unix_now()).max(0.0)));
    pulse.kill();
    std::thread::sleep(Duration::from_secs(2));
    pulse.restart();
    std::thread::sleep(Duration::from_secs_f64((base + 12.5 - unix_now()).max(0.0)));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");

    let log = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .current_dir(st.path())
        .args([
            "log",
            "--format",
            "json",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
        ])
        .output()
        .unwrap();
    let log: serde_json::Value = serde_json::from_slice(&log.stdout).unwrap();
    let records = log["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{err}");
    let first = &records[0];
    assert!(
        first["outcome"] == "partial" || first["outcome"] == "failed",
        "{log:#}\n{err}"
    );
    assert_eq!(first["reason"]["code"], "device_error", "{log:#}");
    assert!(
        first["clips"][0]["played_ms"].as_u64().unwrap() < 2500,
        "{log:#}"
    );
    assert_eq!(
        records[1]["outcome"], "completed",
        "the next occurrence airs once the server is back: {log:#}\n{err}"
    );
}

#[test]
fn a_sound_device_missing_at_start_is_looked_for_again_and_airs_once_back() {
    let pulse = Pulse::start();
    pulse.kill();
    let base = (unix_now() + 3.0).floor();
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let at = |offset: f64| {
        chrono::DateTime::from_timestamp((base + offset) as i64, 0)
            .unwrap()
            .with_timezone(&tz)
            .format("%H:%M:%S")
            .to_string()
    };
    let st = TempStation::new(
        "output = \"default\"",
        &format!(
            "{PLAN}[[slot]]\nid = \"s\"\nat = [\"{}\", \"{}\"]\nplay = [\"a.wav\"]\n",
            at(0.0),
            at(14.0)
        ),
    );
    support::tone_wav(&st.path().join("audio/a.wav"), 1.0, 440.0, 48_000, 2);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loaxa"));
    pulse.env(&mut cmd);
    let child = cmd
        .current_dir(st.path())
        .args(["run", "--lang", "en"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The sound server comes up five seconds after the first occurrence failed for want of it.
    std::thread::sleep(Duration::from_secs_f64((base + 5.0 - unix_now()).max(0.0)));
    pulse.restart();
    std::thread::sleep(Duration::from_secs_f64((base + 16.5 - unix_now()).max(0.0)));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("the sound output is back"),
        "looked for again before the next occurrence: {err}"
    );

    let log = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .current_dir(st.path())
        .args([
            "log",
            "--format",
            "json",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
        ])
        .output()
        .unwrap();
    let log: serde_json::Value = serde_json::from_slice(&log.stdout).unwrap();
    let records = log["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{err}");
    assert_eq!(records[0]["outcome"], "failed", "{log:#}");
    assert_eq!(records[0]["reason"]["code"], "no_device", "{log:#}");
    assert_eq!(records[1]["outcome"], "completed", "{log:#}\n{err}");
}
