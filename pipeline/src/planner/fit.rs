//! The fit step: after the greedy fill, brings the total within the tolerance by swapping one
//! act for an unused one whose length closes the gap, or by adding or removing one act in the
//! tail and then swapping, or by swapping two acts. Every change keeps the hard rules.

use super::fill::{clock, Slot, State};
use super::rules::{self, Rules};

/// Most candidates looked at per act and per try; keeps the step fast on huge pools.
const SCAN: usize = 256;
/// Most additions or removals tried before a swap.
const TRIES: usize = 8;
/// Acts and lengths sampled for the first act of a two-act swap.
const PAIR_SAMPLES: usize = 16;

/// Runs the fit step on a filled state.
pub(crate) fn fit(st: &mut State) {
    for _ in 0..4 {
        let gap = st.target - total(st);
        if gap.abs() <= st.tol || st.pool.unused_left() == 0 {
            return;
        }
        if swap_one(st, gap)
            || (gap > 0 && add_then_swap(st, gap))
            || (gap < 0 && remove_then_swap(st, gap))
            || swap_two(st, gap)
        {
            continue;
        }
        return;
    }
}

pub(crate) fn total(st: &State) -> i64 {
    st.slots.iter().map(|s| st.slot_ms(s)).sum()
}

fn offsets(st: &State) -> Vec<i64> {
    let mut at = 0;
    st.slots
        .iter()
        .map(|s| {
            let o = at;
            at += st.slot_ms(s);
            o
        })
        .collect()
}

fn within(st: &State, gap: i64) -> bool {
    gap.abs() <= st.tol
}

/// Replaces one movable act by an unused one `gap ± tol` longer, keeping the rules; the best
/// valued such swap wins. False (and nothing changed) when there is none.
fn swap_one(st: &mut State, gap: i64) -> bool {
    let (acts, at) = st.acts();
    let offs = offsets(st);
    let mut best: Option<(f64, usize, usize)> = None;
    for (p, &s) in at.iter().enumerate() {
        let Slot::Act {
            c: Some(a),
            movable: true,
            ..
        } = st.slots[s]
        else {
            continue;
        };
        let want = st.pool.c[a].d + gap;
        let lo = st.pool.dur_lower_bound(want - st.tol);
        let hi = st.pool.dur_lower_bound(want + st.tol + 1);
        let mut seen = 0;
        for &c in &st.pool.by_dur[lo..hi] {
            if st.pool.used[c] {
                continue;
            }
            seen += 1;
            if seen > SCAN {
                break;
            }
            if rules::check(&acts, p, st.pool.c[c].key, st.max_run, None, st.rules).is_err() {
                continue;
            }
            let wanted = st
                .cfg
                .energy_at((offs[s] + st.pool.c[c].d / 2) as f64 / st.target as f64);
            let v = st.pool.c[c].base
                + st.cfg.energy_weight * (1.0 - (st.pool.c[c].energy - wanted).abs());
            if best.is_none_or(|(b, _, _)| v > b) {
                best = Some((v, s, c));
            }
        }
    }
    let Some((_, s, c)) = best else { return false };
    let Slot::Act { c: Some(a), .. } = st.slots[s] else {
        return false;
    };
    let old = st.pool.candidate(a);
    let how = if gap > 0 { "short" } else { "over" };
    let why = format!(
        "{} Swapped in by the fit step for “{}” ({}), with the show {} {}: its length brings the total within the tolerance.",
        st.describe(c, offs[s], &[], false, [0; 3]),
        old.title,
        clock(old.planned_ms()),
        clock(gap.abs()),
        how
    );
    st.pool.used[a] = false;
    st.pool.used[c] = true;
    st.slots[s] = Slot::Act {
        c: Some(c),
        movable: true,
        why,
    };
    true
}

/// Where a new act goes in the tail: before the finale's card, or at the end.
fn insert_at(st: &State) -> usize {
    let n = st.slots.len();
    let finale_last =
        st.finale.is_some() && matches!(st.slots.last(), Some(Slot::Act { movable: false, .. }));
    if !finale_last {
        return n;
    }
    if n >= 2 && matches!(st.slots[n - 2], Slot::Card) {
        n - 2
    } else {
        n - 1
    }
}

