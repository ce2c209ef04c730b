//! Shows in the database: every saved change is a new row of `show_versions`, so the history
//! is complete, an undo is a change like any other, and two versions can be compared.
//!
//! Optimistic concurrency: every change names the version it was made on; when another
//! director saved first the change is refused with [`StoreError::Conflict`] and nothing is
//! overwritten. The guard is the `UPDATE shows … WHERE version = expected` plus the
//! `(show_id, version)` primary key, so it holds on both backends and across studio servers.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::diff::{diff, Change};
use super::model::{check_meta, Edit, EditError, RunningOrder, ShowMeta};
use super::summary::{describe, item_name};
use crate::now_ms;
use crate::storage::db::Db;

/// One version of a show, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShowRecord {
    pub id: i64,
    /// The version this record holds (the current one, from [`get`]).
    pub version: i64,
    pub meta: ShowMeta,
    pub order: RunningOrder,
    /// When this version was saved.
    pub updated_at: i64,
}

/// A line of the shows list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShowSummary {
    pub id: i64,
    pub version: i64,
    pub meta: ShowMeta,
    pub items: usize,
    pub total_ms: i64,
}

/// A line of a show's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionInfo {
    pub version: i64,
    pub summary: String,
    pub author_id: Option<i64>,
    pub author: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("there is no such show or version")]
    NotFound,
    /// Another change was saved first; `current` is the version now stored.
    #[error("another director changed this show (it is now at version {current}); reload to see their change")]
    Conflict { current: i64 },
    #[error(transparent)]
    Invalid(#[from] EditError),
    #[error(transparent)]
    Db(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(e.into())
    }
}

fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text)
        .map_err(|e| StoreError::Db(anyhow::anyhow!("show_versions.{col} is not valid: {e}")))
}

fn record(id: i64, row: &AnyRow) -> Result<ShowRecord, StoreError> {
    Ok(ShowRecord {
        id,
        version: row.try_get("version")?,
        meta: json(row, "meta")?,
        order: json(row, "running_order")?,
        updated_at: row.try_get("created_at")?,
    })
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("show values serialize")
}

/// Creates a show at version 1.
pub async fn create(
    db: &Db,
    meta: ShowMeta,
    order: RunningOrder,
    author: Option<i64>,
) -> Result<ShowRecord, StoreError> {
    check_meta(&meta)?;
    let mut checked = RunningOrder::default();
    checked.apply(&Edit::Replace {
        items: order.items.clone(),
    })?;
    checked.next_id = checked.next_id.max(order.next_id);
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO shows (version, created_by, created_at, updated_at) VALUES (1, $1, $2, $2) RETURNING id",
    )
    .bind(author)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    insert_version(
        &mut tx,
        id,
        1,
        1,
        &meta,
        &checked,
        &[],
        "Created the show",
        author,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ShowRecord {
        id,
        version: 1,
        meta,
        order: checked,
        updated_at: now,
    })
}

#[allow(clippy::too_many_arguments)]
async fn insert_version(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
    version: i64,
    position: i64,
    meta: &ShowMeta,
    order: &RunningOrder,
    edits: &[Edit],
    summary: &str,
    author: Option<i64>,
    now: i64,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO show_versions (show_id, version, position, meta, running_order, edits, summary, author_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(version)
    .bind(position)
    .bind(to_json(meta))
    .bind(to_json(order))
    .bind(to_json(&edits))
    .bind(summary)
    .bind(author)
    .bind(now)
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        // A concurrent change took this version number first.
        Err(e)
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation()) =>
        {
            Err(StoreError::Conflict { current: version })
        }
        Err(e) => Err(e.into()),
    }
}

const CURRENT: &str = "SELECT v.version, v.position, v.meta, v.running_order, v.created_at \
     FROM shows s JOIN show_versions v ON v.show_id = s.id AND v.version = s.version WHERE s.id = $1";

/// The current version of a show.
pub async fn get(db: &Db, id: i64) -> Result<ShowRecord, StoreError> {
    let row = sqlx::query(CURRENT)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    record(id, &row.ok_or(StoreError::NotFound)?)
}

/// One stored version of a show.
pub async fn get_version(db: &Db, id: i64, version: i64) -> Result<ShowRecord, StoreError> {
    let row = sqlx::query(
        "SELECT version, meta, running_order, created_at FROM show_versions WHERE show_id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(&db.pool)
    .await?;
    record(id, &row.ok_or(StoreError::NotFound)?)
}

/// Every show, newest first.
pub async fn list(db: &Db) -> anyhow::Result<Vec<ShowSummary>> {
    let rows = sqlx::query(
        "SELECT s.id, v.version, v.meta, v.running_order, v.created_at FROM shows s \
         JOIN show_versions v ON v.show_id = s.id AND v.version = s.version ORDER BY s.id DESC",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let rec = record(r.try_get("id")?, r).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(ShowSummary {
                id: rec.id,
                version: rec.version,
                items: rec.order.items.len(),
                total_ms: rec.order.total_ms(),
                meta: rec.meta,
            })
        })
        .collect()
}

