//! The analysis records of a clip: fingerprint, duplicates, check outcomes and the verdict
//! (tables of migration 0008). Plain SQL written once for both backends.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::duplicates::Match;
use super::fingerprint::Fingerprint;
use super::verdict::{CheckStatus, Outcome, Reason, Relation, Verdict};
use crate::now_ms;
use crate::storage::db::Db;

/// Replaces the clip's fingerprint. The row gets a new id, so workers' indexes pick it up.
pub async fn save_fingerprint(db: &Db, clip_id: i64, fp: &Fingerprint) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM clip_fingerprints WHERE clip_id = $1")
        .bind(clip_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO clip_fingerprints (clip_id, fingerprint, created_at) VALUES ($1, $2, $3)",
    )
    .bind(clip_id)
    .bind(serde_json::to_string(fp)?)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Fingerprints stored under a row id above `after`: (row id, clip id, fingerprint), by row id.
pub async fn fingerprints_after(
    db: &Db,
    after: i64,
) -> anyhow::Result<Vec<(i64, i64, Fingerprint)>> {
    let rows = sqlx::query(
        "SELECT id, clip_id, fingerprint FROM clip_fingerprints WHERE id > $1 ORDER BY id",
    )
    .bind(after)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let text: String = r.try_get("fingerprint")?;
            Ok((
                r.try_get("id")?,
                r.try_get("clip_id")?,
                serde_json::from_str(&text)?,
            ))
        })
        .collect()
}

