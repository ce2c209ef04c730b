//! Clip records: one row per ingested source file, with its processing state, the reason
//! when it was refused, and the reports and media produced by each step of the chain.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::normalize::NormalizeReport;
use super::probe::ProbeInfo;
use super::qc::QcReport;
use super::Rejection;
use crate::now_ms;
use crate::storage::db::Db;

/// Where a clip is in the ingest chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipState {
    Queued,
    Probing,
    Normalizing,
    Checking,
    Finishing,
    Ready,
    Rejected,
    Failed,
}

impl ClipState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClipState::Queued => "queued",
            ClipState::Probing => "probing",
            ClipState::Normalizing => "normalizing",
            ClipState::Checking => "checking",
            ClipState::Finishing => "finishing",
            ClipState::Ready => "ready",
            ClipState::Rejected => "rejected",
            ClipState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> anyhow::Result<ClipState> {
        Ok(match s {
            "queued" => ClipState::Queued,
            "probing" => ClipState::Probing,
            "normalizing" => ClipState::Normalizing,
            "checking" => ClipState::Checking,
            "finishing" => ClipState::Finishing,
            "ready" => ClipState::Ready,
            "rejected" => ClipState::Rejected,
            "failed" => ClipState::Failed,
            other => anyhow::bail!("unknown clip state {other:?}"),
        })
    }

    /// Nothing more will happen to the clip without a new upload or an operator.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ClipState::Ready | ClipState::Rejected | ClipState::Failed
        )
    }
}

/// An ingested clip as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Clip {
    pub id: i64,
    /// The tus upload it came from, when it came through the studio.
    pub upload_id: Option<String>,
    pub source_name: String,
    pub source_sha256: String,
    pub source_size: i64,
    pub state: ClipState,
    pub reason: Option<String>,
    pub probe: Option<ProbeInfo>,
    pub normalized_sha256: Option<String>,
    pub normalize_report: Option<NormalizeReport>,
    pub qc_report: Option<QcReport>,
    pub qc_summary: Option<String>,
    pub poster_sha256: Option<String>,
    pub sheet_sha256: Option<String>,
    pub waveform_sha256: Option<String>,
    pub proxy_sha256: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Clip {
    /// The digest of the normalized file, which every later step reads.
    pub fn normalized(&self) -> anyhow::Result<&str> {
        self.normalized_sha256
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("clip {} has no normalized file yet", self.id))
    }
}

