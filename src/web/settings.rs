//! `[web]`, the section the console owns: where it listens, whether over HTTPS, and its
//! accounts.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diagnostic::Diagnostic;
use crate::lang::Lang;

/// The console's listener and accounts (`[web]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Web {
    pub listen: std::net::SocketAddr,
    /// By name, sorted.
    pub users: Vec<WebUser>,
    /// HTTPS: the certificate chain and private key files (PEM), both or neither. Browsers
    /// open the microphone (the Record page) only on a secure origin: loopback, or HTTPS.
    pub tls: Option<Tls>,
}

/// The files of the console's HTTPS (`tls_cert`, `tls_key`), resolved beside the
/// configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

impl Default for Web {
    fn default() -> Self {
        Web {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            users: Vec::new(),
            tls: None,
        }
    }
}

/// One console account: its role and its password's argon2id hash (never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUser {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// What a console account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything the console offers.
    Operator,
    /// Reads every page, changes nothing (the commune chairman, say).
    Viewer,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }
}

/// This part's view of the configuration file: its section, the rest ignored.
#[derive(Deserialize)]
struct File {
    #[serde(default)]
    web: Option<RawWeb>,
}

/// The section's settings, each problem located (a `config::Section` check and the
/// parser `Config::section` takes).
pub fn parse(path: &Path, text: &str, lang: Lang) -> Result<Web, Vec<Diagnostic>> {
    crate::config::parse_section(path, text, lang, |f: &File, problems| {
        web_settings(f.web.as_ref(), path, text, lang, problems)
    })
}

/// The `[web]` that `file` rewritten as `text` would give, read as loaxa will read it: an
/// edit (`loaxa web passwd`, `loaxa web cert`) replaces the file only if it reads.
pub(super) fn as_edited(file: &Path, text: &str) -> Result<Web, String> {
    crate::config::parse(
        file,
        text,
        &crate::config::Overrides::default(),
        &Default::default(),
        &[check],
    )
    .and_then(|c| c.section(parse))
    .map_err(|e| format!("{}: {e}", file.display()))
}

/// The section's problems, for `config::load`.
pub fn check(path: &Path, text: &str, lang: Lang) -> Vec<Diagnostic> {
    parse(path, text, lang).err().unwrap_or_default()
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    listen: Option<Spanned<String>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    #[serde(default)]
    users: BTreeMap<String, Spanned<RawWebUser>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebUser {
    role: Spanned<String>,
    password: Spanned<String>,
}

/// The `[web]` section, each problem located.
fn web_settings(
    raw: Option<&RawWeb>,
    path: &Path,
    text: &str,
    lang: Lang,
    problems: &mut Vec<Diagnostic>,
) -> Web {
    let mut web = Web::default();
    let Some(raw) = raw else {
        return web;
    };
    if let Some(l) = &raw.listen {
        match l.get_ref().parse::<std::net::SocketAddr>() {
            Ok(a) => web.listen = a,
            Err(_) => problems.push(Diagnostic::error(
                path,
                text,
                l.span(),
                lang.pick(
                    "`listen` là một địa chỉ IP và cổng, ví dụ \"127.0.0.1:8080\"",
                    "`listen` is an IP address and port, for example \"127.0.0.1:8080\"",
                ),
            )),
        }
    }
    web.tls = tls(raw, path, text, lang, problems);
    for (name, u) in &raw.users {
        let u = u.get_ref();
        let role = match u.role.get_ref().as_str() {
            "operator" => Role::Operator,
            "viewer" => Role::Viewer,
            _ => {
                problems.push(Diagnostic::error(
                    path,
                    text,
                    u.role.span(),
                    lang.pick(
                        "`role` là \"operator\" (người vận hành) hoặc \"viewer\" (chỉ xem)",
                        "`role` is \"operator\" or \"viewer\" (read-only)",
                    ),
                ));
                continue;
            }
        };
        if !u.password.get_ref().starts_with("$argon2id$") {
            problems.push(Diagnostic::error(
                path,
                text,
                u.password.span(),
                lang.pick(
                    "`password` là mã băm argon2id do `loaxa web passwd` ghi, không phải mật khẩu",
                    "`password` is the argon2id hash `loaxa web passwd` writes, not a password",
                ),
            ));
            continue;
        }
        web.users.push(WebUser {
            name: name.clone(),
            role,
            password_hash: u.password.get_ref().clone(),
        });
    }
    web
}

/// `tls_cert` and `tls_key`: both or neither, each a file that is there (relative to the
/// configuration file's folder, where `loaxa web cert` writes them).
fn tls(
    raw: &RawWeb,
    path: &Path,
    text: &str,
    lang: Lang,
    problems: &mut Vec<Diagnostic>,
) -> Option<Tls> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let (cert, key) = match (&raw.tls_cert, &raw.tls_key) {
        (None, None) => return None,
        (Some(cert), Some(key)) => (cert, key),
        (Some(one), None) | (None, Some(one)) => {
            problems.push(Diagnostic::error(
                path,
                text,
                one.span(),
                lang.pick(
                    "HTTPS cần cả `tls_cert` lẫn `tls_key` (`loaxa web cert` tạo một cặp)",
                    "HTTPS needs both `tls_cert` and `tls_key` (`loaxa web cert` makes a pair)",
                ),
            ));
            return None;
        }
    };
    let mut found = |s: &Spanned<String>| {
        let file = dir.join(s.get_ref());
        if file.is_file() {
            return Some(file);
        }
        problems.push(Diagnostic::error(
            path,
            text,
            s.span(),
            crate::tr!(
                lang,
                "không có tệp {}: chạy `loaxa web cert` để tạo chứng chỉ",
                "no file {}: run `loaxa web cert` to make a certificate",
                file.display()
            ),
        ));
        None
    };
    let (cert, key) = (found(cert), found(key));
    Some(Tls {
        cert: cert?,
        key: key?,
    })
}
