//! Tamper evidence: the journal is edited behind loaxa's back with raw SQL (triggers dropped
//! first, as an attacker would) and `verify` must name the first event that was altered,
//! removed, inserted or reordered; a fully rewritten chain is caught by a report's pin.

use chrono::{TimeZone, Utc};
use loaxa::journal::{chain_hash, Event, Journal, Problem, GENESIS};
use rusqlite::Connection;

fn journal_with_events(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = crate::support::scratch();
    let path = dir.path().join("loaxa.db");
    let mut j = Journal::open(&path).unwrap();
    for i in 0..n {
        let t = Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).unwrap()
            + chrono::Duration::minutes(i as i64);
        j.append(
            &Event::StationStopped {
                reason: format!("event {i}"),
            },
            t,
        )
        .unwrap();
    }
    (dir, path)
}

fn raw(path: &std::path::Path) -> Connection {
    let c = Connection::open(path).unwrap();
    c.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
        .unwrap();
    c
}

fn problem(path: &std::path::Path) -> Option<Problem> {
    Journal::open(path).unwrap().verify(None).unwrap().problem
}

/// Recomputes every hash from `from` on, as someone rewriting history would.
fn rehash(c: &Connection, from: i64) {
    let rows: Vec<(i64, String, String, String)> = c
        .prepare("SELECT seq, recorded_at, kind, body FROM events WHERE seq >= ?1 ORDER BY seq")
        .unwrap()
        .query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut prev: String = c
        .query_row("SELECT hash FROM events WHERE seq = ?1", [from - 1], |r| {
            r.get(0)
        })
        .unwrap_or_else(|_| GENESIS.to_string());
    for (seq, at, kind, body) in rows {
        let ev: Event = serde_json::from_str(&body).unwrap();
        let h = chain_hash(&prev, seq, &at, &kind, &ev.columns(), &body);
        c.execute(
            "UPDATE events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, h, seq],
        )
        .unwrap();
        prev = h;
    }
}

#[test]
fn an_intact_journal_verifies() {
    crate::support::shared();
    let (_d, path) = journal_with_events(10);
    let v = Journal::open(&path).unwrap().verify(None).unwrap();
    assert!(v.is_intact());
    assert_eq!(v.events, 10);
}

#[test]
fn editing_one_field_is_detected_at_that_event() {
    crate::support::shared();
    let (_d, path) = journal_with_events(10);
    raw(&path)
        .execute(
            "UPDATE events SET body = replace(body, 'event 4', 'event X') WHERE seq = 5",
            [],
        )
        .unwrap();
    assert_eq!(problem(&path), Some(Problem::Altered { seq: 5 }));

    let (_d, path) = journal_with_events(10);
    raw(&path)
        .execute(
            "UPDATE events SET recorded_at = '2030-01-01T00:00:00.000Z' WHERE seq = 7",
            [],
        )
        .unwrap();
    assert_eq!(problem(&path), Some(Problem::Altered { seq: 7 }));
}

#[test]
fn deleting_one_row_is_detected_with_or_without_renumbering() {
    crate::support::shared();
    let (_d, path) = journal_with_events(10);
    raw(&path)
        .execute("DELETE FROM events WHERE seq = 4", [])
        .unwrap();
    assert_eq!(
        problem(&path),
        Some(Problem::Removed {
            after: 3,
            before: 5
        })
    );

    let (_d, path) = journal_with_events(10);
    let c = raw(&path);
    c.execute("DELETE FROM events WHERE seq = 4", []).unwrap();
    c.execute_batch("UPDATE events SET seq = -seq WHERE seq > 4; UPDATE events SET seq = -seq - 1 WHERE seq < 0;").unwrap();
    assert_eq!(
        problem(&path),
        Some(Problem::Removed {
            after: 3,
            before: 4
        })
    );
}

#[test]
fn inserting_one_row_is_detected_even_with_a_forged_valid_hash() {
    crate::support::shared();
    let (_d, path) = journal_with_events(10);
    let c = raw(&path);
    c.execute_batch("UPDATE events SET seq = -seq WHERE seq >= 5; UPDATE events SET seq = -seq + 1 WHERE seq < 0;").unwrap();
    // The forger links the new row properly to event 4.
    let prev: String = c
        .query_row("SELECT hash FROM events WHERE seq = 4", [], |r| r.get(0))
        .unwrap();
    let ev = Event::StationStopped {
        reason: "forged".into(),
    };
    let body = serde_json::to_string(&ev).unwrap();
    let at = "2025-09-01T00:04:30.000Z";
    let h = chain_hash(&prev, 5, at, "station_stopped", &ev.columns(), &body);
    c.execute(
        "INSERT INTO events (seq, recorded_at, kind, body, prev_hash, hash) VALUES (5, ?1, 'station_stopped', ?2, ?3, ?4)",
        rusqlite::params![at, body, prev, h],
    )
    .unwrap();
    assert_eq!(problem(&path), Some(Problem::Inserted { seq: 5 }));
}

