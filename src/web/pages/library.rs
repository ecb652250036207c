//! The Library page (every queue and clip, with its state) and a clip's details.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;

use crate::web::input::Query;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::Utc;
use serde::Deserialize;

use crate::lang::Lang;
use crate::web::view::{render, Chrome};
use crate::web::{App, Refusal, Visitor};

pub(in crate::web) struct FolderView {
    pub(in crate::web) folder: String,
    pub(in crate::web) mode: String,
    pub(in crate::web) settings_errors: Vec<String>,
    pub(in crate::web) clips: Vec<ClipView>,
}

pub(in crate::web) struct ClipView {
    pub(in crate::web) rel: String,
    pub(in crate::web) title: String,
    pub(in crate::web) state: String,
    pub(in crate::web) detail: Option<String>,
    pub(in crate::web) aired: i64,
    pub(in crate::web) limit: Option<u32>,
}

#[derive(Template)]
#[template(path = "library.html")]
struct LibraryPage {
    c: Chrome,
    folders: Vec<FolderView>,
    queues: Vec<String>,
    /// The operator's order for a province's ưu tiên bulletin clashing with a commune
    /// priority item (its code), and the choices.
    clash_order: String,
    clash_orders: Vec<crate::web::view::Choice>,
    /// What the change just made did (retired, deleted, saved).
    done: Option<String>,
}

/// Every queue and its clips with their states: as the daemon last published them, or
/// stated here when no daemon runs.
pub(in crate::web) fn library_of(app: &App) -> Result<crate::status::Library, Refusal> {
    let now = Utc::now();
    if app.live_status(now).is_some() {
        if let Some(lib) =
            crate::status::read_library(&crate::status::library_path_for(&app.config.journal))
        {
            return Ok(lib);
        }
    }
    let loaded = app.station()?;
    let station = loaded.station;
    let journal = app.journal()?;
    crate::status::library(
        &station.catalog(),
        journal.as_ref(),
        &station.schedules,
        &station.config.emergency_dir,
        now,
        station.config.timezone,
        station.config.language,
    )
    .map_err(|e| Refusal::Failed(e.to_string()))
}

pub(in crate::web) fn folder_views(lib: crate::status::Library, lang: Lang) -> Vec<FolderView> {
    lib.folders
        .into_iter()
        .map(|f| FolderView {
            mode: f.mode.label(lang),
            folder: f.folder,
            settings_errors: f.settings_errors,
            clips: f
                .clips
                .into_iter()
                .map(|c| ClipView {
                    state: c.state.label(lang).to_string(),
                    rel: c.rel,
                    title: c.title,
                    detail: c.detail,
                    aired: c.aired,
                    limit: c.limit,
                })
                .collect(),
        })
        .collect()
}

pub(in crate::web) async fn library(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    headers: axum::http::HeaderMap,
) -> Response {
    let lang = v.lang;
    let shown = crate::web::blocking(&app, move |a| {
        // The last choice: one the daemon has yet to journal, else the journal's.
        let handed = crate::mailbox::pending(&a.config.audio_dir)
            .into_iter()
            .rev()
            .filter_map(|(_, action)| action.ok())
            .filter(|action| action.what == crate::journal::What::BulletinOrder)
            .find_map(|action| crate::journal::ClashOrder::from_code(&action.detail?));
        let order = match (handed, a.journal()?) {
            (Some(order), _) => order,
            (None, Some(j)) => j
                .clash_order()
                .map_err(|e| Refusal::Failed(e.to_string()))?,
            (None, None) => crate::journal::ClashOrder::default(),
        };
        Ok((
            folder_views(library_of(a)?, lang),
            crate::web::upload_folders(a)?,
            order,
        ))
    })
    .await;
    match shown {
        Ok((folders, queues, order)) => crate::web::flash_shown(render(&LibraryPage {
            c: Chrome::new(&app, &v, "library"),
            folders,
            queues,
            clash_order: order.code().to_string(),
            clash_orders: crate::web::view::Choice::clash_orders(lang),
            done: crate::web::flash(&headers),
        })),
        Err(r) => r.into_response(),
    }
}

#[derive(Template)]
#[template(path = "clip.html")]
pub(in crate::web) struct ClipPage {
    pub(in crate::web) c: Chrome,
    pub(in crate::web) rel: String,
    pub(in crate::web) errors: Vec<String>,
    pub(in crate::web) title: String,
    pub(in crate::web) topic: String,
    pub(in crate::web) from: String,
    pub(in crate::web) until: String,
    pub(in crate::web) times: String,
    pub(in crate::web) priority: String,
    pub(in crate::web) priorities: Vec<crate::web::view::Choice>,
    pub(in crate::web) topics: Vec<crate::web::view::Choice>,
}

#[derive(Deserialize)]
pub(in crate::web) struct RelQuery {
    rel: String,
}

pub(in crate::web) async fn clip(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<RelQuery>,
) -> Response {
    let path = match crate::web::confined(&app, &q.rel, v.lang) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let side = crate::sidecar::sidecar_path(&path);
    let text = std::fs::read_to_string(&side).unwrap_or_default();
    let table: toml::Table = toml::from_str(&text).unwrap_or_default();
    let get = |k: &str| {
        table
            .get(k)
            .map(|v| match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    render(&ClipPage {
        c: Chrome::new(&app, &v, "library"),
        rel: q.rel,
        errors: Vec::new(),
        title: get("title"),
        topic: get("topic"),
        from: get("from"),
        until: get("until"),
        times: get("times"),
        priority: get("priority"),
        priorities: crate::web::view::Choice::clip_priorities(v.lang),
        topics: app.declared().topics,
    })
}
