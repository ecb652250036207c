//! The province's report page: a month, a quarter or a year, with its charts (completion per
//! commune and per plan item, bulletins aired against sent) and the NĐ 30/2020 layout the
//! command line prints, downloadable as HTML, XLSX, CSV (with a byte-order mark) and JSON —
//! the same report `loaxa central report` builds.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;

use super::{failed, App, Visitor};
use crate::central::bulletin::PROVINCE_ZONE;
use crate::central::report::ProvinceReport;
use crate::lang::Lang;
use crate::report::Period;
use crate::tr;
use crate::web::input::Query;
use crate::web::pages::{bar_chart, download, report_body};
use crate::web::view::{render, Chrome};
use crate::web::Refusal;

#[derive(Deserialize, Default)]
pub(super) struct ReportQuery {
    #[serde(default)]
    month: String,
    #[serde(default)]
    quarter: String,
    #[serde(default)]
    year: String,
    /// One commune's report only.
    #[serde(default)]
    station: String,
    #[serde(default)]
    format: String,
}

impl ReportQuery {
    /// The months asked for (first days of the first and last) and the period's label: this
    /// month in the province's zone unless a month, quarter or year is given.
    fn months(&self, lang: Lang) -> Result<(NaiveDate, NaiveDate, String), Refusal> {
        let bad = |what: &str| {
            Refusal::BadRequest(tr!(
                lang,
                "kỳ báo cáo không hợp lệ «{what}»: tháng 2025-09, quý 2025-Q3 hoặc năm 2025",
                "invalid period “{what}”: a month 2025-09, a quarter 2025-Q3 or a year 2025"
            ))
        };
        let span = |p: Period| {
            let (from, to) = p.days();
            (from, to.with_day(1).unwrap_or(to), p.label(lang))
        };
        if !self.year.is_empty() {
            let y: i32 = self.year.trim().parse().map_err(|_| bad(&self.year))?;
            let (Some(a), Some(b)) = (
                NaiveDate::from_ymd_opt(y, 1, 1),
                NaiveDate::from_ymd_opt(y, 12, 1),
            ) else {
                return Err(bad(&self.year));
            };
            return Ok((a, b, tr!(lang, "năm {y}", "{y}")));
        }
        if !self.quarter.is_empty() {
            return Period::quarter(&self.quarter)
                .map(span)
                .ok_or_else(|| bad(&self.quarter));
        }
        if !self.month.is_empty() {
            return Period::month(&self.month)
                .map(span)
                .ok_or_else(|| bad(&self.month));
        }
        let today = Utc::now().with_timezone(&PROVINCE_ZONE).date_naive();
        Ok(span(crate::report::month_of(today)))
    }

    /// The query again, for the download links.
    fn again(&self) -> String {
        [
            ("month", &self.month),
            ("quarter", &self.quarter),
            ("year", &self.year),
            ("station", &self.station),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::net::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

#[derive(Template)]
#[template(path = "province/report.html")]
struct ReportPage {
    c: Chrome,
    station: String,
    month: String,
    quarter: String,
    year: String,
    query: String,
    communes: String,
    items: String,
    bulletins: String,
    body: String,
}

async fn build(app: &App, q: &ReportQuery, lang: Lang) -> Result<ProvinceReport, Refusal> {
    let (from, to, label) = q.months(lang)?;
    let since = (Utc::now() - chrono::Duration::days(7)).date_naive();
    let conn = app.pool.get().await.map_err(|e| failed(&e, lang))?;
    let only: Vec<String> = (!q.station.is_empty())
        .then(|| q.station.clone())
        .into_iter()
        .collect();
    crate::central::report::build(app.target(), &conn, (from, to), label, &only, since, lang)
        .await
        .map_err(|e| failed(&e, lang))
}

pub(super) async fn report(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let lang = v.lang;
    let r = match build(&app, &q, lang).await {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let nothing = lang.pick("Chưa có gì trong kỳ này.", "Nothing in this period yet.");
    let communes: Vec<(String, Option<f64>)> = r
        .communes
        .iter()
        .map(|c| {
            let name = c.name.as_deref().map_or(String::new(), |n| format!(" {n}"));
            (format!("{}{name}", c.station), c.completion_percent)
        })
        .collect();
    let items: Vec<(String, Option<f64>)> = r
        .items
        .iter()
        .map(|i| {
            (
                i.topic_title.clone().unwrap_or_else(|| i.topic.clone()),
                i.completion_percent,
            )
        })
        .collect();
    let bulletins: Vec<(String, Option<f64>)> = r
        .bulletins
        .iter()
        .map(|b| {
            let pct = (b.sent > 0).then(|| 100.0 * b.aired as f64 / b.sent as f64);
            (
                format!("{} {} ({}/{})", b.id, b.title, b.aired, b.sent),
                pct,
            )
        })
        .collect();
    render(&ReportPage {
        c: super::pages::chrome(&v, "report"),
        query: q.again(),
        communes: bar_chart("chart-communes", &communes, nothing),
        items: bar_chart("chart-items", &items, nothing),
        bulletins: bar_chart("chart-bulletins", &bulletins, nothing),
        body: report_body(&r.to_html()),
        month: q.month,
        quarter: q.quarter,
        year: q.year,
        station: q.station,
    })
}

pub(super) async fn report_download(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let lang = v.lang;
    if !matches!(q.format.as_str(), "" | "html" | "xlsx" | "csv" | "json") {
        return Refusal::BadRequest(tr!(
            lang,
            "định dạng không hợp lệ «{}»: chọn html, xlsx, csv hoặc json",
            "invalid format “{}”: pick html, xlsx, csv or json",
            q.format
        ))
        .into_response();
    }
    let r = match build(&app, &q, lang).await {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let name = format!("bao-cao-tinh-{}", r.period.replace([' ', '/'], "-"));
    match download(&r, &q.format, &name) {
        Ok(r) => r,
        Err(r) => r.into_response(),
    }
}

/// The report as JSON: `/api/report?month=…|quarter=…|year=…`.
pub(super) async fn report_json(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<ReportQuery>,
) -> Response {
    match build(&app, &q, v.lang).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(r) => r.into_response(),
    }
}
