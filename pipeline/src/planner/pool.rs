//! The pool prepared for planning: candidates sorted by submission (so the input order never
//! matters), categories interned in name order, scores and energies mapped to 0..1, a seeded
//! random bonus per act, and two orders: by value (for picks) and by length (for the fit).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};

use super::config::PlannerConfig;
use super::Candidate;

/// What the constraints look at: an act's category (interned) and creator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub cat: u32,
    pub creator: i64,
}

/// One candidate as the planner weighs it.
#[derive(Debug, Clone)]
pub(crate) struct Cand {
    /// Index into the caller's pool.
    pub src: usize,
    pub d: i64,
    pub key: Key,
    /// Energy 0..1 (unanalysed: 0.5).
    pub energy: f64,
    /// `score_weight * score + seeded bonus`: the part of the value that does not depend on
    /// the position.
    pub base: f64,
}

pub(crate) struct Pool<'a> {
    pub src: &'a [Candidate],
    pub c: Vec<Cand>,
    /// Candidate indices, highest `base` first.
    pub by_base: Vec<usize>,
    /// Candidate indices, shortest first.
    pub by_dur: Vec<usize>,
    pub used: Vec<bool>,
    /// Category names by interned id.
    pub cats: Vec<String>,
}

impl<'a> Pool<'a> {
    /// Prepares `src`, leaving out the submissions in `skip` (locked acts), acts shorter than
    /// `min_ms` and repeated submissions. `extra_cats` are interned too (locked acts'
    /// categories). Returns the pool and what was left out, in words.
    pub fn new(
        src: &'a [Candidate],
        skip: &[i64],
        extra_cats: &[&str],
        min_ms: i64,
        cfg: &PlannerConfig,
        seed: u64,
    ) -> (Pool<'a>, Vec<String>) {
        let mut notes = Vec::new();
        let mut order: Vec<usize> = (0..src.len()).collect();
        order.sort_by_key(|&i| (src[i].submission_id, i));
        let mut names = BTreeMap::new();
        for c in src
            .iter()
            .map(|c| c.category.as_str())
            .chain(extra_cats.iter().copied())
        {
            names.entry(c.to_string()).or_insert(0u32);
        }
        for (i, v) in names.values_mut().enumerate() {
            *v = i as u32;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut c: Vec<Cand> = Vec::with_capacity(src.len());
        let (mut short, mut repeated) = (0, 0);
        let mut last_sub = None;
        for i in order {
            let s = &src[i];
            // Drawn for every input act, so leaving one out does not reshuffle the others.
            let bonus = rng.gen::<f64>() * cfg.variety_weight.max(0.0);
            if last_sub == Some(s.submission_id) {
                repeated += 1;
                continue;
            }
            last_sub = Some(s.submission_id);
            if skip.contains(&s.submission_id) {
                continue;
            }
            if s.planned_ms() < min_ms {
                short += 1;
                continue;
            }
            let score = s
                .score
                .map_or(0.5, |v| ((f64::from(v) - 1.0) / 4.0).clamp(0.0, 1.0));
            let energy = s.energy.map_or(0.5, |v| f64::from(v).clamp(0.0, 1.0));
            c.push(Cand {
                src: i,
                d: s.planned_ms(),
                key: Key {
                    cat: names[&s.category],
                    creator: s.creator_id,
                },
                energy,
                base: cfg.score_weight * score + bonus,
            });
        }
        if short > 0 {
            notes.push(format!(
                "{short} act(s) shorter than one frame were left out"
            ));
        }
        if repeated > 0 {
            notes.push(format!(
                "{repeated} repeated submission(s) in the pool were left out"
            ));
        }
        let mut by_base: Vec<usize> = (0..c.len()).collect();
        by_base.sort_by(|&a, &b| c[b].base.total_cmp(&c[a].base).then(a.cmp(&b)));
        let mut by_dur: Vec<usize> = (0..c.len()).collect();
        by_dur.sort_by_key(|&i| (c[i].d, i));
        let pool = Pool {
            src,
            used: vec![false; c.len()],
            c,
            by_base,
            by_dur,
            cats: names.into_keys().collect(),
        };
        (pool, notes)
    }

    /// The interned id of a category name (every name given to `new` has one).
    pub fn cat_id(&self, name: &str) -> u32 {
        self.cats
            .binary_search_by(|n| n.as_str().cmp(name))
            .map_or(u32::MAX, |i| i as u32)
    }

    pub fn candidate(&self, i: usize) -> &'a Candidate {
        &self.src[self.c[i].src]
    }

    /// Index into `by_dur` of the first candidate at least `ms` long.
    pub fn dur_lower_bound(&self, ms: i64) -> usize {
        self.by_dur.partition_point(|&i| self.c[i].d < ms)
    }

    pub fn unused_left(&self) -> usize {
        self.used.iter().filter(|u| !**u).count()
    }
}
