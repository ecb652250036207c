//! The operator's console, `loaxa web`: a separate process serving server-rendered pages (and
//! the JSON API and Prometheus metrics they share) for everything the operator otherwise does
//! with a terminal. It never airs or journals by itself: it works through the operator's
//! doors — files written into `audio/` and `schedules/` under a temporary name and then
//! renamed, emergencies handed to the emergency folder, its own actions handed to the daemon
//! to journal ([`crate::mailbox`]) — and reads the journal and `status.json`.
//!
//! A network listener on a government PC: loopback by default, a non-loopback address only
//! once a password is set, every request but the login page and its assets needs a session,
//! every change a CSRF token and the operator role.

mod api;
pub(crate) mod auth;
pub mod door;
mod editor;
pub(crate) mod input;
mod live;
pub(crate) mod memory;
pub(crate) mod pages;
mod passwd;
pub mod settings;
pub mod tls;
pub(crate) mod upload;
pub(crate) mod view;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::config::{Config, ConfigError, Overrides};
use crate::lang::Lang;
use crate::mailbox;
use crate::tr;

pub use auth::hash_password;
pub use settings::{Role, Web, WebUser};

/// The largest upload the console takes, per file.
pub const UPLOAD_LIMIT: u64 = 500 * 1024 * 1024;

/// What every request handler shares.
pub struct App {
    config: Config,
    /// `[web]`: the listener and the accounts.
    web: Web,
    /// The station sends its journal to the province (`[sync]` is set).
    province: bool,
    gate: auth::Gate,
    /// The verification running or last run from the Health page.
    verification: std::sync::Mutex<Option<Arc<view::VerifyRun>>>,
    /// Set when the console is stopping: live-update streams end, so shutdown does not wait
    /// on browsers that keep them open.
    stopping: tokio::sync::watch::Sender<bool>,
    /// A browser is live (the Record page): one at a time.
    live_browser: std::sync::atomic::AtomicBool,
}

