//! A commune's page at the province: its state now, this month's completion, its journal as
//! the centre holds it (the station console's Log, with its filters and words, paged in SQL),
//! how its link stands (its head, contacts, refused calls), its fork evidence and
//! re-admissions — and, for an approver, re-admission with a reason.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::{Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::pages::chrome;
use super::{failed, App, Visitor};
use crate::central::bulletin::PROVINCE_ZONE;
use crate::central::commune::{self, LogQuery};
use crate::central::console::ConsoleRole;
use crate::central::{stations, CentralError};
use crate::history::{outcome, outcome_label, played, Filter};
use crate::lang::Lang;
use crate::tr;
use crate::web::input::{Form, Query};
use crate::web::view::{render, Chrome};
use crate::web::Refusal;

/// Records on one page of a commune's log.
pub(super) const PAGE: i64 = 50;

#[derive(Deserialize, Default, Clone)]
pub(super) struct LogFilter {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    slot: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    page: Option<i64>,
    /// Records a page (the API: 1 to 500; the page shows [`PAGE`]).
    #[serde(default)]
    per: Option<i64>,
}

impl LogFilter {
    /// The query it asks for: this month so far unless it says, every value checked (a bad
    /// date or outcome is refused, never read as the default).
    fn query(&self, lang: Lang) -> Result<LogQuery, Refusal> {
        let today = Utc::now().with_timezone(&PROVINCE_ZONE).date_naive();
        let (from, to) = crate::web::pages::day_span(
            &self.from,
            &self.to,
            today,
            |to| chrono::Datelike::with_day(&to, 1).unwrap_or(to),
            lang,
        )?;
        if !self.outcome.is_empty()
            && self.outcome != "unfinished"
            && !Filter::OUTCOMES.contains(&self.outcome.as_str())
        {
            return Err(Refusal::BadRequest(tr!(
                lang,
                "kết quả không hợp lệ «{}»",
                "invalid outcome “{}”",
                self.outcome
            )));
        }
        let instant = |d: NaiveDate| {
            crate::recurrence::local_to_utc(
                PROVINCE_ZONE,
                d.and_hms_opt(0, 0, 0).unwrap_or_default(),
            )
            .unwrap_or_default()
        };
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let page = self.page.unwrap_or(1).max(1);
        let per = self.per.unwrap_or(PAGE).clamp(1, 500);
        Ok(LogQuery {
            from: instant(from),
            to: instant(to + Duration::days(1)),
            plan: some(&self.plan),
            slot: some(&self.slot),
            topic: some(&self.topic),
            outcome: some(&self.outcome),
            offset: (page - 1).saturating_mul(per),
            limit: per,
        })
    }
}

struct LogRow {
    scheduled: String,
    slot: String,
    title: String,
    topic: String,
    code: &'static str,
    outcome: String,
    played: String,
    manual: bool,
}

