//! The province console's pages, server-rendered, readable without JavaScript: the login;
//! Communes (every station's state now, by group); Bulletins (compose, drafts waiting, sent);
//! a draft to approve; a bulletin's delivery board, commune by commune. The pages that change
//! by themselves (Communes, a board still under way) reload every few seconds.

use std::path::PathBuf;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{failed, App, Visitor, COOKIE};
use crate::central::bulletin::{self, delivery_label, province_time, PROVINCE_ZONE};
use crate::central::console::ConsoleRole;
use crate::central::stations;
use crate::journal::Priority;
use crate::lang::Lang;
use crate::tr;
use crate::web::auth::Login;
use crate::web::input::{Form, Query, Upload};
use crate::web::view::{render, Chrome, LoginPage, L};
use crate::web::Refusal;

/// The frame of the province's pages.
pub(super) fn chrome(v: &Visitor, page: &'static str) -> Chrome {
    let l = L(v.lang);
    Chrome {
        l,
        station: l.t("Trung tâm tỉnh", "Province centre").to_string(),
        page,
        user: v.user(),
        role: v
            .role()
            .map(|r| r.label(v.lang))
            .unwrap_or_default()
            .to_string(),
        csrf: v
            .session
            .as_ref()
            .map(|s| s.csrf.clone())
            .unwrap_or_default(),
        can_change: v.may(ConsoleRole::Editor),
        logged_in: v.session.is_some(),
        links: vec![
            ("/", "communes", l.t("Các xã", "Communes")),
            ("/bulletins", "bulletins", l.t("Bản tin", "Bulletins")),
            ("/report", "report", l.t("Báo cáo", "Report")),
            ("/verify", "verify", l.t("Kiểm tra", "Verify")),
        ],
    }
}

