//! The operator's drop folder, on the real binary: a clip copied in slowly airs only once it
//! is complete, a damaged one is passed over and reported once, the status shows each, and
//! a restart with an unchanged library decodes nothing.

use std::io::Write;
use std::time::{Duration, SystemTime};

use crate::support::bin::{in_secs, log_json, start_run, stop, Loaxa};
use crate::support::{TempStation, PLAN};

/// Writes `bytes` to `path` in `chunks` pieces, `gap` apart, as a slow USB copy or a network
/// share does; after each piece the mtime is set back a minute, as copy tools that keep the
/// source's time may do, so only loaxa's own watching can tell the file is still growing.
fn copy_slowly(path: &std::path::Path, bytes: &[u8], chunks: usize, gap: Duration) {
    let mut f = std::fs::File::create(path).unwrap();
    for piece in bytes.chunks(bytes.len().div_ceil(chunks)) {
        f.write_all(piece).unwrap();
        f.flush().unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        std::thread::sleep(gap);
    }
}

#[test]
fn a_clip_copied_in_slowly_airs_only_once_complete_and_a_damaged_one_is_reported_once() {
    crate::support::light();
    let (first, _) = in_secs(5);
    let (second, _) = in_secs(13);
    let st = TempStation::new(
        "language = \"en\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{first}", "{second}"]
queue = "q"
take = 1
"#
        ),
    );
    st.tone("q/0-cu.wav", 0.5);
    st.write("audio/q/2-hong.mp3", "not audio at all");
    let f = std::fs::File::options()
        .write(true)
        .open(st.path().join("audio/q/2-hong.mp3"))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
    // The new clip, made aside and then copied in slowly.
    let src = st.path().join("src.wav");
    crate::support::tone_wav(&src, 1.0, 660.0, 8000, 1);
    let bytes = std::fs::read(&src).unwrap();

    let child = start_run(&st, &[]);
    std::thread::sleep(Duration::from_millis(500));
    let target = st.path().join("audio/q/1-moi.wav");
    let copier = std::thread::spawn(move || {
        copy_slowly(&target, &bytes, 8, Duration::from_millis(800));
    });
    std::thread::sleep(Duration::from_millis(2500));
    let (_, during, _) = Loaxa::new(&st).args(["status"]).run();
    copier.join().unwrap();
    std::thread::sleep(Duration::from_secs(9));
    let (_, after, _) = Loaxa::new(&st).args(["status"]).run();
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");

    let line = |text: &str, name: &str| -> String {
        text.lines()
            .find(|l| l.contains(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line(&during, "1-moi.wav").contains("still being copied"),
        "{during}"
    );
    assert!(
        line(&during, "2-hong.mp3").contains("UNDECODABLE"),
        "{during}"
    );
    assert!(
        line(&after, "1-moi.wav").contains("aired 1 time"),
        "{after}"
    );

    let log = log_json(&st);
    let records = log["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{log:#}");
    assert_eq!(
        records[0]["clips"][0]["rel"], "q/0-cu.wav",
        "the copy was not complete yet"
    );
    assert_eq!(
        records[1]["clips"][0]["rel"], "q/1-moi.wav",
        "complete: its turn"
    );
    assert_eq!(records[1]["clips"][0]["outcome"], "completed");
    assert_eq!(
        records[1]["clips"][0]["duration_ms"], 1000,
        "the whole file"
    );
    // Reported once, by name, in the daemon's log and in the journal.
    assert_eq!(err.matches("2-hong.mp3 will not air").count(), 1, "{err}");
    let (_, text, _) = Loaxa::new(&st)
        .args(["log", "--from", "2000-01-01", "--to", "2100-01-01"])
        .run();
    assert!(text.contains("Files refused (not aired):"), "{text}");
    assert_eq!(text.matches("q/2-hong.mp3").count(), 1, "{text}");
}

#[test]
fn a_restart_with_an_unchanged_library_decodes_nothing() {
    crate::support::shared();
    use loaxa::station::Station;
    let st = TempStation::new(
        "",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
play = ["a.wav", "b.wav"]
queue = "q"
"#
        ),
    );
    st.tone("a.wav", 0.3);
    st.tone("b.wav", 0.3);
    st.tone("q/1.wav", 0.3);
    st.tone("q/2.wav", 0.3);
    let load = || {
        let cwd = st.path().to_path_buf();
        let config = loaxa::config::load(
            &loaxa::config::Overrides::default(),
            &Default::default(),
            &cwd,
            loaxa::cli::SECTIONS,
        )
        .unwrap();
        let station = Station::load(config, loaxa::station::Schedules::KeepLastGood)
            .unwrap()
            .station;
        let mut catalog = loaxa::catalog::Catalog::new(
            &station.config.audio_dir,
            station.probes.clone(),
            station.lang(),
            false,
        );
        catalog.settle_now();
        let ready = catalog.clips().filter(|c| c.info().is_some()).count();
        (station.probes.decoded(), ready)
    };
    assert_eq!(load(), (4, 4), "the first start measures every clip");
    assert_eq!(load(), (0, 4), "a restart reads only file metadata");
    // A changed file is measured again; the others are not.
    st.tone("q/2.wav", 0.4);
    assert_eq!(load(), (1, 4));
}

