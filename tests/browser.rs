//! The console in a real browser (headless Chromium over WebDriver), as the commune's
//! operator and chairman would use it: what they do in the page reaches the air and the
//! journal; what they may not do is not offered, and refused if forced.

use std::time::Duration;

use serde_json::json;

use crate::support::bin::{in_secs, log_json, start_run, stop};
use crate::support::browser::Browser;
use crate::support::web::{console_actions, eventually, queue_station, Console, OPERATOR, VIEWER};
use crate::support::TempStation;

fn aired(st: &TempStation, pred: impl Fn(&serde_json::Value) -> bool) -> bool {
    log_json(st)["records"]
        .as_array()
        .is_some_and(|a| a.iter().any(|r| r["outcome"] == "completed" && pred(r)))
}

#[test]
fn in_the_browser_a_clip_uploaded_by_drag_or_pick_airs_at_its_slot() {
    crate::support::alone();
    let Some(b) = Browser::start(1366, 768) else {
        return;
    };
    // The slot is an hour away during the upload, and moved to a few seconds after it.
    let st = queue_station(&in_secs(3600).0);
    let daemon = start_run(&st, &[]);
    let console = Console::start(&st);
    let base = format!("http://{}", console.addr);
    b.log_in(&base, OPERATOR);
    b.go(&format!("{base}/library"));
    let src = st.path().join("Thông báo họp.wav");
    crate::support::tone_wav(&src, 1.0, 440.0, 8000, 1);
    b.type_into("#files", &src.display().to_string());
    b.click("#upload");
    b.wait_for(".upload-done", 20);
    assert!(st.path().join("audio/q/Thông báo họp.wav").is_file());
    st.write(
        "schedules/test.toml",
        &crate::support::web::queue_plan(&in_secs(5).0),
    );
    eventually(40, "the uploaded clip aired at its slot", || {
        aired(&st, |r| {
            r["clips"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["rel"] == "q/Thông báo họp.wav"))
        })
    });
    let (code, err) = stop(daemon);
    assert_eq!(code, 0, "{err}");
    assert!(console_actions(&st)
        .iter()
        .any(|a| a["what"] == "upload" && a["user"] == OPERATOR.0));
}