impl App {
    /// The console over a loaded configuration; its `[web]` is read here.
    pub fn new(config: Config) -> Result<App, ConfigError> {
        let web = config.section(settings::parse)?;
        let province = crate::sync::settings::configured(&config);
        Ok(App {
            config,
            web,
            province,
            gate: auth::Gate::default(),
            verification: std::sync::Mutex::new(None),
            stopping: tokio::sync::watch::Sender::new(false),
            live_browser: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Hands one of the console's actions to the daemon to journal. If it cannot be handed
    /// over, the change it records is refused: nothing may change unjournaled.
    fn record(&self, action: mailbox::Action) -> Result<(), Refusal> {
        mailbox::hand(&self.config.audio_dir, &action).map_err(|e| {
            tracing::error!(
                "{}: {e}",
                self.config.audio_dir.join(mailbox::PENDING_DIR).display()
            );
            Refusal::Failed(tr!(
                self.config.language,
                "không ghi được nhật ký thao tác: {e}",
                "cannot hand the action to the journal: {e}"
            ))
        })?;
        Ok(())
    }
}

/// Who asks, from where, in which language: what every page handler needs.
#[derive(Clone)]
pub(crate) struct Visitor {
    session: Option<auth::Session>,
    session_id: Option<String>,
    from: IpAddr,
    lang: Lang,
}

impl Visitor {
    fn can_change(&self) -> bool {
        self.session.as_ref().is_some_and(auth::Session::can_change)
    }

    fn user(&self) -> String {
        self.session
            .as_ref()
            .map(|s| s.user.clone())
            .unwrap_or_default()
    }

    fn csrf(&self) -> String {
        self.session
            .as_ref()
            .map(|s| s.csrf.clone())
            .unwrap_or_default()
    }

    fn action(&self, what: mailbox::What) -> mailbox::Action {
        mailbox::Action {
            at: chrono::Utc::now(),
            user: self.user(),
            from: self.from.to_string(),
            what,
            file: None,
            sha256: None,
            detail: None,
            bulletin: None,
            feed: None,
        }
    }
}

/// Why a request was not carried out; each becomes a page (or JSON) that says so.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No session: to the login page.
    LoggedOut,
    /// No session for a change or an API call: refused, nothing read.
    NotLoggedIn(Lang),
    /// A viewer, or a change without its CSRF token.
    Forbidden(String),
    NotFound,
    /// An upload larger than the console takes.
    TooLarge(String),
    /// The request itself is wrong (an upload that does not decode, a bad name).
    Invalid(String),
    /// A value in the address the console does not understand (a bad date, a format).
    BadRequest(String),
    Failed(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (code, text) = match self {
            Refusal::LoggedOut => {
                return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response()
            }
            Refusal::NotLoggedIn(lang) => (
                StatusCode::UNAUTHORIZED,
                lang.pick(
                    "chưa đăng nhập hoặc phiên đã hết hạn: hãy đăng nhập lại",
                    "not logged in, or the session has ended: log in again",
                )
                .to_string(),
            ),
            Refusal::Forbidden(t) => (StatusCode::FORBIDDEN, t),
            Refusal::NotFound => (StatusCode::NOT_FOUND, "404".to_string()),
            Refusal::TooLarge(t) => (StatusCode::PAYLOAD_TOO_LARGE, t),
            Refusal::Invalid(t) => (StatusCode::UNPROCESSABLE_ENTITY, t),
            Refusal::BadRequest(t) => (StatusCode::BAD_REQUEST, t),
            Refusal::Failed(t) => (StatusCode::INTERNAL_SERVER_ERROR, t),
        };
        (code, view::message_page(&text)).into_response()
    }
}

/// The cookie that carries what a change did to the page the browser is sent to next: a
/// word across the redirect, never in the address (where a link could put words in the
/// console's mouth).
const FLASH: &str = "loaxa_flash";

/// Sends the browser to `to` after a change, with what it did to say there.
pub(crate) fn after_change(to: &str, said: &str) -> Response {
    let cookie = format!(
        "{FLASH}={}; Path=/; Max-Age=60; HttpOnly; SameSite=Strict",
        crate::net::percent_encode(said)
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, to.to_string()),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response()
}

/// What the last change did, if the browser carries it: said once (the answer clears it).
pub(crate) fn flash(headers: &HeaderMap) -> Option<String> {
    let raw = cookie(headers, FLASH)?;
    let said = String::from_utf8(crate::net::percent_decode(raw.as_bytes())).ok()?;
    (!said.is_empty()).then_some(said)
}

/// Clears the flash on a page that showed it.
pub(crate) fn flash_shown(mut r: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{FLASH}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether a host is loopback: a listener there is reachable from this PC only.
fn loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// Every request passes here: the Host header (on a loopback listener, only loopback names,
/// so a web page elsewhere cannot reach the console by rebinding its name to 127.0.0.1), the
/// session and role, the CSRF token of a change, and the security headers of the answer.
async fn guard(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let headers = req.headers();
    let lang = cookie(headers, "loaxa_lang")
        .and_then(|l| Lang::parse(&l))
        .unwrap_or(app.config.language);
    if let Some(refused) = foreign_host(app.web.listen.ip(), headers, lang) {
        return refused;
    }
    let session_id = cookie(headers, auth::COOKIE);
    let mut session = session_id.as_deref().and_then(|id| app.gate.session(id));
    let path = req.uri().path().to_string();
    let open = path == "/login" || path.starts_with("/assets/") || path.starts_with("/lang/");
    let api = path.starts_with("/api/") || path == "/metrics";
    // Tools without a browser (a monitoring server) read the API with HTTP Basic credentials.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    if let (None, true, Some(basic), &Method::GET) = (&session, api, basic, req.method()) {
        let (a, from) = (app.clone(), peer.ip());
        let checked = tokio::task::spawn_blocking(move || {
            let r = a.gate.basic(&a.web.users, from, &basic, Role::Viewer);
            memory::give_back();
            r
        })
        .await;
        match checked {
            Ok(Ok(s)) => session = Some(s),
            Ok(Err(auth::Login::Wait(_))) => {
                return secure(
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        lang.pick(
                            "đăng nhập sai quá nhiều lần: hãy đợi rồi thử lại",
                            "too many failed logins: wait, then try again",
                        ),
                    )
                        .into_response(),
                )
            }
            _ => {
                let _ = app.record(mailbox::Action {
                    at: chrono::Utc::now(),
                    user: String::new(),
                    from: peer.ip().to_string(),
                    what: mailbox::What::LoginFailed,
                    file: None,
                    sha256: None,
                    detail: Some(format!("HTTP Basic, {path}")),
                    bulletin: None,
                    feed: None,
                });
                let mut r = (
                    StatusCode::UNAUTHORIZED,
                    lang.pick("sai tên hoặc mật khẩu", "wrong user name or password"),
                )
                    .into_response();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"loaxa\", charset=\"UTF-8\""),
                );
                return secure(r);
            }
        }
    }
    let headers = req.headers();
    // A WebSocket (the Record page's live voice) is a change: it asks for one with its GET.
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD)
        || headers.contains_key(header::UPGRADE);
    if session.is_none() && !open {
        // A page asked for is shown after logging in; a change or an API call is refused
        // (401), its body unread.
        let r = if api || changes {
            Refusal::NotLoggedIn(lang).into_response()
        } else {
            Refusal::LoggedOut.into_response()
        };
        return secure(r);
    }
    if changes {
        if cross_site(headers) {
            return secure(
                Refusal::Forbidden(
                    lang.pick("yêu cầu từ trang khác", "cross-site request")
                        .into(),
                )
                .into_response(),
            );
        }
        if path != "/login" {
            let Some(s) = &session else {
                return secure(Refusal::LoggedOut.into_response());
            };
            if !s.can_change() {
                return secure(
                    Refusal::Forbidden(
                        lang.pick(
                            "tài khoản chỉ xem không được thay đổi gì",
                            "a viewer account cannot change anything",
                        )
                        .into(),
                    )
                    .into_response(),
                );
            }
            if !csrf_matches(&req, &s.csrf) {
                return secure(csrf_refused(lang).into_response());
            }
        }
    }
    req.extensions_mut().insert(Visitor {
        session,
        session_id,
        from: peer.ip(),
        lang,
    });
    let mut r = secure(next.run(req).await);
    if app.web.tls.is_some() {
        // Over HTTPS, no cookie of the console's ever travels in clear.
        let cookies: Vec<HeaderValue> = r
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|c| HeaderValue::from_str(&format!("{}; Secure", c.to_str().ok()?)).ok())
            .collect();
        r.headers_mut().remove(header::SET_COOKIE);
        for c in cookies {
            r.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    r
}

