//! The province's copy of every journal: a real PostgreSQL started here, stations that send
//! their simulated September through `loaxa sync`, and the province's commands. Faults are
//! real ones: a server restarted or its connections cut while a station sends, wrong
//! credentials, a station sending as another, a journal edited or replaced after sending, a
//! database that takes no writes, a station whose clock is far from the centre's.

use std::path::Path;

use crate::support::bin::{command, run};
use crate::support::postgres::Postgres;
use crate::support::TempStation;

/// `loaxa central …` against `pg` as its administrator.
pub(crate) fn central(pg: &Postgres, args: &[&str]) -> (i32, String, String) {
    let mut c = command();
    c.arg("central")
        .args(args)
        .args(["--db", &pg.admin_url(), "--lang", "en"]);
    run(c)
}

/// Adds station `id` at the centre and gives `st` a `[sync]` section sending as it.
pub(crate) fn enrol(pg: &Postgres, st: &TempStation, id: &str) {
    let secret = st.path().join("config/sync-password");
    let (code, out, err) = central(
        pg,
        &[
            "add-station",
            id,
            "--name",
            &format!("Xã {id}"),
            "--password-file",
            secret.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    sync_as(pg, st, id, "sync-password");
}

/// Points `st`'s `[sync]` at `pg` as station `id` with the password in `secret`.
fn sync_as(pg: &Postgres, st: &TempStation, id: &str, secret: &str) {
    let config = st.path().join("config/loaxa.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let base = text
        .split("\n[sync]")
        .next()
        .unwrap()
        .trim_end()
        .to_string();
    std::fs::write(
        &config,
        format!(
            "{base}\n\n[sync]\nurl = \"{}\"\nstation = \"{id}\"\npassword_file = \"{secret}\"\n",
            pg.url()
        ),
    )
    .unwrap();
}

/// `loaxa sync --once` in `st`.
pub(crate) fn sync_once(st: &TempStation) -> (i32, String, String) {
    let mut c = command();
    c.current_dir(st.path())
        .args(["sync", "--once", "--lang", "en"]);
    run(c)
}

fn local_events(st: &TempStation) -> i64 {
    let j = loaxa::journal::Journal::open_reader(&st.journal()).unwrap();
    j.head().0
}

pub(crate) fn held(pg: &Postgres, id: &str) -> i64 {
    pg.count(&format!(
        "SELECT count(*) FROM loaxa.events WHERE station = '{id}'"
    ))
}

pub(crate) fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn station_report(st: &TempStation) -> serde_json::Value {
    let mut c = command();
    c.current_dir(st.path())
        .args(["report", "--month", "2025-09", "--format", "json"]);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    json(&out)
}

fn commune<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["communes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["station"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report}"))
}

/// Regression (#23): a centre without the schema answered `relation "loaxa.migrations"
/// does not exist`. Every command says to run `loaxa central init`.
#[test]
fn a_centre_not_yet_initialised_says_to_run_central_init() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    for args in [
        &["add-station", "xa-a"][..],
        &["report", "--month", "2025-09"],
        &["verify"],
    ] {
        let (code, out, err) = central(&pg, args);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(
            err.contains("run `loaxa central init`") && !err.contains("does not exist"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_station_s_journal_reaches_the_province_whole_and_the_province_counts_as_the_commune_does() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    let (code, out, err) = central(&pg, &["init"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("version 0 → "), "{out}");
    // Run again: nothing to do.
    let (code, out, _) = central(&pg, &["init"]);
    assert_eq!(code, 0);
    assert!(out.contains("already"), "{out}");

    let st = crate::report::september();
    enrol(&pg, &st, "hoang-hoa");
    let secret = std::fs::metadata(st.path().join("config/sync-password")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&secret.permissions()) & 0o777,
        0o600
    );
    let events = local_events(&st);
    assert!(events > 150, "{events}");

    let (code, out, err) = sync_once(&st);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "Province: the province holds up to event {events}"
        )),
        "{out}"
    );
    assert_eq!(held(&pg, "hoang-hoa"), events);
    // Sent again: nothing doubled.
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 0, "{err}");
    assert_eq!(held(&pg, "hoang-hoa"), events);
    // Every schedule version the journal holds is at the centre, whole.
    assert_eq!(
        pg.count("SELECT count(*) FROM loaxa.schedules WHERE station = 'hoang-hoa' AND content LIKE '%[[slot]]%'"),
        1
    );

    // The station shows what the centre acknowledged, in Vietnamese by default.
    let mut c = command();
    c.current_dir(st.path()).arg("status");
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("tỉnh giữ đến sự kiện {events}")),
        "{out}"
    );
    let mut c = command();
    c.current_dir(st.path())
        .args(["report", "--month", "2025-09"]);
    let (_, out, _) = run(c);
    assert!(
        out.contains(&format!("tỉnh giữ đến sự kiện {events}")),
        "{out}"
    );

    // So does the console, on its Now page and in /metrics.
    {
        use crate::support::web::{Console, OPERATOR};
        let console = Console::start(&st);
        let page = console.login(OPERATOR).get("/");
        assert!(
            page.body
                .contains(&format!("tỉnh giữ đến sự kiện {events}")),
            "{}",
            page.body
        );
        let metrics = console.login(OPERATOR).get("/metrics").body;
        assert!(
            metrics.contains(&format!(
                "loaxa_province_acked_seq{{station=\"Đài truyền thanh xã Hoằng Hóa\"}} {events}"
            )),
            "{metrics}"
        );
    }

    // The province counts the month as the commune's own report does.
    let mine = station_report(&st);
    let (code, out, err) = central(&pg, &["report", "--month", "2025-09", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let province = json(&out);
    let c = commune(&province, "hoang-hoa");
    for field in [
        "planned",
        "completed",
        "partial",
        "failed",
        "missed",
        "interrupted",
    ] {
        assert_eq!(
            c[field], mine["totals"][field],
            "{field}: {c} vs {}",
            mine["totals"]
        );
    }
    assert_eq!(c["completion_percent"], mine["completion_percent"]);
    assert!(c["shortfalls"].as_object().unwrap().len() >= 2, "{c}");
    // Every other format comes out of the same figures.
    for format in ["table", "csv", "html", "xlsx"] {
        let (code, out, err) = central(&pg, &["report", "--month", "2025-09", "--format", format]);
        assert_eq!(code, 0, "{format}: {err}");
        assert!(!out.is_empty() || format == "xlsx");
    }
    let (_, table, _) = central(&pg, &["report", "--month", "2025-09"]);
    assert!(table.contains("hoang-hoa"), "{table}");
    // Regression (#23): the province's report read worse than the station's ("2026-12",
    // plan items as bare codes, reasons in English). In Vietnamese by default, every word.
    let mut c = command();
    c.args([
        "central",
        "report",
        "--month",
        "2025-09",
        "--db",
        &pg.admin_url(),
    ]);
    let (code, vi, err) = run(c);
    assert_eq!(code, 0, "{err}");
    for wanted in [
        "tháng 9/2025",
        "Buổi theo kế hoạch",
        "a — Vai trò, ý nghĩa của CCHC",
        "dd — Một cửa, dịch vụ công trực tuyến",
        "cchc-2025 — Kế hoạch tuyên truyền công tác cải cách hành chính năm 2025",
        "loaxa không chạy",
    ] {
        assert!(vi.contains(wanted), "{wanted}: {vi}");
    }
    for english in [
        "Planned",
        "device error",
        "not running",
        "2025-09 ",
        "(none)",
    ] {
        assert!(!vi.contains(english), "{english}: {vi}");
    }
    let mut c = command();
    c.args([
        "central",
        "verify",
        "--station",
        "xa-khong-co",
        "--db",
        &pg.admin_url(),
    ]);
    let (code, _, err) = run(c);
    assert_eq!(code, 2);
    assert!(err.contains("tỉnh không có đài xa-khong-co"), "{err}");

    let (code, out, err) = central(&pg, &["verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("hoang-hoa: {events} events")),
        "{out}"
    );
    assert!(out.contains("intact"), "{out}");
}

#[test]
fn what_the_centre_refuses_is_named_and_nothing_is_lost_or_doubled() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let a = crate::report::september();
    let b = TempStation::new("", "");
    enrol(&pg, &a, "xa-a");
    enrol(&pg, &b, "xa-b");
    let events = local_events(&a);

    // Wrong credentials.
    let wrong = a.path().join("config/wrong");
    std::fs::write(&wrong, "not-the-password").unwrap();
    // A password file every user can read is refused before anything is sent.
    sync_as(&pg, &a, "xa-a", "wrong");
    let (code, _, err) = sync_once(&a);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("readable by every user"), "{err}");
    std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    sync_as(&pg, &a, "xa-a", "wrong");
    let (code, _, err) = sync_once(&a);
    assert_eq!(code, 1);
    assert!(err.contains("refused the login loaxa_st_xa_a"), "{err}");
    assert_eq!(held(&pg, "xa-a"), 0);

    // Station B's login sending as station A.
    std::fs::copy(
        b.path().join("config/sync-password"),
        a.path().join("config/b-password"),
    )
    .unwrap();
    let config = a.path().join("config/loaxa.toml");
    sync_as(&pg, &a, "xa-a", "b-password");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("[sync]\n", "[sync]\nuser = \"loaxa_st_xa_b\"\n"),
    )
    .unwrap();
    let (code, _, err) = sync_once(&a);
    assert_eq!(code, 1);
    assert!(
        err.contains("the login loaxa_st_xa_b may not act for station xa-a"),
        "{err}"
    );
    assert_eq!(held(&pg, "xa-a"), 0);
    assert_eq!(
        pg.count("SELECT count(*) FROM loaxa.refusals WHERE login = 'loaxa_st_xa_b' AND station = 'xa-a'"),
        1
    );

    // A station's login cannot touch the tables itself.
    let b_password = std::fs::read_to_string(b.path().join("config/sync-password")).unwrap();
    let direct = std::process::Command::new("psql")
        .env("PGPASSWORD", b_password.trim())
        .args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &pg.port.to_string(),
        ])
        .args(["-U", "loaxa_st_xa_b", "-d", "loaxa", "-c"])
        .arg("DELETE FROM loaxa.events")
        .output()
        .unwrap();
    assert!(!direct.status.success());
    assert!(
        String::from_utf8_lossy(&direct.stderr).contains("permission denied"),
        "{direct:?}"
    );

    // A database that takes no writes (a full disk refuses them as this does).
    enrol(&pg, &a, "xa-a");
    pg.psql(
        "postgres",
        "ALTER DATABASE loaxa SET default_transaction_read_only = on",
    );
    let (code, _, err) = sync_once(&a);
    assert_eq!(code, 1);
    assert!(
        err.contains("refused to write") || err.contains("read-only"),
        "{err}"
    );
    assert_eq!(held(&pg, "xa-a"), 0);
    let state: serde_json::Value =
        json(&std::fs::read_to_string(a.journal().with_file_name("sync.json")).unwrap());
    assert!(state["error"].as_str().is_some(), "{state}");
    pg.psql(
        "postgres",
        "ALTER DATABASE loaxa SET default_transaction_read_only = off",
    );
    let (code, _, err) = sync_once(&a);
    assert_eq!(code, 0, "{err}");
    assert_eq!(held(&pg, "xa-a"), events);
    let state: serde_json::Value =
        json(&std::fs::read_to_string(a.journal().with_file_name("sync.json")).unwrap());
    assert!(state["error"].is_null(), "{state}");
    assert_eq!(state["acked_seq"], events);
}