#[test]
fn in_the_browser_a_schedule_saved_with_an_error_shows_it_located_and_the_old_version_keeps_airing()
{
    crate::support::alone();
    let Some(b) = Browser::start(1366, 768) else {
        return;
    };
    // After the edit and its check (about 6 s here).
    let (at, _) = in_secs(12);
    let st = queue_station(&at);
    st.tone("q/cu.wav", 1.0);
    let daemon = start_run(&st, &[]);
    let console = Console::start(&st);
    let base = format!("http://{}", console.addr);
    b.log_in(&base, OPERATOR);
    b.go(&format!("{base}/timetable/edit?file=test.toml"));
    let before = std::fs::read_to_string(st.path().join("schedules/test.toml")).unwrap();
    let broken = before.replace("queue = \"q\"", "queue = \"q\"\nso_lan = 3");
    b.run(
        "document.getElementById('text').value = arguments[0];",
        json!([broken]),
    );
    b.click("#check");
    let shown = b.text("#diagnostics");
    assert!(shown.contains("test.toml:11:1"), "{shown}");
    assert!(
        b.find("#save").is_none(),
        "a text with errors cannot be saved"
    );
    assert_eq!(
        std::fs::read_to_string(st.path().join("schedules/test.toml")).unwrap(),
        before
    );
    eventually(40, "the old version aired its slot", || {
        aired(&st, |r| r["slot"] == "s")
    });
    let (code, err) = stop(daemon);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn in_the_browser_the_emergency_button_airs_the_clip_journaled_as_emergency() {
    crate::support::alone();
    let Some(b) = Browser::start(1366, 768) else {
        return;
    };
    let st = queue_station("06:00");
    st.tone("q/bao-lu.wav", 1.0);
    let daemon = start_run(&st, &[]);
    std::thread::sleep(Duration::from_secs(2));
    let console = Console::start(&st);
    let base = format!("http://{}", console.addr);
    b.log_in(&base, OPERATOR);
    b.go(&format!("{base}/emergency"));
    b.run(
        "document.getElementById('pick').value = arguments[0];",
        json!(["q/bao-lu.wav"]),
    );
    b.click("#confirm");
    b.click("#air-emergency");
    b.wait_for("#handed", 20);
    eventually(40, "the emergency aired", || {
        log_json(&st)["records"].as_array().is_some_and(|a| {
            a.iter()
                .any(|r| r["priority"] == "emergency" && r["outcome"] == "completed")
        })
    });
    let (code, err) = stop(daemon);
    assert_eq!(code, 0, "{err}");
    assert!(console_actions(&st)
        .iter()
        .any(|a| a["what"] == "emergency" && a["user"] == OPERATOR.0));
}

/// The left channel of a 16-bit stereo WAV file (the daemon's `wav:` output), as samples.
fn left_channel(path: &std::path::Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap();
    bytes[44..]
        .chunks_exact(4)
        .map(|f| i16::from_le_bytes([f[0], f[1]]))
        .collect()
}

/// The Record page in Chromium, its microphone hearing a 660 Hz tone: a take of about three
/// seconds, its first half second trimmed, named and saved into a queue, airs at its slot —
/// the tone's frequency and the kept length in what aired — and its save is journaled with
/// who and its SHA-256. A second take handed over as an emergency cuts the clip on air.
#[test]
fn in_the_browser_an_announcement_recorded_at_the_microphone_airs_at_its_slot_or_cuts_in_as_an_emergency(
) {
    crate::support::alone();
    let mic = crate::support::scratch();
    let tone = mic.path().join("tone.wav");
    crate::support::tone_wav(&tone, 10.0, 660.0, 48_000, 1);
    let Some(b) = Browser::with_microphone(1366, 768, &tone) else {
        return;
    };
    // The slot is an hour away while the take is recorded, and moved to a few seconds after
    // it is saved: the test waits for no margin a slow browser might have needed.
    let plan = |at: &str| {
        format!(
            "{}[[slot]]\nid = \"s\"\ntitle = \"Thông báo\"\nat = [\"{at}\"]\nqueue = \"q\"\n",
            crate::support::PLAN
        )
    };
    let st = TempStation::new("output = \"wav:journal/air.wav\"", &plan(&in_secs(3600).0));
    std::fs::create_dir_all(st.path().join("audio/q")).unwrap();
    let daemon = start_run(&st, &[]);
    let console = Console::start(&st);
    let base = format!("http://{}", console.addr);
    b.log_in(&base, OPERATOR);
    b.go(&format!("{base}/record"));
    let take = |name: &str, title: &str, to: &str, secs: f64, trim_start: &str| {
        assert_eq!(
            b.run(
                "return document.getElementById('recorder').hidden;",
                json!([])
            ),
            json!(false),
            "the recorder shows where the browser can record"
        );
        b.click("#rec-start");
        b.wait_for("#recorder[data-state=recording]", 10);
        std::thread::sleep(Duration::from_secs_f64(secs));
        b.click("#rec-stop");
        b.wait_for("#recorder[data-state=recorded]", 10);
        b.wait_for("#trim:not([hidden])", 10);
        b.run(
            "document.getElementById('trim-start').value = arguments[0];
             document.getElementById('rec-name').value = arguments[1];
             document.getElementById('rec-title').value = arguments[2];
             document.getElementById('rec-to').value = arguments[3];",
            json!([trim_start, name, title, to]),
        );
        if to == "emergency" {
            b.click("#rec-confirm");
        }
        b.click("#rec-save");
        b.wait_for("#rec-result.ok, #rec-result.bad", 20);
        b.text("#rec-result")
    };

    // A take into the queue the slot takes from, trimmed: kept as a WAV of what is left.
    let said = take("hop-dan", "Họp dân thôn 2", "q", 3.0, "0.5");
    assert!(said.contains("q/hop-dan.wav"), "{said}");
    let kept = st.path().join("audio/q/hop-dan.wav");
    let side = std::fs::read_to_string(st.path().join("audio/q/hop-dan.toml")).unwrap();
    assert!(side.contains("title = \"Họp dân thôn 2\""), "{side}");
    let saved = console_actions(&st);
    let recorded = saved
        .iter()
        .find(|a| a["what"] == "recorded")
        .unwrap_or_else(|| panic!("{saved:?}"));
    assert_eq!(recorded["user"], OPERATOR.0);
    assert_eq!(recorded["file"], "q/hop-dan.wav");
    let sha = {
        use sha2::Digest as _;
        loaxa::hex::hex(&sha2::Sha256::digest(std::fs::read(&kept).unwrap()))
    };
    assert_eq!(recorded["sha256"], sha.as_str());
    st.write("schedules/test.toml", &plan(&in_secs(4).0));
    eventually(45, "the recording aired at its slot", || {
        aired(&st, |r| {
            r["slot"] == "s" && r["clips"][0]["rel"] == "q/hop-dan.wav"
        })
    });
    // What aired: the tone, at its frequency, as long as the take less its trim.
    let air = left_channel(&st.path().join("journal/air.wav"));
    let loud: Vec<i16> = air.into_iter().filter(|x| x.unsigned_abs() > 200).collect();
    let secs = loud.len() as f64 / 44_100.0;
    assert!((1.8..3.0).contains(&secs), "{secs} s of tone aired");
    let crossings = loud.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    let hz = crossings as f64 / 2.0 / secs;
    assert!((hz - 660.0).abs() < 20.0, "{hz} Hz aired");

    // Something long on air, and a second take handed over as an emergency: it cuts in.
    // Renamed in, complete: it airs without the wait for a file still being copied.
    let staged = st.path().join("dai.wav");
    crate::support::tone_wav(&staged, 30.0, 440.0, 8000, 1);
    std::fs::create_dir_all(st.path().join("audio/phat-ngay")).unwrap();
    std::fs::rename(&staged, st.path().join("audio/phat-ngay/dai.wav")).unwrap();
    eventually(20, "the long clip on air", || {
        loaxa::status::read(&st.journal().with_file_name("status.json"))
            .and_then(|s| s.on_air)
            .is_some_and(|a| a.clips.iter().any(|c| c.contains("dai.wav")))
    });
    let said = take("bao-lu", "Báo lũ", "emergency", 1.0, "0");
    assert!(said.contains("bao-lu"), "{said}");
    eventually(30, "the recorded emergency aired", || {
        aired(&st, |r| {
            r["priority"] == "emergency"
                && r["clips"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["rel"].as_str().is_some_and(|r| r.contains("bao-lu")))
                })
        })
    });
    let (code, err) = stop(daemon);
    assert_eq!(code, 0, "{err}");
    let log = log_json(&st);
    let cut = log["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["clips"][0]["rel"] == "phat-ngay/dai.wav")
        .cloned()
        .unwrap_or_default();
    assert_eq!(cut["outcome"], "interrupted", "{log:#}");
    assert!(console_actions(&st)
        .iter()
        .any(|a| a["what"] == "emergency" && a["user"] == OPERATOR.0));
}

