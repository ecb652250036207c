//! Province scale benchmark (not a timed test): 500 communes × 4 occurrences a day × one
//! year (730,000 occurrences, about 2.9 million events) in real station journals, pushed by
//! concurrent stations through the real sync path (`sync::push`: the journal read, the
//! batches, `loaxa.ingest` with its chain checks and rollups) into a private PostgreSQL
//! with fsync on. Prints, each beside a baseline measured in the same run on the same rows:
//! - one station's first catch-up of a 300,000-event backlog into an empty centre
//!   (baseline: a plain COPY of the same rows);
//! - ingest rate (baseline: a plain COPY of the same rows into a bare table);
//! - one station's catch-up after 30 days offline (baseline: COPY of those rows);
//! - the province's month and year reports (baseline: the same counts scanned from the raw
//!   events, as a report without rollups would);
//! - `central verify --full` of the whole province (baseline: reading every row without
//!   hashing), and `central verify` from the verified checkpoints after one more day;
//! - the province's console (`loaxa central web`, the real program): the Communes page, a
//!   commune's month Log, the month report page and a delivery board of every commune, p95
//!   of 20 over HTTP (baseline: the central function each is built on, called directly), and
//!   its idle RSS (baseline: the station's console, idle, in the same run).
//!
//! Run: `cargo bench --bench central` (about 6 GB of disk in target/, removed after).
//! LOAXA_BENCH_COMMUNES (500) and LOAXA_BENCH_WORKERS (8 stations sending at once) override.
//! Targets: first catch-up ≥ 10,000 events/s, ingest ≥ 5,000 events/s, catch-up ≤ 5 s,
//! month ≤ 200 ms, year ≤ 1 s, verify ≤ 30 s; console pages ≤ 100 ms (the report ≤ 200 ms),
//! its idle RSS ≤ 30 MB.

// The tests' harness, of which a bench uses a part (the suite itself keeps no dead helper).
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

#[path = "scale/occurrences.rs"]
mod occurrences;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use loaxa::central::{self, Target};
use loaxa::journal::{Event, Journal};
use loaxa::lang::Lang;
use loaxa::sync::SyncConfig;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;
const PER_DAY: u64 = 4;
const DAYS: u64 = 365;
const OFFLINE_DAYS: u64 = 30;
/// The big backlog: a station with this many occurrences a day, for `BIG_DAYS` days
/// (about 300,000 events).
const BIG_PER_DAY: u64 = 200;
const BIG_DAYS: u64 = 385;
const SCHEDULE: &str = include_str!("../schedules/cchc-2025.toml");

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// Journals station `s`'s occurrences `from..to` (of its year), each day's in one append.
fn journal_days(path: &Path, s: usize, from: u64, to: u64) {
    journal_days_of(path, s, from, to, PER_DAY);
}

