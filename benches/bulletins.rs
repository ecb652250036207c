//! Bulletin benchmark (not a timed test), against a private PostgreSQL with fsync on:
//!
//! 1. 500 stations listening — the real `sync::bulletins::listen` code in-process, each with
//!    its own login and connection, each with its own audio folder. A 1 MB khẩn cấp bulletin
//!    is published to all; the time from publish until each station has it in its emergency
//!    folder (median and worst), beside a baseline in the same run: 500 fresh connections
//!    each fetching the same 1 MB with one plain SELECT, started at once. Then the centre's
//!    idle cost of the 500 listening connections (PostgreSQL's CPU over 60 s, its memory as
//!    PSS), beside the same with no station connected.
//! 2. One station on a PulseAudio null sink, its daemon (`loaxa run`) and `loaxa sync`
//!    running as on a station: 10 khẩn cấp bulletins published one by one; publish → first
//!    sample on air (median, worst; baseline: `aplay` of the same clip started at the
//!    publish), and first sample → the airing visible at the centre.
//!
//! Run: `cargo bench --bench bulletins` (`LOAXA_BENCH_PART=2` for the one station only). Targets: 500 stations worst ≤ 10 s; on air ≤ 3 s;
//! visible at the centre ≤ 60 s.

// The tests' harness, of which a bench uses a part (the suite itself keeps no dead helper).
#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use loaxa::central::{self, bulletin, Target};
use loaxa::journal::Priority;
use loaxa::lang::Lang;
use loaxa::sync::SyncConfig;

