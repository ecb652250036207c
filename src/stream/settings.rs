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
    })
}
