//! The review queue: reviewers work through submissions with their QC evidence and decide
//! accept / needs changes / reject; directors and admins assign submissions to reviewers and
//! follow the progress. Every decision is audited (`review_decisions`, append-only).
//!
//! - [`repo`]: the SQL (submissions as the queue sees them, decisions, assignments, templates).
//! - [`queue`]: filters and paging of the queue, applied in Rust (the finding kinds live in the
//!   clip's QC report JSON).
//! - [`decide`]: a decision in one transaction, with optimistic concurrency.
//! - [`assign`]: by category or round-robin, and the progress counts.
//! - `pages` (HTML) and [`api`] (JSON, in the OpenAPI document) share these flows.
//!
//! Who may do what is checked here on the server: the queue, the evidence, decisions and the
//! history are for reviewers and directors (admins pass every check); assigning is for
//! directors. Creators are refused everywhere (403).

pub mod analysis;
pub mod api;
pub mod assign;
pub mod decide;
mod pages;
pub mod queue;
pub mod repo;

use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::auth::{CurrentUser, Role};
use crate::error::WebError;
use crate::state::AppState;

/// The longest note a reviewer may write, in characters.
pub const NOTE_MAX_CHARS: usize = 4000;

/// The submission categories (the submissions feature's contract).
pub const CATEGORIES: [&str; 7] = [
    "music",
    "music_video",
    "digital_human",
    "dance",
    "sketch_comedy",
    "folk_heritage",
    "other",
];

/// The selection states of a submission.
pub const SELECTIONS: [&str; 4] = ["in_review", "accepted", "needs_changes", "not_selected"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/review", get(pages::queue_page))
        .route(
            "/review/assign",
            get(pages::assign_page).post(pages::assign),
        )
        .route("/review/progress", get(pages::progress_page))
        .route("/review/{submission_id}", get(pages::evidence_page))
        .route("/review/{submission_id}/decision", post(pages::decision))
        .route("/review/{submission_id}/history", get(pages::history_page))
        .merge(api::router())
}

/// Reviewers and directors work the queue (admins pass every check).
pub fn require_reviewer(user: &CurrentUser) -> Result<(), WebError> {
    user.require(&[Role::Reviewer, Role::Director])
}

/// Directors assign work (admins pass every check).
pub fn require_director(user: &CurrentUser) -> Result<(), WebError> {
    user.require(&[Role::Director])
}

/// A reviewer's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    NeedsChanges,
    Reject,
}

impl Decision {
    pub const ALL: [Decision; 3] = [Decision::Accept, Decision::NeedsChanges, Decision::Reject];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::NeedsChanges => "needs_changes",
            Decision::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The submission's selection after this decision.
    pub fn selection(self) -> &'static str {
        match self {
            Decision::Accept => "accepted",
            Decision::NeedsChanges => "needs_changes",
            Decision::Reject => "not_selected",
        }
    }

    /// Accepted and refused submissions are locked; one that needs changes is open again.
    pub fn locks(self) -> bool {
        self != Decision::NeedsChanges
    }
}

/// Kinds of evidence the analysis adds; those not produced yet for the clip are shown as
/// clearly named empty sections, never with invented data.
pub const ANALYSIS_KINDS: [&str; 3] = ["transcript", "ai_scores", "duplicates"];

/// Everything the evidence view shows of a submission's latest version.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    pub submission: repo::QueueItem,
    pub text: repo::SubmissionText,
    /// The latest version's clip; `None` before the first upload.
    pub clip: Option<ClipEvidence>,
    /// Links to the submission's media (served by the submissions feature), those that exist.
    pub media: MediaLinks,
    /// Evidence kinds not produced yet (transcript, ai_scores, duplicates).
    pub not_yet_available: Vec<String>,
    /// What the analysis found: verdict (advice), checks, duplicates, captions; `None` before
    /// the first upload.
    #[schema(value_type = Option<Object>)]
    pub analysis: Option<analysis::AnalysisEvidence>,
    /// The mean of the reviewers' scores (1..5) over the submission's scored decisions, and
    /// how many there are; None when nobody scored it.
    pub review_score: Option<f64>,
    pub review_scores: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClipEvidence {
    pub state: String,
    /// Why the clip was rejected or failed.
    pub reason: Option<String>,
    pub qc_summary: Option<String>,
    /// The QC report: loudness, black/silence/frozen/clipping segments, findings with
    /// timecodes (seconds).
    #[schema(value_type = Option<Object>)]
    pub qc_report: Option<gala_pipeline::ingest::qc::QcReport>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct MediaLinks {
    pub poster: Option<String>,
    /// The contact sheet: keyframes across the clip.
    pub sheet: Option<String>,
    pub waveform: Option<String>,
    pub proxy: Option<String>,
}

/// The evidence of submission `id` (reviewers and directors).
pub async fn evidence(state: &AppState, user: &CurrentUser, id: i64) -> Result<Evidence, WebError> {
    require_reviewer(user)?;
    let db = &state.engine.db;
    let submission = repo::queue_item_of(db, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let text = repo::submission_text(db, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let clip = match submission.clip_id {
        Some(clip_id) => gala_pipeline::ingest::clips::get(db, clip_id).await?,
        None => None,
    };
    let link =
        |kind: &str, sha: &Option<String>| sha.as_ref().map(|_| format!("/media/{kind}/{id}"));
    let media = clip
        .as_ref()
        .map(|c| MediaLinks {
            poster: link("poster", &c.poster_sha256),
            sheet: link("sheet", &c.sheet_sha256),
            waveform: link("waveform", &c.waveform_sha256),
            proxy: link("proxy", &c.proxy_sha256),
        })
        .unwrap_or_default();
    let analysis = match &clip {
        Some(c) => Some(analysis::of_clip(db, c.id).await?),
        None => None,
    };
    let not_yet_available = ANALYSIS_KINDS
        .iter()
        .filter(|kind| {
            let Some(a) = &analysis else { return true };
            match **kind {
                "transcript" => a.captions.is_empty(),
                "ai_scores" => a.verdict.is_none(),
                _ => a.check("duplicates").is_none() && a.duplicates.is_empty(),
            }
        })
        .map(|s| s.to_string())
        .collect();
    let clip = clip.map(|c| ClipEvidence {
        state: c.state.as_str().to_string(),
        reason: c.reason,
        qc_summary: c.qc_summary,
        qc_report: c.qc_report,
    });
    let scores: Vec<i64> = repo::history(db, id)
        .await?
        .iter()
        .filter_map(|d| d.score)
        .collect();
    Ok(Evidence {
        submission,
        text,
        clip,
        media,
        not_yet_available,
        analysis,
        review_score: mean(&scores),
        review_scores: scores.len(),
    })
}

fn mean(scores: &[i64]) -> Option<f64> {
    (!scores.is_empty()).then(|| scores.iter().sum::<i64>() as f64 / scores.len() as f64)
}
