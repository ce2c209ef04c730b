//! CSRF protection on every state-changing request (POST, PUT, PATCH, DELETE).
//!
//! A logged-in request must carry its session's token; a logged-out one (login, sign-up, reset
//! forms) must carry the token of its `gala_csrf` cookie, which is signed with a key the studio
//! servers share, so a cookie planted by a neighbouring site cannot be forged (signed double
//! submit). The token travels in the `X-CSRF-Token` header or the `csrf_token` form field.
//!
//! The middleware also resolves the session once per request ([`SessionUser`]) and hands the
//! expected token to pages ([`CsrfToken`]).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use gala_pipeline::storage::db::Db;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{session, SessionUser};
use crate::error::WebError;
use crate::state::AppState;

/// The logged-out double-submit cookie.
pub const CSRF_COOKIE: &str = "gala_csrf";
/// The header an API or script client sends the token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field pages send it in.
pub const CSRF_FIELD: &str = "csrf_token";

/// The token this request's forms must send back.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The shared signing key: read from the database, made on the very first start.
pub async fn load_or_create_key(db: &Db) -> anyhow::Result<[u8; 32]> {
    let mut fresh = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut fresh);
    sqlx::query("INSERT INTO studio_secrets (name, value) VALUES ('csrf_key', $1) ON CONFLICT (name) DO NOTHING")
        .bind(hex::encode(fresh))
        .execute(&db.pool)
        .await?;
    let stored: String =
        sqlx::query_scalar("SELECT value FROM studio_secrets WHERE name = 'csrf_key'")
            .fetch_one(&db.pool)
            .await?;
    let bytes = hex::decode(stored)?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("the stored CSRF key has the wrong length"))
}

fn signature(key: &[u8; 32], nonce: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"gala-csrf:");
    mac.update(nonce.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A new logged-out token: `nonce.signature`.
pub fn new_signed(key: &[u8; 32]) -> String {
    let nonce = session::new_token();
    let sig = signature(key, &nonce);
    format!("{nonce}.{sig}")
}

/// Whether a cookie value is a token this studio signed.
pub fn is_signed(key: &[u8; 32], token: &str) -> bool {
    let Some((nonce, sig)) = token.split_once('.') else {
        return false;
    };
    bool::from(signature(key, nonce).as_bytes().ct_eq(sig.as_bytes()))
}

fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn changes_state(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Resolves the session, then refuses a state-changing request whose token does not match.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let user = match session::token_from(req.headers()) {
        Some(token) => match session::lookup(&state.engine.db, &token).await {
            Ok(u) => u,
            Err(e) => return WebError::from(e).into_response(),
        },
        None => None,
    };
    let jar = CookieJar::from_headers(req.headers());
    let cookie_token = jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| is_signed(&state.csrf_key, t));
    // A logged-out browser without a valid cookie gets one with this response.
    let (expected, new_cookie) = match (&user, cookie_token) {
        (Some(u), _) => (u.csrf_token.clone(), None),
        (None, Some(t)) => (t, None),
        (None, None) => {
            let t = new_signed(&state.csrf_key);
            (t.clone(), Some(t))
        }
    };
    let secure = session::secure(state.config(), req.headers());
    let session_user = SessionUser(user);
    req.extensions_mut().insert(session_user.clone());
    req.extensions_mut().insert(CsrfToken(expected.clone()));
    let mut response = if changes_state(req.method()) && new_cookie.is_none() {
        match check(req, &expected, state.config().max_body_bytes).await {
            Ok(req) => next.run(req).await,
            Err(e) => e.into_response(),
        }
    } else if changes_state(req.method()) {
        WebError::Csrf.into_response()
    } else {
        next.run(req).await
    };
    if let Some(token) = new_cookie {
        set_cookie(&mut response, token, secure);
    }
    // Error pages, drawn outside this layer, show the user menu from these.
    if response.status().is_client_error() || response.status().is_server_error() {
        response.extensions_mut().insert(session_user);
        response.extensions_mut().insert(CsrfToken(expected));
    }
    response
}

/// Passes the request on when it carries `expected` in the header or the form body.
async fn check(req: Request, expected: &str, max_body: u64) -> Result<Request, WebError> {
    if let Some(sent) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if same(sent, expected) {
            Ok(req)
        } else {
            Err(WebError::Csrf)
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(WebError::Csrf);
    }
    let (parts, body) = req.into_parts();
    let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| WebError::PayloadTooLarge("the request is too large".into()))?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let sent = fields
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.as_str());
    match sent {
        Some(sent) if same(sent, expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(WebError::Csrf),
    }
}

fn set_cookie(response: &mut Response, token: String, secure: bool) {
    let cookie = Cookie::build((CSRF_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .build();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}
