//! What the analysis found about a clip, for the evidence view: the verdict (advice only: the
//! reviewer decides), each check's outcome, duplicates with links to the other submission, and
//! the captions shown (the latest edit of each language, else the automatic ones).

use gala_pipeline::analysis::captions::{self, CaptionRow};
use gala_pipeline::analysis::store::{self, CheckRecord, VerdictRecord};
use gala_pipeline::analysis::verdict::Relation;
use gala_pipeline::storage::db::Db;
use serde::Serialize;
use sqlx::Row;

/// The analysis evidence of one clip.
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisEvidence {
    /// None until the analysis chain has finished.
    pub verdict: Option<VerdictRecord>,
    /// Each check's outcome (status, flags or hits, error, model, duration).
    pub checks: Vec<CheckRecord>,
    /// Other clips this one resembles, best first.
    pub duplicates: Vec<DuplicateLink>,
    /// The captions shown and exported, one row per language.
    pub captions: Vec<CaptionRow>,
}

/// A duplicate, with the other clip's submission when it has one.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateLink {
    pub clip_id: i64,
    pub submission_id: Option<i64>,
    pub title: Option<String>,
    pub score: f64,
    pub relation: Relation,
    /// True when this clip came after the other (the other is the likely original).
    pub later: bool,
    /// Our time and their time of the first matched frame, seconds.
    pub first_match: Option<(f64, f64)>,
    pub audio_similarity: Option<f64>,
}

impl AnalysisEvidence {
    /// The check called `name`, if it ran.
    pub fn check(&self, name: &str) -> Option<&CheckRecord> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// The analysis evidence of `clip_id`.
pub async fn of_clip(db: &Db, clip_id: i64) -> anyhow::Result<AnalysisEvidence> {
    let mut duplicates = Vec::new();
    for d in store::duplicates_of(db, clip_id).await? {
        let row = sqlx::query(
            "SELECT s.id, s.title FROM submission_versions v
             JOIN submissions s ON s.id = v.submission_id WHERE v.clip_id = $1",
        )
        .bind(d.other_clip_id)
        .fetch_optional(&db.pool)
        .await?;
        let (submission_id, title) = match row {
            Some(r) => (Some(r.try_get("id")?), Some(r.try_get("title")?)),
            None => (None, None),
        };
        duplicates.push(DuplicateLink {
            clip_id: d.other_clip_id,
            submission_id,
            title,
            score: d.score,
            relation: d.relation,
            later: d.later,
            first_match: d.evidence.first().copied(),
            audio_similarity: d.audio_similarity,
        });
    }
    let rows = captions::all_of(db, clip_id).await?;
    Ok(AnalysisEvidence {
        verdict: store::verdict_of(db, clip_id).await?,
        checks: store::checks_of(db, clip_id).await?,
        duplicates,
        captions: captions::current(&rows).into_iter().cloned().collect(),
    })
}
