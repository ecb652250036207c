//! Going live from the station's own microphone (`live_input`), as the operator does it from
//! the command line and from the console: what the microphone hears is on the air at once and
//! off it within a second of the stop; asked as an emergency, it cuts what is on air, and an
//! emergency cuts it; each live occurrence is journaled with who started it and who ended it,
//! how long, and its levels.

use std::time::Duration;

use crate::support::bin::{log_json, Loaxa};
use crate::support::pulse::{hms, stop_daemon, unix_now, Listener, Pulse};
use crate::support::web::{eventually, Console, OPERATOR};
use crate::support::{TempStation, PLAN};

/// When a journal record's `key` (`started_at`, `ended_at`) was, in seconds since the epoch.
fn instant(r: &serde_json::Value, key: &str) -> f64 {
    let t = chrono::DateTime::parse_from_rfc3339(r[key].as_str().unwrap()).unwrap();
    t.timestamp_millis() as f64 / 1000.0
}

fn ended_at(r: &serde_json::Value) -> f64 {
    instant(r, "ended_at")
}

fn started_at(r: &serde_json::Value) -> f64 {
    instant(r, "started_at")
}

/// `loaxa run` on `st` (in English), once it publishes its status.
fn running(st: &TempStation) -> std::process::Child {
    let daemon = crate::support::bin::start_run(st, &["--lang", "en"]);
    eventually(15, "the daemon running", || {
        loaxa::status::read(&st.journal().with_file_name("status.json")).is_some()
    });
    daemon
}

