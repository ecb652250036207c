//! What wakes the daemon besides the time of its next broadcast: a saved configuration or
//! schedule file (inotify, through `notify`) and a step of the system clock (a Linux timerfd
//! that the kernel cancels whenever the wall clock is set). With both, the daemon sleeps long
//! between broadcasts — an always-on station PC pays next to nothing for a loaxa that waits —
//! yet puts an edit in force the moment it is saved and notices an NTP step when it happens,
//! not at its next look at the clock.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::lang::Lang;

pub struct Wakers {
    /// Notified on any of the events below.
    pub notify: Arc<Notify>,
    files: Arc<AtomicBool>,
    /// Whether file changes are reported by events; without them the caller looks each tick.
    pub watching_files: bool,
    _watcher: Option<notify::RecommendedWatcher>,
}

impl Wakers {
    /// Watches the folders holding `files` (a configuration file, the schedules folder) and
    /// the wall clock. A folder that cannot be watched is said once: the daemon then falls
    /// back on looking at it at every tick, as it would without events.
    pub fn start(watch: &[&Path], lang: Lang) -> Wakers {
        let notify = Arc::new(Notify::new());
        let files = Arc::new(AtomicBool::new(false));
        let (watcher, all) = match watch_files(watch, &files, &notify, lang) {
            Some((w, all)) => (Some(w), all),
            None => (None, false),
        };
        // A step only needs to wake the loop: `watch_clock` tells it from sleeping.
        watch_clock_steps(&notify);
        Wakers {
            notify,
            files,
            watching_files: all,
            _watcher: watcher,
        }
    }

    /// Whether a watched file changed since the last call.
    pub fn take_files(&self) -> bool {
        self.files.swap(false, Ordering::AcqRel)
    }
}

/// The watcher, and whether it watches every folder: one that cannot be watched (not there
/// yet, say) does not keep the others from waking the daemon at once.
fn watch_files(
    paths: &[&Path],
    flag: &Arc<AtomicBool>,
    wake: &Arc<Notify>,
    lang: Lang,
) -> Option<(notify::RecommendedWatcher, bool)> {
    use notify::Watcher as _;
    let (f, w) = (flag.clone(), wake.clone());
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Any event, even an error (a queue overflow), means "look again".
        if res.as_ref().map_or(true, |e| !e.kind.is_access()) {
            f.store(true, Ordering::Release);
            w.notify_one();
        }
    })
    .ok()?;
    let mut all = true;
    for path in paths {
        // Editors save by writing a new file and renaming it over the old: the folder is
        // watched, not the file.
        let dir = if path.is_dir() {
            path.to_path_buf()
        } else {
            match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            }
        };
        if let Err(e) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
            tracing::warn!(
                "{}",
                crate::tr!(
                    lang,
                    "không theo dõi được thư mục {} ({e}); loaxa xem lại nó mỗi lần thức dậy",
                    "cannot watch {} ({e}); loaxa looks at it each time it wakes instead",
                    dir.display()
                )
            );
            all = false;
        }
    }
    Some((watcher, all))
}

/// A thread blocked on a timerfd armed a year ahead on the wall clock with
/// `TFD_TIMER_CANCEL_ON_SET`: its read fails with `ECANCELED` the instant the clock is set.
/// Gradual NTP slewing does not count as a set and needs no notice.
fn watch_clock_steps(wake: &Arc<Notify>) {
    #[cfg(target_os = "linux")]
    {
        let w = wake.clone();
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_REALTIME, libc::TFD_CLOEXEC) };
        if fd < 0 {
            tracing::debug!(
                "timerfd: {}; clock steps are seen at the next tick",
                std::io::Error::last_os_error()
            );
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("loaxa-clock".into())
            .stack_size(64 * 1024)
            .spawn(move || loop {
                let mut now = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &raw mut now) };
                let spec = libc::itimerspec {
                    it_interval: libc::timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    },
                    it_value: libc::timespec {
                        tv_sec: now.tv_sec + 365 * 24 * 3600,
                        tv_nsec: 0,
                    },
                };
                let flags = libc::TFD_TIMER_ABSTIME | libc::TFD_TIMER_CANCEL_ON_SET;
                if unsafe {
                    libc::timerfd_settime(fd, flags, &raw const spec, std::ptr::null_mut())
                } != 0
                {
                    tracing::debug!(
                        "timerfd_settime: {}; clock steps are seen at the next tick",
                        std::io::Error::last_os_error()
                    );
                    unsafe { libc::close(fd) };
                    return;
                }
                let mut expirations = 0u64;
                let n = unsafe {
                    libc::read(
                        fd,
                        (&raw mut expirations).cast(),
                        std::mem::size_of::<u64>(),
                    )
                };
                if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECANCELED)
                {
                    w.notify_one();
                }
            });
        if spawned.is_err() {
            unsafe { libc::close(fd) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = wake;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a schedules folder that could not be watched (not there yet) kept the
    /// configuration's folder from being watched too.
    #[test]
    fn a_folder_that_cannot_be_watched_does_not_keep_the_others_from_waking() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("khong-co/schedules");
        let config = dir.path().join("loaxa.toml");
        std::fs::write(&config, "station = \"x\"\n").unwrap();
        let w = Wakers::start(&[missing.as_path(), config.as_path()], Lang::En);
        assert!(!w.watching_files, "not every folder is watched");
        std::fs::write(&config, "station = \"y\"\n").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !w.take_files() {
            assert!(
                std::time::Instant::now() < deadline,
                "the edit woke nothing"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
