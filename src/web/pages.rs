//! The console's pages, server-rendered from compiled-in templates: Now, Timetable, Library,
//! Emergency, Log, Report, Health, and the login. Each reads what it shows through
//! [`super::view`] (the same data the JSON API serves); work that touches the disk runs off
//! the async thread.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::view::{render, Chrome, Now, VerifyRun};
use super::{auth, check_csrf, App, Refusal, Visitor};
use crate::journal::Outcome;
use crate::lang::Lang;
use crate::mailbox::What;
use crate::report::{html_escape, Period};
use crate::tr;

/// Runs disk and database work on the blocking pool, so one slow page never stalls the
/// others on the async thread.
pub(super) async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let r = f(&app);
        super::memory::give_back();
        r
    })
    .await
    .map_err(|e| Refusal::Failed(e.to_string()))?
}

#[derive(Template)]
#[template(path = "now.html")]
struct NowPage {
    c: Chrome,
    now: Now,
}

pub(super) async fn now(State(app): State<Arc<App>>, Extension(v): Extension<Visitor>) -> Response {
    let lang = v.lang;
    match blocking(&app, move |a| a.now_view(Utc::now(), lang)).await {
        Ok(now) => render(&NowPage {
            c: Chrome::new(&app, &v, "now"),
            now,
        }),
        Err(r) => r.into_response(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    error: Option<String>,
    no_accounts: bool,
}

pub(super) async fn login_form(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    if v.session.is_some() {
        return Redirect::to("/").into_response();
    }
    render(&LoginPage {
        c: Chrome::new(&app, &v, "login"),
        error: None,
        no_accounts: app.web.users.is_empty(),
    })
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    user: String,
    password: String,
}

pub(super) async fn login(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Form(f): Form<LoginForm>,
) -> Response {
    let from = v.from;
    let users = app.web.users.clone();
    let a = app.clone();
    let (user, password) = (f.user.clone(), f.password);
    let outcome =
        tokio::task::spawn_blocking(move || a.gate.login(&users, from, &user, &password)).await;
    let lang = v.lang;
    let page = |error: String, code: StatusCode| {
        let mut r = render(&LoginPage {
            c: Chrome::new(&app, &v, "login"),
            error: Some(error),
            no_accounts: app.web.users.is_empty(),
        });
        *r.status_mut() = code;
        r
    };
    match outcome {
        Ok(auth::Login::Ok { id, session }) => {
            let mut action = v.action(What::Login);
            action.user = session.user.clone();
            if let Err(r) = app.record(action) {
                app.gate.end(&id);
                return r.into_response();
            }
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, "/".to_string()),
                    (
                        header::SET_COOKIE,
                        format!("{}={id}; Path=/; HttpOnly; SameSite=Strict", auth::COOKIE),
                    ),
                ],
            )
                .into_response()
        }
        Ok(auth::Login::Wrong) => {
            let mut action = v.action(What::LoginFailed);
            action.user = f.user.chars().take(64).collect();
            // A failed login that cannot be journaled is still refused; it is said in the log.
            let _ = app.record(action);
            tracing::warn!("failed console login from {} as {:?}", v.from, f.user);
            page(
                lang.pick("sai tài khoản hoặc mật khẩu", "wrong account or password")
                    .to_string(),
                StatusCode::UNAUTHORIZED,
            )
        }
        Ok(auth::Login::Wait(w)) => page(
            tr!(
                lang,
                "đăng nhập sai nhiều lần: thử lại sau {} giây",
                "too many failed logins: try again in {} seconds",
                w.as_secs() + 1
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => Refusal::Failed(e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    csrf: Option<String>,
}

pub(super) async fn logout(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = check_csrf(&v, f.csrf.as_deref()) {
        return r.into_response();
    }
    if let Some(id) = &v.session_id {
        app.gate.end(id);
    }
    let _ = app.record(v.action(What::Logout));
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/login".to_string()),
            (
                header::SET_COOKIE,
                format!(
                    "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
                    auth::COOKIE
                ),
            ),
        ],
    )
        .into_response()
}

/// Switches the console's language (a cookie; nothing on the station changes).
pub(super) async fn language(UrlPath(code): UrlPath<String>) -> Response {
    let code = Lang::parse(&code).unwrap_or_default().code();
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/".to_string()),
            (
                header::SET_COOKIE,
                format!("loaxa_lang={code}; Path=/; SameSite=Strict; Max-Age=31536000"),
            ),
        ],
    )
        .into_response()
}