/// As [`journal_days`], with `per_day` occurrences a day.
fn journal_days_of(path: &Path, s: usize, from: u64, to: u64, per_day: u64) {
    let mut journal = Journal::open(path).unwrap();
    let start = TZ
        .with_ymd_and_hms(2025, 1, 1, 5, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::seconds(s as i64 * 7);
    let spacing = 24 * 3600 * 1000 / per_day as i64;
    if from == 0 {
        journal
            .append_all(
                &[
                    Event::StationStarted {
                        version: "bench".into(),
                        output: "default".into(),
                        accounts_from: Some(start),
                    },
                    Event::ScheduleLoaded {
                        file: "cchc-2025.toml".into(),
                        sha256: format!("{:064x}", s),
                        content: SCHEDULE.into(),
                    },
                ],
                start,
            )
            .unwrap();
    }
    for day in from..to {
        let mut batch = Vec::new();
        for k in 0..per_day {
            let i = day * per_day + k;
            // The shared generator's mix of outcomes (most completed, some partial, failed
            // or missed), in this station's own four daily slots.
            batch.extend(
                occurrences::occurrence(i, start, spacing)
                    .into_iter()
                    .map(|e| own_slot(e, k)),
            );
        }
        journal
            .append_all(
                &batch,
                start + chrono::Duration::milliseconds((day as i64 + 1) * 24 * 3600 * 1000),
            )
            .unwrap();
    }
}

/// Puts a generated occurrence in slot `k` of the station's day (the generator spreads
/// them over 200 slots, as a province's journal would have).
fn own_slot(mut e: Event, k: u64) -> Event {
    let slot = format!("phien-{k}");
    let fix = |o: &mut loaxa::journal::OccurrenceInfo| {
        o.slot = slot.clone();
        o.key = loaxa::recurrence::occurrence_key(&o.plan, &slot, o.scheduled_at);
    };
    match &mut e {
        Event::BroadcastStarted { occurrence, .. }
        | Event::OccurrenceMissed { occurrence, .. }
        | Event::BroadcastEnded { occurrence, .. } => fix(occurrence),
        Event::ClipAired {
            occurrence,
            scheduled_at,
            ..
        } => *occurrence = loaxa::recurrence::occurrence_key("tinh-2025", &slot, *scheduled_at),
        _ => {}
    }
    e
}

fn station_id(s: usize) -> String {
    format!("xa-{s:04}")
}

/// Copies every row of `paths` into `table` with COPY (text format), as the baseline.
async fn copy_rows(
    client: &tokio_postgres::Client,
    table: &str,
    paths: &[(String, PathBuf)],
    after: i64,
) -> u64 {
    use futures_util::SinkExt;
    let mut n = 0u64;
    for (id, path) in paths {
        let journal = Journal::open_reader(path).unwrap();
        let sink = client
            .copy_in(&format!(
                "COPY {table} (station, seq, recorded_at, kind, columns, body, prev_hash, hash) FROM STDIN"
            ))
            .await
            .unwrap();
        futures_util::pin_mut!(sink);
        let mut from = after;
        loop {
            let events = journal.raw_events(from, 5_000).unwrap();
            if events.is_empty() {
                break;
            }
            let mut buf = String::new();
            let esc = |s: &str| {
                s.replace('\\', "\\\\")
                    .replace('\n', "\\n")
                    .replace('\r', "\\r")
                    .replace('\t', "\\t")
            };
            for e in &events {
                let cols: Vec<String> = e
                    .columns
                    .iter()
                    .map(|c| match c {
                        None => "NULL".to_string(),
                        Some(v) => format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")),
                    })
                    .collect();
                buf += &format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    esc(id),
                    e.seq,
                    esc(&e.recorded_at),
                    esc(&e.kind),
                    esc(&format!("{{{}}}", cols.join(","))),
                    esc(&e.body),
                    esc(&e.prev_hash),
                    esc(&e.hash)
                );
                from = e.seq;
            }
            n += events.len() as u64;
            sink.send(bytes::Bytes::from(buf)).await.unwrap();
        }
        sink.finish().await.unwrap();
    }
    n
}