/// Adds one act to the tail (the show then runs over), then swaps to close the gap.
fn add_then_swap(st: &mut State, gap: i64) -> bool {
    if !st.tail_open {
        return false;
    }
    let ins = insert_at(st);
    let card = ins > 0 && st.card_ms > 0 && st.key_of(&st.slots[ins - 1]).is_some();
    let card_ms = if card { st.card_ms } else { 0 };
    let (acts, at) = st.acts();
    let p = at.iter().filter(|&&s| s < ins).count();
    let mut probe = acts.clone();
    probe.insert(p, None);
    let from = st.pool.dur_lower_bound(gap - card_ms - st.tol);
    let tries: Vec<usize> = st.pool.by_dur[from..]
        .iter()
        .copied()
        .filter(|&c| !st.pool.used[c])
        .filter(|&c| rules::check(&probe, p, st.pool.c[c].key, st.max_run, None, st.rules).is_ok())
        .take(TRIES)
        .collect();
    for c in tries {
        let start = offsets(st).get(ins).copied().unwrap_or_else(|| total(st)) + card_ms;
        let why = format!(
            "{} Added by the fit step to fill the slot.",
            st.describe(c, start, &[], false, [0; 3])
        );
        let mut new = vec![Slot::Act {
            c: Some(c),
            movable: true,
            why,
        }];
        if card {
            new.insert(0, Slot::Card);
        }
        let added = new.len();
        let _ = st.slots.splice(ins..ins, new);
        st.pool.used[c] = true;
        let g = gap - card_ms - st.pool.c[c].d;
        if within(st, g) || swap_one(st, g) {
            return true;
        }
        let _ = st.slots.drain(ins..ins + added);
        st.pool.used[c] = false;
    }
    false
}

/// Removes one movable act of the tail (with its card), then swaps to close the gap.
fn remove_then_swap(st: &mut State, gap: i64) -> bool {
    if !st.tail_open {
        return false;
    }
    let mut options: Vec<(i64, usize, usize)> = Vec::new();
    for s in st.tail_start..st.slots.len() {
        let Slot::Act {
            c: Some(_),
            movable: true,
            ..
        } = st.slots[s]
        else {
            continue;
        };
        let from = if s > st.tail_start && matches!(st.slots[s - 1], Slot::Card) {
            s - 1
        } else {
            s
        };
        let freed: i64 = st.slots[from..=s].iter().map(|x| st.slot_ms(x)).sum();
        options.push(((gap + freed).abs(), from, s));
    }
    options.sort_unstable();
    for (_, from, s) in options.into_iter().take(TRIES) {
        let removed: Vec<Slot> = st.slots[from..=s].to_vec();
        let freed: i64 = removed.iter().map(|x| st.slot_ms(x)).sum();
        let Slot::Act { c: Some(c), .. } = removed[removed.len() - 1] else {
            continue;
        };
        let _ = st.slots.drain(from..=s);
        let keys: Vec<_> = st.acts().0.into_iter().flatten().collect();
        if st.rules != Rules::ALL || rules::first_broken(&keys, st.max_run).is_none() {
            st.pool.used[c] = false;
            let g = gap + freed;
            if within(st, g) || swap_one(st, g) {
                return true;
            }
            st.pool.used[c] = true;
        }
        let _ = st.slots.splice(from..from, removed);
    }
    false
}

/// Swaps a sampled act for a sampled unused length, then looks for a single swap that closes
/// what is left; undone when none does.
fn swap_two(st: &mut State, gap: i64) -> bool {
    let (acts, at) = st.acts();
    let movable: Vec<(usize, usize)> = at
        .iter()
        .enumerate()
        .filter_map(|(p, &s)| match st.slots[s] {
            Slot::Act {
                c: Some(_),
                movable: true,
                ..
            } => Some((p, s)),
            _ => None,
        })
        .collect();
    let unused: Vec<usize> = st
        .pool
        .by_dur
        .iter()
        .copied()
        .filter(|&c| !st.pool.used[c])
        .collect();
    if movable.is_empty() || unused.is_empty() {
        return false;
    }
    let step_m = movable.len().div_ceil(PAIR_SAMPLES);
    let step_u = unused.len().div_ceil(PAIR_SAMPLES);
    for &(p, s) in movable.iter().step_by(step_m) {
        let Slot::Act { c: Some(a), .. } = st.slots[s].clone() else {
            continue;
        };
        for &c in unused.iter().step_by(step_u) {
            if rules::check(&acts, p, st.pool.c[c].key, st.max_run, None, st.rules).is_err() {
                continue;
            }
            let saved = st.slots[s].clone();
            let why = format!(
                "{} Swapped in by the fit step (with a second swap) to bring the total within the tolerance.",
                st.describe(c, offsets(st)[s], &[], false, [0; 3])
            );
            st.slots[s] = Slot::Act {
                c: Some(c),
                movable: true,
                why,
            };
            st.pool.used[a] = false;
            st.pool.used[c] = true;
            let g = gap - (st.pool.c[c].d - st.pool.c[a].d);
            if within(st, g) || swap_one(st, g) {
                return true;
            }
            st.slots[s] = saved;
            st.pool.used[c] = false;
            st.pool.used[a] = true;
        }
    }
    false
}
