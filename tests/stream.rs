//! The stream for IP loudspeakers, against a real `icecast2`: what a broadcast airs reaches a
//! listener (`ffmpeg` reading the mount, as a receiver would) in full and in order, with the
//! slot's title as metadata; the sound card's onset is unaffected; a server restarted
//! mid-broadcast is reconnected to, and the journal says when the stream was down.

use std::time::Duration;

use crate::support::bin::log_json;
use crate::support::icecast::{Ffmpeg, Icecast};
use crate::support::pulse::{hms, stop_daemon, unix_now, Listener, Pulse};
use crate::support::{TempStation, PLAN};

fn mount_exists(ice: &Icecast, mount: &str) -> bool {
    admin_stats(ice).contains(&format!("<source mount=\"/{mount}\">"))
}

/// The server's `admin/stats` XML (admin credentials).
fn admin_stats(ice: &Icecast) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", ice.port)).unwrap();
    let auth = "YWRtaW46aGFja21l"; // admin:hackme
    write!(
        s,
        "GET /admin/stats HTTP/1.0\r\nAuthorization: Basic {auth}\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The titles a receiver reads in the stream's ICY metadata over `secs` of listening (a new
/// listener first gets the burst of recent audio, with the title that audio had).
fn icy_titles(ice: &Icecast, mount: &str, secs: f64) -> Vec<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", ice.port)).unwrap();
    write!(s, "GET /{mount} HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let end = unix_now() + secs;
    while unix_now() < end {
        if let Ok(n) = s.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    let mut titles: Vec<String> = Vec::new();
    let mut rest = &got[..];
    while let Some(i) = rest.windows(13).position(|w| w == b"StreamTitle='") {
        rest = &rest[i + 13..];
        if let Some(e) = rest.windows(2).position(|w| w == b"';") {
            let t = String::from_utf8_lossy(&rest[..e]).into_owned();
            if titles.last() != Some(&t) {
                titles.push(t);
            }
            rest = &rest[e..];
        }
    }
    titles
}

/// 100 ms windows of a mono 8 kHz 16-bit WAV: (RMS, dominant frequency by zero crossings).
fn windows(path: &std::path::Path) -> Vec<(f64, f64)> {
    let bytes = std::fs::read(path).unwrap();
    let data = bytes.windows(4).position(|w| w == b"data").unwrap() + 8;
    let samples: Vec<f64> = bytes[data..]
        .chunks_exact(2)
        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect();
    samples
        .chunks(800)
        .map(|w| {
            let rms = (w.iter().map(|s| s * s).sum::<f64>() / w.len() as f64).sqrt();
            let crossings = w
                .windows(2)
                .filter(|p| (p[0] < 0.0) != (p[1] < 0.0))
                .count();
            (rms, crossings as f64 / 2.0 / (w.len() as f64 / 8000.0))
        })
        .collect()
}

/// Runs of audible windows: (frequency rounded to 10 Hz, length in s), in order.
fn tones(w: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (rms, f) in w {
        if *rms < 0.01 {
            continue;
        }
        let f = (f / 10.0).round() * 10.0;
        match out.last_mut() {
            Some((g, len)) if (*g - f).abs() <= 20.0 => *len += 0.1,
            _ => out.push((f, 0.1)),
        }
    }
    out.retain(|(_, len)| *len > 0.25);
    out
}

#[test]
fn what_airs_reaches_an_icecast_listener_in_full_and_in_order_and_the_onset_is_unaffected() {
    crate::support::alone();
    let Some(ice) = Icecast::start() else {
        return;
    };
    let Some(pulse) = Pulse::start() else {
        return;
    };
    let listener = Listener::start(&pulse);
    let base = (unix_now() + 6.0).floor();
    let st = TempStation::new(
        &format!(
            "output = \"default\"\n[stream]\nurl = \"{}\"\npassword_file = \"stream.password\"\nbitrate = 96\n",
            ice.url("xa.mp3")
        ),
        &format!(
            "{PLAN}[[slot]]\nid = \"bt\"\ntitle = \"Bản tin chiều\"\nat = [\"{}\"]\nplay = [\"a.wav\", \"b.wav\"]\n",
            hms(base)
        ),
    );
    st.write("config/stream.password", "hackme\n");
    crate::support::tone_wav(&st.path().join("audio/a.wav"), 2.0, 440.0, 48_000, 2);
    crate::support::tone_wav(&st.path().join("audio/b.wav"), 2.0, 880.0, 48_000, 2);

    let child = pulse.start_daemon(st.path());
    // Between broadcasts the mount carries silence: a receiver can tune in before.
    ice.wait_mount("xa.mp3");
    let heard = st.path().join("heard.wav");
    let mut rec = Ffmpeg::spawn(&[
        "-i",
        &ice.url("xa.mp3"),
        "-ac",
        "1",
        "-ar",
        "8000",
        "-t",
        "12",
        heard.to_str().unwrap(),
    ]);
    // Mid-broadcast, the slot's title is the mount's metadata.
    std::thread::sleep(Duration::from_secs_f64((base + 2.0 - unix_now()).max(0.0)));
    let titles = icy_titles(&ice, "xa.mp3", 3.0);
    std::thread::sleep(Duration::from_secs_f64((base + 6.0 - unix_now()).max(0.0)));
    let stderr = stop_daemon(child);
    std::thread::sleep(Duration::from_secs(1));
    rec.kill();

    let segments = listener.segments(0.01);
    assert_eq!(segments.len(), 1, "{segments:?}\n{stderr}");
    let onset_ms = (segments[0].onset - base) * 1000.0;
    eprintln!("onset with the stream on: {onset_ms:+.1} ms");
    assert!((-20.0..100.0).contains(&onset_ms), "{onset_ms}");

    let tones = tones(&windows(&heard));
    eprintln!("the listener heard {tones:?}");
    assert_eq!(tones.len(), 2, "{tones:?}\n{stderr}");
    assert!(
        (tones[0].0 - 440.0).abs() <= 20.0 && (tones[1].0 - 880.0).abs() <= 20.0,
        "{tones:?}"
    );
    for (_, len) in &tones {
        assert!((len - 2.0).abs() <= 0.25, "{tones:?}");
    }

    assert!(
        titles.iter().any(|t| t == "Bản tin chiều"),
        "what a receiver shows as the title: {titles:?}"
    );

    let log = log_json(&st);
    let stream = &log["records"][0]["stream"];
    assert_eq!(stream["down"].as_array().unwrap().len(), 0, "{stream}");
    assert!(stream["sent_ms"].as_u64().unwrap() >= 3_990, "{stream}");
    assert_eq!(stream["sent_ms"], stream["aired_ms"], "{stream}");
    assert_eq!(stream["mount"], ice.url("xa.mp3"));
}

#[test]
fn a_restarted_icecast_server_is_reconnected_to_and_the_journal_says_when_the_stream_was_down() {
    crate::support::alone();
    // (Alone: it kills its server and starts it again on the same port. In a light turn, beside
    // two other light tests and shared ones, its server could not be reached once after the
    // restart; why was not found.)
    let Some(mut ice) = Icecast::start() else {
        return;
    };
    let base = (unix_now() + 5.0).floor();
    let st = TempStation::new(
        &format!(
            "[stream]\nurl = \"{}\"\npassword = \"hackme\"\nformat = \"opus\"\nidle = \"drop\"\n",
            ice.url("xa.ogg")
        ),
        &format!(
            "{PLAN}[[slot]]\nid = \"dai\"\ntitle = \"Tiếp sóng dài\"\nat = [\"{}\"]\nplay = [\"dai.wav\"]\n",
            hms(base)
        ),
    );
    crate::support::tone_wav(&st.path().join("audio/dai.wav"), 10.0, 440.0, 48_000, 2);
    let child = crate::support::bin::start_run(&st, &["--lang", "en"]);
    // `idle = "drop"`: the mount is there only while something airs.
    std::thread::sleep(Duration::from_secs_f64((base - 1.5 - unix_now()).max(0.0)));
    assert!(
        !mount_exists(&ice, "xa.ogg"),
        "the mount is left between broadcasts"
    );
    ice.wait_mount("xa.ogg");
    std::thread::sleep(Duration::from_secs_f64((base + 3.0 - unix_now()).max(0.0)));
    ice.kill();
    std::thread::sleep(Duration::from_secs(1));
    ice.restart();
    // Reconnected while the broadcast still airs: a receiver hears it again.
    ice.wait_mount("xa.ogg");
    assert!(unix_now() < base + 9.0, "reconnected too late to tell");
    let heard = st.path().join("heard.wav");
    let mut rec = Ffmpeg::spawn(&[
        "-i",
        &ice.url("xa.ogg"),
        "-ac",
        "1",
        "-ar",
        "8000",
        "-t",
        "2",
        heard.to_str().unwrap(),
    ]);
    std::thread::sleep(Duration::from_secs_f64((base + 11.5 - unix_now()).max(0.0)));
    rec.kill();
    assert!(
        !mount_exists(&ice, "xa.ogg"),
        "left again after the broadcast"
    );
    let (code, log) = crate::support::bin::stop(child);
    assert_eq!(code, 0, "{log}");
    let tones = tones(&windows(&heard));
    assert!(
        tones.iter().any(|(f, _)| (f - 440.0).abs() <= 20.0),
        "{tones:?}\n{log}"
    );

    let records = log_json(&st);
    let r = &records["records"][0];
    assert_eq!(
        r["outcome"], "completed",
        "the loudspeakers' broadcast is not the stream's: {r}"
    );
    let stream = &r["stream"];
    let down = stream["down"].as_array().unwrap();
    assert_eq!(down.len(), 1, "{stream}");
    assert!(stream["error"].is_string(), "{stream}");
    assert!(
        stream["sent_ms"].as_u64().unwrap() < stream["aired_ms"].as_u64().unwrap(),
        "{stream}"
    );
    assert!(
        stream["sent_ms"].as_u64().unwrap() > 5_000,
        "sent again after the restart: {stream}"
    );
}