/// Journals one more day of the September station (its clock as given), so there is
/// something new to send.
fn one_more_day(st: &TempStation, from: &str, to: &str) {
    use loaxa::audio::recorder::{Recorder, Tape};
    let clock = loaxa::clock::FakeClock::new(crate::report::local(from));
    crate::report::run(
        st,
        Recorder::new(Tape::default()),
        &clock,
        crate::report::local(to),
    );
}

/// Copies `original` back over `st`'s journal (its WAL files dropped), as one restoring it.
fn put_back(st: &TempStation, original: &Path) {
    let journal = st.journal();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", journal.display()));
    }
    std::fs::copy(original, &journal).unwrap();
}

/// Deletes a journal's last `n` events (its trigger dropped to do it), as a forger would.
fn drop_last(journal: &Path, n: i64) {
    let db = rusqlite::Connection::open(journal).unwrap();
    db.execute_batch(&format!(
        "DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > (SELECT max(seq) - {n} FROM events);"
    ))
    .unwrap();
}

/// The station's side of the evidence the centre keeps for `id`: (first, last, count).
fn evidence(pg: &Postgres, id: &str) -> (i64, i64, i64) {
    let q = |what: &str| {
        pg.count(&format!(
            "SELECT coalesce({what}, 0) FROM loaxa.fork_events e JOIN loaxa.forks f ON f.id = e.fork
             WHERE f.station = '{id}' AND e.side = 'station'"
        ))
    };
    (q("min(e.seq)"), q("max(e.seq)"), q("count(*)"))
}