fn main() {
    let communes = env_or("LOAXA_BENCH_COMMUNES", 500);
    let workers = env_or("LOAXA_BENCH_WORKERS", 8);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-central");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A province's server: durable (fsync on), with memory for its working set.
    let pg = support::postgres::Postgres::start_with(
        "-c shared_buffers=2GB -c max_wal_size=16GB -c checkpoint_timeout=30min -c wal_compression=on",
    )
    .expect("PostgreSQL is installed (scripts/setup)");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let admin = Target::parse(&pg.admin_url(), Lang::En).unwrap();

    // The stations' journals, generated on both cores; the first station holds back its
    // last 30 days (it was offline) for the catch-up figure.
    let t = Instant::now();
    let paths: Vec<(String, PathBuf)> = (0..communes)
        .map(|s| (station_id(s), dir.join(format!("{}.db", station_id(s)))))
        .collect();
    std::thread::scope(|scope| {
        for half in 0..2 {
            let paths = &paths;
            scope.spawn(move || {
                for (s, (_, path)) in paths.iter().enumerate().filter(|(s, _)| s % 2 == half) {
                    let days = if s == 0 { DAYS - OFFLINE_DAYS } else { DAYS };
                    journal_days(path, s, 0, days);
                }
            });
        }
    });
    let events: i64 = paths
        .iter()
        .map(|(_, p)| Journal::open_reader(p).unwrap().head().0)
        .sum();
    println!(
        "journals: {communes} stations, {} occurrences, {events} events, generated in {:.0} s",
        communes as u64 * DAYS * PER_DAY - OFFLINE_DAYS * PER_DAY,
        t.elapsed().as_secs_f64()
    );

    let mut lines = Vec::new();
    rt.block_on(async {
        let client = central::connect(&admin).await.unwrap();
        central::init(&admin, &client).await.unwrap();
        client
            .batch_execute(
                "CREATE TABLE bench_copy (station text, seq bigint, recorded_at text, kind text,
                    columns text[], body text, prev_hash text, hash text, PRIMARY KEY (station, seq))",
            )
            .await
            .unwrap();

        // One station's first catch-up of a big backlog into an empty centre (#23: it went
        // at ~330 events/s until autovacuum caught up, the overlap check scanning what was
        // held): the real sync path, batch after batch, against a COPY of the same rows.
        let big = dir.join("xa-lon.db");
        journal_days_of(&big, 9999, 0, BIG_DAYS, BIG_PER_DAY);
        let big_events = Journal::open_reader(&big).unwrap().head().0;
        let (login, password) = central::add_station(&admin, &client, "xa-lon", None).await.unwrap();
        let big_sync = SyncConfig {
            target: Target::parse(
                &format!("postgresql://{login}:{password}@127.0.0.1:{}/loaxa", pg.port),
                Lang::En,
            )
            .unwrap(),
            station: "xa-lon".into(),
        };
        let t = Instant::now();
        let mut state = loaxa::sync::State::default();
        loaxa::sync::push(&big_sync, &big, &big.with_extension("sync.json"), &mut state)
            .await
            .unwrap();
        let took = t.elapsed();
        assert_eq!(state.acked_seq, big_events);
        let t = Instant::now();
        copy_rows(&client, "bench_copy", &[("xa-lon-copy".into(), big.clone())], 0).await;
        let base = t.elapsed();
        let rate = big_events as f64 / took.as_secs_f64();
        lines.push(format!(
            "first catch-up    {rate:>9.0} events/s  ({big_events} events in {:.1} s into an empty centre, one station; baseline: COPY of the same rows {:.1} s, ratio {:.2})  target ≥ 10,000/s: {}",
            took.as_secs_f64(),
            base.as_secs_f64(),
            took.as_secs_f64() / base.as_secs_f64(),
            met(rate >= 10_000.0)
        ));
        let _ = std::fs::remove_file(&big);

        let t = Instant::now();
        let mut syncs = Vec::new();
        for (id, path) in &paths {
            let (login, password) = central::add_station(&admin, &client, id, None).await.unwrap();
            let target = Target::parse(
                &format!("postgresql://{login}:{password}@127.0.0.1:{}/loaxa", pg.port),
                Lang::En,
            )
            .unwrap();
            syncs.push((
                SyncConfig {
                    target,
                    station: id.clone(),
                },
                path.clone(),
            ));
        }
        println!("add-station ×{communes}: {:.1} s", t.elapsed().as_secs_f64());

        // Ingest: `workers` stations sending at once, each through the real sync path.
        let t = Instant::now();
        let limit = Arc::new(tokio::sync::Semaphore::new(workers));
        let local = tokio::task::LocalSet::new();
        let sent: i64 = local
            .run_until(async {
                let mut set = tokio::task::JoinSet::new();
                for (sync, path) in syncs.clone() {
                    let limit = limit.clone();
                    set.spawn_local(async move {
                        let _permit = limit.acquire_owned().await.unwrap();
                        let mut state = loaxa::sync::State::default();
                        let state_path = path.with_extension("sync.json");
                        loaxa::sync::push(&sync, &path, &state_path, &mut state)
                            .await
                            .unwrap();
                        state.acked_seq
                    });
                }
                let mut sent = 0;
                while let Some(r) = set.join_next().await {
                    sent += r.unwrap();
                }
                sent
            })
            .await;
        let took = t.elapsed();
        assert_eq!(sent, events);
        let rate = sent as f64 / took.as_secs_f64();

        let t = Instant::now();
        let copied = copy_rows(&client, "bench_copy", &paths, 0).await;
        let base = t.elapsed();
        let base_rate = copied as f64 / base.as_secs_f64();
        lines.push(format!(
            "ingest            {rate:>9.0} events/s  ({sent} events in {:.0} s, {workers} stations at once; baseline: COPY of the same rows {base_rate:.0} rows/s, ratio {:.2})  target ≥ 5,000/s: {}",
            took.as_secs_f64(),
            rate / base_rate,
            met(rate >= 5000.0)
        ));

        // The station that was offline for 30 days comes back.
        let (id0, path0) = &paths[0];
        let before = Journal::open_reader(path0).unwrap().head().0;
        journal_days(path0, 0, DAYS - OFFLINE_DAYS, DAYS);
        let after = Journal::open_reader(path0).unwrap().head().0;
        let (sync0, _) = &syncs[0];
        let t = Instant::now();
        let mut state = loaxa::sync::State::default();
        loaxa::sync::push(sync0, path0, &path0.with_extension("sync.json"), &mut state)
            .await
            .unwrap();
        let took = t.elapsed();
        assert_eq!(state.acked_seq, after);
        let t = Instant::now();
        copy_rows(&client, "bench_copy", &[(format!("{id0}-again"), path0.clone())], before).await;
        let base = t.elapsed();
        lines.push(format!(
            "catch-up 30 days  {:>9.0} ms  ({} events, connect included; baseline: COPY of those rows {:.0} ms, ratio {:.1})  target ≤ 5 s: {}",
            ms(took),
            after - before,
            ms(base),
            ms(took) / ms(base),
            met(took <= Duration::from_secs(5))
        ));

        client.batch_execute("VACUUM ANALYZE").await.unwrap();
        // Reports from the rollups; baseline: the same counts from a scan of the raw events.
        let month = (NaiveDate::from_ymd_opt(2025, 9, 1).unwrap(), NaiveDate::from_ymd_opt(2025, 9, 1).unwrap());
        let year = (NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(), NaiveDate::from_ymd_opt(2025, 12, 1).unwrap());
        let since = NaiveDate::from_ymd_opt(2025, 12, 1).unwrap();
        for (name, span, runs, target) in [("month report", month, 5, 200.0), ("year report", year, 3, 1000.0)] {
            let (a, b) = (
                TZ.from_local_datetime(&span.0.and_hms_opt(0, 0, 0).unwrap()).unwrap().timestamp_millis(),
                TZ.from_local_datetime(&span.1.checked_add_months(chrono::Months::new(1)).unwrap().and_hms_opt(0, 0, 0).unwrap()).unwrap().timestamp_millis(),
            );
            let mut base = Vec::new();
            let mut took = Vec::new();
            let mut planned = 0;
            let mut stations = 0;
            for _ in 0..runs {
                let t = Instant::now();
                client
                    .query(
                        "SELECT station, kind, columns[7], count(*) FROM loaxa.events
                         WHERE kind IN ('broadcast_started', 'broadcast_ended', 'occurrence_missed')
                           AND columns[2]::bigint >= $1 AND columns[2]::bigint < $2
                         GROUP BY 1, 2, 3",
                        &[&a, &b],
                    )
                    .await
                    .unwrap();
                base.push(t.elapsed());
                let t = Instant::now();
                let r = central::report::build(&admin, &client, span, name.into(), &[], since, Lang::Vi)
                    .await
                    .unwrap();
                took.push(t.elapsed());
                planned = r.totals.planned;
                stations = r.communes.len();
            }
            let (took, base) = (median(took), median(base));
            lines.push(format!(
                "{name:<17} {:>9.1} ms  ({planned} occurrences, {stations} stations; baseline: the same counts scanned from the raw events {:.0} ms, ratio {:.3})  target ≤ {target:.0} ms: {}",
                ms(took),
                ms(base),
                ms(took) / ms(base),
                met(ms(took) <= target)
            ));
        }

        // The province's console over the same data: the real program, its pages timed over
        // HTTP; baseline: the central function each page is built on, called directly.
        lines.extend(console_figures(&pg, &admin, &client, &dir).await);

        // Verify: every stored chain re-walked; baseline: reading every row, no hashing.
        let t = Instant::now();
        let mut rows = 0u64;
        for (id, _) in &paths {
            let mut last = 0i64;
            loop {
                let page = client
                    .query(
                        "SELECT seq, recorded_at, kind, columns, body, prev_hash, hash
                         FROM loaxa.events WHERE station = $1 AND seq > $2 ORDER BY seq LIMIT 20000",
                        &[id, &last],
                    )
                    .await
                    .unwrap();
                if page.is_empty() {
                    break;
                }
                for r in &page {
                    let body: &str = r.get(4);
                    rows += body.len().min(1) as u64;
                    last = r.get(0);
                }
            }
        }
        let base = t.elapsed();
        // The province's communes (not the big backlog's station).
        let ids: Vec<String> = paths.iter().map(|(id, _)| id.clone()).collect();
        let t = Instant::now();
        let checks = central::verify(&admin, &client, &ids, true).await.unwrap();
        let full = t.elapsed();
        assert!(checks.iter().all(|c| c.problem.is_none()), "{checks:?}");
        let total: i64 = checks.iter().map(|c| c.events).sum();
        assert_eq!(total as u64, rows);
        lines.push(format!(
            "verify --full     {:>9.1} s   ({total} events of {} stations; baseline: reading every row {:.1} s, ratio {:.2})  target ≤ 30 s: {}",
            full.as_secs_f64(),
            checks.len(),
            base.as_secs_f64(),
            full.as_secs_f64() / base.as_secs_f64(),
            met(full <= Duration::from_secs(30))
        ));

        // A day later: every station sends its day, and verify walks only that.
        for (s, (_, path)) in paths.iter().enumerate() {
            journal_days(path, s, DAYS, DAYS + 1);
        }
        for (sync, path) in &syncs {
            let mut state = loaxa::sync::State::default();
            loaxa::sync::push(sync, path, &path.with_extension("sync.json"), &mut state)
                .await
                .unwrap();
        }
        let t = Instant::now();
        let checks = central::verify(&admin, &client, &ids, false).await.unwrap();
        let took = t.elapsed();
        assert!(checks.iter().all(|c| c.problem.is_none()), "{checks:?}");
        let walked: i64 = checks.iter().map(|c| c.events - c.from).sum();
        lines.push(format!(
            "verify (new only) {:>9.2} s   ({walked} new events of {} stations, from their checkpoints; baseline: verify --full above {:.1} s, ratio {:.3})",
            took.as_secs_f64(),
            checks.len(),
            full.as_secs_f64(),
            took.as_secs_f64() / full.as_secs_f64(),
        ));
        let size: i64 = client
            .query_one("SELECT pg_database_size('loaxa')", &[])
            .await
            .unwrap()
            .get(0);
        lines.push(format!("database size     {:>9.0} MB (with the COPY baseline's table)", size as f64 / 1e6));
    });
    for l in lines {
        println!("{l}");
    }
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
}

