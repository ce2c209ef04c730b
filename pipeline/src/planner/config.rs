//! The `planner` section of the configuration: the running-order planner's limits and weights.

use serde::{Deserialize, Serialize};

/// How the planner fills a show (`planner:` in gala.yaml). Every key has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerConfig {
    /// Tolerance around the target length given to a new show, seconds. The planner meets the
    /// show's own `tolerance_ms`. Default 10.
    pub tolerance_s: f64,
    /// Most acts of one category in a row (0: no limit). Default 2.
    pub max_same_category_run: usize,
    /// Length of the windows that must each hold a mix of categories, seconds. Default 1800.
    pub mix_window_s: f64,
    /// Fewest distinct categories in each mix window (lowered to what the pool has). Default 3.
    pub min_categories_per_window: usize,
    /// Estimated length of the host card put between two acts, seconds; 0: no cards. The card
    /// keeps this length in the plan (its voice-over may lengthen it later). Default 8.
    pub host_card_s: f64,
    /// The evening's energy: points `[fraction of the show 0..1, energy 0..1]`, joined by
    /// straight lines. Default: a strong opening, a dip in the middle, building to the finale.
    pub energy_curve: Vec<[f64; 2]>,
    /// Weight of the review score (1 to 5, mapped to 0..1; unscored acts count 0.5). Default 1.
    pub score_weight: f64,
    /// Weight of the energy fit (1 minus the distance to the curve; unanalysed acts 0.5).
    /// Default 1.
    pub energy_weight: f64,
    /// Bonus for an act that brings a category the current mix window lacks. Default 0.5.
    pub mix_weight: f64,
    /// Largest seeded random bonus per act, so different seeds give different orders.
    /// Default 0.3.
    pub variety_weight: f64,
    /// Seed used when a plan request gives none. Default 0.
    pub seed: u64,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            tolerance_s: 10.0,
            max_same_category_run: 2,
            mix_window_s: 1800.0,
            min_categories_per_window: 3,
            host_card_s: 8.0,
            energy_curve: vec![[0.0, 0.8], [0.1, 0.7], [0.5, 0.4], [0.85, 0.8], [1.0, 1.0]],
            score_weight: 1.0,
            energy_weight: 1.0,
            mix_weight: 0.5,
            variety_weight: 0.3,
            seed: 0,
        }
    }
}

impl PlannerConfig {
    /// The wanted energy at `fraction` (0..1) of the show, interpolated on the curve; 0.5
    /// when the curve is empty.
    pub fn energy_at(&self, fraction: f64) -> f64 {
        let c = &self.energy_curve;
        let Some(first) = c.first() else { return 0.5 };
        if fraction <= first[0] {
            return first[1].clamp(0.0, 1.0);
        }
        for w in c.windows(2) {
            let ([x0, y0], [x1, y1]) = (w[0], w[1]);
            if fraction <= x1 {
                let t = if x1 > x0 {
                    (fraction - x0) / (x1 - x0)
                } else {
                    1.0
                };
                return (y0 + t * (y1 - y0)).clamp(0.0, 1.0);
            }
        }
        c[c.len() - 1][1].clamp(0.0, 1.0)
    }

    /// The host card's length, milliseconds (0: no cards).
    pub fn card_ms(&self) -> i64 {
        (self.host_card_s.max(0.0) * 1000.0).round() as i64
    }
}