/// Posts a change from the page's own script context; returns the HTTP status.
const POST: &str = "const done = arguments[arguments.length - 1];
fetch(arguments[0], {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: arguments[1]})
  .then(r => done(r.status)).catch(e => done(String(e)));";

#[test]
fn in_the_browser_a_viewer_finds_no_way_to_change_anything() {
    crate::support::alone();
    let Some(b) = Browser::start(390, 844) else {
        return;
    };
    let st = queue_station("06:00");
    st.tone("q/a.wav", 0.5);
    let console = Console::start(&st);
    let base = format!("http://{}", console.addr);
    b.log_in(&base, VIEWER);
    for page in [
        "/",
        "/timetable",
        "/library",
        "/emergency",
        "/log",
        "/report",
        "/health",
    ] {
        b.go(&format!("{base}{page}"));
        b.wait_for("main", 10);
        assert_eq!(
            b.count("form[method=post]:not([action^='/logout'])"),
            0,
            "{page} offers a change"
        );
        assert_eq!(b.count("input[type=file], textarea"), 0, "{page}");
    }
    // Forcing it from the page, with the session's own token, is refused.
    b.go(&format!("{base}/library"));
    let token = b.run(
        "return document.querySelector('meta[name=csrf]').content;",
        json!([]),
    );
    let status = b.run_async(
        POST,
        json!([
            format!("/library/retire?csrf={}", token.as_str().unwrap()),
            "rel=q%2Fa.wav"
        ]),
    );
    assert_eq!(status, json!(403));
    assert!(st.path().join("audio/q/a.wav").is_file());
}