/// Replaces the duplicates found for `clip_id` (each match names another clip).
pub async fn save_duplicates(db: &Db, clip_id: i64, matches: &[Match]) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM clip_duplicates WHERE clip_id = $1")
        .bind(clip_id)
        .execute(&mut *tx)
        .await?;
    let now = now_ms();
    for m in matches {
        sqlx::query(
            "INSERT INTO clip_duplicates (clip_id, other_clip_id, score, matched_frames,
                 audio_similarity, offset_ms, evidence, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(clip_id)
        .bind(m.clip_id)
        .bind(m.score)
        .bind(m.matched_frames as i64)
        .bind(m.audio_similarity)
        .bind(m.offset_s.map(|s| (s * 1000.0).round() as i64))
        .bind(serde_json::to_string(&m.evidence)?)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A duplicate as seen from one clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateRecord {
    pub other_clip_id: i64,
    pub score: f64,
    pub matched_frames: i64,
    pub audio_similarity: Option<f64>,
    /// Their time minus ours, milliseconds.
    pub offset_ms: Option<i64>,
    /// (our time, their time) of matched frames, seconds.
    pub evidence: Vec<(f64, f64)>,
    /// True when this clip came later than the other (a higher clip id): the other is the
    /// likely original. Only these count in the verdict.
    pub later: bool,
    pub relation: Relation,
}

/// The submission and owner of a clip, when it came through the studio.
pub async fn owner_of(db: &Db, clip_id: i64) -> anyhow::Result<Option<(i64, i64)>> {
    let row = sqlx::query(
        "SELECT s.id, s.owner_id FROM submission_versions v
         JOIN submissions s ON s.id = v.submission_id WHERE v.clip_id = $1",
    )
    .bind(clip_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| anyhow::Ok((r.try_get("id")?, r.try_get("owner_id")?)))
        .transpose()
}

/// Every duplicate of `clip_id`, in both directions, best first.
pub async fn duplicates_of(db: &Db, clip_id: i64) -> anyhow::Result<Vec<DuplicateRecord>> {
    let rows = sqlx::query(
        "SELECT clip_id, other_clip_id, score, matched_frames, audio_similarity, offset_ms, evidence
         FROM clip_duplicates WHERE clip_id = $1 OR other_clip_id = $1",
    )
    .bind(clip_id)
    .fetch_all(&db.pool)
    .await?;
    let ours = owner_of(db, clip_id).await?;
    let mut out: Vec<DuplicateRecord> = Vec::with_capacity(rows.len());
    for r in rows {
        let ours_row = r.try_get::<i64, _>("clip_id")? == clip_id;
        let other: i64 = r.try_get(if ours_row { "other_clip_id" } else { "clip_id" })?;
        let mut evidence: Vec<(f64, f64)> =
            serde_json::from_str(&r.try_get::<String, _>("evidence")?)?;
        let mut offset_ms: Option<i64> = r.try_get("offset_ms")?;
        if !ours_row {
            evidence.iter_mut().for_each(|p| *p = (p.1, p.0));
            offset_ms = offset_ms.map(|o| -o);
        }
        let score: f64 = r.try_get("score")?;
        // Both clips may have found each other (fingerprinted at the same time): keep the best.
        if let Some(seen) = out.iter().position(|d| d.other_clip_id == other) {
            if out[seen].score >= score {
                continue;
            }
            out.remove(seen);
        }
        let relation = match (ours, owner_of(db, other).await?) {
            (Some((s1, _)), Some((s2, _))) if s1 == s2 => Relation::SameSubmission,
            (Some((_, o1)), Some((_, o2))) if o1 == o2 => Relation::SameCreator,
            (Some(_), Some(_)) => Relation::OtherCreator,
            _ => Relation::Unknown,
        };
        out.push(DuplicateRecord {
            other_clip_id: other,
            score,
            matched_frames: r.try_get("matched_frames")?,
            audio_similarity: r.try_get("audio_similarity")?,
            offset_ms,
            evidence,
            later: clip_id > other,
            relation,
        });
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(out)
}

/// A check's outcome as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRecord {
    pub name: String,
    pub status: CheckStatus,
    /// JSON: `[Flag]` for model checks, `[WordHit]` for watched words.
    pub flags: serde_json::Value,
    pub error: Option<String>,
    pub model: String,
    pub duration_ms: i64,
    pub created_at: i64,
}

/// Records (or replaces) the outcome of check `name` for the clip.
pub async fn save_check(db: &Db, clip_id: i64, check: &CheckRecord) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO clip_checks (clip_id, name, status, flags, error, model, duration_ms, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (clip_id, name) DO UPDATE SET status = excluded.status, flags = excluded.flags,
             error = excluded.error, model = excluded.model, duration_ms = excluded.duration_ms,
             created_at = excluded.created_at",
    )
    .bind(clip_id)
    .bind(&check.name)
    .bind(check.status.as_str())
    .bind(check.flags.to_string())
    .bind(&check.error)
    .bind(&check.model)
    .bind(check.duration_ms)
    .bind(check.created_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The clip's check outcomes, by name.
pub async fn checks_of(db: &Db, clip_id: i64) -> anyhow::Result<Vec<CheckRecord>> {
    let rows = sqlx::query("SELECT * FROM clip_checks WHERE clip_id = $1 ORDER BY name")
        .bind(clip_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get("status")?;
            Ok(CheckRecord {
                name: r.try_get("name")?,
                status: CheckStatus::parse(&status)
                    .ok_or_else(|| anyhow::anyhow!("unknown check status {status:?}"))?,
                flags: serde_json::from_str(&r.try_get::<String, _>("flags")?)?,
                error: r.try_get("error")?,
                model: r.try_get("model")?,
                duration_ms: r.try_get("duration_ms")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Records (or replaces) the clip's verdict.
pub async fn save_verdict(db: &Db, clip_id: i64, v: &Verdict) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO clip_verdicts (clip_id, outcome, reasons, incomplete, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (clip_id) DO UPDATE SET outcome = excluded.outcome,
             reasons = excluded.reasons, incomplete = excluded.incomplete,
             created_at = excluded.created_at",
    )
    .bind(clip_id)
    .bind(v.outcome.as_str())
    .bind(serde_json::to_string(&v.reasons)?)
    .bind(serde_json::to_string(&v.incomplete)?)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A stored verdict and when it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRecord {
    pub verdict: Verdict,
    pub created_at: i64,
}

pub async fn verdict_of(db: &Db, clip_id: i64) -> anyhow::Result<Option<VerdictRecord>> {
    let row = sqlx::query("SELECT * FROM clip_verdicts WHERE clip_id = $1")
        .bind(clip_id)
        .fetch_optional(&db.pool)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let outcome: String = r.try_get("outcome")?;
    let reasons: Vec<Reason> = serde_json::from_str(&r.try_get::<String, _>("reasons")?)?;
    Ok(Some(VerdictRecord {
        verdict: Verdict {
            outcome: Outcome::parse(&outcome)
                .ok_or_else(|| anyhow::anyhow!("unknown verdict {outcome:?}"))?,
            reasons,
            incomplete: serde_json::from_str(&r.try_get::<String, _>("incomplete")?)?,
        },
        created_at: r.try_get("created_at")?,
    }))
}

/// What the checks read of the clip's submission.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionText {
    pub title: String,
    pub description: String,
    /// The submission's language as given (BCP-47, or `none`).
    pub language: String,
}

/// The title, description and language of the submission the clip is a version of.
pub async fn submission_text(db: &Db, clip_id: i64) -> anyhow::Result<Option<SubmissionText>> {
    let row = sqlx::query(
        "SELECT s.title, s.description, s.language FROM submission_versions v
         JOIN submissions s ON s.id = v.submission_id WHERE v.clip_id = $1",
    )
    .bind(clip_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        anyhow::Ok(SubmissionText {
            title: r.try_get("title")?,
            description: r.try_get("description")?,
            language: r.try_get("language")?,
        })
    })
    .transpose()
}