/// Regression (#23): a station that deleted its last 5 events after sending them and aired
/// on top was refused naming the centre's head, and the evidence kept was one batch. The
/// fork is named where the rewrite starts and the station's whole divergent range is kept;
/// the province re-admits it with a reason, keeping the evidence of both sides for ever.
#[test]
fn a_rewritten_end_is_named_where_it_starts_kept_whole_and_the_station_can_be_readmitted() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let st = crate::report::september();
    enrol(&pg, &st, "xa-sua");
    assert_eq!(sync_once(&st).0, 0);
    let sent = local_events(&st);

    drop_last(&st.journal(), 5);
    one_more_day(&st, "2025-10-01 00:00", "2025-10-03 00:00");
    let local = local_events(&st);
    assert!(local > sent, "{local} {sent}");
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 1);
    let at = sent - 4;
    assert!(
        err.contains(&format!("event {at} differs from what the province holds"))
            && err.contains(&format!("events {at}–{local} are kept as evidence")),
        "{err}"
    );
    assert_eq!(evidence(&pg, "xa-sua"), (at, local, local - at + 1));
    assert_eq!(held(&pg, "xa-sua"), sent);
    // The station says it was refused, as a refusal, and what waits (regression: it went on
    // saying "sent up to …" as if all were well).
    let mut c = command();
    c.current_dir(st.path()).args(["status", "--lang", "en"]);
    let (_, out, _) = run(c);
    assert!(
        out.contains("Province: REFUSED BY THE PROVINCE since")
            && out.contains("not yet sent")
            && !out.contains("Province: Province"),
        "{out}"
    );
    let (code, out, _) = central(&pg, &["verify", "--station", "xa-sua"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "FLAGGED: the station's journal leaves the province's copy at event {at}"
        )),
        "{out}"
    );
    let (_, out, _) = central(&pg, &["report", "--format", "json"]);
    let report = json(&out);
    assert_eq!(report["flagged"][0]["station"], "xa-sua", "{report}");
    assert_eq!(report["flagged"][0]["fork_at"], at, "{report}");

    // A second pass sends nothing twice, and nothing is taken while flagged.
    assert_eq!(sync_once(&st).0, 1);
    assert_eq!(evidence(&pg, "xa-sua").2, local - at + 1);
    assert_eq!(held(&pg, "xa-sua"), sent);

    // Re-admitted: a reason is required; who, when and why are recorded.
    let (code, _, err) = central(&pg, &["readmit", "xa-sua", "--reason", "  "]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("needs its reason"), "{err}");
    let (code, out, err) = central(
        &pg,
        &[
            "readmit",
            "xa-sua",
            "--reason",
            "máy hỏng ổ đĩa, khôi phục từ bản sao lưu",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("re-admitted from event {at}: the 5 event(s)"))
            && out.contains(&format!("holds up to event {local}")),
        "{out}"
    );
    assert_eq!(held(&pg, "xa-sua"), local);
    assert_eq!(
        pg.count("SELECT count(*) FROM loaxa.fork_events WHERE side = 'held'"),
        5
    );
    assert_eq!(
        pg.psql(
            "loaxa",
            "SELECT by_login || ' ' || reason FROM loaxa.readmissions"
        ),
        format!(
            "{} máy hỏng ổ đĩa, khôi phục từ bản sao lưu",
            crate::support::postgres::ADMIN
        )
    );
    let (code, out, _) = central(&pg, &["verify", "--station", "xa-sua", "--full"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact; re-admitted 1 time(s)"), "{out}");
    // The station goes on from there as if nothing happened, and the report still says it
    // was flagged and re-admitted.
    one_more_day(&st, "2025-10-03 00:00", "2025-10-04 00:00");
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 0, "{err}");
    assert_eq!(held(&pg, "xa-sua"), local_events(&st));
    let (_, out, _) = central(&pg, &["report", "--format", "json"]);
    let report = json(&out);
    let f = &report["flagged"][0];
    assert_eq!(f["station"], "xa-sua", "{report}");
    assert!(f["fork_at"].is_null(), "{f}");
    assert_eq!(f["readmissions"][0]["at_seq"], at, "{f}");
    // Its counts are the station's own, whatever the centre held before.
    let (_, out, _) = central(&pg, &["report", "--month", "2025-10", "--format", "json"]);
    let c = commune(&json(&out), "xa-sua").clone();
    let mut sc = command();
    sc.current_dir(st.path())
        .args(["report", "--month", "2025-10", "--format", "json"]);
    let (_, own, _) = run(sc);
    let own = json(&own);
    assert_eq!(c["completed"], own["totals"]["completed"], "{c} {own}");
    assert_eq!(c["planned"], own["totals"]["planned"], "{c} {own}");
}

