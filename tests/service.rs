//! Under a service manager: the daemon's ExecStart announces readiness over NOTIFY_SOCKET once
//! it is loaded, pings the watchdog from its main loop, says it is stopping, and logs in the
//! journal's own form when stderr is the journal. Checked with a harness socket, since the
//! test machine has no systemd as PID 1.

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{TempStation, PLAN};

/// What the daemon told the service manager over `sock` during `window`.
fn notifications(sock: &UnixDatagram, window: Duration) -> Vec<String> {
    let mut messages = Vec::new();
    let deadline = Instant::now() + window;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    messages
}

#[test]
fn readiness_status_watchdog_and_stopping_reach_the_service_manager() {
    crate::support::alone();
    let st = TempStation::new(
        "",
        &format!(
            r#"{PLAN}[[slot]]
id = "sang"
title = "Bản tin sáng"
at = ["06:00"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.2);
    let sock_path = st.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let log_path = st.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let meta = std::fs::metadata(&log_path).unwrap();

    let child = crate::support::bin::command()
        .current_dir(st.path())
        .args(["run", "--lang", "en"])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "600000")
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();

    let mut messages = notifications(&sock, Duration::from_millis(2500));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait_with_output().unwrap().status;
    assert!(status.success());
    // What it said while stopping.
    messages.extend(notifications(&sock, Duration::from_millis(200)));

    assert!(
        messages[0].starts_with("READY=1\nSTATUS=next: sang “Bản tin sáng” at "),
        "{messages:?}"
    );
    let pings = messages.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(pings >= 4, "a ping at least every 300 ms: {messages:?}");
    assert_eq!(messages.last().map(String::as_str), Some("STOPPING=1"));

    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(!logged.is_empty());
    for line in logged.lines() {
        assert!(
            line.starts_with("<6>") || line.starts_with("<4>") || line.starts_with("<3>"),
            "journald form: {line}"
        );
    }
    assert!(logged.contains("<6>station “Đài thử” ready"), "{logged}");
}

/// The shipped unit's own ExecStart and WatchdogSec, run by a harness standing in for systemd.
#[test]
fn the_shipped_units_exec_start_runs_under_a_notify_harness() {
    crate::support::alone();
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/loaxa.service"
    ))
    .unwrap();
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("the unit has no {key}="))
            .to_string()
    };
    assert_eq!(value("Type"), "notify");
    let exec = value("ExecStart");
    let watchdog_secs: u64 = value("WatchdogSec").trim_end_matches('s').parse().unwrap();
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/bin/loaxa"));
    let args: Vec<String> = words.map(str::to_string).collect();
    assert_eq!(args, ["run", "--config", "/etc/loaxa/loaxa.toml"]);

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
    st.tone("a.wav", 0.5);
    let config = st.path().join("config/loaxa.toml");
    let sock_path = st.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let args: Vec<String> = args
        .into_iter()
        .map(|a| {
            if a == "/etc/loaxa/loaxa.toml" {
                config.display().to_string()
            } else {
                a
            }
        })
        .collect();
    // A short watchdog so the test sees several pings; the unit's own value is checked above.
    assert!(
        watchdog_secs >= 10,
        "the unit's WatchdogSec leaves the main loop room: {watchdog_secs}"
    );
    let child = crate::support::bin::command()
        .args(&args)
        .current_dir("/")
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "800000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let messages = notifications(&sock, Duration::from_millis(2000));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    assert!(child.wait_with_output().unwrap().status.success());
    assert!(
        messages.first().is_some_and(|m| m.starts_with("READY=1")),
        "{messages:?}"
    );
    assert!(
        messages.iter().filter(|m| *m == "WATCHDOG=1").count() >= 3,
        "{messages:?}"
    );
}

/// The console's unit: hardened (systemd rates its exposure at most 2.5), it may write only
/// the station's audio and schedules folders, and runs the console program the package
/// ships.
#[test]
fn the_console_unit_is_hardened_and_writes_only_audio_and_schedules() {
    crate::support::shared();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/loaxa-web.service");
    let values = |key: &str| unit_values(path, key);
    assert_eq!(
        values("ExecStart"),
        ["/usr/bin/loaxa-web --config /etc/loaxa/loaxa.toml"]
    );
    assert_eq!(values("ProtectSystem"), ["strict"]);
    assert_eq!(
        values("ReadWritePaths"),
        ["/var/lib/loaxa/audio /var/lib/loaxa/schedules"]
    );
    assert!(values("StateDirectory").is_empty() && values("RuntimeDirectory").is_empty());
    // Room for the console's 512 connections and its own files, whatever the default.
    assert_eq!(values("LimitNOFILE"), ["4096"]);
    assert_exposure_at_most(path, "loaxa-web.service", 2.5);
}

#[test]
fn the_sync_unit_is_hardened_and_writes_only_beside_the_journal_and_into_the_audio_doors() {
    crate::support::shared();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/loaxa-sync.service");
    let values = |key: &str| unit_values(path, key);
    assert_eq!(
        values("ExecStart"),
        ["/usr/bin/loaxa sync --config /etc/loaxa/loaxa.toml"]
    );
    assert_eq!(values("ProtectSystem"), ["strict"]);
    // Its state beside the journal; the province's bulletins through the operator's doors.
    assert_eq!(
        values("ReadWritePaths"),
        ["/var/lib/loaxa/journal /var/lib/loaxa/audio"]
    );
    assert_eq!(values("PrivateDevices"), ["yes"]);
    assert_exposure_at_most(path, "loaxa-sync.service", 2.5);
}

/// The province console's unit: hardened as the station's units are, no file it may write, its
/// database from an environment file, never enabled by the package on a commune's PC.
#[test]
fn the_province_console_unit_is_hardened_and_writes_nothing() {
    crate::support::shared();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/loaxa-central-web.service"
    );
    let values = |key: &str| unit_values(path, key);
    assert_eq!(values("ExecStart"), ["/usr/bin/loaxa central web"]);
    assert_eq!(values("EnvironmentFile"), ["/etc/loaxa/central.env"]);
    assert_eq!(values("ProtectSystem"), ["strict"]);
    assert!(values("ReadWritePaths").is_empty());
    assert_eq!(values("DynamicUser"), ["yes"]);
    assert_eq!(values("LimitNOFILE"), ["4096"]);
    assert_exposure_at_most(path, "loaxa-central-web.service", 2.5);
}

/// systemd's own rating of a unit's exposure (`systemd-analyze security`) is at most `max`.
fn assert_exposure_at_most(path: &str, unit: &str, max: f64) {
    let out = match std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", path])
        .output()
    {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(e) => {
            crate::support::skip(&format!("systemd-analyze: {e}"));
            return;
        }
    };
    let exposure: f64 = out
        .lines()
        .find_map(|l| l.split(&format!("exposure level for {unit}: ")).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{out}"));
    assert!(exposure <= max, "exposure {exposure}:\n{out}");
}

/// The values a unit file gives `key`, in order.
fn unit_values(path: &str, key: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
        .collect()
}
