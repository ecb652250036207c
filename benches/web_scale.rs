//! Console benchmark (not a timed test): the operator's console over the 1,000,000-occurrence
//! journal of `journal_scale`, with a daemon's live status beside it. Prints the time the
//! console takes to answer the Now page (p95), a month of the Log, and the month Report,
//! each beside a baseline measured in the same run (a static asset through the same stack,
//! and the bare SQLite scan of the period's rows), then the idle memory of the real
//! `loaxa-web` process after it has served every page.
//!
//! Run: `cargo bench --bench web_scale` (about 2 GB of disk in target/, removed after).
//! Targets: Now p95 ≤ 20 ms, a month of Log ≤ 100 ms, the month Report ≤ 200 ms,
//! `loaxa web` idle RSS ≤ 20 MB.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use loaxa::journal::Journal;

#[path = "scale/occurrences.rs"]
mod occurrences;
use occurrences::occurrence;

const OCCURRENCES: u64 = 1_000_000;
const TZ: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;
const USER: &str = "van-hanh";
const PASSWORD: &str = "mat-khau-do-hieu-nang";

fn get(addr: SocketAddr, path: &str, cookie: &str) -> (u16, usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, buf.len())
}

fn login(addr: SocketAddr) -> String {
    let body = format!("user={USER}&password={PASSWORD}");
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    buf.lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("logged in")
        .to_string()
}

fn timed(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v
}

