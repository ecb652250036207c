//! Journal scale benchmark (not a timed test): a journal of 1,000,000 occurrences — a
//! province's year, 2,740 a day — then a month's report, a year's report, `log verify` over
//! all of it, and appending one occurrence with fsync. Each figure is printed beside a
//! baseline measured in the same run on the same file (the bare SQLite work underneath), as
//! medians, since absolute timings on a shared machine are noisy.
//!
//! Run: `cargo bench --bench journal_scale` (about 2 GB of disk in target/, removed after).
//! Targets: month report ≤ 200 ms, year ≤ 1 s, verify ≤ 5 s, append p99 ≤ 10 ms.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use loaxa::journal::Journal;
use loaxa::lang::Lang;
use loaxa::report::{self, Period};

const OCCURRENCES: u64 = 1_000_000;
const TZ: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;

#[path = "scale/occurrences.rs"]
mod occurrences;
use occurrences::occurrence;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let r = f();
    (t.elapsed(), r)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-journal");
    // LOAXA_BENCH_KEEP=1 keeps the generated journal and reuses it on the next run.
    let keep = std::env::var("LOAXA_BENCH_KEEP").is_ok_and(|v| v == "1");
    let path = dir.join("loaxa.db");
    let reuse = keep && path.is_file();
    if !reuse {
        let _ = std::fs::remove_dir_all(&dir);
    }
    std::fs::create_dir_all(&dir).unwrap();
    let mut journal = Journal::open(&path).unwrap();

    // Over how many years the million occurrences spread: 100 is a commune's century,
    // 1 a province's year. LOAXA_BENCH_YEARS chooses; the default is the commune's century.
    let years: i64 = std::env::var("LOAXA_BENCH_YEARS")
        .ok()
        .and_then(|y| y.parse().ok())
        .unwrap_or(100)
        .max(1);
    let first_year = 2025 - years as i32 + 1;
    let start = TZ
        .with_ymd_and_hms(first_year, 1, 1, 5, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let span_ms = years * 365 * 24 * 3600 * 1000;
    let spacing = span_ms / OCCURRENCES as i64;
    let (gen, events) = time(|| {
        if reuse {
            return journal.head().0 as u64;
        }
        let mut batch = Vec::with_capacity(50_000);
        let mut total = 0u64;
        for i in 0..OCCURRENCES {
            batch.extend(occurrence(i, start, spacing));
            if batch.len() >= 40_000 {
                total += batch.len() as u64;
                journal.append_all(&batch, Utc::now()).unwrap();
                batch.clear();
            }
        }
        total += batch.len() as u64;
        journal.append_all(&batch, Utc::now()).unwrap();
        total
    });
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!(
        "journal: {OCCURRENCES} occurrences over {years} year(s), {events} events, {:.0} MB, generated in {:.0} s",
        size as f64 / 1e6,
        gen.as_secs_f64()
    );

    let raw = rusqlite::Connection::open(&path).unwrap();
    let scan = |from: DateTime<Utc>, to: DateTime<Utc>| {
        raw.query_row(
            "SELECT COUNT(*), SUM(length(body)) FROM events WHERE scheduled_at >= ?1 AND scheduled_at < ?2",
            [from.timestamp_millis(), to.timestamp_millis()],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
        )
        .unwrap()
    };

    let month = Period::month("2025-06").unwrap();
    let year = Period::Days {
        from: chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        to: chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
    };
    let build =
        |p: Period| report::build(&journal, "Tỉnh", TZ, p, None, Lang::Vi, Utc::now()).unwrap();
    let mut lines = Vec::new();
    for (name, period, runs, target) in [
        ("month report", month, 5, 200.0),
        ("year report", year, 3, 1000.0),
    ] {
        let (a, b) = period.bounds(TZ);
        let base = median((0..runs).map(|_| time(|| scan(a, b)).0).collect());
        let mut planned = 0;
        let took = median(
            (0..runs)
                .map(|_| {
                    let (d, r) = time(|| build(period));
                    planned = r.totals.planned;
                    d
                })
                .collect(),
        );
        lines.push(format!(
            "{name:<14} {:>8.1} ms  (baseline: scanning its rows {:>7.1} ms, ratio {:.1})  {planned} occurrences  target ≤ {target:.0} ms: {}",
            ms(took),
            ms(base),
            ms(took) / ms(base),
            if ms(took) <= target { "met" } else { "NOT met" }
        ));
    }

    let (base, _) = time(|| {
        let mut stmt = raw
            .prepare("SELECT seq, recorded_at, body, prev_hash, hash FROM events ORDER BY seq")
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut n = 0u64;
        while let Some(r) = rows.next().unwrap() {
            let body: String = r.get(2).unwrap();
            n += body.len() as u64;
        }
        n
    });
    let (took, v) = time(|| journal.verify(None).unwrap());
    assert!(v.is_intact());
    lines.push(format!(
        "log verify     {:>8.2} s   (baseline: reading every row {:>6.2} s, ratio {:.1})  {} events  target ≤ 5 s: {}",
        took.as_secs_f64(),
        base.as_secs_f64(),
        took.as_secs_f64() / base.as_secs_f64(),
        v.events,
        if took.as_secs_f64() <= 5.0 { "met" } else { "NOT met" }
    ));

    // Appending as the daemon does: the start before the first sample, then the clips and the
    // end in one transaction, then a WAL checkpoint while idle. Baseline: a bare one-row insert
    // with the same fsync.
    raw.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE IF NOT EXISTS floor (x TEXT)").unwrap();
    let mut base = Vec::new();
    let mut took = Vec::new();
    let after = start + chrono::Duration::days(400);
    for i in 0..500u64 {
        let (d, _) = time(|| {
            raw.execute("INSERT INTO floor (x) VALUES (?1)", [format!("{i:0200}")])
                .unwrap()
        });
        base.push(d);
        let mut evs = occurrence(i * 100 + 10, after, spacing);
        let first = evs.remove(0);
        let (d, _) = time(|| {
            journal.append(&first, Utc::now()).unwrap();
            journal.append_all(&evs, Utc::now()).unwrap();
        });
        took.push(d);
        // As the daemon does after each broadcast, outside the time that matters.
        journal.checkpoint().unwrap();
    }
    took.sort();
    base.sort();
    let p = |v: &Vec<Duration>, q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    lines.push(format!(
        "append one occurrence (2 fsyncs)  p50 {:.2} ms  p99 {:.2} ms  (baseline one-row insert+fsync p50 {:.2} ms p99 {:.2} ms, p99 ratio {:.1})  target p99 ≤ 10 ms: {}",
        ms(p(&took, 0.5)),
        ms(p(&took, 0.99)),
        ms(p(&base, 0.5)),
        ms(p(&base, 0.99)),
        ms(p(&took, 0.99)) / ms(p(&base, 0.99)),
        if ms(p(&took, 0.99)) <= 10.0 { "met" } else { "NOT met" }
    ));
    for l in lines {
        println!("{l}");
    }
    drop(journal);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
