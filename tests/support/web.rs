//! Driving the real console (`loaxa web`) in a temporary station: accounts set with
//! `loaxa web passwd`, the server started on a free loopback port, and a small HTTP/1.1
//! client that speaks to it byte by byte — so hostile requests (a truncated upload, a foreign
//! Host header, a client that never finishes its headers) can be sent exactly as an attacker
//! would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

use super::bin::loaxa;
use super::{TempStation, PLAN};

pub const OPERATOR: (&str, &str) = ("van-hanh", "mat-khau-van-hanh");
pub const VIEWER: (&str, &str) = ("chu-tich", "mat-khau-chu-tich");

/// A station with one slot at `at` (HH:MM or HH:MM:SS) airing the queue `q`, empty.
pub fn queue_station(at: &str) -> TempStation {
    let st = TempStation::new("", &queue_plan(at));
    std::fs::create_dir_all(st.path().join("audio/q")).unwrap();
    st
}

/// [`queue_station`]'s schedule, its slot at `at` (to move it: write it as
/// `schedules/test.toml`).
pub fn queue_plan(at: &str) -> String {
    format!("{PLAN}[[slot]]\nid = \"s\"\ntitle = \"Bản tin\"\nat = [\"{at}\"]\nqueue = \"q\"\n")
}

/// Sets a console account's password as the operator would.
pub fn passwd(st: &TempStation, user: &str, password: &str, role: &str) {
    let mut c = loaxa(st);
    c.args(["web", "passwd", "--user", user, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running console.
pub struct Console {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Console {
    /// Sets the operator's and the viewer's passwords and starts `loaxa web` on a free port.
    pub fn start(st: &TempStation) -> Console {
        passwd(st, OPERATOR.0, OPERATOR.1, "operator");
        passwd(st, VIEWER.0, VIEWER.1, "viewer");
        Console::start_only(st, &[])
    }

    pub fn start_only(st: &TempStation, args: &[&str]) -> Console {
        Console::start_at(st, "127.0.0.1", args)
    }

    /// As [`Console::start`], listening on `ip` (`0.0.0.0`: the office network).
    pub fn start_on(st: &TempStation, ip: &str) -> Console {
        passwd(st, OPERATOR.0, OPERATOR.1, "operator");
        passwd(st, VIEWER.0, VIEWER.1, "viewer");
        Console::start_at(st, ip, &[])
    }

    fn start_at(st: &TempStation, ip: &str, args: &[&str]) -> Console {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let mut child = loaxa(st)
            .args(["web", "--listen", &addr.to_string()])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("[web] {line}");
                if line.contains("://") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(20))
            .expect("loaxa web did not start listening");
        Console { child, addr }
    }

    pub fn client(&self) -> Client {
        Client {
            addr: self.addr,
            cookie: None,
            csrf: None,
        }
    }

    /// A client logged in as `who`, with its session's CSRF token.
    pub fn login(&self, who: (&str, &str)) -> Client {
        let mut c = self.client();
        let r = c.post_form("/login", &[("user", who.0), ("password", who.1)]);
        assert_eq!(r.status, 303, "login as {}: {}", who.0, r.body);
        c.cookie = r
            .header("set-cookie")
            .and_then(|v| v.split(';').next().map(str::to_string));
        assert!(c.cookie.is_some());
        let page = c.get("/");
        c.csrf = page
            .body
            .split("name=\"csrf\" content=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map(str::to_string);
        assert!(c.csrf.as_deref().is_some_and(|t| t.len() == 64));
        c
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Client {
    pub addr: SocketAddr,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

/// One part of a multipart body: a field, or a file.
pub enum Part<'a> {
    Field(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

pub const BOUNDARY: &str = "----loaxa-test-boundary-7f3a";

pub fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut b = Vec::new();
    for p in parts {
        write!(b, "--{BOUNDARY}\r\n").unwrap();
        match p {
            Part::Field(name, value) => {
                write!(
                    b,
                    "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .unwrap();
            }
            Part::File(name, filename, bytes) => {
                write!(
                    b,
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: audio/wav\r\n\r\n"
                )
                .unwrap();
                b.extend_from_slice(bytes);
                b.extend_from_slice(b"\r\n");
            }
        }
    }
    write!(b, "--{BOUNDARY}--\r\n").unwrap();
    b
}

pub fn urlencode(s: &str) -> String {
    loaxa::net::percent_encode(s)
}

impl Client {
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], &[])
    }

    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    }

    /// A form post carrying this session's CSRF token.
    /// Posts a form as the console's pages do: the session's CSRF token in the address.
    pub fn post_form_csrf(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf.clone().unwrap_or_default();
        self.post_form(&format!("{path}?csrf={token}"), fields)
    }

    pub fn post_multipart(&self, path: &str, parts: &[Part<'_>]) -> Response {
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        self.request(
            "POST",
            path,
            &[("Content-Type", &ct), ("Accept", "application/json")],
            &multipart(parts),
        )
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(c) = &self.cookie {
            head.push_str(&format!("Cookie: {c}\r\n"));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut raw = head.into_bytes();
        raw.extend_from_slice(body);
        self.raw(&raw)
    }

    /// Sends exactly these bytes and reads the answer until the server closes.
    pub fn raw(&self, bytes: &[u8]) -> Response {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(bytes).unwrap();
        read_response(&mut s)
    }
}

pub fn read_response(s: &mut TcpStream) -> Response {
    // Read the head, then exactly the body its Content-Length says (a server may keep the
    // connection open despite `Connection: close`), else until it closes.
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break Some(i + 4);
        }
        match s.read(&mut byte) {
            Ok(0) | Err(_) => break None,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    };
    if let Some(end) = head_end {
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        match length {
            Some(n) => {
                while buf.len() < end + n {
                    match s.read(&mut byte) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => buf.extend_from_slice(&byte[..k]),
                    }
                }
            }
            None => {
                let _ = s.read_to_end(&mut buf);
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The console actions the journal holds, oldest first, as JSON.
pub fn console_actions(st: &TempStation) -> Vec<serde_json::Value> {
    let db = rusqlite::Connection::open_with_flags(
        st.journal(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = db
        .prepare("SELECT body FROM events WHERE kind = 'console_action' ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|b| serde_json::from_str(&b.unwrap()).unwrap())
        .collect()
}

/// Waits until `f` holds, or panics after `secs` with `what`.
pub fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("not within {secs} s: {what}");
}

/// Standard base64 (HTTP Basic credentials).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
