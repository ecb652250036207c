//! `[stream]`, the section the stream owns: the Icecast mount loaxa feeds as a source
//! client, its format, bitrate and what it carries between broadcasts.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Diagnostic;
use crate::lang::Lang;
use crate::tr;

/// `[stream]`: the Icecast mount loaxa feeds as a source client.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// The mount's address (`https` for TLS); credentials are kept apart.
    pub url: crate::net::Url,
    pub user: String,
    pub password: String,
    pub format: StreamFormat,
    pub bitrate_kbps: u32,
    pub idle: Idle,
    /// Where listeners hear the stream when that is not the mount's own address (an
    /// Icecast on this machine, relayed or published under another name).
    pub public_url: Option<crate::net::Url>,
}

impl StreamConfig {
    /// The address the province's console links to so anyone there can listen: `public_url`,
    /// or the mount's own address unless it is on this machine (a loopback address is no
    /// link for anyone else). None when neither will do.
    pub fn listen_url(&self) -> Option<String> {
        match &self.public_url {
            Some(u) => Some(u.to_string()),
            None if is_local(&self.url.host) => None,
            None => Some(self.url.to_string()),
        }
    }
}

/// Whether a host names this machine.
fn is_local(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    Mp3,
    Opus,
}

/// What the mount carries between broadcasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Silence, so receivers stay connected.
    Silence,
    /// Nothing: loaxa leaves the mount after each broadcast.
    Drop,
}

/// This part's view of the configuration file: its section, the rest ignored.
#[derive(Deserialize)]
struct File {
    #[serde(default)]
    stream: Option<Spanned<RawStream>>,
}

/// The section's settings, each problem located (a `config::Section` check and the
/// parser `Config::section` takes).
pub fn parse(path: &Path, text: &str, lang: Lang) -> Result<Option<StreamConfig>, Vec<Diagnostic>> {
    crate::config::parse_section(path, text, lang, |f: &File, problems| {
        f.stream
            .as_ref()
            .and_then(|s| stream_settings(s, path, text, lang, problems))
    })
}

