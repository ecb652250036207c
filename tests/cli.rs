//! The real `loaxa` binary on temporary stations: what an operator types, what they see,
//! and what the journal says afterwards.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::support::bin::{in_secs, loaxa, log_json, start_run, stop, Loaxa};
use crate::support::{TempStation, PLAN};

#[test]
fn validate_reports_every_problem_with_its_location_and_exits_2() {
    crate::support::shared();
    let schedule = format!(
        r#"{PLAN}[[slot]]
id = "sang"
at = ["06:00", "24:30"]
days = "mon-fry"
play = ["khong-co.mp3", "../../etc/passwd", "hong.mp3"]
queue = "khong-co-thu-muc"

[[slot]]
id = "sang"
at = ["07:00"]
play = ["tot.wav"]
from = 2025-10-01
until = 2025-09-01
"#
    );
    let st = TempStation::new("", &schedule);
    st.tone("tot.wav", 0.5);
    st.write("audio/hong.mp3", "not audio at all");
    let (code, out, err) = Loaxa::new(&st).args(["validate", "--lang", "en"]).run();
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    for expected in [
        "schedules/test.toml:8:16: error: invalid time “24:30”",
        "schedules/test.toml:9:8: error: unknown day “mon-fry”",
        "schedules/test.toml:10:9: error: no file “khong-co.mp3”",
        "schedules/test.toml:10:25: error: path “../../etc/passwd” escapes the audio/ folder",
        "schedules/test.toml:10:45: error: “hong.mp3”: damaged or not audio",
        "schedules/test.toml:11:9: error: no queue folder “khong-co-thu-muc”",
        "schedules/test.toml:14:6: error: duplicate slot id “sang” (already used on line 7)",
        "schedules/test.toml:18:9: error: empty date range",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    // The offending line is shown under each message, as a compiler does.
    assert!(err.contains("8 | at = [\"06:00\", \"24:30\"]"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn validate_speaks_vietnamese_by_default_and_passes_a_good_station() {
    crate::support::shared();
    let st = TempStation::new(
        "",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["25:00"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.2);
    let (code, _, err) = Loaxa::new(&st).args(["validate"]).run();
    assert_eq!(code, 2);
    assert!(err.contains("lỗi: giờ không hợp lệ «25:00»"), "{err}");

    st.write(
        "schedules/test.toml",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
play = ["a.wav"]
"#
        ),
    );
    let (code, out, err) = Loaxa::new(&st).args(["validate"]).run();
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("hợp lệ: 1 tệp lịch phát, 1 phiên")),
        "{out}"
    );
}

#[test]
fn validate_flags_clips_far_from_the_loudness_target_as_warnings() {
    crate::support::shared();
    let st = TempStation::new(
        "loudness_target = -16.0\nloudness_margin = 3.0",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
play = ["ok.wav", "nho.wav"]
"#
        ),
    );
    crate::support::tone_wav_at(&st.path().join("audio/ok.wav"), 2.0, 1000.0, 8000, 1, 0.22);
    crate::support::tone_wav_at(&st.path().join("audio/nho.wav"), 2.0, 1000.0, 8000, 1, 0.01);
    let (code, out, err) = Loaxa::new(&st).args(["validate", "--lang", "en"]).run();
    assert_eq!(code, 0, "warnings do not fail validation: {err}");
    assert!(
        err.contains("schedules/test.toml:9:19: warning: “nho.wav”: loudness"),
        "{err}"
    );
    assert!(
        err.contains("LU from the station's -16 LUFS target"),
        "{err}"
    );
    assert!(!err.contains("“ok.wav”"), "{err}");
    // "valid:" at the start of the line: "invalid" must not pass for it.
    assert!(
        out.lines()
            .any(|l| l.starts_with("valid: 1 schedule file(s)")),
        "{out}"
    );
}

#[test]
fn a_bad_configuration_key_is_located_and_a_named_missing_config_is_an_error() {
    crate::support::shared();
    let st = TempStation::new(
        "volumne = 1.0",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
play = ["a.wav"]
"#
        ),
    );
    let (code, _, err) = Loaxa::new(&st).args(["validate", "--lang", "en"]).run();
    assert_eq!(code, 2);
    assert!(
        err.contains("config/loaxa.toml:3:1: error: unknown field `volumne`"),
        "{err}"
    );

    let (code, _, err) = Loaxa::new(&st)
        .args(["validate", "--lang", "en", "--config", "nowhere/loaxa.toml"])
        .run();
    assert_eq!(code, 2);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn the_daemon_airs_on_the_second_into_a_wav_file_and_journals_it_in_full() {
    crate::support::alone();
    let (t, at) = in_secs(3);
    let st = TempStation::new(
        "output = \"wav:journal/air.wav\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
title = "Bản tin"
at = ["{t}"]
topic = "a"
intro = "intro.wav"
play = ["a.wav"]
outro = "outro.wav"
"#
        ),
    );
    st.tone("intro.wav", 0.5);
    st.tone("a.wav", 1.0);
    st.tone("outro.wav", 0.5);
    let child = start_run(&st, &["--lang", "en"]);
    std::thread::sleep(Duration::from_secs(6));
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("NOTE: the output is WAV file"),
        "the WAV stand-in must be said on screen: {err}"
    );

    let log = log_json(&st);
    let r = &log["records"][0];
    assert_eq!(r["outcome"], "completed", "{log:#}");
    assert_eq!(r["topic"], "a");
    assert_eq!(r["priority"], "normal");
    let started = chrono::DateTime::parse_from_rfc3339(r["started_at"].as_str().unwrap()).unwrap();
    let late = (started.with_timezone(&chrono::Utc) - at).num_milliseconds();
    assert!(
        (0..100).contains(&late),
        "started {late} ms after its second"
    );
    let clips = r["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 3);
    for c in clips {
        assert_eq!(c["outcome"], "completed");
        assert_eq!(c["sha256"].as_str().unwrap().len(), 64);
        assert!(c["played_ms"].as_u64().unwrap() + 30 >= c["duration_ms"].as_u64().unwrap());
    }
    assert_eq!(
        clips[1]["topic"], "a",
        "a clip serves its slot's plan item unless it names its own"
    );
    assert_eq!(clips[0]["role"], "intro");
    assert_eq!(clips[2]["role"], "outro");
    // What aired: 2 s of audio, back to back, in the WAV file (44.1 kHz stereo 16-bit).
    let bytes = std::fs::metadata(st.path().join("journal/air.wav"))
        .unwrap()
        .len();
    let secs = (bytes - 44) as f64 / (44_100.0 * 4.0);
    assert!((secs - 2.0).abs() < 0.05, "{secs} s aired");
}

