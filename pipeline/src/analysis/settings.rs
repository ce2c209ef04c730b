//! The `moderation` section of the configuration: time budgets of the analysis jobs, the
//! optional writer-model checks, and the thresholds that turn findings into a verdict.

use serde::{Deserialize, Serialize};

/// How the analysis jobs run and how findings become advice (`analysis::verdict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModerationConfig {
    /// Time budget of each moderation model per clip, seconds, and the least the captions model
    /// gets (which otherwise gets `models.captions.budget_per_media_second`). Default 300.
    pub check_budget_s: u64,
    /// A text-classifier flag at or above this score asks for review. Default 0.5.
    pub text_review_at: f32,
    /// A text-classifier flag at or above this score advises rejection. Default 0.9.
    pub text_reject_at: f32,
    /// A keyframe flag at or above this score asks for review. Default 0.5.
    pub image_review_at: f32,
    /// A keyframe flag at or above this score advises rejection. Default 0.9.
    pub image_reject_at: f32,
    /// A policy-judge flag at or above this score asks for review (never more: the judge only
    /// advises a closer look). Default 0.5.
    pub policy_review_at: f32,
    /// A duplicate of another creator's clip at or above this score advises rejection; below
    /// it (and any duplicate of the same creator's other submission) asks for review.
    /// Default 0.9.
    pub duplicate_reject_at: f64,
    /// A technical QC finding of severity `error` asks for review. Default true.
    pub qc_errors_review: bool,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        ModerationConfig {
            check_budget_s: 300,
            text_review_at: 0.5,
            text_reject_at: 0.9,
            image_review_at: 0.5,
            image_reject_at: 0.9,
            policy_review_at: 0.5,
            duplicate_reject_at: 0.9,
            qc_errors_review: true,
        }
    }
}
