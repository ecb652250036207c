//! The console's JSON API under `/api/` (what the pages show, for scripts and the province's
//! tools), the live updates the pages listen to (server-sent events), and `/metrics` in
//! Prometheus text format.

use std::convert::Infallible;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;

use crate::web::input::Query;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;
use serde::Serialize;

use super::blocking;
use super::pages::{LogFilter, ReportQuery};
use super::{App, Refusal, Visitor};

fn json<T: Serialize>(r: Result<T, Refusal>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(r) => r.into_response(),
    }
}

/// `GET /api/status`: on air, next five, output, backlog, rejected files and clips, chain head.
pub(super) async fn status(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let lang = v.lang;
    json(blocking(&app, move |a| a.now_view(Utc::now(), lang)).await)
}

/// What the live pages watch: the status file's stamp and the journal's head. Either moving
/// means something changed on air.
fn fingerprint(app: &App) -> String {
    let stamp = |p: std::path::PathBuf| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .map(|t| format!("{t:?}"))
            .unwrap_or_default()
    };
    format!(
        "{}|{}|{}",
        stamp(crate::status::path_for(&app.config.journal)),
        stamp(std::path::PathBuf::from(format!(
            "{}-wal",
            app.config.journal.display()
        ))),
        stamp(app.config.journal.clone())
    )
}