#[test]
fn occurrences_due_while_loaxa_was_down_are_journaled_missed_with_the_reason() {
    crate::support::light();
    // Due after the first run's lead time (1.5 s) has begun, so that run never prepares it.
    let (t, _) = in_secs(4);
    let st = TempStation::new(
        "grace_seconds = 1",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{t}"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.2);
    // loaxa runs once (the journal learns it was alive), then is down over the slot.
    let child = loaxa(&st)
        .arg("run")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(stop(child).0, 0);
    std::thread::sleep(Duration::from_secs(6));
    let child = start_run(&st, &["--lang", "en"]);
    std::thread::sleep(Duration::from_millis(800));
    let (code, err) = stop(child);
    assert_eq!(code, 0);
    assert!(
        err.contains("fell due while loaxa was not running"),
        "{err}"
    );
    let log = log_json(&st);
    assert_eq!(log["records"][0]["outcome"], "missed");
    assert_eq!(log["records"][0]["reason"]["code"], "not_running");

    let (code, out, _) = Loaxa::new(&st)
        .args([
            "log",
            "--format",
            "csv",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
        ])
        .run();
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .contains(",missed,loaxa không chạy lúc đó,"),
        "{out}"
    );
}

#[test]
fn play_airs_one_file_now_journaled_as_manual_and_env_overrides_the_output() {
    crate::support::shared();
    let st = TempStation::new(
        "output = \"default\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.4);
    let (code, out, err) = Loaxa::new(&st)
        .args(["play", "audio/a.wav", "--lang", "en"])
        .env("LOAXA_OUTPUT", "wav:out.wav")
        .binary()
        .run();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("completed"), "{out}");
    assert!(
        st.path().join("out.wav").is_file(),
        "LOAXA_OUTPUT must win over the file"
    );
    let log = log_json(&st);
    let r = &log["records"][0];
    assert_eq!(r["manual"], true);
    assert_eq!(r["clips"][0]["rel"], "a.wav");
    assert_eq!(
        r["output"],
        format!("wav:{}", st.path().join("out.wav").display())
    );
}

