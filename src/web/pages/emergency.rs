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
    /// Said before anything is pressed: with loaxa stopped, nothing handed over airs.
    pub(in crate::web) not_running: Option<String>,
    /// Stale emergencies the daemon set aside instead of airing.
    pub(in crate::web) expired: Vec<String>,
}

/// What the console says of an emergency it handed over: whether it airs now, or waits for
/// a loaxa that is not running (and then only while it is fresh). `true` if it airs now.
pub(in crate::web) fn handed_words(
    app: &App,
    lang: crate::lang::Lang,
    name: &str,
) -> (bool, String) {
    if app.live_status(Utc::now()).is_some() {
        return (
            true,
            crate::tr!(
                lang,
                "đã giao {name} cho loaxa: phát ngay như tin khẩn cấp",
                "{name} handed to loaxa: it airs now as an emergency"
            ),
        );
    }
    (false, not_running_words(app, lang, Some(name)))
}

fn not_running_words(app: &App, lang: crate::lang::Lang, name: Option<&str>) -> String {
    let age = lang.span(app.config.emergency_max_age.as_secs() as i64);
    let name = name.map(|n| format!(" ({n})")).unwrap_or_default();
    crate::tr!(
        lang,
        "loaxa không chạy: tin khẩn cấp{name} sẽ KHÔNG được phát cho đến khi loaxa chạy lại, và chỉ khi đó chưa quá {age} kể từ lúc giao (quá hạn thì bị bỏ, không phát). Hãy khởi động loaxa: sudo systemctl start loaxa",
        "loaxa is not running: the emergency{name} will NOT air until loaxa runs again, and then only if it was handed over less than {age} before (a stale one is set aside, not aired). Start loaxa: sudo systemctl start loaxa"
    )
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
    let live = app.live_status(Utc::now());
    let on_air = live
        .as_ref()
        .and_then(|s| s.on_air.as_ref())
        .map(|a| format!("{} ({})", a.title, a.kind(v.lang)));
    let not_running = live.is_none().then(|| not_running_words(app, v.lang, None));
    let expired = live
        .map(|s| {
            s.expired
                .iter()
                .map(|e| e.text(v.lang, app.config.timezone))
                .collect()
        })
        .unwrap_or_default();
    render(&EmergencyPage {
        c: Chrome::new(app, v, "emergency"),
        clips,
        on_air,
        done,
        not_running,
        expired,
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
