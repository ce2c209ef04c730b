//! An act the planner may place: an accepted submission's current version with what the
//! planner weighs (length, category, creator, review score, energy).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub submission_id: i64,
    pub version_number: i64,
    pub clip_id: i64,
    pub title: String,
    pub creator_id: i64,
    /// The creator's display name.
    pub creator: String,
    pub category: String,
    /// Length of the normalized clip, milliseconds.
    pub duration_ms: i64,
    /// The reviewers' score, 1 to 5 (the mean of the scored decisions); None when unscored.
    pub score: Option<f32>,
    /// How lively the act is, 0 (calm) to 1 (high energy), from the loudness and tempo
    /// analysis; None when not analysed yet.
    pub energy: Option<f32>,
    /// Facts the host writer may use (credits as `role: name`), already checked.
    #[serde(default)]
    pub credits: Vec<String>,
    /// BCP-47 tag of the act's language, or `none`.
    pub language: String,
}
