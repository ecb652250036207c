//! `loaxa next`: what will air, when, with which clips — planned by [`crate::planner`] exactly
//! as the daemon will plan it.

use super::*;

pub(super) fn next(
    ctx: &Context,
    days: u32,
    format: NextFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    let station = ctx
        .station(Schedules::Strict { check_audio: false }, err)?
        .station;
    let lang = station.lang();
    let tz = station.config.timezone;
    // Read, never created: `next` on a station that has not run yet plans from no history.
    let journal = journal_if_any(&station.config)?;
    let now = ctx.now;
    let until = now + chrono::Duration::days(i64::from(days));
    let catalog = station.catalog();
    let planner = station.planner(&catalog);
    let ahead = planner
        .forecast(&station.schedules, journal.as_ref(), now, until, usize::MAX)
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    if let NextFormat::Json = format {
        return json(&ahead, out);
    }
    writeln!(
        out,
        "{}",
        tr!(
            lang,
            "{} — lịch phát {} ngày tới (giờ {}, UTC{})",
            "{} — the next {} day(s) (times in {}, UTC{})",
            station.config.station_name,
            days,
            tz,
            now.with_timezone(&tz).format("%:z")
        )
    )
    .map_err(io)?;
    if ahead.is_empty() {
        writeln!(
            out,
            "{}",
            lang.pick("(không có lần phát nào)", "(nothing scheduled)")
        )
        .map_err(io)?;
        return Ok(());
    }
    let mut rows = Vec::new();
    let mut last_at = None;
    for (due, planned) in &ahead {
        let (length, clips) = match planned {
            Planned::Airs(prepared) => (
                format!("{:.0}s", prepared.duration_ms() as f64 / 1000.0),
                prepared
                    .entries
                    .iter()
                    .map(|e| match &e.skip {
                        None if e.plan.role == crate::journal::Role::Relay => tr!(
                            lang,
                            "tiếp sóng {} ({} phút)",
                            "relay {} ({} min)",
                            e.plan.rel,
                            (e.plan.duration_ms as f64 / 60_000.0 * 10.0).round() / 10.0
                        ),
                        None => e.plan.rel.clone(),
                        Some(r) => format!("{} [{}]", e.plan.rel, r.text(lang)),
                    })
                    .chain(prepared.did_not_fit.iter().map(|rel| {
                        tr!(lang, "{rel} [không đủ thời lượng]", "{rel} [does not fit]")
                    }))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Planned::Held(reason) => (
                "-".to_string(),
                tr!(lang, "KHÔNG PHÁT: {}", "NOT AIRED: {}", reason.text(lang)),
            ),
        };
        let clash = last_at == Some(due.at);
        last_at = Some(due.at);
        rows.push(vec![
            format!(
                "{} {}",
                lang.weekday_short(chrono::Datelike::weekday(
                    &due.at.with_timezone(&tz).date_naive()
                )),
                due.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S")
            ),
            format!("{}/{}", due.slot.plan, due.slot.id),
            due.slot.title.clone(),
            due.slot.priority.label(lang).to_string()
                + if clash {
                    lang.pick(" (trùng giờ, phát sau)", " (clash: airs after)")
                } else {
                    ""
                },
            length,
            clips,
        ]);
    }
    let header = if lang == Lang::Vi {
        ["GIỜ", "PHIÊN", "TÊN", "ƯU TIÊN", "DÀI", "BÀI PHÁT"]
    } else {
        ["TIME", "SLOT", "TITLE", "PRIORITY", "LENGTH", "CLIPS"]
    };
    write!(out, "{}", crate::report::text_table(&header, &rows)).map_err(io)?;
    Ok(())
}

fn json(ahead: &[(crate::planner::Due, Planned)], out: &mut dyn Write) -> Result<(), Failure> {
    let rows = crate::planner::ForecastRow::all(ahead);
    let text = serde_json::to_string_pretty(&rows).map_err(|e| Failure::Runtime(e.to_string()))?;
    writeln!(out, "{text}").map_err(io)
}
