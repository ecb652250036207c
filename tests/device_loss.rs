//! The sound server disappearing mid-broadcast (PulseAudio killed, a USB card pulled): the
//! clip on air is journaled partial or failed with the device's reason, never completed; the
//! daemon keeps running, and once the server is back the next occurrence airs in full.

use std::time::Duration;

use crate::support::bin::{log_json, Loaxa};
use crate::support::pulse::{hms, stop_daemon, unix_now, Pulse};
use crate::support::{TempStation, PLAN};

fn sleep_until(unix: f64) {
    std::thread::sleep(Duration::from_secs_f64((unix - unix_now()).max(0.0)));
}

#[test]
fn a_sound_server_lost_mid_broadcast_fails_that_clip_and_the_next_occurrence_airs() {
    crate::support::light();
    // (Light: its margins are a second or more and it measures no onset; its PulseAudio server
    // is its own.)
    let Some(pulse) = Pulse::start() else {
        return;
    };
    let base = (unix_now() + 3.0).floor();
    let st = TempStation::new(
        "output = \"default\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{}", "{}"]
play = ["a.wav"]
"#,
            hms(base),
            hms(base + 8.0)
        ),
    );
    crate::support::tone_wav(&st.path().join("audio/a.wav"), 3.0, 440.0, 48_000, 2);
    let child = pulse.start_daemon(st.path());

    // One second into the first broadcast, the sound server dies; it is back two seconds later.
    sleep_until(base + 1.0);
    pulse.kill();
    std::thread::sleep(Duration::from_secs(2));
    pulse.restart();
    sleep_until(base + 12.5);
    let err = stop_daemon(child);

    let log = log_json(&st);
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
    crate::support::light();
    // (Light: its margins are a second or more and it measures no onset; its PulseAudio server
    // is its own.)
    let Some(pulse) = Pulse::start() else {
        return;
    };
    pulse.kill();
    let base = (unix_now() + 3.0).floor();
    let st = TempStation::new(
        "output = \"default\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{}", "{}"]
play = ["a.wav"]
"#,
            hms(base),
            hms(base + 14.0)
        ),
    );
    crate::support::tone_wav(&st.path().join("audio/a.wav"), 1.0, 440.0, 48_000, 2);
    let child = pulse.start_daemon(st.path());
    sleep_until(base + 3.0);
    let lost = Loaxa::new(&st).args(["status", "--lang", "en"]).run().1;
    // The sound server comes up five seconds after the first occurrence failed for want of it.
    sleep_until(base + 5.0);
    pulse.restart();
    sleep_until(base + 16.5);
    let err = stop_daemon(child);
    assert!(lost.contains("SOUND OUTPUT LOST since"), "{lost}");
    assert!(
        err.contains("the sound output is back"),
        "looked for again before the next occurrence: {err}"
    );

    let log = log_json(&st);
    let records = log["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{err}");
    assert_eq!(records[0]["outcome"], "failed", "{log:#}");
    assert_eq!(records[0]["reason"]["code"], "no_device", "{log:#}");
    assert_eq!(records[1]["outcome"], "completed", "{log:#}\n{err}");
}