/// A new clip, on the caller's connection (so its first job can share the transaction).
/// `upload_id` names the upload it came from; a second clip for one upload is refused by the
/// database.
pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    source_name: &str,
    sha256: &str,
    size: i64,
    upload_id: Option<&str>,
) -> anyhow::Result<i64> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO clips (source_name, source_sha256, source_size, state, created_at, updated_at, upload_id)
         VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id",
    )
    .bind(source_name)
    .bind(sha256)
    .bind(size)
    .bind(ClipState::Queued.as_str())
    .bind(now)
    .bind(upload_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

/// The clip made from upload `upload_id`, if any.
pub async fn find_by_upload(db: &Db, upload_id: &str) -> anyhow::Result<Option<i64>> {
    let row = sqlx::query("SELECT id FROM clips WHERE upload_id = $1")
        .bind(upload_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<Clip>> {
    let row = sqlx::query("SELECT * FROM clips WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| from_row(&r)).transpose()
}

/// The clips with these ids, in id order (missing ids are left out).
pub async fn get_many(db: &Db, ids: &[i64]) -> anyhow::Result<Vec<Clip>> {
    let mut clips = Vec::with_capacity(ids.len());
    // Bounded IN lists keep every backend within its parameter limit.
    for chunk in ids.chunks(500) {
        let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT * FROM clips WHERE id IN ({}) ORDER BY id",
            params.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&db.pool).await? {
            clips.push(from_row(&row)?);
        }
    }
    Ok(clips)
}

/// Every clip, oldest first.
pub async fn list(db: &Db) -> anyhow::Result<Vec<Clip>> {
    let rows = sqlx::query("SELECT * FROM clips ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

fn json<T: serde::de::DeserializeOwned>(text: Option<String>) -> anyhow::Result<Option<T>> {
    text.map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(Into::into)
}

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Clip> {
    Ok(Clip {
        id: r.try_get("id")?,
        upload_id: r.try_get("upload_id")?,
        source_name: r.try_get("source_name")?,
        source_sha256: r.try_get("source_sha256")?,
        source_size: r.try_get("source_size")?,
        state: ClipState::parse(&r.try_get::<String, _>("state")?)?,
        reason: r.try_get("reason")?,
        probe: json(r.try_get("probe")?)?,
        normalized_sha256: r.try_get("normalized_sha256")?,
        normalize_report: json(r.try_get("normalize_report")?)?,
        qc_report: json(r.try_get("qc_report")?)?,
        qc_summary: r.try_get("qc_summary")?,
        poster_sha256: r.try_get("poster_sha256")?,
        sheet_sha256: r.try_get("sheet_sha256")?,
        waveform_sha256: r.try_get("waveform_sha256")?,
        proxy_sha256: r.try_get("proxy_sha256")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Moves a clip to `state` unless it already reached a final state (a late, superseded step
/// must not revive a rejected clip).
pub async fn set_state(db: &Db, id: i64, state: ClipState) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE clips SET state = $1, updated_at = $2
         WHERE id = $3 AND state NOT IN ('ready', 'rejected', 'failed')",
    )
    .bind(state.as_str())
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Refuses the clip with the reason shown to its creator.
pub async fn reject(db: &Db, id: i64, why: &Rejection) -> anyhow::Result<()> {
    end(db, id, ClipState::Rejected, &why.to_string()).await
}

/// Marks the clip failed on our side (every retry spent).
pub async fn fail(db: &Db, id: i64, reason: &str) -> anyhow::Result<()> {
    end(db, id, ClipState::Failed, reason).await
}

async fn end(db: &Db, id: i64, state: ClipState, reason: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE clips SET state = $1, reason = $2, updated_at = $3 WHERE id = $4")
        .bind(state.as_str())
        .bind(reason)
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn set_probe(db: &Db, id: i64, probe: &ProbeInfo) -> anyhow::Result<()> {
    set_text(db, id, "probe", &serde_json::to_string(probe)?).await
}

pub async fn set_normalized(
    db: &Db,
    id: i64,
    sha256: &str,
    report: &NormalizeReport,
) -> anyhow::Result<()> {
    set_text(db, id, "normalized_sha256", sha256).await?;
    set_text(db, id, "normalize_report", &serde_json::to_string(report)?).await
}

pub async fn set_qc(db: &Db, id: i64, report: &QcReport) -> anyhow::Result<()> {
    set_text(db, id, "qc_report", &serde_json::to_string(report)?).await?;
    set_text(db, id, "qc_summary", &report.summary).await
}

/// The media of the last step; the clip is ready once the thumbnails and the proxy are both in.
pub async fn set_artifact(db: &Db, id: i64, column: Artifact, sha256: &str) -> anyhow::Result<()> {
    set_text(db, id, column.column(), sha256).await?;
    sqlx::query(
        "UPDATE clips SET state = 'ready', updated_at = $1
         WHERE id = $2 AND state = 'finishing' AND poster_sha256 IS NOT NULL
           AND sheet_sha256 IS NOT NULL AND waveform_sha256 IS NOT NULL AND proxy_sha256 IS NOT NULL",
    )
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The media columns a finishing step fills.
#[derive(Debug, Clone, Copy)]
pub enum Artifact {
    Poster,
    Sheet,
    Waveform,
    Proxy,
}

impl Artifact {
    fn column(self) -> &'static str {
        match self {
            Artifact::Poster => "poster_sha256",
            Artifact::Sheet => "sheet_sha256",
            Artifact::Waveform => "waveform_sha256",
            Artifact::Proxy => "proxy_sha256",
        }
    }
}

/// `column` is one of this module's own constant names, never user input.
async fn set_text(db: &Db, id: i64, column: &str, value: &str) -> anyhow::Result<()> {
    let sql = format!("UPDATE clips SET {column} = $1, updated_at = $2 WHERE id = $3");
    sqlx::query(&sql)
        .bind(value)
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
