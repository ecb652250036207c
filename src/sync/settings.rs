//! `[sync]`, the section `loaxa sync` owns: where the province's database is, and this
//! station's id and login there. The daemon never reads it.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Diagnostic;
use crate::lang::Lang;

/// `[sync]`: the central database and this station's id and login there.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncConfig {
    pub target: crate::central::Target,
    pub station: String,
}

/// This part's view of the configuration file: its section, the rest ignored.
#[derive(Deserialize)]
struct File {
    #[serde(default)]
    sync: Option<Spanned<RawSync>>,
}

/// The section's settings, each problem located (a `config::Section` check and the
/// parser `Config::section` takes).
pub fn parse(path: &Path, text: &str, lang: Lang) -> Result<Option<SyncConfig>, Vec<Diagnostic>> {
    crate::config::parse_section(path, text, lang, |f: &File, problems| {
        f.sync
            .as_ref()
            .and_then(|s| sync_settings(s, path, text, lang, problems))
    })
}

/// Whether the configuration has a `[sync]` section (checked when it was loaded).
pub fn configured(config: &crate::config::Config) -> bool {
    config.raw_section("sync").is_some()
}

/// The section's problems, for `config::load`.
pub fn check(path: &Path, text: &str, lang: Lang) -> Vec<Diagnostic> {
    parse(path, text, lang).err().unwrap_or_default()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSync {
    url: Spanned<String>,
    station: Spanned<String>,
    #[serde(default)]
    user: Option<Spanned<String>>,
    #[serde(default)]
    password: Option<Spanned<String>>,
    #[serde(default)]
    password_file: Option<Spanned<String>>,
}

/// The `[sync]` section: where the province's database is and who this station is there.
fn sync_settings(
    raw: &Spanned<RawSync>,
    path: &Path,
    text: &str,
    lang: Lang,
    problems: &mut Vec<Diagnostic>,
) -> Option<SyncConfig> {
    let before = problems.len();
    let r = raw.get_ref();
    let target = match crate::central::Target::parse(r.url.get_ref(), lang) {
        Ok(t) => Some(t),
        Err(why) => {
            problems.push(Diagnostic::error(path, text, r.url.span(), why));
            None
        }
    };
    if !crate::central::valid_station_id(r.station.get_ref()) {
        problems.push(Diagnostic::error(
            path,
            text,
            r.station.span(),
            lang.pick(
                "`station` là mã của đài do tỉnh cấp: chữ thường, số và dấu gạch ngang, tối đa 40 ký tự",
                "`station` is the id the province gave this station: lower-case letters, digits and hyphens, at most 40",
            )
            .to_string(),
        ));
    }
    let inline = target
        .as_ref()
        .and_then(|t| t.config.get_password())
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let password = crate::config::secret(
        "[sync]",
        true,
        (r.password.as_ref(), r.password_file.as_ref()),
        inline,
        raw.span().start,
        (path, text, lang),
        problems,
    );
    if problems.len() > before {
        return None;
    }
    let mut target = target?;
    let user = match &r.user {
        Some(u) => u.get_ref().clone(),
        None if !target.user.is_empty() => target.user.clone(),
        None => crate::central::login_for(r.station.get_ref()),
    };
    target.config.user(&user);
    target.user = user;
    target.config.password(password?);
    Some(SyncConfig {
        target,
        station: r.station.get_ref().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/srv/xa/config/loaxa.toml")
    }

    #[test]
    fn sync_needs_tls_to_a_remote_centre_and_each_mistake_is_located() {
        let text = "language = \"en\"\n[sync]\nurl = \"postgresql://tinh.example.vn/loaxa?sslmode=disable\"\nstation = \"Xã A\"\n";
        let Err(d) = parse(p(), text, Lang::En) else {
            panic!("expected errors")
        };
        let at: Vec<(usize, &str)> = d.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(at.len(), 3, "{at:?}");
        assert!(at[0].0 == 3 && at[0].1.contains("over TLS"), "{at:?}");
        assert!(at[1].0 == 4 && at[1].1.contains("lower-case"), "{at:?}");
        assert!(at[2].0 == 2 && at[2].1.contains("password_file"), "{at:?}");
    }

    #[test]
    fn sync_to_a_remote_centre_requires_tls_and_a_local_one_may_go_without() {
        let parsed = |url: &str| {
            let text = format!("[sync]\nurl = \"{url}\"\nstation = \"xa-a\"\npassword = \"p\"\n");
            parse(p(), &text, Lang::Vi).unwrap().unwrap()
        };
        let remote = parsed("postgresql://tinh.example.vn/loaxa");
        assert_eq!(
            remote.target.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        // The login defaults to the one `central add-station` creates; the address is shown
        // without the password.
        assert_eq!(remote.target.user, "loaxa_st_xa_a");
        assert_eq!(remote.target.display, "tinh.example.vn:5432/loaxa");
        let local = parsed("postgresql://127.0.0.1:5433/loaxa");
        assert_eq!(
            local.target.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
        let socket = parsed("host=/run/postgresql dbname=loaxa");
        assert_eq!(
            socket.target.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
        // Unless the address asks for it.
        let asked = parsed("postgresql://localhost/loaxa?sslmode=require");
        assert_eq!(
            asked.target.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
    }
}