/// On a loopback listener, a request whose Host is not a loopback name is refused: a web page
/// elsewhere must not reach a console by rebinding its name to 127.0.0.1.
pub(crate) fn foreign_host(listen: IpAddr, headers: &HeaderMap, lang: Lang) -> Option<Response> {
    if !loopback(listen) {
        return None;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(n, _)| n);
    (!matches!(name, "127.0.0.1" | "localhost" | "[::1]")).then(|| {
        secure(
            (
                StatusCode::MISDIRECTED_REQUEST,
                lang.pick(
                    "địa chỉ này không phải của bảng điều khiển loaxa",
                    "this host name is not served here",
                ),
            )
                .into_response(),
        )
    })
}

/// Whether a change comes from another site. A change must come from a page of this console:
/// browsers say where a request comes from in `Sec-Fetch-Site`, whatever the referrer policy;
/// `Origin`, when it is not the "null" that the no-referrer policy makes of it, must name
/// this host.
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let site = headers
        .get("sec-fetch-site")
        .and_then(|o| o.to_str().ok())
        .unwrap_or("same-origin");
    let origin_ok = match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None | Some("null") => true,
        Some(origin) => host
            .is_some_and(|h| origin == format!("http://{h}") || origin == format!("https://{h}")),
    };
    !origin_ok || !matches!(site, "same-origin" | "none")
}

/// Whether a change carries its session's CSRF token: in a header (scripts) or in the form's
/// address (plain forms and uploads), so that it is checked before any body is read.
pub(crate) fn csrf_matches(req: &Request, csrf: &str) -> bool {
    req.headers()
        .get("x-csrf-token")
        .and_then(|t| t.to_str().ok())
        .map(str::to_string)
        .or_else(|| query_value(req.uri().query(), "csrf"))
        .is_some_and(|t| auth::same_token(&t, csrf))
}

/// A value of a request's query string, by name.
fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn csrf_refused(lang: Lang) -> Refusal {
    Refusal::Forbidden(
        lang.pick(
            "thiếu mã chống giả mạo (CSRF) hoặc mã không đúng: hãy tải lại trang",
            "missing or wrong CSRF token: reload the page",
        )
        .into(),
    )
}

/// The security headers every answer of a console carries.
pub(crate) fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    // `blob:` media: the Record page plays a take back from the browser's memory.
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    );
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "no-referrer");
    set(h, "x-content-type-options", "nosniff");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    r
}