/// The station's live occurrences as its journal has them (ended, or on air).
fn live_records(st: &TempStation) -> Vec<serde_json::Value> {
    log_json(st)["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["slot"] == "live")
        .cloned()
        .collect()
}

/// Waits until `n` of the station's live occurrences have ended.
fn until_lives_ended(st: &TempStation, n: usize) {
    eventually(10, "the live voices ended", || {
        live_records(st)
            .iter()
            .filter(|r| r["ended_at"].is_string())
            .count()
            >= n
    });
}

#[test]
fn the_station_microphone_goes_live_from_the_command_line_and_the_console_and_ends_when_stopped() {
    crate::support::alone();
    let Some(pulse) = Pulse::start() else {
        return;
    };
    // The microphone: a second null sink whose monitor ALSA knows as `mic`, hearing a
    // 523 Hz tone as long as the test runs.
    pulse.capture_device("mic", "mic", 44_100);
    let mut voice = pulse
        .command("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i"])
        .arg("sine=frequency=523:sample_rate=44100")
        .args(["-ac", "2", "-f", "pulse", "-device", "mic", "mic"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let listener = Listener::start(&pulse);
    // A long clip at its slot, for the emergency to cut.
    let slot = (unix_now() + 10.0).floor();
    let st = TempStation::new(
        "output = \"default\"\nlive_input = \"alsa:mic\"\nlive_max_minutes = 1\nemergency_repeat = 1",
        &format!(
            "{PLAN}[[slot]]\nid = \"dai\"\nat = [\"{}\"]\nplay = [\"dai.wav\"]\n",
            hms(slot)
        ),
    );
    st.tone("dai.wav", 20.0);
    let daemon = pulse.start_daemon(st.path());
    eventually(15, "the daemon running", || {
        loaxa::status::read(&st.journal().with_file_name("status.json")).is_some()
    });

    // From the command line, at normal priority; ended from the command line.
    let started = unix_now();
    let (code, out, err) = Loaxa::new(&st)
        .args(["live", "start", "--lang", "en"])
        .run();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("alsa:mic"), "{out}");
    std::thread::sleep(Duration::from_secs(4));
    let stopped = unix_now();
    let (code, out, err) = Loaxa::new(&st).args(["live", "stop", "--lang", "en"]).run();
    assert_eq!(code, 0, "{out}{err}");

    // While the clip airs (a slot the first live voice held up waits for it to end): from the
    // console, as an emergency, cutting it.
    let console = Console::start(&st);
    let op = console.login(OPERATOR);
    std::thread::sleep(Duration::from_secs_f64((slot + 3.0 - unix_now()).max(0.0)));
    let page = op.get("/record").body;
    assert!(page.contains("id=\"live-start\""), "{page}");
    let r = op.post_form_csrf("/live", &[("action", "start"), ("priority", "emergency")]);
    assert_eq!(r.status, 303, "{}", r.body);
    std::thread::sleep(Duration::from_secs(4));
    let stopped2 = unix_now();
    let r = op.post_form_csrf("/live", &[("action", "stop")]);
    assert_eq!(r.status, 303, "{}", r.body);
    std::thread::sleep(Duration::from_secs(2));

    // Live again from the command line; an emergency handed in cuts it, and it does not come
    // back after.
    let (code, out, err) = Loaxa::new(&st)
        .args(["live", "start", "--lang", "en"])
        .run();
    assert_eq!(code, 0, "{out}{err}");
    std::thread::sleep(Duration::from_secs(4));
    let staged = st.path().join("bao-lu.wav");
    crate::support::tone_wav(&staged, 1.0, 880.0, 48_000, 2);
    std::fs::create_dir_all(st.path().join("audio/khan-cap")).unwrap();
    std::fs::rename(&staged, st.path().join("audio/khan-cap/bao-lu.wav")).unwrap();
    // The emergency is on air within a second for a second; then two more without the voice.
    std::thread::sleep(Duration::from_secs(4));
    let stderr = stop_daemon(daemon);
    let _ = voice.kill();
    let _ = voice.wait();

    let log = log_json(&st);
    let records = log["records"].as_array().unwrap();
    let live: Vec<&serde_json::Value> = records.iter().filter(|r| r["slot"] == "live").collect();
    assert_eq!(live.len(), 3, "{log:#}\n{stderr}");
    assert_eq!(live[2]["outcome"], "interrupted", "{:#}", live[2]);
    assert_eq!(live[2]["reason"]["code"], "preempted", "{:#}", live[2]);
    let urgent = records
        .iter()
        .find(|r| r["clips"][0]["rel"] == "khan-cap/bao-lu.wav")
        .unwrap_or_else(|| panic!("{log:#}"));
    assert_eq!(urgent["outcome"], "completed", "{urgent:#}");
    for (r, by, priority, stop) in [
        (live[0], "loaxa live", "normal", stopped),
        (live[1], OPERATOR.0, "emergency", stopped2),
    ] {
        assert_eq!(r["outcome"], "completed", "{r:#}\n{stderr}");
        assert_eq!(r["priority"], priority, "{r:#}");
        assert_eq!(r["reason"]["code"], "live_ended", "{r:#}");
        assert!(
            r["reason"]["detail"]["by"]
                .as_str()
                .is_some_and(|b| b.contains(by)),
            "who ended it: {r:#}"
        );
        let relay = &r["clips"][0]["relay"];
        assert!(
            relay["codec"]
                .as_str()
                .is_some_and(|c| c.starts_with("line-in")),
            "{relay}"
        );
        // (The microphone's first samples come up to 1.3 s after the start, measured.)
        assert!(relay["relayed_ms"].as_u64().unwrap() > 1_000, "{relay}");
        let clip = &r["clips"][0];
        assert!(
            clip["levels"]["peak_dbfs"].is_number() || relay["levels"]["peak_dbfs"].is_number(),
            "levels: {clip}"
        );
        let began = started_at(r);
        eprintln!(
            "{by}: on air {:.2} s after the request at the earliest; ended {:.2} s after the stop",
            began
                - if stop == stopped {
                    started
                } else {
                    stopped2 - 3.0
                },
            ended_at(r) - stop
        );
        // Off the air within a second of the stop.
        let late = ended_at(r) - stop;
        assert!(
            (0.0..1.5).contains(&late),
            "ended {late:.2} s after the stop"
        );
    }
    // The clip on air was cut for the emergency.
    let cut = records.iter().find(|r| r["slot"] == "dai").unwrap();
    assert_eq!(cut["outcome"], "interrupted", "{cut:#}");
    assert_eq!(cut["reason"]["code"], "preempted", "{cut:#}");
    // What the microphone heard was on the air: a segment from soon after the start to the
    // stop, and silence after it.
    let segments = listener.segments(0.01);
    assert!(
        segments.iter().any(|s| s.onset - started < 2.5
            && s.onset >= started
            && (s.onset + s.length - stopped).abs() < 1.5),
        "{segments:?}"
    );
    // Both actions of each, under their person, in the journal.
    let actions = crate::support::web::console_actions(&st);
    for (what, times) in [("live_start", 3), ("live_stop", 2)] {
        assert_eq!(
            actions.iter().filter(|a| a["what"] == what).count(),
            times,
            "{actions:?}"
        );
    }
}

/// The station's guards hold for a live voice as for its schedule: in quiet hours a live
/// broadcast at normal priority is journaled missed for them; as an emergency it is not held;
/// once the day's sessions are used up, it is journaled missed for the cap.
/// Its microphone missing, it ends within seconds, said and journaled (source down), rather
/// than airing silence for its maximum. Without a microphone configured, `loaxa live`
/// refuses.
#[test]
fn quiet_hours_hold_a_live_voice_but_not_an_emergency_and_no_microphone_is_refused() {
    crate::support::light();
    let st = TempStation::new(
        "quiet_hours = \"00:00-23:59\"\nlive_input = \"alsa:khong-co\"",
        PLAN,
    );
    let daemon = running(&st);
    // Regression: the console's folder was made by the first hand-over (here `loaxa live
    // start`), racing the daemon's watcher: the request went unseen for half a minute, until
    // the next rescan (once in a whole run, with the tests' folders in memory). The daemon
    // makes it before it watches, as it does its other doors.
    assert!(st
        .path()
        .join("audio")
        .join(loaxa::mailbox::PENDING_DIR)
        .is_dir());
    let (code, out, err) = Loaxa::new(&st)
        .args(["live", "start", "--lang", "en"])
        .run();
    assert_eq!(code, 0, "{out}{err}");
    eventually(10, "the live voice held by the quiet hours", || {
        log_json(&st)["records"].as_array().is_some_and(|a| {
            a.iter().any(|r| {
                r["slot"] == "live"
                    && r["outcome"] == "missed"
                    && r["reason"]["code"] == "quiet_hours"
            })
        })
    });
    let (code, out, err) = Loaxa::new(&st)
        .args(["live", "start", "--priority", "emergency", "--lang", "en"])
        .run();
    assert_eq!(code, 0, "{out}{err}");
    let failed = || {
        log_json(&st)["records"].as_array().is_some_and(|a| {
            a.iter().any(|r| {
                r["slot"] == "live"
                    && r["priority"] == "emergency"
                    && r["reason"]["code"] == "source_down"
            })
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !failed() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, log) = crate::support::bin::stop(daemon);
    assert!(
        failed(),
        "the emergency tried, its microphone missing: {:#}\n{log}",
        log_json(&st)
    );
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("khong-co"),
        "the missing device is said: {log}"
    );

    // The day's sessions capped: once the one session aired, a live voice at normal priority
    // is journaled missed for the cap.
    let (at, _) = crate::support::bin::in_secs(4);
    let capped = TempStation::new(
        "max_sessions_per_day = 1\nlive_input = \"alsa:khong-co\"",
        &format!("{PLAN}[[slot]]\nid = \"s\"\nat = [\"{at}\"]\nplay = [\"a.wav\"]\n"),
    );
    capped.tone("a.wav", 0.5);
    // Its journal is made before it is read: the daemon publishes its status first.
    let daemon = running(&capped);
    eventually(20, "the day's one session aired", || {
        log_json(&capped)["records"].as_array().is_some_and(|a| {
            a.iter()
                .any(|r| r["slot"] == "s" && r["outcome"] == "completed")
        })
    });
    let (code, out, err) = Loaxa::new(&capped)
        .args(["live", "start", "--lang", "en"])
        .run();
    assert_eq!(code, 0, "{out}{err}");
    eventually(10, "the live voice held by the cap", || {
        log_json(&capped)["records"].as_array().is_some_and(|a| {
            a.iter()
                .any(|r| r["slot"] == "live" && r["reason"]["code"] == "session_limit")
        })
    });
    let (code, log) = crate::support::bin::stop(daemon);
    assert_eq!(code, 0, "{log}");

    let plain = TempStation::new("", PLAN);
    let (code, _, err) = Loaxa::new(&plain)
        .args(["live", "start", "--lang", "en"])
        .run();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("add live_input"), "{err}");
}

/// A request to go live is for now. Regression: one handed over while loaxa was down (left in
/// the mailbox) would have put the microphone on air whenever loaxa started again.
#[test]
fn a_request_to_go_live_that_waited_while_loaxa_was_down_never_goes_on_air() {
    crate::support::light();
    let st = TempStation::new("live_input = \"alsa:khong-co\"", PLAN);
    let config = loaxa::config::load(
        &loaxa::config::Overrides::default(),
        &std::collections::BTreeMap::new(),
        st.path(),
        &[],
    )
    .unwrap();
    let asked = chrono::Utc::now() - chrono::Duration::minutes(10);
    loaxa::mailbox::hand(
        &config.audio_dir,
        &loaxa::mailbox::Action {
            at: asked,
            user: "van-hanh".into(),
            from: "127.0.0.1".into(),
            what: loaxa::mailbox::What::LiveStart,
            file: None,
            sha256: None,
            detail: Some("emergency".into()),
            bulletin: None,
            feed: None,
        },
    )
    .unwrap();
    let daemon = crate::support::bin::start_run(&st, &["--lang", "en"]);
    eventually(15, "the request journaled", || {
        st.journal().is_file()
            && crate::support::web::console_actions(&st)
                .iter()
                .any(|a| a["what"] == "live_start")
    });
    // Longer than a live occurrence with no microphone takes to be journaled (5 s).
    std::thread::sleep(Duration::from_secs(7));
    let (code, log) = crate::support::bin::stop(daemon);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("too old: not acted on"), "{log}");
    let records = log_json(&st);
    assert!(
        !records["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["slot"] == "live"),
        "{records:#}"
    );
}

/// Live from a browser elsewhere in the office: the Record page sends the browser's
/// microphone (a 660 Hz tone played into PulseAudio, which Chromium records as from a real
/// microphone) as Opus over a WebSocket, the console passes it on to the daemon, and the tone
/// is on the air within a second or two; Stop takes it off within a
/// second, journaled completed and ended by the operator; a tab closed mid-live ends it at
/// once, journaled interrupted with why. The socket is a change like any other: no session,
/// no token, a viewer, another site, or a bad priority is refused before it opens.
#[test]
fn in_the_browser_a_voice_goes_live_ends_on_stop_and_a_closed_tab_is_journaled_interrupted() {
    crate::support::alone();
    let Some(pulse) = Pulse::start() else {
        return;
    };
    pulse.capture_device("mic", "mic", 48_000);
    pulse.browser_microphone("mic");
    let Some(b) = crate::support::browser::Browser::with_pulse_microphone(1366, 768, &pulse) else {
        return;
    };
    let mut voice = pulse
        .command("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i"])
        .arg("sine=frequency=660:sample_rate=48000")
        .args(["-ac", "1", "-f", "pulse", "-device", "mic", "mic"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let listener = Listener::start(&pulse);
    let st = TempStation::new("output = \"default\"\nlive_max_minutes = 1", PLAN);
    let console = Console::start(&st);
    let op = console.login(OPERATOR);
    let token = op.csrf.clone().unwrap();

    // loaxa not running: the socket opens only to close at once with why, for the page to
    // say (code 4000, the reason in the page's language).
    let refused = {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(console.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /live/browser?priority=normal&csrf={token} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            console.addr,
            op.cookie.clone().unwrap()
        )
        .unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        got
    };
    assert!(
        refused.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&refused)
    );
    let close = refused
        .windows(2)
        .position(|w| w == [0x0f, 0xa0])
        .unwrap_or_else(|| panic!("no close 4000: {refused:?}"));
    let reason = String::from_utf8_lossy(&refused[close + 2..]);
    assert!(reason.contains("loaxa"), "{reason}");

    let daemon = pulse.start_daemon(st.path());
    eventually(15, "the daemon running", || {
        loaxa::status::read(&st.journal().with_file_name("status.json")).is_some()
    });

    // Refused before the socket opens: no session, no token, a viewer, another site, and a
    // priority that is none.
    let upgrade = |c: &crate::support::web::Client, query: &str, origin: Option<&str>| {
        let mut head = format!(
            "GET /live/browser?{query} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            c.addr
        );
        if let Some(cookie) = &c.cookie {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some(o) = origin {
            head.push_str(&format!("Origin: {o}\r\n"));
        }
        head.push_str("\r\n");
        c.raw(head.as_bytes()).status
    };
    let viewer = console.login(crate::support::web::VIEWER);
    let here = format!("http://{}", console.addr);
    assert_eq!(upgrade(&console.client(), "priority=normal", None), 401);
    assert_eq!(upgrade(&op, "priority=normal", None), 403);
    assert_eq!(upgrade(&op, "priority=normal&csrf=wrong", None), 403);
    let viewer_token = viewer.csrf.clone().unwrap();
    assert_eq!(
        upgrade(
            &viewer,
            &format!("priority=normal&csrf={viewer_token}"),
            None
        ),
        403
    );
    assert_eq!(
        upgrade(
            &op,
            &format!("priority=normal&csrf={token}"),
            Some("http://evil.example")
        ),
        403
    );
    assert_eq!(
        upgrade(&op, &format!("priority=loud&csrf={token}"), Some(&here)),
        422
    );
    assert!(
        !crate::support::web::console_actions(&st)
            .iter()
            .any(|a| a["what"] == "live_start"),
        "a refused socket asked for nothing"
    );

    b.log_in(&here, OPERATOR);
    b.go(&format!("{here}/record"));
    b.wait_for("#live-browser:not([hidden])", 10);
    let go_live = || {
        let asked = unix_now();
        b.click("#live-go");
        b.wait_for("#live-browser[data-state=on-air]", 15);
        asked
    };

    // Live, then ended with Stop.
    let started = go_live();
    std::thread::sleep(Duration::from_secs(5));
    let stopped = unix_now();
    b.click("#live-end");
    b.wait_for("#live-browser[data-state=ended]", 10);

    // Live again; the tab goes (the page is left) mid-live.
    std::thread::sleep(Duration::from_secs(2));
    go_live();
    std::thread::sleep(Duration::from_secs(3));
    let left = unix_now();
    b.go("about:blank");
    until_lives_ended(&st, 2);
    std::thread::sleep(Duration::from_secs(1));
    let stderr = stop_daemon(daemon);
    let _ = voice.kill();
    let _ = voice.wait();

    let live = live_records(&st);
    assert_eq!(live.len(), 2, "{live:#?}\n{stderr}");
    let (ended, gone) = (&live[0], &live[1]);
    assert_eq!(ended["outcome"], "completed", "{ended:#}\n{stderr}");
    assert_eq!(ended["reason"]["code"], "live_ended", "{ended:#}");
    assert_eq!(ended["reason"]["detail"]["by"], OPERATOR.0, "{ended:#}");
    let relay = &ended["clips"][0]["relay"];
    assert!(relay["relayed_ms"].as_u64().unwrap() > 3_000, "{relay}");
    assert!(
        relay["codec"].as_str().is_some_and(|c| c.contains("opus")),
        "{relay}"
    );
    let late = ended_at(ended) - stopped;
    eprintln!(
        "browser live: on air {:.2} s after Go live at the earliest; ended {late:.2} s after Stop",
        started_at(ended) - started
    );
    assert!(
        (0.0..1.0).contains(&late),
        "ended {late:.2} s after the stop"
    );
    assert_eq!(gone["outcome"], "interrupted", "{gone:#}\n{stderr}");
    assert_eq!(gone["reason"]["code"], "voice_lost", "{gone:#}");
    let late = ended_at(gone) - left;
    eprintln!("browser live: ended {late:.2} s after the tab went");
    assert!(
        (0.0..1.0).contains(&late),
        "ended {late:.2} s after the tab went\n{stderr}"
    );

    // The tone was on the air: at its frequency, from soon after the request to the stop.
    let segments = listener.segments(0.01);
    let heard = segments
        .iter()
        .find(|s| s.onset >= started && s.onset - started < 3.0)
        .unwrap_or_else(|| panic!("{segments:?}\n{stderr}"));
    let hz = listener.frequency(heard, 0.05);
    assert!((hz - 660.0).abs() < 30.0, "{hz} Hz heard");
    let off = heard.onset + heard.length - stopped;
    assert!(
        off < 1.0,
        "heard until {off:.2} s after the stop: {segments:?}"
    );
    let actions = crate::support::web::console_actions(&st);
    let starts: Vec<_> = actions
        .iter()
        .filter(|a| a["what"] == "live_start")
        .collect();
    assert_eq!(starts.len(), 2, "{actions:?}");
    assert!(starts.iter().all(|a| a["user"] == OPERATOR.0));
    assert_eq!(
        actions.iter().filter(|a| a["what"] == "live_stop").count(),
        1,
        "the tab that went asked for no stop: the daemon saw it go: {actions:?}"
    );
}

/// The base64 SHA-256 of a certificate's public key, as Chromium's
/// `--ignore-certificate-errors-spki-list` takes it: that one certificate trusted.
fn spki_hash(cert: &std::path::Path) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("openssl x509 -pubkey -noout -in \"$1\" | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A")
        .arg("sh")
        .arg(cert)
        .output()
        .expect("openssl is not installed: run scripts/setup");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Live from a PC elsewhere in the office, over HTTPS: the console listens on the office
/// network with the certificate `loaxa web cert` made, and the browser reaches it by a name
/// that is not loopback (mapped to this machine), where only HTTPS makes the page a secure
/// origin on which the microphone may open. The voice goes on the air, over a `wss:` socket,
/// and is journaled as the operator's. (Regression: `loaxa web --listen 0.0.0.0:…` over the
/// default `[web] listen` refused every office name, its Host check looking at the configured
/// loopback address rather than where it listened.)
#[test]
fn in_the_browser_on_the_office_network_over_https_a_voice_goes_live() {
    crate::support::alone();
    let mic = crate::support::scratch();
    let tone = mic.path().join("tone.wav");
    crate::support::tone_wav(&tone, 30.0, 660.0, 48_000, 1);
    let st = TempStation::new(
        "output = \"wav:journal/air.wav\"\nlive_max_minutes = 1",
        PLAN,
    );
    let (code, out, err) = Loaxa::new(&st)
        .args(["web", "cert", "--host", "loa.xa.local", "--lang", "en"])
        .binary()
        .run();
    assert_eq!(code, 0, "{out}{err}");
    let spki = spki_hash(&st.path().join("config/tls/cert.pem"));
    let Some(b) = crate::support::browser::Browser::with_microphone_and(
        1366,
        768,
        &tone,
        &[
            "--host-resolver-rules=MAP loa.xa.local 127.0.0.1".into(),
            format!("--ignore-certificate-errors-spki-list={spki}"),
        ],
    ) else {
        return;
    };
    let daemon = running(&st);
    let console = Console::start_on(&st, "0.0.0.0");
    let base = format!("https://loa.xa.local:{}", console.addr.port());
    b.log_in(&base, OPERATOR);
    b.go(&format!("{base}/record"));
    assert_eq!(
        b.run("return window.isSecureContext;", serde_json::json!([])),
        serde_json::json!(true),
        "HTTPS makes the office's name a secure origin"
    );
    b.wait_for("#live-browser:not([hidden])", 10);
    b.click("#live-go");
    b.wait_for("#live-browser[data-state=on-air]", 15);
    std::thread::sleep(Duration::from_secs(3));
    b.click("#live-end");
    b.wait_for("#live-browser[data-state=ended]", 10);
    until_lives_ended(&st, 1);
    let (code, err) = crate::support::bin::stop(daemon);
    assert_eq!(code, 0, "{err}");
    let live = live_records(&st).remove(0);
    assert_eq!(live["outcome"], "completed", "{live:#}\n{err}");
    assert_eq!(live["reason"]["detail"]["by"], OPERATOR.0, "{live:#}");
    let relay = &live["clips"][0]["relay"];
    assert!(relay["relayed_ms"].as_u64().unwrap() > 2_000, "{relay}");
}

/// 20 ms Opus packets of a tone, as a browser's encoder sends them: loaxa's own stream encoder
/// (48 kHz stereo, in Ogg pages), the packets taken out of its pages.
fn opus_packets(secs: f64, hz: f64) -> Vec<Vec<u8>> {
    use loaxa::stream::codec::Encoder as _;
    let mut opus = loaxa::stream::codec::Opus::new(48, "").unwrap();
    let mut ogg = Vec::new();
    opus.start(&mut ogg);
    let n = (secs * 48_000.0) as usize;
    let pcm: Vec<f32> = (0..n)
        .flat_map(|i| {
            let x = (i as f64 * hz * std::f64::consts::TAU / 48_000.0).sin() as f32 * 0.3;
            [x, x]
        })
        .collect();
    opus.encode(&pcm, &mut ogg);
    let (mut packets, mut packet, mut at) = (Vec::new(), Vec::new(), 0);
    while at + 27 <= ogg.len() {
        let segments = usize::from(ogg[at + 26]);
        let lacing = &ogg[at + 27..at + 27 + segments];
        let mut data = at + 27 + segments;
        for &l in lacing {
            packet.extend_from_slice(&ogg[data..data + usize::from(l)]);
            data += usize::from(l);
            if l < 255 {
                packets.push(std::mem::take(&mut packet));
            }
        }
        at = data;
    }
    // The first two are the stream's headers, not audio.
    packets.split_off(2)
}

/// A browser's live voice as a test speaks it: the Record page's WebSocket, opened with an
/// operator's session; Opus packets sent as masked binary frames every 20 ms; what the console
/// says read on its own thread (each frame's opcode and payload).
struct Voice {
    s: std::net::TcpStream,
    heard: std::sync::mpsc::Receiver<(u8, Vec<u8>)>,
}

impl Voice {
    fn open(console: &Console, op: &crate::support::web::Client) -> Voice {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(console.addr).unwrap();
        write!(
            s,
            "GET /live/browser?priority=normal&csrf={} HTTP/1.1\r\nHost: {}\r\nCookie: {}; loaxa_lang=en\r\nOrigin: http://{}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            op.csrf.clone().unwrap(),
            console.addr,
            op.cookie.clone().unwrap(),
            console.addr
        )
        .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        let mut r = s.try_clone().unwrap();
        let (said, heard) = std::sync::mpsc::channel();
        std::thread::spawn(move || loop {
            let mut h = [0u8; 2];
            if r.read_exact(&mut h).is_err() {
                return;
            }
            let len = match h[1] & 0x7f {
                126 => {
                    let mut l = [0u8; 2];
                    if r.read_exact(&mut l).is_err() {
                        return;
                    }
                    usize::from(u16::from_be_bytes(l))
                }
                l => usize::from(l),
            };
            let mut payload = vec![0u8; len];
            if r.read_exact(&mut payload).is_err() || said.send((h[0] & 0x0f, payload)).is_err() {
                return;
            }
        });
        Voice { s, heard }
    }

    /// Sends `packets`, one every 20 ms, until they run out or the console closes the socket:
    /// then its close frame's payload.
    fn speak(&mut self, packets: &[Vec<u8>]) -> Option<Vec<u8>> {
        let began = std::time::Instant::now();
        for (i, p) in packets.iter().enumerate() {
            if self.send(0x2, p).is_err() {
                return self.closed_within(1);
            }
            if let Some(close) = self.heard.try_iter().find(|(op, _)| *op == 8) {
                return Some(close.1);
            }
            let next = began + Duration::from_millis(20 * (i as u64 + 1));
            std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
        }
        None
    }

    /// Sends one frame (`opcode`: 1 text, 2 binary, 8 close), masked as a browser's are.
    fn send(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut frame = vec![0x80 | opcode];
        match u16::try_from(payload.len()).unwrap() {
            n @ 0..=125 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend(n.to_be_bytes());
            }
        }
        frame.extend([1, 2, 3, 4]);
        frame.extend(
            payload
                .iter()
                .enumerate()
                .map(|(k, b)| b ^ [1, 2, 3, 4][k % 4]),
        );
        self.s.write_all(&frame)
    }

    /// The console's close frame, if it comes within `secs`.
    fn closed_within(&self, secs: u64) -> Option<Vec<u8>> {
        let until = std::time::Instant::now() + Duration::from_secs(secs);
        while let Ok((op, payload)) = self
            .heard
            .recv_timeout(until.saturating_duration_since(std::time::Instant::now()))
        {
            if op == 8 {
                return Some(payload);
            }
        }
        None
    }
}

/// A live voice from a browser never runs past the station's maximum: with `live_max_minutes
/// = 0.1`, a browser that goes on speaking is taken off the air at 6 s, journaled as aired in
/// full for its length, and the console closes its socket saying the station ended it.
/// (The test speaks WebSocket itself, as a browser would.)
#[test]
fn a_live_voice_from_a_browser_never_runs_past_the_stations_maximum() {
    crate::support::light();
    let st = TempStation::new("live_max_minutes = 0.1", PLAN);
    let daemon = running(&st);
    let console = Console::start(&st);
    let mut voice = Voice::open(&console, &console.login(OPERATOR));
    let close = voice.speak(&opus_packets(20.0, 523.0));
    let close = close.expect("the console closed the socket");
    let reason = String::from_utf8_lossy(&close[2..]);
    assert_eq!(
        u16::from_be_bytes([close[0], close[1]]),
        1000,
        "{reason}: {:#?}",
        live_records(&st)
    );
    assert!(
        reason.contains("the station ended the live broadcast"),
        "{reason}"
    );
    let (code, err) = crate::support::bin::stop(daemon);
    assert_eq!(code, 0, "{err}");
    let live = live_records(&st).remove(0);
    let length = ended_at(&live) - started_at(&live);
    assert!(
        (5.5..6.6).contains(&length),
        "on air {length:.2} s: {live:#}"
    );
    assert_eq!(live["outcome"], "completed", "{live:#}\n{err}");
}

/// A browser that goes silent without closing (a network that drops, a laptop that sleeps)
/// is taken for gone after 2 s without a packet: the live voice ends, journaled interrupted
/// (`voice_lost`), and the console closes the socket saying the browser went.
#[test]
fn a_browser_that_goes_silent_without_closing_ends_its_live_voice_within_seconds() {
    crate::support::light();
    let st = TempStation::new("live_max_minutes = 1", PLAN);
    let daemon = running(&st);
    let console = Console::start(&st);
    let mut voice = Voice::open(&console, &console.login(OPERATOR));
    assert_eq!(voice.speak(&opus_packets(4.0, 523.0)), None);
    let silent = unix_now();
    let close = voice
        .closed_within(10)
        .expect("the console closed the socket");
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1001);
    let reason = String::from_utf8_lossy(&close[2..]);
    assert!(reason.contains("the browser went"), "{reason}");
    until_lives_ended(&st, 1);
    let (code, err) = crate::support::bin::stop(daemon);
    assert_eq!(code, 0, "{err}");
    let live = live_records(&st).remove(0);
    assert_eq!(live["outcome"], "interrupted", "{live:#}");
    assert_eq!(live["reason"]["code"], "voice_lost", "{live:#}\n{err}");
    let late = ended_at(&live) - silent;
    assert!(
        (1.5..3.5).contains(&late),
        "ended {late:.2} s after the browser went silent"
    );
}

