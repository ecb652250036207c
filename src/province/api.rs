//! What the province console's pages show, as JSON under `/api/…`, and `/metrics`: per-station
//! gauges (last heard, backlog, live, on air, flagged) and each bulletin still under way's
//! delivery, commune counts by state, for the province's Prometheus. A scraper reads them with
//! HTTP Basic credentials, which can change nothing whatever the account.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;

use super::pages::states;
use super::{failed, App, Visitor};
use crate::central::{bulletin, stations, CentralError};
use crate::web::Refusal;

pub(super) async fn stations(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, v.lang).into_response(),
    };
    match stations::list(app.target(), &conn, Utc::now(), v.lang).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => failed(&e, v.lang).into_response(),
    }
}

pub(super) async fn bulletins(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, v.lang).into_response(),
    };
    match bulletin::list(app.target(), &conn).await {
        Ok(b) => Json(b).into_response(),
        Err(e) => failed(&e, v.lang).into_response(),
    }
}

pub(super) async fn drafts(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, v.lang).into_response(),
    };
    match bulletin::drafts(app.target(), &conn, false).await {
        Ok(d) => Json(d).into_response(),
        Err(e) => failed(&e, v.lang).into_response(),
    }
}

/// A bulletin with its delivery board: each commune's delivery and the state the board shows.
pub(super) async fn bulletin(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    UrlPath(id): UrlPath<i64>,
) -> Response {
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, v.lang).into_response(),
    };
    let now = Utc::now();
    match tokio::try_join!(
        bulletin::show(app.target(), &conn, id),
        stations::on_air(app.target(), &conn, now)
    ) {
        Ok((b, on_air)) => {
            let states: std::collections::BTreeMap<String, &str> =
                states(&b, &on_air).into_iter().collect();
            Json(serde_json::json!({ "bulletin": b, "states": states })).into_response()
        }
        Err(CentralError::NoBulletin(_)) => Refusal::NotFound.into_response(),
        Err(e) => failed(&e, v.lang).into_response(),
    }
}

/// Prometheus's text format.
pub(super) async fn metrics(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, v.lang).into_response(),
    };
    let now = Utc::now();
    let t = app.target();
    let (all, sent, on_air) = match tokio::try_join!(
        stations::list(t, &conn, now, v.lang),
        bulletin::list(t, &conn),
        stations::on_air(t, &conn, now)
    ) {
        Ok(x) => x,
        Err(e) => return failed(&e, v.lang).into_response(),
    };
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    let each = |f: &dyn Fn(&stations::StationState) -> Option<f64>| {
        all.iter()
            .filter_map(|s| Some((format!("station=\"{}\"", s.station), f(s)?)))
            .collect::<Vec<_>>()
    };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    gauge(
        "loaxa_station_last_heard_seconds",
        "Seconds since the station last reached the centre.",
        each(&|s| s.contact_at.map(|at| (now - at).num_seconds() as f64)),
    );
    gauge(
        "loaxa_station_backlog",
        "Journal events the station has not sent yet, by its last heartbeat.",
        each(&|s| s.heartbeat.as_ref().map(|b| b.backlog as f64)),
    );
    gauge(
        "loaxa_station_live",
        "1 while the station's daemon runs with its output up, by a fresh heartbeat.",
        each(&|s| {
            Some(flag(matches!(
                s.condition,
                stations::Condition::Live | stations::Condition::OnAir { .. }
            )))
        }),
    );
    gauge(
        "loaxa_station_on_air",
        "1 while something is on air at the station.",
        each(&|s| {
            Some(flag(matches!(
                s.condition,
                stations::Condition::OnAir { .. }
            )))
        }),
    );
    gauge(
        "loaxa_station_flagged",
        "1 while the station's journal is flagged (a fork or a break).",
        each(&|s| Some(flag(s.flag.is_some()))),
    );
    // Bulletins still under way: the communes at each state.
    let mut deliveries = Vec::new();
    for b in sent
        .iter()
        .filter(|b| b.withdrawn_at.is_none() && b.until > now)
    {
        let Ok(detail) = bulletin::show(t, &conn, b.id).await else {
            continue;
        };
        let states = states(&detail, &on_air);
        for code in [
            "silent",
            "received",
            "on_air",
            "aired_in_part",
            "aired",
            "refused",
            "expired",
            "withdrawn",
        ] {
            let n = states.iter().filter(|(_, s)| *s == code).count();
            deliveries.push((format!("bulletin=\"{}\",state=\"{code}\"", b.id), n as f64));
        }
    }
    gauge(
        "loaxa_bulletin_communes",
        "Communes at each delivery state, for each bulletin still valid.",
        deliveries,
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