/// p95 of a list of durations.
fn p95(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 95).div_ceil(100).saturating_sub(1)]
}

/// A process's resident memory, from /proc.
fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Starts `loaxa` with `args` and waits for it to say where it listens.
fn listening(args: &[&str], cwd: &Path) -> std::process::Child {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_loaxa"))
        .args(args)
        .current_dir(cwd)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if line.contains("http://") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the console started");
    child
}

/// The province console's figures: four pages over HTTP against the functions they stand on,
/// and its idle memory against the station console's.
async fn console_figures(
    pg: &support::postgres::Postgres,
    admin: &Target,
    client: &tokio_postgres::Client,
    dir: &Path,
) -> Vec<String> {
    use loaxa::central::console::{set_account, ConsoleRole};
    let hash = loaxa::web::hash_password("mat khau bench").unwrap();
    set_account(admin, client, "bench", ConsoleRole::Approver, &hash)
        .await
        .unwrap();
    let clip = dir.join("ban-tin.wav");
    support::tone_wav(&clip, 2.0, 440.0, 8000, 1);
    let draft = central::bulletin::Draft {
        title: "Bản tin thử".into(),
        level: loaxa::journal::Priority::Normal,
        file: &clip,
        to: vec!["all".into()],
        from: None,
        until: None,
        at: Vec::new(),
        repeat: 1,
        lang: Lang::Vi,
    };
    let sent = central::bulletin::publish(admin, client, &draft, Utc::now())
        .await
        .unwrap();
    let addr = format!("127.0.0.1:{}", support::icecast::free_port());
    let child = listening(
        &["central", "web", "--listen", &addr, "--db", &pg.admin_url()],
        dir,
    );
    let pid = child.id();
    let console = support::web::Console {
        child,
        addr: addr.parse().unwrap(),
    };
    let c = console.login(("bench", "mat khau bench"));
    let one = station_id(1);
    let month = (
        TZ.with_ymd_and_hms(2025, 9, 1, 0, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
        TZ.with_ymd_and_hms(2025, 10, 1, 0, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let now = Utc::now();
    let mut out = Vec::new();
    let pages: [(&str, String, f64); 4] = [
        ("Communes page", "/".into(), 100.0),
        (
            "a commune's month",
            format!("/communes/{one}?from=2025-09-01&to=2025-09-30"),
            100.0,
        ),
        ("month report page", "/report?month=2025-09".into(), 200.0),
        ("delivery board", format!("/bulletins/{}", sent.id), 100.0),
    ];
    for (i, (name, path, target)) in pages.iter().enumerate() {
        let mut took = Vec::new();
        let mut base = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let r = c.get(path);
            took.push(t.elapsed());
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            let t = Instant::now();
            match i {
                0 => {
                    central::stations::list(admin, client, now, Lang::Vi)
                        .await
                        .unwrap();
                }
                1 => {
                    let q = central::commune::LogQuery {
                        from: month.0,
                        to: month.1,
                        limit: 50,
                        ..Default::default()
                    };
                    central::commune::log(admin, client, &one, &q)
                        .await
                        .unwrap();
                }
                2 => {
                    let m = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
                    central::report::build(
                        admin,
                        client,
                        (m, m),
                        "9/2025".into(),
                        &[],
                        m,
                        Lang::Vi,
                    )
                    .await
                    .unwrap();
                }
                _ => {
                    central::bulletin::show(admin, client, sent.id)
                        .await
                        .unwrap();
                }
            }
            base.push(t.elapsed());
        }
        let (p, b) = (p95(took.clone()), p95(base));
        out.push(format!(
            "{name:<19} p95 {:>6.1} ms, median {:.1} ms  (baseline: the central function alone, p95 {:.1} ms, ratio {:.2})  target ≤ {target:.0} ms: {}",
            ms(p),
            ms(median(took)),
            ms(b),
            ms(p) / ms(b),
            met(ms(p) <= *target)
        ));
    }
    // Idle: a few seconds after the last request.
    std::thread::sleep(Duration::from_secs(3));
    let rss = rss_mb(pid);
    let st = support::TempStation::new("", "");
    let web_addr = format!("127.0.0.1:{}", support::icecast::free_port());
    let mut web = listening(&["web", "--listen", &web_addr], st.path());
    std::thread::sleep(Duration::from_secs(3));
    let web_rss = rss_mb(web.id());
    let _ = web.kill();
    let _ = web.wait();
    out.push(format!(
        "console idle RSS  {rss:>9.1} MB  (after the pages above; baseline: the station's console idle {web_rss:.1} MB, ratio {:.2})  target ≤ 30 MB: {}",
        rss / web_rss,
        met(rss <= 30.0)
    ));
    drop(console);
    out
}
