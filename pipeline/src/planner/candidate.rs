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
    /// In and out points, milliseconds, when the director trimmed this act in the current
    /// running order: a re-plan keeps them (set by the planner itself, see [`with_trims`]).
    #[serde(default)]
    pub trim: Option<(i64, i64)>,
}

impl Candidate {
    /// How long the act airs: its trimmed length, else the whole clip.
    pub fn planned_ms(&self) -> i64 {
        self.trim.map_or(self.duration_ms, |(i, o)| o - i)
    }

    /// The in and out points it airs with.
    pub fn in_out(&self) -> (i64, i64) {
        self.trim.unwrap_or((0, self.duration_ms))
    }
}

/// `pool` with the trims of the unlocked acts of `current` (the same submission version and
/// clip, inside the clip) carried over; borrowed as it is when nothing is trimmed.
pub fn with_trims<'a>(
    pool: &'a [Candidate],
    current: &crate::show::RunningOrder,
) -> std::borrow::Cow<'a, [Candidate]> {
    let trims: std::collections::HashMap<(i64, i64, i64), (i64, i64)> = current
        .items
        .iter()
        .filter(|i| !i.locked)
        .filter_map(|i| i.act())
        .filter(|a| (a.in_ms, a.out_ms) != (0, a.clip_ms))
        .map(|a| {
            (
                (a.submission_id, a.version_number, a.clip_id),
                (a.in_ms, a.out_ms),
            )
        })
        .collect();
    if trims.is_empty() {
        return std::borrow::Cow::Borrowed(pool);
    }
    let mut pool = pool.to_vec();
    for c in &mut pool {
        if let Some(&(i, o)) = trims.get(&(c.submission_id, c.version_number, c.clip_id)) {
            if 0 <= i && i < o && o <= c.duration_ms {
                c.trim = Some((i, o));
            }
        }
    }
    std::borrow::Cow::Owned(pool)
}
