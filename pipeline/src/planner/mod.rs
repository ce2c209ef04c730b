//! The running-order planner: from the accepted pool to a proposed running order that fills
//! the show's slot. Pure: no database (the pool is loaded by `show::pool`).
//!
//! [`plan`] keeps the locked items of the current order at their index, drops every unlocked
//! item and fills the gaps between locked items and the tail after the last one, left to
//! right in airing order:
//!
//! 1. each act slot takes the best act by value (`score_weight` × review score + `energy_weight`
//!    × fit to the energy curve at that moment + `mix_weight` when it brings a category the
//!    last `mix_window_s` lacks + a seeded bonus up to `variety_weight`) among the acts that
//!    keep the hard rules ([`rules`]) and fit in what is left of the target; the tail ends
//!    with an act that closes the gap when one exists, then the finale;
//! 2. the fit step ([`fit`]) swaps one act (or adds or removes one, then swaps) for acts whose
//!    lengths bring the total within the tolerance;
//! 3. a host card goes between every two acts, its line from the deterministic writer in the
//!    request's language, lasting `host_card_s` (the estimate; a voice-over may lengthen it).
//!
//! Each pick scans the pool once (branch and bound on the value), so a plan costs about
//! pool size × acts placed; the fit step binary-searches the pool by length.

pub mod candidate;
pub mod config;
mod fill;
mod fit;
mod output;
mod pick;
mod pool;
pub mod random;
mod rules;

#[cfg(test)]
mod tests;

pub use candidate::Candidate;
pub use config::PlannerConfig;

use serde::{Deserialize, Serialize};

use crate::show::{ItemId, RunningOrder, ShowMeta};

/// What to plan: the show, its current order (locked items stay), the chosen opening and
/// finale, the language of the host lines and the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRequest {
    /// The show's target length and tolerance (`target_ms`, `tolerance_ms`).
    pub meta: ShowMeta,
    /// The current running order: its locked items keep their index and content, every
    /// unlocked item is dropped and re-planned, locked acts leave the pool.
    #[serde(default)]
    pub current: RunningOrder,
    /// Submission to air as the first act.
    #[serde(default)]
    pub opening: Option<i64>,
    /// Submission to air as the last act.
    #[serde(default)]
    pub finale: Option<i64>,
    /// BCP-47 tag of the host lines (`en`, `zh-CN`).
    pub language: String,
    /// Seed of the plan; `None` takes `planner.seed` from the configuration.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// Why one item stands where it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub item: ItemId,
    pub text: String,
}

/// A proposed running order with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The new order: locked items where they were, acts with host cards between them. New
    /// items get fresh ids (ids are never reused).
    pub order: RunningOrder,
    /// One per item of `order`, in the same order.
    pub explanations: Vec<Explanation>,
    pub total_ms: i64,
    /// `total_ms - target_ms`: positive over, negative under.
    pub over_ms: i64,
    pub within_tolerance: bool,
    /// What could not be done as asked (a pool too short, a relaxed rule, a window without a
    /// mix), in words.
    pub warnings: Vec<String>,
    /// The seed used.
    pub seed: u64,
}

/// A request the planner cannot answer at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("the pool holds no accepted act to plan with")]
    EmptyPool,
    #[error("host lines can be written in zh or en, not {0:?}")]
    Language(String),
    #[error(
        "the {role} (submission {submission_id}) is neither in the pool nor locked in the order"
    )]
    NotInPool {
        role: &'static str,
        submission_id: i64,
    },
    #[error("the opening and the finale cannot be the same act (submission {0})")]
    SameOpeningAndFinale(i64),
    #[error("the target must be positive and the tolerance not negative")]
    BadTarget,
}

/// Plans a running order for `request` from `pool` (accepted acts, any order; repeated
/// submissions and acts shorter than one frame are left out). Deterministic: the same request,
/// pool and configuration give the same plan.
pub fn plan(
    request: &PlanRequest,
    pool: &[Candidate],
    cfg: &PlannerConfig,
) -> Result<Plan, PlanError> {
    let language = crate::ai::writer::Language::parse(&request.language)
        .ok_or_else(|| PlanError::Language(request.language.clone()))?;
    if request.meta.target_ms <= 0 || request.meta.tolerance_ms < 0 {
        return Err(PlanError::BadTarget);
    }
    if let (Some(o), Some(f)) = (request.opening, request.finale) {
        if o == f {
            return Err(PlanError::SameOpeningAndFinale(o));
        }
    }
    let seed = request.seed.unwrap_or(cfg.seed);
    let pool = candidate::with_trims(pool, &request.current);
    let mut state = fill::State::new(request, &pool, cfg, seed)?;
    state.fill();
    fit::fit(&mut state);
    Ok(output::finish(state, request, language, seed))
}
