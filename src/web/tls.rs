//! HTTPS for the console, so that a browser elsewhere in the commune office may open its
//! microphone (the Record page): browsers allow it only on a secure origin, and a console on
//! the office network is not loopback. `[web] tls_cert` and `tls_key` name a PEM chain and
//! key, loaded into rustls here; `loaxa web cert` makes a self-signed pair for the names the
//! office reaches the console by (with `openssl`, which every Debian system that trusts
//! certificates has: ca-certificates depends on it), puts it in `[web]`, and says how to
//! trust it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::lang::Lang;
use crate::tr;

/// Where `loaxa web cert` writes, beside the configuration file.
const FOLDER: &str = "tls";
/// How long a certificate `loaxa web cert` makes is valid: the longest that every browser
/// accepts of a certificate trusted by hand.
const DAYS: u32 = 825;

/// The server side of the console's TLS, from `[web]`'s files.
pub fn acceptor(
    tls: &super::settings::Tls,
    lang: Lang,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    let said = |file: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", file.display());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert)
        .and_then(Iterator::collect)
        .map_err(|e| said(&tls.cert, &e))?;
    if certs.is_empty() {
        return Err(said(
            &tls.cert,
            &lang.pick("không có chứng chỉ nào", "no certificate in it"),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| said(&tls.key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            tr!(
                lang,
                "{} và {} không thành một cặp dùng được: {e}",
                "{} and {} do not make a usable pair: {e}",
                tls.cert.display(),
                tls.key.display()
            )
        })?;
    // The console speaks HTTP/1.1 only (its WebSocket too).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// What `loaxa web cert` made.
pub struct Made {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub names: Vec<String>,
    /// The certificate's SHA-256 fingerprint, as browsers show it (`AB:CD:…`).
    pub fingerprint: String,
    /// Whether `[web]` was set to use them (else it already names other files).
    pub configured: bool,
}

/// `loaxa web cert`: a self-signed certificate and its key for `names` (and this machine's
/// own names and addresses), into `tls/` beside `config_file`, and `[web]` set to use them.
/// An existing pair is kept unless `force`: browsers that trust it would stop.
pub fn make(config_file: &Path, names: &[String], force: bool, lang: Lang) -> Result<Made, String> {
    let dir = config_file.parent().unwrap_or(Path::new(".")).join(FOLDER);
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !force && (cert.exists() || key.exists()) {
        return Err(tr!(
            lang,
            "{} đã có: các máy đã tin chứng chỉ này sẽ phải tin lại chứng chỉ mới; thêm --force nếu muốn thay",
            "{} exists: the PCs that trust it would have to trust the new one; add --force to replace it",
            cert.display()
        ));
    }
    if let Some(bad) = names.iter().find(|n| !is_host_name(n)) {
        return Err(tr!(
            lang,
            "«{bad}» không phải tên máy hay địa chỉ IP",
            "“{bad}” is not a host name or an IP address"
        ));
    }
    // The folder is private to the console's account (openssl writes the key in it before
    // loaxa gives it its mode).
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(&dir)
            .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        give_to_loaxa_group(&dir);
    }
    let names = all_names(names);
    let alt = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(_) => format!("IP:{n}"),
            Err(_) => format!("DNS:{n}"),
        })
        .collect::<Vec<_>>()
        .join(",");
    let (new_cert, new_key) = (
        dir.join(format!(".cert-{}.pem", std::process::id())),
        dir.join(format!(".key-{}.pem", std::process::id())),
    );
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-sha256", "-days", &DAYS.to_string()])
        // The names are in the subject's alternative names, where browsers look.
        .args(["-subj", "/O=loaxa/CN=loaxa"])
        .args(["-addext", &format!("subjectAltName={alt}")])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&new_key)
        .arg("-out")
        .arg(&new_cert)
        .output();
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let result = match made {
        Err(e) => Err(tr!(
            lang,
            "không chạy được openssl ({e}): cài bằng `sudo apt install openssl`",
            "cannot run openssl ({e}): install it with `sudo apt install openssl`"
        )),
        Ok(out) if !out.status.success() => Err(format!(
            "openssl: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => read(&new_cert).and_then(|c| Ok((c, read(&new_key)?))),
    };
    let _ = std::fs::remove_file(&new_cert);
    let _ = std::fs::remove_file(&new_key);
    let (cert_pem, key_pem) = result?;
    // The key is read by the console's own account (group loaxa when installed), nobody else.
    crate::files::replace_with_mode(&key, &key_pem, 0o640)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    give_to_loaxa_group(&key);
    crate::files::replace_with_mode(&cert, &cert_pem, 0o644)
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let fingerprint = CertificateDer::from_pem_slice(&cert_pem)
        .map(|der| {
            use sha2::Digest as _;
            let hex = crate::hex::hex(&sha2::Sha256::digest(der.as_ref())).to_uppercase();
            hex.as_bytes()
                .chunks(2)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect::<Vec<_>>()
                .join(":")
        })
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let configured = configure(config_file, lang)?;
    Ok(Made {
        cert,
        key,
        names,
        fingerprint,
        configured,
    })
}

/// A name a certificate may be made for: an IP address, or a host name of letters, digits,
/// hyphens and dots (nothing that openssl's subject or extension syntax would read as more).
fn is_host_name(name: &str) -> bool {
    name.parse::<std::net::IpAddr>().is_ok()
        || (!name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }))
}