#[derive(Template)]
#[template(path = "province/commune.html")]
struct CommunePage {
    c: Chrome,
    id: String,
    name: String,
    state: String,
    code: &'static str,
    completion: String,
    score: String,
    flag: Option<String>,
    link: commune::Commune,
    contact: String,
    received: String,
    /// The station's clock at the last event held.
    recorded: String,
    verified: String,
    f: LogFilterView,
    outcomes: Vec<(&'static str, String)>,
    rows: Vec<LogRow>,
    total: i64,
    page: i64,
    pages: i64,
    query: String,
    may_readmit: bool,
    /// Where its stream is heard, as its last heartbeat said.
    stream: Option<String>,
}

/// The filter as the form shows it back.
struct LogFilterView {
    from: String,
    to: String,
    plan: String,
    slot: String,
    topic: String,
    outcome: String,
}

fn when(t: Option<chrono::DateTime<Utc>>) -> String {
    t.map_or_else(
        || "—".into(),
        |t| {
            t.with_timezone(&PROVINCE_ZONE)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    )
}

pub(super) async fn commune(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    UrlPath(id): UrlPath<String>,
    Query(f): Query<LogFilter>,
) -> Response {
    let lang = v.lang;
    let f = LogFilter { per: None, ..f };
    let q = match f.query(lang) {
        Ok(q) => q,
        Err(r) => return r.into_response(),
    };
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let t = app.target();
    let now = Utc::now();
    let link = match commune::commune(t, &conn, &id).await {
        Ok(c) => c,
        Err(CentralError::NoStation(_)) => return Refusal::NotFound.into_response(),
        Err(e) => return failed(&e, lang).into_response(),
    };
    let (states, log) = match tokio::try_join!(
        stations::list_of(t, &conn, now, lang, std::slice::from_ref(&id)),
        commune::log(t, &conn, &id, &q)
    ) {
        Ok(x) => x,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let Some(s) = states.into_iter().next() else {
        return Refusal::NotFound.into_response();
    };
    let rows = log
        .records
        .iter()
        .map(|r| LogRow {
            scheduled: when(Some(r.info.scheduled_at)),
            slot: r.info.slot.clone(),
            title: r.info.title.clone(),
            topic: r.info.topic.clone().unwrap_or_default(),
            code: Filter::outcome_code(r),
            outcome: outcome(r, lang),
            played: played(r, lang),
            manual: r.info.manual,
        })
        .collect();
    let page = f.page.unwrap_or(1).max(1);
    let query = [
        ("from", &f.from),
        ("to", &f.to),
        ("plan", &f.plan),
        ("slot", &f.slot),
        ("topic", &f.topic),
        ("outcome", &f.outcome),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}&", crate::net::percent_encode(v)))
    .collect();
    render(&CommunePage {
        c: chrome(&v, "communes"),
        name: s.name.clone().unwrap_or_default(),
        state: s.condition.text(lang, PROVINCE_ZONE),
        code: s.condition.code(),
        completion: s
            .completion_percent
            .map_or_else(|| "—".into(), |p| format!("{p:.1} %")),
        score: s
            .index_score
            .map_or_else(|| "—".into(), |p| format!("{p:.2}")),
        may_readmit: v.may(ConsoleRole::Approver) && s.flag.is_some(),
        stream: s.heartbeat.as_ref().and_then(|b| b.stream_url.clone()),
        flag: s.flag,
        contact: when(link.contact_at),
        recorded: link
            .recorded_at
            .as_deref()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| when(Some(t.with_timezone(&Utc))))
            .unwrap_or_default(),
        received: when(link.received_at),
        verified: when(link.verified_at),
        link,
        f: LogFilterView {
            from: f.from.clone(),
            to: f.to.clone(),
            plan: f.plan.clone(),
            slot: f.slot.clone(),
            topic: f.topic.clone(),
            outcome: f.outcome.clone(),
        },
        outcomes: Filter::OUTCOMES
            .iter()
            .chain(["unfinished"].iter())
            .map(|&c| (c, outcome_label(c, lang)))
            .collect(),
        rows,
        total: log.total,
        page,
        pages: (log.total + PAGE - 1) / PAGE,
        query,
        id,
    })
}

#[derive(Deserialize)]
pub(super) struct ReadmitForm {
    reason: String,
}

/// `POST /communes/{id}/readmit`: an approver lets the station's own history stand.
pub(super) async fn readmit(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<ReadmitForm>,
) -> Response {
    let lang = v.lang;
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let user = v.user();
    match crate::central::readmit(app.target(), &conn, &id, &f.reason, Some(&user)).await {
        Ok(done) => {
            let detail = format!(
                "{id} from event {}: {} replaced, {} accepted; {}",
                done.at_seq,
                done.replaced,
                done.accepted,
                f.reason.trim()
            );
            if let Err(r) = app.log(&v, "station_readmitted", Some(&detail)).await {
                return r.into_response();
            }
            (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, format!("/communes/{id}"))],
            )
                .into_response()
        }
        Err(e) => failed(&e, lang).into_response(),
    }
}

/// `/api/communes/{id}/log`: a page of the commune's records as JSON, with the total.
pub(super) async fn log_json(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    UrlPath(id): UrlPath<String>,
    Query(f): Query<LogFilter>,
) -> Response {
    let lang = v.lang;
    let q = match f.query(lang) {
        Ok(q) => q,
        Err(r) => return r.into_response(),
    };
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, lang).into_response(),
    };
    match commune::log(app.target(), &conn, &id, &q).await {
        Ok(page) => axum::Json(page).into_response(),
        Err(e) => failed(&e, lang).into_response(),
    }
}