/// An instant as the province reads it.
fn when(t: DateTime<Utc>) -> String {
    t.with_timezone(&PROVINCE_ZONE)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A time a station journaled (RFC 3339, its own clock), as the province reads times.
fn station_time(s: &str) -> String {
    DateTime::parse_from_rfc3339(s).map_or_else(|_| s.to_string(), |t| when(t.with_timezone(&Utc)))
}

fn see(to: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

// ---- login ---------------------------------------------------------------------------------

/// The province console's login page.
fn login_page(v: &Visitor, error: Option<String>, no_accounts: bool) -> LoginPage {
    let l = L(v.lang);
    LoginPage {
        c: chrome(v, "login"),
        heading: l.t(
            "Đăng nhập bảng điều khiển của tỉnh",
            "Log in to the province's console",
        ),
        error,
        no_accounts: no_accounts.then(|| {
            l.t(
                "Chưa có tài khoản nào. Trên máy chủ của tỉnh, chạy: loaxa central web passwd --user TÊN --role approver",
                "No account yet. On the province's server, run: loaxa central web passwd --user NAME --role approver",
            )
        }),
    }
}

pub(super) async fn login_form(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    if v.session.is_some() {
        return see("/".into());
    }
    let no_accounts = app.accounts(v.lang).await.is_ok_and(|a| a.is_empty());
    render(&login_page(&v, None, no_accounts))
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
    let lang = v.lang;
    let accounts = match app.accounts(lang).await {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let no_accounts = accounts.is_empty();
    let a = app.clone();
    let (from, user, password) = (v.from, f.user.clone(), f.password);
    let outcome =
        tokio::task::spawn_blocking(move || a.gate.login(&accounts, from, &user, &password)).await;
    let page = |error: String, code: StatusCode| {
        let mut r = render(&login_page(&v, Some(error), no_accounts));
        *r.status_mut() = code;
        r
    };
    match outcome {
        Ok(Login::Ok { id, session }) => {
            let mut who = v.clone();
            who.session = Some(session);
            if let Err(r) = app.log(&who, "login", None).await {
                app.gate.end(&id);
                return r.into_response();
            }
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, "/".to_string()),
                    (
                        header::SET_COOKIE,
                        format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict"),
                    ),
                ],
            )
                .into_response()
        }
        Ok(Login::Wait(w)) => page(
            tr!(
                lang,
                "đăng nhập sai quá nhiều lần: hãy đợi {} giây rồi thử lại",
                "too many failed logins: wait {} s, then try again",
                w.as_secs() + 1
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        _ => {
            let name: String = f.user.chars().take(64).collect();
            let _ = app.log(&v, "login_failed", Some(&name)).await;
            page(
                lang.pick("sai tên hoặc mật khẩu", "wrong user name or password")
                    .into(),
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

pub(super) async fn logout(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    if let Some(id) = &v.session_id {
        app.gate.end(id);
    }
    let _ = app.log(&v, "logout", None).await;
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/login".to_string()),
            (
                header::SET_COOKIE,
                format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
            ),
        ],
    )
        .into_response()
}

// ---- communes ------------------------------------------------------------------------------

struct CommuneRow {
    id: String,
    name: String,
    code: &'static str,
    state: String,
    heard: String,
    backlog: String,
    flag: Option<String>,
    completion: String,
    score: String,
    groups: String,
}

#[derive(Template)]
#[template(path = "province/communes.html")]
struct CommunesPage {
    c: Chrome,
    map: Option<String>,
    rows: Vec<CommuneRow>,
    groups: Vec<String>,
    group: String,
    counts: Vec<(&'static str, &'static str, usize)>,
    now: String,
}

#[derive(Deserialize, Default)]
pub(super) struct CommunesQuery {
    group: Option<String>,
}

pub(super) async fn communes(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<CommunesQuery>,
) -> Response {
    let lang = v.lang;
    let now = Utc::now();
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let (states, memberships) = match tokio::try_join!(
        stations::list(app.target(), &conn, now, lang),
        stations::groups(app.target(), &conn)
    ) {
        Ok(x) => x,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let group = q.group.unwrap_or_default();
    let mut groups: Vec<String> = memberships.iter().map(|(g, _)| g.clone()).collect();
    groups.dedup();
    let of = |station: &str| -> Vec<&str> {
        memberships
            .iter()
            .filter(|(_, s)| s == station)
            .map(|(g, _)| g.as_str())
            .collect()
    };
    let shown: Vec<&stations::StationState> = states
        .iter()
        .filter(|s| group.is_empty() || of(&s.station).contains(&group.as_str()))
        .collect();
    let count = |code: &str| shown.iter().filter(|s| s.condition.code() == code).count();
    let counts = vec![
        ("on_air", lang.pick("đang phát", "on air"), count("on_air")),
        ("live", lang.pick("đang chạy", "live"), count("live")),
        (
            "output_down",
            lang.pick("mất đầu ra", "output down"),
            count("output_down"),
        ),
        (
            "daemon_down",
            lang.pick("loaxa không chạy", "loaxa down"),
            count("daemon_down"),
        ),
        ("silent", lang.pick("im lặng", "silent"), count("silent")),
        (
            "flagged",
            lang.pick("bị cảnh báo", "flagged"),
            shown.iter().filter(|s| s.flag.is_some()).count(),
        ),
    ];
    let rows = shown
        .iter()
        .map(|s| CommuneRow {
            id: s.station.clone(),
            name: s.name.clone().unwrap_or_default(),
            code: s.condition.code(),
            state: s.condition.text(lang, PROVINCE_ZONE),
            heard: s.contact_at.map_or_else(|| "—".into(), when),
            backlog: s
                .heartbeat
                .as_ref()
                .map_or_else(|| "—".into(), |b| b.backlog.to_string()),
            flag: s.flag.clone(),
            completion: s
                .completion_percent
                .map_or_else(|| "—".into(), |p| format!("{p:.1} %")),
            score: s
                .index_score
                .map_or_else(|| "—".into(), |p| format!("{p:.2}")),
            groups: of(&s.station).join(", "),
        })
        .collect();
    render(&CommunesPage {
        c: chrome(&v, "communes"),
        map: map(&shown, lang, false),
        rows,
        groups,
        group,
        counts,
        now: when(now),
    })
}

/// The communes whose place is known, as points on a plain SVG map (no tile server: the
/// centre may have no internet), coloured by their state, each a link to its page — or, on the
/// compose form (`pick`), a point that ticks the commune in the list (by the page's script;
/// the list works without it).
fn map(shown: &[&stations::StationState], lang: Lang, pick: bool) -> Option<String> {
    use std::fmt::Write as _;
    let placed: Vec<(&stations::StationState, (f64, f64))> = shown
        .iter()
        .filter_map(|s| s.location.map(|l| (*s, l)))
        .collect();
    if placed.is_empty() {
        return None;
    }
    let lats = placed.iter().map(|(_, (lat, _))| *lat);
    let (south, north) = lats.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let lons = placed.iter().map(|(_, (_, lon))| *lon);
    let (west, east) = lons.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    // Equirectangular, squeezed by the cosine of the middle latitude: true enough at a
    // province's scale. Map units are degrees of latitude.
    let k = ((south + north) / 2.0).to_radians().cos();
    let (w, h) = (((east - west) * k).max(0.02), (north - south).max(0.02));
    let pad = w.max(h) * 0.08;
    let r = w.max(h) * 0.012;
    // Room on the right for the easternmost commune's label.
    let label = r * 16.0;
    let mut o = format!(
        "<svg class=\"map{}\" id=\"{}\" viewBox=\"{:.5} {:.5} {:.5} {:.5}\" role=\"img\" aria-label=\"{}\">",
        if pick { " pick" } else { "" },
        if pick { "pick-map" } else { "map" },
        west * k - pad,
        -north - pad,
        w + 2.0 * pad + label,
        h + 2.0 * pad,
        lang.pick("Bản đồ các xã", "Map of the communes")
    );
    for (s, (lat, lon)) in placed {
        let fill = match s.condition.code() {
            "on_air" => "#1565c0",
            "live" => "#2e7d32",
            "output_down" => "#f9a825",
            "daemon_down" => "#c62828",
            _ => "#757575",
        };
        let stroke = if s.flag.is_some() {
            "#c62828"
        } else {
            "#ffffff"
        };
        let name = s.name.as_deref().unwrap_or_default();
        let (open, close) = if pick {
            (String::new(), "")
        } else {
            (format!("<a href=\"/communes/{}\">", s.station), "</a>")
        };
        let _ = write!(
            o,
            "{open}<circle data-station=\"{id}\" cx=\"{x:.5}\" cy=\"{y:.5}\" r=\"{r:.5}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{sw:.5}\"><title>{id} {name}: {state}</title></circle><text x=\"{tx:.5}\" y=\"{y:.5}\" font-size=\"{fs:.5}\" dominant-baseline=\"middle\">{id}</text>{close}",
            id = s.station,
            x = lon * k,
            y = -lat,
            sw = r * 0.3,
            tx = lon * k + r * 1.4,
            fs = r * 1.6,
            name = crate::report::html_escape(name),
            state = crate::report::html_escape(&s.condition.text(lang, PROVINCE_ZONE)),
        );
    }
    o.push_str("</svg>");
    Some(o)
}

// ---- bulletins -----------------------------------------------------------------------------

struct SentRow {
    id: i64,
    title: String,
    level: &'static str,
    level_code: &'static str,
    published: String,
    until: String,
    stations: i64,
    received: i64,
    aired: i64,
    withdrawn: bool,
}

struct DraftRow {
    id: i64,
    title: String,
    level: &'static str,
    to: String,
    by: String,
    at: String,
}

#[derive(Template)]
#[template(path = "province/bulletins.html")]
struct BulletinsPage {
    c: Chrome,
    sent: Vec<SentRow>,
    drafts: Vec<DraftRow>,
    stations: Vec<(String, String)>,
    groups: Vec<String>,
    map: Option<String>,
    levels: Vec<(&'static str, &'static str)>,
    approver: bool,
}

pub(super) async fn bulletins(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    let lang = v.lang;
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let t = app.target();
    let (sent, drafts, memberships, stations, states) = match tokio::try_join!(
        bulletin::list(t, &conn),
        bulletin::drafts(t, &conn, true),
        stations::groups(t, &conn),
        stations::names(t, &conn),
        stations::list(t, &conn, Utc::now(), lang)
    ) {
        Ok(x) => x,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let mut groups: Vec<String> = memberships.into_iter().map(|(g, _)| g).collect();
    groups.dedup();
    render(&BulletinsPage {
        c: chrome(&v, "bulletins"),
        sent: sent
            .iter()
            .map(|b| SentRow {
                id: b.id,
                title: b.title.clone(),
                level: b.level.label(lang),
                level_code: b.level.code(),
                published: when(b.published_at),
                until: when(b.until),
                stations: b.stations,
                received: b.received,
                aired: b.aired,
                withdrawn: b.withdrawn_at.is_some(),
            })
            .collect(),
        drafts: drafts
            .iter()
            .map(|d| DraftRow {
                id: d.id,
                title: d.title.clone(),
                level: d.level.label(lang),
                to: d.addressed.join(", "),
                by: d.drafted_by.clone(),
                at: when(d.drafted_at),
            })
            .collect(),
        stations,
        groups,
        map: map(&states.iter().collect::<Vec<_>>(), lang, true),
        levels: [Priority::Normal, Priority::Priority, Priority::Emergency]
            .into_iter()
            .map(|p| (p.code(), p.label(lang)))
            .collect(),
        approver: v.may(ConsoleRole::Approver),
    })
}

/// A private folder for one upload, removed with everything in it when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("loaxa-province-{}", crate::net::token()));
        std::fs::create_dir(&dir)?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The compose form: the clip and every field, read in order (the clip streamed to disk).
async fn read_compose(
    upload: &mut axum::extract::Multipart,
    scratch: &Scratch,
    lang: Lang,
) -> Result<(Option<PathBuf>, Vec<(String, String)>), Refusal> {
    let mut clip = None;
    let mut fields = Vec::new();
    loop {
        let next = upload.next_field().await;
        let mut field = match next {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(Refusal::BadRequest(tr!(
                    lang,
                    "biểu mẫu gửi lên không đọc được ({e})",
                    "the form sent could not be read ({e})"
                )))
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "clip" {
            let raw = field.file_name().unwrap_or_default().to_string();
            if raw.is_empty() {
                continue;
            }
            let clean = crate::library::clean_name(&raw, lang).map_err(Refusal::Invalid)?;
            let path = scratch.0.join(&clean);
            crate::web::upload::stream_to(&mut field, &path, super::CLIP_LIMIT, &clean, lang)
                .await
                .map_err(Refusal::Invalid)?;
            clip = Some(path);
        } else {
            let text = field.text().await.map_err(|e| {
                Refusal::BadRequest(tr!(
                    lang,
                    "biểu mẫu gửi lên không đọc được ({e})",
                    "the form sent could not be read ({e})"
                ))
            })?;
            fields.push((name, text));
        }
    }
    Ok((clip, fields))
}

/// `POST /bulletins/new`: an editor's draft, or (an approver, khẩn cấp only) sent at once.
pub(super) async fn compose(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Upload(mut upload): Upload,
) -> Response {
    let lang = v.lang;
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => return Refusal::Failed(e.to_string()).into_response(),
    };
    let (clip, fields) = match read_compose(&mut upload, &scratch, lang).await {
        Ok(x) => x,
        Err(r) => return r.into_response(),
    };
    let Some(clip) = clip else {
        return Refusal::Invalid(
            lang.pick(
                "bản tin cần tệp âm thanh",
                "a bulletin needs its audio file",
            )
            .into(),
        )
        .into_response();
    };
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, v)| v.trim())
    };
    let Some(level) = Priority::parse(get("level")) else {
        return Refusal::Invalid(
            lang.pick("hãy chọn mức của bản tin", "choose the bulletin's level")
                .into(),
        )
        .into_response();
    };
    let instant = |k: &str| -> Result<Option<DateTime<Utc>>, Refusal> {
        let s = get(k);
        if s.is_empty() {
            return Ok(None);
        }
        province_time(s).map(Some).ok_or_else(|| {
            Refusal::Invalid(tr!(
                lang,
                "thời điểm «{s}» không đọc được: dạng NĂM-THÁNG-NGÀY GIỜ:PHÚT",
                "the time “{s}” cannot be read: YYYY-MM-DD HH:MM"
            ))
        })
    };
    let (from, until) = match (instant("from"), instant("until")) {
        (Ok(f), Ok(u)) => (f, u),
        (Err(r), _) | (_, Err(r)) => return r.into_response(),
    };
    let repeat = match get("repeat") {
        "" => 1,
        n => match n.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                return Refusal::Invalid(tr!(
                    lang,
                    "số lần phát «{n}» không phải số",
                    "the repeat count “{n}” is not a number"
                ))
                .into_response()
            }
        },
    };
    let to: Vec<String> = fields
        .iter()
        .filter(|(n, v)| n == "to" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
        .collect();
    let at: Vec<String> = get("at")
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let title = get("title").to_string();
    let send = get("action") == "send";
    if send && !v.may(ConsoleRole::Approver) {
        return Refusal::Forbidden(
            lang.pick(
                "chỉ người phê duyệt mới gửi một mình được",
                "only an approver may send alone",
            )
            .into(),
        )
        .into_response();
    }
    let user = v.user();
    // Checking the clip decodes it in full: off the thread that serves everyone else.
    let a = app.clone();
    let by = user.clone();
    let t = title.clone();
    let done = tokio::task::spawn_blocking(move || {
        let draft = bulletin::Draft {
            title: t,
            level,
            file: &clip,
            to,
            from,
            until,
            at,
            repeat,
            lang,
        };
        tokio::runtime::Handle::current().block_on(async {
            let conn = a.pool.get().await?;
            let now = Utc::now();
            if send {
                bulletin::publish_as(a.target(), &conn, &draft, Some(&by), now)
                    .await
                    .map(|p| (p.id, true))
            } else {
                bulletin::draft(a.target(), &conn, &draft, &by, now)
                    .await
                    .map(|id| (id, false))
            }
        })
    })
    .await;
    drop(scratch);
    match done {
        Ok(Ok((id, true))) => {
            let detail = format!("bulletin {id} sent alone, {}", title.trim());
            if let Err(r) = app.log(&v, "bulletin_sent_alone", Some(&detail)).await {
                return r.into_response();
            }
            see(format!("/bulletins/{id}"))
        }
        Ok(Ok((id, false))) => {
            let detail = format!("draft {id}, {}", title.trim());
            if let Err(r) = app.log(&v, "bulletin_drafted", Some(&detail)).await {
                return r.into_response();
            }
            see(format!("/drafts/{id}"))
        }
        Ok(Err(e)) => failed(&e, lang).into_response(),
        Err(e) => Refusal::Failed(e.to_string()).into_response(),
    }
}

#[derive(Template)]
#[template(path = "province/draft.html")]
struct DraftPage {
    c: Chrome,
    d: bulletin::DraftSummary,
    level: &'static str,
    length: String,
    loudness: String,
    at: String,
    may_approve: bool,
    own: bool,
}

pub(super) async fn draft(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    UrlPath(id): UrlPath<i64>,
) -> Response {
    let lang = v.lang;
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let all = match bulletin::drafts(app.target(), &conn, false).await {
        Ok(d) => d,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let Some(d) = all.into_iter().find(|d| d.id == id) else {
        return Refusal::NotFound.into_response();
    };
    let own = d.drafted_by == v.user();
    render(&DraftPage {
        c: chrome(&v, "bulletins"),
        level: d.level.label(lang),
        length: format!("{:.1} s", d.duration_ms as f64 / 1000.0),
        loudness: d
            .loudness_lufs
            .map_or_else(|| "—".into(), |l| format!("{l:.1} LUFS")),
        at: when(d.drafted_at),
        may_approve: v.may(ConsoleRole::Approver) && !own && d.bulletin.is_none(),
        own,
        d,
    })
}

pub(super) async fn approve(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    UrlPath(id): UrlPath<i64>,
) -> Response {
    let lang = v.lang;
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, lang).into_response(),
    };
    match bulletin::approve(app.target(), &conn, id, &v.user(), Utc::now()).await {
        Ok(p) => {
            let detail = format!("draft {id} → bulletin {}", p.id);
            if let Err(r) = app.log(&v, "bulletin_approved", Some(&detail)).await {
                return r.into_response();
            }
            see(format!("/bulletins/{}", p.id))
        }
        Err(e) => failed(&e, lang).into_response(),
    }
}

struct BoardRow {
    station: String,
    name: String,
    code: &'static str,
    state: &'static str,
    received: String,
    aired: String,
    ended: String,
}

#[derive(Template)]
#[template(path = "province/board.html")]
struct BoardPage {
    c: Chrome,
    b: bulletin::Detail,
    level: &'static str,
    from: String,
    until: String,
    length: String,
    rows: Vec<BoardRow>,
    counts: Vec<(&'static str, &'static str, usize)>,
    under_way: bool,
    withdrawn: Option<String>,
}

/// Where each commune stands with a bulletin: its delivery, or `on_air` while its heartbeat
/// says the bulletin is on air there.
pub(super) fn states(
    b: &bulletin::Detail,
    on_air: &[(String, String)],
) -> Vec<(String, &'static str)> {
    b.deliveries
        .iter()
        .map(|d| {
            let state = d.state();
            let airing = on_air
                .iter()
                .any(|(s, title)| *s == d.station && title.contains(b.summary.title.as_str()));
            let state = if airing && matches!(state, "received" | "aired_in_part") {
                "on_air"
            } else {
                state
            };
            (d.station.clone(), state)
        })
        .collect()
}

pub(super) async fn board(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    UrlPath(id): UrlPath<i64>,
) -> Response {
    let lang = v.lang;
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let now = Utc::now();
    let (b, on_air) = match tokio::try_join!(
        bulletin::show(app.target(), &conn, id),
        stations::on_air(app.target(), &conn, now)
    ) {
        Ok(x) => x,
        Err(crate::central::CentralError::NoBulletin(_)) => {
            return Refusal::NotFound.into_response()
        }
        Err(e) => return failed(&e, lang).into_response(),
    };
    let states = states(&b, &on_air);
    let order = [
        "aired",
        "on_air",
        "aired_in_part",
        "received",
        "silent",
        "refused",
        "expired",
        "withdrawn",
    ];
    let counts = order
        .iter()
        .map(|&code| {
            (
                code,
                delivery_label(code, lang),
                states.iter().filter(|(_, s)| *s == code).count(),
            )
        })
        .collect();
    let rows = b
        .deliveries
        .iter()
        .zip(&states)
        .map(|(d, (_, state))| BoardRow {
            station: d.station.clone(),
            name: d.name.clone().unwrap_or_default(),
            code: state,
            state: delivery_label(state, lang),
            received: d
                .received_at
                .as_deref()
                .map_or_else(String::new, station_time),
            aired: d
                .aired
                .iter()
                .map(|a| {
                    let peak = a
                        .peak_dbfs
                        .map_or_else(String::new, |p| format!(", {p:.1} dBFS"));
                    format!(
                        "{} {} ({:.1}/{:.1} s{peak})",
                        station_time(&a.recorded_at),
                        crate::history::outcome_label(&a.outcome, lang),
                        a.played_ms as f64 / 1000.0,
                        a.duration_ms as f64 / 1000.0
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            ended: d
                .ended
                .as_ref()
                .map(|(_, at, why)| format!("{at} {why}"))
                .unwrap_or_default(),
        })
        .collect();
    // Until its end, a board follows what is still to come back (a withdrawn one too: the
    // communes' word of the cut, or of never airing it, is still on its way).
    let under_way = b.summary.until > now
        && states
            .iter()
            .any(|(_, s)| matches!(*s, "silent" | "received" | "on_air" | "aired_in_part"));
    let withdrawn = b.summary.withdrawn_at.map(|at| {
        format!(
            "{} — {} ({})",
            when(at),
            b.summary.withdraw_reason.clone().unwrap_or_default(),
            b.summary.withdrawn_by.clone().unwrap_or_default()
        )
    });
    render(&BoardPage {
        c: chrome(&v, "bulletins"),
        level: b.summary.level.label(lang),
        from: when(b.summary.from),
        until: when(b.summary.until),
        length: format!("{:.1} s", b.duration_ms as f64 / 1000.0),
        rows,
        counts,
        under_way,
        withdrawn,
        b,
    })
}

#[derive(Deserialize)]
pub(super) struct WithdrawForm {
    reason: String,
}

pub(super) async fn withdraw(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    UrlPath(id): UrlPath<i64>,
    Form(f): Form<WithdrawForm>,
) -> Response {
    let lang = v.lang;
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, lang).into_response(),
    };
    let user = v.user();
    match bulletin::withdraw(app.target(), &conn, id, &f.reason, Some(&user)).await {
        Ok(()) => {
            let detail = format!("bulletin {id}: {}", f.reason.trim());
            if let Err(r) = app.log(&v, "bulletin_withdrawn", Some(&detail)).await {
                return r.into_response();
            }
            see(format!("/bulletins/{id}"))
        }
        Err(e) => failed(&e, lang).into_response(),
    }
}

/// `GET /clips/{sha256}`: a bulletin's stored clip, to listen to before approving or after.
pub(super) async fn clip(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    UrlPath(sha256): UrlPath<String>,
) -> Response {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Refusal::NotFound.into_response();
    }
    let conn = match app.pool.get().await {
        Ok(c) => c,
        Err(e) => return failed(&e, v.lang).into_response(),
    };
    match bulletin::stored_clip(app.target(), &conn, &sha256).await {
        Ok(Some((bytes, name))) => {
            let kind = match name
                .rsplit('.')
                .next()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("mp3") => "audio/mpeg",
                Some("wav") => "audio/wav",
                Some("ogg" | "opus") => "audio/ogg",
                Some("flac") => "audio/flac",
                Some("m4a" | "mp4" | "aac") => "audio/mp4",
                _ => "application/octet-stream",
            };
            (
                [
                    (header::CONTENT_TYPE, kind),
                    (header::CACHE_CONTROL, "private, max-age=3600"),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(None) => Refusal::NotFound.into_response(),
        Err(e) => failed(&e, v.lang).into_response(),
    }
}
