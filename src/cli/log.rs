//! `loaxa log` and `loaxa log verify`: what aired, and whether the journal's chain holds.

use super::*;

pub(super) fn log(
    ctx: &Context,
    args: LogArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    use crate::history::{Filter, View};
    let station = ctx.station(Schedules::Lenient, err)?.station;
    let lang = station.lang();
    let tz = station.config.timezone;
    let today = ctx.now.with_timezone(&tz).date_naive();
    let (from, to) = match args.day {
        Some(d) => (d, d),
        None => {
            let to = args.to.unwrap_or(today);
            (args.from.unwrap_or(to - chrono::Duration::days(7)), to)
        }
    };
    if from > to {
        writeln!(
            err,
            "{}",
            tr!(
                lang,
                "khoảng ngày rỗng: --from {from} sau --to {to}",
                "empty range: --from {from} is after --to {to}"
            )
        )
        .map_err(io)?;
        return Err(Failure::Invalid);
    }
    if let Some(o) = args
        .outcome
        .as_deref()
        .filter(|o| !Filter::OUTCOMES.contains(o))
    {
        writeln!(
            err,
            "{}",
            tr!(
                lang,
                "kết quả không hợp lệ «{o}»: dùng một trong {}",
                "invalid outcome “{o}”: use one of {}",
                Filter::OUTCOMES.join(", ")
            )
        )
        .map_err(io)?;
        return Err(Failure::Invalid);
    }
    let (start, end) = crate::report::Period::Days { from, to }.bounds(tz);
    let journal = existing_journal(&station.config, lang, err)?;
    let filter = Filter {
        plan: args.plan,
        slot: args.slot,
        topic: args.topic,
        outcome: args.outcome,
    };
    let records: Vec<Record> = journal
        .records(start, end)
        .map_err(|e| Failure::Runtime(e.to_string()))?
        .into_iter()
        .filter(|r| filter.accepts(r))
        .collect();
    let view = View {
        station: &station.config.station_name,
        tz,
        lang,
        from,
        to,
    };
    let text = match (args.day, args.format) {
        (Some(_), Format::Table) => view.timeline(&records),
        (_, Format::Table) => view.table(&records),
        (_, Format::Csv) => view.csv(&records),
        (_, Format::Json) => view.json(&records),
    };
    write!(out, "{text}").map_err(io)?;
    // Files the station refused to air in the period: the reason a queue aired less.
    if matches!(args.format, Format::Table) {
        let rejected = journal
            .rejections(start, end)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        if !rejected.is_empty() {
            writeln!(
                out,
                "\n{}",
                lang.pick("Tệp bị từ chối (không phát):", "Files refused (not aired):")
            )
            .map_err(io)?;
            for (at, file, reason) in rejected {
                let first = reason.lines().next().unwrap_or_default();
                writeln!(
                    out,
                    "  {}  {file}: {first}",
                    at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S")
                )
                .map_err(io)?;
            }
        }
    }
    Ok(())
}

pub(super) fn verify(
    ctx: &Context,
    pin: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    let station = ctx.station(Schedules::Lenient, err)?.station;
    let lang = station.lang();
    let pin = match pin {
        None => None,
        Some(p) => match p
            .split_once(':')
            .and_then(|(n, h)| Some((n.trim().parse::<i64>().ok()?, h.trim())))
        {
            Some(pin) => Some(pin),
            None => {
                writeln!(
                    err,
                    "{}",
                    tr!(
                        lang,
                        "--pin cần dạng SỐ_SỰ_KIỆN:MÃ_BĂM, như in trên báo cáo",
                        "--pin takes EVENTS:HASH, as printed on a report"
                    )
                )
                .map_err(io)?;
                return Err(Failure::Invalid);
            }
        },
    };
    let journal = existing_journal(&station.config, lang, err)?;
    let v = journal
        .verify(pin)
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    writeln!(
        out,
        "{}",
        tr!(
            lang,
            "nhật ký {}: {} sự kiện, mã băm cuối {}",
            "journal {}: {} events, head {}",
            station.config.journal.display(),
            v.events,
            v.head
        )
    )
    .map_err(io)?;
    if let Some(p) = &v.problem {
        writeln!(
            out,
            "{}",
            tr!(
                lang,
                "CHUỖI BỊ PHÁ VỠ: {}",
                "CHAIN BROKEN: {}",
                p.text(lang)
            )
        )
        .map_err(io)?;
    }
    match (pin, v.pin_matches) {
        (Some((n, _)), Some(false)) => writeln!(out,
            "{}",
            tr!(
                lang,
                "KHÔNG KHỚP: sự kiện số {n} không còn là sự kiện mà báo cáo đã ghi — lịch sử đã bị viết lại",
                "MISMATCH: event {n} is no longer the one the report pinned — history was rewritten"
            )
        )
        .map_err(io)?,
        (Some((n, _)), Some(true)) => writeln!(out, "{}", tr!(lang, "khớp với báo cáo đã in (sự kiện số {n})", "matches the printed report (event {n})")).map_err(io)?,
        _ => {}
    }
    if v.is_intact() {
        writeln!(
            out,
            "{}",
            lang.pick("chuỗi băm nguyên vẹn", "the hash chain is intact")
        )
        .map_err(io)?;
        Ok(())
    } else {
        Err(Failure::Broken)
    }
}