/// Regression (#23): a journal forged at event 10 and re-hashed was refused at the head
/// and the forged event was not in the evidence. It is named at event 10, and the forged
/// event and everything after it are kept.
#[test]
fn a_journal_forged_early_and_rehashed_is_named_at_the_forged_event_and_kept_from_there() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let st = crate::report::september();
    enrol(&pg, &st, "xa-gia");
    assert_eq!(sync_once(&st).0, 0);
    let sent = local_events(&st);
    rewrite_outcome(&st.journal(), 10);
    let mut c = command();
    c.current_dir(st.path()).args(["log", "verify"]);
    assert_eq!(run(c).0, 0, "the forger's journal verifies on its own");
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 1);
    assert!(err.contains("event 10 differs"), "{err}");
    assert_eq!(evidence(&pg, "xa-gia"), (10, sent, sent - 9));
    let forged: String = rusqlite::Connection::open(st.journal())
        .unwrap()
        .query_row("SELECT body FROM events WHERE seq = 10", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        pg.psql(
            "loaxa",
            "SELECT body FROM loaxa.fork_events WHERE side = 'station' AND seq = 10"
        ),
        forged.trim()
    );
    // What the centre holds is still the chain as first received.
    let (code, out, _) = central(&pg, &["verify", "--station", "xa-gia", "--full"]);
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!("xa-gia: {sent} events"))
            && out.contains("leaves the province's copy at event 10"),
        "{out}"
    );
}