/// The console's routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(pages::now))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/lang/{code}", get(pages::language))
        .route("/timetable", get(pages::timetable))
        .route("/timetable/edit", get(editor::edit).post(editor::check))
        .route("/timetable/save", post(editor::save))
        .route("/library", get(pages::library))
        .route("/library/clip", get(pages::clip).post(upload::save_sidecar))
        .route("/library/retire", post(upload::retire))
        .route("/library/delete", post(upload::delete))
        .route("/library/bulletin-order", post(upload::clash_order))
        .route(
            "/library/upload",
            post(upload::upload).layer(DefaultBodyLimit::max((UPLOAD_LIMIT + (1 << 20)) as usize)),
        )
        .route(
            "/record",
            get(pages::record)
                .post(upload::record)
                .layer(DefaultBodyLimit::max((UPLOAD_LIMIT + (1 << 20)) as usize)),
        )
        .route("/live", post(upload::live))
        .route("/live/browser", get(live::socket))
        .route("/audio/{*rel}", get(upload::listen))
        .route(
            "/emergency",
            get(pages::emergency)
                .post(upload::emergency)
                .layer(DefaultBodyLimit::max((UPLOAD_LIMIT + (1 << 20)) as usize)),
        )
        .route("/log", get(pages::log))
        .route("/log.csv", get(pages::log_csv))
        .route("/report", get(pages::report))
        .route("/report/download", get(pages::report_download))
        .route("/health", get(pages::health))
        .route("/api/status", get(api::status))
        .route("/api/events", get(api::events))
        .route("/api/timetable", get(api::timetable))
        .route("/api/clips", get(api::clips))
        .route("/api/log", get(api::log))
        .route("/api/report", get(api::report))
        .route("/api/verify", get(api::verify))
        .route("/api/emergency", post(upload::emergency_api))
        .route("/metrics", get(api::metrics))
        .route("/assets/{name}", get(view::asset))
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Why `loaxa web` could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Config(ConfigError),
    #[error("{addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Serves the console on `listener` until `shutdown` completes (mini-redis style, so tests
/// drive it in-process).
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = app.stopping.clone();
    let lang = app.config.language;
    // HTTPS configured and its pair not loading is an error, never plain HTTP instead (`run`
    // says it at start).
    let tls = match &app.web.tls {
        Some(t) => Some(tls::acceptor(t, lang).map_err(std::io::Error::other)?),
        None => None,
    };
    door::serve_until(router(app), listener, tls, stopping, lang, shutdown).await
}

/// How long requests under way may take to finish once the console is asked to stop.
pub const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A clip named by the browser, confined to the audio folder: an audio file, no `..`, no
/// absolute path, no link leading outside.
pub(crate) fn confined(app: &App, rel: &str, lang: Lang) -> Result<PathBuf, Refusal> {
    let rel = crate::library::check_relative(rel).map_err(|_| Refusal::NotFound)?;
    // Clips only: a queue's settings or a sidecar is not something to play, retire, delete
    // or give details to.
    if !crate::library::has_audio_extension(&rel) {
        return Err(Refusal::NotFound);
    }
    let path = crate::library::resolve(&app.config.audio_dir, &rel)
        .filter(|p| p.is_file())
        .ok_or(Refusal::NotFound)?;
    if let Some(why) = crate::library::refusal(&app.config.audio_dir, &path, lang) {
        return Err(Refusal::Forbidden(why));
    }
    let inside = std::fs::canonicalize(&path)
        .ok()
        .zip(std::fs::canonicalize(&app.config.audio_dir).ok())
        .is_some_and(|(p, root)| p.starts_with(root));
    if !inside {
        return Err(Refusal::NotFound);
    }
    Ok(path)
}

/// The queue folders the schedules take from (the emergency folder aside), each with the
/// titles of the plan items that take from it: where an upload or a recording may go.
pub(crate) fn queue_items(
    app: &App,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, Refusal> {
    let loaded = app.station()?;
    let emergency = crate::library::normalize(&app.config.emergency_dir);
    let mut items: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for s in loaded.station.schedules.slots() {
        let Some(q) = &s.queue else { continue };
        let folder = crate::library::normalize(&q.folder);
        if folder != emergency {
            let titles = items.entry(folder).or_default();
            if !titles.contains(&s.title) {
                titles.push(s.title.clone());
            }
        }
    }
    Ok(items)
}

/// The queue folders an upload may go into ([`queue_items`]' folders).
pub(crate) fn upload_folders(app: &App) -> Result<Vec<String>, Refusal> {
    Ok(queue_items(app)?.into_keys().collect())
}

/// Runs disk and database work on the blocking pool, so one slow page never stalls the
/// others on the async thread.
pub(crate) async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let r = f(&app);
        memory::give_back();
        r
    })
    .await
    .map_err(|e| Refusal::Failed(e.to_string()))?
}