#[test]
fn play_with_no_sound_device_is_an_error_the_operator_sees_and_the_journal_records() {
    crate::support::shared();
    let st = TempStation::new(
        "output = \"device:khong-ton-tai\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.2);
    let (code, out, err) = Loaxa::new(&st)
        .args(["play", "a.wav", "--lang", "en"])
        .binary()
        .run();
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("failed — no sound device"), "{out}");
    assert_eq!(log_json(&st)["records"][0]["outcome"], "failed");
}

#[test]
fn next_lists_upcoming_occurrences_with_their_clips_in_the_station_zone() {
    crate::support::shared();
    let st = TempStation::new(
        "timezone = \"Asia/Ho_Chi_Minh\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00", "17:00"]
play = ["a.wav"]
queue = "q"
take = 1
"#
        ),
    );
    st.tone("a.wav", 1.0);
    st.tone("q/1.wav", 1.0);
    st.tone("q/2.wav", 1.0);
    let (code, out, err) = Loaxa::new(&st)
        .args(["next", "--days", "2", "--lang", "en"])
        .run();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Asia/Ho_Chi_Minh, UTC+07:00"), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("kh/s")).collect();
    assert_eq!(rows.len(), 4, "{out}");
    // Queue rotation is simulated: consecutive occurrences take turns.
    assert!(
        rows[0].contains("q/1.wav") && rows[1].contains("q/2.wav") && rows[2].contains("q/1.wav"),
        "{out}"
    );
    assert!(rows
        .iter()
        .all(|r| r.contains("06:00:00") || r.contains("17:00:00")));
}

#[test]
fn usage_errors_exit_2_and_help_exists_everywhere() {
    crate::support::shared();
    let st = TempStation::new("", PLAN);
    let (code, _, _) = Loaxa::new(&st).args(["no-such-command"]).binary().run();
    assert_eq!(code, 2);
    for cmd in ["run", "validate", "next", "log", "play"] {
        for (lang, usage) in [("vi", "Cách dùng: loaxa"), ("en", "Usage: loaxa")] {
            let (code, out, _) = Loaxa::new(&st)
                .args([cmd, "--help", "--lang", lang])
                .binary()
                .run();
            assert_eq!(code, 0);
            assert!(out.contains(usage), "{cmd} {lang}: {out}");
        }
    }
    // Help follows the station's language without a flag.
    let (_, out, _) = Loaxa::new(&st).args(["--help"]).binary().run();
    assert!(out.contains("Lệnh:") && out.contains("Tùy chọn:"), "{out}");
    let _ = Path::new("");
}

#[test]
fn a_schedule_saved_while_the_daemon_runs_airs_without_a_restart_and_a_bad_one_is_reported() {
    crate::support::light();
    let st = TempStation::new(
        "",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.3);
    let child = start_run(&st, &["--lang", "en"]);
    std::thread::sleep(Duration::from_millis(700));
    // A broken save: rejected with its location, the old version stays.
    st.write(
        "schedules/test.toml",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["6h"]
play = ["a.wav"]
"#
        ),
    );
    std::thread::sleep(Duration::from_millis(1500));
    // A good save: a slot three seconds from now.
    let (t, _) = in_secs(3);
    st.write(
        "schedules/test.toml",
        &format!(
            r#"{PLAN}[[slot]]
id = "moi"
at = ["{t}"]
play = ["a.wav"]
"#
        ),
    );
    std::thread::sleep(Duration::from_secs(5));
    // A hang-up (a closed terminal, `systemctl reload`) does not end the station.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGHUP);
    }
    std::thread::sleep(Duration::from_millis(300));
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("SIGHUP"), "{err}");
    assert!(
        err.contains("rejected, its previous version stays in force"),
        "{err}"
    );
    assert!(
        err.contains("test.toml:8:7: error: invalid time “6h”"),
        "{err}"
    );
    assert!(err.contains("schedule now in force"), "{err}");
    let log = log_json(&st);
    assert_eq!(log["records"][0]["slot"], "moi", "{log:#}");
    assert_eq!(log["records"][0]["outcome"], "completed");
}