/// Regression (#23): a station that truncated its journal but sent nothing new was never
/// noticed. Every contact reports the station's head, and the centre checks it. A journal
/// replaced by another is a fork of its own.
#[test]
fn a_truncated_or_replaced_journal_is_noticed_at_the_next_contact_though_it_sends_nothing() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let st = crate::report::september();
    enrol(&pg, &st, "xa-cat");
    assert_eq!(sync_once(&st).0, 0);
    let sent = local_events(&st);
    let original = st.journal().with_extension("orig");
    std::fs::copy(st.journal(), &original).unwrap();

    drop_last(&st.journal(), 5);
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "the journal here ends at event {} but the province holds up to {sent}: it was truncated or replaced",
            sent - 5
        )),
        "{err}"
    );
    assert_eq!(
        pg.count("SELECT fork_seq FROM loaxa.stations WHERE id = 'xa-cat'"),
        sent - 4
    );
    assert_eq!(
        pg.count("SELECT reported_seq FROM loaxa.stations WHERE id = 'xa-cat'"),
        sent - 5
    );
    assert_eq!(evidence(&pg, "xa-cat").2, 0);

    // Replaced by another month's journal, longer than what was sent.
    put_back(&st, &original);
    std::fs::remove_file(st.journal()).unwrap();
    one_more_day(&st, "2025-10-01 00:00", "2025-10-20 00:00");
    one_more_day(&st, "2025-10-20 00:00", "2025-11-30 00:00");
    assert!(local_events(&st) > sent);
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 1);
    assert!(
        err.contains("differs from what the province holds"),
        "{err}"
    );
    assert_eq!(
        pg.count("SELECT count(*) FROM loaxa.forks WHERE station = 'xa-cat'"),
        2
    );
    assert_eq!(held(&pg, "xa-cat"), sent);
}

