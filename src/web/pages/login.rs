//! Logging in and out, and choosing the console's language.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;

use crate::web::input::Form;
use serde::Deserialize;

use crate::lang::Lang;
use crate::mailbox::What;
use crate::tr;
use crate::web::view::{render, Chrome, LoginPage};
use crate::web::{auth, App, Refusal, Visitor};

/// The station console's login page.
fn login_page(app: &App, v: &Visitor, error: Option<String>) -> LoginPage {
    let l = crate::web::view::L(v.lang);
    LoginPage {
        c: Chrome::new(app, v, "login"),
        heading: l.t("Đăng nhập bảng điều khiển", "Log in to the console"),
        error,
        no_accounts: app.web.users.is_empty().then(|| {
            l.t(
                "Chưa có tài khoản nào. Trên máy của đài, chạy: sudo loaxa web passwd",
                "No account yet. On the station PC, run: sudo loaxa web passwd",
            )
        }),
    }
}

pub(in crate::web) async fn login_form(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
    if v.session.is_some() {
        return Redirect::to("/").into_response();
    }
    render(&login_page(&app, &v, None))
}

#[derive(Deserialize)]
pub(in crate::web) struct LoginForm {
    user: String,
    password: String,
}

pub(in crate::web) async fn login(
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
        let mut r = render(&login_page(&app, &v, Some(error)));
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
            tracing::warn!(
                "{}",
                crate::tr!(
                    app.lang(),
                    "đăng nhập sai từ {} với tên {:?}",
                    "failed console login from {} as {:?}",
                    v.from,
                    f.user
                )
            );
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

pub(in crate::web) async fn logout(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
) -> Response {
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
pub(crate) async fn language(UrlPath(code): UrlPath<String>) -> Response {
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
