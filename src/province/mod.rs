//! The province's console, `loaxa central web`: every commune's state, the province's
//! bulletins drafted, approved, sent and followed commune by commune — in a browser, for
//! officials who are not engineers. Its own process over the centre's PostgreSQL, acting only
//! through the functions the command line uses (`central::stations`, `central::bulletin`,
//! `central::console`), each change written to the console's log with who and from where.
//!
//! Hostile ground as the station's console is, and guarded by the same parts of it (`web`):
//! the door's connection caps and header deadline, the argon2id gate with its per-address
//! back-off, the CSRF and cross-site checks before any body is read, the security headers.
//! Loopback by default; its accounts and roles (viewer, editor, approver) live in PostgreSQL.

mod api;
mod commune;
mod pages;
mod pool;
mod report;
mod verify;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::central::console::{ConsoleAccount, ConsoleRole};
use crate::central::{CentralError, Target};
use crate::lang::Lang;
use crate::tr;
use crate::web::auth::{Account, Gate, Login, Session};
use crate::web::{cookie, cross_site, csrf_matches, csrf_refused, foreign_host, secure, Refusal};

/// Where the console listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8090";
/// The largest bulletin clip the console takes.
pub const CLIP_LIMIT: u64 = 200 * 1024 * 1024;
/// The session cookie: its own name, so a station console on the same host (another port, the
/// same cookie jar) never overwrites it.
const COOKIE: &str = "loaxa_province_session";

impl Account for ConsoleAccount {
    type Role = ConsoleRole;
    fn name(&self) -> &str {
        &self.name
    }
    fn role(&self) -> ConsoleRole {
        self.role
    }
    fn password_hash(&self) -> &str {
        &self.password_hash
    }
}

/// The console's state: where the centre is, its connections, who is logged in.
pub struct App {
    pool: pool::Pool,
    gate: Gate<ConsoleRole>,
    lang: Lang,
    listen: SocketAddr,
    stopping: tokio::sync::watch::Sender<bool>,
    runs: verify::Runs,
}

impl App {
    pub fn new(target: Target, listen: SocketAddr, lang: Lang) -> App {
        App {
            pool: pool::Pool::new(target),
            gate: Gate::default(),
            lang,
            listen,
            stopping: tokio::sync::watch::Sender::new(false),
            runs: verify::Runs::default(),
        }
    }

    fn target(&self) -> &Target {
        &self.pool.target
    }

    /// Writes a line of the console's log; a log that cannot be written refuses the change.
    async fn log(&self, v: &Visitor, what: &str, detail: Option<&str>) -> Result<(), Refusal> {
        let conn = self.pool.get().await.map_err(|e| failed(&e, v.lang))?;
        crate::central::console::log(
            self.target(),
            &conn,
            &v.user(),
            &v.from.to_string(),
            what,
            detail,
        )
        .await
        .map_err(|e| failed(&e, v.lang))
    }

    /// The accounts, read afresh for a login.
    async fn accounts(&self, lang: Lang) -> Result<Vec<ConsoleAccount>, Refusal> {
        let conn = self.pool.get().await.map_err(|e| failed(&e, lang))?;
        crate::central::console::accounts(self.target(), &conn)
            .await
            .map_err(|e| failed(&e, lang))
    }
}

/// The centre failing, as a refusal the visitor reads: their mistake (422) or the database's.
fn failed(e: &CentralError, lang: Lang) -> Refusal {
    if e.is_input() {
        Refusal::Invalid(e.text(lang))
    } else {
        Refusal::Failed(e.text(lang))
    }
}

/// Who asks, from where, in which language.
#[derive(Clone)]
pub(crate) struct Visitor {
    session: Option<Session<ConsoleRole>>,
    session_id: Option<String>,
    from: IpAddr,
    lang: Lang,
}

impl Visitor {
    fn user(&self) -> String {
        self.session
            .as_ref()
            .map(|s| s.user.clone())
            .unwrap_or_default()
    }

    fn role(&self) -> Option<ConsoleRole> {
        self.session.as_ref().map(|s| s.role)
    }