#[test]
fn swapping_two_rows_is_detected() {
    crate::support::shared();
    let (_d, path) = journal_with_events(10);
    raw(&path)
        .execute_batch(
            "UPDATE events SET seq = 100 WHERE seq = 3;
             UPDATE events SET seq = 3 WHERE seq = 7;
             UPDATE events SET seq = 7 WHERE seq = 100;",
        )
        .unwrap();
    assert_eq!(problem(&path), Some(Problem::Reordered { seq: 3 }));
}

#[test]
fn a_fully_rewritten_history_is_caught_by_the_pin_a_report_printed() {
    crate::support::shared();
    let (_d, path) = journal_with_events(10);
    let pinned = Journal::open(&path).unwrap().verify(None).unwrap();
    let c = raw(&path);
    c.execute(
        "UPDATE events SET body = replace(body, 'event 2', 'event Y') WHERE seq = 3",
        [],
    )
    .unwrap();
    rehash(&c, 3);
    let v = Journal::open(&path)
        .unwrap()
        .verify(Some((10, &pinned.head)))
        .unwrap();
    assert_eq!(v.problem, None, "the rewritten chain is self-consistent");
    assert_eq!(v.pin_matches, Some(false));
    assert!(!v.is_intact());
}

#[test]
fn the_command_exits_1_and_names_the_event_in_the_operators_language() {
    crate::support::shared();
    let st = crate::support::TempStation::new("", crate::support::PLAN);
    let path = st.journal();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let mut j = Journal::open(&path).unwrap();
        for i in 0..5 {
            j.append(
                &Event::StationStopped {
                    reason: format!("e{i}"),
                },
                Utc::now(),
            )
            .unwrap();
        }
    }
    let verify = |lang: &str| {
        crate::support::bin::command()
            .current_dir(st.path())
            .args(["log", "verify", "--lang", lang])
            .output()
            .unwrap()
    };
    let ok = verify("en");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("5 events"));
    raw(&path)
        .execute("UPDATE events SET kind = 'x' WHERE seq = 2", [])
        .unwrap();
    let bad = verify("vi");
    assert_eq!(bad.status.code(), Some(1));
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(
        out.contains("CHUỖI BỊ PHÁ VỠ: sự kiện số 2 đã bị sửa"),
        "{out}"
    );
}

#[test]
fn a_large_journal_is_checked_in_halves_and_breaks_in_either_half_are_found() {
    crate::support::shared();
    let dir = crate::support::scratch();
    let path = dir.path().join("loaxa.db");
    {
        let mut j = Journal::open(&path).unwrap();
        let events: Vec<Event> = (0..120_000)
            .map(|i| Event::StationStopped {
                reason: format!("e{i}"),
            })
            .collect();
        j.append_all(&events, Utc::now()).unwrap();
    }
    let v = Journal::open(&path)
        .unwrap()
        .verify(Some((100_000, "x")))
        .unwrap();
    assert_eq!(
        (v.events, v.problem.clone(), v.pin_matches),
        (120_000, None, Some(false))
    );
    let head = v.head.clone();
    let pinned: String = Connection::open(&path)
        .unwrap()
        .query_row("SELECT hash FROM events WHERE seq = 100000", [], |r| {
            r.get(0)
        })
        .unwrap();
    let v = Journal::open(&path)
        .unwrap()
        .verify(Some((100_000, &pinned)))
        .unwrap();
    assert!(v.is_intact());
    assert_eq!(v.head, head);

    let c = raw(&path);
    c.execute("DELETE FROM events WHERE seq = 60001", [])
        .unwrap();
    assert_eq!(
        problem(&path),
        Some(Problem::Removed {
            after: 60_000,
            before: 60_002
        }),
        "at the split"
    );
    c.execute("UPDATE events SET body = 'x' WHERE seq = 110000", [])
        .unwrap();
    assert_eq!(
        problem(&path),
        Some(Problem::Removed {
            after: 60_000,
            before: 60_002
        }),
        "the first break is reported"
    );
    c.execute("UPDATE events SET body = 'y' WHERE seq = 7", [])
        .unwrap();
    assert_eq!(problem(&path), Some(Problem::Altered { seq: 7 }));
}
