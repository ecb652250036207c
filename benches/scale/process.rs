//! What the benchmarks read of a running process from /proc: CPU time and resident memory.

#![allow(dead_code)]

use std::time::Duration;

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The CPU time each live thread of the process has run so far, to the nanosecond (the
/// scheduler's own count, `/proc/PID/task/*/schedstat`), by thread id. Ticks
/// ([`cpu_seconds`]) come in hundredths of a second: a player using 0.25 % of a core for 20 s
/// uses five of them, and one tick either way is a fifth of the figure.
pub fn thread_times(pid: u32) -> Option<std::collections::HashMap<u32, u64>> {
    let mut times = std::collections::HashMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let task = task.ok()?;
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        // A thread that ended between the listing and the read is skipped.
        if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
            if let Some(ns) = stat.split_whitespace().next().and_then(|n| n.parse().ok()) {
                times.insert(tid, ns);
            }
        }
    }
    Some(times)
}

/// CPU seconds the process ran between two [`thread_times`]: each thread's growth, a thread
/// born in between counted whole. A thread that ended in between is not counted at all, so
/// compare over a span in which the threads that do the work live throughout.
pub fn thread_cpu_between(
    before: &std::collections::HashMap<u32, u64>,
    after: &std::collections::HashMap<u32, u64>,
) -> f64 {
    after
        .iter()
        .map(|(tid, ns)| ns.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum::<u64>() as f64
        / 1e9
}

/// (current RSS, peak RSS) in MB.
pub fn rss_mb(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some((kb("VmRSS:")? / 1024.0, kb("VmHWM:")? / 1024.0))
}

/// Watches a process until it exits: its peak RSS.
pub fn peak_until_exit(pid: u32) -> f64 {
    let mut peak = 0.0;
    while let Some((_, p)) = rss_mb(pid) {
        peak = p;
        std::thread::sleep(Duration::from_millis(20));
    }
    peak
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