/// The current state inside a write transaction, refused unless it is `expected`.
async fn current_for_change(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
    expected: i64,
) -> Result<(ShowRecord, i64), StoreError> {
    let row = sqlx::query(CURRENT)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let row = row.ok_or(StoreError::NotFound)?;
    let rec = record(id, &row)?;
    if rec.version != expected {
        return Err(StoreError::Conflict {
            current: rec.version,
        });
    }
    Ok((rec, row.try_get("position")?))
}

/// Moves the show's current version from `expected` to `expected + 1`.
async fn bump(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
    expected: i64,
    now: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE shows SET version = $1, updated_at = $2 WHERE id = $3 AND version = $4",
    )
    .bind(expected + 1)
    .bind(now)
    .bind(id)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict {
            current: expected + 1,
        });
    }
    Ok(())
}

/// Applies `edits` (all or none) to the version `expected_version` and saves the result as
/// the next version.
pub async fn edit(
    db: &Db,
    id: i64,
    expected_version: i64,
    edits: &[Edit],
    author: Option<i64>,
) -> Result<ShowRecord, StoreError> {
    if edits.is_empty() {
        return Err(EditError::Invalid("no change to save".into()).into());
    }
    let mut tx = db.begin_write().await?;
    let (current, _) = current_for_change(&mut tx, id, expected_version).await?;
    let mut meta = current.meta.clone();
    let mut order = current.order.clone();
    // Each edit is put in words against the order it applies to, in the same pass.
    let mut words = Vec::with_capacity(edits.len());
    for e in edits {
        words.push(describe(e, &order));
        order.apply(e)?;
        if let Edit::SetMeta { meta: m } = e {
            meta = m.clone();
        }
    }
    let summary = words.join("; ");
    let (version, now) = (expected_version + 1, now_ms());
    insert_version(
        &mut tx, id, version, version, &meta, &order, edits, &summary, author, now,
    )
    .await?;
    bump(&mut tx, id, expected_version, now).await?;
    tx.commit().await?;
    Ok(ShowRecord {
        id,
        version,
        meta,
        order,
        updated_at: now,
    })
}

/// Undoes the last change still in effect (repeated undos walk further back), saved as a
/// new version so the history keeps everything.
pub async fn undo(
    db: &Db,
    id: i64,
    expected_version: i64,
    author: Option<i64>,
) -> Result<ShowRecord, StoreError> {
    let mut tx = db.begin_write().await?;
    let (_, position) = current_for_change(&mut tx, id, expected_version).await?;
    if position <= 1 {
        return Err(EditError::Invalid("there is nothing to undo".into()).into());
    }
    let undone: String =
        sqlx::query_scalar("SELECT summary FROM show_versions WHERE show_id = $1 AND version = $2")
            .bind(id)
            .bind(position)
            .fetch_one(&mut *tx)
            .await?;
    let target = sqlx::query(
        "SELECT version, position, meta, running_order, created_at FROM show_versions WHERE show_id = $1 AND version = $2",
    )
    .bind(id)
    .bind(position - 1)
    .fetch_one(&mut *tx)
    .await?;
    let restored = record(id, &target)?;
    let target_position: i64 = target.try_get("position")?;
    let summary = format!("Undid: {undone}");
    let (version, now) = (expected_version + 1, now_ms());
    insert_version(
        &mut tx,
        id,
        version,
        target_position,
        &restored.meta,
        &restored.order,
        &[],
        &summary,
        author,
        now,
    )
    .await?;
    bump(&mut tx, id, expected_version, now).await?;
    tx.commit().await?;
    Ok(ShowRecord {
        id,
        version,
        meta: restored.meta,
        order: restored.order,
        updated_at: now,
    })
}

/// Every version of a show, newest first.
pub async fn history(db: &Db, id: i64) -> Result<Vec<VersionInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT v.version, v.summary, v.author_id, u.display_name, v.created_at FROM show_versions v \
         LEFT JOIN users u ON u.id = v.author_id WHERE v.show_id = $1 ORDER BY v.version DESC",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    if rows.is_empty() {
        return Err(StoreError::NotFound);
    }
    rows.iter()
        .map(|r| {
            Ok(VersionInfo {
                version: r.try_get("version")?,
                summary: r.try_get("summary")?,
                author_id: r.try_get("author_id")?,
                author: r.try_get("display_name")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// What changed from version `a` to version `b`.
pub async fn diff_versions(db: &Db, id: i64, a: i64, b: i64) -> Result<Vec<Change>, StoreError> {
    let (va, vb) = (get_version(db, id, a).await?, get_version(db, id, b).await?);
    Ok(diff(&va.meta, &va.order, &vb.meta, &vb.order))
}

/// A change in words, for the diff view ("moved “Dragon Dance” from 3 to 5").
pub fn change_in_words(change: &Change) -> String {
    match change {
        Change::Added { item, at } => format!("added {} at {}", item_name(item), at + 1),
        Change::Removed { item, was_at } => {
            format!("removed {} (was at {})", item_name(item), was_at + 1)
        }
        Change::Moved { id, from, to } => {
            format!("moved item {id} from {} to {}", from + 1, to + 1)
        }
        Change::Changed { after, .. } => format!("changed {}", item_name(after)),
        Change::Meta { after, .. } => format!("changed the show's details (“{}”)", after.title),
    }
}