#[test]
fn in_the_browser_a_state_changing_request_without_the_csrf_token_is_refused() {
    crate::support::alone();
    let Some(b) = Browser::start(1366, 768) else {
        return;
    };
    let st = queue_station("06:00");
    st.tone("q/a.wav", 0.5);
    let console = Console::start(&st);
    let base = format!("http://{}", console.addr);
    b.log_in(&base, OPERATOR);
    b.go(&format!("{base}/library"));
    let status = b.run_async(POST, json!(["/library/retire", "rel=q%2Fa.wav"]));
    assert_eq!(status, json!(403));
    assert!(st.path().join("audio/q/a.wav").is_file());
    // The same request with the token goes through: the refusal was the token's.
    let token = b.run(
        "return document.querySelector('meta[name=csrf]').content;",
        json!([]),
    );
    let status = b.run_async(
        POST,
        json!([
            format!("/library/retire?csrf={}", token.as_str().unwrap()),
            "rel=q%2Fa.wav"
        ]),
    );
    assert_eq!(
        status,
        json!(200),
        "redirected to the library after retiring"
    );
    assert!(st.path().join("audio/q/da-phat/a.wav").is_file());
    // Pressed on the page, the library then says what was done, once.
    st.tone("q/b.wav", 0.5);
    b.go(&format!("{base}/library"));
    b.wait_for("button.retire", 10);
    b.click("button.retire");
    b.wait_for("#done", 10);
    let done = b.text("#done");
    assert!(done.contains("đã cho nghỉ q/b.wav"), "{done}");
    b.go(&format!("{base}/library"));
    b.wait_for("main", 10);
    assert_eq!(b.count("#done"), 0, "said once");
}

/// Not a check: `scripts/console-screenshots.sh` runs it to save a picture of every page of
/// the console on the example station, at 1366×768 and on a phone, into `$LOAXA_SCREENSHOTS`.
#[test]
#[ignore = "run by scripts/console-screenshots.sh"]
fn screenshots_of_every_page() {
    crate::support::alone();
    let Ok(out) = std::env::var("LOAXA_SCREENSHOTS") else {
        panic!("set LOAXA_SCREENSHOTS to the folder the pictures go to");
    };
    let out = std::path::PathBuf::from(out);
    std::fs::create_dir_all(&out).unwrap();
    let st = crate::support::example_station();
    let daemon = start_run(&st, &["--rehearse"]);
    let console = Console::start(&st);
    std::thread::sleep(Duration::from_secs(6));
    let base = format!("http://{}", console.addr);
    for (size, (w, h)) in [("1366x768", (1366, 768)), ("phone", (390, 844))] {
        let Some(b) = Browser::start(w, h) else {
            break;
        };
        b.go(&format!("{base}/login"));
        std::fs::write(out.join(format!("login-{size}.png")), b.screenshot()).unwrap();
        b.log_in(&base, OPERATOR);
        for (name, path) in [
            ("now", "/"),
            ("timetable", "/timetable"),
            ("edit", "/timetable/edit?file=cchc-2025.toml"),
            ("library", "/library"),
            ("clip", "/library/clip?rel=cchc/01-vai-tro-cchc.mp3"),
            ("emergency", "/emergency"),
            ("log", "/log"),
            ("report", "/report"),
            ("health", "/health?verify=1"),
        ] {
            b.go(&format!("{base}{path}"));
            b.wait_for("main", 10);
            std::thread::sleep(Duration::from_millis(700));
            std::fs::write(out.join(format!("{name}-{size}.png")), b.screenshot()).unwrap();
        }
    }
    let _ = stop(daemon);
}