// ---- Timetable ----

pub(super) struct DayColumn {
    label: String,
    items: Vec<Occ>,
}

pub(super) struct Occ {
    time: String,
    title: String,
    held: Option<String>,
    emergency: bool,
    clips: String,
    /// For what is past: how it went, from the journal.
    outcome: Option<String>,
}

pub(super) struct FileState {
    name: String,
    errors: String,
}

#[derive(Template)]
#[template(path = "timetable.html")]
struct TimetablePage {
    c: Chrome,
    week_label: String,
    prev: String,
    next: String,
    days: Vec<DayColumn>,
    files: Vec<FileState>,
}

#[derive(Deserialize)]
pub(super) struct WeekQuery {
    week: Option<NaiveDate>,
}

/// The week's occurrences as the planning function sees them, day by day.
pub(super) fn week(
    app: &App,
    monday: NaiveDate,
    lang: Lang,
) -> Result<(Vec<DayColumn>, Vec<FileState>), Refusal> {
    let loaded = app.station()?;
    let tz = app.config.timezone;
    let start = crate::recurrence::local_midnight(tz, monday);
    let end = crate::recurrence::local_midnight(tz, monday + Duration::days(7));
    // What is past is what the journal says happened; what is ahead, as it will be planned.
    let now = Utc::now();
    let planned = if end > now {
        app.planned(&loaded, start.max(now), end, 5000)?
    } else {
        Vec::new()
    };
    let past = match app.journal()? {
        Some(j) if start < now => j
            .records(start, end.min(now))
            .map_err(|e| Refusal::Failed(e.to_string()))?,
        _ => Vec::new(),
    };
    let mut days: Vec<DayColumn> = (0..7)
        .map(|i| {
            let d = monday + Duration::days(i);
            DayColumn {
                label: format!("{} {}", weekday(d.weekday(), lang), d.format("%d/%m")),
                items: Vec::new(),
            }
        })
        .collect();
    for (due, plan) in planned {
        let local = due.at.with_timezone(&tz);
        let i = (local.date_naive() - monday).num_days();
        let Some(day) = usize::try_from(i).ok().and_then(|i| days.get_mut(i)) else {
            continue;
        };
        let (held, clips) = match &plan {
            crate::planner::Planned::Held(r) => (Some(r.text(lang)), String::new()),
            crate::planner::Planned::Airs(p) => (
                None,
                p.playable()
                    .iter()
                    .map(|c| c.rel.rsplit('/').next().unwrap_or(&c.rel).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        };
        day.items.push(Occ {
            time: local.format("%H:%M").to_string(),
            title: due.slot.title.clone(),
            held,
            emergency: due.slot.priority == crate::schedule::Priority::Emergency,
            clips,
            outcome: None,
        });
    }
    for r in past {
        let local = r.info.scheduled_at.with_timezone(&tz);
        let i = (local.date_naive() - monday).num_days();
        let Some(day) = usize::try_from(i).ok().and_then(|i| days.get_mut(i)) else {
            continue;
        };
        day.items.push(Occ {
            time: local.format("%H:%M").to_string(),
            title: r.info.title.clone(),
            held: None,
            emergency: r.info.priority == crate::schedule::Priority::Emergency,
            clips: String::new(),
            outcome: Some(outcome_label(r.outcome, lang)),
        });
    }
    for day in &mut days {
        day.items.sort_by(|a, b| a.time.cmp(&b.time));
    }
    let mut files: Vec<FileState> = std::fs::read_dir(&app.config.schedules_dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml") && !n.starts_with('.'))
                .map(|name| FileState {
                    errors: loaded
                        .diagnostics
                        .iter()
                        .filter(|d| {
                            d.is_error()
                                && d.file
                                    .file_name()
                                    .is_some_and(|f| f.to_string_lossy() == name)
                        })
                        .map(|d| d.render(lang))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    name,
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((days, files))
}

pub(super) fn weekday(d: chrono::Weekday, lang: Lang) -> &'static str {
    let vi = [
        "Thứ Hai",
        "Thứ Ba",
        "Thứ Tư",
        "Thứ Năm",
        "Thứ Sáu",
        "Thứ Bảy",
        "Chủ Nhật",
    ];
    let en = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let i = d.num_days_from_monday() as usize;
    lang.pick(vi[i], en[i])
}

pub(super) fn this_monday(app: &App) -> NaiveDate {
    let today = Utc::now().with_timezone(&app.config.timezone).date_naive();
    today - Duration::days(i64::from(today.weekday().num_days_from_monday()))
}

pub(super) async fn timetable(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<WeekQuery>,
) -> Response {
    let monday = q.week.unwrap_or_else(|| this_monday(&app));
    let monday = monday - Duration::days(i64::from(monday.weekday().num_days_from_monday()));
    let lang = v.lang;
    match blocking(&app, move |a| week(a, monday, lang)).await {
        Ok((days, files)) => render(&TimetablePage {
            c: Chrome::new(&app, &v, "timetable"),
            week_label: format!(
                "{} – {}",
                monday.format("%d/%m/%Y"),
                (monday + Duration::days(6)).format("%d/%m/%Y")
            ),
            prev: (monday - Duration::days(7)).to_string(),
            next: (monday + Duration::days(7)).to_string(),
            days,
            files,
        }),
        Err(r) => r.into_response(),
    }
}

// ---- Library ----

pub(super) struct FolderView {
    pub(super) folder: String,
    pub(super) mode: String,
    pub(super) settings_errors: Vec<String>,
    pub(super) clips: Vec<ClipView>,
}

pub(super) struct ClipView {
    pub(super) rel: String,
    pub(super) title: String,
    pub(super) state: String,
    pub(super) detail: Option<String>,
    pub(super) aired: i64,
    pub(super) limit: Option<u32>,
}

#[derive(Template)]
#[template(path = "library.html")]
struct LibraryPage {
    c: Chrome,
    folders: Vec<FolderView>,
    queues: Vec<String>,
}

/// Every queue and its clips with their states: as the daemon last published them, or
/// stated here when no daemon runs.
pub(super) fn library_of(app: &App) -> Result<crate::status::Library, Refusal> {
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

fn state_label(s: crate::status::ClipStatus, lang: Lang) -> &'static str {
    use crate::status::ClipStatus as S;
    match s {
        S::Waiting => lang.pick("chờ phát", "waiting"),
        S::Incomplete => lang.pick("đang chép", "being copied"),
        S::Checking => lang.pick("đang kiểm tra", "checking"),
        S::Undecodable => lang.pick("hỏng, không phát được", "damaged, will not air"),
        S::Refused => lang.pick("bị từ chối", "refused"),
        S::NotAudio => lang.pick("không phải âm thanh", "not audio"),
        S::BadMetadata => lang.pick("thông tin bài có lỗi", "details have errors"),
        S::NotYet => lang.pick("chưa đến ngày", "not yet"),
        S::Expired => lang.pick("hết hạn", "expired"),
        S::Spent => lang.pick("đã phát đủ", "aired enough"),
        S::Retired => lang.pick("đã nghỉ", "retired"),
    }
}

pub(super) fn folder_views(lib: crate::status::Library, lang: Lang) -> Vec<FolderView> {
    lib.folders
        .into_iter()
        .map(|f| FolderView {
            mode: match f.mode {
                crate::status::FolderMode::Emergency => lang.pick("khẩn cấp", "emergency").into(),
                crate::status::FolderMode::Rotate => lang.pick("xoay vòng", "rotate").into(),
                crate::status::FolderMode::Times(1) => lang.pick("phát một lần", "once").into(),
                crate::status::FolderMode::Times(n) => {
                    tr!(lang, "phát {n} lần", "{n} times")
                }
            },
            folder: f.folder,
            settings_errors: f.settings_errors,
            clips: f
                .clips
                .into_iter()
                .map(|c| ClipView {
                    state: state_label(c.state, lang).to_string(),
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

pub(super) async fn library(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let lang = v.lang;
    let shown = blocking(&app, move |a| {
        Ok((
            folder_views(library_of(a)?, lang),
            super::upload::upload_folders(a)?,
        ))
    })
    .await;
    match shown {
        Ok((folders, queues)) => render(&LibraryPage {
            c: Chrome::new(&app, &v, "library"),
            folders,
            queues,
        }),
        Err(r) => r.into_response(),
    }
}

#[derive(Template)]
#[template(path = "clip.html")]
pub(super) struct ClipPage {
    pub(super) c: Chrome,
    pub(super) rel: String,
    pub(super) errors: Vec<String>,
    pub(super) title: String,
    pub(super) topic: String,
    pub(super) from: String,
    pub(super) until: String,
    pub(super) times: String,
    pub(super) priority: String,
}

#[derive(Deserialize)]
pub(super) struct RelQuery {
    rel: String,
}

pub(super) async fn clip(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<RelQuery>,
) -> Response {
    let path = match super::upload::confined(&app, &q.rel, v.lang) {
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
    })
}

// ---- Emergency ----

#[derive(Template)]
#[template(path = "emergency.html")]
pub(super) struct EmergencyPage {
    pub(super) c: Chrome,
    pub(super) clips: Vec<String>,
    pub(super) on_air: Option<String>,
    pub(super) done: Option<String>,
}

pub(super) fn emergency_page(app: &App, v: &Visitor, done: Option<String>) -> Response {
    let lib = library_of(app).unwrap_or_default();
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

pub(super) async fn emergency(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let a = app.clone();
    tokio::task::spawn_blocking(move || emergency_page(&a, &v, None))
        .await
        .unwrap_or_else(|e| Refusal::Failed(e.to_string()).into_response())
}

// ---- Log ----

#[derive(Deserialize, Default, Clone, serde::Serialize)]
pub(super) struct LogFilter {
    #[serde(default)]
    pub(super) from: String,
    #[serde(default)]
    pub(super) to: String,
    #[serde(default)]
    pub(super) plan: String,
    #[serde(default)]
    pub(super) slot: String,
    #[serde(default)]
    pub(super) topic: String,
    #[serde(default)]
    pub(super) outcome: String,
    #[serde(default)]
    pub(super) page: Option<usize>,
}

pub(super) const PAGE_SIZE: usize = 50;

impl LogFilter {
    /// The dates it covers (the last seven days unless it says).
    pub(super) fn days(&self, app: &App) -> (NaiveDate, NaiveDate) {
        let today = Utc::now().with_timezone(&app.config.timezone).date_naive();
        let to = self.to.parse().unwrap_or(today);
        let from = self.from.parse().unwrap_or(to - Duration::days(6));
        (from, to)
    }

    /// The records it selects, in schedule order.
    pub(super) fn select(&self, app: &App) -> Result<Vec<crate::journal::Record>, Refusal> {
        let Some(journal) = app.journal()? else {
            return Ok(Vec::new());
        };
        let (from, to) = self.days(app);
        let tz = app.config.timezone;
        let records = journal
            .records(
                crate::recurrence::local_midnight(tz, from),
                crate::recurrence::local_midnight(tz, to + Duration::days(1)),
            )
            .map_err(|e| Refusal::Failed(e.to_string()))?;
        let want = |f: &str, v: &str| f.is_empty() || f == v;
        Ok(records
            .into_iter()
            .filter(|r| {
                want(&self.plan, &r.info.plan)
                    && want(&self.slot, &r.info.slot)
                    && want(&self.topic, r.info.topic.as_deref().unwrap_or(""))
                    && want(&self.outcome, r.outcome.map_or("on_air", |o| o.code()))
            })
            .collect())
    }

    fn query(&self) -> String {
        let mut f = self.clone();
        f.page = None;
        serde_urlencoded_lite(&f)
    }
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
    .map(|(k, v)| format!("{k}={}", url_escape(v)))
    .collect::<Vec<_>>()
    .join("&")
}

pub(super) fn url_escape(s: &str) -> String {
    crate::net::percent_encode(s)
}

pub(super) struct LogRow {
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
    outcomes: Vec<&'static str>,
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

pub(super) fn outcome_label(o: Option<Outcome>, lang: Lang) -> String {
    o.map_or_else(
        || lang.pick("đang phát", "on air").to_string(),
        |o| o.label(lang).to_string(),
    )
}

pub(super) async fn log(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(f): Query<LogFilter>,
) -> Response {
    let lang = v.lang;
    let filter = f.clone();
    let rows = blocking(&app, move |a| {
        let all = filter.select(a)?;
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
                outcome: outcome_label(r.outcome, lang),
                outcome_code: r.outcome.map_or("on_air", |o| o.code()).to_string(),
                reason: r.reason.as_ref().map(|x| x.text(lang)).unwrap_or_default(),
                timeline: timeline(r, lang),
            })
            .collect();
        Ok((total, page, pages, rows))
    })
    .await;
    // The form shows the dates it covers, said or not.
    let mut f = f;
    let (from, to) = f.days(&app);
    f.from = from.to_string();
    f.to = to.to_string();
    match rows {
        Ok((total, page, pages, rows)) => render(&LogPage {
            c: Chrome::new(&app, &v, "log"),
            query: f.query(),
            f,
            outcomes: vec![
                "completed",
                "partial",
                "failed",
                "missed",
                "interrupted",
                "on_air",
            ],
            total,
            page,
            pages,
            rows,
        }),
        Err(r) => r.into_response(),
    }
}

/// The filtered log as CSV, one row per occurrence.
pub(super) fn log_csv_text(app: &App, f: &LogFilter, lang: Lang) -> Result<String, Refusal> {
    let mut o = String::new();
    crate::report::csv_line(
        &mut o,
        &[
            "scheduled",
            "plan",
            "slot",
            "title",
            "topic",
            "manual",
            "outcome",
            "reason",
            "started",
            "ended",
            "clips",
        ],
    );
    for r in f.select(app)? {
        crate::report::csv_line(
            &mut o,
            &[
                app.local(r.info.scheduled_at, "%Y-%m-%d %H:%M:%S"),
                r.info.plan.clone(),
                r.info.slot.clone(),
                r.info.title.clone(),
                r.info.topic.clone().unwrap_or_default(),
                r.info.manual.to_string(),
                r.outcome.map_or("on_air", |o| o.code()).to_string(),
                r.reason.as_ref().map(|x| x.text(lang)).unwrap_or_default(),
                r.started_at
                    .map(|t| app.local(t, "%Y-%m-%d %H:%M:%S"))
                    .unwrap_or_default(),
                r.ended_at
                    .map(|t| app.local(t, "%Y-%m-%d %H:%M:%S"))
                    .unwrap_or_default(),
                r.clips
                    .iter()
                    .map(|c| c.rel.as_str())
                    .collect::<Vec<_>>()
                    .join(" | "),
            ],
        );
    }
    Ok(o)
}

pub(super) async fn log_csv(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(f): Query<LogFilter>,
) -> Response {
    let lang = v.lang;
    match blocking(&app, move |a| log_csv_text(a, &f, lang)).await {
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

// ---- Report ----

#[derive(Deserialize, Default)]
pub(super) struct ReportQuery {
    #[serde(default)]
    pub(super) month: String,
    #[serde(default)]
    pub(super) quarter: String,
    #[serde(default)]
    pub(super) format: String,
}

impl ReportQuery {
    pub(super) fn period(&self, app: &App) -> Result<Period, Refusal> {
        let lang = app.lang();
        if !self.quarter.is_empty() {
            return Period::quarter(&self.quarter).ok_or_else(|| {
                Refusal::Invalid(tr!(
                    lang,
                    "quý có dạng 2025-Q3",
                    "a quarter looks like 2025-Q3"
                ))
            });
        }
        if !self.month.is_empty() {
            return Period::month(&self.month).ok_or_else(|| {
                Refusal::Invalid(tr!(
                    lang,
                    "tháng có dạng 2025-09",
                    "a month looks like 2025-09"
                ))
            });
        }
        Ok(crate::report::month_of(
            Utc::now().with_timezone(&app.config.timezone).date_naive(),
        ))
    }
}

pub(super) fn build_report(
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
    use std::fmt::Write;
    let rows: Vec<&crate::report::Row> = report.plans.iter().flat_map(|p| &p.topics).collect();
    if rows.is_empty() {
        return format!(
            "<p id=\"chart-items\">{}</p>",
            report.lang.pick(
                "Chưa có buổi phát nào theo kế hoạch trong kỳ này.",
                "Nothing planned aired in this period yet."
            )
        );
    }
    let h = 26 * rows.len().max(1) + 4;
    let mut o = format!(
        "<svg class=\"chart\" id=\"chart-items\" width=\"640\" height=\"{h}\" viewBox=\"0 0 640 {h}\" role=\"img\">"
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 26 * i + 2;
        let pct = r.completion_percent.unwrap_or(0.0);
        let w = 3.0 * pct;
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
            html_escape(&r.title.chars().take(44).collect::<String>()),
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
            weekday(day, lang)
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
fn report_body(html: &str) -> String {
    let start = html.find("<body>").map_or(0, |i| i + "<body>".len());
    let end = html.rfind("</body>").unwrap_or(html.len());
    html[start..end].to_string()
}

pub(super) async fn report(
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
        format!("quarter={}", url_escape(&quarter))
    } else if !month.is_empty() {
        format!("month={}", url_escape(&month))
    } else {
        String::new()
    };
    let built = blocking(&app, move |a| {
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

pub(super) async fn report_download(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let lang = v.lang;
    let built = blocking(&app, move |a| {
        let period = q.period(a)?;
        let r = build_report(a, period, lang)?;
        let name = format!("bao-cao-{}", period.label(Lang::En).replace(' ', "-"));
        Ok(match q.format.as_str() {
            "xlsx" => (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                format!("{name}.xlsx"),
                r.to_xlsx().map_err(|e| Refusal::Failed(e.to_string()))?,
            ),
            "csv" => (
                "text/csv; charset=utf-8",
                format!("{name}.csv"),
                r.to_csv().into_bytes(),
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
        })
    })
    .await;
    match built {
        Ok((kind, name, bytes)) => (
            [
                (header::CONTENT_TYPE, kind.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(r) => r.into_response(),
    }
}

// ---- Health ----

#[derive(Template)]
#[template(path = "health.html")]
struct HealthPage {
    c: Chrome,
    findings: Vec<(&'static str, String, String, String)>,
    percent: u32,
    result: String,
}

#[derive(Deserialize)]
pub(super) struct HealthQuery {
    verify: Option<String>,
}

pub(super) async fn health(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<HealthQuery>,
) -> Response {
    if q.verify.is_some() {
        let running = app
            .verification
            .lock()
            .ok()
            .and_then(|r| r.clone())
            .is_some_and(|r| !r.done.load(std::sync::atomic::Ordering::Acquire));
        if !running {
            match VerifyRun::start(&app) {
                Ok(run) => {
                    if let Ok(mut slot) = app.verification.lock() {
                        *slot = Some(run);
                    }
                }
                Err(r) => return r.into_response(),
            }
        }
        return Redirect::to("/health").into_response();
    }
    let findings = blocking(&app, |a| {
        let loaded = a.station()?;
        let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = loaded.diagnostics.len() - errors;
        // The console never opens the sound device: the daemon owns it.
        Ok(crate::doctor::examine(
            &loaded.station,
            errors,
            warnings,
            &|_| None,
            Utc::now(),
        ))
    })
    .await;
    let findings = match findings {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let run = app.verification.lock().ok().and_then(|r| r.clone());
    render(&HealthPage {
        c: Chrome::new(&app, &v, "health"),
        findings: findings
            .into_iter()
            .map(|f| {
                (
                    match f.level {
                        crate::doctor::Level::Ok => "ok",
                        crate::doctor::Level::Warn => "warn",
                        crate::doctor::Level::Fail => "bad",
                    },
                    f.what,
                    f.detail,
                    f.fix,
                )
            })
            .collect(),
        percent: run.as_ref().map_or(0, |r| r.percent()),
        result: run.and_then(|r| r.text()).unwrap_or_default(),
    })
}