#[test]
fn status_shows_the_daemon_what_is_on_air_rejected_schedules_and_each_queued_clip() {
    crate::support::light();
    let (t, _) = in_secs(3);
    let st = TempStation::new(
        "",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
title = "Bản tin"
at = ["{t}"]
queue = "q"
take = 1
"#
        ),
    );
    // Long enough that the broken schedule below is seen (its settle) while it is on air.
    st.tone("q/1-tin.wav", 6.0);
    st.tone("q/2-tin.wav", 1.0);
    st.write("audio/q/3-moi.wav.part", "copying");
    let status = || {
        let (code, out, err) = Loaxa::new(&st).args(["status", "--lang", "en"]).run();
        assert_eq!(code, 0, "{err}");
        out
    };
    assert!(status().contains("loaxa: NOT RUNNING (never ran)"));
    let child = start_run(&st, &["--lang", "en"]);
    std::thread::sleep(Duration::from_millis(1000));
    // A broken copy of another schedule, saved while running.
    st.write(
        "schedules/zz.toml",
        r#"[plan]
id = "x"
title = "t"
[[slot]]
id = "y"
at = ["99:00"]
play = ["q/2-tin.wav"]
"#,
    );
    // (Polled, not slept for: with fixed sleeps, a loaded machine once took the status
    // after the clip had ended.)
    let mut during = String::new();
    crate::support::web::eventually(15, "the clip on air and the broken file rejected", || {
        during = status();
        during.contains("On air: kh/s") && during.contains("Rejected schedule")
    });
    crate::support::web::eventually(15, "the clip aired in full", || {
        status().contains("On air: nothing")
    });
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    assert!(during.contains("loaxa: running (pid"), "{during}");
    assert!(during.contains("On air: kh/s “Bản tin”"), "{during}");
    assert!(
        during.contains("1-tin.wav") && during.contains("ON AIR"),
        "{during}"
    );
    assert!(
        during.contains("2-tin.wav") && during.contains("waiting — aired 0 time(s)"),
        "{during}"
    );
    assert!(
        during.contains("3-moi.wav.part") && during.contains("still being copied"),
        "{during}"
    );
    assert!(
        during.contains("Rejected schedule or configuration files"),
        "{during}"
    );
    assert!(
        during.contains("zz.toml:6:7: error: invalid time “99:00”"),
        "{during}"
    );
    let after = status();
    assert!(after.contains("loaxa: NOT RUNNING (last active"), "{after}");
    assert!(
        after.contains("1-tin.wav") && after.contains("aired 1 time(s)"),
        "{after}"
    );
}

#[test]
fn play_now_as_an_emergency_cuts_the_running_daemon_or_airs_here_when_none_runs() {
    crate::support::shared();
    // No daemon: it airs here, repeated, with emergency priority.
    let st = TempStation::new(
        "emergency_repeat = 2",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 6.0);
    st.tone("canh-bao.wav", 0.3);
    let (code, out, err) = Loaxa::new(&st)
        .args([
            "play",
            "--now",
            "--priority",
            "emergency",
            "audio/canh-bao.wav",
            "--lang",
            "en",
        ])
        .binary()
        .run();
    assert_eq!(code, 0, "{out}{err}");
    let log = log_json(&st);
    assert_eq!(log["records"][0]["priority"], "emergency");
    assert_eq!(log["records"][0]["clips"].as_array().unwrap().len(), 2);

    // A running daemon: handed over, it cuts what is on air.
    let (t, _) = in_secs(2);
    st.write(
        "schedules/test.toml",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{t}"]
play = ["a.wav"]
"#
        ),
    );
    let child = start_run(&st, &["--lang", "en"]);
    std::thread::sleep(Duration::from_millis(3500));
    // Regression: the emergency door did not exist until `play` made it, and the file landed
    // in it before the watcher watched it: under load, unseen for the 30 s until a rescan.
    // The running daemon keeps its doors.
    for door in ["khan-cap", "phat-ngay"] {
        assert!(st.path().join("audio").join(door).is_dir(), "{door}");
    }
    let (code, out, err) = Loaxa::new(&st)
        .args([
            "play",
            "--now",
            "--priority",
            "emergency",
            "audio/canh-bao.wav",
            "--lang",
            "en",
        ])
        .binary()
        .run();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("handed canh-bao.wav to the running loaxa"),
        "{out}"
    );
    // The emergency aired by the daemon (the first record is the one aired here above),
    // however slow this machine is today.
    let daemon_aired_it = || {
        let log = log_json(&st);
        log["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["priority"] == "emergency" && r["outcome"] == "completed")
            .count()
            >= 2
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !daemon_aired_it() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    let log = log_json(&st);
    let records = log["records"].as_array().unwrap();
    let normal = records.iter().find(|r| r["slot"] == "s").unwrap();
    assert_eq!(normal["outcome"], "interrupted", "{log:#}");
    let urgent: Vec<_> = records
        .iter()
        .filter(|r| r["priority"] == "emergency")
        .collect();
    assert_eq!(urgent.len(), 2, "{log:#}");
    assert!(urgent.iter().all(|r| r["outcome"] == "completed"));
    assert!(st
        .path()
        .join("audio/khan-cap/da-phat/canh-bao.wav")
        .is_file());
}

#[test]
fn play_while_the_daemon_runs_is_handed_to_it_and_airs_after_what_is_on_air() {
    crate::support::light();
    // The sound check must not open the output a second time, overwrite the daemon's
    // status with its own, or cut what is on air: it waits its turn, journaled manual.
    let (t, _) = in_secs(3);
    let st = TempStation::new(
        "output = \"wav:journal/air.wav\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{t}"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 4.0);
    st.tone("thu-loa.wav", 0.5);
    let child = start_run(&st, &["--lang", "en"]);
    // On air by now (the slot starts 3 s after it was written).
    std::thread::sleep(Duration::from_millis(4500));
    let status_path = st.path().join("journal/status.json");
    let daemon_pid = |p: &std::path::Path| -> u64 {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["pid"].as_u64().unwrap()
    };
    assert_eq!(daemon_pid(&status_path), u64::from(child.id()));
    let (code, out, err) = Loaxa::new(&st)
        .args(["play", "audio/thu-loa.wav", "--lang", "en"])
        .binary()
        .run();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("handed thu-loa.wav to the running loaxa"),
        "{out}"
    );
    assert_eq!(
        daemon_pid(&status_path),
        u64::from(child.id()),
        "play must not write the daemon's status"
    );
    let played = || {
        log_json(&st)["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["manual"] == true && r["outcome"] == "completed")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !played() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    let log = log_json(&st);
    let records = log["records"].as_array().unwrap();
    let planned = records.iter().find(|r| r["slot"] == "s").unwrap();
    assert_eq!(planned["outcome"], "completed", "not cut: {log:#}");
    let manual = records.iter().find(|r| r["manual"] == true).unwrap();
    assert_eq!(manual["outcome"], "completed", "{log:#}");
    assert_eq!(manual["clips"][0]["rel"], "phat-ngay/thu-loa.wav");
    let at = |v: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_default()).unwrap()
    };
    assert!(
        at(&manual["started_at"]) >= at(&planned["ended_at"]),
        "the manual play waits for the broadcast on air: {log:#}"
    );
    assert!(st
        .path()
        .join("audio/phat-ngay/da-phat/thu-loa.wav")
        .is_file());
    assert!(!status_path.exists(), "removed at stop");
}

