//! The Log page and its CSV: the journal's records, filtered as `loaxa log` filters.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;

use crate::web::input::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::{Duration, NaiveDate, Utc};
use serde::Deserialize;

use crate::journal::Outcome;
use crate::lang::Lang;
use crate::report::html_escape;
use crate::tr;
use crate::web::view::{render, Chrome};
use crate::web::{App, Refusal, Visitor};

#[derive(Deserialize, Default, Clone, serde::Serialize)]
pub(in crate::web) struct LogFilter {
    #[serde(default)]
    pub(in crate::web) from: String,
    #[serde(default)]
    pub(in crate::web) to: String,
    #[serde(default)]
    pub(in crate::web) plan: String,
    #[serde(default)]
    pub(in crate::web) slot: String,
    #[serde(default)]
    pub(in crate::web) topic: String,
    #[serde(default)]
    pub(in crate::web) outcome: String,
    #[serde(default)]
    pub(in crate::web) page: Option<usize>,
    /// `/api/log`: how many records at most ([`API_LIMIT`] unless it says, never more than
    /// [`API_MAX`]), and where to go on from (the `next` of the answer before).
    #[serde(default)]
    pub(in crate::web) limit: Option<usize>,
    #[serde(default)]
    pub(in crate::web) cursor: Option<usize>,
}

/// Records in one `/api/log` answer, unless the request says fewer or more.
pub(in crate::web) const API_LIMIT: usize = 200;
/// The most records one `/api/log` answer holds: a request cannot ask for the whole journal.
pub(in crate::web) const API_MAX: usize = 1000;
/// The longest span one request covers.
const MAX_DAYS: i64 = 400;

pub(in crate::web) const PAGE_SIZE: usize = 50;

impl LogFilter {
    /// The dates it covers (the last seven days unless it says), once every value it holds
    /// is one the console understands: a bad date or outcome is refused (400), never read
    /// as "the default".
    pub(in crate::web) fn days(
        &self,
        app: &App,
        lang: Lang,
    ) -> Result<(NaiveDate, NaiveDate), Refusal> {
        let today = Utc::now().with_timezone(&app.config.timezone).date_naive();
        let (from, to) = day_span(
            &self.from,
            &self.to,
            today,
            |to| to - Duration::days(6),
            lang,
        )?;
        if !self.outcome.is_empty()
            && !crate::history::Filter::OUTCOMES.contains(&self.outcome.as_str())
        {
            return Err(Refusal::BadRequest(tr!(
                lang,
                "kết quả không hợp lệ «{}»: chọn một trong {}",
                "invalid outcome “{}”: pick one of {}",
                self.outcome,
                crate::history::Filter::OUTCOMES.join(", ")
            )));
        }
        if self.limit.is_some_and(|l| l == 0 || l > API_MAX) {
            return Err(Refusal::BadRequest(tr!(
                lang,
                "giới hạn không hợp lệ: từ 1 đến {API_MAX}",
                "invalid limit: from 1 to {API_MAX}"
            )));
        }
        Ok((from, to))
    }

    /// The records it selects, in schedule order.
    pub(in crate::web) fn select(
        &self,
        app: &App,
        lang: Lang,
    ) -> Result<Vec<crate::journal::Record>, Refusal> {
        let (from, to) = self.days(app, lang)?;
        let Some(journal) = app.journal()? else {
            return Ok(Vec::new());
        };
        let tz = app.config.timezone;
        let records = journal
            .records(
                crate::recurrence::local_midnight(tz, from),
                crate::recurrence::local_midnight(tz, to + Duration::days(1)),
            )
            .map_err(|e| Refusal::Failed(e.to_string()))?;
        let filter = self.filter();
        Ok(records.into_iter().filter(|r| filter.accepts(r)).collect())
    }

    /// The same filter `loaxa log` applies (an empty field matches everything).
    fn filter(&self) -> crate::history::Filter {
        let set = |s: &str| (!s.is_empty()).then(|| s.to_string());
        crate::history::Filter {
            plan: set(&self.plan),
            slot: set(&self.slot),
            topic: set(&self.topic),
            outcome: set(&self.outcome),
        }
    }

    fn query(&self) -> String {
        let mut f = self.clone();
        f.page = None;
        serde_urlencoded_lite(&f)
    }
}

/// The days a log's `from` and `to` cover (`to` today, `from` by `default_from`, unless they
/// say), once both are dates and the span is one a page may ask for: refused (400), never read
/// as the default. The station's Log and a commune's at the province alike.
pub(crate) fn day_span(
    from: &str,
    to: &str,
    today: NaiveDate,
    default_from: impl FnOnce(NaiveDate) -> NaiveDate,
    lang: Lang,
) -> Result<(NaiveDate, NaiveDate), Refusal> {
    let date = |s: &str| -> Result<Option<NaiveDate>, Refusal> {
        if s.is_empty() {
            return Ok(None);
        }
        s.parse().map(Some).map_err(|_| {
            Refusal::BadRequest(tr!(
                lang,
                "ngày không hợp lệ «{s}»: cần dạng NĂM-THÁNG-NGÀY, ví dụ 2025-09-15",
                "invalid date “{s}”: expected YEAR-MONTH-DAY, e.g. 2025-09-15"
            ))
        })
    };
    let to = date(to)?.unwrap_or(today);
    let from = date(from)?.unwrap_or_else(|| default_from(to));
    if from > to || (to - from).num_days() > MAX_DAYS {
        return Err(Refusal::BadRequest(tr!(
            lang,
            "khoảng ngày không hợp lệ: từ {from} đến {to} (tối đa {MAX_DAYS} ngày)",
            "invalid range: from {from} to {to} (at most {MAX_DAYS} days)"
        )));
    }
    Ok((from, to))
}

