//! An http or https address, parsed here without a crate: loaxa needs scheme, host, port
//! and path, and joining a playlist's relative entries and redirects onto it. Shared by
//! relays, the stream, the config and the console; the percent-encoder for query values too.

use std::fmt;

/// An http or https address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// `user:password` given in the address (sent as Basic credentials).
    pub userinfo: Option<String>,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        let (tls, rest) = if let Some(r) = strip_prefix_ci(text, "http://") {
            (false, r)
        } else if let Some(r) = strip_prefix_ci(text, "https://") {
            (true, r)
        } else {
            return Err("no http:// or https://".into());
        };
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("spaces in the address".into());
        }
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or("unclosed [ in the host")?;
            (format!("[{h}]"), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err("no host".into());
        }
        let port = match port {
            None | Some("") => {
                if tls {
                    443
                } else {
                    80
                }
            }
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("port “{p}” is not a number from 1 to 65535"))?,
        };
        Ok(Url {
            tls,
            host: host.to_ascii_lowercase(),
            port,
            path,
            userinfo,
        })
    }

    /// Resolves a reference found in a playlist or a `Location` header against this address.
    pub fn join(&self, reference: &str) -> Result<Url, String> {
        let r = reference.trim();
        if strip_prefix_ci(r, "http://").is_some() || strip_prefix_ci(r, "https://").is_some() {
            return Url::parse(r);
        }
        if let Some(rest) = r.strip_prefix("//") {
            return Url::parse(&format!(
                "{}://{rest}",
                if self.tls { "https" } else { "http" }
            ));
        }
        if r.contains("://") {
            return Err(format!("“{r}” is not an http address"));
        }
        let path = if r.starts_with('/') {
            r.to_string()
        } else {
            let base = self.path.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{r}")
        };
        Ok(Url {
            path: if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            },
            ..self.clone()
        })
    }

    /// `host:port`, for connecting and for messages.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The file-name extension of the path (lowercase), for guessing what it serves.
    pub fn extension(&self) -> Option<String> {
        let path = self.path.split('?').next()?;
        let name = path.rsplit('/').next()?;
        let (_, ext) = name.rsplit_once('.')?;
        Some(ext.to_ascii_lowercase())
    }
}

impl fmt::Display for Url {
    /// The address without its credentials: this is what messages and the journal show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            write!(f, "{scheme}://{}{}", self.host, self.path)
        } else {
            write!(f, "{scheme}://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for a query value).
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `+` and `%XX` decoded to bytes, whatever they make (a form's field, a cookie).
pub fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    (text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_takes_what_encoding_makes_and_leaves_broken_escapes() {
        assert_eq!(
            percent_decode(b"a+b%C3%AA%0D%0A%zz%4"),
            "a bê\r\n%zz%4".as_bytes()
        );
        assert_eq!(percent_decode(b"%FF%FE"), [0xFF, 0xFE]);
        let s = "Đã xóa q/bản tin.mp3";
        assert_eq!(percent_decode(percent_encode(s).as_bytes()), s.as_bytes());
    }

    #[test]
    fn addresses_parse_with_their_ports_paths_and_credentials() {
        let u = Url::parse("http://vov1.vov.gov.vn/vov1.mp3").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("vov1.vov.gov.vn", 80, "/vov1.mp3")
        );
        let u = Url::parse("HTTPS://Radio.Tinh.vn:8443?x=1").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path.as_str()),
            (true, "radio.tinh.vn", 8443, "/?x=1")
        );
        let u = Url::parse("http://src:pw@[::1]:8000/live").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.userinfo.as_deref()),
            ("[::1]", 8000, Some("src:pw"))
        );
        assert_eq!(
            u.to_string(),
            "http://[::1]:8000/live",
            "credentials never shown"
        );
        for bad in [
            "ftp://x/y",
            "http://",
            "http://h:0/",
            "http://h:99999/",
            "http://h/a b",
            "vov1",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn playlist_entries_and_redirects_join_onto_the_address() {
        let base = Url::parse("http://h:8000/hls/live/index.m3u8?t=1").unwrap();
        assert_eq!(base.join("seg1.ts").unwrap().path, "/hls/live/seg1.ts");
        assert_eq!(base.join("/other.mp3").unwrap().path, "/other.mp3");
        assert_eq!(
            base.join("//cdn:81/a.aac").unwrap().to_string(),
            "http://cdn:81/a.aac"
        );
        assert_eq!(base.join("https://x/y").unwrap().to_string(), "https://x/y");
        assert!(base.join("rtmp://x/y").is_err());
        assert_eq!(base.extension().as_deref(), Some("m3u8"));
    }
}