#[test]
fn play_without_a_daemon_airs_here_and_writes_none_of_the_daemons_files() {
    crate::support::shared();
    let st = TempStation::new(
        "",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
queue = "q"
"#
        ),
    );
    st.write("audio/q/queue.toml", "mode = \"once\"\n");
    st.tone("q/1.wav", 0.3);
    let (code, out, err) = Loaxa::new(&st)
        .args(["play", "audio/q/1.wav", "--lang", "en"])
        .binary()
        .run();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("completed"), "{out}");
    assert_eq!(log_json(&st)["records"][0]["manual"], true);
    for file in ["status.json", "library.json"] {
        assert!(
            !st.path().join("journal").join(file).exists(),
            "{file} written by play"
        );
    }
    // A sound check is no retirement sweep: the once-queue's clip stays where it is.
    assert!(st.path().join("audio/q/1.wav").is_file());
}

#[test]
fn a_link_leading_outside_audio_and_a_name_that_is_not_utf8_are_reported_not_aired() {
    crate::support::shared();
    use std::os::unix::ffi::OsStrExt;
    let st = TempStation::new(
        "",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
queue = "q"
"#
        ),
    );
    st.tone("q/tot.wav", 0.3);
    let outside = crate::support::scratch();
    let target = outside.path().join("ngoai.wav");
    crate::support::tone_wav(&target, 0.3, 440.0, 8000, 1);
    std::os::unix::fs::symlink(&target, st.path().join("audio/q/lien-ket.wav")).unwrap();
    // "thông-báo.wav" written in Windows-1258-ish bytes by an old USB stick.
    let garbled = std::ffi::OsStr::from_bytes(b"th\xf4ng-b\xe1o.wav");
    crate::support::tone_wav(
        &st.path().join("audio/q").join(garbled),
        0.3,
        440.0,
        8000,
        1,
    );

    let (code, out, err) = Loaxa::new(&st).args(["status", "--lang", "en"]).run();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("lien-ket.wav"), "{out}");
    assert!(out.contains("leading outside the audio/ folder"), "{out}");
    assert!(
        out.contains(&target.canonicalize().unwrap().display().to_string()),
        "{out}"
    );
    assert!(out.contains("is not UTF-8"), "{out}");
    assert!(out.contains("rename the file"), "{out}");

    let (code, out, err) = Loaxa::new(&st).args(["validate", "--lang", "en"]).run();
    assert_eq!(code, 0, "warnings, not errors: {out}{err}");
    assert!(
        err.contains("lien-ket.wav: warning: a link leading outside"),
        "{err}"
    );
    assert!(err.contains("is not UTF-8"), "{err}");

    // Neither is ever planned: only the clip that is really there airs.
    let (_, out, _) = Loaxa::new(&st)
        .args(["next", "--days", "3", "--lang", "en"])
        .run();
    assert!(
        out.contains("q/tot.wav") && !out.contains("lien-ket") && !out.contains("ng-b"),
        "{out}"
    );
}