fn at(v: &[Duration], q: f64) -> f64 {
    v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1000.0
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn station(dir: &Path, journal: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::create_dir_all(dir.join("schedules")).unwrap();
    std::fs::create_dir_all(dir.join("audio/cchc")).unwrap();
    let config = dir.join("config/loaxa.toml");
    std::fs::write(
        &config,
        format!(
            "station = \"Tỉnh\"\noutput = \"null\"\njournal = \"{}\"\n",
            journal.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("schedules/tinh.toml"),
        "[plan]\nid = \"tinh-2025\"\ntitle = \"Kế hoạch tỉnh\"\n[topics]\na = \"A\"\n[[slot]]\nid = \"sang\"\nat = [\"06:00\"]\nqueue = \"cchc\"\n",
    )
    .unwrap();
    loaxa::web::set_password(
        &config,
        USER,
        loaxa::web::Role::Operator,
        PASSWORD,
        loaxa::lang::Lang::Vi,
    )
    .unwrap();
    config
}

/// A status file as a running daemon writes it (this process stands in for it).
fn live_status(journal: &Path) {
    let now = Utc::now();
    let next = (1..=5)
        .map(|d| loaxa::status::Upcoming {
            at: now + chrono::Duration::days(d),
            plan: "tinh-2025".into(),
            slot: "sang".into(),
            title: "Bản tin sáng".into(),
            priority: loaxa::schedule::Priority::Normal,
            held: None,
        })
        .collect();
    loaxa::status::write(
        &loaxa::status::path_for(journal),
        &loaxa::status::Status {
            pid: std::process::id(),
            version: "bench".into(),
            output: "null".into(),
            started_at: now,
            updated_at: now,
            on_air: None,
            next,
            rejected: Vec::new(),
            output_error: None,
            output_lost_since: None,
            journal_pending: 0,
            journal_error: None,
            expired: Vec::new(),
        },
    )
    .unwrap();
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-web");
    let keep = std::env::var("LOAXA_BENCH_KEEP").is_ok_and(|v| v == "1");
    let path = root.join("journal/loaxa.db");
    let reuse = keep && path.is_file();
    if !reuse {
        let _ = std::fs::remove_dir_all(&root);
    }
    std::fs::create_dir_all(root.join("journal")).unwrap();
    {
        let mut journal = Journal::open(&path).unwrap();
        if !reuse {
            // As journal_scale: 100 years is a commune's century (the default), 1 a province's
            // year (LOAXA_BENCH_YEARS=1).
            let years: i64 = std::env::var("LOAXA_BENCH_YEARS")
                .ok()
                .and_then(|y| y.parse().ok())
                .unwrap_or(100)
                .max(1);
            let start = TZ
                .with_ymd_and_hms(2025 - years as i32 + 1, 1, 1, 5, 0, 0)
                .unwrap()
                .with_timezone(&Utc);
            let spacing = years * 365 * 24 * 3600 * 1000 / OCCURRENCES as i64;
            let mut batch = Vec::with_capacity(50_000);
            for i in 0..OCCURRENCES {
                batch.extend(occurrence(i, start, spacing));
                if batch.len() >= 40_000 {
                    journal.append_all(&batch, Utc::now()).unwrap();
                    batch.clear();
                }
            }
            journal.append_all(&batch, Utc::now()).unwrap();
            journal.checkpoint().unwrap();
        }
        println!(
            "journal: {OCCURRENCES} occurrences, {} events",
            journal.head().0
        );
    }
    let st = root.join("station");
    let config_file = station(&st, &path);
    live_status(&path);
    let config = loaxa::config::load(
        &loaxa::config::Overrides {
            config: Some(config_file.clone()),
            ..Default::default()
        },
        &Default::default(),
        &st,
        loaxa::cli::SECTIONS,
    )
    .unwrap();

    // The console in this process, on a loopback port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let app = Arc::new(loaxa::web::App::new(config).unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            loaxa::web::serve(app, l, std::future::pending())
                .await
                .unwrap();
        });
    });
    std::thread::sleep(Duration::from_millis(200));
    let cookie = login(addr);

    let raw = rusqlite::Connection::open(&path).unwrap();
    let scan = |from: chrono::DateTime<Utc>, to: chrono::DateTime<Utc>| {
        raw.query_row(
            "SELECT COUNT(*), SUM(length(body)) FROM events WHERE scheduled_at >= ?1 AND scheduled_at < ?2",
            [from.timestamp_millis(), to.timestamp_millis()],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
        )
        .unwrap()
    };
    let month = loaxa::report::Period::month("2025-06").unwrap();
    let (a, b) = month.bounds(TZ);
    let mut lines = Vec::new();

    let asset = timed(200, || {
        assert_eq!(get(addr, "/assets/console.css", &cookie).0, 200);
    });
    let now = timed(200, || {
        assert_eq!(get(addr, "/", &cookie).0, 200);
    });
    lines.push(format!(
        "Now page       p95 {:>7.2} ms  median {:>6.2} ms  (baseline: a static asset through the same stack p95 {:.2} ms, ratio {:.1})  target p95 ≤ 20 ms: {}",
        at(&now, 0.95),
        at(&now, 0.5),
        at(&asset, 0.95),
        at(&now, 0.95) / at(&asset, 0.95),
        if at(&now, 0.95) <= 20.0 { "met" } else { "NOT met" }
    ));
    let base = timed(10, || {
        scan(a, b);
    });
    let log = timed(10, || {
        assert_eq!(
            get(addr, "/log?from=2025-06-01&to=2025-06-30", &cookie).0,
            200
        );
    });
    let occurrences = loaxa::journal::Journal::open_reader(&path)
        .unwrap()
        .records(a, b)
        .unwrap()
        .len();
    lines.push(format!(
        "Log, a month   median {:>6.1} ms  (baseline: scanning its rows {:.1} ms, ratio {:.1})  {occurrences} occurrences  target ≤ 100 ms: {}",
        at(&log, 0.5),
        at(&base, 0.5),
        at(&log, 0.5) / at(&base, 0.5),
        if at(&log, 0.5) <= 100.0 { "met" } else { "NOT met" }
    ));
    let report = timed(5, || {
        assert_eq!(get(addr, "/report?month=2025-06", &cookie).0, 200);
    });
    lines.push(format!(
        "Report, month  median {:>6.1} ms  (baseline: scanning its rows {:.1} ms, ratio {:.1})  target ≤ 200 ms: {}",
        at(&report, 0.5),
        at(&base, 0.5),
        at(&report, 0.5) / at(&base, 0.5),
        if at(&report, 0.5) <= 200.0 { "met" } else { "NOT met" }
    ));

    // The real program, as the service runs it: its memory just started, and idle after
    // serving every page once.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let web_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_loaxa-web"))
        .arg("--config")
        .arg(&config_file)
        .args(["--listen", &web_addr.to_string()])
        .current_dir(&st)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(web_addr).is_err() {
        assert!(Instant::now() < deadline, "loaxa-web did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let started = rss_kb(child.id());
    let cookie = login(web_addr);
    for page in [
        "/",
        "/timetable",
        "/library",
        "/emergency",
        "/log?from=2025-06-01&to=2025-06-30",
        "/report?month=2025-06",
        "/health",
        "/api/status",
        "/metrics",
    ] {
        assert_eq!(get(web_addr, page, &cookie).0, 200, "{page}");
    }
    std::thread::sleep(Duration::from_secs(3));
    let idle = rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    lines.push(format!(
        "loaxa web RSS  idle after serving every page {:.1} MB  (just started {:.1} MB)  target ≤ 20 MB: {}",
        idle as f64 / 1024.0,
        started as f64 / 1024.0,
        if idle as f64 / 1024.0 <= 20.0 { "met" } else { "NOT met" }
    ));
    for l in lines {
        println!("{l}");
    }
    if !keep {
        let _ = std::fs::remove_dir_all(&root);
    }
}
