//! Sessions in the database. The cookie carries a random 256-bit token; only its sha256 is
//! stored, so a database leak does not hand out logins. A new token is made at every login and
//! a token the browser brought along is never adopted (no session fixation). Logging out or a
//! password change deletes the rows, which ends the session on every server at once.

use axum::http::{header, HeaderMap};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use gala_pipeline::config::StudioConfig;
use gala_pipeline::now_ms;
use gala_pipeline::storage::db::Db;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{CurrentUser, Role};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "gala_session";

/// 32 random bytes as hex: a session, CSRF or reset token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What is stored instead of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session for `user_id`; returns the cookie token.
pub async fn create(db: &Db, user_id: i64, ttl_h: u64) -> Result<String, sqlx::Error> {
    let token = new_token();
    let now = now_ms();
    let ttl_ms = i64::try_from(ttl_h.saturating_mul(3_600_000)).unwrap_or(i64::MAX / 2);
    sqlx::query(
        "INSERT INTO sessions (token_sha256, user_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(new_token())
    .bind(now)
    .bind(now.saturating_add(ttl_ms))
    .execute(&db.pool)
    .await?;
    Ok(token)
}

/// The user of a live session of an active account.
pub async fn lookup(db: &Db, token: &str) -> Result<Option<CurrentUser>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.email, u.display_name, u.role, s.csrf_token \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_sha256 = $1 AND s.expires_at > $2 AND u.status = 'active'",
    )
    .bind(hash_token(token))
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role: String = row.try_get("role")?;
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    Ok(Some(CurrentUser {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role,
        csrf_token: row.try_get("csrf_token")?,
    }))
}

/// Ends one session (logout). Expired sessions are swept at the same time.
pub async fn delete(db: &Db, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1 OR expires_at <= $2")
        .bind(hash_token(token))
        .bind(now_ms())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Ends every session of a user (password changed, account disabled).
pub async fn delete_for_user(db: &Db, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The session token the request carries, if any.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether cookies must be `Secure`: forced by configuration, or the studio is reached over
/// HTTPS (its public URL, or the proxy's `X-Forwarded-Proto`).
pub fn secure(config: &StudioConfig, headers: &HeaderMap) -> bool {
    config.secure_cookies
        || config.public_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
        || headers
            .get(header::FORWARDED)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|f| f.to_ascii_lowercase().contains("proto=https"))
}

/// The session cookie: HttpOnly, SameSite=Lax, whole site, for the session's lifetime.
pub fn cookie(token: String, secure: bool, ttl_h: u64) -> Cookie<'static> {
    let ttl = i64::try_from(ttl_h).unwrap_or(24 * 365);
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .max_age(cookie::time::Duration::hours(ttl))
        .build()
}

/// A cookie that removes the session cookie.
pub fn removal(secure: bool) -> Cookie<'static> {
    let mut c = cookie(String::new(), secure, 0);
    c.make_removal();
    c
}
