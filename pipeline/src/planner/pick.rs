//! Picking one act for a slot: the value of each candidate at that moment (score, energy fit,
//! mix bonus, seeded bonus), the hard rules, and the explanation of the pick.

use super::fill::{clock, State};
use super::pool::Key;
use super::rules::{self, Broken, Rules};

/// The best act found for one slot, and what it beat.
struct Pick {
    c: usize,
    /// Better-valued acts ruled out: by the category run, the creator rule, their length.
    beaten: [usize; 3],
}

impl State<'_> {
    /// Categories of the acts that started within the last mix window before `start`, and
    /// whether the window still lacks some.
    pub(super) fn window(&self, recent: &[(i64, u32)], start: i64) -> (Vec<u32>, bool) {
        let mut cats: Vec<u32> = recent
            .iter()
            .rev()
            .take_while(|(t, _)| *t > start - self.window_ms)
            .map(|(_, c)| *c)
            .collect();
        cats.sort_unstable();
        cats.dedup();
        let lacking = cats.len() < self.needed_cats;
        (cats, lacking)
    }

    /// The best act that closes the gap `left` within the tolerance, if one keeps the rules.
    pub(super) fn pick_closing(
        &mut self,
        acts: &[Option<Key>],
        start: i64,
        left: i64,
        after: Option<Key>,
        recent: &[(i64, u32)],
    ) -> Option<(usize, String)> {
        let lo = self.pool.dur_lower_bound(left - self.tol);
        let hi = self.pool.dur_lower_bound(left + self.tol + 1);
        if lo >= hi {
            return None;
        }
        let (cats, lacking) = self.window(recent, start);
        let mut best: Option<(f64, usize)> = None;
        for &c in &self.pool.by_dur[lo..hi] {
            if self.pool.used[c]
                || rules::check(
                    acts,
                    acts.len(),
                    self.pool.c[c].key,
                    self.max_run,
                    after,
                    self.rules,
                )
                .is_err()
            {
                continue;
            }
            let v = self.value(c, start, &cats, lacking).0;
            if best.is_none_or(|(b, _)| v > b) {
                best = Some((v, c));
            }
        }
        let (_, c) = best?;
        let pk = self.describe(c, start, &cats, lacking, [0; 3]);
        Some((
            c,
            format!("{pk} Its length closes the slot to within the tolerance."),
        ))
    }

    /// Value of candidate `c` starting at `start`: (value, fit, wanted energy, new category).
    pub(super) fn value(
        &self,
        c: usize,
        start: i64,
        cats: &[u32],
        lacking: bool,
    ) -> (f64, f64, f64, bool) {
        let x = &self.pool.c[c];
        let wanted = self
            .cfg
            .energy_at((start + x.d / 2) as f64 / self.target as f64);
        let fit = 1.0 - (x.energy - wanted).abs();
        let new_cat = lacking && !cats.contains(&x.key.cat);
        let v =
            x.base + self.cfg.energy_weight * fit + if new_cat { self.cfg.mix_weight } else { 0.0 };
        (v, fit, wanted, new_cat)
    }

    /// The best unused act for act position `p` no longer than `limit`, keeping the rules (or,
    /// when none does, relaxing the category rule, then both, with a warning).
    pub(super) fn pick_any(
        &mut self,
        acts: &[Option<Key>],
        p: usize,
        start: i64,
        limit: i64,
        after: Option<Key>,
        recent: &[(i64, u32)],
    ) -> Option<(usize, String)> {
        let (cats, lacking) = self.window(recent, start);
        for (rules, note) in [
            (Rules::ALL, None),
            (
                Rules {
                    category: false,
                    creator: true,
                },
                Some("the category run limit"),
            ),
            (
                Rules {
                    category: false,
                    creator: false,
                },
                Some("the category run limit and the creator rule"),
            ),
        ] {
            if rules != Rules::ALL
                && self
                    .pick(acts, p, start, i64::MAX, after, &cats, lacking, Rules::ALL)
                    .is_some()
            {
                // Acts that keep the rules exist, only longer than what is left: no relaxing.
                return None;
            }
            if let Some(pk) = self.pick(acts, p, start, limit, after, &cats, lacking, rules) {
                self.pool.used[pk.c] = true;
                let mut why = self.describe(pk.c, start, &cats, lacking, pk.beaten);
                if let Some(note) = note {
                    let before = self.rules;
                    self.rules.category &= rules.category;
                    self.rules.creator &= rules.creator;
                    let msg = format!(
                        "at {} no act kept {note}; it was relaxed for one act",
                        clock(start)
                    );
                    why.push_str(&format!(" Only act that fits here: {msg}."));
                    if self.rules != before {
                        self.warnings.push(msg);
                    }
                }
                return Some((pk.c, why));
            }
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn pick(
        &self,
        acts: &[Option<Key>],
        p: usize,
        start: i64,
        limit: i64,
        after: Option<Key>,
        cats: &[u32],
        lacking: bool,
        rules: Rules,
    ) -> Option<Pick> {
        let slack = self.cfg.energy_weight.max(0.0)
            + if lacking {
                self.cfg.mix_weight.max(0.0)
            } else {
                0.0
            };
        let mut best: Option<(f64, Pick)> = None;
        let mut ruled_out: Vec<(f64, usize)> = Vec::new();
        for &c in &self.pool.by_base {
            let x = &self.pool.c[c];
            if let Some((b, _)) = &best {
                if x.base + slack < *b {
                    break;
                }
            }
            if self.pool.used[c] {
                continue;
            }
            let v = self.value(c, start, cats, lacking).0;
            if best.as_ref().is_some_and(|(b, _)| v <= *b) {
                continue;
            }
            let why = if x.d > limit {
                Some(2)
            } else {
                match rules::check(acts, p, x.key, self.max_run, after, rules) {
                    Ok(()) => None,
                    Err(Broken::CategoryRun) => Some(0),
                    Err(Broken::Creator) => Some(1),
                }
            };
            match why {
                Some(r) => ruled_out.push((v, r)),
                None => best = Some((v, Pick { c, beaten: [0; 3] })),
            }
        }
        let (v, mut pk) = best?;
        for (rv, r) in ruled_out {
            if rv > v {
                pk.beaten[r] += 1;
            }
        }
        Some(pk)
    }

    /// Why act `c` was picked at `start`, in words.
    pub fn describe(
        &self,
        c: usize,
        start: i64,
        cats: &[u32],
        lacking: bool,
        beaten: [usize; 3],
    ) -> String {
        let (_, fit, wanted, new_cat) = self.value(c, start, cats, lacking);
        let a = self.pool.candidate(c);
        let score = a.score.map_or("unscored (neutral)".to_string(), |s| {
            format!("score {s:.1}/5")
        });
        let energy = a
            .energy
            .map_or("energy unknown (taken as 0.5)".to_string(), |e| {
                format!("energy {e:.2}")
            });
        let mut s = format!(
            "{score}; {energy} where the curve wants {wanted:.2} at {} (fit {fit:.2})",
            clock(start)
        );
        if new_cat {
            s.push_str(&format!(
                "; brings {:?} into a mix window that lacked it",
                a.category
            ));
        }
        let [cat, creator, long] = beaten;
        if cat + creator + long > 0 {
            let mut parts = Vec::new();
            if cat > 0 {
                parts.push(format!("{cat} by the category run limit"));
            }
            if creator > 0 {
                parts.push(format!("{creator} by the creator rule"));
            }
            if long > 0 {
                parts.push(format!("{long} as too long for what is left of the slot"));
            }
            s.push_str(&format!(
                "; better-valued acts ruled out: {}",
                parts.join(", ")
            ));
        }
        s.push('.');
        s[..1].to_uppercase() + &s[1..]
    }
}
