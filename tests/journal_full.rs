//! The journal's disk fills up while the station runs, or is read-only when it starts: loaxa keeps airing, holds what it
//! could not journal in memory and in a fallback file, says so loudly, and writes it all once
//! space is back — even across a `kill -9` in between. A real full file system: a small tmpfs
//! mounted for the test (needs root, as CI runs; skipped with a message otherwise).

use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::bin::{in_secs, loaxa, run, stop, Loaxa};
use crate::support::{TempStation, PLAN};

use crate::support::tmpfs::Tmpfs;

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

fn start(st: &TempStation, tmp: &std::path::Path) -> Child {
    loaxa(st)
        .args(["run"])
        .env("TMPDIR", tmp)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn status(st: &TempStation, tmp: &std::path::Path) -> String {
    run({
        let mut c = loaxa(st);
        c.arg("status").env("TMPDIR", tmp);
        c
    })
    .1
}

#[test]
fn a_full_disk_does_not_stop_the_station_and_nothing_is_lost_once_space_is_back() {
    crate::support::light();
    if !is_root() {
        crate::support::skip("mounting a small file system needs root (CI runs as root)");
        return;
    }
    let (a, _) = in_secs(5);
    let (b, _) = in_secs(17);
    let st = TempStation::new(
        "language = \"en\"\njournal = \"disk/loaxa.db\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{a}", "{b}"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.5);
    let Some(disk) = Tmpfs::mount(&st.path().join("disk")) else {
        crate::support::skip(
            "this machine does not let root mount a tmpfs (a container without CAP_SYS_ADMIN?)",
        );
        return;
    };
    let tmp = st.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();

    // The first broadcast falls due on a full disk.
    let child = start(&st, &tmp);
    std::thread::sleep(Duration::from_millis(2000));
    disk.fill();
    std::thread::sleep(Duration::from_millis(5000));
    let full = status(&st, &tmp);
    let fallback: Vec<String> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pending.jsonl"))
        .collect();
    disk.free();
    std::thread::sleep(Duration::from_millis(6000));
    let (code, err) = {
        // The second falls due on a full disk again; loaxa is killed while holding it.
        disk.fill();
        std::thread::sleep(Duration::from_millis(7000));
        let mut child = child;
        child.kill().unwrap();
        let _ = child.wait();
        disk.free();
        // Restarted with space back: what the killed run held is written first.
        let again = start(&st, &tmp);
        std::thread::sleep(Duration::from_millis(2500));
        stop(again)
    };
    assert_eq!(code, 0, "{err}");

    assert!(
        full.contains("JOURNAL NOT WRITABLE") && full.contains("3 event(s) held"),
        "status says so while it lasts: {full}"
    );
    assert_eq!(fallback.len(), 1, "one fallback file outside the full disk");
    assert!(
        err.contains("journaled 3 event(s) the previous run could not write"),
        "{err}"
    );

    let records = crate::support::bin::log_json(&st);
    let rs = records["records"].as_array().unwrap();
    let keys: Vec<&str> = rs.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(rs.len(), 2, "each broadcast once: {keys:?}");
    for r in rs {
        assert_eq!(r["outcome"], "completed", "{r:#}");
    }
    let (code, out, _) = Loaxa::new(&st).args(["log", "verify"]).run();
    assert_eq!(code, 0, "the chain holds: {out}");
    assert!(
        !std::fs::read_dir(&tmp)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".pending.jsonl")),
        "the fallback file is gone once written"
    );
}

/// A journal with history whose file system then goes read-only (as ext4 does on errors); the
/// station starts on it, airs, and journals everything once it is writable again. `crashed`:
/// the run before was killed, leaving SQLite's `-wal`/`-shm` files (SQLite then opens the
/// journal read-only by itself); otherwise it stopped cleanly and left none (loaxa then opens
/// it as it stands).
fn read_only_at_start(crashed: bool) {
    if !is_root() {
        crate::support::skip("mounting a small file system needs root (CI runs as root)");
        return;
    }
    let st = TempStation::new(
        "language = \"en\"\njournal = \"disk/loaxa.db\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.5);
    let Some(disk) = Tmpfs::mount(&st.path().join("disk")) else {
        crate::support::skip("this machine does not let root mount a tmpfs");
        return;
    };
    let tmp = st.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut first = start(&st, &tmp);
    std::thread::sleep(Duration::from_millis(1500));
    if crashed {
        first.kill().unwrap();
        let _ = first.wait();
        assert!(st.path().join("disk/loaxa.db-wal").exists());
    } else {
        let (code, err) = stop(first);
        assert_eq!(code, 0, "{err}");
    }
    disk.remount("ro");

    let (a, _) = in_secs(4);
    st.write(
        "schedules/test.toml",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{a}"]
play = ["a.wav"]
"#
        ),
    );
    let child = start(&st, &tmp);
    std::thread::sleep(Duration::from_millis(6000));
    let during = status(&st, &tmp);
    disk.remount("rw");
    std::thread::sleep(Duration::from_millis(6000));
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("CANNOT "), "{err}");
    assert!(err.contains("the journal takes writes again"), "{err}");
    assert!(during.contains("JOURNAL NOT WRITABLE"), "{during}");

    let log = crate::support::bin::log_json(&st);
    let rs = log["records"].as_array().unwrap();
    assert_eq!(rs.len(), 1, "{log:#}");
    assert_eq!(rs[0]["outcome"], "completed", "{log:#}");
    let (code, out, _) = Loaxa::new(&st).args(["log", "verify"]).run();
    assert_eq!(code, 0, "the chain holds: {out}");
}

#[test]
fn a_read_only_journal_at_start_does_not_keep_the_station_off_the_air() {
    crate::support::light();
    read_only_at_start(false);
}

/// Regression: after a crash SQLite opened the journal read-only by itself without saying
/// so, and loaxa kept offering held events to that connection for ever.
#[test]
fn a_read_only_journal_after_a_crash_is_reopened_once_writable() {
    crate::support::light();
    read_only_at_start(true);
}
