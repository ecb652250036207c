//! The Report page and its downloads: the period's report in the NĐ 30 layout.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;

use crate::web::input::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::{Datelike, Duration, Utc};
use serde::Deserialize;

use crate::journal::Outcome;
use crate::lang::Lang;
use crate::report::{html_escape, Period};
use crate::tr;
use crate::web::view::{render, Chrome};
use crate::web::{App, Refusal, Visitor};

#[derive(Deserialize, Default)]
pub(in crate::web) struct ReportQuery {
    #[serde(default)]
    pub(in crate::web) month: String,
    #[serde(default)]
    pub(in crate::web) quarter: String,
    #[serde(default)]
    pub(in crate::web) format: String,
}

impl ReportQuery {
    pub(in crate::web) fn period(&self, app: &App) -> Result<Period, Refusal> {
        let lang = app.lang();
        if !self.quarter.is_empty() {
            return Period::quarter(&self.quarter).ok_or_else(|| {
                Refusal::BadRequest(tr!(
                    lang,
                    "quý không hợp lệ «{}»: quý có dạng 2025-Q3",
                    "invalid quarter “{}”: a quarter looks like 2025-Q3",
                    self.quarter
                ))
            });
        }
        if !self.month.is_empty() {
            return Period::month(&self.month).ok_or_else(|| {
                Refusal::BadRequest(tr!(
                    lang,
                    "tháng không hợp lệ «{}»: tháng có dạng 2025-09",
                    "invalid month “{}”: a month looks like 2025-09",
                    self.month
                ))
            });
        }
        Ok(crate::report::month_of(
            Utc::now().with_timezone(&app.config.timezone).date_naive(),
        ))
    }
}

pub(in crate::web) fn build_report(
    app: &App,
    period: Period,
    lang: Lang,
) -> Result<crate::report::Report, Refusal> {
    let journal = app.journal()?.ok_or_else(|| {
        Refusal::Invalid(
            lang.pick(
                "chưa có nhật ký: loaxa chưa chạy lần nào",
                "no journal yet: loaxa has not run",
            )
            .into(),
        )
    })?;
    crate::report::build(
        &journal,
        &app.config.station_name,
        app.config.timezone,
        period,
        None,
        lang,
        Utc::now(),
    )
    .map_err(|e| Refusal::Failed(e.to_string()))
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    c: Chrome,
    month: String,
    quarter: String,
    query: String,
    bars: String,
    calendar: String,
    body: String,
}

/// Completion per plan item as horizontal bars.
fn bars(report: &crate::report::Report) -> String {
    let rows: Vec<(String, Option<f64>)> = report
        .plans
        .iter()
        .flat_map(|p| &p.topics)
        .map(|r| (r.title.clone(), r.completion_percent))
        .collect();
    bar_chart(
        "chart-items",
        &rows,
        report.lang.pick(
            "Chưa có buổi phát nào theo kế hoạch trong kỳ này.",
            "Nothing planned aired in this period yet.",
        ),
    )
}

/// A horizontal bar chart of completion percentages, as SVG (no script): green at 100 %,
/// amber from 80 %, red below; `empty` said instead when there is nothing to draw.
pub(crate) fn bar_chart(id: &str, rows: &[(String, Option<f64>)], empty: &str) -> String {
    use std::fmt::Write;
    if rows.is_empty() {
        return format!("<p id=\"{id}\">{}</p>", html_escape(empty));
    }
    let h = 26 * rows.len().max(1) + 4;
    let mut o = format!(
        "<svg class=\"chart\" id=\"{id}\" width=\"640\" height=\"{h}\" viewBox=\"0 0 640 {h}\" role=\"img\">"
    );
    for (i, (title, pct)) in rows.iter().enumerate() {
        let y = 26 * i + 2;
        let pct = pct.unwrap_or(0.0);
        let w = 3.0 * pct.clamp(0.0, 100.0);
        let colour = if pct >= 100.0 {
            "#2e7d32"
        } else if pct >= 80.0 {
            "#f9a825"
        } else {
            "#c62828"
        };
        let _ = write!(
            o,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"300\" y=\"{y}\" width=\"300\" height=\"20\" fill=\"#eee\"/><rect x=\"300\" y=\"{y}\" width=\"{w:.1}\" height=\"20\" fill=\"{colour}\"/><text x=\"605\" y=\"{}\" font-size=\"12\">{pct:.0}%</text>",
            y + 15,
            html_escape(&title.chars().take(44).collect::<String>()),
            y + 15
        );
    }
    o.push_str("</svg>");
    o
}

