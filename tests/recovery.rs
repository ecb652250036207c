//! Power loss or `kill -9` at any moment: the daemon is killed at random points across many
//! broadcast cycles and restarted; after each restart the journal opens cleanly and its chain
//! verifies, and at the end every occurrence since the first start has exactly one record —
//! aired, interrupted (cut by the kill) or missed (due while down) — and none twice.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{TempStation, PLAN};
use chrono::{DateTime, Utc};
use loaxa::journal::Journal;

fn start(st: &TempStation) -> std::process::Child {
    crate::support::bin::command()
        .current_dir(st.path())
        .args(["run", "--lang", "en"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn killed_at_random_points_every_occurrence_ends_up_with_exactly_one_record() {
    crate::support::light();
    // (Light: its margins are seconds, a grace of one and slots two apart, and it mostly sleeps.)
    // A slot every two seconds, each a 0.8 s clip; a grace of one second, so what falls due
    // while loaxa is down is missed rather than aired late.
    let st = TempStation::new(
        "grace_seconds = 1",
        &format!(
            r#"{PLAN}[[slot]]
id = "s"
cron = "*/2 * * * * *"
play = ["a.wav"]
"#
        ),
    );
    st.tone("a.wav", 0.8);
    let first_start = Utc::now();
    // A cheap, repeatable pseudo-random sequence of kill delays (ms).
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..8 {
        let mut child = start(&st);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = 400 + seed % 2600;
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        let v = Journal::open(&st.journal())
            .expect("the journal opens after a kill")
            .verify(None)
            .unwrap();
        assert!(v.is_intact(), "{:?}", v.problem);
        // Once, down for 3 s: a slot surely falls due and its grace runs out while loaxa is
        // down, so a missed occurrence is always among the outcomes (the random downtimes
        // alone once left none, with a daemon that starts faster).
        let down = if round == 3 { 3000 } else { seed % 1500 };
        std::thread::sleep(Duration::from_millis(down));
    }
    // A last, clean run accounts for the last kill.
    let last_start = Utc::now();
    let mut child = start(&st);
    // Until the clean run has aired an occurrence in full, however slowly a debug build starts
    // on a busy machine (a fixed 2.5 s was seen to leave none: all missed or cut).
    crate::support::web::eventually(20, "the clean run airs an occurrence in full", || {
        Journal::open_reader(&st.journal())
            .and_then(|j| j.records(last_start, Utc::now() + chrono::Duration::seconds(5)))
            .is_ok_and(|records| {
                records.iter().any(|r| {
                    r.outcome == Some(loaxa::journal::Outcome::Completed)
                        && r.started_at.is_some_and(|t| t > last_start)
                })
            })
    });
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    assert!(child.wait().unwrap().success());
    let last_stop = Utc::now();

    let db = rusqlite::Connection::open(st.journal()).unwrap();
    let twice: Vec<String> = db
        .prepare(
            "SELECT occurrence FROM events WHERE kind IN ('broadcast_started', 'occurrence_missed')
             GROUP BY occurrence HAVING COUNT(*) > 1
             UNION SELECT occurrence FROM events WHERE kind = 'broadcast_ended'
             GROUP BY occurrence HAVING COUNT(*) > 1",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(twice.is_empty(), "journaled twice: {twice:?}");

    let j = Journal::open(&st.journal()).unwrap();
    let records = j
        .records(
            first_start - chrono::Duration::seconds(5),
            last_stop + chrono::Duration::seconds(5),
        )
        .unwrap();
    assert!(
        records.iter().all(|r| r.outcome.is_some()),
        "no broadcast is left open after the last clean run"
    );
    // Every even second from shortly after the first start to shortly before the last stop.
    let mut t = DateTime::from_timestamp(first_start.timestamp() + 3, 0).unwrap();
    let mut expected = 0;
    let mut outcomes = std::collections::BTreeMap::new();
    while t < last_stop - chrono::Duration::seconds(3) {
        if t.timestamp() % 2 == 0 {
            expected += 1;
            let key = loaxa::recurrence::occurrence_key("kh", "s", t);
            let r = records
                .iter()
                .find(|r| r.info.key == key)
                .unwrap_or_else(|| {
                    panic!(
                        "no record for {key}; the journal around it:\n{}",
                        around(&db, t)
                    )
                });
            *outcomes
                .entry(format!("{:?}", r.outcome.unwrap()))
                .or_insert(0) += 1;
        }
        t += chrono::Duration::seconds(1);
    }
    assert!(expected >= 6, "{expected}");
    eprintln!("{expected} occurrences: {outcomes:?}");
    assert!(
        outcomes.contains_key("Completed") && outcomes.contains_key("Missed"),
        "{outcomes:?}"
    );
}

/// The journal's events within five seconds of `t`, one per line, to show what happened
/// around an occurrence that was left without a record.
fn around(db: &rusqlite::Connection, t: DateTime<Utc>) -> String {
    let ms = t.timestamp_millis();
    let mut stmt = db
        .prepare(
            "SELECT recorded_at, kind, COALESCE(occurrence, ''), COALESCE(outcome, '') FROM events
             ORDER BY seq",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap);
    let mut out = String::new();
    for (at, kind, occ, outcome) in rows {
        let when = DateTime::parse_from_rfc3339(&at)
            .unwrap()
            .timestamp_millis();
        if (when - ms).abs() <= 5000 {
            out += &format!("  {at} {kind} {occ} {outcome}\n");
        }
    }
    out
}