/// Regression: on a phone (390 px) the Library was 461 px wide, the Log 551, Health 663 (the
/// chain hash did not wrap), and a long file name stretched the Library to 1,762 px. Every
/// page fits a phone and a laptop, with long names and hashes in it — and every letter is
/// drawn in the font the console serves, tone marks in place.
#[test]
fn in_the_browser_every_page_fits_a_phone_and_a_laptop_without_scrolling_sideways() {
    crate::support::alone();
    let st = queue_station("06:00");
    let long = format!(
        "q/{}.wav",
        "Thông-báo-lịch-tiêm-chủng-mở-rộng-cho-trẻ-em-dưới-năm-tuổi-tại-trạm-y-tế-xã"
    );
    st.tone(&long, 0.3);
    st.tone("q/a.wav", 0.3);
    // A journal with a broadcast of it: the Log, the Report and Health have rows and hashes.
    let (code, _, err) = crate::support::bin::Loaxa::new(&st)
        .args(["play", &long])
        .run();
    assert_eq!(code, 0, "{err}");
    let console = Console::start(&st);
    let base = format!("http://{}", console.addr);
    let rel = long.replace('/', "%2F");
    let mut wide = Vec::new();
    for (w, h) in [(390, 844), (1366, 768)] {
        let Some(b) = Browser::start(w, h) else {
            return;
        };
        b.log_in(&base, OPERATOR);
        for page in [
            "/".to_string(),
            "/timetable".into(),
            "/timetable/edit?file=test.toml".into(),
            "/library".into(),
            format!("/library/clip?rel={rel}"),
            "/emergency".into(),
            "/log".into(),
            "/report".into(),
            "/health".into(),
        ] {
            b.go(&format!("{base}{page}"));
            b.wait_for("main", 10);
            let over = b.run(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                json!([]),
            );
            if over.as_i64().unwrap_or(0) > 0 {
                // Which elements reach past the screen's edge, to say what to fix.
                let culprits = b.run(
                    "const w = document.documentElement.clientWidth;
                     return Array.from(document.querySelectorAll('main *'))
                       .filter((e) => e.getBoundingClientRect().right > w + 1)
                       .slice(-3)
                       .map((e) => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));",
                    json!([]),
                );
                wide.push(format!("{page} at {w} px: {over} px too wide: {culprits}"));
            }
        }
        // The console's own font, loaded and used (not the PC's).
        b.go(&format!("{base}/timetable/edit?file=test.toml"));
        b.wait_for("#text", 10);
        let fonts = b.run_async(
            "const done = arguments[arguments.length - 1];
             document.fonts.ready.then(() => done([
               getComputedStyle(document.body).fontFamily,
               getComputedStyle(document.getElementById('text')).fontFamily,
               document.fonts.check('16px \"loaxa sans\"', 'Kế hoạch tuyên truyền'),
               document.fonts.check('16px \"loaxa mono\"', 'Kế hoạch tuyên truyền'),
               Array.from(document.fonts).filter((f) => f.status === 'loaded').length
             ]));",
            json!([]),
        );
        assert!(
            fonts[0].as_str().unwrap().starts_with("\"loaxa sans\""),
            "{fonts}"
        );
        assert!(
            fonts[1].as_str().unwrap().starts_with("\"loaxa mono\""),
            "{fonts}"
        );
        assert_eq!(fonts[2], json!(true), "{fonts}");
        assert_eq!(fonts[3], json!(true), "{fonts}");
        assert!(fonts[4].as_i64().unwrap() >= 2, "{fonts}");
    }
    assert!(wide.is_empty(), "{wide:#?}");
}