/// Rewrites event `from`'s body (as a forger would, turning a failure into a success)
/// and re-hashes the chain from there, with the journal's own hash function.
fn rewrite_outcome(journal: &Path, from: i64) {
    let db = rusqlite::Connection::open(journal).unwrap();
    db.execute_batch("DROP TRIGGER events_no_update").unwrap();
    db.execute(
        "UPDATE events SET body = replace(body, '\"', '\"') || ' ' WHERE seq = ?1",
        [from],
    )
    .unwrap();
    drop(db);
    let j = loaxa::journal::Journal::open_reader(journal).unwrap();
    let mut events = j.raw_events(from - 1, usize::MAX).unwrap();
    drop(j);
    let db = rusqlite::Connection::open(journal).unwrap();
    let mut prev = db
        .query_row("SELECT hash FROM events WHERE seq = ?1", [from - 1], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
    for e in &mut events {
        e.prev_hash = prev.clone();
        e.hash = e.link();
        db.execute(
            "UPDATE events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![e.prev_hash, e.hash, e.seq],
        )
        .unwrap();
        prev = e.hash.clone();
    }
}

/// A station with a broadcast every quarter hour, journaled for `days` days of September
/// 2025 on a fake clock: thousands of events, so sending them takes many batches.
fn busy_station(days: u32) -> TempStation {
    use loaxa::audio::recorder::{Recorder, Tape};
    let st = TempStation::new(
        "",
        &format!(
            "{}[[slot]]\nid = \"tin\"\ncron = \"*/15 * * * *\"\ntopic = \"a\"\nplay = [\"tin.wav\"]\n",
            crate::support::PLAN
        ),
    );
    st.tone("tin.wav", 0.2);
    let start = crate::report::local("2025-09-01 00:00");
    let clock = loaxa::clock::FakeClock::new(start);
    crate::report::run(
        &st,
        Recorder::new(Tape::default()),
        &clock,
        start + chrono::Duration::days(i64::from(days)),
    );
    st
}

#[test]
fn a_station_catches_up_through_restarts_and_cut_connections_whatever_its_clock_says() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    // Offline for 30 days; its clock, more than a year behind the centre's, dates its events.
    let st = busy_station(30);
    enrol(&pg, &st, "xa-mat-mang");
    let events = local_events(&st);
    assert!(events > 4 * loaxa::sync::BATCH as i64, "{events}");

    let syncing = command()
        .current_dir(st.path())
        .args(["sync", "--lang", "en"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Connections cut mid-batch and the server restarted, while it sends.
    pg.wait_for(60, "a first batch", || held(&pg, "xa-mat-mang") > 0);
    let _ = pg.psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'loaxa_st_xa_mat_mang'",
    );
    pg.restart();
    pg.wait_for(120, "the whole journal at the centre", || {
        held(&pg, "xa-mat-mang") == events
    });
    let (code, log) = crate::support::bin::stop(syncing);
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        pg.count("SELECT count(DISTINCT seq) FROM loaxa.events WHERE station = 'xa-mat-mang'"),
        events
    );
    let (code, out, _) = central(&pg, &["verify"]);
    assert_eq!(code, 0, "{out}");
    let (_, out, _) = central(&pg, &["report", "--month", "2025-09", "--format", "json"]);
    let report = json(&out);
    let c = commune(&report, "xa-mat-mang");
    assert_eq!(c["planned"], 30 * 96, "{c}");
    assert_eq!(c["completed"], 30 * 96, "{c}");
}

/// Regression (#23): `central verify` run while stations sent said "broken" in 5 of 6 runs.
/// Each chain is read in one snapshot; by default only what is new since the last verified
/// point is walked, and `--full` walks everything (and finds what that cannot).
#[test]
fn verify_never_cries_wolf_while_stations_send_and_walks_only_what_is_new() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let stations: Vec<(String, TempStation)> = (1..=3)
        .map(|i| {
            let st = TempStation::new("", "");
            let id = format!("xa-{i}");
            enrol(&pg, &st, &id);
            (id, st)
        })
        .collect();
    const ROUNDS: usize = 10;
    const PER_ROUND: usize = 1_500;
    let running = std::sync::atomic::AtomicUsize::new(stations.len());
    let runs = std::thread::scope(|scope| {
        for (_, st) in &stations {
            let running = &running;
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    let mut j = loaxa::journal::Journal::open(&st.journal()).unwrap();
                    let events: Vec<_> = (0..PER_ROUND)
                        .map(|i| loaxa::journal::Event::StationStarted {
                            version: format!("{round}.{i}"),
                            output: "default".into(),
                            accounts_from: None,
                        })
                        .collect();
                    j.append_all(&events, chrono::Utc::now()).unwrap();
                    drop(j);
                    let (code, _, err) = sync_once(st);
                    assert_eq!(code, 0, "{err}");
                }
                running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let mut runs = 0;
        while running.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            let full = runs % 2 == 0;
            let args: &[&str] = if full {
                &["verify", "--full"]
            } else {
                &["verify"]
            };
            let (code, out, err) = central(&pg, args);
            assert_eq!(code, 0, "run {runs}: {out}{err}");
            assert_eq!(out.matches("intact").count(), 3, "{out}");
            runs += 1;
        }
        runs
    });
    assert!(runs >= 4, "verify ran {runs} times while the stations sent");
    let total = (ROUNDS * PER_ROUND) as i64;
    for (id, _) in &stations {
        assert_eq!(held(&pg, id), total);
    }

    // Once caught up, nothing new: nothing walked, from the checkpoint at each head.
    assert_eq!(central(&pg, &["verify"]).0, 0);
    let (code, out, _) = central(&pg, &["verify"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.matches(&format!(
            "{total} events (from the checkpoint at event {total})"
        ))
        .count(),
        3,
        "{out}"
    );
    // An event altered at the centre before the checkpoint is for `--full` to find.
    pg.psql(
        "loaxa",
        "UPDATE loaxa.events SET body = body || ' ' WHERE station = 'xa-1' AND seq = 5",
    );
    let (code, _, _) = central(&pg, &["verify", "--station", "xa-1"]);
    assert_eq!(code, 0);
    let (code, out, _) = central(&pg, &["verify", "--station", "xa-1", "--full"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN: event 5 was altered"), "{out}");
    // The checkpoint itself altered: the incremental walk says so.
    pg.psql(
        "loaxa",
        &format!(
            "UPDATE loaxa.events SET hash = md5(hash) WHERE station = 'xa-2' AND seq = {total}"
        ),
    );
    let (code, out, _) = central(&pg, &["verify", "--station", "xa-2"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "BROKEN: event {total} changed since it was last verified"
        )),
        "{out}"
    );
}

/// Regression (#23): `host=localhost hostaddr=<remote>` passed as local and connected in
/// plain text. TLS is judged on the address actually dialled, in every form of address: a
/// station sends in plain text to loopback however it is written, and never to anything else.
#[test]
fn tls_is_judged_on_the_address_actually_dialled_in_every_form() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let st = crate::report::september();
    enrol(&pg, &st, "xa-dia-chi");
    let config = st.path().join("config/loaxa.toml");
    let base = std::fs::read_to_string(&config).unwrap();
    let base = base.split("\n[sync]").next().unwrap().to_string();
    let port = pg.port;
    let with = |url: &str| {
        std::fs::write(
            &config,
            format!(
                "{base}\n[sync]\nurl = \"{url}\"\nstation = \"xa-dia-chi\"\nuser = \"loaxa_st_xa_dia_chi\"\npassword_file = \"sync-password\"\n"
            ),
        )
        .unwrap();
        sync_once(&st)
    };
    for remote in [
        format!("host=localhost hostaddr=203.0.113.5 port={port} dbname=loaxa sslmode=disable"),
        format!("postgresql://localhost:{port}/loaxa?hostaddr=203.0.113.5&sslmode=disable"),
        format!("host=127.0.0.1,tinh.example.vn port={port} dbname=loaxa sslmode=disable"),
        "service=tinh dbname=loaxa".to_string(),
    ] {
        let (code, _, err) = with(&remote);
        assert_eq!(code, 2, "{remote}: {err}");
        assert!(
            err.contains("TLS") || err.contains("service"),
            "{remote}: {err}"
        );
    }
    assert_eq!(held(&pg, "xa-dia-chi"), 0);
    // Loopback, however written, in plain text: sent.
    for local in [
        format!("host=localhost hostaddr=127.0.0.1 port={port} dbname=loaxa"),
        format!("postgresql://localhost:{port}/loaxa?hostaddr=127.0.0.1"),
    ] {
        let (code, _, err) = with(&local);
        assert_eq!(code, 0, "{local}: {err}");
    }
    assert_eq!(held(&pg, "xa-dia-chi"), local_events(&st));
}

