//! The little HTTP client relays and the stream need: one GET, redirects followed (a few, never in a
//! loop), TLS by rustls trusting the system's certificate store (Debian's ca-certificates,
//! where a province's own authority can be added; `SSL_CERT_FILE` is honoured), chunked
//! bodies, and a read
//! timeout on every read. That timeout is why it is ours and not a general client's: a
//! source that stalls without closing must be noticed in seconds, mid-body, and the
//! connection dropped, which per-request deadlines of the usual clients do not do.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use super::{base64, NetError, Url};

/// How many redirects are followed before the source counts as broken.
pub const MAX_REDIRECTS: usize = 5;

/// A response whose status was 200, its body ready to read.
pub struct Response {
    /// Where the body came from, after redirects.
    pub url: Url,
    pub content_type: Option<String>,
    pub body: Box<dyn Read + Send + Sync>,
}

pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

pub(crate) fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            // Unreadable entries are skipped; with none at all, TLS fails naming the issuer.
            let loaded = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(loaded.certs);
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth());
            Arc::new(config.unwrap_or_else(|_| {
                // Only reachable if ring offered no protocol version, which it always does.
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            }))
        })
        .clone()
}

/// Connects to `url`'s host, with TLS if it says https.
pub(crate) fn connect(url: &Url, timeout: Duration) -> Result<Stream, NetError> {
    let host = url.host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = (host, url.port)
        .to_socket_addrs()
        .map_err(|e| NetError::Resolve {
            host: url.host.clone(),
            detail: e.to_string(),
        })?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(timeout))
                    .and_then(|()| tcp.set_write_timeout(Some(timeout)))
                    .and_then(|()| tcp.set_nodelay(true))
                    .map_err(|e| NetError::Connect {
                        at: url.authority(),
                        detail: e.to_string(),
                    })?;
                if !url.tls {
                    return Ok(Stream::Plain(tcp));
                }
                let name =
                    rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| {
                        NetError::Tls {
                            at: url.authority(),
                            detail: e.to_string(),
                        }
                    })?;
                let conn = rustls::ClientConnection::new(tls_config(), name).map_err(|e| {
                    NetError::Tls {
                        at: url.authority(),
                        detail: e.to_string(),
                    }
                })?;
                return Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(NetError::Connect {
        at: url.authority(),
        detail: last.map_or_else(|| "no address".into(), |e| e.to_string()),
    })
}

