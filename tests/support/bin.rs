//! Driving the real `loaxa` binary in a temporary station: run a command, start and stop
//! the daemon, read its journal as JSON.

use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use super::TempStation;

pub fn loaxa(st: &TempStation) -> Command {
    let mut c = command();
    c.current_dir(st.path());
    c
}

/// The real binary, with nothing of the developer's environment for loaxa: every test's
/// command starts here.
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loaxa"));
    // Whatever the developer's shell sets for loaxa must not change what a test sees.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("LOAXA_") {
            c.env_remove(key);
        }
    }
    c
}

pub fn run(mut c: Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into(),
        String::from_utf8_lossy(&stderr).into(),
    )
}

/// Starts the daemon (`loaxa run` plus `args`) with its log piped, for [`stop`].
pub fn start_run(st: &TempStation, args: &[&str]) -> Child {
    loaxa(st)
        .arg("run")
        .args(args)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

pub fn stop(mut child: Child) -> (i32, String) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        assert!(Instant::now() < deadline, "loaxa did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn log_json(st: &TempStation) -> serde_json::Value {
    let mut c = loaxa(st);
    c.args([
        "log",
        "--format",
        "json",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
    ]);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// `HH:MM:SS` in the station's zone, `secs` from now.
pub fn in_secs(secs: i64) -> (String, chrono::DateTime<chrono::Utc>) {
    let at = chrono::Utc::now() + chrono::Duration::seconds(secs);
    let at = chrono::DateTimeExt::trunc(at);
    (
        at.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
            .format("%H:%M:%S")
            .to_string(),
        at,
    )
}

mod chrono {
    pub use ::chrono::*;
    pub trait DateTimeExt {
        fn trunc(self) -> Self;
    }
    impl DateTimeExt for DateTime<Utc> {
        fn trunc(self) -> Self {
            DateTime::from_timestamp(self.timestamp(), 0).unwrap()
        }
    }
}
