//! One-time password reset tokens. Only the token's sha256 is stored; a token works once, until
//! it expires, and using it ends every session of the account. When no mail server is
//! configured the link is kept for admins to hand over (and cleared once used or replaced).

use gala_pipeline::now_ms;
use gala_pipeline::storage::db::Db;

use super::session::{hash_token, new_token};

/// A reset link waiting to be handed over by an admin.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PendingLink {
    pub user_id: i64,
    pub email: String,
    pub link: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// Makes a token for `user_id`; returns it. Earlier unused tokens of the user stop working.
pub async fn create(
    db: &Db,
    user_id: i64,
    ttl_min: u64,
    link_for_admin: impl FnOnce(&str) -> Option<String>,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    let now = now_ms();
    let ttl_ms = i64::try_from(ttl_min.saturating_mul(60_000)).unwrap_or(i64::MAX / 4);
    retire(db, user_id, now).await?;
    sqlx::query(
        "INSERT INTO password_resets (token_sha256, user_id, link, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(link_for_admin(&token))
    .bind(now)
    .bind(now.saturating_add(ttl_ms))
    .execute(&db.pool)
    .await?;
    Ok(token)
}

/// Keeps the link of `token` for admins to hand over (its mail could not be sent).
pub async fn keep_for_admin(db: &Db, token: &str, link: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE password_resets SET link = $1 WHERE token_sha256 = $2 AND used_at IS NULL")
        .bind(link)
        .bind(hash_token(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The user a live token belongs to, without using it up (to show the form).
pub async fn peek(db: &Db, token: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT user_id FROM password_resets \
         WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(hash_token(token))
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await
}

/// Uses the token up; returns its user when it was live. Two concurrent uses: one wins.
pub async fn consume(db: &Db, token: &str) -> Result<Option<i64>, sqlx::Error> {
    let now = now_ms();
    let user: Option<i64> = sqlx::query_scalar(
        "UPDATE password_resets SET used_at = $1, link = NULL \
         WHERE token_sha256 = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
    )
    .bind(now)
    .bind(hash_token(token))
    .fetch_optional(&db.pool)
    .await?;
    if let Some(id) = user {
        retire(db, id, now).await?;
    }
    Ok(user)
}

/// Marks every unused token of a user used.
async fn retire(db: &Db, user_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE password_resets SET used_at = $1, link = NULL WHERE user_id = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Links for admins to hand over: live, unused, kept because no mail was sent.
pub async fn pending_links(db: &Db) -> Result<Vec<PendingLink>, sqlx::Error> {
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT r.user_id, u.email, r.link, r.expires_at FROM password_resets r \
         JOIN users u ON u.id = r.user_id \
         WHERE r.link IS NOT NULL AND r.used_at IS NULL AND r.expires_at > $1 ORDER BY r.id",
    )
    .bind(now_ms())
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, email, link, expires_at)| PendingLink {
            user_id,
            email,
            link,
            expires_at,
        })
        .collect())
}
