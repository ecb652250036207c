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
    let rt = runtime()?;
    let result = rt.block_on(async {
        let shutdown = crate::shutdown::stop_signal(None);
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
        crate::sync::run(&sync, &config.journal, lang, once, shutdown).await
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
