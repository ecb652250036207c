//! The province's console, `loaxa central web`, as its officials use it: the real program over a
//! real PostgreSQL started here, driven over HTTP as a browser without JavaScript would. Two
//! people for a send (an editor drafts, another approves; an approver alone only for khẩn cấp),
//! the delivery board commune by commune, withdrawal with a reason, every change in the
//! console's log under the person's name — and every change refused to whoever may not make it,
//! before its body is read.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::Stdio;

use crate::central::{central, enrol, json, sync_once};
use crate::support::bin::command;
use crate::support::bin::log_json;
use crate::support::postgres::Postgres;
use crate::support::web::{base64, Client, Console, Part};
use crate::support::TempStation;

const EDITOR: (&str, &str) = ("bien-tap", "mat khau bien tap");
const APPROVER: (&str, &str) = ("duyet", "mat khau duyet 1");
const VIEWER: (&str, &str) = ("xem", "mat khau chi xem");

/// `loaxa central web passwd`, the password on standard input as a script gives it.
fn passwd(pg: &Postgres, who: (&str, &str), role: &str) -> (i32, String, String) {
    let mut child = command()
        .args(["central", "web", "passwd", "--user", who.0, "--role", role])
        .args(["--db", &pg.admin_url(), "--lang", "en"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refused role or name ends the program before it reads: the pipe may be closed.
    let _ = writeln!(child.stdin.take().unwrap(), "{}", who.1);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The centre with two communes in a group and a third outside it, the three accounts, and the
/// console listening on a free loopback port.
fn province(pg: &Postgres) -> (Console, Vec<TempStation>) {
    assert_eq!(central(pg, &["init"]).0, 0);
    let stations: Vec<TempStation> = ["xa-1", "xa-2", "xa-3"]
        .iter()
        .map(|id| {
            let st = TempStation::new("", "");
            enrol(pg, &st, id);
            st
        })
        .collect();
    assert_eq!(
        central(pg, &["group", "add", "ven-bien", "xa-1", "xa-2"]).0,
        0
    );
    for (who, role) in [
        (EDITOR, "editor"),
        (APPROVER, "approver"),
        (VIEWER, "viewer"),
    ] {
        let (code, out, err) = passwd(pg, who, role);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("created"), "{out}");
    }
    (start(pg, &[]), stations)
}

fn start(pg: &Postgres, args: &[&str]) -> Console {
    let addr: SocketAddr = format!("127.0.0.1:{}", crate::support::icecast::free_port())
        .parse()
        .unwrap();
    let mut child = command()
        .args(["central", "web", "--listen", &addr.to_string()])
        .args(["--db", &pg.admin_url(), "--lang", "en"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            eprintln!("[central web] {line}");
            if line.contains("http://") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(20))
        .expect("loaxa central web did not start listening");
    Console { child, addr }
}

/// A bulletin composed in the form: its clip, title, level, addressees, and the button.
fn compose(c: &Client, clip: &[u8], title: &str, level: &str, to: &[&str], action: &str) -> u16 {
    let mut parts = vec![
        Part::File("clip", "bao-so-5.wav", clip),
        Part::Field("title", title),
        Part::Field("level", level),
        Part::Field("repeat", "2"),
        Part::Field("action", action),
    ];
    parts.extend(to.iter().map(|t| Part::Field("to", t)));
    let token = c.csrf.clone().unwrap_or_default();
    let ct = format!(
        "multipart/form-data; boundary={}",
        crate::support::web::BOUNDARY
    );
    c.request(
        "POST",
        &format!("/bulletins/new?csrf={token}"),
        &[("Content-Type", &ct)],
        &crate::support::web::multipart(&parts),
    )
    .status
}

/// Waits until the daemon has started: its journal holds its first event.
fn journal_ready(st: &TempStation) {
    crate::support::web::eventually(20, "the daemon's journal", || {
        loaxa::journal::Journal::open_reader(&st.journal()).is_ok_and(|j| j.head().0 > 0)
    });
}

/// The console's log: (login, what), oldest first.
fn logged(pg: &Postgres) -> Vec<(String, String)> {
    pg.psql(
        "loaxa",
        "SELECT login || '|' || what FROM loaxa.console_log ORDER BY id",
    )
    .lines()
    .filter_map(|l| {
        l.split_once('|')
            .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
    })
    .collect()
}

#[test]
fn an_editor_drafts_another_approves_and_the_board_follows_each_commune() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    let (console, stations) = province(&pg);
    let clip = std::fs::read(stations[0].tone("bao.wav", 1.5)).unwrap();

    // The editor sees every commune, by group too.
    let editor = console.login(EDITOR);
    let home = editor.get("/");
    assert_eq!(home.status, 200);
    for id in ["xa-1", "xa-2", "xa-3"] {
        assert!(
            home.body.contains(&format!("data-station=\"{id}\"")),
            "{}",
            home.body
        );
    }
    assert!(home.body.contains("never heard from"), "{}", home.body);
    // No place known: no map. Two placed communes: points on a map, each a link.
    assert!(!home.body.contains("id=\"map\""));
    assert_eq!(
        central(&pg, &["locate", "xa-1", "--at", "19.8295,105.8604"]).0,
        0
    );
    assert_eq!(
        central(&pg, &["locate", "xa-2", "--at", "19.6836,105.7897"]).0,
        0
    );
    assert_eq!(central(&pg, &["locate", "xa-2", "--at", "91,105"]).0, 2);
    assert_eq!(central(&pg, &["locate", "khong-co", "--at", "19,105"]).0, 2);
    let home = editor.get("/");
    assert!(home.body.contains("id=\"map\""), "{}", home.body);
    assert_eq!(home.body.matches("<circle data-station=").count(), 2);
    assert!(home.body.contains("<a href=\"/communes/xa-2\"><circle"));
    let group = editor.get("/?group=ven-bien");
    assert!(group.body.contains("data-station=\"xa-2\""));
    assert!(
        !group.body.contains("data-station=\"xa-3\""),
        "{}",
        group.body
    );

    // A draft: sent to no station.
    assert_eq!(
        compose(
            &editor,
            &clip,
            "Bão số 5",
            "emergency",
            &["ven-bien"],
            "draft"
        ),
        303
    );
    assert_eq!(pg.count("SELECT count(*) FROM loaxa.bulletins"), 0);
    let draft = editor.get("/drafts/1");
    assert!(draft.body.contains("Bão số 5") && draft.body.contains("id=\"own-draft\""));
    assert!(!draft.body.contains("id=\"approve\""), "{}", draft.body);
    // Its clip is checked (length, loudness) and can be listened to.
    let drafts = json(&editor.get("/api/drafts").body);
    assert_eq!(drafts[0]["duration_ms"], 1500, "{drafts}");
    let sha = drafts[0]["sha256"].as_str().unwrap().to_string();
    assert!(draft.body.contains(&format!("src=\"/clips/{sha}\"")));
    let listened = editor.get(&format!("/clips/{sha}"));
    assert_eq!(listened.status, 200);
    assert_eq!(listened.header("content-type"), Some("audio/wav"));
    assert_eq!(editor.get("/clips/..%2F..%2Fetc").status, 404);
    // The editor may neither approve (the role) nor send alone.
    assert_eq!(editor.post_form_csrf("/drafts/1/approve", &[]).status, 403);
    assert_eq!(
        compose(&editor, &clip, "Bão số 6", "emergency", &["all"], "send"),
        403
    );

    // The approver approves: it goes to the group's two communes, and the board follows them.
    let approver = console.login(APPROVER);
    assert!(approver.get("/drafts/1").body.contains("id=\"approve\""));
    let approved = approver.post_form_csrf("/drafts/1/approve", &[]);
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert_eq!(approved.header("location"), Some("/bulletins/1"));
    let board = approver.get("/bulletins/1");
    assert!(
        board
            .body
            .contains("data-station=\"xa-1\" data-state=\"silent\""),
        "{}",
        board.body
    );
    assert!(board.body.contains("data-station=\"xa-2\""));
    assert!(!board.body.contains("data-station=\"xa-3\""));
    assert!(
        board.body.contains("http-equiv=\"refresh\""),
        "a board under way reloads"
    );
    let api = json(&approver.get("/api/bulletins/1").body);
    assert_eq!(api["states"]["xa-1"], "silent", "{api}");
    assert_eq!(api["bulletin"]["title"], "Bão số 5", "{api}");
    // A second approval is refused; the bulletin keeps who wrote it and who approved it.
    assert_eq!(
        approver.post_form_csrf("/drafts/1/approve", &[]).status,
        422
    );
    assert_eq!(
        pg.psql("loaxa", "SELECT drafted_by || ',' || approved_by || ',' || sent_alone FROM loaxa.bulletins WHERE id = 1").trim(),
        "bien-tap,duyet,false"
    );

    // An approver alone: khẩn cấp only.
    assert_eq!(
        compose(&approver, &clip, "Họp dân", "priority", &["all"], "send"),
        422
    );
    assert_eq!(
        compose(&approver, &clip, "Lũ quét", "emergency", &["xa-3"], "send"),
        303
    );
    assert_eq!(
        pg.psql(
            "loaxa",
            "SELECT approved_by || ',' || sent_alone FROM loaxa.bulletins WHERE id = 2"
        )
        .trim(),
        "duyet,true"
    );

    // A viewer looks and changes nothing.
    let viewer = console.login(VIEWER);
    assert_eq!(viewer.get("/bulletins/2").status, 200);
    assert_eq!(
        viewer
            .post_form_csrf("/bulletins/2/withdraw", &[("reason", "x")])
            .status,
        403
    );
    assert!(!viewer
        .get("/bulletins")
        .body
        .contains("id=\"compose-form\""));

    // Withdrawn with a reason, under the editor's name.
    assert_eq!(
        editor
            .post_form_csrf("/bulletins/2/withdraw", &[("reason", "")])
            .status,
        422
    );
    let w = editor.post_form_csrf("/bulletins/2/withdraw", &[("reason", "báo nhầm")]);
    assert_eq!(w.status, 303, "{}", w.body);
    let board = editor.get("/bulletins/2");
    assert!(board.body.contains("id=\"withdrawn\"") && board.body.contains("báo nhầm"));
    assert_eq!(
        pg.psql(
            "loaxa",
            "SELECT withdrawn_by FROM loaxa.bulletins WHERE id = 2"
        )
        .trim(),
        "bien-tap"
    );

    // Every change in the console's log, under the person who made it.
    let log = logged(&pg);
    for expected in [
        ("bien-tap", "bulletin_drafted"),
        ("duyet", "bulletin_approved"),
        ("duyet", "bulletin_sent_alone"),
        ("bien-tap", "bulletin_withdrawn"),
        ("xem", "login"),
    ] {
        assert!(
            log.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {log:?}"
        );
    }

    // What the pages show, as JSON and as Prometheus gauges (a scraper's Basic credentials).
    let api = json(&viewer.get("/api/stations").body);
    assert_eq!(api.as_array().map(Vec::len), Some(3), "{api}");
    assert_eq!(api[0]["condition"]["code"], "silent", "{api}");
    let scraper = console.client();
    let basic = format!(
        "Basic {}",
        base64(format!("{}:{}", VIEWER.0, VIEWER.1).as_bytes())
    );
    let metrics = scraper.request("GET", "/metrics", &[("Authorization", &basic)], &[]);
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(
        metrics
            .body
            .contains("loaxa_station_live{station=\"xa-1\"} 0"),
        "{}",
        metrics.body
    );
    assert!(
        metrics
            .body
            .contains("loaxa_bulletin_communes{bulletin=\"1\",state=\"silent\"} 2"),
        "{}",
        metrics.body
    );
    // Basic credentials change nothing, whatever the account.
    let approver_basic = format!(
        "Basic {}",
        base64(format!("{}:{}", APPROVER.0, APPROVER.1).as_bytes())
    );
    let r = scraper.request(
        "POST",
        "/bulletins/1/withdraw",
        &[
            ("Authorization", &approver_basic),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"reason=x",
    );
    assert_eq!(r.status, 401, "{}", r.body);
}

#[test]
fn every_change_at_the_province_console_is_refused_to_whoever_may_not_make_it() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    let (console, stations) = province(&pg);
    let clip = std::fs::read(stations[0].tone("bao.wav", 1.0)).unwrap();
    let editor = console.login(EDITOR);
    assert_eq!(
        compose(&editor, &clip, "Bão", "emergency", &["all"], "draft"),
        303
    );
    let changes = [
        "/bulletins/new",
        "/drafts/1/approve",
        "/bulletins/1/withdraw",
        "/verify",
        "/communes/xa-1/readmit",
        "/logout",
    ];
    // No session: 401, nothing read.
    let nobody = console.client();
    for path in changes {
        assert_eq!(
            nobody.post_form(path, &[("reason", "x")]).status,
            401,
            "{path}"
        );
    }
    assert_eq!(nobody.get("/").status, 303, "a page sends to the login");
    assert_eq!(nobody.get("/api/stations").status, 401);
    assert_eq!(nobody.get("/metrics").status, 401);
    // A session without its token, or from another site: 403.
    let approver = console.login(APPROVER);
    for path in changes {
        assert_eq!(
            approver.post_form(path, &[("reason", "x")]).status,
            403,
            "{path}"
        );
        let r = approver.request(
            "POST",
            &format!("{path}?csrf={}", approver.csrf.clone().unwrap_or_default()),
            &[
                ("Origin", "http://evil.example"),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            b"reason=x",
        );
        assert_eq!(r.status, 403, "{path} cross-site");
    }
    // A viewer may only log out; an editor may not approve.
    let viewer = console.login(VIEWER);
    for path in &changes[..changes.len() - 1] {
        assert_eq!(
            viewer.post_form_csrf(path, &[("reason", "x")]).status,
            403,
            "{path}"
        );
    }
    assert_eq!(editor.post_form_csrf("/drafts/1/approve", &[]).status, 403);
    assert_eq!(
        editor
            .post_form_csrf("/communes/xa-1/readmit", &[("reason", "x")])
            .status,
        403
    );
    // Hostile values where an approver may act: a station not flagged, an unknown or
    // malformed one, a reason of control characters and a megabyte of text.
    for (path, reason) in [
        ("/communes/xa-1/readmit", "\u{0}\u{1b}[31m \u{202e}"),
        ("/communes/khong-co/readmit", "x"),
        ("/communes/..%2F..%2Fetc/readmit", "x"),
    ] {
        let r = approver.post_form_csrf(path, &[("reason", reason)]);
        assert!(
            matches!(r.status, 404 | 422),
            "{path}: {} {}",
            r.status,
            r.body
        );
    }
    let huge = "ă".repeat(600_000);
    let r = approver.post_form_csrf("/bulletins/1/withdraw", &[("reason", &huge)]);
    // Refused whole, in the console's words, not the framework's.
    assert_eq!(r.status, 400);
    assert!(r.body.contains("could not be read"), "{}", r.body);
    // Nor through a foreign Host (a name rebound to 127.0.0.1 by another site's page).
    let r = approver.raw(
        format!(
            "GET / HTTP/1.1\r\nHost: evil.example\r\nCookie: {}\r\nConnection: close\r\n\r\n",
            approver.cookie.clone().unwrap_or_default()
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 421);
    assert_eq!(pg.count("SELECT count(*) FROM loaxa.bulletins"), 0);

    // Hostile names and sizes.
    let token = editor.csrf.clone().unwrap_or_default();
    let ct = format!(
        "multipart/form-data; boundary={}",
        crate::support::web::BOUNDARY
    );
    let hostile = crate::support::web::multipart(&[
        Part::File("clip", "../../etc/passwd", &clip),
        Part::Field("title", "x"),
        Part::Field("level", "emergency"),
        Part::Field("to", "all"),
    ]);
    let r = editor.request(
        "POST",
        &format!("/bulletins/new?csrf={token}"),
        &[("Content-Type", &ct)],
        &hostile,
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let r = editor.request(
        "POST",
        &format!("/bulletins/new?csrf={token}"),
        &[("Content-Type", &ct), ("Content-Length", "900000000")],
        &[],
    );
    assert!(
        r.status == 413 || r.status == 400,
        "{} {}",
        r.status,
        r.body
    );
    assert_eq!(editor.get("/bulletins/abc").status, 400);
    assert_eq!(editor.get("/drafts/99").status, 404);
    assert_eq!(editor.get("/bulletins/99").status, 404);
    for (who, role) in [
        (("Ke Xau", "12345678"), "editor"),
        (("ok-name", "x"), "editor"),
        (("ok-name", "12345678"), "admin"),
    ] {
        let (code, _, err) = passwd(&pg, who, role);
        assert_eq!(code, 2, "{who:?} {role}: {err}");
    }

    // Too many wrong passwords from one address: slowed, and each failure logged.
    let wrong = console.client();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            wrong
                .post_form("/login", &[("user", "duyet"), ("password", "sai")])
                .status,
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(logged(&pg).iter().any(|(_, w)| w == "login_failed"));

    // A station's PostgreSQL login cannot read the console's accounts or its log.
    let password =
        std::fs::read_to_string(stations[0].path().join("config/sync-password")).unwrap();
    for table in ["loaxa.console_accounts", "loaxa.console_log"] {
        let out = std::process::Command::new("psql")
            .env("PGPASSWORD", password.trim())
            .args([
                "-X",
                "-A",
                "-t",
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port.to_string(),
            ])
            .args(["-U", "loaxa_st_xa_1", "-d", "loaxa", "-c"])
            .arg(format!("SELECT * FROM {table}"))
            .output()
            .unwrap();
        assert!(
            !out.status.success()
                && String::from_utf8_lossy(&out.stderr).contains("permission denied"),
            "{table}: {out:?}"
        );
    }
}

#[test]
fn the_province_console_will_not_open_to_the_network_before_an_account_exists() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let out = command()
        .args(["central", "web", "--listen", "0.0.0.0:0"])
        .args(["--db", &pg.admin_url(), "--lang", "en"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("before an account exists"),
        "{out:?}"
    );
}

#[test]
fn a_commune_s_page_shows_its_journal_as_the_centre_holds_it_word_for_word_as_its_own_log() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let st = crate::report::september();
    enrol(&pg, &st, "hoang-hoa");
    let (code, out, err) = sync_once(&st);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(passwd(&pg, VIEWER, "viewer").0, 0);
    assert_eq!(passwd(&pg, EDITOR, "editor").0, 0);
    let console = start(&pg, &[]);
    let viewer = console.login(VIEWER);

    // The station's own log of September, and the centre's copy of it, page by page.
    let own = log_json(&st);
    let own: Vec<&serde_json::Value> = own["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["scheduled_at"]
                .as_str()
                .is_some_and(|s| s.starts_with("2025-09"))
        })
        .collect();
    assert!(own.len() > 40, "{}", own.len());
    let span = "from=2025-09-01&to=2025-09-30";
    let first = json(
        &viewer
            .get(&format!("/api/communes/hoang-hoa/log?{span}"))
            .body,
    );
    assert_eq!(first["total"], own.len() as i64, "{first}");
    let mut held: Vec<serde_json::Value> = Vec::new();
    let mut page = 1;
    loop {
        let p = json(
            &viewer
                .get(&format!(
                    "/api/communes/hoang-hoa/log?{span}&per=10&page={page}"
                ))
                .body,
        );
        let records = p["records"].as_array().unwrap().clone();
        if records.is_empty() {
            break;
        }
        held.extend(records);
        page += 1;
    }
    assert_eq!(held.len(), own.len());
    assert_eq!(page, own.len().div_ceil(10) + 1, "pages of ten");
    for (a, b) in own.iter().zip(&held) {
        assert_eq!(a["info"]["key"], b["info"]["key"]);
        assert_eq!(a["outcome"], b["outcome"], "{a} / {b}");
    }
    // Filtered in SQL as the station's log filters.
    let missed = own.iter().filter(|r| r["outcome"] == "missed").count();
    let p = json(
        &viewer
            .get(&format!(
                "/api/communes/hoang-hoa/log?{span}&outcome=missed"
            ))
            .body,
    );
    assert_eq!(p["total"], missed as i64, "{p}");
    // The page: its rows, its link, its words.
    let page = viewer.get(&format!("/communes/hoang-hoa?{span}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"records\"") && page.body.contains("id=\"link\""));
    assert_eq!(page.body.matches("<tr data-outcome=").count(), own.len());
    assert_eq!(viewer.get("/communes/khong-co").status, 404);
    assert_eq!(viewer.get("/communes/hoang-hoa?outcome=bogus").status, 400);
    assert_eq!(
        viewer.get("/communes/hoang-hoa?from=2025-13-01").status,
        400
    );

    // The province's report for September, with its charts and downloads.
    let report = viewer.get("/report?month=2025-09");
    assert_eq!(report.status, 200);
    assert!(report.body.contains("id=\"chart-communes\"") && report.body.contains("hoang-hoa"));
    let csv = viewer.get("/report/download?month=2025-09&format=csv");
    assert!(
        csv.body.starts_with('\u{FEFF}'),
        "a CSV for Excel starts with a BOM"
    );
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let xlsx = viewer.get("/report/download?year=2025&format=xlsx");
    assert_eq!(xlsx.status, 200);
    let api = json(&viewer.get("/api/report?month=2025-09").body);
    assert_eq!(api["communes"][0]["station"], "hoang-hoa", "{api}");
    let (_, cli, _) = central(&pg, &["report", "--month", "2025-09", "--format", "json"]);
    assert_eq!(
        api["totals"],
        json(&cli)["totals"],
        "the page's report is the command's"
    );
    assert_eq!(viewer.get("/report?quarter=2025-Q9").status, 400);
    let own = viewer.get("/report?month=2025-09&station=hoang-hoa");
    assert!(own.body.contains("The report of hoang-hoa"), "{}", own.body);
    assert_eq!(
        viewer
            .get("/report/download?month=2025-09&format=exe")
            .status,
        400
    );

    // Verify: a viewer may not start a run; an editor's run walks every chain.
    assert_eq!(viewer.post_form_csrf("/verify", &[]).status, 403);
    let editor = console.login(EDITOR);
    assert_eq!(
        editor.post_form_csrf("/verify", &[("full", "1")]).status,
        303
    );
    crate::support::web::eventually(30, "the verification run", || {
        let page = editor.get("/verify");
        page.body.contains("id=\"verdict\"")
    });
    let page = editor.get("/verify");
    assert!(page.body.contains("Every chain is whole"), "{}", page.body);
    let run = json(&editor.get("/api/verify").body);
    assert_eq!(run["checks"][0]["station"], "hoang-hoa", "{run}");
    assert!(run["checks"][0]["events"].as_i64().unwrap() > 150, "{run}");
    // Re-admission: an approver's only, and only for a flagged station.
    assert_eq!(
        editor
            .post_form_csrf("/communes/hoang-hoa/readmit", &[("reason", "x")])
            .status,
        403
    );
}

/// A commune's page links to its live stream where its station has a `[stream]`: the address
/// its listening `loaxa sync` gives in its heartbeat (`public_url`, or the mount's own
/// address when that is not on the station's machine, never with the source's password).
/// The centre keeps only a web address, whatever a station's login sends.
#[test]
fn a_commune_s_page_links_to_its_live_stream_as_its_station_says_and_to_nothing_else() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    let (console, stations) = province(&pg);
    let streams = [
        // An Icecast on the station's own machine, published under the province's address.
        "[stream]\nurl = \"http://127.0.0.1:8000/xa-1.mp3\"\npassword = \"p\"\npublic_url = \"https://nghe.tinh.gov.vn/xa-1.mp3\"\n",
        // The province's server, the source's password in the address.
        "[stream]\nurl = \"http://source:hackme@dai.tinh.gov.vn:8000/xa-2.mp3\"\n",
        // None: xa-3 does not stream.
        "",
    ];
    let syncs: Vec<_> = stations
        .iter()
        .zip(streams)
        .map(|(st, stream)| {
            let config = st.path().join("config/loaxa.toml");
            let text = std::fs::read_to_string(&config).unwrap();
            std::fs::write(&config, format!("{text}\n{stream}")).unwrap();
            drop(loaxa::journal::Journal::open(&st.journal()).unwrap());
            command()
                .current_dir(st.path())
                .args(["sync", "--lang", "en"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    pg.wait_for(30, "each commune's heartbeat", || {
        pg.count("SELECT count(*) FROM loaxa.heartbeats") == 3
    });
    for child in syncs {
        let (code, log) = crate::support::bin::stop(child);
        assert_eq!(code, 0, "{log}");
    }
    let viewer = console.login(VIEWER);
    let page = |id: &str| {
        let r = viewer.get(&format!("/communes/{id}"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    };
    let xa1 = page("xa-1");
    assert!(
        xa1.contains(r#"href="https://nghe.tinh.gov.vn/xa-1.mp3" id="stream""#),
        "{xa1}"
    );
    let xa2 = page("xa-2");
    assert!(
        xa2.contains(r#"href="http://dai.tinh.gov.vn:8000/xa-2.mp3" id="stream""#),
        "{xa2}"
    );
    assert!(!xa2.contains("hackme"));
    assert!(!page("xa-3").contains(r#"id="stream""#));
    let api = json(&viewer.get("/api/stations").body);
    let of = |id: &str| {
        api.as_array()
            .unwrap()
            .iter()
            .find(|s| s["station"] == id)
            .map(|s| s["heartbeat"]["stream_url"].clone())
            .unwrap()
    };
    assert_eq!(of("xa-1"), "https://nghe.tinh.gov.vn/xa-1.mp3", "{api}");
    assert_eq!(of("xa-3"), serde_json::Value::Null, "{api}");

    // Whatever a station's own login sends, only a web address without credentials is kept.
    let login = pg.psql(
        "loaxa",
        "SELECT login FROM loaxa.stations WHERE id = 'xa-3'",
    );
    for (sent, kept) in [
        ("javascript:alert(1)", ""),
        ("http://u:p@nghe.tinh.gov.vn/x.mp3", ""),
        ("data:text/html,<b>x</b>", ""),
        (
            "https://nghe.tinh.gov.vn/x.mp3\"onmouseover=\"alert(1)",
            "https://nghe.tinh.gov.vn/x.mp3\"onmouseover=\"alert(1)",
        ),
    ] {
        pg.psql(
            "loaxa",
            &format!(
                "SET SESSION AUTHORIZATION \"{login}\"; SELECT * FROM loaxa.heartbeat('xa-3', true, NULL, true, 0, '{sent}')"
            ),
        );
        let held = pg.psql(
            "loaxa",
            "SELECT coalesce(stream_url, '') FROM loaxa.heartbeats WHERE station = 'xa-3'",
        );
        assert_eq!(held, kept, "{sent}");
    }
    // The one kept is shown as an address, its quotes escaped: no attribute is added.
    let xa3 = page("xa-3");
    assert!(xa3.contains(r#"id="stream""#), "{xa3}");
    assert!(!xa3.contains(r#""onmouseover"#), "{xa3}");
}

/// A day at the province, in Chromium: the editor drafts a khẩn cấp bulletin to a group, the
/// approver approves it, two real stations (daemons, listening `loaxa sync`) air it and the
/// board says so commune by commune; a second one, sent by the approver alone, is withdrawn
/// while on air and cut. Every page fits a laptop and a phone without scrolling sideways.
#[test]
fn in_the_browser_a_bulletin_is_drafted_approved_and_followed_until_it_aired_at_each_commune() {
    crate::support::alone();
    let Some(pg) = Postgres::start() else { return };
    let Some(b) = crate::support::browser::Browser::start(1366, 768) else {
        return;
    };
    let (console, stations) = province(&pg);
    let base = format!("http://{}", console.addr);
    assert_eq!(
        central(&pg, &["locate", "xa-1", "--at", "19.8295,105.8604"]).0,
        0
    );
    assert_eq!(
        central(&pg, &["locate", "xa-2", "--at", "19.6836,105.7897"]).0,
        0
    );
    let daemons: Vec<_> = stations[..2]
        .iter()
        .map(|st| crate::support::bin::start_run(st, &["--lang", "en"]))
        .collect();
    for st in &stations[..2] {
        journal_ready(st);
    }
    let syncs: Vec<_> = stations[..2]
        .iter()
        .map(|st| {
            command()
                .current_dir(st.path())
                .args(["sync", "--lang", "en"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let short = stations[2].path().join("Bão số 5.wav");
    crate::support::tone_wav(&short, 1.5, 440.0, 8000, 1);
    let long = stations[2].path().join("Báo động.wav");
    crate::support::tone_wav(&long, 30.0, 440.0, 8000, 1);

    // The editor drafts: a khẩn cấp bulletin to the coastal group.
    b.log_in(&base, EDITOR);
    b.go(&format!("{base}/bulletins"));
    b.type_into("input[name=clip]", &short.display().to_string());
    b.type_into("input[name=title]", "Bão số 5");
    b.click("select[name=level] option[value=emergency]");
    b.click("input[name=to][value=ven-bien]");
    b.click("#save-draft");
    b.wait_for("#own-draft", 20);
    b.click("form[action^='/logout'] button");
    // Logged out once the login page is back (going on sooner could cut the logout short).
    b.wait_for("input[name=user]", 10);

    // The approver approves; the board follows both communes to the end.
    b.log_in(&base, APPROVER);
    b.go(&format!("{base}/drafts/1"));
    b.click("#approve");
    b.wait_for("#board", 10);
    let aired = |b: &crate::support::browser::Browser| {
        ["xa-1", "xa-2"]
            .iter()
            .all(|id| b.count(&format!("tr[data-station='{id}'][data-state='aired']")) == 1)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !aired(&b) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    if !aired(&b) {
        let board = b.source();
        let rows: Vec<&str> = board
            .lines()
            .filter(|l| l.contains("data-station"))
            .collect();
        let logs: Vec<String> = daemons
            .into_iter()
            .map(|d| crate::support::bin::stop(d).1)
            .collect();
        panic!("the bulletin did not air at both communes: {rows:#?}\n{logs:#?}");
    }
    assert_eq!(b.count("tr[data-station='xa-3']"), 0);

    // Sent alone, withdrawn while on air: cut.
    b.go(&format!("{base}/bulletins"));
    b.type_into("input[name=clip]", &long.display().to_string());
    b.type_into("input[name=title]", "Báo động nhầm");
    b.click("select[name=level] option[value=emergency]");
    // Picked on the map: the commune is ticked in the list.
    // (A click the page's script hears: WebDriver's own click on an 8-pixel SVG point is
    // reported as landing on its label.)
    let points = b.run(
        "const c = document.querySelector(\"svg.map.pick circle[data-station='xa-1']\");
         c.dispatchEvent(new MouseEvent('click', { bubbles: true }));
         return document.querySelectorAll('svg.map.pick circle').length;",
        serde_json::json!([]),
    );
    assert_eq!(
        points,
        serde_json::json!(2),
        "both placed communes on the map"
    );
    assert_eq!(
        b.run(
            "return document.querySelector('input[name=to][value=xa-1]').checked;",
            serde_json::json!([])
        ),
        serde_json::json!(true)
    );
    b.click("#send-alone");
    b.wait_for("#withdraw-form", 20);
    let status = stations[0].journal().with_file_name("status.json");
    crate::support::web::eventually(30, "the false alarm on air", || {
        loaxa::status::read(&status)
            .and_then(|s| s.on_air)
            .is_some_and(|a| a.title.contains("Báo động nhầm"))
    });
    b.type_into("input[name=reason]", "báo động nhầm");
    b.click("#withdraw");
    b.wait_for("#withdrawn", 10);
    crate::support::web::eventually(10, "the false alarm cut", || {
        loaxa::status::read(&status).is_some_and(|s| s.on_air.is_none())
    });
    // The board reloads by itself until the commune's word of the cut comes back.
    b.wait_for("tr[data-station='xa-1'][data-state='withdrawn']", 90);

    // Every page fits a laptop and a phone.
    let mut wide = Vec::new();
    for (w, h) in [(1366, 768), (390, 844)] {
        let Some(b) = crate::support::browser::Browser::start(w, h) else {
            return;
        };
        b.log_in(&base, APPROVER);
        for page in [
            "/",
            "/communes/xa-1",
            "/bulletins",
            "/drafts/1",
            "/bulletins/1",
            "/bulletins/2",
            "/report",
            "/verify",
        ] {
            b.go(&format!("{base}{page}"));
            b.wait_for("main", 10);
            let over = b.run(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                serde_json::json!([]),
            );
            if over.as_i64().unwrap_or(0) > 0 {
                wide.push(format!("{page} at {w} px: {over} px too wide"));
            }
        }
    }
    for d in daemons {
        crate::support::bin::stop(d);
    }
    for mut s in syncs {
        let _ = s.kill();
        let _ = s.wait();
    }
    assert!(wide.is_empty(), "{wide:#?}");
}

/// The one-machine demo (`scripts/province-demo.sh`): a centre and three copies of the bundled
/// example station, each with its daemon and its listening `loaxa sync`, placed on the map; a
/// khẩn cấp bulletin drafted, approved and aired at all three; another draft waiting; a
/// verification run — and a screenshot of every page of the province's console, at 1366×768
/// and on a phone, into `LOAXA_SCREENSHOTS`.
#[test]
#[ignore = "run by scripts/province-demo.sh"]
fn demo_a_centre_and_three_example_stations_with_screenshots() {
    crate::support::alone();
    let Ok(out) = std::env::var("LOAXA_SCREENSHOTS") else {
        panic!("set LOAXA_SCREENSHOTS to the folder the pictures go to");
    };
    let out = std::path::PathBuf::from(out);
    std::fs::create_dir_all(&out).unwrap();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let places = [
        ("hoang-hoa", "Xã Hoằng Hóa", "19.8295,105.8604"),
        ("quang-xuong", "Xã Quảng Xương", "19.6836,105.7897"),
        ("tho-xuan", "Xã Thọ Xuân", "19.9328,105.5336"),
    ];
    let mut stations = Vec::new();
    for (id, _, at) in places {
        let st = crate::support::example_station();
        std::fs::create_dir_all(st.path().join("audio/tinh")).unwrap();
        enrol(&pg, &st, id);
        assert_eq!(central(&pg, &["locate", id, "--at", at]).0, 0);
        stations.push(st);
    }
    assert_eq!(
        central(
            &pg,
            &["group", "add", "ven-bien", "hoang-hoa", "quang-xuong"]
        )
        .0,
        0
    );
    for (who, role) in [
        (EDITOR, "editor"),
        (APPROVER, "approver"),
        (VIEWER, "viewer"),
    ] {
        assert_eq!(passwd(&pg, who, role).0, 0);
    }
    let daemons: Vec<_> = stations
        .iter()
        .map(|st| crate::support::bin::start_run(st, &[]))
        .collect();
    for st in &stations {
        journal_ready(st);
    }
    let syncs: Vec<_> = stations
        .iter()
        .map(|st| {
            command()
                .current_dir(st.path())
                .args(["sync"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let console = start(&pg, &[]);
    let base = format!("http://{}", console.addr);
    // The example station's own introduction stands in for the province's recording.
    let clip = root.join("audio/gioi-thieu.mp3");
    let clip = clip.display().to_string();
    let (code, out_, err) = central(
        &pg,
        &[
            "bulletin",
            "draft",
            &clip,
            "--title",
            "Bão số 5: sơ tán khỏi bãi biển",
            "--level",
            "khan-cap",
            "--to",
            "all",
            "--by",
            EDITOR.0,
        ],
    );
    assert_eq!(code, 0, "{out_}{err}");
    let (code, out_, err) = central(&pg, &["bulletin", "approve", "1", "--by", APPROVER.0]);
    assert_eq!(code, 0, "{out_}{err}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let aired_everywhere = || {
        let d = json(&central(&pg, &["bulletin", "show", "1", "--format", "json"]).1);
        d["deliveries"].as_array().is_some_and(|v| {
            v.len() == 3
                && v.iter().all(|x| {
                    x["aired"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|a| a["outcome"] == "completed"))
                })
        })
    };
    while !aired_everywhere() {
        if std::time::Instant::now() > deadline {
            let (_, board, _) = central(&pg, &["bulletin", "show", "1"]);
            let logs: Vec<String> = daemons
                .into_iter()
                .map(|d| crate::support::bin::stop(d).1)
                .collect();
            panic!("the bulletin did not air at every commune:\n{board}\n{logs:#?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let (code, out_, err) = central(
        &pg,
        &[
            "bulletin",
            "draft",
            &clip,
            "--title",
            "Lịch tiêm chủng tháng 12",
            "--level",
            "thuong",
            "--to",
            "ven-bien",
            "--by",
            EDITOR.0,
        ],
    );
    assert_eq!(code, 0, "{out_}{err}");
    let (_, board, _) = central(&pg, &["bulletin", "show", "1"]);
    println!("{board}");
    for (size, (w, h)) in [("1366x768", (1366, 768)), ("phone", (390, 844))] {
        let Some(b) = crate::support::browser::Browser::start(w, h) else {
            break;
        };
        b.go(&format!("{base}/login"));
        std::fs::write(
            out.join(format!("province-login-{size}.png")),
            b.screenshot(),
        )
        .unwrap();
        b.log_in(&base, APPROVER);
        if size == "1366x768" {
            b.go(&format!("{base}/verify"));
            b.click("#verify-start");
            b.wait_for("#verdict", 60);
        }
        for (name, path) in [
            ("communes", "/"),
            ("commune", "/communes/hoang-hoa"),
            ("bulletins", "/bulletins"),
            ("draft", "/drafts/2"),
            ("board", "/bulletins/1"),
            ("report", "/report"),
            ("verify", "/verify"),
        ] {
            b.go(&format!("{base}{path}"));
            b.wait_for("main", 10);
            std::thread::sleep(std::time::Duration::from_millis(700));
            std::fs::write(
                out.join(format!("province-{name}-{size}.png")),
                b.screenshot(),
            )
            .unwrap();
        }
    }
    for d in daemons {
        crate::support::bin::stop(d);
    }
    for mut s in syncs {
        let _ = s.kill();
        let _ = s.wait();
    }
}
