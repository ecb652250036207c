//! The log: in the station's time zone on a terminal, with journald's priorities under
//! systemd, filtered by RUST_LOG's simple `target=level` form.

use chrono::Utc;

/// The station's zone, once known, so log lines carry the operator's clock, not UTC.
static LOG_ZONE: std::sync::OnceLock<chrono_tz::Tz> = std::sync::OnceLock::new();

/// Log lines carry the station's time from here on.
pub(super) fn set_zone(tz: chrono_tz::Tz) {
    let _ = LOG_ZONE.set(tz);
}

struct StationTime;

impl tracing_subscriber::fmt::time::FormatTime for StationTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        let tz = LOG_ZONE
            .get()
            .copied()
            .unwrap_or(chrono_tz::Asia::Ho_Chi_Minh);
        write!(
            w,
            "{}",
            Utc::now()
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S%.3f")
        )
    }
}

/// Decoders log every damaged file at error level; loaxa reports those itself, once, in
/// the operator's language, so their chatter is off unless RUST_LOG asks for it.
/// RUST_LOG takes `target=level` directives, comma-separated, and a bare level for the rest
/// (env_logger's form without its regular expressions, which would cost the daemon a regex
/// engine in memory for a feature nobody at a station uses).
pub fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let spec = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let parsed = spec.as_deref().map(str::parse::<Targets>);
    let rejected = match &parsed {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    let names_decoder = spec.as_deref().is_some_and(|s| s.contains("symphonia"));
    let filter = move || match &parsed {
        // A decoder's chatter (each damaged frame of a garbage stream, ~90 lines a minute)
        // stays off unless RUST_LOG names it: loaxa says what went wrong once a connection.
        Some(Ok(t)) if !names_decoder => t.clone().with_target("symphonia", LevelFilter::OFF),
        Some(Ok(t)) => t.clone(),
        _ => Targets::new()
            .with_default(LevelFilter::WARN)
            .with_target("loaxa", LevelFilter::INFO)
            .with_target("symphonia", LevelFilter::OFF),
    };
    let warn_rejected = || {
        if let (Some(spec), Some(e)) = (&spec, &rejected) {
            tracing::warn!("RUST_LOG «{spec}»: không hiểu / not understood ({e}); dùng mức mặc định / using the default levels");
        }
    };
    if stderr_is_journal() {
        // journald stamps each line itself and reads the level from a <N> prefix.
        let _ = tracing_subscriber::fmt()
            .event_format(Journald)
            .with_writer(std::io::stderr)
            .finish()
            .with(filter())
            .try_init();
        warn_rejected();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_timer(StationTime)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .finish()
        .with(filter())
        .try_init();
    warn_rejected();
}

/// Whether stderr is connected to the systemd journal: `JOURNAL_STREAM` names the device
/// and inode of the journal's stream, which must be stderr's own.
pub(super) fn stderr_is_journal() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
            return false;
        };
        let Some((dev, ino)) = stream.split_once(':') else {
            return false;
        };
        let stderr =
            std::fs::metadata("/proc/self/fd/2").or_else(|_| std::fs::metadata("/dev/stderr"));
        stderr.is_ok_and(|m| Some(m.dev()) == dev.parse().ok() && Some(m.ino()) == ino.parse().ok())
    }
    #[cfg(not(unix))]
    false
}

/// Log lines for journald: `<priority>message`, no timestamp (sd-daemon(3)).
struct Journald;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Journald
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(w, "<{priority}>")?;
        tracing_subscriber::fmt::FormatFields::format_fields(ctx, w.by_ref(), event)?;
        writeln!(w)
    }
}
