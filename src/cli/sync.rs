//! `loaxa sync`: the journal copied to the province's database, as a service of its own.

use super::*;

pub(super) fn sync(
    ctx: &Context,
    once: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    let config = ctx.config(err)?;
    let lang = config.language;
    // [sync] is this process's own: with errors, it does not start (they were said above).
    let sync = match config.section(crate::sync::settings::parse) {
        Ok(s) => s,
        Err(ConfigError::Invalid(_)) => {
            writeln!(
                err,
                "{}",
                lang.pick(
                    "mục [sync] có lỗi: `loaxa sync` không chạy cho đến khi sửa",
                    "the [sync] section has errors: `loaxa sync` does not run until they are fixed",
                )
            )
            .map_err(io)?;
            return Err(Failure::Invalid);
        }
        Err(e) => return Err(Failure::Runtime(e.to_string())),
    };
    let Some(sync) = sync else {
        writeln!(
            err,
            "{}",
            lang.pick(
                "chưa cấu hình gửi lên tỉnh: thêm mục [sync] (url, station, password_file) vào tệp cấu hình",
                "sending to the province is not configured: add a [sync] section (url, station, password_file) to the configuration",
            )
        )
        .map_err(io)?;
        return Err(Failure::Invalid);
    };
    // The journal must exist (a wrong config would otherwise send nothing, silently).
    drop(existing_journal(&config, lang, err)?);
    // The province's queue folder, which a commune's schedule may name before any bulletin
    // arrived (a station set up before bulletins has none).
    let province_queue = config.audio_dir.join(crate::catalog::PROVINCE_DIR);
    if let Err(e) = std::fs::create_dir_all(&province_queue) {
        writeln!(err, "loaxa: {}: {e}", province_queue.display()).map_err(io)?;
    }
    let station = crate::sync::bulletins::Station {
        audio_dir: &config.audio_dir,
        emergency_dir: &config.emergency_dir,
        journal: &config.journal,
    };
    let rt = runtime()?;
    let result = rt.block_on(async {
        if once {
            // One pass each way: what the journal has up, what the province sent down.
            let state =
                crate::sync::run(&sync, &config.journal, lang, true, std::future::pending())
                    .await?;
            let client = crate::central::connect(&sync.target).await?;
            let probes = crate::library::ProbeCache::default();
            crate::sync::bulletins::pass(&sync, &client, &station, &probes, lang).await?;
            return Ok(state);
        }
        // Both halves stop on the same signal.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            crate::shutdown::stop_signal(None).await;
            let _ = stop.send(true);
        });
        let mut up = stopped.clone();
        let shutdown = async move {
            let _ = up.wait_for(|s| *s).await;
        };
        if !once {
            tracing::info!(
                "{}",
                tr!(
                    lang,
                    "gửi nhật ký lên {} với mã đài {}",
                    "sending the journal to {} as station {}",
                    sync.target.display,
                    sync.station
                )
            );
        }
        // Where the province may listen, as `[stream]` says (a broken section is warned of
        // by `validate` and `doctor`; the heartbeat then carries no link).
        let stream = config
            .section(crate::stream::settings::parse)
            .ok()
            .flatten()
            .and_then(|s| s.listen_url());
        let beat = || crate::central::bulletin::Heartbeat {
            stream: stream.clone(),
            ..crate::status::heartbeat(&config.journal)
        };
        let (state, ()) = tokio::join!(
            crate::sync::run(&sync, &config.journal, lang, once, shutdown),
            crate::sync::bulletins::listen(&sync, &station, lang, &beat, stopped)
        );
        state
    });
    match result {
        Ok(state) => {
            writeln!(
                out,
                "{}: {}",
                lang.pick("Gửi lên tỉnh", "Province"),
                state.line(lang, config.timezone)
            )
            .map_err(io)?;
            Ok(())
        }
        Err(e) => Err(Failure::Runtime(e.text(lang))),
    }
}
