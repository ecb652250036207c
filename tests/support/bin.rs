//! Driving the real `loaxa` binary in a temporary station: run a command, start and stop
//! the daemon, read its journal as JSON.

use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use super::TempStation;

/// A `loaxa` command on a temporary station, run in-process by default:
/// `Loaxa::new(&st).args(["next", "--days", "3"]).run()` → (exit code, stdout, stderr), with
/// the station's folder as the working directory and none of the developer's `LOAXA_*`.
/// `.binary()` runs the real program instead, where a test needs a process: signals, a
/// relative file argument, clap's own help and usage output, exec (the console).
pub struct Loaxa {
    cwd: std::path::PathBuf,
    args: Vec<String>,
    env: std::collections::BTreeMap<String, String>,
    now: Option<chrono::DateTime<chrono::Utc>>,
    binary: bool,
}

impl Loaxa {
    pub fn new(st: &TempStation) -> Loaxa {
        Loaxa {
            cwd: st.path().to_path_buf(),
            args: Vec::new(),
            env: Default::default(),
            now: None,
            binary: false,
        }
    }

    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Loaxa {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Loaxa {
        self.env.insert(key.into(), value.into());
        self
    }

    /// The time the command sees (in-process only).
    pub fn at(mut self, now: chrono::DateTime<chrono::Utc>) -> Loaxa {
        self.now = Some(now);
        self
    }

    pub fn binary(mut self) -> Loaxa {
        self.binary = true;
        self
    }

    pub fn run(self) -> (i32, String, String) {
        if self.binary {
            assert!(self.now.is_none(), "the real program runs at the real time");
            let mut c = command();
            c.current_dir(&self.cwd).args(&self.args).envs(&self.env);
            return run(c);
        }
        let ctx = loaxa::cli::Context {
            overrides: Default::default(),
            env: self.env,
            cwd: self.cwd,
            now: self.now.unwrap_or_else(chrono::Utc::now),
            terminal: false,
        };
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = loaxa::cli::run_args(&args, ctx, &mut out, &mut err);
        (
            i32::from(code),
            String::from_utf8_lossy(&out).into(),
            String::from_utf8_lossy(&err).into(),
        )
    }
}

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
