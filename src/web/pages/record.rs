//! The Record page (Ghi âm): the operator records an announcement with the browser's
//! microphone, hears it back, trims its start and end, names it, and saves it into a queue or
//! hands it over to air now. The recording runs in the page's script (MediaRecorder); the
//! save is an upload (`upload::record`), so a take is decoded in full and journaled as any
//! clip. Without a script, or without a microphone the browser will open, the same form
//! takes a file (a phone offers its own recorder for it). Where the station has a microphone
//! of its own (`live_input`), the page also puts it on air live, and ends that.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::web::view::{render, Choice, Chrome};
use crate::web::{App, Visitor};

#[derive(Template)]
#[template(path = "record.html")]
pub(in crate::web) struct RecordPage {
    pub(in crate::web) c: Chrome,
    /// Where a take may go: each queue with the plan items that take from it, then the
    /// hand-overs to air now.
    pub(in crate::web) queues: Vec<Choice>,
    pub(in crate::web) now: Vec<Choice>,
    pub(in crate::web) done: Option<String>,
    /// The station's microphone for going live (`live_input`), if it has one.
    pub(in crate::web) live_input: Option<String>,
    /// What is on air now, for the Live buttons.
    pub(in crate::web) on_air: Option<String>,
    pub(in crate::web) priorities: Vec<Choice>,
}

pub(in crate::web) async fn record(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    headers: HeaderMap,
) -> Response {
    let lang = v.lang;
    match crate::web::blocking(&app, crate::web::queue_items).await {
        Ok(items) => crate::web::flash_shown(render(&RecordPage {
            c: Chrome::new(&app, &v, "record"),
            queues: items
                .into_iter()
                .map(|(folder, titles)| {
                    let label = format!("{folder} — {}", titles.join(", "));
                    Choice::new(folder, label)
                })
                .collect(),
            now: vec![
                Choice::new(
                    "now:normal",
                    lang.pick(
                        "Phát ngay khi không có gì đang phát",
                        "Air as soon as nothing is on air",
                    ),
                ),
                Choice::new(
                    "now:priority",
                    lang.pick(
                        "Phát ngay, ưu tiên (trước các bài đang chờ)",
                        "Air now, priority (before what waits)",
                    ),
                ),
                Choice::new(
                    "emergency",
                    lang.pick(
                        "KHẨN CẤP: cắt ngang bài đang phát",
                        "EMERGENCY: cut what is on air",
                    ),
                ),
            ],
            done: crate::web::flash(&headers),
            live_input: app.config.live_input.clone(),
            on_air: app
                .live_status(chrono::Utc::now())
                .and_then(|s| s.on_air)
                .map(|a| a.title),
            priorities: [
                crate::journal::Priority::Normal,
                crate::journal::Priority::Priority,
                crate::journal::Priority::Emergency,
            ]
            .iter()
            .map(|p| Choice::new(p.code(), p.label(lang)))
            .collect(),
        })),
        Err(r) => r.into_response(),
    }
}
