//! Talking to the service manager (systemd) when loaxa runs as a service: readiness once the
//! schedules are loaded and the journal is open, a status line with the next occurrence, and
//! watchdog pings from the main loop, all over `NOTIFY_SOCKET` (the sd_notify protocol is one
//! datagram of `KEY=value` lines; no library needed). Outside a service, nothing is sent.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    target: Target,
    /// Half the watchdog interval the manager asked for, if it asked.
    watchdog_every: Option<Duration>,
    last_ping: Option<Instant>,
}

#[derive(Debug)]
enum Target {
    Path(std::path::PathBuf),
    #[cfg(target_os = "linux")]
    Abstract(Vec<u8>),
}

impl Notifier {
    /// The notifier the environment asks for (`NOTIFY_SOCKET`, `WATCHDOG_USEC`), if any.
    pub fn from_env() -> Option<Notifier> {
        let addr = std::env::var_os("NOTIFY_SOCKET")?;
        let addr = addr.to_string_lossy().into_owned();
        let target = match addr.strip_prefix('@') {
            #[cfg(target_os = "linux")]
            Some(name) => Target::Abstract(name.as_bytes().to_vec()),
            #[cfg(not(target_os = "linux"))]
            Some(_) => return None,
            None => Target::Path(addr.into()),
        };
        let watchdog_every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.parse::<u64>().ok())
            .filter(|u| *u > 0)
            .map(|u| Duration::from_micros(u / 2));
        Some(Notifier {
            socket: UnixDatagram::unbound().ok()?,
            target,
            watchdog_every,
            last_ping: None,
        })
    }

    fn send(&self, message: &str) {
        let sent = match &self.target {
            Target::Path(p) => self.socket.send_to(message.as_bytes(), p),
            #[cfg(target_os = "linux")]
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name)
                    .and_then(|a| self.socket.send_to_addr(message.as_bytes(), &a))
            }
        };
        if let Err(e) = sent {
            tracing::warn!("NOTIFY_SOCKET: {e}");
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}", one_line(status)));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    /// Pings the watchdog if half its interval has passed since the last ping.
    pub fn watchdog(&mut self) {
        let Some(every) = self.watchdog_every else {
            return;
        };
        if self.last_ping.is_none_or(|t| t.elapsed() >= every) {
            self.send("WATCHDOG=1");
            self.last_ping = Some(Instant::now());
        }
    }

    /// The longest the main loop may sleep and still ping in time.
    pub fn max_sleep(&self) -> Option<Duration> {
        self.watchdog_every
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}
