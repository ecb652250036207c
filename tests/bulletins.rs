//! The province acts: bulletins published at a real PostgreSQL started here, taken in by real
//! `loaxa sync` processes through the station's doors, aired by real daemons, and proved back
//! up the journal's chain to the centre, commune by commune. And what a station's login may
//! not do, a clip that is not what it claims, a bulletin that ends before it arrives.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::central::{central, enrol, json, sync_once};
use crate::support::bin::{command, in_secs, log_json, start_run, stop};
use crate::support::postgres::Postgres;
use crate::support::TempStation;

/// `central bulletin show ID` as JSON.
fn show(pg: &Postgres, id: i64) -> serde_json::Value {
    let (code, out, err) = central(
        pg,
        &["bulletin", "show", &id.to_string(), "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    json(&out)
}

/// Each commune's delivery state of bulletin `id`, by station.
fn states(pg: &Postgres, id: i64) -> Vec<(String, String)> {
    let d = show(pg, id);
    let mut v: Vec<(String, String)> = d["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["station"].as_str().unwrap().to_string(),
                state_of(x).to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// A delivery's state, as `Delivery::state` says it (the JSON keeps the facts).
fn state_of(x: &serde_json::Value) -> &'static str {
    let aired = x["aired"].as_array().unwrap();
    if aired.iter().any(|a| a["outcome"] == "completed") {
        return "aired";
    }
    match x["ended"][0].as_str() {
        Some("bulletin_refused") => return "refused",
        Some("bulletin_expired") => return "expired",
        Some(_) => return "withdrawn",
        None => {}
    }
    if !aired.is_empty() {
        "aired_in_part"
    } else if x["received_at"].is_string() {
        "received"
    } else {
        "silent"
    }
}

fn publish(pg: &Postgres, file: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["bulletin", "publish", file.to_str().unwrap()];
    all.extend_from_slice(args);
    central(pg, &all)
}

/// Waits up to `secs` for `f`, or panics saying `what`.
fn wait_for(secs: u64, what: &str, f: impl FnMut() -> bool) {
    assert!(within(secs, f), "timed out waiting for {what}");
}

/// Whether `f` holds within `secs`.
fn within(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

/// The bulletin actions waiting in a station's mailbox (no daemon runs to journal them).
fn mailbox(st: &TempStation) -> Vec<(String, Option<i64>, String)> {
    loaxa::mailbox::pending(&st.path().join("audio"))
        .into_iter()
        .filter_map(|(_, a)| a.ok())
        .map(|a| {
            (
                serde_json::to_value(a.what)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
                a.bulletin,
                a.detail.unwrap_or_default(),
            )
        })
        .collect()
}

/// Hostile and broken: what a station's login may not do, what the centre refuses before
/// sending, a clip whose bytes are not what its SHA-256 says, a bulletin that ended while
/// the station was offline.
#[test]
fn a_station_sees_only_its_own_bulletins_and_takes_in_only_what_checks_out() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let a = TempStation::new("", "");
    let b = TempStation::new("", "");
    for st in [&a, &b] {
        drop(loaxa::journal::Journal::open(&st.journal()).unwrap());
    }
    enrol(&pg, &a, "xa-a");
    enrol(&pg, &b, "xa-b");
    let clip = a.tone("nguon/bao.wav", 1.0);

    // Refused at the centre, named, before anything is sent.
    let (code, _, err) = publish(
        &pg,
        &clip,
        &["--title", "x", "--level", "khan-cap", "--to", "xa-khong-co"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no station or group “xa-khong-co”"), "{err}");
    let junk = a.write("nguon/khong-phai.mp3", "this is not audio");
    let (code, _, err) = publish(
        &pg,
        &junk,
        &["--title", "x", "--level", "khan-cap", "--to", "all"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("clip will not do"), "{err}");
    let (code, _, err) = publish(
        &pg,
        &clip,
        &["--title", "x", "--level", "khẩn", "--to", "all"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no level"), "{err}");
    assert_eq!(pg.count("SELECT count(*) FROM loaxa.bulletins"), 0);

    // Groups: made by their members; a bulletin to one reaches its members only.
    let (code, _, err) = central(&pg, &["group", "add", "ven-bien", "xa-a", "xa-khong-co"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(central(&pg, &["group", "add", "ven-bien", "xa-a"]).0, 0);
    let (code, out, err) = publish(
        &pg,
        &clip,
        &[
            "--title",
            "Bão số 5",
            "--level",
            "khan-cap",
            "--to",
            "ven-bien",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("bulletin 1 (emergency) sent to 1 station(s): xa-a"),
        "{out}"
    );

    // Station B's login: not its bulletin, not its name, no table, no publishing.
    let b_password = std::fs::read_to_string(b.path().join("config/sync-password")).unwrap();
    let as_b = |sql: &str| {
        std::process::Command::new("psql")
            .env("PGPASSWORD", b_password.trim())
            .args([
                "-X",
                "-A",
                "-t",
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port.to_string(),
            ])
            .args(["-U", "loaxa_st_xa_b", "-d", "loaxa", "-c", sql])
            .output()
            .unwrap()
    };
    let out = as_b("SELECT refused FROM loaxa.bulletin_clip('xa-b', 1)");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not_addressed"),
        "{out:?}"
    );
    let out = as_b("SELECT refused FROM loaxa.bulletin_clip('xa-a', 1)");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not_yours"),
        "{out:?}"
    );
    let out = as_b("SELECT count(*) FROM loaxa.bulletins_for('xa-a') WHERE refused IS NULL");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{out:?}");
    for sql in [
        "SELECT * FROM loaxa.clips",
        "INSERT INTO loaxa.bulletins (title, level, clip, valid_from, valid_until, addressed) VALUES ('x', 'emergency', 'x', now(), now() + interval '1 hour', '{all}')",
        "UPDATE loaxa.bulletins SET withdrawn_at = now(), withdraw_reason = 'x'",
        "SELECT loaxa.readmit('xa-b', 'x')",
    ] {
        let out = as_b(sql);
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("permission denied"),
            "{sql}: {out:?}"
        );
    }
    // Station B has nothing to take.
    assert_eq!(sync_once(&b).0, 0);
    assert!(mailbox(&b).is_empty());

    // The clip's bytes altered at the centre: station A refuses it, says so, airs nothing.
    pg.psql(
        "loaxa",
        "UPDATE loaxa.clips SET bytes = bytes || '\\x00'::bytea",
    );
    let (code, _, err) = sync_once(&a);
    assert_eq!(code, 0, "{err}");
    let said = mailbox(&a);
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(
        (said[0].0.as_str(), said[0].1),
        ("bulletin_refused", Some(1))
    );
    assert!(said[0].2.contains("SHA-256"), "{said:?}");
    assert!(
        !a.path().join("audio/khan-cap").exists()
            || std::fs::read_dir(a.path().join("audio/khan-cap"))
                .unwrap()
                .count()
                == 0
    );
    // Refused once: not fetched again.
    assert_eq!(sync_once(&a).0, 0);
    assert_eq!(mailbox(&a).len(), 1);

    // A bulletin that ends while the station is offline is journaled expired, never aired.
    let until = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let (code, _, err) = publish(
        &pg,
        &clip,
        &[
            "--title", "Lũ", "--level", "khan-cap", "--to", "xa-a", "--until", &until,
        ],
    );
    assert_eq!(code, 0, "{err}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sync_once(&a).0, 0);
    let said = mailbox(&a);
    assert_eq!(said.len(), 2, "{said:?}");
    assert_eq!(
        (said[1].0.as_str(), said[1].1),
        ("bulletin_expired", Some(2))
    );
    let left = std::fs::read_dir(a.path().join("audio/khan-cap")).map_or(0, Iterator::count);
    assert_eq!(left, 0);

    // Withdrawn before it arrived: never taken in.
    let (code, _, _) = publish(
        &pg,
        &clip,
        &["--title", "Nhầm", "--level", "thuong", "--to", "all"],
    );
    assert_eq!(code, 0);
    let (code, _, err) = central(&pg, &["bulletin", "withdraw", "3", "--reason", "  "]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = central(&pg, &["bulletin", "withdraw", "3", "--reason", "gửi nhầm"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = central(&pg, &["bulletin", "withdraw", "3", "--reason", "lần nữa"]);
    assert_eq!(code, 2);
    assert_eq!(sync_once(&b).0, 0);
    assert_eq!(mailbox(&b)[0].0, "bulletin_withdrawn");
    // (The province's queue folder is there, as `loaxa sync` makes it, and empty.)
    assert_eq!(
        std::fs::read_dir(b.path().join("audio/tinh"))
            .unwrap()
            .count(),
        0
    );
    let (_, list, _) = central(&pg, &["bulletin", "list"]);
    assert!(list.contains("Nhầm") && list.contains("gửi nhầm"), "{list}");
}

/// Three communes: a khẩn cấp bulletin to all reaches each through its listening `loaxa
/// sync`, airs at once, cutting the clip on air, and the centre shows it aired in full,
/// commune by commune, with its levels; a thông thường one waits in each Library and airs
/// only where a schedule takes from `tinh/`; a khẩn cấp one withdrawn while on air is cut.
#[test]
fn a_bulletin_reaches_every_commune_airs_by_its_level_and_comes_back_as_proof() {
    crate::support::light();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let (at, _) = in_secs(6);
    let (tinh_at, tinh_instant) = in_secs(40);
    let (noon_at, noon_instant) = in_secs(50);
    let stations: Vec<(String, TempStation)> = (1..=3)
        .map(|i| {
            // Each airs a long clip from 6 s on; the first also takes from the province's
            // queue later.
            let province = match i {
                1 => format!("[[slot]]\nid = \"tinh\"\nat = [\"{tinh_at}\"]\nqueue = \"tinh\"\n"),
                // Its own item at the second a province's ưu tiên bulletin is set for.
                3 => format!(
                    "[[slot]]\nid = \"trua\"\nat = [\"{noon_at}\"]\nplay = [\"trua.wav\"]\n"
                ),
                _ => String::new(),
            };
            let st = TempStation::new(
                "",
                &format!(
                    "{}[[slot]]\nid = \"dai\"\nat = [\"{at}\"]\nplay = [\"dai.wav\"]\n{province}",
                    crate::support::PLAN
                ),
            );
            st.tone("dai.wav", 20.0);
            st.tone("trua.wav", 1.0);
            // The province's queue folder, as `loaxa install` makes it.
            std::fs::create_dir_all(st.path().join("audio/tinh")).unwrap();
            let id = format!("xa-{i}");
            enrol(&pg, &st, &id);
            (id, st)
        })
        .collect();
    let sources = TempStation::new("", "");
    let short = sources.tone("bao-so-5.wav", 1.5);
    let long = sources.tone("bao-dai.wav", 30.0);
    let normal = sources.tone("lich-tiem.wav", 1.0);
    let daemons: Vec<_> = stations
        .iter()
        .map(|(_, st)| start_run(st, &["--lang", "en"]))
        .collect();
    for (_, st) in &stations {
        wait_for(20, "the daemon's journal", || st.journal().is_file());
    }
    let syncs: Vec<_> = stations
        .iter()
        .map(|(_, st)| {
            command()
                .current_dir(st.path())
                .args(["sync", "--lang", "en"])
                .stderr(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // Every commune is airing its own clip.
    for (_, st) in &stations {
        let on = within(20, || {
            loaxa::status::read(&st.journal().with_file_name("status.json"))
                .and_then(|s| s.on_air)
                .is_some_and(|a| a.slot == "dai")
        });
        if !on {
            let logs: Vec<String> = daemons.into_iter().map(|d| stop(d).1).collect();
            panic!("the communes' own clip is not on air: {logs:#?}");
        }
    }

    let published = Instant::now();
    let (code, out, err) = publish(
        &pg,
        &short,
        &[
            "--title",
            "Bão số 5",
            "--level",
            "khan-cap",
            "--to",
            "all",
            "--repeat",
            "2",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    for (id, st) in &stations {
        let on = within(15, || {
            loaxa::status::read(&st.journal().with_file_name("status.json"))
                .and_then(|s| s.on_air)
                .is_some_and(|a| a.title.contains("Bão số 5"))
        });
        if !on {
            // What each `loaxa sync` and daemon said, to tell a lost bulletin from a slow one.
            let logs: Vec<String> = syncs
                .into_iter()
                .chain(daemons)
                .map(|c| stop(c).1)
                .collect();
            panic!("the bulletin is not on air at {id}: {logs:#?}");
        }
    }
    let on_air = published.elapsed();
    assert!(
        on_air < Duration::from_secs(8),
        "publish → on air at every commune: {on_air:?}"
    );
    wait_for(60, "proof of airing at the centre", || {
        states(&pg, 1).iter().all(|(_, s)| s == "aired")
    });
    let proof = published.elapsed();
    // Every commune's heartbeat: its daemon live, its output up, what is on air.
    wait_for(40, "every commune's heartbeat", || {
        pg.count("SELECT count(*) FROM loaxa.heartbeats WHERE live AND output_ok AND backlog >= 0")
            == 3
    });
    // The province's report counts it.
    let (_, out, _) = central(&pg, &["report", "--format", "json"]);
    let report = json(&out);
    assert_eq!(report["bulletins"][0]["aired"], 3, "{report}");
    assert_eq!(report["bulletins"][0]["sent"], 3, "{report}");
    let d = show(&pg, 1);
    for x in d["deliveries"].as_array().unwrap() {
        let aired = x["aired"].as_array().unwrap();
        assert_eq!(aired.len(), 2, "repeated twice: {x}");
        assert!(aired[0]["peak_dbfs"].as_f64().is_some(), "levels: {x}");
        assert!(x["received_at"].is_string(), "{x}");
    }
    // The communes' own clip was cut for it, and says so.
    for (_, st) in &stations {
        let log = log_json(st);
        let own = log["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["slot"] == "dai")
            .cloned()
            .unwrap_or_default();
        assert_eq!(own["outcome"], "interrupted", "{log:#}");
    }

    // Thông thường: lands in each Library, airs where a schedule takes from tinh/.
    let (code, _, err) = publish(
        &pg,
        &normal,
        &[
            "--title",
            "Lịch tiêm chủng",
            "--level",
            "thuong",
            "--to",
            "all",
        ],
    );
    assert_eq!(code, 0, "{err}");
    for (_, st) in &stations {
        wait_for(15, "the bulletin in the province's queue", || {
            st.path().join("audio/tinh/tinh-2-lich-tiem.wav").is_file()
        });
    }

    // Khẩn cấp withdrawn while on air: cut within a second or two, journaled.
    let (code, _, err) = publish(
        &pg,
        &long,
        &[
            "--title",
            "Báo động nhầm",
            "--level",
            "khan-cap",
            "--to",
            "xa-2",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let st2 = &stations[1].1;
    let status2 = st2.journal().with_file_name("status.json");
    wait_for(15, "the false alarm on air", || {
        loaxa::status::read(&status2)
            .and_then(|s| s.on_air)
            .is_some_and(|a| a.title.contains("Báo động nhầm"))
    });
    let (code, _, err) = central(
        &pg,
        &["bulletin", "withdraw", "3", "--reason", "báo động nhầm"],
    );
    assert_eq!(code, 0, "{err}");
    let withdrawn = Instant::now();
    wait_for(10, "the false alarm cut", || {
        loaxa::status::read(&status2).is_some_and(|s| s.on_air.is_none())
    });
    assert!(
        withdrawn.elapsed() < Duration::from_secs(5),
        "{:?}",
        withdrawn.elapsed()
    );

    // Ưu tiên at a given second: it airs then, before the commune's own item of that second.
    let (code, _, err) = publish(
        &pg,
        &normal,
        &[
            "--title",
            "Họp dân",
            "--level",
            "uu-tien",
            "--to",
            "xa-3",
            "--at",
            &noon_at,
        ],
    );
    assert_eq!(code, 0, "{err}");

    // The province's queue airs at the first commune's slot, and only there.
    let wait = (tinh_instant - chrono::Utc::now())
        .to_std()
        .unwrap_or_default()
        + Duration::from_secs(4);
    std::thread::sleep(wait);
    wait_for(30, "the thông thường bulletin aired at xa-1", || {
        states(&pg, 2).first().is_some_and(|(_, s)| s == "aired")
    });
    let two = states(&pg, 2);
    assert_eq!(two[1].1, "received", "{two:?}");
    assert_eq!(two[2].1, "received", "{two:?}");
    wait_for(30, "the withdrawal at the centre", || {
        states(&pg, 3) == vec![("xa-2".to_string(), "withdrawn".to_string())]
    });
    let log = log_json(st2);
    let cut = log["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["title"]
                .as_str()
                .is_some_and(|t| t.contains("Báo động nhầm"))
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(cut["outcome"], "interrupted", "{log:#}");

    let wait = (noon_instant - chrono::Utc::now())
        .to_std()
        .unwrap_or_default()
        + Duration::from_secs(6);
    std::thread::sleep(wait);
    let log = log_json(&stations[2].1);
    let records = log["records"].as_array().unwrap();
    let started = |what: &str, pick: &dyn Fn(&serde_json::Value) -> bool| {
        records
            .iter()
            .find(|r| pick(r))
            .and_then(|r| r["started_at"].as_str())
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .unwrap_or_else(|| panic!("{what} did not air: {log:#}"))
    };
    let province = started("the ưu tiên bulletin", &|r| {
        r["title"].as_str().is_some_and(|t| t.contains("Họp dân"))
    });
    let own = started("the commune's own item", &|r| r["slot"] == "trua");
    assert!(province < own, "the province's first: {province} {own}");
    let late = (province.with_timezone(&chrono::Utc) - noon_instant).num_milliseconds();
    assert!((-1000..1000).contains(&late), "at its second: {late} ms");

    for child in syncs.into_iter().chain(daemons) {
        let (code, log) = stop(child);
        assert_eq!(code, 0, "{log}");
    }
    let (_, shown, _) = central(&pg, &["bulletin", "show", "1"]);
    println!("{shown}\npublish → on air everywhere {on_air:?}; → proof at the centre {proof:?}");
}

/// The link cut in the middle of a bulletin's clip, the server restarted, `loaxa sync`
/// killed and started again: the bulletin still arrives, whole, and is taken in once.
#[test]
fn a_bulletin_survives_a_cut_link_a_restarted_server_and_a_killed_sync_and_arrives_once() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let st = TempStation::new("", "");
    drop(loaxa::journal::Journal::open(&st.journal()).unwrap());
    enrol(&pg, &st, "xa-mang-yeu");
    // A 1 MB clip; the link drops 300 kB into it.
    let clip = st.tone("nguon/bao-dai.wav", 62.5);
    let proxy = crate::support::proxy::CutProxy::start_down(pg.port, 300_000);
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
    let (code, _, err) = publish(
        &pg,
        &clip,
        &["--title", "Bão", "--level", "khan-cap", "--to", "all"],
    );
    assert_eq!(code, 0, "{err}");
    let folder = st.path().join("audio/khan-cap");
    let files = || {
        std::fs::read_dir(&folder).map_or_else(
            |_| Vec::new(),
            |d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
            },
        )
    };
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 1, "{err}");
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        err.contains("cannot reach") || err.contains("central database"),
        "{err}"
    );
    assert!(files().is_empty(), "nothing half-taken: {:?}", files());
    assert!(mailbox(&st).is_empty());
    // The link back: it arrives whole.
    let (code, _, err) = sync_once(&st);
    assert_eq!(code, 0, "{err}");
    let mut got = files();
    got.sort();
    assert_eq!(got, ["tinh-1-bao-dai.toml", "tinh-1-bao-dai.wav"]);
    assert_eq!(
        std::fs::read(folder.join("tinh-1-bao-dai.wav")).unwrap(),
        std::fs::read(&clip).unwrap()
    );

    // A listening sync, the server restarted under it, a bulletin published meanwhile:
    // it reconnects and takes it in; killed and started again, it takes nothing twice.
    let listen = || {
        command()
            .current_dir(st.path())
            .args(["sync", "--lang", "en"])
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut syncing = listen();
    std::thread::sleep(Duration::from_secs(2));
    pg.restart();
    let (code, _, err) = publish(
        &pg,
        &clip,
        &["--title", "Lũ", "--level", "khan-cap", "--to", "all"],
    );
    assert_eq!(code, 0, "{err}");
    // (A restart may move the id sequence on: the second is whatever id it got.)
    let wavs = || files().iter().filter(|f| f.ends_with(".wav")).count();
    if !within(60, || wavs() == 2) {
        let (_, log) = stop(syncing);
        panic!("the second bulletin did not arrive after the restart: {log}");
    }
    let _ = syncing.kill();
    let _ = syncing.wait();
    let syncing = listen();
    std::thread::sleep(Duration::from_secs(3));
    let (code, log) = stop(syncing);
    assert_eq!(code, 0, "{log}");
    assert_eq!(files().len(), 4, "{:?}", files());
    let received: Vec<_> = mailbox(&st)
        .into_iter()
        .filter(|(what, _, _)| what == "bulletin_received")
        .map(|(_, id, _)| id)
        .collect();
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(received[0], Some(1));
}

/// Regression: an airing was matched to bulletins by its clip's SHA-256 alone, so a clip sent
/// in two bulletins (a notice sent again with a new window) counted as aired for both though
/// the station aired one. The journal now says which bulletin a clip is (its sidecar), and
/// the centre counts the airing for that one; an airing that does not say (a station older
/// than this) still matches by the clip.
#[test]
fn an_airing_counts_for_the_bulletin_that_aired_not_another_that_shares_its_clip() {
    crate::support::shared();
    use loaxa::journal::{Event, Journal, Outcome};
    use sha2::Digest as _;
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let (new, old) = (TempStation::new("", ""), TempStation::new("", ""));
    for (st, id) in [(&new, "xa-moi"), (&old, "xa-cu")] {
        drop(Journal::open(&st.journal()).unwrap());
        enrol(&pg, st, id);
    }
    let clip = new.tone("nguon/hop.wav", 1.0);
    let sha = loaxa::hex::hex(&sha2::Sha256::digest(std::fs::read(&clip).unwrap()));
    for title in ["Họp dân", "Họp dân (nhắc lại)"] {
        let (code, _, err) = publish(
            &pg,
            &clip,
            &["--title", title, "--level", "thuong", "--to", "all"],
        );
        assert_eq!(code, 0, "{err}");
    }
    let aired = |st: &TempStation, bulletin: Option<i64>| {
        let at = chrono::Utc::now();
        let mut j = Journal::open(&st.journal()).unwrap();
        j.append(
            &Event::ClipAired {
                occurrence: "kh/s@1".into(),
                scheduled_at: at,
                index: 0,
                rel: "tinh/tinh-2-hop.wav".into(),
                sha256: sha.clone(),
                topic: None,
                duration_ms: 1000,
                played_ms: 1000,
                outcome: Outcome::Completed,
                reason: None,
                levels: None,
                bulletin,
            },
            at,
        )
        .unwrap();
    };
    aired(&new, Some(2));
    aired(&old, None);
    for st in [&new, &old] {
        assert_eq!(sync_once(st).0, 0);
    }
    assert_eq!(
        states(&pg, 1),
        [
            ("xa-cu".into(), "aired".into()),
            ("xa-moi".into(), "silent".into())
        ]
    );
    assert_eq!(
        states(&pg, 2),
        [
            ("xa-cu".into(), "aired".into()),
            ("xa-moi".into(), "aired".into())
        ]
    );
}

/// Two people for a send: an editor's draft is checked and stored but reaches no station
/// until someone else approves it; who wrote it cannot approve it, nor can anyone twice;
/// approved, it goes out like any bulletin and keeps who drafted and who approved it; a
/// khẩn cấp one an approver sends alone is recorded as sent alone.
#[test]
fn a_draft_reaches_no_station_until_someone_else_approves_it() {
    crate::support::shared();
    let Some(pg) = Postgres::start() else { return };
    assert_eq!(central(&pg, &["init"]).0, 0);
    let st = TempStation::new("", "");
    drop(loaxa::journal::Journal::open(&st.journal()).unwrap());
    enrol(&pg, &st, "xa-a");
    let clip = st.tone("nguon/hop.wav", 1.0);
    let clip = clip.to_str().unwrap();
    let (code, out, err) = central(
        &pg,
        &[
            "bulletin",
            "draft",
            clip,
            "--title",
            "Họp dân",
            "--level",
            "uu-tien",
            "--to",
            "all",
            "--by",
            "bien-tap",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("draft 1") && out.contains("someone else"),
        "{out}"
    );
    assert_eq!(pg.count("SELECT count(*) FROM loaxa.bulletins"), 0);
    assert_eq!(sync_once(&st).0, 0);
    assert!(mailbox(&st).is_empty(), "a draft reaches no station");

    for (who, draft, said) in [
        ("bien-tap", "1", "someone else must approve it"),
        ("duyet", "9", "no draft 9"),
        ("  ", "1", "must be named"),
    ] {
        let (code, _, err) = central(&pg, &["bulletin", "approve", draft, "--by", who]);
        assert_eq!(code, 2, "{who}: {err}");
        assert!(err.contains(said), "{who}: {err}");
    }
    assert_eq!(pg.count("SELECT count(*) FROM loaxa.bulletins"), 0);
    let (code, out, err) = central(&pg, &["bulletin", "approve", "1", "--by", "duyet"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sent to 1 station(s): xa-a"), "{out}");
    let (code, _, err) = central(&pg, &["bulletin", "approve", "1", "--by", "duyet"]);
    assert_eq!(code, 2);
    assert!(err.contains("approved already (bulletin 1)"), "{err}");
    assert_eq!(
        pg.count(
            "SELECT count(*) FROM loaxa.bulletins WHERE drafted_by = 'bien-tap'
             AND approved_by = 'duyet' AND NOT sent_alone"
        ),
        1
    );
    assert_eq!(sync_once(&st).0, 0);
    let said = mailbox(&st);
    assert_eq!(
        (said[0].0.as_str(), said[0].1),
        ("bulletin_received", Some(1)),
        "{said:?}"
    );

    let (code, _, err) = central(
        &pg,
        &[
            "bulletin", "publish", clip, "--title", "Bão", "--level", "khan-cap", "--to", "all",
            "--by", "duyet",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        pg.count(
            "SELECT count(*) FROM loaxa.bulletins WHERE id = 2 AND sent_alone
             AND approved_by = 'duyet' AND drafted_by IS NULL"
        ),
        1
    );
}