#[test]
fn the_centre_is_reached_over_tls_trusted_only_through_the_systems_certificate_store() {
    crate::support::shared();
    let Some(pg) = Postgres::start_tls() else {
        return;
    };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let st = crate::report::september();
    enrol(&pg, &st, "xa-tls");
    // The server takes stations over TLS only, and the address asks for it.
    let config = st.path().join("config/loaxa.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("/loaxa\"", "/loaxa?sslmode=require\""),
    )
    .unwrap();
    let sync_with = |ca: &Path| {
        let mut c = command();
        c.current_dir(st.path())
            .env("SSL_CERT_FILE", ca)
            .args(["sync", "--once", "--lang", "en"]);
        run(c)
    };
    // Without the province's authority in the store: refused, and said why.
    let empty = st.path().join("no-authorities.pem");
    std::fs::write(&empty, "").unwrap();
    let (code, _, err) = sync_with(&empty);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot reach the central database") && err.contains("UnknownIssuer"),
        "{err}"
    );
    assert_eq!(held(&pg, "xa-tls"), 0);
    // With it: sent.
    let (code, out, err) = sync_with(&pg.ca());
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(held(&pg, "xa-tls"), local_events(&st));
}

#[test]
fn a_centre_whose_disk_is_full_refuses_to_write_and_takes_everything_once_there_is_room() {
    crate::support::shared();
    if unsafe { libc::geteuid() } != 0 {
        crate::support::skip("mounting a small file system needs root (CI runs as root)");
        return;
    }
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    // The events live on a small file system of their own (a tablespace on a 4 MB tmpfs).
    let small = pg.socket_dir().join("small");
    let Some(disk) = crate::support::tmpfs::Tmpfs::mount(&small) else {
        crate::support::skip("this machine does not let root mount a tmpfs");
        return;
    };
    let ok = std::process::Command::new("chown")
        .args(["postgres:postgres"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(ok.success());
    pg.psql(
        "loaxa",
        &format!("CREATE TABLESPACE small LOCATION '{}'", small.display()),
    );
    pg.psql("loaxa", "ALTER TABLE loaxa.events SET TABLESPACE small");
    let st = crate::report::september();
    enrol(&pg, &st, "xa-day-dia");
    let events = local_events(&st);

    disk.fill();
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 1);
    assert!(
        err.contains("refused to write") && err.contains("No space left on device"),
        "{err}"
    );
    assert_eq!(held(&pg, "xa-day-dia"), 0);
    let mut c = command();
    c.current_dir(st.path()).args(["status", "--lang", "en"]);
    let (_, out, _) = run(c);
    assert!(out.contains("CANNOT SEND since"), "{out}");
    // What waits is counted while nothing can be sent (regression: never said).
    assert!(
        out.contains(&format!("{events} event(s) not yet sent")),
        "{out}"
    );

    disk.free();
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 0, "{err}");
    assert_eq!(held(&pg, "xa-day-dia"), events);
    let (code, out, _) = central(&pg, &["verify"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_link_cut_in_the_middle_of_a_batch_loses_nothing_and_doubles_nothing() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let st = busy_station(8);
    enrol(&pg, &st, "xa-dut-mang");
    let events = local_events(&st);
    assert!(events > loaxa::sync::BATCH as i64, "{events}");
    // The first batch is about a megabyte: the link drops 300 kB into it.
    let proxy = crate::support::proxy::CutProxy::start(pg.port, 300_000);
    let config = st.path().join("config/loaxa.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            &format!("127.0.0.1:{}", pg.port),
            &format!("127.0.0.1:{}", proxy.port),
        ),
    )
    .unwrap();
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 1);
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(err.contains("cannot reach the central database"), "{err}");
    // The cut batch left nothing half-written.
    assert_eq!(held(&pg, "xa-dut-mang"), 0);
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 0, "{err}");
    assert_eq!(held(&pg, "xa-dut-mang"), events);
    assert_eq!(
        pg.count("SELECT count(DISTINCT seq) FROM loaxa.events WHERE station = 'xa-dut-mang'"),
        events
    );
    assert_eq!(central(&pg, &["verify"]).0, 0);
}

