//! A private PostgreSQL server from the Debian packages, started by the test that needs it:
//! `initdb` into a temporary folder, listening on a private socket and a loopback port, with
//! password (SCRAM) logins over TCP as a province's server would have. As root, the server
//! runs as the `postgres` user (it refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The superuser the tests administer the centre as, and its password.
pub const ADMIN: &str = "loaxa_admin";
pub const ADMIN_PASSWORD: &str = "quan-tri-thu";

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    /// Server settings on its command line.
    settings: String,
}

fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

impl Postgres {
    /// Starts a fresh server with a `loaxa` database; `None` (test skipped) if PostgreSQL
    /// is not installed here. Tests need no durability: fsync is off.
    pub fn start() -> Option<Postgres> {
        Postgres::start_with("-c fsync=off -c full_page_writes=off")
    }

    /// A server that takes stations over TLS only (a certificate for 127.0.0.1 from a
    /// test authority, [`Postgres::ca`]); the administrator may still log in without.
    pub fn start_tls() -> Option<Postgres> {
        Postgres::start_configured("-c fsync=off -c full_page_writes=off", true)
    }

    /// The test authority that issued a TLS server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("tls/ca.pem")
    }

    /// As [`Postgres::start`], with these server settings (`-c name=value …`).
    pub fn start_with(settings: &str) -> Option<Postgres> {
        Postgres::start_configured(settings, false)
    }

    fn start_configured(settings: &str, tls: bool) -> Option<Postgres> {
        let Some(bin) = bin_dir() else {
            super::skip("PostgreSQL is not installed (scripts/setup installs it)");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("loaxa-pg")
            .tempdir_in(super::scratch_base())
            .unwrap();
        let mut pg = Postgres {
            port: super::icecast::free_port(),
            dir,
            bin,
            settings: settings.to_string(),
        };
        std::fs::write(pg.dir.path().join("pw"), ADMIN_PASSWORD).unwrap();
        let tls_dir = pg.dir.path().join("tls");
        if tls {
            std::fs::create_dir_all(&tls_dir).unwrap();
            super::icecast::make_certificates(&tls_dir);
            std::fs::set_permissions(
                tls_dir.join("server.key"),
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )
            .unwrap();
        }
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .unwrap();
            assert!(ok.success());
        }
        let out = pg
            .as_server("initdb")
            .args(["-D"])
            .arg(pg.data())
            .args([
                "-U",
                ADMIN,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pg.dir.path().join("pw").display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {out:?}");
        if tls {
            // Stations only over TLS; the administrator also over the private socket.
            std::fs::write(
                pg.data().join("pg_hba.conf"),
                format!(
                    "local all all trust\nhost all {ADMIN} 127.0.0.1/32 scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
                ),
            )
            .unwrap();
            pg.settings += &format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                tls_dir.join("server.pem").display(),
                tls_dir.join("server.key").display()
            );
            if is_root() {
                let _ = Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(pg.dir.path())
                    .status();
            }
        }
        pg.start_server();
        pg.psql("postgres", "CREATE DATABASE loaxa");
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A command of the server's, run as the user the server runs as.
    fn as_server(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn start_server(&self) {
        let out = self
            .as_server("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 {}",
                self.port,
                self.dir.path().display(),
                self.settings
            ))
            .args(["-w", "-t", "60", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {out:?}\n{}",
            self.log()
        );
    }

    /// Stops the server at once (as a crash or a power cut would), then starts it again.
    pub fn restart(&self) {
        self.stop();
        self.start_server();
    }

    pub fn stop(&self) {
        let _ = self
            .as_server("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The administrator's address (over TCP with its password).
    pub fn admin_url(&self) -> String {
        format!(
            "postgresql://{ADMIN}:{ADMIN_PASSWORD}@127.0.0.1:{}/loaxa",
            self.port
        )
    }

    /// A station's address, without its password (that goes in `password_file`).
    pub fn url(&self) -> String {
        format!("postgresql://127.0.0.1:{}/loaxa", self.port)
    }

    /// Runs SQL as the administrator over the private socket; returns the unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self
            .as_server("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.dir.path())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                ADMIN,
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A number from a query.
    pub fn count(&self, sql: &str) -> i64 {
        self.psql("loaxa", sql).parse().unwrap_or(-1)
    }

    /// Waits until `f` holds (or panics with `what` after `secs`).
    pub fn wait_for(&self, secs: u64, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !f() {
            assert!(Instant::now() < deadline, "timed out: {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
