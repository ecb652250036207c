//! The Emergency page: hand a clip or an upload over to air at once.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::Utc;

use crate::web::view::{render, Chrome};
use crate::web::{App, Refusal, Visitor};

#[derive(Template)]
#[template(path = "emergency.html")]
pub(in crate::web) struct EmergencyPage {
    pub(in crate::web) c: Chrome,
    pub(in crate::web) clips: Vec<String>,
    pub(in crate::web) on_air: Option<String>,
    pub(in crate::web) done: Option<String>,
}

pub(in crate::web) fn emergency_page(app: &App, v: &Visitor, done: Option<String>) -> Response {
    let lib = super::library::library_of(app).unwrap_or_default();
    let mut clips: Vec<String> = lib
        .folders
        .iter()
        .flat_map(|f| f.clips.iter())
        .filter(|c| c.state == crate::status::ClipStatus::Waiting)
        .map(|c| c.rel.clone())
        .collect();
    clips.sort();
    clips.dedup();
    let on_air = app
        .live_status(Utc::now())
        .and_then(|s| s.on_air)
        .map(|a| format!("{} ({})", a.title, a.priority.label(v.lang)));
    render(&EmergencyPage {
        c: Chrome::new(app, v, "emergency"),
        clips,
        on_air,
        done,
    })
}

pub(in crate::web) async fn emergency(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let a = app.clone();
    tokio::task::spawn_blocking(move || emergency_page(&a, &v, None))
        .await
        .unwrap_or_else(|e| Refusal::Failed(e.to_string()).into_response())
}
