//! The Timetable page: the week's occurrences, planned against what aired.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;

use crate::web::input::Query;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::lang::Lang;
use crate::web::view::{render, Chrome};
use crate::web::{App, Refusal, Visitor};

pub(in crate::web) struct DayColumn {
    label: String,
    items: Vec<Occ>,
}

pub(in crate::web) struct Occ {
    time: String,
    title: String,
    held: Option<String>,
    emergency: bool,
    clips: String,
    /// For what is past: how it went, from the journal.
    outcome: Option<String>,
}

pub(in crate::web) struct FileState {
    name: String,
    errors: String,
}

#[derive(Template)]
#[template(path = "timetable.html")]
struct TimetablePage {
    c: Chrome,
    week_label: String,
    prev: String,
    next: String,
    days: Vec<DayColumn>,
    files: Vec<FileState>,
}

#[derive(Deserialize)]
pub(in crate::web) struct WeekQuery {
    week: Option<NaiveDate>,
}

/// The week's occurrences as the planning function sees them, day by day.
pub(in crate::web) fn week(
    app: &App,
    monday: NaiveDate,
    lang: Lang,
) -> Result<(Vec<DayColumn>, Vec<FileState>), Refusal> {
    let loaded = app.station()?;
    let tz = app.config.timezone;
    let start = crate::recurrence::local_midnight(tz, monday);
    let end = crate::recurrence::local_midnight(tz, monday + Duration::days(7));
    // What is past is what the journal says happened; what is ahead, as it will be planned.
    let now = Utc::now();
    let planned = if end > now {
        app.planned(&loaded, start.max(now), end, 5000)?
    } else {
        Vec::new()
    };
    let past = match app.journal()? {
        Some(j) if start < now => j
            .records(start, end.min(now))
            .map_err(|e| Refusal::Failed(e.to_string()))?,
        _ => Vec::new(),
    };
    let mut days: Vec<DayColumn> = (0..7)
        .map(|i| {
            let d = monday + Duration::days(i);
            DayColumn {
                label: format!("{} {}", lang.weekday(d.weekday()), d.format("%d/%m")),
                items: Vec::new(),
            }
        })
        .collect();
    for (due, plan) in planned {
        let local = due.at.with_timezone(&tz);
        let i = (local.date_naive() - monday).num_days();
        let Some(day) = usize::try_from(i).ok().and_then(|i| days.get_mut(i)) else {
            continue;
        };
        let (held, clips) = match &plan {
            crate::planner::Planned::Held(r) => (Some(r.text(lang)), String::new()),
            crate::planner::Planned::Airs(p) => (
                None,
                p.playable()
                    .iter()
                    .map(|c| c.rel.rsplit('/').next().unwrap_or(&c.rel).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        };
        day.items.push(Occ {
            time: local.format("%H:%M").to_string(),
            title: due.slot.title.clone(),
            held,
            emergency: due.slot.priority == crate::schedule::Priority::Emergency,
            clips,
            outcome: None,
        });
    }
    for r in past {
        let local = r.info.scheduled_at.with_timezone(&tz);
        let i = (local.date_naive() - monday).num_days();
        let Some(day) = usize::try_from(i).ok().and_then(|i| days.get_mut(i)) else {
            continue;
        };
        day.items.push(Occ {
            time: local.format("%H:%M").to_string(),
            title: r.info.title.clone(),
            held: None,
            emergency: r.info.priority == crate::schedule::Priority::Emergency,
            clips: String::new(),
            outcome: Some(crate::history::outcome(&r, lang)),
        });
    }
    for day in &mut days {
        day.items.sort_by(|a, b| a.time.cmp(&b.time));
    }
    let mut files: Vec<FileState> = std::fs::read_dir(&app.config.schedules_dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml") && !n.starts_with('.'))
                .map(|name| FileState {
                    errors: loaded
                        .diagnostics
                        .iter()
                        .filter(|d| {
                            d.is_error()
                                && d.file
                                    .file_name()
                                    .is_some_and(|f| f.to_string_lossy() == name)
                        })
                        .map(|d| d.render(lang))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    name,
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((days, files))
}

pub(in crate::web) fn this_monday(app: &App) -> NaiveDate {
    let today = Utc::now().with_timezone(&app.config.timezone).date_naive();
    today - Duration::days(i64::from(today.weekday().num_days_from_monday()))
}

pub(in crate::web) async fn timetable(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<WeekQuery>,
) -> Response {
    let monday = q.week.unwrap_or_else(|| this_monday(&app));
    let monday = monday - Duration::days(i64::from(monday.weekday().num_days_from_monday()));
    let lang = v.lang;
    match crate::web::blocking(&app, move |a| week(a, monday, lang)).await {
        Ok((days, files)) => render(&TimetablePage {
            c: Chrome::new(&app, &v, "timetable"),
            week_label: format!(
                "{} – {}",
                monday.format("%d/%m/%Y"),
                (monday + Duration::days(6)).format("%d/%m/%Y")
            ),
            prev: (monday - Duration::days(7)).to_string(),
            next: (monday + Duration::days(7)).to_string(),
            days,
            files,
        }),
        Err(r) => r.into_response(),
    }
}
