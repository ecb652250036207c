//! The Verify page: the centre's copy of every station's chain walked again — from each
//! station's last verified checkpoint, or in full — station by station in the background,
//! its progress shown as it goes; the stations it finds broken or flagged, linked to their
//! evidence (and re-admission, on the commune's page).

use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::pages::chrome;
use super::{App, Visitor};
use crate::central::bulletin::PROVINCE_ZONE;
use crate::central::{self, StationCheck};
use crate::lang::Lang;
use crate::web::input::Form;
use crate::web::view::{render, Chrome};

/// A verification run: under way or the last one done.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Run {
    pub full: bool,
    pub by: String,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub total: usize,
    pub checks: Vec<StationCheck>,
    /// Why the run stopped short, if it did.
    pub error: Option<String>,
}

/// The run the console knows of.
#[derive(Default)]
pub(super) struct Runs(Mutex<Option<Run>>);

impl Runs {
    fn get(&self) -> Option<Run> {
        self.0.lock().ok().and_then(|r| r.clone())
    }

    fn update(&self, f: impl FnOnce(&mut Run)) {
        if let Ok(mut r) = self.0.lock() {
            if let Some(run) = r.as_mut() {
                f(run);
            }
        }
    }

    /// Starts a run unless one is under way; says whether it did.
    fn start(&self, run: Run) -> bool {
        let Ok(mut r) = self.0.lock() else {
            return false;
        };
        if r.as_ref().is_some_and(|r| r.finished.is_none()) {
            return false;
        }
        *r = Some(run);
        true
    }
}

struct Row {
    station: String,
    events: i64,
    from: i64,
    problem: Option<String>,
    flag: Option<String>,
    evidence: String,
}

#[derive(Template)]
#[template(path = "province/verify.html")]
struct VerifyPage {
    c: Chrome,
    run: Option<Run>,
    running: bool,
    started: String,
    rows: Vec<Row>,
    bad: usize,
}

fn rows(run: &Run, lang: Lang) -> Vec<Row> {
    run.checks
        .iter()
        .map(|c| Row {
            station: c.station.clone(),
            events: c.events,
            from: c.from,
            problem: c.problem.as_ref().map(|b| b.text(lang)),
            flag: c.flag.as_ref().map(|f| f.text(lang)),
            evidence: format!("{} / {}", c.forks, c.readmissions),
        })
        .collect()
}

pub(super) async fn page(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let run = app.runs.get();
    let rows = run.as_ref().map(|r| rows(r, v.lang)).unwrap_or_default();
    render(&VerifyPage {
        c: chrome(&v, "verify"),
        running: run.as_ref().is_some_and(|r| r.finished.is_none()),
        started: run.as_ref().map_or_else(String::new, |r| {
            r.started
                .with_timezone(&PROVINCE_ZONE)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        }),
        bad: rows
            .iter()
            .filter(|r| r.problem.is_some() || r.flag.is_some())
            .count(),
        rows,
        run,
    })
}

/// `/api/verify`: the run under way or the last, as JSON.
pub(super) async fn json(State(app): State<Arc<App>>) -> Response {
    axum::Json(app.runs.get()).into_response()
}

#[derive(Deserialize)]
pub(super) struct StartForm {
    #[serde(default)]
    full: Option<String>,
}

/// `POST /verify`: starts a run in the background (one at a time).
pub(super) async fn start(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Form(f): Form<StartForm>,
) -> Response {
    let full = f.full.is_some();
    let run = Run {
        full,
        by: v.user(),
        started: Utc::now(),
        finished: None,
        total: 0,
        checks: Vec::new(),
        error: None,
    };
    if app.runs.start(run) {
        let detail = if full { "full" } else { "from the checkpoints" };
        let _ = app.log(&v, "verify_started", Some(detail)).await;
        let a = app.clone();
        tokio::spawn(async move {
            let error = walk(&a, full).await.err().map(|e| e.text(a.lang));
            a.runs.update(|r| {
                r.error = error;
                r.finished = Some(Utc::now());
            });
        });
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/verify")]).into_response()
}

/// Walks every station, one at a time, adding each result as it comes.
async fn walk(app: &App, full: bool) -> Result<(), central::CentralError> {
    let conn = app.pool.get().await?;
    let t = app.target();
    let ids: Vec<String> = central::stations::names(t, &conn)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    app.runs.update(|r| r.total = ids.len());
    for id in ids {
        let mut checks = central::verify(t, &conn, std::slice::from_ref(&id), full).await?;
        app.runs.update(|r| r.checks.append(&mut checks));
    }
    Ok(())
}