#[test]
fn doctor_names_each_problem_with_its_fix() {
    crate::support::shared();
    let st = TempStation::new(
        "output = \"device:khong-co-card\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
queue = "q"
"#
        ),
    );
    st.tone("q/tot.wav", 0.5);
    st.write("audio/q/hong.mp3", "not audio");
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(st.path().join("audio/q/hong.mp3"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (code, out, _) = Loaxa::new(&st)
        .args(["doctor", "--lang", "en"])
        .binary()
        .run();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("✓ Schedules: 1 file(s), 1 slot(s)"), "{out}");
    assert!(
        out.contains("! Audio library: damaged: q/hong.mp3"),
        "{out}"
    );
    assert!(
        out.contains("✗ Sound output: no sound device named “khong-co-card”"),
        "{out}"
    );
    assert!(
        out.contains("→ fix: check the sound card/USB is plugged in"),
        "{out}"
    );
    assert!(out.contains("! Journal: none yet"), "{out}");
    assert!(out.contains("✗ Service: loaxa is not running"), "{out}");
}

#[test]
fn a_restart_after_a_bad_schedule_edit_keeps_airing_the_last_good_version() {
    crate::support::light();
    let st = TempStation::new(
        "",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.3);
    let (t, _) = in_secs(5);
    st.write(
        "schedules/test.toml",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{t}"]
play = ["a.wav"]
"#
        ),
    );
    // The good version runs once, so the journal stores it.
    let child = loaxa(&st)
        .arg("run")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(stop(child).0, 0);
    // A bad edit, then a restart (a reboot, say).
    st.write(
        "schedules/test.toml",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{t}", "7h"]
play = ["a.wav"]
"#
        ),
    );
    let child = start_run(&st, &["--lang", "en"]);
    std::thread::sleep(Duration::from_secs(5));
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("invalid time “7h”"), "{err}");
    assert!(
        err.contains("its last good version stays in force"),
        "{err}"
    );
    let log = log_json(&st);
    assert_eq!(
        log["records"][0]["outcome"], "completed",
        "the old version's slot aired: {log:#}"
    );
}

#[test]
fn a_configuration_edit_takes_effect_without_a_restart_and_a_bad_one_is_rejected_whole() {
    crate::support::light();
    let (first, _) = in_secs(5);
    let (second, _) = in_secs(9);
    let st = TempStation::new(
        "language = \"en\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{first}", "{second}"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.3);
    let child = start_run(&st, &[]);
    std::thread::sleep(Duration::from_millis(1500));
    // Quiet hours around the clock: nothing but emergencies may air.
    let base = std::fs::read_to_string(st.path().join("config/loaxa.toml")).unwrap();
    st.write(
        "config/loaxa.toml",
        &format!("{base}quiet_hours = \"00:00-23:59\"\n"),
    );
    std::thread::sleep(Duration::from_millis(5000));
    // A broken save, made as an editor saving in place makes it: the file emptied, then
    // written. Rejected with its location; the quiet hours stay in force.
    // Regression: read while empty, the empty file's defaults went in force (the quiet hours
    // gone, the language back to Vietnamese), and the broken one was then rejected.
    let path = st.path().join("config/loaxa.toml");
    std::fs::write(&path, "").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(
        &path,
        format!("{base}quiet_hours = \"00:00-23:59\"\nvolume = \"loud\"\n"),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(4000));
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("configuration from"), "{err}");
    assert!(err.contains("now in force"), "{err}");
    assert!(
        err.contains("rejected: the previous one stays in force"),
        "{err}"
    );
    assert!(
        err.contains("loaxa.toml:5:10: error: invalid type"),
        "located, in the station's language: {err}"
    );
    assert_eq!(
        err.matches("now in force").count(),
        1,
        "the emptied file was never put in force: {err}"
    );
    st.write("config/loaxa.toml", &base);
    let log = log_json(&st);
    let records = log["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{log:#}");
    for r in records {
        assert_eq!(r["outcome"], "missed", "{log:#}");
        assert_eq!(r["reason"]["code"], "quiet_hours", "{log:#}");
    }
}