/// GETs `url`, following redirects; only a 200 is a success.
pub fn get(url: &Url, timeout: Duration) -> Result<Response, NetError> {
    let mut url = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let mut stream = connect(&url, timeout)?;
        let mut request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: loaxa/{}\r\nAccept: */*\r\nConnection: close\r\n",
            url.path,
            if url.port == if url.tls { 443 } else { 80 } {
                url.host.clone()
            } else {
                url.authority()
            },
            env!("CARGO_PKG_VERSION"),
        );
        if let Some(user) = &url.userinfo {
            request.push_str(&format!(
                "Authorization: Basic {}\r\n",
                base64(user.as_bytes())
            ));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| io_error(&url, &e))?;
        let mut reader = BufReader::with_capacity(16 * 1024, stream);
        let head = read_head(&mut reader).map_err(|e| io_error(&url, &e))?;
        match head.status {
            200 => {
                let body: Box<dyn Read + Send + Sync> = if head.chunked {
                    Box::new(Chunked {
                        inner: reader,
                        left: 0,
                        done: false,
                    })
                } else if let Some(n) = head.length {
                    Box::new(reader.take(n))
                } else {
                    Box::new(reader)
                };
                // loaxa never asks for stream metadata, but a server may send it unasked:
                // its bytes taken for audio would air as clicks.
                let body: Box<dyn Read + Send + Sync> = match head.metaint {
                    Some(every) => Box::new(IcyStripped {
                        inner: body,
                        every,
                        left: every,
                    }),
                    None => body,
                };
                return Ok(Response {
                    url,
                    content_type: head.content_type,
                    body,
                });
            }
            301 | 302 | 303 | 307 | 308 => {
                let to = head.location.ok_or_else(|| NetError::Protocol {
                    at: url.to_string(),
                    detail: format!("HTTP {} without a Location", head.status),
                })?;
                url = url.join(&to).map_err(|detail| NetError::Protocol {
                    at: url.to_string(),
                    detail,
                })?;
            }
            code => {
                return Err(NetError::Status {
                    at: url.to_string(),
                    code,
                })
            }
        }
    }
    Err(NetError::TooManyRedirects {
        at: url.to_string(),
    })
}

/// A stalled read (the timeout) is told apart from other failures.
pub fn io_error(url: &Url, e: &io::Error) -> NetError {
    // rustls shakes hands on the first read or write: its refusal comes back as an io error.
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return NetError::Tls {
            at: url.authority(),
            detail: tls.to_string(),
        };
    }
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => NetError::Stalled {
            at: url.to_string(),
        },
        _ => NetError::Connect {
            at: url.authority(),
            detail: e.to_string(),
        },
    }
}

struct Head {
    status: u16,
    content_type: Option<String>,
    location: Option<String>,
    length: Option<u64>,
    chunked: bool,
    /// Shoutcast/Icecast metadata every this many audio bytes (`icy-metaint`).
    metaint: Option<usize>,
}

/// Reads the status line and headers (at most 64 KB of them). Shoutcast's `ICY 200 OK`
/// counts as HTTP.
fn read_head(r: &mut impl BufRead) -> io::Result<Head> {
    let mut head = Head {
        status: 0,
        content_type: None,
        location: None,
        length: None,
        chunked: false,
        metaint: None,
    };
    let mut total = 0;
    let mut first = true;
    loop {
        let mut line = Vec::new();
        let n = r.by_ref().take(8192).read_until(b'\n', &mut line)?;
        total += n;
        if n == 0 || total > 64 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the server's answer is not HTTP",
            ));
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end();
        if first {
            first = false;
            let mut parts = line.split_whitespace();
            let proto = parts.next().unwrap_or_default();
            if !(proto.starts_with("HTTP/") || proto == "ICY") {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the server's answer is not HTTP",
                ));
            }
            head.status = parts
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no HTTP status"))?;
            continue;
        }
        if line.is_empty() {
            return Ok(head);
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => head.content_type = Some(value.to_ascii_lowercase()),
            "location" => head.location = Some(value.to_string()),
            "content-length" => head.length = value.parse().ok(),
            "transfer-encoding" => head.chunked = value.eq_ignore_ascii_case("chunked"),
            "icy-metaint" => head.metaint = value.parse().ok().filter(|n| *n > 0),
            _ => {}
        }
    }
}

/// A body with Shoutcast/Icecast metadata interleaved (`icy-metaint: N`: N audio bytes, one
/// length byte L, L × 16 bytes of metadata, and again) as the audio alone.
struct IcyStripped<R> {
    inner: R,
    every: usize,
    /// Audio bytes before the next metadata block.
    left: usize,
}

impl<R: Read> Read for IcyStripped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut len = [0u8; 1];
            if self.inner.read(&mut len)? == 0 {
                return Ok(0);
            }
            let skip = u64::from(len[0]) * 16;
            let skipped = io::copy(&mut self.inner.by_ref().take(skip), &mut io::sink())?;
            if skipped < skip {
                return Ok(0);
            }
            self.left = self.every;
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n;
        Ok(n)
    }
}

/// A chunked body as a plain one.
struct Chunked<R> {
    inner: R,
    left: u64,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            self.inner.by_ref().take(1024).read_line(&mut line)?;
            if line.trim().is_empty() {
                // The CRLF after the previous chunk.
                line.clear();
                self.inner.by_ref().take(1024).read_line(&mut line)?;
            }
            let size = line.trim().split(';').next().unwrap_or_default();
            self.left = u64::from_str_radix(size, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the body ended mid-chunk",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a server that sent ICY metadata unasked had its metadata bytes decoded as
    /// audio (20 clicks a minute, journaled `completed`).
    #[test]
    fn icy_metadata_a_server_sends_is_taken_out_of_the_audio() {
        let audio: Vec<u8> = (0..100u8).collect();
        let mut wire = Vec::new();
        for (i, part) in audio.chunks(16).enumerate() {
            wire.extend_from_slice(part);
            if part.len() == 16 {
                // Alternately an empty block and one of two 16-byte units.
                let units = (i % 2) as u8 * 2;
                wire.push(units);
                wire.extend(std::iter::repeat_n(b'M', usize::from(units) * 16));
            }
        }
        let mut out = Vec::new();
        let mut r = IcyStripped {
            inner: &wire[..],
            every: 16,
            left: 16,
        };
        // Read in odd sizes, across the blocks.
        let mut buf = [0u8; 7];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, audio);
        let text = b"HTTP/1.0 200 OK\r\nicy-metaint: 8192\r\n\r\n";
        assert_eq!(
            read_head(&mut BufReader::new(&text[..])).unwrap().metaint,
            Some(8192)
        );
    }

    #[test]
    fn heads_are_read_from_http_and_shoutcast_servers() {
        let text = b"ICY 200 OK\r\ncontent-type: audio/mpeg\r\nicy-name: x\r\n\r\nDATA";
        let mut r = BufReader::new(&text[..]);
        let h = read_head(&mut r).unwrap();
        assert_eq!(
            (h.status, h.content_type.as_deref()),
            (200, Some("audio/mpeg"))
        );
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "DATA");
        let mut garbage = BufReader::new(&b"\x00\xffRIFF garbage\r\n\r\n"[..]);
        assert!(read_head(&mut garbage).is_err());
    }

    #[test]
    fn chunked_bodies_read_as_plain_ones() {
        let text = b"4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n";
        let mut body = Chunked {
            inner: BufReader::new(&text[..]),
            left: 0,
            done: false,
        };
        let mut out = String::new();
        body.read_to_string(&mut out).unwrap();
        assert_eq!(out, "abcdefg");
    }

    #[test]
    fn base64_pads_like_the_rfc() {
        assert_eq!(base64(b"source:hackme"), "c291cmNlOmhhY2ttZQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }
}
