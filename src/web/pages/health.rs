//! The Health page: `loaxa doctor`'s findings and a journal verification to run.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;

use crate::web::input::Query;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use chrono::Utc;
use serde::Deserialize;

use crate::web::view::{render, Chrome, VerifyRun};
use crate::web::{App, Visitor};

#[derive(Template)]
#[template(path = "health.html")]
struct HealthPage {
    c: Chrome,
    findings: Vec<(&'static str, &'static str, String, String, String)>,
    percent: u32,
    result: String,
}

#[derive(Deserialize)]
pub(in crate::web) struct HealthQuery {
    verify: Option<String>,
}

pub(in crate::web) async fn health(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<HealthQuery>,
) -> Response {
    if q.verify.is_some() {
        let running = app
            .verification
            .lock()
            .ok()
            .and_then(|r| r.clone())
            .is_some_and(|r| !r.done.load(std::sync::atomic::Ordering::Acquire));
        if !running {
            match VerifyRun::start(&app) {
                Ok(run) => {
                    if let Ok(mut slot) = app.verification.lock() {
                        *slot = Some(run);
                    }
                }
                Err(r) => return r.into_response(),
            }
        }
        return Redirect::to("/health").into_response();
    }
    let findings = crate::web::blocking(&app, |a| {
        let loaded = a.station()?;
        let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = loaded.diagnostics.len() - errors;
        // The console never opens the sound device: the daemon owns it.
        Ok(crate::doctor::examine(
            &loaded.station,
            errors,
            warnings,
            &|_| None,
            Utc::now(),
        ))
    })
    .await;
    let findings = match findings {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let run = app.verification.lock().ok().and_then(|r| r.clone());
    render(&HealthPage {
        c: Chrome::new(&app, &v, "health"),
        findings: findings
            .into_iter()
            .map(|f| {
                (
                    f.level.class(),
                    f.level.label(v.lang),
                    f.what,
                    f.detail,
                    f.fix,
                )
            })
            .collect(),
        percent: run.as_ref().map_or(0, |r| r.percent()),
        result: run.and_then(|r| r.text()).unwrap_or_default(),
    })
}