/// `central stations`: each commune as the province sees it now, by its last heartbeat — on
/// air, live, its output down, loaxa not running, or silent since its last contact (a
/// heartbeat older than 90 s says nothing) — with its unsent events and this month's
/// completion; in Vietnamese unless asked otherwise.
#[test]
fn the_province_sees_each_commune_s_state_from_its_last_heartbeat() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let ids = ["xa-a", "xa-b", "xa-c", "xa-d", "xa-e"];
    let _stations: Vec<TempStation> = ids
        .iter()
        .map(|id| {
            let st = TempStation::new("", "");
            enrol(&pg, &st, id);
            st
        })
        .collect();
    // What each one's sync last said (xa-e's never spoke).
    pg.psql(
        "loaxa",
        "INSERT INTO loaxa.heartbeats (station, live, on_air, output_ok, backlog) VALUES
           ('xa-a', true, 'Tin sáng', true, 3), ('xa-b', true, NULL, true, 0),
           ('xa-c', true, NULL, false, 0), ('xa-d', false, NULL, true, 12);
         UPDATE loaxa.stations SET contact_at = now() WHERE id <> 'xa-e'",
    );
    let codes = |pg: &Postgres| -> Vec<String> {
        let (code, out, err) = central(pg, &["stations", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        json(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{} {} {}",
                    s["station"].as_str().unwrap(),
                    s["condition"]["code"].as_str().unwrap(),
                    s["heartbeat"]["backlog"]
                )
            })
            .collect()
    };
    assert_eq!(
        codes(&pg),
        [
            "xa-a on_air 3",
            "xa-b live 0",
            "xa-c output_down 0",
            "xa-d daemon_down 12",
            "xa-e silent null"
        ]
    );
    // A heartbeat that stopped coming: silent since the last contact.
    pg.psql(
        "loaxa",
        "UPDATE loaxa.heartbeats SET at = now() - interval '5 minutes' WHERE station = 'xa-b'",
    );
    assert_eq!(codes(&pg)[1], "xa-b silent 0");
    let mut c = command();
    c.args(["central", "stations", "--db", &pg.admin_url()]);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    for said in [
        "đang phát: Tin sáng",
        "mất đầu ra âm thanh",
        "loaxa không chạy",
        "im lặng từ",
        "chưa liên lạc lần nào",
        "Xã xa-a",
    ] {
        assert!(out.contains(said), "{said}: {out}");
    }
}