/// The section's problems, for `config::load`.
pub fn check(path: &Path, text: &str, lang: Lang) -> Vec<Diagnostic> {
    parse(path, text, lang).err().unwrap_or_default()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStream {
    url: Spanned<String>,
    #[serde(default)]
    user: Option<Spanned<String>>,
    #[serde(default)]
    password: Option<Spanned<String>>,
    #[serde(default)]
    password_file: Option<Spanned<String>>,
    #[serde(default)]
    format: Option<Spanned<String>>,
    #[serde(default)]
    bitrate: Option<Spanned<i64>>,
    #[serde(default)]
    idle: Option<Spanned<String>>,
    #[serde(default)]
    public_url: Option<Spanned<String>>,
}

/// The `[stream]` section, each problem located. A `password_file` is read here (relative
/// to the configuration's folder), so a missing one is an error at its line.
fn stream_settings(
    raw: &Spanned<RawStream>,
    path: &Path,
    text: &str,
    lang: Lang,
    problems: &mut Vec<Diagnostic>,
) -> Option<StreamConfig> {
    let before = problems.len();
    let r = raw.get_ref();
    let mut err = |span: std::ops::Range<usize>, msg: String| {
        problems.push(Diagnostic::error(path, text, span, msg));
    };
    let url = match crate::net::Url::parse(r.url.get_ref()) {
        Ok(u) => Some(u),
        Err(why) => {
            err(
                r.url.span(),
                tr!(
                    lang,
                    "`url` là địa chỉ điểm phát (mount) trên máy chủ Icecast, ví dụ \"http://127.0.0.1:8000/xa.mp3\" ({why})",
                    "`url` is the mount's address on the Icecast server, e.g. \"http://127.0.0.1:8000/xa.mp3\" ({why})"
                ),
            );
            None
        }
    };
    let mut user = url
        .as_ref()
        .and_then(|u| u.userinfo.as_ref())
        .and_then(|i| i.split(':').next())
        .unwrap_or("source")
        .to_string();
    if let Some(u) = &r.user {
        user = u.get_ref().clone();
    }
    let inline = url
        .as_ref()
        .and_then(|u| u.userinfo.as_ref())
        .and_then(|i| i.split_once(':'))
        .map(|(_, p)| p.to_string());
    let format = match r.format.as_ref().map(|f| (f, f.get_ref().as_str())) {
        None | Some((_, "mp3")) => StreamFormat::Mp3,
        Some((_, "opus")) => StreamFormat::Opus,
        Some((f, _)) => {
            err(
                f.span(),
                lang.pick(
                    "`format` là \"mp3\" hoặc \"opus\"",
                    "`format` is \"mp3\" or \"opus\"",
                )
                .into(),
            );
            StreamFormat::Mp3
        }
    };
    let bitrate_kbps = match &r.bitrate {
        None => 64,
        Some(b) if (16..=320).contains(b.get_ref()) => *b.get_ref() as u32,
        Some(b) => {
            err(
                b.span(),
                lang.pick(
                    "`bitrate` (kbps) phải từ 16 đến 320",
                    "`bitrate` (kbps) must be from 16 to 320",
                )
                .into(),
            );
            64
        }
    };
    let idle = match r.idle.as_ref().map(|i| (i, i.get_ref().as_str())) {
        None | Some((_, "silence")) => Idle::Silence,
        Some((_, "drop")) => Idle::Drop,
        Some((i, _)) => {
            err(
                i.span(),
                lang.pick(
                    "`idle` là \"silence\" (giữa các phiên phát khoảng lặng) hoặc \"drop\" (rời điểm phát)",
                    "`idle` is \"silence\" (silence between broadcasts) or \"drop\" (leave the mount)",
                )
                .into(),
            );
            Idle::Silence
        }
    };
    let public_url = r.public_url.as_ref().and_then(|p| {
        match crate::net::Url::parse(p.get_ref()) {
            // Shown to the province as a link: it may not carry a password.
            Ok(u) if u.userinfo.is_some() => {
                err(
                    p.span(),
                    lang.pick(
                        "`public_url` là địa chỉ người nghe dùng; không ghi tên đăng nhập hay mật khẩu vào đó",
                        "`public_url` is the address listeners use; it carries no user name or password",
                    )
                    .into(),
                );
                None
            }
            Ok(u) => Some(u),
            Err(why) => {
                err(
                    p.span(),
                    tr!(
                        lang,
                        "`public_url` là địa chỉ người nghe dùng, ví dụ \"https://dai.tinh.gov.vn/xa.mp3\" ({why})",
                        "`public_url` is the address listeners use, e.g. \"https://dai.tinh.gov.vn/xa.mp3\" ({why})"
                    ),
                );
                None
            }
        }
    });
    let password = crate::config::secret(
        "[stream]",
        false,
        (r.password.as_ref(), r.password_file.as_ref()),
        inline,
        raw.span().start,
        (path, text, lang),
        problems,
    );
    if problems.len() > before {
        return None;
    }
    let mut url = url?;
    url.userinfo = None;
    Some(StreamConfig {
        url,
        user,
        password: password?,
        format,
        bitrate_kbps,
        idle,
        public_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> Result<Option<StreamConfig>, Vec<Diagnostic>> {
        parse(Path::new("/st/config/loaxa.toml"), text, Lang::En)
    }

    #[test]
    fn the_province_links_to_the_public_address_or_to_a_mount_not_on_this_machine() {
        let with = |extra: &str, url: &str| {
            section(&format!(
                "[stream]\nurl = \"{url}\"\npassword = \"p\"\n{extra}"
            ))
            .unwrap()
            .unwrap()
            .listen_url()
        };
        assert_eq!(with("", "http://127.0.0.1:8000/xa.mp3"), None);
        assert_eq!(with("", "http://localhost:8000/xa.mp3"), None);
        assert_eq!(with("", "http://[::1]:8000/xa.mp3"), None);
        // The mount's own address, without the source's password.
        assert_eq!(
            with("", "https://source:hackme@dai.tinh.gov.vn/xa-1.mp3").as_deref(),
            Some("https://dai.tinh.gov.vn/xa-1.mp3")
        );
        assert_eq!(
            with(
                "public_url = \"https://nghe.tinh.gov.vn/xa-1.mp3\"\n",
                "http://127.0.0.1:8000/xa.mp3"
            )
            .as_deref(),
            Some("https://nghe.tinh.gov.vn/xa-1.mp3")
        );
    }

    #[test]
    fn a_public_address_with_a_password_or_not_on_the_web_is_refused_where_it_is_written() {
        for (value, says) in [
            (
                "https://u:p@nghe.tinh.gov.vn/xa.mp3",
                "carries no user name",
            ),
            ("javascript:alert(1)", "the address listeners use"),
            ("rtsp://cam/xa", "the address listeners use"),
        ] {
            let text =
                format!("[stream]\nurl = \"http://127.0.0.1:8000/xa.mp3\"\npassword = \"p\"\npublic_url = \"{value}\"\n");
            let problems = section(&text).unwrap_err();
            assert_eq!(problems.len(), 1, "{value}: {problems:?}");
            let p = &problems[0];
            assert_eq!((p.line, p.col), (4, 14), "{value}");
            assert!(p.message.contains(says), "{value}: {}", p.message);
            assert!(p.source_line.starts_with("public_url = "));
        }
    }
}
