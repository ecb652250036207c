//! `loaxa doctor`: every check an operator would need, with its fix.

use super::*;

pub(super) fn doctor(
    ctx: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    // A broken configuration is printed, located, and is the finding.
    let station = ctx.station(Schedules::Lenient, err)?.station;
    let lang = station.lang();
    // Count problems as `validate` would (with audio checks).
    let full = Station::load(
        station.config.clone(),
        Schedules::Strict { check_audio: true },
    );
    let (errors, warnings) = match &full {
        Ok(loaded) => (0, loaded.diagnostics.len()),
        Err(StationError::Schedules(d)) => (
            d.iter().filter(|d| d.is_error()).count(),
            d.iter().filter(|d| !d.is_error()).count(),
        ),
        Err(StationError::Config(_)) => (1, 0),
    };
    let mut findings = crate::doctor::examine(
        &station,
        errors,
        warnings,
        &|cfg| Some(open_output(cfg)),
        ctx.now,
    );
    // Listening to the relay sources takes seconds each: here, not in the console's health.
    findings.extend(crate::doctor::relays(&station));
    writeln!(
        out,
        "{}",
        tr!(
            lang,
            "{} — kiểm tra sức khỏe",
            "{} — health check",
            station.config.station_name
        )
    )
    .map_err(io)?;
    write!(out, "{}", crate::doctor::render(&findings, lang)).map_err(io)?;
    if findings
        .iter()
        .any(|f| f.level == crate::doctor::Level::Fail)
    {
        Err(Failure::Broken)
    } else {
        Ok(())
    }
}
