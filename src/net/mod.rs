//! The project's network plumbing, shared by every part that talks over a network (relays,
//! the stream, the province's client, the console): a small HTTP(S) client, the system's TLS
//! roots, the `Url` type and its percent-encoding, base64 and random tokens. It knows
//! nothing of what is carried.

pub mod http;
mod url;

use std::time::Duration;

use crate::lang::Lang;
use crate::tr;
pub use url::{percent_decode, percent_encode, Url};

/// How long a read may wait before the peer counts as stalled.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Why reaching a server over HTTP(S) failed, named for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("cannot resolve {host}: {detail}")]
    Resolve { host: String, detail: String },
    #[error("cannot connect to {at}: {detail}")]
    Connect { at: String, detail: String },
    #[error("TLS with {at} failed: {detail}")]
    Tls { at: String, detail: String },
    #[error("{at} answered HTTP {code}")]
    Status { at: String, code: u16 },
    #[error("{at} redirects more than {} times", http::MAX_REDIRECTS)]
    TooManyRedirects { at: String },
    #[error("{at}: {detail}")]
    Protocol { at: String, detail: String },
    #[error("{at} stopped sending for {} s", TIMEOUT.as_secs())]
    Stalled { at: String },
}

impl NetError {
    /// The operator's sentence for it.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            NetError::Resolve { host, detail } => tr!(
                lang,
                "không tìm thấy máy chủ {host} ({detail})",
                "cannot resolve {host} ({detail})"
            ),
            NetError::Connect { at, detail } => tr!(
                lang,
                "không kết nối được tới {at} ({detail})",
                "cannot connect to {at} ({detail})"
            ),
            NetError::Tls { at, detail } => tr!(
                lang,
                "kết nối bảo mật (TLS) tới {at} thất bại ({detail})",
                "the TLS connection to {at} failed ({detail})"
            ),
            NetError::Status { at, code } => tr!(
                lang,
                "{at} trả lời mã HTTP {code}",
                "{at} answered HTTP {code}"
            ),
            NetError::TooManyRedirects { at } => tr!(
                lang,
                "{at} chuyển hướng quá {} lần",
                "{at} redirects more than {} times",
                http::MAX_REDIRECTS
            ),
            NetError::Protocol { at, detail } => tr!(
                lang,
                "{at}: trả lời không đúng giao thức ({detail})",
                "{at}: answered out of protocol ({detail})"
            ),
            NetError::Stalled { at } => tr!(
                lang,
                "{at} ngừng gửi dữ liệu quá {} giây",
                "{at} stopped sending for {} s",
                TIMEOUT.as_secs()
            ),
        }
    }
}

/// Standard base64 with padding (HTTP Basic credentials).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A random token (64 hex digits) from the kernel's generator: session ids, CSRF tokens,
/// passwords the province hands out.
pub fn token() -> String {
    use std::io::Read;
    let mut b = [0u8; 32];
    // The kernel's generator does not fail once the system is up; if it ever did, a
    // predictable token would be worse than stopping.
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("the kernel's random generator (/dev/urandom) is readable");
    crate::hex::hex(&b)
}