/// Refuses a listener the configuration does not allow: anything but loopback needs at
/// least one account with a password.
pub fn check_listen(config: &Config, web: &Web, addr: SocketAddr) -> Result<(), WebError> {
    if !loopback(addr.ip()) && web.users.is_empty() {
        return Err(WebError::Refused(tr!(
            config.language,
            "không mở bảng điều khiển ra mạng ở {addr} khi chưa có mật khẩu: chạy `loaxa web passwd` trước",
            "will not open the console to the network at {addr} before a password is set: run `loaxa web passwd` first"
        )));
    }
    Ok(())
}

/// `loaxa web [--listen ADDR]`: loads the station's configuration and serves until SIGTERM
/// or Ctrl-C.
pub fn run(config: Config, listen: Option<SocketAddr>) -> Result<(), WebError> {
    let mut app = App::new(config).map_err(WebError::Config)?;
    let addr = listen.unwrap_or(app.web.listen);
    // What the requests' Host is checked against is where the console listens, `--listen`
    // included (a loopback Host check on a console listening to the office would refuse it).
    app.web.listen = addr;
    check_listen(&app.config, &app.web, addr)?;
    let lang = app.config.language;
    if let Some(t) = &app.web.tls {
        tls::acceptor(t, lang).map_err(WebError::Refused)?;
    }
    let scheme = if app.web.tls.is_some() {
        "https"
    } else {
        "http"
    };
    memory::keep_small();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Disk and database work runs on these; a console has one or two visitors.
        .max_blocking_threads(4)
        .build()
        .map_err(|source| WebError::Listen { addr, source })?;
    let served = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| WebError::Listen { addr, source })?;
        let bound = listener.local_addr().unwrap_or(addr);
        if app.web.users.is_empty() {
            tracing::warn!(
                "{}",
                tr!(
                    lang,
                    "chưa có tài khoản nào: chạy `loaxa web passwd` để đặt mật khẩu rồi đăng nhập",
                    "no account yet: run `loaxa web passwd` to set a password, then log in"
                )
            );
        }
        tracing::info!(
            "{}",
            tr!(
                lang,
                "bảng điều khiển: {scheme}://{bound}/",
                "console: {scheme}://{bound}/"
            )
        );
        serve(Arc::new(app), listener, crate::shutdown::stop_signal(None))
            .await
            .map_err(|source| WebError::Listen { addr, source })
    });
    // Disk work still under way (a page reading the journal) is not waited for: the console
    // stops within the service's 3 s.
    rt.shutdown_timeout(std::time::Duration::from_millis(300));
    served
}

/// `loaxa web passwd`: sets an account's password in the configuration file.
pub fn set_password(
    config_file: &std::path::Path,
    user: &str,
    role: crate::web::Role,
    password: &str,
    lang: Lang,
) -> Result<PathBuf, String> {
    passwd::set(config_file, user, role, password, lang)
}

/// Loads the configuration as every other command does.
pub fn load_config(
    overrides: &Overrides,
    cwd: &std::path::Path,
    sections: &[crate::config::Section],
) -> Result<Config, crate::config::ConfigError> {
    crate::config::load(overrides, &crate::config::environment(), cwd, sections)
}

#[derive(Debug, clap::Parser)]
#[command(
    name = "loaxa web",
    version,
    about = "loaxa: the operator's console (bảng điều khiển)"
)]
struct Args {
    /// The station configuration (as for `loaxa`).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// vi or en.
    #[arg(long, global = true)]
    lang: Option<String>,
    /// Where to listen (default: [web] listen, else 127.0.0.1:8080).
    #[arg(long, value_name = "ADDRESS:PORT")]
    listen: Option<SocketAddr>,
    #[command(subcommand)]
    command: Option<WebCommand>,
}

