//! `loaxa validate`: every schedule, queue setting, sidecar and clip checked, every problem
//! reported at its place.

use super::*;

pub(super) fn validate(
    ctx: &Context,
    online: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    let station = ctx
        .station(Schedules::Strict { check_audio: true }, err)?
        .station;
    let lang = station.lang();
    // Queue contents: what will be skipped is worth knowing before it is due.
    let mut warnings = 0;
    let mut folders: Vec<&str> = station
        .schedules
        .slots()
        .filter_map(|s| s.queue.as_ref().map(|q| q.folder.as_str()))
        .collect();
    folders.sort();
    folders.dedup();
    // Queue settings and sidecars are operator-written files like the schedules: their errors
    // fail validation; what a queue holds only warns.
    let mut errors = 0;
    let mut catalog = station.catalog();
    for n in catalog.take_notices() {
        if let crate::catalog::Notice::BadMetadata { errors: es, .. } = &n {
            errors += 1;
            for e in es {
                writeln!(err, "{e}").map_err(io)?;
            }
        }
    }
    // A topic a sidecar or queue.toml names must be one the slot's plan declares: otherwise its
    // minutes would count under no plan item in the report.
    let mut reported = std::collections::HashSet::new();
    for f in &station.schedules.files {
        for q in f.slots.iter().filter_map(|s| s.queue.as_ref()) {
            // Each file that names a topic, with where the parser found it.
            let mut named: Vec<(PathBuf, String, std::ops::Range<usize>)> = Vec::new();
            if let Ok(crate::sidecar::QueueSettings {
                topic: Some(t),
                topic_span,
                ..
            }) = catalog.queue_settings(&q.folder)
            {
                named.push((
                    station
                        .config
                        .audio_dir
                        .join(&q.folder)
                        .join(crate::sidecar::QUEUE_FILE),
                    t,
                    topic_span.unwrap_or_default(),
                ));
            }
            for c in catalog.queue(&q.folder) {
                if let Ok(crate::sidecar::ClipMeta {
                    topic: Some(t),
                    topic_span,
                    ..
                }) = &c.meta
                {
                    named.push((
                        crate::sidecar::sidecar_path(&c.path),
                        t.clone(),
                        topic_span.clone().unwrap_or_default(),
                    ));
                }
            }
            for (file, topic, span) in named {
                if f.plan.topics.contains_key(&topic)
                    || !reported.insert((file.clone(), f.plan.id.clone()))
                {
                    continue;
                }
                errors += 1;
                // The line is shown as the operator wrote it.
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                let message = tr!(
                    lang,
                    "chủ đề «{topic}» không có trong [topics] của kế hoạch «{}» (hàng đợi {}/ được lịch này dùng)",
                    "topic “{topic}” is not declared in plan “{}”'s [topics] (the queue {}/ airs in it)",
                    f.plan.id,
                    q.folder
                );
                writeln!(
                    err,
                    "{}",
                    crate::diagnostic::Diagnostic::error(&file, &text, span, message).render(lang)
                )
                .map_err(io)?;
            }
        }
    }
    if let Some(intro) = &station.config.emergency_intro {
        if !library::resolve(&station.config.audio_dir, intro).is_some_and(|p| p.is_file()) {
            errors += 1;
            writeln!(
                err,
                "{}: {}: {}",
                station
                    .config
                    .file
                    .as_deref()
                    .unwrap_or(Path::new("loaxa.toml"))
                    .display(),
                lang.pick("lỗi", "error"),
                tr!(
                    lang,
                    "không có tệp emergency_intro «{intro}» trong {}",
                    "no emergency_intro file “{intro}” in {}",
                    station.config.audio_dir.display()
                )
            )
            .map_err(io)?;
        }
    }
    for folder in folders {
        let mut ready = 0;
        for c in catalog.queue(folder) {
            match &c.state {
                crate::catalog::ClipState::Ready(info) => {
                    ready += 1;
                    let target = (
                        station.config.loudness.target,
                        station.config.loudness.margin,
                    );
                    if let Some(problem) = crate::schedule::loudness_problem(info, target, lang) {
                        warnings += 1;
                        writeln!(
                            err,
                            "{}: {}: {problem}",
                            c.path.display(),
                            lang.pick("cảnh báo", "warning")
                        )
                        .map_err(io)?;
                    }
                }
                crate::catalog::ClipState::Undecodable(reason)
                | crate::catalog::ClipState::Refused(reason) => {
                    warnings += 1;
                    writeln!(
                        err,
                        "{}: {}: {}",
                        c.path.display(),
                        lang.pick("cảnh báo", "warning"),
                        tr!(
                            lang,
                            "{reason} — sẽ bị bỏ qua khi phát",
                            "{reason} — it will be skipped"
                        )
                    )
                    .map_err(io)?;
                }
                crate::catalog::ClipState::Incomplete | crate::catalog::ClipState::Checking => {
                    writeln!(
                        err,
                        "{}: {}: {}",
                        c.path.display(),
                        lang.pick("ghi chú", "note"),
                        lang.pick(
                            "tệp đang chép dở hoặc là tệp tạm, chưa được phát",
                            "still being copied or a temporary file; not aired yet"
                        )
                    )
                    .map_err(io)?;
                }
                _ => {}
            }
        }
        if ready == 0 {
            warnings += 1;
            writeln!(
                err,
                "{}: {}: {}",
                station.config.audio_dir.join(folder).display(),
                lang.pick("cảnh báo", "warning"),
                lang.pick(
                    "hàng đợi chưa có bài nào phát được",
                    "the queue has no airable clip"
                )
            )
            .map_err(io)?;
        }
    }
    if online {
        // Each source once, reported at the first line that names it.
        let mut sources: Vec<(&crate::schedule::RelaySlot, &crate::schedule::Schedule)> =
            Vec::new();
        for f in &station.schedules.files {
            for r in f.slots.iter().filter_map(|s| s.relay.as_ref()) {
                if !sources.iter().any(|(s, _)| s.source == r.source) {
                    sources.push((r, f));
                }
            }
        }
        for (r, f) in sources {
            let p = crate::relay::probe(&r.source, lang);
            // The one verdict `doctor` gives too: a source that answers, in real time.
            if matches!(
                p.verdict(),
                crate::relay::Verdict::Heard | crate::relay::Verdict::Silent
            ) {
                writeln!(out, "{}: {}", r.source, p.text(lang)).map_err(io)?;
            } else {
                errors += 1;
                let start = f.text.find(&r.text).unwrap_or(0);
                let message = tr!(
                    lang,
                    "nguồn tiếp sóng không trả lời: {}",
                    "the relay source does not answer: {}",
                    p.text(lang)
                );
                writeln!(
                    err,
                    "{}",
                    crate::diagnostic::Diagnostic::error(
                        &f.file,
                        &f.text,
                        start..start + r.text.len(),
                        message
                    )
                    .render(lang)
                )
                .map_err(io)?;
            }
        }
    }
    if errors > 0 {
        return Err(Failure::Invalid);
    }
    let slots = station.schedules.slots().count();
    writeln!(
        out,
        "{}",
        tr!(
            lang,
            "hợp lệ: {} tệp lịch phát, {} phiên{}",
            "valid: {} schedule file(s), {} slot(s){}",
            station.schedules.files.len(),
            slots,
            if warnings > 0 {
                tr!(lang, ", {warnings} cảnh báo", ", {warnings} warning(s)")
            } else {
                String::new()
            }
        )
    )
    .map_err(io)?;
    Ok(())
}
