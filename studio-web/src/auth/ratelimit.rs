//! Failed-login limits, per account and per client address, kept in the database so that every
//! studio server counts the same attempts. Within `login_window_s`, `login_max_failures` for an
//! account (or `login_max_failures_per_ip` from one address) refuse further tries with 429 until
//! the oldest failure leaves the window.

use gala_pipeline::config::StudioConfig;
use gala_pipeline::now_ms;
use gala_pipeline::storage::db::Db;

use crate::error::WebError;

/// The limit keys of one login attempt.
pub struct LoginKeys {
    account: String,
    ip: String,
}

impl LoginKeys {
    pub fn new(email: &str, ip: &str) -> LoginKeys {
        LoginKeys {
            account: format!("account:{}", email.to_lowercase()),
            ip: format!("ip:{ip}"),
        }
    }
}

/// Some(minutes until the next try is allowed) when either key has used up its failures in
/// the window.
pub async fn check(
    db: &Db,
    config: &StudioConfig,
    keys: &LoginKeys,
) -> Result<Option<i64>, WebError> {
    let now = now_ms();
    let window = window_ms(config);
    let limits = [
        (&keys.account, config.login_max_failures),
        (&keys.ip, config.login_max_failures_per_ip),
    ];
    for (key, max) in limits {
        let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(attempted_at) FROM login_attempts \
             WHERE limit_key = $1 AND attempted_at > $2",
        )
        .bind(key)
        .bind(now - window)
        .fetch_one(&db.pool)
        .await?;
        if count >= i64::from(max.max(1)) {
            let retry_ms = oldest.unwrap_or(now) + window - now;
            return Ok(Some(((retry_ms + 59_999) / 60_000).max(1)));
        }
    }
    Ok(None)
}

/// Counts a failed login against both keys and forgets failures that left the window.
pub async fn record_failure(
    db: &Db,
    config: &StudioConfig,
    keys: &LoginKeys,
) -> Result<(), WebError> {
    let now = now_ms();
    for key in [&keys.account, &keys.ip] {
        sqlx::query("INSERT INTO login_attempts (limit_key, attempted_at) VALUES ($1, $2)")
            .bind(key)
            .bind(now)
            .execute(&db.pool)
            .await?;
    }
    sqlx::query("DELETE FROM login_attempts WHERE attempted_at <= $1")
        .bind(now - window_ms(config))
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A successful login forgets the account's failures.
pub async fn clear_account(db: &Db, keys: &LoginKeys) -> Result<(), WebError> {
    sqlx::query("DELETE FROM login_attempts WHERE limit_key = $1")
        .bind(&keys.account)
        .execute(&db.pool)
        .await?;
    Ok(())
}

fn window_ms(config: &StudioConfig) -> i64 {
    i64::try_from(config.login_window_s.saturating_mul(1000)).unwrap_or(i64::MAX / 4)
}
