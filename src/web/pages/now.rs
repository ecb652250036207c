//! The Now page: what airs, what comes next, the output and the journal at a glance.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::Utc;

use crate::web::view::{render, Chrome, Now};
use crate::web::{App, Visitor};

#[derive(Template)]
#[template(path = "now.html")]
struct NowPage {
    c: Chrome,
    now: Now,
}

pub(in crate::web) async fn now(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let lang = v.lang;
    match crate::web::blocking(&app, move |a| a.now_view(Utc::now(), lang)).await {
        Ok(now) => render(&NowPage {
            c: Chrome::new(&app, &v, "now"),
            now,
        }),
        Err(r) => r.into_response(),
    }
}