/// The filter as a query string (only the fields set).
fn serde_urlencoded_lite(f: &LogFilter) -> String {
    [
        ("from", &f.from),
        ("to", &f.to),
        ("plan", &f.plan),
        ("slot", &f.slot),
        ("topic", &f.topic),
        ("outcome", &f.outcome),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", crate::net::percent_encode(v)))
    .collect::<Vec<_>>()
    .join("&")
}

pub(in crate::web) struct LogRow {
    when: String,
    title: String,
    plan: String,
    slot: String,
    manual: bool,
    outcome: String,
    outcome_code: String,
    reason: String,
    timeline: String,
}

#[derive(Template)]
#[template(path = "log.html")]
struct LogPage {
    c: Chrome,
    f: LogFilter,
    outcomes: Vec<crate::web::view::Choice>,
    declared: crate::web::view::Declared,
    query: String,
    total: usize,
    page: usize,
    pages: usize,
    rows: Vec<LogRow>,
}

/// One occurrence's clips as a strip: each clip as wide as its length, coloured by how it
/// went, dead air black; its title (on hover) says what was measured.
fn timeline(r: &crate::journal::Record, lang: Lang) -> String {
    use std::fmt::Write;
    let total: u64 = r.clips.iter().map(|c| c.duration_ms.max(1)).sum();
    let mut o = String::from(
        "<svg class=\"timeline\" width=\"300\" height=\"18\" viewBox=\"0 0 300 18\" role=\"img\">",
    );
    let mut x = 0.0;
    for c in &r.clips {
        let w = 300.0 * c.duration_ms.max(1) as f64 / total.max(1) as f64;
        let dead = c.levels.is_some_and(|l| l.is_dead_air());
        let colour = if dead {
            "#000"
        } else {
            match c.outcome {
                Some(Outcome::Completed) => "#2e7d32",
                Some(Outcome::Partial | Outcome::Interrupted) => "#ef6c00",
                Some(Outcome::Failed) => "#c62828",
                _ => "#9e9e9e",
            }
        };
        let levels = c.levels.map_or(String::new(), |l| {
            format!(
                " · peak {:.1} dBFS, rms {:.1} dBFS",
                l.peak_dbfs, l.rms_dbfs
            )
        });
        let _ = write!(
            o,
            "<rect x=\"{x:.1}\" y=\"1\" width=\"{:.1}\" height=\"16\" fill=\"{colour}\" stroke=\"#fff\"><title>{}</title></rect>",
            (w - 0.5).max(0.5),
            html_escape(&format!(
                "{} — {:.1}/{:.1} s{}{}",
                c.rel,
                c.played_ms as f64 / 1000.0,
                c.duration_ms as f64 / 1000.0,
                levels,
                if dead {
                    lang.pick(" · KHÔNG CÓ TIẾNG", " · DEAD AIR")
                } else {
                    ""
                }
            ))
        );
        x += w;
    }
    o.push_str("</svg>");
    o
}

pub(in crate::web) async fn log(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(f): Query<LogFilter>,
) -> Response {
    let lang = v.lang;
    let filter = f.clone();
    let rows = crate::web::blocking(&app, move |a| {
        let all = filter.select(a, lang)?;
        let total = all.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = filter.page.unwrap_or(1).clamp(1, pages);
        let rows = all
            .iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|r| LogRow {
                when: a.local(r.info.scheduled_at, "%d/%m/%Y %H:%M:%S"),
                title: r.info.title.clone(),
                plan: r.info.plan.clone(),
                slot: r.info.slot.clone(),
                manual: r.info.manual,
                outcome: crate::history::outcome(r, lang),
                outcome_code: crate::history::Filter::outcome_code(r).to_string(),
                reason: r.reason.as_ref().map(|x| x.text(lang)).unwrap_or_default(),
                timeline: timeline(r, lang),
            })
            .collect();
        Ok((total, page, pages, rows))
    })
    .await;
    // The form shows the dates it covers, said or not.
    let mut f = f;
    if let Ok((from, to)) = f.days(&app, lang) {
        f.from = from.to_string();
        f.to = to.to_string();
    }
    match rows {
        Ok((total, page, pages, rows)) => render(&LogPage {
            c: Chrome::new(&app, &v, "log"),
            query: f.query(),
            f,
            outcomes: crate::web::view::Choice::outcomes(lang),
            declared: app.declared(),
            total,
            page,
            pages,
            rows,
        }),
        Err(r) => r.into_response(),
    }
}

/// The filtered log as CSV, one row per occurrence: `loaxa log --format csv`'s rows, for a
/// spreadsheet (a byte-order mark, the columns named in the visitor's language).
pub(in crate::web) fn log_csv_text(
    app: &App,
    f: &LogFilter,
    lang: Lang,
) -> Result<String, Refusal> {
    let (from, to) = f.days(app, lang)?;
    let view = crate::history::View {
        station: &app.config.station_name,
        tz: app.config.timezone,
        lang,
        from,
        to,
    };
    Ok(view.csv_for_people(&f.select(app, lang)?))
}

pub(in crate::web) async fn log_csv(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(f): Query<LogFilter>,
) -> Response {
    let lang = v.lang;
    match crate::web::blocking(&app, move |a| log_csv_text(a, &f, lang)).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"nhat-ky.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(r) => r.into_response(),
    }
}
