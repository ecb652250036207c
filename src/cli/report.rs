//! `loaxa report`: the period's report in every format.

use super::*;

/// What was asked of `loaxa report`.
pub(super) struct Request {
    pub month: Option<String>,
    pub quarter: Option<String>,
    pub days: Option<(NaiveDate, NaiveDate)>,
    pub plan: Option<String>,
    pub format: ReportFormat,
    /// Where to write instead of standard output.
    pub file: Option<PathBuf>,
}

pub(super) fn report(
    ctx: &Context,
    request: Request,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    use crate::report::{self as rep, Period};
    let Request {
        month,
        quarter,
        days,
        plan,
        format,
        file,
    } = request;
    let station = ctx.station(Schedules::Lenient, err)?.station;
    let lang = station.lang();
    let tz = station.config.timezone;
    let period = match (month, quarter, days) {
        (Some(m), _, _) => Period::month(&m).ok_or(m),
        (_, Some(q), _) => Period::quarter(&q).ok_or(q),
        (_, _, Some((from, to))) if from <= to => Ok(Period::Days { from, to }),
        (_, _, Some((from, to))) => Err(format!("{from} > {to}")),
        _ => Ok(rep::month_of(ctx.now.with_timezone(&tz).date_naive())),
    };
    let period = match period {
        Ok(p) => p,
        Err(bad) => {
            writeln!(err,
                "{}",
                tr!(
                    lang,
                    "kỳ báo cáo không hợp lệ «{bad}»: dùng --month 2025-09, --quarter 2025-Q3, hoặc --from 2025-09-01 --to 2025-09-30",
                    "invalid period “{bad}”: use --month 2025-09, --quarter 2025-Q3, or --from 2025-09-01 --to 2025-09-30"
                )
            ).map_err(io)?;
            return Err(Failure::Invalid);
        }
    };
    let journal = existing_journal(&station.config, lang, err)?;
    let r = rep::build(
        &journal,
        &station.config.station_name,
        tz,
        period,
        plan.as_deref(),
        lang,
        ctx.now,
    )
    .map_err(|e| Failure::Runtime(e.to_string()))?;
    let mut r = r;
    if crate::sync::settings::configured(&station.config) {
        r.sent = crate::sync::read(&crate::sync::path_for(&station.config.journal))
            .map(|s| s.line(lang, tz));
    }
    let bytes = render(&r, format)?;
    // A workbook is no use on a terminal: there it goes to a file named for the period.
    // Redirected (`> bao-cao.xlsx`, a pipe), every format goes where it was sent.
    let file = file.map(|f| ctx.cwd.join(f)).or_else(|| {
        (format == ReportFormat::Xlsx && ctx.terminal).then(|| {
            let (from, to) = period.days();
            ctx.cwd.join(format!(
                "bao-cao-{}-{}.xlsx",
                from.format("%Y%m%d"),
                to.format("%Y%m%d")
            ))
        })
    });
    match file {
        None => out.write_all(&bytes).map_err(io)?,
        Some(path) => {
            std::fs::write(&path, &bytes)
                .map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))?;
            writeln!(
                err,
                "{}",
                tr!(
                    lang,
                    "đã ghi báo cáo vào {}",
                    "report written to {}",
                    path.display()
                )
            )
            .map_err(io)?;
        }
    }
    Ok(())
}
