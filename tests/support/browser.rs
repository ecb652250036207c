//! A real browser for the console's tests: headless Chromium driven over the W3C WebDriver
//! protocol by the Debian `chromium-driver`, spoken to with the same small HTTP client the
//! console tests use (WebDriver is JSON over HTTP; a client crate would add little).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use super::web::Client;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    http: Client,
    session: String,
}

/// Where Debian puts them.
fn found(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|p| std::path::Path::new(p).is_file())
        .map(ToString::to_string)
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at `width`×`height`, or `None` (after
    /// [`super::skip`], which fails under CI) when they are not installed.
    pub fn start(width: u32, height: u32) -> Option<Browser> {
        Self::start_with(width, height, &[])
    }

    /// As [`Browser::start`], with a microphone that hears `wav` (looped) and that the page
    /// may open without asking.
    pub fn with_microphone(width: u32, height: u32, wav: &std::path::Path) -> Option<Browser> {
        Self::with_microphone_and(width, height, wav, &[])
    }

    /// As [`Browser::with_microphone`], with more of Chromium's flags (a name mapped to an
    /// address, a certificate trusted).
    pub fn with_microphone_and(
        width: u32,
        height: u32,
        wav: &std::path::Path,
        extra: &[String],
    ) -> Option<Browser> {
        let mut flags = vec![
            "--use-fake-device-for-media-stream".into(),
            "--use-fake-ui-for-media-stream".into(),
            format!("--use-file-for-fake-audio-capture={}", wav.display()),
            "--autoplay-policy=no-user-gesture-required".into(),
        ];
        flags.extend_from_slice(extra);
        Self::start_with(width, height, &flags)
    }

    /// A browser whose microphone is `pulse`'s default source (set it with `pactl
    /// set-default-source`): what is played into it reaches the page through the real audio
    /// stack, on the clock a [`super::pulse::Listener`] keeps. The page may open it unasked.
    pub fn with_pulse_microphone(
        width: u32,
        height: u32,
        pulse: &super::pulse::Pulse,
    ) -> Option<Browser> {
        Self::start_in(
            width,
            height,
            &[
                "--use-fake-ui-for-media-stream".into(),
                "--autoplay-policy=no-user-gesture-required".into(),
            ],
            |c| pulse.env(c),
        )
    }

    fn start_with(width: u32, height: u32, extra: &[String]) -> Option<Browser> {
        Self::start_in(width, height, extra, |_| {})
    }

    fn start_in(
        width: u32,
        height: u32,
        extra: &[String],
        env: impl FnOnce(&mut Command),
    ) -> Option<Browser> {
        let Some(driver) = found(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])
        else {
            super::skip(
                "chromium-driver is not installed (apt-get install chromium chromium-driver)",
            );
            return None;
        };
        let Some(chromium) = found(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]) else {
            super::skip("chromium is not installed (apt-get install chromium)");
            return None;
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut driver = Command::new(driver);
        env(&mut driver);
        let child = driver
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let http = Client {
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            cookie: None,
            csrf: None,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(http.addr).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut b = Browser {
            driver: child,
            http,
            session: String::new(),
        };
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--lang=vi",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("--window-size={width},{height}"));
        args.extend_from_slice(extra);
        let r = b.call(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
                "binary": chromium,
                "args": args
            }}}}),
        );
        b.session = r["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_string();
        Some(b)
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if method == "GET" || method == "DELETE" {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let t = std::time::Instant::now();
        let r = self.http.request(
            method,
            path,
            &[("Content-Type", "application/json; charset=utf-8")],
            &body,
        );
        if t.elapsed() > Duration::from_secs(5) {
            eprintln!("webdriver {method} {path} took {:?}", t.elapsed());
        }
        let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        v.get("value").cloned().map_or(v.clone(), |inner| {
            if let Some(s) = v.get("sessionId") {
                json!({"sessionId": s, "value": inner})
            } else {
                inner
            }
        })
    }

    fn s(&self, tail: &str) -> String {
        format!("/session/{}{tail}", self.session)
    }

    pub fn go(&self, url: &str) {
        self.call("POST", &self.s("/url"), json!({ "url": url }));
    }

    /// The element a CSS selector finds, if any.
    pub fn find(&self, css: &str) -> Option<String> {
        let v = self.call(
            "POST",
            &self.s("/element"),
            json!({"using": "css selector", "value": css}),
        );
        v.get(ELEMENT).and_then(Value::as_str).map(str::to_string)
    }

    pub fn count(&self, css: &str) -> usize {
        let v = self.call(
            "POST",
            &self.s("/elements"),
            json!({"using": "css selector", "value": css}),
        );
        v.as_array().map_or(0, Vec::len)
    }

    /// Waits for an element.
    pub fn wait_for(&self, css: &str, secs: u64) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(e) = self.find(css) {
                return e;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {css} within {secs} s; the page said: {}",
                self.seen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the page shows (its visible text, the start of it), for a failure to say: the
    /// page's source would mostly be its head.
    fn seen(&self) -> String {
        let text = self.run(
            "return document.body ? document.body.innerText : ''",
            json!([]),
        );
        text.as_str()
            .unwrap_or_default()
            .chars()
            .take(3000)
            .collect()
    }

    /// Clicks an element. A click WebDriver refuses (another element over it while the page
    /// moves, an element replaced) is tried again for ten seconds, then fails the test: a
    /// click lost in silence would fail it later, somewhere that says nothing of why.
    pub fn click(&self, css: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let e = self.wait_for(css, 10);
            let v = self.call("POST", &self.s(&format!("/element/{e}/click")), json!({}));
            let Some(error) = v.get("error") else {
                return;
            };
            assert!(
                std::time::Instant::now() < deadline,
                "clicking {css}: {error}: {}; the page said: {}",
                v["message"],
                self.seen()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.wait_for(css, 10);
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/value")),
            json!({ "text": text }),
        );
    }

    pub fn text(&self, css: &str) -> String {
        let e = self.wait_for(css, 10);
        self.call("GET", &self.s(&format!("/element/{e}/text")), json!({}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn source(&self) -> String {
        self.call("GET", &self.s("/source"), json!({}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs a script in the page (from a file the test names, not inline in a page: the
    /// console's CSP applies to its pages, not to WebDriver).
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            json!({"script": script, "args": args}),
        )
    }

    /// Runs an asynchronous script; it calls its last argument with the result.
    pub fn run_async(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.s("/execute/async"),
            json!({"script": script, "args": args}),
        )
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        let b64 = self.call("GET", &self.s("/screenshot"), json!({}));
        base64_decode(b64.as_str().unwrap_or_default())
    }

    pub fn log_in(&self, base: &str, who: (&str, &str)) {
        self.go(&format!("{base}/login"));
        self.type_into("input[name=user]", who.0);
        self.type_into("input[name=password]", who.1);
        self.click("#login");
        self.wait_for("nav", 10);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            self.call("DELETE", &self.s(""), json!({}));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
