//! The `uploads` table: every statement the feature runs, written once for SQLite and
//! PostgreSQL. Each state change is one guarded `UPDATE`, so two requests or two studio
//! servers never both win: the writer lock is the row's `lock_token`, taken only while the
//! row still has the offset the client sent.

use anyhow::Context;
use gala_pipeline::storage::Db;
use sqlx::any::AnyRow;
use sqlx::Row;

/// Where an upload is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Accepting PATCHes.
    Receiving,
    /// Every byte is in; being handed to `on_complete` (or waiting for a retry).
    Completing,
    /// Handed off.
    Finished,
    /// The hand-off failed too often; an operator has to look.
    Failed,
    Expired,
    Terminated,
}

impl State {
    fn parse(s: &str) -> anyhow::Result<State> {
        Ok(match s {
            "receiving" => State::Receiving,
            "completing" => State::Completing,
            "finished" => State::Finished,
            "failed" => State::Failed,
            "expired" => State::Expired,
            "terminated" => State::Terminated,
            other => anyhow::bail!("unknown upload state {other:?}"),
        })
    }
}

/// The states that count against a user's quota.
const HELD: &str = "('receiving', 'completing', 'finished', 'failed')";

/// One row of `uploads`.
#[derive(Debug, Clone)]
pub struct UploadRow {
    pub id: String,
    pub owner_id: i64,
    pub length: i64,
    pub offset: i64,
    pub state: State,
    pub filename: Option<String>,
    pub filetype: Option<String>,
    /// JSON object: key → base64 value, as the client sent it.
    pub metadata: String,
    pub sha256: Option<String>,
    pub expires_at: i64,
}

const COLUMNS: &str = "id, owner_id, length, offset_bytes, state, filename, filetype, metadata, \
                       sha256, expires_at";

fn from_row(row: &AnyRow) -> anyhow::Result<UploadRow> {
    Ok(UploadRow {
        id: row.try_get("id")?,
        owner_id: row.try_get("owner_id")?,
        length: row.try_get("length")?,
        offset: row.try_get("offset_bytes")?,
        state: State::parse(&row.try_get::<String, _>("state")?)?,
        filename: row.try_get("filename")?,
        filetype: row.try_get("filetype")?,
        metadata: row.try_get("metadata")?,
        sha256: row.try_get("sha256")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// What a new upload is.
pub struct NewUpload<'a> {
    pub id: &'a str,
    pub owner_id: i64,
    pub length: i64,
    pub filename: Option<&'a str>,
    pub filetype: Option<&'a str>,
    pub metadata: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// The upload `id` if `owner_id` owns it. Others' uploads look exactly like missing ones.
pub async fn find_owned(db: &Db, id: &str, owner_id: i64) -> anyhow::Result<Option<UploadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1 AND owner_id = $2");
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(owner_id)
        .fetch_optional(&db.pool)
        .await
        .context("cannot read an upload")?;
    row.as_ref().map(from_row).transpose()
}

/// (uploads held, bytes held) by a user, for the quotas.
pub async fn usage(db: &Db, owner_id: i64) -> anyhow::Result<(i64, i64)> {
    let sql = format!(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(length), 0) AS BIGINT) AS bytes \
         FROM uploads WHERE owner_id = $1 AND state IN {HELD}"
    );
    let row = sqlx::query(&sql)
        .bind(owner_id)
        .fetch_one(&db.pool)
        .await
        .context("cannot read a user's upload usage")?;
    Ok((row.try_get("n")?, row.try_get("bytes")?))
}