impl Args {
    /// The command line, its help in `lang` (clap's derive gives the English).
    fn parse_in(lang: Lang) -> Result<Args, clap::Error> {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let mut cmd = Args::command();
        if lang == Lang::Vi {
            cmd = cmd
                .about("loaxa: bảng điều khiển của đài (trang web cho người vận hành)")
                .mut_arg("config", |a| a.help("Tệp cấu hình của đài (như với `loaxa`)"))
                .mut_arg("lang", |a| a.help("vi hoặc en"))
                .mut_arg("listen", |a| {
                    a.help("Nghe ở địa chỉ nào (mặc định: [web] listen, nếu không thì 127.0.0.1:8080)")
                })
                .mut_subcommand("passwd", |c| {
                    c.about("Đặt mật khẩu cho một tài khoản (gõ ở cửa sổ lệnh, hoặc một dòng từ đầu vào chuẩn)")
                        .mut_arg("user", |a| a.help("Tên tài khoản"))
                        .mut_arg("role", |a| {
                            a.help("operator: làm mọi việc; viewer: chỉ xem")
                        })
                })
                .mut_subcommand("cert", |c| {
                    c.about("Tạo chứng chỉ tự ký cho HTTPS ([web] tls_cert, tls_key), để trình duyệt ở máy khác trong văn phòng ghi âm và phát trực tiếp được")
                        .mut_arg("hosts", |a| {
                            a.help("Tên hoặc địa chỉ mà các máy trong văn phòng dùng để mở bảng điều khiển (lặp lại nếu nhiều); tên và địa chỉ của máy này được thêm sẵn")
                        })
                        .mut_arg("force", |a| {
                            a.help("Thay cặp đã tạo (các máy đã tin phải tin lại chứng chỉ mới)")
                        })
                });
        }
        let matches = crate::usage::localize(cmd, lang).try_get_matches()?;
        Args::from_arg_matches(&matches)
    }
}

#[derive(Debug, clap::Subcommand)]
enum WebCommand {
    /// Set an account's password (read from the terminal, or one line of standard input).
    Passwd {
        /// The account's name.
        #[arg(long, default_value = "van-hanh")]
        user: String,
        /// operator: does everything; viewer: reads only.
        #[arg(long, default_value = "operator", value_parser = ["operator", "viewer"])]
        role: String,
    },
    /// Make a self-signed certificate for HTTPS ([web] tls_cert, tls_key), so that browsers
    /// elsewhere in the office may record and go live.
    Cert {
        /// A name or address the office reaches the console by (again for more); this
        /// machine's own name and addresses are added.
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
        /// Replace the pair already made (the PCs that trust it must trust the new one).
        #[arg(long)]
        force: bool,
    },
}

/// Reads a password: twice, unechoed, at a terminal; else one line of standard input (for
/// scripts and tests).
pub(crate) fn read_password(lang: Lang) -> Result<String, String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let read_line = || -> Result<String, String> {
        let mut s = String::new();
        stdin.lock().read_line(&mut s).map_err(|e| e.to_string())?;
        Ok(s.trim_end_matches(['\n', '\r']).to_string())
    };
    if !stdin.is_terminal() {
        return read_line();
    }
    let echo = |on: bool| {
        // SAFETY: termios on the standard input, a terminal here; failure leaves echo as is.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &raw mut t) == 0 {
                if on {
                    t.c_lflag |= libc::ECHO;
                } else {
                    t.c_lflag &= !libc::ECHO;
                }
                libc::tcsetattr(0, libc::TCSANOW, &raw const t);
            }
        }
    };
    eprint!("{}", lang.pick("Mật khẩu mới: ", "New password: "));
    echo(false);
    let first = read_line();
    eprint!("\n{}", lang.pick("Nhập lại: ", "Again: "));
    let second = read_line();
    echo(true);
    eprintln!();
    let (first, second) = (first?, second?);
    if first != second {
        return Err(lang
            .pick("hai lần nhập không khớp", "the two entries differ")
            .into());
    }
    Ok(first)
}

