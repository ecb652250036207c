//! Under a service manager: the daemon's ExecStart announces readiness over NOTIFY_SOCKET once
//! it is loaded, pings the watchdog from its main loop, says it is stopping, and logs in the
//! journal's own form when stderr is the journal. Checked with a harness socket, since the
//! test machine has no systemd as PID 1.

mod support;

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{TempStation, PLAN};

#[test]
fn readiness_status_watchdog_and_stopping_reach_the_service_manager() {
    let st = TempStation::new("", &format!("{PLAN}[[slot]]\nid = \"sang\"\ntitle = \"Bản tin sáng\"\nat = [\"06:00\"]\nplay = [\"a.wav\"]\n"));
    st.tone("a.wav", 0.2);
    let sock_path = st.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let log_path = st.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let meta = std::fs::metadata(&log_path).unwrap();

    let child = Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .current_dir(st.path())
        .args(["run", "--lang", "en"])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "600000")
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();

    let mut messages = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(2500);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait_with_output().unwrap().status;
    assert!(status.success());
    while let Ok(n) = sock.recv(&mut buf) {
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }

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
