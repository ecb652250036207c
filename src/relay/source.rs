//! What a relay slot names as its source, checked when the schedule is read: an HTTP(S)
//! stream or playlist (Icecast, Shoutcast, HLS), or `alsa:DEVICE`, a line-in capture. The
//! address itself is `net::Url`.

use std::fmt;

use crate::lang::Lang;
pub use crate::net::Url;
use crate::tr;

/// A relay's source, as the schedule names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Http(Url),
    /// An ALSA capture device (`alsa:default`, `alsa:hw:1,0`, `alsa:linein`).
    Alsa(String),
    /// A voice sent live from a browser (the console's Record page), which the console
    /// passes on as Ogg Opus on a loopback port opened for that one broadcast. Never named
    /// by a schedule: the daemon makes it from the console's request. Relayed close behind,
    /// and never reconnected: when the browser goes, the live occurrence ends.
    Browser(Url),
}

impl Source {
    /// Parses a schedule's `relay = "…"`; the error is the operator's message.
    pub fn parse(text: &str, lang: Lang) -> Result<Source, String> {
        let text = text.trim();
        if let Some(device) = text.strip_prefix("alsa:") {
            if device.is_empty() || device.chars().any(char::is_whitespace) {
                return Err(tr!(
                    lang,
                    "thiết bị thu «{text}» không hợp lệ: viết `alsa:TÊN`, ví dụ `alsa:default` hoặc `alsa:hw:1,0`",
                    "capture device “{text}” is not valid: write `alsa:NAME`, e.g. `alsa:default` or `alsa:hw:1,0`"
                ));
            }
            return Ok(Source::Alsa(device.to_string()));
        }
        Url::parse(text).map(Source::Http).map_err(|why| {
            tr!(
                lang,
                "nguồn tiếp sóng «{text}» không hợp lệ ({why}): cần một địa chỉ http:// hoặc https:// (luồng Icecast, danh sách .m3u/.pls/.m3u8) hoặc `alsa:THIẾT_BỊ`",
                "relay source “{text}” is not valid ({why}): it needs an http:// or https:// address (an Icecast stream, an .m3u/.pls/.m3u8 playlist) or `alsa:DEVICE`"
            )
        })
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Http(u) => write!(f, "{u}"),
            Source::Alsa(d) => write!(f, "alsa:{d}"),
            // The port and its one-time path are the console's business, not the journal's.
            Source::Browser(_) => write!(f, "browser:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_http_addresses_or_capture_devices() {
        assert_eq!(
            Source::parse("alsa:hw:1,0", Lang::En),
            Ok(Source::Alsa("hw:1,0".into()))
        );
        assert!(matches!(
            Source::parse("http://a/b", Lang::En),
            Ok(Source::Http(_))
        ));
        let e = Source::parse("alsa:", Lang::En).unwrap_err();
        assert!(e.contains("alsa:NAME"), "{e}");
        let e = Source::parse("vov1.mp3", Lang::Vi).unwrap_err();
        assert!(e.contains("nguồn tiếp sóng"), "{e}");
    }
}