/// The `loaxa-web` program: 0 ok, 1 runtime failure, 2 invalid input or usage. `sections`
/// are the configuration's sections to check with it (`cli::SECTIONS`).
pub fn main(sections: &[crate::config::Section]) -> std::process::ExitCode {
    use std::process::ExitCode;
    let help = crate::config::help_language();
    let args = match Args::parse_in(help) {
        Ok(a) => a,
        Err(e) => {
            match crate::usage::usage_error(&e, "loaxa web").filter(|_| help == Lang::Vi) {
                Some(said) => eprint!("{said}"),
                None => {
                    let _ = e.print();
                }
            }
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    crate::logging::init_logging();
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("loaxa web: current directory: {e}");
            return ExitCode::from(1);
        }
    };
    let overrides = Overrides {
        config: args.config,
        output: None,
        language: args.lang,
    };
    let config = match load_config(&overrides, &cwd, sections) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let lang = config.language;
    match args.command {
        Some(WebCommand::Passwd { user, role }) => {
            let role = if role == "viewer" {
                crate::web::Role::Viewer
            } else {
                crate::web::Role::Operator
            };
            let Some(file) = config.file.clone() else {
                return ExitCode::from(2);
            };
            let result =
                read_password(lang).and_then(|p| set_password(&file, &user, role, &p, lang));
            match result {
                Ok(f) => {
                    println!(
                        "{}",
                        tr!(
                            lang,
                            "đã đặt mật khẩu cho {user} ({}) trong {}; khởi động lại bảng điều khiển: sudo systemctl restart loaxa-web",
                            "password set for {user} ({}) in {}; restart the console: sudo systemctl restart loaxa-web",
                            role.code(),
                            f.display()
                        )
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("loaxa web passwd: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Some(WebCommand::Cert { hosts, force }) => {
            let Some(file) = config.file.clone() else {
                return ExitCode::from(2);
            };
            match tls::make(&file, &hosts, force, lang) {
                Ok(made) => {
                    println!("{}", cert_made(&made, &config, lang));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("loaxa web cert: {e}");
                    ExitCode::from(2)
                }
            }
        }
        None => match run(config, args.listen) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e @ WebError::Refused(_)) => {
                eprintln!("loaxa web: {e}");
                ExitCode::from(2)
            }
            Err(e) => {
                eprintln!("loaxa web: {e}");
                ExitCode::from(1)
            }
        },
    }
}

/// What `loaxa web cert` says: the files, the names, the fingerprint to compare, and how an
/// office PC comes to trust the certificate.
fn cert_made(made: &tls::Made, config: &Config, lang: Lang) -> String {
    let port = config
        .section(settings::parse)
        .map_or(8080, |w| w.listen.port());
    let first = made.names.first().cloned().unwrap_or_default();
    let set = if made.configured {
        lang.pick(
            "[web] đã được đặt để dùng cặp này.",
            "[web] is set to use this pair.",
        )
        .to_string()
    } else {
        tr!(
            lang,
            "[web] đã ghi tệp khác: muốn dùng cặp này thì đặt tls_cert = \"{}\" và tls_key = \"{}\".",
            "[web] names other files: to use this pair set tls_cert = \"{}\" and tls_key = \"{}\".",
            made.cert.display(),
            made.key.display()
        )
    };
    tr!(
        lang,
        "đã tạo chứng chỉ HTTPS cho {}\n  chứng chỉ: {}\n  khoá:      {}\n  dấu vân tay SHA-256: {}\n{set}\n\nĐể trình duyệt ở các máy trong văn phòng tin chứng chỉ này: chép tệp chứng chỉ sang máy đó, so dấu vân tay ở trên, rồi nhập vào mục tổ chức cấp chứng chỉ (Chrome, Edge: Cài đặt → Quyền riêng tư và bảo mật → Bảo mật → Quản lý chứng chỉ → Tổ chức phát hành; Firefox: Cài đặt → Quyền riêng tư và bảo mật → Xem chứng chỉ → Nhà cung cấp → Nhập).\nĐể mở bảng điều khiển ra mạng văn phòng: [web] listen = \"0.0.0.0:{port}\". Khởi động lại: sudo systemctl restart loaxa-web; rồi mở https://{first}:{port}/",
        "made an HTTPS certificate for {}\n  certificate: {}\n  key:         {}\n  SHA-256 fingerprint: {}\n{set}\n\nFor the browsers on the office's PCs to trust it: copy the certificate file to each, compare the fingerprint above, and import it as an authority (Chrome, Edge: Settings → Privacy and security → Security → Manage certificates → Authorities; Firefox: Settings → Privacy & Security → View Certificates → Authorities → Import).\nTo open the console to the office network: [web] listen = \"0.0.0.0:{port}\". Restart it: sudo systemctl restart loaxa-web; then open https://{first}:{port}/",
        made.names.join(", "),
        made.cert.display(),
        made.key.display(),
        made.fingerprint
    )
}
