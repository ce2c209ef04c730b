//! The `workers` table: who registered, with what capabilities, when last seen. A worker's
//! token is stored only as its sha256.

use gala_pipeline::jobs::split::Capabilities;
use gala_pipeline::now_ms;
use gala_pipeline::storage::db::Db;
use sqlx::Row;

use crate::auth::session::{hash_token, new_token};

/// A registered worker, as its token identifies it.
#[derive(Debug, Clone)]
pub struct Worker {
    pub id: i64,
    pub name: String,
    pub caps: Capabilities,
}

impl Worker {
    /// The lease owner of one of its slots: unique per registration.
    pub fn owner(&self, slot: u32) -> String {
        format!("w{}-{}/{slot}", self.id, self.name)
    }
}

/// Records a new worker; returns its id and token (shown once, to the worker).
pub async fn register(db: &Db, name: &str, caps: &Capabilities) -> anyhow::Result<(i64, String)> {
    let token = new_token();
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO workers (name, token_sha256, capabilities, registered_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(name.to_string())
    .bind(hash_token(&token))
    .bind(serde_json::to_string(caps)?)
    .bind(now)
    .fetch_one(&db.pool)
    .await?;
    Ok((id, token))
}

/// The worker that holds `token`, unless it stopped; marks it seen.
pub async fn authenticate(db: &Db, token: &str) -> anyhow::Result<Option<Worker>> {
    let row = sqlx::query(
        "UPDATE workers SET last_seen_at = $1 WHERE token_sha256 = $2 AND stopped_at IS NULL \
         RETURNING id, name, capabilities",
    )
    .bind(now_ms())
    .bind(hash_token(token))
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let caps: String = row.try_get("capabilities")?;
    Ok(Some(Worker {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        caps: serde_json::from_str(&caps)?,
    }))
}

/// The worker stopped (drained): its token is no longer accepted.
pub async fn stopped(db: &Db, id: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE workers SET stopped_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A worker's name as it appears in leases and logs: letters, digits, `.`, `_`, `-`; at most
/// 64 characters; never empty.
pub fn clean_name(name: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect();
    if name.is_empty() {
        "worker".into()
    } else {
        name
    }
}
