//! What a request carries — its address's query, a form, a JSON body, an upload — read with
//! the framework's extractors, and refused (400) in the visitor's language when it cannot be
//! read: the operator never sees the framework's English ("Failed to deserialize…",
//! "Invalid boundary…").

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{Refusal, Visitor};
use crate::lang::Lang;
use crate::tr;

/// The visitor's language, as the guard found it (the station's visitor, or the language the
/// province's console put there; Vietnamese before a guard ran).
fn lang_of(extensions: &axum::http::Extensions) -> Lang {
    extensions
        .get::<Visitor>()
        .map(|v| v.lang)
        .or_else(|| extensions.get::<Lang>().copied())
        .unwrap_or(Lang::Vi)
}

/// The address's query, every value of the type it is read into.
pub(crate) struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refusal> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(t)) => Ok(Query(t)),
            Err(_) => {
                let lang = lang_of(&parts.extensions);
                let q = parts.uri.query().unwrap_or_default();
                Err(Refusal::BadRequest(tr!(
                    lang,
                    "địa chỉ có giá trị không hợp lệ: «{q}»",
                    "the address holds a value that is not valid: “{q}”"
                )))
            }
        }
    }
}

/// A WebSocket asked for (the Record page's live voice); anything else at its address is
/// refused in the visitor's language, not with the framework's English.
pub(crate) struct Socket(pub axum::extract::ws::WebSocketUpgrade);

impl<S: Send + Sync> FromRequestParts<S> for Socket {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refusal> {
        axum::extract::ws::WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map(Socket)
            .map_err(|_| {
                Refusal::BadRequest(
                    lang_of(&parts.extensions)
                        .pick(
                            "địa chỉ này chỉ dành cho trang Ghi âm khi phát trực tiếp",
                            "this address is only for the Record page going live",
                        )
                        .into(),
                )
            })
    }
}

/// A form's fields (`application/x-www-form-urlencoded`).
pub(crate) struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Refusal> {
        let lang = lang_of(req.extensions());
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(t)) => Ok(Form(t)),
            Err(_) => Err(Refusal::BadRequest(
                lang.pick(
                    "biểu mẫu gửi lên không đọc được: hãy tải lại trang rồi làm lại",
                    "the form sent could not be read: reload the page and try again",
                )
                .into(),
            )),
        }
    }
}

/// A JSON body (the API).
pub(crate) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Refusal> {
        let lang = lang_of(req.extensions());
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(t)) => Ok(JsonBody(t)),
            Err(e) => Err(Refusal::BadRequest(tr!(
                lang,
                "nội dung JSON không hợp lệ ({})",
                "invalid JSON body ({})",
                e.status()
            ))),
        }
    }
}

/// An upload (`multipart/form-data`).
pub(crate) struct Upload(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Refusal> {
        let lang = lang_of(req.extensions());
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(Upload)
            .map_err(|_| {
                Refusal::BadRequest(
                    lang.pick(
                        "tệp gửi lên không đọc được (không phải biểu mẫu tải lên): hãy tải lại trang rồi làm lại",
                        "the upload could not be read (not a multipart form): reload the page and try again",
                    )
                    .into(),
                )
            })
    }
}

/// A body read whole (the schedule editor decodes its own form).
pub(crate) struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Refusal> {
        let lang = lang_of(req.extensions());
        axum::body::Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|_| {
                Refusal::TooLarge(
                    lang.pick(
                        "nội dung gửi lên quá lớn hoặc bị cắt giữa chừng",
                        "what was sent is too large or was cut off",
                    )
                    .into(),
                )
            })
    }
}