/// `GET /api/events`: a server-sent event `change` within a quarter of a second of the
/// daemon publishing a new status or journaling an event; the page then fetches itself again.
pub(super) async fn events(State(app): State<Arc<App>>) -> Response {
    let first = fingerprint(&app);
    let stream = futures_util::stream::unfold((app, first), |(app, last)| async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if *app.stopping.borrow() {
                return None;
            }
            let now = fingerprint(&app);
            if now != last {
                let e: Result<Event, Infallible> = Ok(Event::default().event("change").data("1"));
                return Some((e, (app, now)));
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[derive(serde::Deserialize)]
pub(super) struct DaysQuery {
    days: Option<i64>,
}

/// `GET /api/timetable?days=7`: the occurrences ahead as the planning function plans them.
pub(super) async fn timetable(State(app): State<Arc<App>>, Query(q): Query<DaysQuery>) -> Response {
    let days = q.days.unwrap_or(7).clamp(1, 62);
    json(
        blocking(&app, move |a| {
            let now = Utc::now();
            let planned = a.planned(
                &a.station()?,
                now,
                now + chrono::Duration::days(days),
                20_000,
            )?;
            // The shape `loaxa next --format json` gives.
            serde_json::to_value(crate::planner::ForecastRow::all(&planned))
                .map_err(|e| Refusal::Failed(e.to_string()))
        })
        .await,
    )
}

/// `GET /api/clips`: every queue and clip with its state, as `status` shows them.
pub(super) async fn clips(State(app): State<Arc<App>>) -> Response {
    json(blocking(&app, super::pages::library_of).await)
}

/// `GET /api/log?from=&to=&plan=&slot=&topic=&outcome=&limit=&cursor=`: the journal's
/// records, a page at a time: `next` is the cursor of the page after, while there is one.
pub(super) async fn log(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(f): Query<LogFilter>,
) -> Response {
    let lang = v.lang;
    json(
        blocking(&app, move |a| {
            let (from, to) = f.days(a, lang)?;
            let all = f.select(a, lang)?;
            let start = f.cursor.unwrap_or(0).min(all.len());
            let limit = f.limit.unwrap_or(super::pages::API_LIMIT);
            let end = (start + limit).min(all.len());
            Ok(serde_json::json!({
                "station": a.config.station_name,
                "timezone": a.config.timezone.to_string(),
                "from": from.to_string(),
                "to": to.to_string(),
                "total": all.len(),
                "records": &all[start..end],
                "next": (end < all.len()).then_some(end),
            }))
        })
        .await,
    )
}

/// `GET /api/report?month=2025-09` (or `quarter=2025-Q3`): the report as JSON.
pub(super) async fn report(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let lang = v.lang;
    match blocking(&app, move |a| {
        let period = q.period(a)?;
        super::pages::build_report(a, period, lang).map(|r| r.to_json())
    })
    .await
    {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(r) => r.into_response(),
    }
}

/// `GET /api/verify`: the Health page's chain verification, its progress and result.
pub(super) async fn verify(State(app): State<Arc<App>>) -> Response {
    let run = app.verification.lock().ok().and_then(|r| r.clone());
    Json(match run {
        None => serde_json::json!({"running": false, "percent": 0, "result": null}),
        Some(r) => serde_json::json!({
            "running": !r.done.load(std::sync::atomic::Ordering::Acquire),
            "percent": r.percent(),
            "checked": r.checked.load(std::sync::atomic::Ordering::Relaxed),
            "total": r.total,
            "intact": r.intact.load(std::sync::atomic::Ordering::Relaxed),
            "result": r.text(),
        }),
    })
    .into_response()
}

/// `GET /metrics`: Prometheus text format.
pub(super) async fn metrics(State(app): State<Arc<App>>) -> Response {
    match blocking(&app, metrics_text).await {
        Ok(t) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            t,
        )
            .into_response(),
        Err(r) => r.into_response(),
    }
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(super) fn metrics_text(app: &App) -> Result<String, Refusal> {
    let now = Utc::now();
    let lang = crate::lang::Lang::En;
    let view = app.now_view(now, lang)?;
    let station = label(&app.config.station_name);
    let mut o = String::new();
    let gauge = |o: &mut String, name: &str, help: &str, value: String| {
        let _ = writeln!(
            o,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{station=\"{station}\"}} {value}"
        );
    };
    gauge(
        &mut o,
        "loaxa_daemon_up",
        "1 if the airing daemon is running.",
        u8::from(view.daemon_running).to_string(),
    );
    gauge(
        &mut o,
        "loaxa_on_air",
        "1 while a broadcast is on air.",
        u8::from(view.on_air.is_some()).to_string(),
    );
    gauge(
        &mut o,
        "loaxa_output_up",
        "1 if the sound output works.",
        u8::from(view.output_up).to_string(),
    );
    gauge(
        &mut o,
        "loaxa_journal_backlog",
        "Events held because the journal refused them.",
        view.journal_backlog.to_string(),
    );
    gauge(
        &mut o,
        "loaxa_chain_head_seq",
        "Sequence number of the journal's last event.",
        view.chain_head.0.to_string(),
    );
    gauge(
        &mut o,
        "loaxa_rejected_schedule_files",
        "Schedule files rejected.",
        view.rejected_files.len().to_string(),
    );
    gauge(
        &mut o,
        "loaxa_rejected_clips",
        "Clips that will not air.",
        view.rejected_clips.len().to_string(),
    );
    if app.province {
        let state = crate::sync::read(&crate::sync::path_for(&app.config.journal));
        gauge(
            &mut o,
            "loaxa_province_acked_seq",
            "The last journal event the province acknowledged.",
            state.as_ref().map_or(0, |s| s.acked_seq).to_string(),
        );
        let ledger = crate::bulletin::Ledger::read(&crate::bulletin::path_for(&app.config.journal));
        let mut aired: std::collections::HashMap<String, i64> = Default::default();
        if let Some(journal) = app.journal()? {
            for folder in [
                app.config.emergency_dir.as_str(),
                crate::catalog::PLAY_DIR,
                crate::catalog::PROVINCE_DIR,
            ] {
                aired.extend(
                    journal
                        .aired_counts(folder)
                        .map_err(|e| Refusal::Failed(e.to_string()))?,
                );
            }
        }
        let counts = ledger.counts(|file| aired.get(file).is_some_and(|n| *n > 0));
        for (name, help, n) in [
            (
                "loaxa_bulletins_received",
                "Province bulletins received.",
                counts.received,
            ),
            (
                "loaxa_bulletins_aired",
                "Province bulletins aired in full at least once.",
                counts.aired,
            ),
            (
                "loaxa_bulletins_refused",
                "Province bulletins refused (their clip did not check out).",
                counts.refused,
            ),
            (
                "loaxa_bulletins_expired",
                "Province bulletins that ended before they could air.",
                counts.expired,
            ),
            (
                "loaxa_bulletins_withdrawn",
                "Province bulletins withdrawn.",
                counts.withdrawn,
            ),
        ] {
            gauge(&mut o, name, help, n.to_string());
        }
        gauge(
            &mut o,
            "loaxa_province_sending_ok",
            "1 if the last attempt to send to the province succeeded.",
            u8::from(state.is_some_and(|s| s.error.is_none() && s.acked_at.is_some())).to_string(),
        );
    }
    gauge(
        &mut o,
        "loaxa_console_actions_waiting",
        "Console actions not yet journaled.",
        view.actions_waiting.to_string(),
    );
    let _ = writeln!(
        o,
        "# HELP loaxa_chain_head Journal chain head (hash as a label).\n# TYPE loaxa_chain_head gauge\nloaxa_chain_head{{station=\"{station}\",hash=\"{}\"}} {}",
        label(&view.chain_head.1),
        view.chain_head.0
    );
    // The last outcome of each slot, over the last two weeks.
    if let Some(journal) = app.journal()? {
        let records = journal
            .records(now - chrono::Duration::days(14), now)
            .map_err(|e| Refusal::Failed(e.to_string()))?;
        let mut last: std::collections::BTreeMap<(String, String), &crate::journal::Record> =
            Default::default();
        for r in records.iter().filter(|r| !r.info.manual) {
            last.insert((r.info.plan.clone(), r.info.slot.clone()), r);
        }
        let _ = writeln!(o, "# HELP loaxa_slot_last_outcome The last outcome of each slot (1 for the outcome it had).\n# TYPE loaxa_slot_last_outcome gauge");
        let _ = writeln!(o, "# HELP loaxa_slot_last_scheduled_seconds When each slot's last occurrence was due (Unix time).\n# TYPE loaxa_slot_last_scheduled_seconds gauge");
        for ((plan, slot), r) in last {
            let outcome = crate::history::Filter::outcome_code(r);
            let _ = writeln!(
                o,
                "loaxa_slot_last_outcome{{station=\"{station}\",plan=\"{}\",slot=\"{}\",outcome=\"{outcome}\"}} 1",
                label(&plan),
                label(&slot)
            );
            let _ = writeln!(
                o,
                "loaxa_slot_last_scheduled_seconds{{station=\"{station}\",plan=\"{}\",slot=\"{}\"}} {}",
                label(&plan),
                label(&slot),
                r.info.scheduled_at.timestamp()
            );
        }
    }
    Ok(o)
}