/// A month calendar: per day, occurrences aired in full over those planned.
fn calendar(app: &App, period: &Period, lang: Lang) -> Result<String, Refusal> {
    use std::fmt::Write;
    let Some(journal) = app.journal()? else {
        return Ok(String::new());
    };
    let tz = app.config.timezone;
    let (from, to) = period.days();
    let first_col = i64::from(from.weekday().num_days_from_monday());
    let days = (to - from).num_days() + 1;
    let weeks = (first_col + days + 6) / 7;
    let (cw, ch) = (84, 48);
    let (w, h) = (cw * 7, ch * weeks + 20);
    let mut o = format!(
        "<svg class=\"chart\" id=\"chart-days\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">"
    );
    let mut day = chrono::Weekday::Mon;
    for i in 0..7 {
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"14\" font-size=\"12\">{}</text>",
            i * cw + 4,
            lang.weekday(day)
        );
        day = day.succ();
    }
    for n in 0..days {
        let d = from + Duration::days(n);
        let counts = journal
            .outcome_counts(
                crate::recurrence::local_midnight(tz, d),
                crate::recurrence::local_midnight(tz, d + Duration::days(1)),
            )
            .map_err(|e| Refusal::Failed(e.to_string()))?;
        let planned: i64 = counts.iter().map(|c| c.count).sum();
        let aired: i64 = counts
            .iter()
            .filter(|c| c.outcome == Some(Outcome::Completed))
            .map(|c| c.count)
            .sum();
        let cell = first_col + n;
        let (x, y) = ((cell % 7) * cw, (cell / 7) * ch + 20);
        let fill = if planned == 0 {
            "#f5f5f5"
        } else if aired >= planned {
            "#c8e6c9"
        } else if aired * 10 >= planned * 8 {
            "#fff59d"
        } else {
            "#ffcdd2"
        };
        let _ = write!(
            o,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#fff\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{aired}/{planned}</text>",
            cw - 2,
            ch - 2,
            x + 4,
            y + 13,
            d.day(),
            x + 4,
            y + 34
        );
    }
    o.push_str("</svg>");
    Ok(o)
}

/// The report's body, without its document frame (the page has its own, and its CSP takes
/// no inline style).
pub(crate) fn report_body(html: &str) -> String {
    let start = html.find("<body>").map_or(0, |i| i + "<body>".len());
    let end = html.rfind("</body>").unwrap_or(html.len());
    html[start..end].to_string()
}

pub(in crate::web) async fn report(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let lang = v.lang;
    let quarter = q.quarter.clone();
    let month = if q.month.is_empty() && quarter.is_empty() {
        Utc::now()
            .with_timezone(&app.config.timezone)
            .format("%Y-%m")
            .to_string()
    } else {
        q.month.clone()
    };
    let query = if !quarter.is_empty() {
        format!("quarter={}", crate::net::percent_encode(&quarter))
    } else if !month.is_empty() {
        format!("month={}", crate::net::percent_encode(&month))
    } else {
        String::new()
    };
    let built = crate::web::blocking(&app, move |a| {
        let period = q.period(a)?;
        let r = build_report(a, period, lang)?;
        Ok((
            bars(&r),
            calendar(a, &period, lang)?,
            report_body(&r.to_html()),
        ))
    })
    .await;
    match built {
        Ok((bars, calendar, body)) => render(&ReportPage {
            c: Chrome::new(&app, &v, "report"),
            month,
            quarter,
            query,
            bars,
            calendar,
            body,
        }),
        Err(r) => r.into_response(),
    }
}

pub(in crate::web) async fn report_download(
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
    let built = crate::web::blocking(&app, move |a| {
        let period = q.period(a)?;
        let r = build_report(a, period, lang)?;
        let name = format!("bao-cao-{}", period.label(Lang::En).replace(' ', "-"));
        download(&r, &q.format, &name)
    })
    .await;
    match built {
        Ok(r) => r,
        Err(r) => r.into_response(),
    }
}

/// A report as a download in the format asked for (`html`, the default; `xlsx`; `csv`, with a
/// byte-order mark, as Excel on Windows reads UTF-8 only with it; `json`), named `name`.
pub(crate) fn download(
    r: &dyn crate::report::Formats,
    format: &str,
    name: &str,
) -> Result<Response, Refusal> {
    let (kind, file, bytes) = match format {
        "xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            format!("{name}.xlsx"),
            r.to_xlsx().map_err(|e| Refusal::Failed(e.to_string()))?,
        ),
        "csv" => (
            "text/csv; charset=utf-8",
            format!("{name}.csv"),
            format!("\u{FEFF}{}", r.to_csv()).into_bytes(),
        ),
        "json" => (
            "application/json",
            format!("{name}.json"),
            r.to_json().into_bytes(),
        ),
        _ => (
            "text/html; charset=utf-8",
            format!("{name}.html"),
            r.to_html().into_bytes(),
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
