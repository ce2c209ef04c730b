//! Seeded random pools for tests and `gala bench planner` (no real acts).

use rand::{Rng, SeedableRng};

use super::Candidate;

/// Categories of the random pools.
pub const CATEGORIES: &[&str] = &["music", "dance", "comedy", "magic", "短片", "poetry"];

/// A random pool: `n` acts of 30 s to 6 min, about three acts per creator, most scored and
/// analysed.
pub fn random_pool(seed: u64, n: usize) -> Vec<Candidate> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let creators = (n / 3).max(2) as i64;
    (0..n)
        .map(|i| {
            let creator_id = rng.gen_range(1..=creators);
            Candidate {
                submission_id: 1000 + i as i64,
                version_number: 1,
                clip_id: 5000 + i as i64,
                title: format!("Act {i}"),
                creator_id,
                creator: format!("Creator {creator_id}"),
                category: CATEGORIES[rng.gen_range(0..CATEGORIES.len())].to_string(),
                duration_ms: rng.gen_range(30_000..360_000),
                score: rng.gen_bool(0.8).then(|| rng.gen_range(1.0..=5.0)),
                energy: rng.gen_bool(0.8).then(|| rng.gen_range(0.0..=1.0)),
                credits: Vec::new(),
                language: "en".into(),
                trim: None,
            }
        })
        .collect()
}