/// The names a certificate is made for: those asked, then this machine's host name,
/// `localhost` and its addresses, each once.
fn all_names(asked: &[String]) -> Vec<String> {
    let mut names: Vec<String> = asked.iter().map(|n| n.trim().to_string()).collect();
    names.extend(host_name().filter(|n| is_host_name(n)));
    names.push("localhost".into());
    names.extend(addresses().into_iter().map(|a| a.to_string()));
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| !n.is_empty() && seen.insert(n.clone()));
    names
}

fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    ok.then(|| String::from_utf8_lossy(&buf[..end]).into_owned())
        .filter(|n| !n.is_empty())
}

/// The machine's IP addresses, loopback first.
fn addresses() -> Vec<std::net::IpAddr> {
    let mut out = vec![
        std::net::IpAddr::from([127, 0, 0, 1]),
        std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    ];
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list`, walked read-only and freed once below.
    unsafe {
        if libc::getifaddrs(&raw mut list) != 0 {
            return out;
        }
        let mut at = list;
        while !at.is_null() {
            let a = (*at).ifa_addr;
            if !a.is_null() {
                match i32::from((*a).sa_family) {
                    libc::AF_INET => {
                        let v4 = &*a.cast::<libc::sockaddr_in>();
                        out.push(std::net::Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)).into());
                    }
                    libc::AF_INET6 => {
                        let v6 = &*a.cast::<libc::sockaddr_in6>();
                        let ip = std::net::Ipv6Addr::from(v6.sin6_addr.s6_addr);
                        // Link-local addresses need a zone a URL cannot carry.
                        if ip.segments()[0] & 0xffc0 != 0xfe80 {
                            out.push(ip.into());
                        }
                    }
                    _ => {}
                }
            }
            at = (*at).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out
}

/// Gives `file` (or a folder) to group `loaxa` when that group exists and this process may (root, at an
/// installed station): the console's service runs under it.
fn give_to_loaxa_group(file: &Path) {
    use std::os::unix::ffi::OsStrExt as _;
    // SAFETY: getgrnam reads a NUL-terminated name; its result is read at once.
    let gid = unsafe {
        let g = libc::getgrnam(c"loaxa".as_ptr());
        (!g.is_null()).then(|| (*g).gr_gid)
    };
    let Some(gid) = gid else {
        return;
    };
    let Ok(path) = std::ffi::CString::new(file.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: chown on a NUL-terminated path, the owner left as it is.
    unsafe {
        libc::chown(path.as_ptr(), u32::MAX, gid);
    }
}

/// Sets `tls_cert` and `tls_key` in `[web]` to the files made, keeping every other line;
/// `false` if the section already names some (left as the operator set them).
fn configure(file: &Path, lang: Lang) -> Result<bool, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let Some(new) = with_tls(&text) else {
        return Ok(false);
    };
    // The edit must leave a configuration loaxa reads, with HTTPS in it.
    let parsed = super::settings::as_edited(file, &new)?;
    if parsed.tls.is_none() {
        return Err(tr!(
            lang,
            "{}: không ghi được vào bảng [web]; hãy thêm tay:\n[web]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"",
            "{}: cannot write to its [web] table; add by hand:\n[web]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"",
            file.display()
        ));
    }
    crate::files::replace(file, new.as_bytes()).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(true)
}

/// The configuration with `tls_cert`/`tls_key` under `[web]` (added after its header, or in
/// a `[web]` table appended); `None` if it names either already.
fn with_tls(text: &str) -> Option<String> {
    let lines = format!("tls_cert = \"{FOLDER}/cert.pem\"\ntls_key = \"{FOLDER}/key.pem\"\n");
    let mut in_web = false;
    let mut header = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with('[') {
            in_web = t == "[web]";
            if in_web {
                header = Some(at + line.len());
            }
        } else if in_web && (t.starts_with("tls_cert") || t.starts_with("tls_key")) {
            return None;
        }
        at += line.len();
    }
    Some(match header {
        Some(after) => format!("{}{lines}{}", &text[..after], &text[after..]),
        None => {
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            format!("{text}{sep}\n[web]\n{lines}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_set_under_web_once_and_never_over_what_the_operator_wrote() {
        assert_eq!(
            with_tls("station_name = \"x\"\n").as_deref(),
            Some("station_name = \"x\"\n\n[web]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\n")
        );
        assert_eq!(
            with_tls("[web]\nlisten = \"0.0.0.0:8080\"\n[web.users.a]\nrole = \"operator\"\n").as_deref(),
            Some("[web]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\nlisten = \"0.0.0.0:8080\"\n[web.users.a]\nrole = \"operator\"\n")
        );
        assert_eq!(with_tls("[web]\ntls_cert = \"mine.pem\"\n"), None);
        // Another table's key of the same name is not the console's.
        assert!(with_tls("[sync]\ntls_cert = \"x\"\n").is_some());
    }

    #[test]
    fn only_host_names_and_addresses_are_taken() {
        for ok in [
            "loa.xa.local",
            "may-dai",
            "192.168.1.20",
            "fd00::1",
            "localhost",
        ] {
            assert!(is_host_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a/CN=evil",
            "a,DNS:evil",
            "-x",
            "a..b",
            "xã.local",
            "a b",
        ] {
            assert!(!is_host_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_certificate_names_what_was_asked_then_this_machine_each_once() {
        let names = all_names(&[
            "loa.xa.local".into(),
            "192.168.1.20".into(),
            "localhost".into(),
        ]);
        assert_eq!(names[0], "loa.xa.local");
        assert_eq!(names[1], "192.168.1.20");
        assert!(names.contains(&"127.0.0.1".to_string()));
        assert_eq!(names.iter().filter(|n| *n == "localhost").count(), 1);
    }
}