/// A stop from a browser's page ends that browser's voice only. Regression: a browser that
/// gave up while its voice waited (another live voice on air, from a second console here)
/// handed over a plain stop, which took the voice on air off with it.
#[test]
fn a_browser_that_gives_up_waiting_ends_only_its_own_voice() {
    crate::support::light();
    let st = TempStation::new("live_max_minutes = 1", PLAN);
    let daemon = running(&st);
    let first = Console::start(&st);
    let second = Console::start_only(&st, &[]);
    let mut on_air = Voice::open(&first, &first.login(OPERATOR));
    assert_eq!(on_air.speak(&opus_packets(3.0, 523.0)), None);
    // A second voice asks, waits behind the first, and its browser goes.
    let mut waiting = Voice::open(&second, &second.login(OPERATOR));
    assert_eq!(waiting.speak(&opus_packets(1.0, 440.0)), None);
    let _ = waiting.send(0x8, &1001u16.to_be_bytes());
    let _ = waiting.s.shutdown(std::net::Shutdown::Both);
    // The first goes on, then its operator ends it.
    assert_eq!(on_air.speak(&opus_packets(3.0, 523.0)), None);
    let _ = on_air.send(0x1, b"stop");
    let _ = on_air.speak(&opus_packets(1.0, 523.0));
    until_lives_ended(&st, 1);
    std::thread::sleep(Duration::from_secs(2));
    let (code, err) = crate::support::bin::stop(daemon);
    assert_eq!(code, 0, "{err}");
    let live = live_records(&st);
    assert_eq!(live.len(), 1, "the second voice never aired: {live:#?}");
    // Ended by its own operator's stop (its outcome is not the point here: this test's one
    // thread fell silent on the first voice while it spoke for the second).
    assert_eq!(
        live[0]["reason"]["code"], "live_ended",
        "{:#}\n{err}",
        live[0]
    );
    let length = ended_at(&live[0]) - started_at(&live[0]);
    assert!(
        length > 6.0,
        "the first voice went on after the second gave up: {length:.2} s"
    );
    // Nothing in the journal keeps a feed's one-time address.
    let actions = crate::support::web::console_actions(&st);
    assert!(
        actions.iter().all(|a| a.get("feed").is_none()),
        "{actions:?}"
    );
}

/// Hostile frames on the live socket: a text that is no command changes nothing, and a message
/// over the socket's 16 KiB closes it; the voice it carried ends (journaled voice_lost) and
/// nothing is left on the air.
#[test]
fn an_oversized_message_on_the_live_socket_closes_it_and_nothing_stays_on_air() {
    crate::support::light();
    let st = TempStation::new("live_max_minutes = 1", PLAN);
    let daemon = running(&st);
    let console = Console::start(&st);
    let mut voice = Voice::open(&console, &console.login(OPERATOR));
    voice.send(0x1, "phát; rm -rf /".as_bytes()).unwrap();
    assert_eq!(
        voice.speak(&opus_packets(2.0, 523.0)),
        None,
        "a stray text is ignored"
    );
    let _ = voice.send(0x2, &vec![0u8; 20_000]);
    assert!(voice.closed_within(5).is_some(), "the socket closed");
    until_lives_ended(&st, 1);
    let (code, err) = crate::support::bin::stop(daemon);
    assert_eq!(code, 0, "{err}");
    let live = live_records(&st).remove(0);
    assert_eq!(live["outcome"], "interrupted", "{live:#}\n{err}");
    assert_eq!(live["reason"]["code"], "voice_lost", "{live:#}");
}
