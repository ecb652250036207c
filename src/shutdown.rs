//! How a loaxa process is told to stop: SIGTERM (systemd stopping the unit) or Ctrl-C. One
//! rule for every process (the daemon, the console, `loaxa sync`); the daemon alone also
//! hears SIGHUP, which must not end the station.

/// Completes on SIGTERM or Ctrl-C. With `on_hangup`, each SIGHUP meanwhile calls it instead of
/// ending the process (the daemon reloads); without, SIGHUP keeps its default action.
pub async fn stop_signal(on_hangup: Option<&(dyn Fn() + Sync)>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        let mut hup = match on_hangup {
            Some(_) => match signal(SignalKind::hangup()) {
                Ok(h) => Some(h),
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            },
            None => None,
        };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                Some(()) = async {
                    match hup.as_mut() {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    if let Some(f) = on_hangup {
                        f();
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = on_hangup;
        let _ = tokio::signal::ctrl_c().await;
    }
}