#[test]
fn next_shows_clashing_slots_in_the_order_they_will_air_and_marks_the_clash() {
    crate::support::shared();
    let st = TempStation::new(
        "",
        &format!(
            "{PLAN}[[slot]]\nid = \"thuong\"\nat = [\"06:00\"]\nplay = [\"a.wav\"]\n\
             [[slot]]\nid = \"uutien1\"\nat = [\"06:00\"]\npriority = \"priority\"\nplay = [\"a.wav\"]\n\
             [[slot]]\nid = \"uutien2\"\nat = [\"06:00\"]\npriority = \"priority\"\nplay = [\"a.wav\"]\n"
        ),
    );
    st.tone("a.wav", 0.5);
    let (code, out, err) = Loaxa::new(&st)
        .args(["next", "--days", "1", "--lang", "en"])
        .run();
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("kh/")).collect();
    let order: Vec<&str> = rows
        .iter()
        .map(|r| r.split_whitespace().nth(3).unwrap())
        .collect();
    assert_eq!(
        order,
        ["kh/uutien1", "kh/uutien2", "kh/thuong"],
        "priority first, then the operator's order: {out}"
    );
    assert!(!rows[0].contains("clash"), "{out}");
    assert!(rows[1].contains("(clash: airs after)") && rows[2].contains("(clash: airs after)"));
}