/// Inserts the upload unless it would take its owner over a quota (checked in the same
/// statement). False when a quota stood in the way.
pub async fn insert_within_quota(
    db: &Db,
    new: &NewUpload<'_>,
    quota_files: i64,
    quota_bytes: i64,
) -> anyhow::Result<bool> {
    let sql = format!(
        "INSERT INTO uploads (id, owner_id, length, offset_bytes, state, filename, filetype, \
         metadata, created_at, updated_at, expires_at) \
         SELECT $1, $2, $3, 0, 'receiving', $4, $5, $6, $7, $7, $8 \
         WHERE (SELECT COUNT(*) FROM uploads WHERE owner_id = $2 AND state IN {HELD}) < $9 \
         AND (SELECT COALESCE(SUM(length), 0) FROM uploads WHERE owner_id = $2 \
              AND state IN {HELD}) + $3 <= $10"
    );
    let done = sqlx::query(&sql)
        .bind(new.id)
        .bind(new.owner_id)
        .bind(new.length)
        .bind(new.filename.map(str::to_string))
        .bind(new.filetype.map(str::to_string))
        .bind(new.metadata)
        .bind(new.now)
        .bind(new.expires_at)
        .bind(quota_files)
        .bind(quota_bytes)
        .execute(&db.pool)
        .await
        .context("cannot create an upload")?;
    Ok(done.rows_affected() == 1)
}

/// Takes the writer lock of a receiving, unexpired upload that is at `offset`. False when the
/// upload is not there, not the owner's, elsewhere, expired, or locked by a live writer.
pub async fn lock_at_offset(
    db: &Db,
    id: &str,
    owner_id: i64,
    offset: i64,
    token: &str,
    now: i64,
    until: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE uploads SET lock_token = $1, locked_until = $2, updated_at = $3 \
         WHERE id = $4 AND owner_id = $5 AND state = 'receiving' AND offset_bytes = $6 \
         AND expires_at > $3 AND (lock_token IS NULL OR locked_until < $3)",
    )
    .bind(token)
    .bind(until)
    .bind(now)
    .bind(id)
    .bind(owner_id)
    .bind(offset)
    .execute(&db.pool)
    .await
    .context("cannot lock an upload")?;
    Ok(done.rows_affected() == 1)
}

/// Extends a lock this writer still holds. False when it was lost (terminated, expired).
pub async fn renew_lock(db: &Db, id: &str, token: &str, until: i64) -> anyhow::Result<bool> {
    let done =
        sqlx::query("UPDATE uploads SET locked_until = $1 WHERE id = $2 AND lock_token = $3")
            .bind(until)
            .bind(id)
            .bind(token)
            .execute(&db.pool)
            .await
            .context("cannot renew an upload lock")?;
    Ok(done.rows_affected() == 1)
}

/// Lets go of a lock (after an error, or when a writer is dropped).
pub async fn release_lock(db: &Db, id: &str, token: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE uploads SET lock_token = NULL, locked_until = NULL \
         WHERE id = $1 AND lock_token = $2",
    )
    .bind(id)
    .bind(token)
    .execute(&db.pool)
    .await
    .context("cannot release an upload lock")?;
    Ok(())
}

/// Records bytes written and fsynced: the offset moves from `from` to `to` and the lock is
/// released. False when this writer no longer held the lock.
pub async fn commit_offset(
    db: &Db,
    id: &str,
    token: &str,
    from: i64,
    to: i64,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE uploads SET offset_bytes = $1, updated_at = $2, lock_token = NULL, \
         locked_until = NULL \
         WHERE id = $3 AND lock_token = $4 AND offset_bytes = $5 AND state = 'receiving'",
    )
    .bind(to)
    .bind(now)
    .bind(id)
    .bind(token)
    .bind(from)
    .execute(&db.pool)
    .await
    .context("cannot record an upload's offset")?;
    Ok(done.rows_affected() == 1)
}

/// A writer's commit: its upload and lock, the offsets it moves between, and when.
pub struct Write<'a> {
    pub id: &'a str,
    pub token: &'a str,
    pub from: i64,
    pub to: i64,
    pub now: i64,
}

/// Records the last bytes and the whole file's digest: the upload becomes `completing`,
/// still locked by this writer (until `until`), which now hands it off. Marked in the same
/// statement as the final offset, so a crash at any point leaves a row the retry finds.
pub async fn commit_complete(
    db: &Db,
    at: &Write<'_>,
    sha256: &str,
    until: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE uploads SET offset_bytes = $1, sha256 = $2, state = 'completing', \
         updated_at = $3, locked_until = $4 \
         WHERE id = $5 AND lock_token = $6 AND offset_bytes = $7 AND state = 'receiving'",
    )
    .bind(at.to)
    .bind(sha256)
    .bind(at.now)
    .bind(until)
    .bind(at.id)
    .bind(at.token)
    .bind(at.from)
    .execute(&db.pool)
    .await
    .context("cannot record a complete upload")?;
    Ok(done.rows_affected() == 1)
}

