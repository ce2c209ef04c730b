//! The one web error type and its one mapping to HTTP.
//!
//! [`WebError::into_response`] answers JSON `{ "error": code, "message": … }` and attaches an
//! [`ErrorInfo`] extension; the [`render_errors`] middleware, which knows the request, swaps the
//! body for a small HTML page when a browser asked for a page (and sends a logged-out browser
//! to the login page). Internal errors are logged with their context here and answered with a
//! generic message: no SQL or internals reach a client.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;

use crate::auth::csrf::CsrfToken;
use crate::auth::SessionUser;
use crate::i18n::{Lang, Tr};
use crate::page::Page;
use crate::state::AppState;

/// Per-field validation messages (field name → message key or text).
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("please log in")]
    Unauthorized,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("{0}")]
    BadRequest(String),
    #[error("some fields are not valid")]
    Validation(FieldErrors),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("the form has expired or did not come from this site; reload the page and try again")]
    Csrf,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for WebError {
    fn from(e: sqlx::Error) -> Self {
        WebError::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(anyhow::Error::new(e).context("template"))
    }
}

impl From<FormRejection> for WebError {
    fn from(r: FormRejection) -> Self {
        rejection(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for WebError {
    fn from(r: QueryRejection) -> Self {
        rejection(r.status(), r.body_text())
    }
}

impl From<JsonRejection> for WebError {
    fn from(r: JsonRejection) -> Self {
        rejection(r.status(), r.body_text())
    }
}

/// An extractor's refusal of a body: too large, or not what was expected.
fn rejection(status: StatusCode, text: String) -> WebError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        WebError::PayloadTooLarge("the request is too large".into())
    } else {
        WebError::BadRequest(text)
    }
}

impl WebError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Forbidden | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            WebError::NotFound => "not_found",
            WebError::Unauthorized => "unauthorized",
            WebError::Forbidden => "forbidden",
            WebError::BadRequest(_) => "bad_request",
            WebError::Validation(_) => "validation",
            WebError::PayloadTooLarge(_) => "payload_too_large",
            WebError::Conflict(_) => "conflict",
            WebError::TooManyRequests(_) => "too_many_requests",
            WebError::Csrf => "csrf",
            WebError::Internal(_) => "internal",
        }
    }
}

/// What the error page needs, attached to every error response.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorInfo {
    pub error: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldErrors>,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "request failed");
        }
        let status = self.status_code();
        let info = ErrorInfo {
            error: self.code(),
            message: self.to_string(),
            fields: match self {
                WebError::Validation(f) => Some(f),
                _ => None,
            },
        };
        let mut response = (status, axum::Json(info.clone())).into_response();
        response.extensions_mut().insert(info);
        response
    }
}

/// Whether the client wants JSON rather than a page: the API, tus uploads, or Accept says so.
pub fn wants_json(path: &str, headers: &HeaderMap) -> bool {
    path.starts_with("/api/")
        || path.starts_with("/uploads/")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: Page,
    status: u16,
    message: &'a str,
    fields: Vec<(String, String)>,
}

/// Turns error responses into HTML pages for browsers; JSON clients keep the JSON body.
pub async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let json = wants_json(req.uri().path(), req.headers());
    let lang = Lang::from_headers(req.headers());
    let back = req.uri().path().to_string();
    let response = next.run(req).await;
    let Some(info) = response.extensions().get::<ErrorInfo>().cloned() else {
        return response;
    };
    if json {
        return response;
    }
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        let next = crate::i18n::safe_local_path(&back).unwrap_or("/");
        let to = format!("/login?next={}", crate::i18n::encode_query(next));
        return Redirect::to(&to).into_response();
    }
    let t = Tr::new(state.i18n.clone(), lang);
    // Messages that carry details (when to retry, what conflicted) are shown as they are.
    let message = match info.error {
        "bad_request" | "too_many_requests" | "conflict" | "payload_too_large" => info.message,
        code => t.get(&format!("error.{code}")).to_string(),
    };
    let fields = info
        .fields
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            (
                t.get(&format!("field.{k}")).to_string(),
                t.get(&v).to_string(),
            )
        })
        .collect();
    let user = response
        .extensions()
        .get::<SessionUser>()
        .and_then(|s| s.0.clone());
    let csrf_token = response
        .extensions()
        .get::<CsrfToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let page = Page {
        tr: t,
        user,
        csrf_token,
        path: back,
    };
    let page = ErrorPage {
        page,
        status: status.as_u16(),
        message: &message,
        fields,
    };
    match page.render() {
        Ok(html) => {
            let mut rendered = (status, Html(html)).into_response();
            // Keep `Connection: close` of a response that left its request body unread.
            if let Some(connection) = response.headers().get(header::CONNECTION) {
                rendered
                    .headers_mut()
                    .insert(header::CONNECTION, connection.clone());
            }
            rendered
        }
        Err(e) => {
            tracing::error!(error = %e, "error page did not render");
            response
        }
    }
}
