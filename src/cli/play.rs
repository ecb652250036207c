//! `loaxa play`: a clip aired now — handed to the running daemon, or aired here when none
//! runs.

use super::*;

pub(super) fn play(
    ctx: &Context,
    file: &Path,
    emergency: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    let station = ctx
        .station(Schedules::Strict { check_audio: false }, err)?
        .station;
    let lang = station.lang();
    // The running daemon owns the output and the station's files: it airs what it is handed.
    // (An output named on the command line is the operator's own check, aired here.)
    let live = crate::status::read(&crate::status::path_for(&station.config.journal))
        .is_some_and(|s| s.is_live(ctx.now));
    if live && ctx.overrides.output.is_none() {
        return hand_over(ctx, &station, file, emergency, out, err);
    }
    let cwd = &ctx.cwd;
    // A file under audio/ is named relative to it, as schedules name it.
    let rel = if cwd.join(file).is_file() {
        let abs = cwd.join(file);
        match abs
            .canonicalize()
            .ok()
            .zip(station.config.audio_dir.canonicalize().ok())
        {
            Some((a, audio)) => a.strip_prefix(&audio).map_or_else(
                |_| a.display().to_string(),
                |r| library::normalize(&r.to_string_lossy()),
            ),
            None => abs.display().to_string(),
        }
    } else if library::resolve(
        &station.config.audio_dir,
        &library::normalize(&file.to_string_lossy()),
    )
    .is_some_and(|p| p.is_file())
    {
        library::normalize(&file.to_string_lossy())
    } else {
        return Err(not_found(err, lang, file));
    };
    let said = if emergency && !live {
        tr!(
            lang,
            "loaxa không chạy: tin khẩn cấp {} được phát tại đây, ngay bây giờ, ra {}",
            "loaxa is not running: the emergency {} airs from here, now, to {}",
            rel,
            station.config.output.describe(lang)
        )
    } else {
        tr!(
            lang,
            "phát {} ra {}",
            "playing {} to {}",
            rel,
            station.config.output.describe(lang)
        )
    };
    writeln!(err, "{said}").map_err(io)?;
    let mut journal =
        Journal::open(&station.config.journal).map_err(|e| Failure::Runtime(e.to_string()))?;
    let audio = AudioHandle::spawn(open_output(&station.config))
        .map_err(|e| Failure::Runtime(format!("audio thread: {e}")))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let outcome = runtime()?
        .block_on(daemon::play_now(
            &station,
            &mut journal,
            audio,
            clock,
            &rel,
            emergency,
        ))
        .map_err(|e| Failure::Runtime(e.to_string()))?
        .unwrap_or(crate::journal::Outcome::Failed);
    let records = journal
        .records(
            Utc::now() - chrono::Duration::hours(1),
            Utc::now() + chrono::Duration::seconds(5),
        )
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let reason = records
        .last()
        .and_then(|r| r.reason.as_ref())
        .map(|r| format!(" — {}", r.text(lang)))
        .unwrap_or_default();
    writeln!(out, "{}{}", outcome.label(lang), reason).map_err(io)?;
    if outcome == crate::journal::Outcome::Completed {
        Ok(())
    } else {
        Err(Failure::Runtime(tr!(
            lang,
            "chưa phát trọn bài",
            "the file did not air in full"
        )))
    }
}

/// Hands a file to the running daemon, through the folder an operator would drop it in (the
/// emergency folder, or the play folder): copied under a temporary name, dated as settled,
/// then renamed, so the daemon never sees half of it. The command itself touches neither
/// the output nor the daemon's files.
fn hand_over(
    ctx: &Context,
    station: &Station,
    file: &Path,
    emergency: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    let lang = station.lang();
    let source = [ctx.cwd.join(file), station.config.audio_dir.join(file)]
        .into_iter()
        .find(|p| p.is_file());
    let Some(source) = source else {
        return Err(not_found(err, lang, file));
    };
    let dir = station.config.audio_dir.join(if emergency {
        station.config.emergency_dir.as_str()
    } else {
        daemon::PLAY_DIR
    });
    let name = source
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let part = dir.join(format!("{name}.part"));
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::copy(&source, &part))
        .map_err(|e| Failure::Runtime(format!("{}: {e}", part.display())))?;
    let name = match library::put_in_place(&part, &dir, &name, None, &station.probes) {
        Ok((target, _)) => target
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        Err(library::PlaceError::Clip(e)) => {
            writeln!(err, "{}: {}", source.display(), e.reason(lang)).map_err(io)?;
            return Err(Failure::Invalid);
        }
        Err(e) => return Err(Failure::Runtime(e.to_string())),
    };
    if emergency {
        writeln!(
            out,
            "{}",
            tr!(
                lang,
                "đã giao {} cho loaxa đang chạy: phát ngay như tin khẩn cấp",
                "handed {} to the running loaxa: it airs now as an emergency",
                name
            )
        )
        .map_err(io)?;
    } else {
        writeln!(out,
            "{}",
            tr!(
                lang,
                "đã giao {} cho loaxa đang chạy: phát ngay khi không có gì đang phát (ghi nhật ký là phát thủ công; xem `loaxa log`)",
                "handed {} to the running loaxa: it airs as soon as nothing is on air (journaled as manual; see `loaxa log`)",
                name
            )
        ).map_err(io)?;
    }
    Ok(())
}

/// Says a file the operator named is not there: invalid input.
fn not_found(err: &mut dyn Write, lang: Lang, file: &Path) -> Failure {
    let said = writeln!(
        err,
        "{}",
        tr!(
            lang,
            "không tìm thấy tệp {}",
            "file not found: {}",
            file.display()
        )
    );
    match said {
        Ok(()) => Failure::Invalid,
        Err(e) => io(e),
    }
}