#[test]
fn a_once_queue_retires_each_clip_after_it_airs_and_dated_clips_keep_their_dates() {
    crate::support::light();
    let (a, _) = in_secs(4);
    let (b, _) = in_secs(7);
    let (c, _) = in_secs(10);
    let st = TempStation::new(
        "language = \"en\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["{a}", "{b}", "{c}"]
queue = "q"
"#
        ),
    );
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    st.write("audio/q/queue.toml", "mode = \"once\"\n");
    st.tone("q/1.wav", 0.3);
    st.tone("q/2-het-han.wav", 0.3);
    st.write(
        "audio/q/2-het-han.toml",
        &format!("until = {}\n", today.pred_opt().unwrap()),
    );
    st.tone("q/3-chua-den.wav", 0.3);
    st.write(
        "audio/q/3-chua-den.toml",
        &format!("from = {}\n", today.succ_opt().unwrap()),
    );
    st.tone("q/4.wav", 0.3);
    let child = start_run(&st, &[]);
    std::thread::sleep(Duration::from_secs(12));
    let (_, status, _) = Loaxa::new(&st).args(["status"]).run();
    let (code, err) = stop(child);
    assert_eq!(code, 0, "{err}");

    let log = log_json(&st);
    let aired: Vec<String> = log["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match r["clips"].as_array().unwrap().first() {
            Some(c) => c["rel"].as_str().unwrap().to_string(),
            None => r["outcome"].as_str().unwrap().to_string(),
        })
        .collect();
    assert_eq!(aired, ["q/1.wav", "q/4.wav", "failed"], "{log:#}");
    let q = st.path().join("audio/q");
    assert!(q.join("da-phat/1.wav").is_file() && q.join("da-phat/4.wav").is_file());
    assert!(q.join("2-het-han.wav").is_file() && q.join("3-chua-den.wav").is_file());
    let line = |name: &str| {
        status
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(status.contains("Queue q/ (each clip once"), "{status}");
    assert!(line("2-het-han.wav").contains("expired"), "{status}");
    assert!(line("3-chua-den.wav").contains("not yet"), "{status}");
    assert!(
        line("1.wav").contains("done (aired 1 time(s)), in da-phat/"),
        "{status}"
    );
}

#[test]
fn validate_rejects_sidecars_with_errors_or_topics_the_plan_does_not_declare() {
    crate::support::shared();
    let st = TempStation::new(
        "language = \"en\"",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
at = ["06:00"]
queue = "q"
"#
        ),
    );
    st.tone("q/1.wav", 0.3);
    st.write("audio/q/1.toml", "title = \"Tin 1\"\ntopic = \"zz\"\n");
    st.tone("q/2.wav", 0.3);
    st.write("audio/q/2.toml", "tiems = 3\n");
    let (code, _, err) = Loaxa::new(&st).args(["validate"]).run();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("audio/q/1.toml:2:9: error: topic “zz” is not declared in plan “kh”"),
        "{err}"
    );
    assert!(
        err.contains("audio/q/2.toml:1:1: error: unknown field `tiems`"),
        "{err}"
    );
}