    /// Whether the visitor's role reaches `needed`.
    fn may(&self, needed: ConsoleRole) -> bool {
        self.role().is_some_and(|r| r >= needed)
    }
}

/// The role a change needs, by its path: known before its body is read.
fn needed(path: &str) -> ConsoleRole {
    if path == "/logout" {
        ConsoleRole::Viewer
    } else if path.ends_with("/approve") || path.ends_with("/readmit") {
        ConsoleRole::Approver
    } else {
        ConsoleRole::Editor
    }
}

/// Every request passes here, as at the station's console: the Host on a loopback listener,
/// the session (or a scraper's Basic credentials, read-only), then for a change: same site,
/// a session whose role reaches the change, and its CSRF token — all before any body is read.
async fn guard(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let headers = req.headers();
    let lang = cookie(headers, "loaxa_lang")
        .and_then(|l| Lang::parse(&l))
        .unwrap_or(app.lang);
    if let Some(refused) = foreign_host(app.listen.ip(), headers, lang) {
        return refused;
    }
    let session_id = cookie(headers, COOKIE);
    let mut session = session_id.as_deref().and_then(|id| app.gate.session(id));
    let path = req.uri().path().to_string();
    let open = path == "/login" || path.starts_with("/assets/") || path.starts_with("/lang/");
    let api = path.starts_with("/api/") || path == "/metrics";
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    if let (None, true, Some(basic), &Method::GET) = (&session, api, basic, req.method()) {
        match basic_session(&app, peer.ip(), basic, lang).await {
            Ok(s) => session = Some(s),
            Err(r) => return secure(r),
        }
    }
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    if session.is_none() && !open {
        let r = if api || changes {
            Refusal::NotLoggedIn(lang).into_response()
        } else {
            Refusal::LoggedOut.into_response()
        };
        return secure(r);
    }
    if changes {
        if cross_site(req.headers()) {
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
            let need = needed(&path);
            if s.role < need {
                return secure(
                    Refusal::Forbidden(tr!(
                        lang,
                        "tài khoản {} ({}) không được làm việc này: cần quyền {}",
                        "the account {} ({}) may not do this: it needs the {} role",
                        s.user,
                        s.role.label(lang),
                        need.label(lang)
                    ))
                    .into_response(),
                );
            }
            if !csrf_matches(&req, &s.csrf) {
                return secure(csrf_refused(lang).into_response());
            }
        }
    }
    req.extensions_mut().insert(lang);
    req.extensions_mut().insert(Visitor {
        session,
        session_id,
        from: peer.ip(),
        lang,
    });
    let answer = next.run(req).await;
    // A page over hundreds of communes, or a login's argon2id, allocates much for a moment.
    crate::web::memory::give_back();
    secure(answer)
}

/// A scraper's HTTP Basic credentials: a session for this request only, read-only whatever
/// the account.
async fn basic_session(
    app: &Arc<App>,
    from: IpAddr,
    basic: String,
    lang: Lang,
) -> Result<Session<ConsoleRole>, Response> {
    let accounts = app
        .accounts(lang)
        .await
        .map_err(IntoResponse::into_response)?;
    let a = app.clone();
    let checked = tokio::task::spawn_blocking(move || {
        a.gate.basic(&accounts, from, &basic, ConsoleRole::Viewer)
    })
    .await;
    match checked {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(Login::Wait(_))) => Err((
            StatusCode::TOO_MANY_REQUESTS,
            lang.pick(
                "đăng nhập sai quá nhiều lần: hãy đợi rồi thử lại",
                "too many failed logins: wait, then try again",
            ),
        )
            .into_response()),
        _ => {
            let v = Visitor {
                session: None,
                session_id: None,
                from,
                lang,
            };
            let _ = app.log(&v, "login_failed", Some("HTTP Basic")).await;
            let mut r = (
                StatusCode::UNAUTHORIZED,
                lang.pick("sai tên hoặc mật khẩu", "wrong user name or password"),
            )
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"loaxa central\", charset=\"UTF-8\""),
            );
            Err(r)
        }
    }
}