const STATIONS: usize = 500;

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v.last().copied().unwrap_or(f64::NAN))
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// PostgreSQL's processes (the postmaster listening on `port` and its children): CPU
/// seconds used so far, and memory as PSS in MB.
fn server_use(port: u16) -> (f64, f64) {
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let mut cpu = 0.0;
    let mut pss = 0.0;
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
        .collect();
    let postmaster = pids.iter().copied().find(|p| {
        std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
            String::from_utf8_lossy(&c).contains(&format!("port={port}")) || {
                let s = String::from_utf8_lossy(&c).replace('\0', " ");
                s.contains("postgres") && s.contains(&format!("-p {port}"))
            }
        })
    });
    let Some(postmaster) = postmaster else {
        return (f64::NAN, f64::NAN);
    };
    for p in pids {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ppid: u32 = fields.get(1).and_then(|f| f.parse().ok()).unwrap_or(0);
        if p != postmaster && ppid != postmaster {
            continue;
        }
        let ut: f64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0.0);
        let st: f64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0.0);
        cpu += (ut + st) / tick;
        if let Ok(r) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) {
            if let Some(kb) = r
                .lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
            {
                pss += kb / 1024.0;
            }
        }
    }
    (cpu, pss)
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-bulletins");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pg =
        support::postgres::Postgres::start_with("-c max_connections=700 -c shared_buffers=256MB")
            .expect("PostgreSQL is installed (scripts/setup)");
    let admin = Target::parse(&pg.admin_url(), Lang::En).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut lines = Vec::new();

    // 1. Five hundred listening stations (LOAXA_BENCH_PART=2 skips it).
    let clip = dir.join("bao-1mb.wav");
    let part_one = std::env::var("LOAXA_BENCH_PART").map_or(true, |p| p != "2");
    support::tone_wav(&clip, 62.5, 440.0, 8000, 1);
    let size = std::fs::metadata(&clip).unwrap().len();
    rt.block_on(async {
        let client = central::connect(&admin).await.unwrap();
        central::init(&admin, &client).await.unwrap();
        if !part_one {
            return;
        }
        let mut stations = Vec::new();
        for s in 0..STATIONS {
            let id = format!("xa-{s:04}");
            let (login, password) = central::add_station(&admin, &client, &id, None).await.unwrap();
            let home = dir.join(&id);
            std::fs::create_dir_all(home.join("audio/khan-cap")).unwrap();
            std::fs::create_dir_all(home.join("journal")).unwrap();
            let target = Target::parse(
                &format!("postgresql://{login}:{password}@127.0.0.1:{}/loaxa", pg.port),
                Lang::En,
            )
            .unwrap();
            stations.push((SyncConfig { target, station: id }, home));
        }
        let (idle_cpu0, idle_pss0) = server_use(pg.port);
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs(30));
        let (idle_cpu1, _) = server_use(pg.port);
        let none_cpu = (idle_cpu1 - idle_cpu0) / t0.elapsed().as_secs_f64() * 60.0;

        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for (sync, home) in stations.clone() {
            let stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let audio = home.join("audio");
                let journal = home.join("journal/loaxa.db");
                let station = loaxa::sync::bulletins::Station {
                    audio_dir: &audio,
                    emergency_dir: "khan-cap",
                    journal: &journal,
                };
                let beat = || loaxa::status::heartbeat(&journal);
                loaxa::sync::bulletins::listen(&sync, &station, Lang::En, &beat, stopped).await;
            }));
        }
        // Every station connected, listening, and through its first look.
        let t = Instant::now();
        loop {
            let n: i64 = client
                .query_one("SELECT count(*) FROM loaxa.heartbeats", &[])
                .await
                .unwrap()
                .get(0);
            if n as usize == STATIONS {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(300), "{n} stations connected");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let connected = t.elapsed();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (cpu0, pss) = server_use(pg.port);
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(60)).await;
        let (cpu1, _) = server_use(pg.port);
        let listening_cpu = (cpu1 - cpu0) / t0.elapsed().as_secs_f64() * 60.0;

        let published = Instant::now();
        let draft = bulletin::Draft {
            title: "Bão số 5".into(),
            level: Priority::Emergency,
            file: &clip,
            to: vec!["all".into()],
            from: None,
            until: None,
            at: vec![],
            repeat: 1,
            lang: Lang::En,
        };
        let p = bulletin::publish(&admin, &client, &draft, chrono::Utc::now())
            .await
            .unwrap();
        let publish_took = published.elapsed();
        let mut arrived: Vec<Option<f64>> = vec![None; STATIONS];
        let name = format!("tinh-{}-bao-1mb.wav", p.id);
        while arrived.iter().any(Option::is_none) {
            for (i, (_, home)) in stations.iter().enumerate() {
                if arrived[i].is_none() && home.join("audio/khan-cap").join(&name).is_file() {
                    arrived[i] = Some(published.elapsed().as_secs_f64());
                }
            }
            assert!(published.elapsed() < Duration::from_secs(300), "not every station got it");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (median, worst) = stats(arrived.into_iter().flatten().collect());
        let _ = stop.send(true);
        for t in tasks {
            let _ = t.await;
        }

        // Baseline: the same bytes fetched by 500 fresh connections at once, one SELECT each.
        let mut clients = Vec::new();
        for (sync, _) in &stations {
            clients.push(central::connect(&sync.target).await.unwrap());
        }
        let t = Instant::now();
        let mut fetches = Vec::new();
        for (c, (sync, _)) in clients.into_iter().zip(&stations) {
            let id = sync.station.clone();
            let pid = p.id;
            fetches.push(tokio::spawn(async move {
                let row = c
                    .query_one("SELECT bytes FROM loaxa.bulletin_clip($1, $2)", &[&id, &pid])
                    .await
                    .unwrap();
                let b: Vec<u8> = row.get(0);
                (b.len(), Instant::now())
            }));
        }
        let mut base = Vec::new();
        for f in fetches {
            let (n, at) = f.await.unwrap();
            assert_eq!(n as u64, size);
            base.push((at - t).as_secs_f64());
        }
        let (bm, bw) = stats(base);
        lines.push(format!(
            "khẩn cấp to {STATIONS} listening stations ({:.1} MB clip; publish itself {:.2} s, connecting all {:.1} s)",
            size as f64 / 1e6,
            publish_took.as_secs_f64(),
            connected.as_secs_f64()
        ));
        lines.push(format!(
            "  publish → in every emergency folder   median {median:5.2} s  worst {worst:5.2} s  target worst ≤ 10 s: {}",
            met(worst <= 10.0)
        ));
        lines.push(format!(
            "  baseline: 500 plain SELECTs of it     median {bm:5.2} s  worst {bw:5.2} s  (ratio worst {:.1})",
            worst / bw
        ));
        lines.push(format!(
            "  the centre idle, 500 listening        {listening_cpu:5.2} CPU s a minute, {pss:.0} MB (PSS)"
        ));
        lines.push(format!(
            "  the centre idle, none connected       {none_cpu:5.2} CPU s a minute, {idle_pss0:.0} MB (PSS)"
        ));
    });

    // 2. One station, on a PulseAudio null sink.
    if let Some(pulse) = support::pulse::Pulse::start() {
        let st = support::TempStation::new(
            "output = \"default\"\nemergency_repeat = 1",
            &format!(
                "{}[[slot]]\nid = \"s\"\nat = [\"03:00\"]\nqueue = \"q\"\n",
                support::PLAN
            ),
        );
        std::fs::create_dir_all(st.path().join("audio/q")).unwrap();
        let short = dir.join("bao-ngan.wav");
        support::tone_wav(&short, 0.5, 440.0, 48_000, 2);
        let (login, password) = rt.block_on(async {
            let client = central::connect(&admin).await.unwrap();
            central::add_station(&admin, &client, "xa-loa", None)
                .await
                .unwrap()
        });
        std::fs::write(st.path().join("config/sync-password"), &password).unwrap();
        std::fs::set_permissions(
            st.path().join("config/sync-password"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let config = st.path().join("config/loaxa.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(
            &config,
            format!(
                "{text}\n[sync]\nurl = \"postgresql://127.0.0.1:{}/loaxa\"\nstation = \"xa-loa\"\nuser = \"{login}\"\npassword_file = \"sync-password\"\n",
                pg.port
            ),
        )
        .unwrap();
        let spawn = |args: &[&str]| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_loaxa"));
            pulse.env(&mut cmd);
            cmd.current_dir(st.path())
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut daemon = spawn(&["run"]);
        let status = st.path().join("journal/status.json");
        for _ in 0..100 {
            if status.is_file() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut sync = spawn(&["sync"]);
        std::thread::sleep(Duration::from_secs(3));
        let listener = support::pulse::Listener::start(&pulse);
        let mut published = Vec::new();
        let mut ids = Vec::new();
        rt.block_on(async {
            let client = central::connect(&admin).await.unwrap();
            for _ in 0..10 {
                published.push(support::pulse::unix_now());
                let draft = bulletin::Draft {
                    title: "Bão".into(),
                    level: Priority::Emergency,
                    file: &short,
                    to: vec!["xa-loa".into()],
                    from: None,
                    until: None,
                    at: vec![],
                    repeat: 1,
                    lang: Lang::En,
                };
                let p = bulletin::publish(&admin, &client, &draft, chrono::Utc::now())
                    .await
                    .unwrap();
                ids.push(p.id);
                tokio::time::sleep(Duration::from_secs(4)).await;
            }
        });
        let segs = listener.segments(0.01);
        let onsets: Vec<f64> = published
            .iter()
            .map(|p| {
                segs.iter()
                    .map(|s| s.onset)
                    .find(|o| o >= p)
                    .unwrap_or(f64::NAN)
            })
            .collect();
        drop(listener);
        // First sample → the airing at the centre (the journal's chain carried up by sync).
        let mut visible = Vec::new();
        rt.block_on(async {
            let client = central::connect(&admin).await.unwrap();
            // When the centre stored the airing event (its clock; the same machine's).
            for (id, onset) in ids.iter().zip(&onsets) {
                let seen = loop {
                    let row = client
                        .query_opt(
                            "SELECT extract(epoch FROM e.received_at)::float8 FROM loaxa.deliveries d
                             JOIN loaxa.events e ON e.station = d.station AND e.seq = d.seq
                             WHERE d.bulletin = $1 AND d.what = 'aired' ORDER BY d.seq LIMIT 1",
                            &[id],
                        )
                        .await
                        .unwrap();
                    if let Some(r) = row {
                        break r.get::<_, f64>(0);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                };
                visible.push(seen - onset);
            }
        });
        for child in [&mut sync, &mut daemon] {
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let _ = child.wait();
        }
        // Baseline: aplay of the same clip started at the "publish".
        let listener = support::pulse::Listener::start(&pulse);
        let mut started = Vec::new();
        for _ in 0..10 {
            started.push(support::pulse::unix_now());
            let _ = pulse
                .command("aplay")
                .arg("-q")
                .arg(&short)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_secs(1));
        }
        let segs = listener.segments(0.01);
        let aplay: Vec<f64> = started
            .iter()
            .map(|p| {
                segs.iter()
                    .map(|s| s.onset)
                    .find(|o| o >= p)
                    .map_or(f64::NAN, |o| o - p)
            })
            .collect();
        let on_air: Vec<f64> = onsets.iter().zip(&published).map(|(o, p)| o - p).collect();
        let heard = on_air.iter().filter(|d| !d.is_nan()).count();
        let (om, ow) = stats(on_air.into_iter().filter(|d| !d.is_nan()).collect());
        let (am, aw) = stats(aplay.into_iter().filter(|d| !d.is_nan()).collect());
        let (vm, vw) = stats(visible.into_iter().filter(|d| !d.is_nan()).collect());
        lines.push("one station, PulseAudio null sink, 10 khẩn cấp bulletins".into());
        lines.push(format!(
            "  publish → first sample on air         median {om:5.2} s  worst {ow:5.2} s  heard {heard}/10  target ≤ 3 s: {}",
            met(ow <= 3.0 && heard == 10)
        ));
        lines.push(format!(
            "  baseline: aplay at the publish        median {am:5.2} s  worst {aw:5.2} s"
        ));
        lines.push(format!(
            "  first sample → aired at the centre    median {vm:5.2} s  worst {vw:5.2} s  target ≤ 60 s: {}",
            met(vw <= 60.0)
        ));
    } else {
        lines.push("one station: no PulseAudio here, not measured".into());
    }
    for l in lines {
        println!("{l}");
    }
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
}
