//! The Icecast source protocol as loaxa speaks it: one `PUT` to the mount with Basic
//! credentials and `Expect: 100-continue`, then the encoded stream as the body for as long
//! as the connection lives. An MP3 mount's title is changed through the server's
//! `admin/metadata` with the same credentials; an Ogg mount carries its title in the stream.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use super::settings::StreamConfig;
use crate::net::base64;
use crate::net::http::{self, Stream};
use crate::net::percent_encode;

const TIMEOUT: Duration = Duration::from_secs(5);

pub struct Client {
    config: StreamConfig,
    station: String,
    conn: Option<Stream>,
    last_error: String,
}

impl Client {
    pub fn new(config: StreamConfig, station: String) -> Client {
        Client {
            config,
            station,
            conn: None,
            last_error: String::new(),
        }
    }

    pub fn mount(&self) -> String {
        self.config.url.to_string()
    }

    pub fn connected(&self) -> bool {
        self.conn.is_some()
    }

    pub fn last_error(&self) -> String {
        self.last_error.clone()
    }

    fn auth(&self) -> String {
        base64(format!("{}:{}", self.config.user, self.config.password).as_bytes())
    }

    fn fail(&mut self, e: String) -> String {
        self.conn = None;
        self.last_error = e.clone();
        e
    }

    /// Opens the mount as its source.
    pub fn connect(&mut self, content_type: &str, title: &str) -> Result<(), String> {
        self.conn = None;
        let url = &self.config.url;
        let mut s = http::connect(url, TIMEOUT).map_err(|e| e.to_string());
        let request = format!(
            "PUT {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\nUser-Agent: loaxa/{}\r\nContent-Type: {content_type}\r\nIce-Public: 0\r\nIce-Name: {}\r\nIce-Description: {}\r\nIce-Audio-Info: bitrate={}\r\nExpect: 100-continue\r\n\r\n",
            url.path,
            url.authority(),
            self.auth(),
            env!("CARGO_PKG_VERSION"),
            self.station.replace(['\r', '\n'], " "),
            title.replace(['\r', '\n'], " "),
            self.config.bitrate_kbps,
        );
        let status = s.as_mut().map_err(|e| e.clone()).and_then(|s| {
            s.write_all(request.as_bytes())
                .and_then(|()| s.flush())
                .map_err(|e| e.to_string())?;
            // Only the status line and headers: read byte by byte so nothing of a later
            // answer is swallowed.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                match s.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    Ok(_) => return Err("the server closed the connection".into()),
                    Err(e) => return Err(e.to_string()),
                }
            }
            let line = String::from_utf8_lossy(&head);
            Ok(line
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse::<u16>().ok())
                .unwrap_or(0))
        });
        match (s, status) {
            (Ok(s), Ok(100 | 200)) => {
                self.conn = Some(s);
                self.last_error.clear();
                if self.config.format == super::StreamFormat::Mp3 {
                    self.set_title(title);
                }
                Ok(())
            }
            (_, Ok(401)) => Err(self.fail(format!(
                "{}: the server refused the source credentials (HTTP 401)",
                self.mount()
            ))),
            (_, Ok(403)) => Err(self.fail(format!(
                "{}: the mount is in use or not allowed (HTTP 403)",
                self.mount()
            ))),
            (_, Ok(code)) => Err(self.fail(format!("{}: HTTP {code}", self.mount()))),
            (Err(e), _) | (_, Err(e)) => Err(self.fail(e)),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let Some(s) = self.conn.as_mut() else {
            return Err(self.last_error.clone());
        };
        if bytes.is_empty() {
            return Ok(());
        }
        match s.write_all(bytes).and_then(|()| s.flush()) {
            Ok(()) => Ok(()),
            Err(e) => {
                let e = format!("{}: {e}", self.mount());
                Err(self.fail(e))
            }
        }
    }

    pub fn disconnect(&mut self) {
        self.conn = None;
    }

    /// Sets an MP3 mount's title (Ogg mounts carry it in the stream).
    pub fn set_title(&mut self, title: &str) {
        if self.config.format != super::StreamFormat::Mp3 {
            return;
        }
        let mut admin = self.config.url.clone();
        admin.path = format!(
            "/admin/metadata?mount={}&mode=updinfo&charset=UTF-8&song={}",
            percent_encode(self.config.url.path.split('?').next().unwrap_or("/")),
            percent_encode(title)
        );
        let auth = self.auth();
        let result = http::connect(&admin, TIMEOUT)
            .map_err(|e| e.to_string())
            .and_then(|mut s| {
                write!(
                    s,
                    "GET {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {auth}\r\nUser-Agent: loaxa/{}\r\nConnection: close\r\n\r\n",
                    admin.path,
                    admin.authority(),
                    env!("CARGO_PKG_VERSION")
                )
                .map_err(|e| e.to_string())?;
                let mut line = String::new();
                BufReader::new(s)
                    .read_line(&mut line)
                    .map_err(|e| e.to_string())?;
                Ok(line)
            });
        match result {
            Ok(line) if line.contains(" 200") => {}
            Ok(line) => tracing::warn!("stream {}: title not set: {}", self.mount(), line.trim()),
            Err(e) => tracing::warn!("stream {}: title not set: {e}", self.mount()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn titles_are_percent_encoded_for_the_admin_request() {
        assert_eq!(
            super::percent_encode("Bản tin 17h"),
            "B%E1%BA%A3n%20tin%2017h"
        );
    }
}