/// The console's routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(pages::communes))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/lang/{code}", get(crate::web::pages::language))
        .route("/communes/{id}", get(commune::commune))
        .route("/communes/{id}/readmit", post(commune::readmit))
        .route("/api/communes/{id}/log", get(commune::log_json))
        .route("/bulletins", get(pages::bulletins))
        .route(
            "/bulletins/new",
            post(pages::compose).layer(DefaultBodyLimit::max((CLIP_LIMIT + (1 << 20)) as usize)),
        )
        .route("/bulletins/{id}", get(pages::board))
        .route("/bulletins/{id}/withdraw", post(pages::withdraw))
        .route("/drafts/{id}", get(pages::draft))
        .route("/clips/{sha256}", get(pages::clip))
        .route("/drafts/{id}/approve", post(pages::approve))
        .route("/verify", get(verify::page).post(verify::start))
        .route("/api/verify", get(verify::json))
        .route("/report", get(report::report))
        .route("/report/download", get(report::report_download))
        .route("/api/stations", get(api::stations))
        .route("/api/bulletins", get(api::bulletins))
        .route("/api/bulletins/{id}", get(api::bulletin))
        .route("/api/drafts", get(api::drafts))
        .route("/api/report", get(report::report_json))
        .route("/metrics", get(api::metrics))
        .route("/assets/{name}", get(crate::web::view::asset))
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Why `loaxa central web` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProvinceError {
    #[error("{0}")]
    Refused(String),
    #[error("{addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Serves the console on `listener` until `shutdown` completes (so tests drive it in-process).
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = app.stopping.clone();
    let lang = app.lang;
    crate::web::door::serve_until(router(app), listener, None, stopping, lang, shutdown).await
}

/// `loaxa central web [--listen ADDR]`: serves until SIGTERM or Ctrl-C. Refuses a listener
/// beyond loopback while the centre has no account.
pub fn run(target: Target, listen: SocketAddr, lang: Lang) -> Result<(), ProvinceError> {
    crate::web::memory::keep_small();
    let rt = tokio::runtime::Builder::new_current_thread()
        // Decoding a bulletin's clip and hashing passwords run on these.
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .map_err(|source| ProvinceError::Listen {
            addr: listen,
            source,
        })?;
    let app = Arc::new(App::new(target, listen, lang));
    let served = rt.block_on(async move {
        let accounts = app
            .accounts(lang)
            .await
            .map_err(|r| ProvinceError::Refused(refusal_text(r)))?;
        if accounts.is_empty() {
            if !listen.ip().is_loopback() {
                return Err(ProvinceError::Refused(tr!(
                    lang,
                    "không mở bảng điều khiển của tỉnh ra mạng ở {listen} khi chưa có tài khoản: chạy `loaxa central web passwd` trước",
                    "will not open the province's console to the network at {listen} before an account exists: run `loaxa central web passwd` first"
                )));
            }
            tracing::warn!(
                "{}",
                lang.pick(
                    "chưa có tài khoản nào: chạy `loaxa central web passwd --user TÊN --role approver`",
                    "no account yet: run `loaxa central web passwd --user NAME --role approver`"
                )
            );
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| ProvinceError::Listen {
                addr: listen,
                source,
            })?;
        let bound = listener.local_addr().unwrap_or(listen);
        tracing::info!(
            "{}",
            tr!(
                lang,
                "bảng điều khiển của tỉnh: http://{bound}/",
                "the province's console: http://{bound}/"
            )
        );
        serve(app, listener, crate::shutdown::stop_signal(None))
            .await
            .map_err(|source| ProvinceError::Listen {
                addr: listen,
                source,
            })
    });
    rt.shutdown_timeout(std::time::Duration::from_millis(300));
    served
}

fn refusal_text(r: Refusal) -> String {
    match r {
        Refusal::Invalid(t) | Refusal::Failed(t) => t,
        other => format!("{other:?}"),
    }
}