#[test]
fn rust_log_filters_the_log_by_target_and_a_malformed_one_is_reported_not_ignored() {
    crate::support::light();
    let st = TempStation::new(
        "",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["03:00:00"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.2);
    let daemon = |rust_log: &str| {
        let mut c = loaxa(&st);
        c.env("RUST_LOG", rust_log);
        let child = c
            .args(["run", "--lang", "en"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        stop(child)
    };
    let (code, err) = daemon("off");
    assert_eq!(code, 0);
    assert_eq!(err, "", "RUST_LOG=off silences the log");

    let (_, err) = daemon("warn");
    assert!(err.contains("WARN") && !err.contains("ready"), "{err}");

    let (_, err) = daemon("loaxa::daemon=info");
    assert!(err.contains("ready") && !err.contains("WARN"), "{err}");

    let (_, err) = daemon("loaxa=loud");
    assert!(err.contains("RUST_LOG «loaxa=loud»"), "{err}");
    assert!(err.contains("ready"), "the default levels apply: {err}");
}

#[test]
fn next_runs_in_process_and_shows_what_the_guards_hold_and_the_emergency_slot_whole() {
    crate::support::shared();
    // In-process, at a fixed time: the command reads its world only from the context.
    let st = TempStation::new(
        "quiet_hours = \"22:00-05:00\"\nmax_sessions_per_day = 1\nmax_session_minutes = 1",
        &format!(
            "{PLAN}[[slot]]\nid = \"sang\"\nat = [\"04:30\", \"06:00\", \"07:00\"]\nplay = [\"a.wav\"]\n\
             [[slot]]\nid = \"bao\"\nat = [\"23:00\"]\npriority = \"emergency\"\nplay = [\"dai.wav\", \"dai.wav\"]\n"
        ),
    );
    st.tone("a.wav", 1.0);
    st.tone("dai.wav", 40.0);
    let (code, out, err) = Loaxa::new(&st)
        .args(["next", "--days", "1", "--lang", "en"])
        .at(
            chrono::DateTime::parse_from_rfc3339("2025-09-01T03:00:00+07:00")
                .unwrap()
                .with_timezone(&chrono::Utc),
        )
        .run();
    assert_eq!(code, 0, "{out}{err}");
    let line = |time: &str| {
        out.lines()
            .find(|l| l.contains(time))
            .unwrap_or_else(|| panic!("no {time}: {out}"))
            .to_string()
    };
    assert!(
        line("2025-09-01 04:30:00").contains("NOT AIRED: within the station's quiet hours"),
        "{out}"
    );
    assert!(line("2025-09-01 06:00:00").contains("a.wav"), "{out}");
    assert!(
        line("2025-09-01 07:00:00").contains("NOT AIRED: the station's limit of 1 sessions"),
        "{out}"
    );
    // The emergency slot airs whole, past the station's one-minute cap and in quiet hours.
    let bao = line("2025-09-01 23:00:00");
    assert!(
        bao.contains("dai.wav, dai.wav") && !bao.contains("does not fit"),
        "{out}"
    );
}

#[test]
fn a_usage_error_is_said_in_vietnamese_with_the_nearest_command_and_exits_2() {
    crate::support::shared();
    let st = TempStation::new("", PLAN);
    let (code, _, err) = Loaxa::new(&st).args(["nxt"]).binary().run();
    assert_eq!(code, 2);
    assert!(err.contains("lỗi: không có lệnh «nxt»"), "{err}");
    assert!(err.contains("có phải ý bạn là «next»?"), "{err}");
    let (code, _, err) = Loaxa::new(&st).args(["nxt", "--lang", "en"]).binary().run();
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand 'nxt'"), "{err}");
}

#[test]
fn a_week_down_is_journaled_missed_in_full_and_summed_up_in_the_log_not_line_by_line() {
    crate::support::shared();
    use loaxa::audio::recorder::{Recorder, Tape};
    // A slot every 10 minutes; the station last ran a week ago (in-process, on a clock set
    // back a week), then starts for real now.
    let st = TempStation::new(
        "",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
cron = "0 */10 * * * *"
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.2);
    let week_ago = chrono::Utc::now() - chrono::Duration::days(7);
    let clock = loaxa::clock::FakeClock::new(week_ago);
    crate::support::daemon::run(
        &st,
        Recorder::new(Tape::default()),
        &clock,
        week_ago + chrono::Duration::minutes(1),
        vec![],
        vec![],
        loaxa::daemon::RunOptions::default(),
    );
    let child = start_run(&st, &["--lang", "en"]);
    std::thread::sleep(Duration::from_secs(3));
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    let said = err.lines().filter(|l| l.contains("missed: ")).count();
    assert_eq!(said, 10, "the first ten each get a line:\n{err}");
    assert!(
        err.contains("occurrence(s) fell due while loaxa was not running, from "),
        "{err}"
    );
    let log = log_json(&st);
    let missed = log["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "missed")
        .count();
    assert!(
        (1000..=1010).contains(&missed),
        "a week of 10-minute slots: {missed}"
    );
}

/// Regression (#23): a password file others can read, a missing one, or a typo in `[sync]`
/// made `loaxa run` exit 2 — a power cut then left the commune silent. A section another
/// process owns (`[sync]`, `[web]`, `[stream]`) is said as a located warning by `run`,
/// `status`, `play` and `validate`, and the station airs; only its own process refuses it.
#[test]
fn a_broken_section_another_process_owns_never_keeps_the_station_off_the_air() {
    crate::support::shared();
    for (section, broken, owner) in [
        (
            "sync",
            "[sync]\nurl = \"postgres://tinh.example/loaxa\"\nstation = \"xa\"\npassword_file = \"/khong/co/tep\"\n",
            Some(vec!["sync", "--once"]),
        ),
        ("web", "[web]\nlisten = \"khong-phai-dia-chi\"\n", Some(vec!["web"])),
        ("stream", "[stream]\nurl = \"icecast://\"\nbitrate = 7\n", None),
    ] {
        let (t, _) = in_secs(4);
        let st = TempStation::new(
            "",
            &format!("{PLAN}[[slot]]\nid = \"s\"\nat = [\"{t}\"]\nplay = [\"a.wav\"]\n"),
        );
        st.tone("a.wav", 0.5);
        let config = st.path().join("config/loaxa.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, format!("{text}\n{broken}")).unwrap();

        let (code, _, err) = Loaxa::new(&st).args(["status", "--lang", "en"]).run();
        assert_eq!(code, 0, "[{section}] status: {err}");
        assert!(
            err.contains("config/loaxa.toml:") && err.contains("warning") && err.contains("the station airs as usual"),
            "[{section}]: {err}"
        );
        let child = start_run(&st, &["--lang", "en"]);
        std::thread::sleep(Duration::from_secs(7));
        let (code, log) = stop(child);
        assert_eq!(code, 0, "[{section}]: {log}");
        let records = log_json(&st);
        assert_eq!(
            records["records"][0]["outcome"], "completed",
            "[{section}] the slot aired: {records:#}\n{log}"
        );
        if let Some(args) = owner {
            let (code, _, err) = Loaxa::new(&st).args(args.clone()).binary().run();
            assert_eq!(code, 2, "[{section}] {args:?} refuses its own broken section: {err}");
        }
    }
}