/// Completing uploads whose hand-off is not in progress (it failed, or its server died).
pub async fn stalled_handoffs(db: &Db, now: i64, limit: i64) -> anyhow::Result<Vec<UploadRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE state = 'completing' \
         AND (lock_token IS NULL OR locked_until < $1) ORDER BY updated_at LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(&db.pool)
        .await
        .context("cannot list stalled upload hand-offs")?;
    rows.iter().map(from_row).collect()
}

/// Claims a stalled hand-off for this caller. False when someone else got there first.
pub async fn claim_handoff(
    db: &Db,
    id: &str,
    token: &str,
    now: i64,
    until: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE uploads SET lock_token = $1, locked_until = $2 WHERE id = $3 \
         AND state = 'completing' AND (lock_token IS NULL OR locked_until < $4)",
    )
    .bind(token)
    .bind(until)
    .bind(id)
    .bind(now)
    .execute(&db.pool)
    .await
    .context("cannot claim an upload hand-off")?;
    Ok(done.rows_affected() == 1)
}

/// The hand-off succeeded.
pub async fn mark_finished(db: &Db, id: &str, token: &str, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE uploads SET state = 'finished', finished_at = $1, updated_at = $1, \
         lock_token = NULL, locked_until = NULL \
         WHERE id = $2 AND lock_token = $3 AND state = 'completing'",
    )
    .bind(now)
    .bind(id)
    .bind(token)
    .execute(&db.pool)
    .await
    .context("cannot mark an upload finished")?;
    Ok(done.rows_affected() == 1)
}

/// The hand-off failed: count it, keep the reason, release the row for a retry (or give up
/// after `max_attempts`).
pub async fn mark_handoff_failed(
    db: &Db,
    id: &str,
    token: &str,
    reason: &str,
    max_attempts: i64,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE uploads SET handoff_attempts = handoff_attempts + 1, last_error = $1, \
         state = CASE WHEN handoff_attempts + 1 >= $2 THEN 'failed' ELSE state END, \
         updated_at = $3, lock_token = NULL, locked_until = NULL \
         WHERE id = $4 AND lock_token = $5 AND state = 'completing'",
    )
    .bind(reason)
    .bind(max_attempts)
    .bind(now)
    .bind(id)
    .bind(token)
    .execute(&db.pool)
    .await
    .context("cannot record a failed upload hand-off")?;
    Ok(())
}

/// Terminates a receiving upload of `owner_id` (taking any writer's lock away). False when
/// there is none such.
pub async fn terminate(db: &Db, id: &str, owner_id: i64, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE uploads SET state = 'terminated', updated_at = $1, lock_token = NULL, \
         locked_until = NULL WHERE id = $2 AND owner_id = $3 AND state = 'receiving'",
    )
    .bind(now)
    .bind(id)
    .bind(owner_id)
    .execute(&db.pool)
    .await
    .context("cannot terminate an upload")?;
    Ok(done.rows_affected() == 1)
}

/// Ids of receiving uploads past their expiry.
pub async fn expired_ids(db: &Db, now: i64, limit: i64) -> anyhow::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT id FROM uploads WHERE state = 'receiving' AND expires_at <= $1 \
         ORDER BY expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
    .context("cannot list expired uploads")
}

/// Marks one upload expired unless a live writer holds it. False when it was not expired.
pub async fn mark_expired(db: &Db, id: &str, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE uploads SET state = 'expired', updated_at = $1, lock_token = NULL, \
         locked_until = NULL WHERE id = $2 AND state = 'receiving' AND expires_at <= $1 \
         AND (lock_token IS NULL OR locked_until < $1)",
    )
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await
    .context("cannot mark an upload expired")?;
    Ok(done.rows_affected() == 1)
}

/// The state of an upload, whoever owns it (for sweeping files without a live row).
pub async fn state_of(db: &Db, id: &str) -> anyhow::Result<Option<State>> {
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await
        .context("cannot read an upload's state")?;
    state.as_deref().map(State::parse).transpose()
}
