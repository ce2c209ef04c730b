//! The skeleton (locked items at their index, act and card slots between them) and the
//! greedy left-to-right fill by value.

use super::config::PlannerConfig;
use super::pool::{Key, Pool};
use super::rules::Rules;
use super::{Candidate, PlanError, PlanRequest};
use crate::show::model::MIN_ITEM_MS;

/// One place of the new order.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    /// A locked item of the current order (index into it).
    Locked(usize),
    /// An act: `c` is the candidate once picked; `movable` is false for the opening and
    /// finale; `why` explains the pick.
    Act {
        c: Option<usize>,
        movable: bool,
        why: String,
    },
    /// A host card between two acts.
    Card,
}

pub(crate) struct State<'a> {
    pub req: &'a PlanRequest,
    pub cfg: &'a PlannerConfig,
    pub pool: Pool<'a>,
    pub slots: Vec<Slot>,
    /// First slot after the last locked item: acts may be added and removed from here on.
    pub tail_start: usize,
    /// False when a locked finale ends the acts, so the tail takes none.
    pub tail_open: bool,
    pub opening: Option<usize>,
    pub finale: Option<usize>,
    pub card_ms: i64,
    pub target: i64,
    pub tol: i64,
    pub max_run: usize,
    /// Categories each mix window should hold (the configured count, lowered to the pool's).
    pub needed_cats: usize,
    pub window_ms: i64,
    pub warnings: Vec<String>,
    /// The rules still kept: all, until a pick had to relax one (the fit step then keeps the
    /// same, weaker set).
    pub rules: Rules,
}

/// `h:mm:ss` of a millisecond offset.
pub(crate) fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn locked_act(req: &PlanRequest, i: usize) -> Option<&crate::show::Act> {
    req.current.items[i].act()
}

impl<'a> State<'a> {
    pub fn new(
        req: &'a PlanRequest,
        src: &'a [Candidate],
        cfg: &'a PlannerConfig,
        seed: u64,
    ) -> Result<State<'a>, PlanError> {
        let items = &req.current.items;
        let locked: Vec<usize> = (0..items.len()).filter(|&i| items[i].locked).collect();
        let locked_subs: Vec<i64> = locked
            .iter()
            .filter_map(|&i| locked_act(req, i).map(|a| a.submission_id))
            .collect();
        let locked_cats: Vec<&str> = locked
            .iter()
            .filter_map(|&i| locked_act(req, i).map(|a| a.category.as_str()))
            .collect();
        let (pool, notes) = Pool::new(src, &locked_subs, &locked_cats, MIN_ITEM_MS, cfg, seed);
        if pool.c.is_empty() && locked_subs.is_empty() {
            return Err(PlanError::EmptyPool);
        }
        let find = |role: &'static str, sub: Option<i64>| -> Result<Option<usize>, PlanError> {
            let Some(sub) = sub else { return Ok(None) };
            if let Some(i) = (0..pool.c.len()).find(|&i| pool.candidate(i).submission_id == sub) {
                return Ok(Some(i));
            }
            if locked_subs.contains(&sub) {
                return Ok(None);
            }
            Err(PlanError::NotInPool {
                role,
                submission_id: sub,
            })
        };
        let opening = find("opening", req.opening)?;
        let finale = find("finale", req.finale)?;
        let mut categories: Vec<u32> = pool.c.iter().map(|c| c.key.cat).collect();
        categories.extend(locked_cats.iter().map(|c| pool.cat_id(c)));
        categories.sort_unstable();
        categories.dedup();
        let needed_cats = cfg.min_categories_per_window.min(categories.len());
        let mut warnings = notes;
        if needed_cats < cfg.min_categories_per_window {
            warnings.push(format!(
                "the pool has only {} categor{}, so each mix window asks for {} instead of {}",
                categories.len(),
                if categories.len() == 1 { "y" } else { "ies" },
                needed_cats,
                cfg.min_categories_per_window
            ));
        }
        let card_ms = cfg.card_ms();
        let mut state = State {
            req,
            cfg,
            pool,
            slots: Vec::new(),
            tail_start: 0,
            tail_open: true,
            opening,
            finale,
            card_ms,
            target: req.meta.target_ms,
            tol: req.meta.tolerance_ms,
            max_run: cfg.max_same_category_run,
            needed_cats,
            window_ms: (cfg.mix_window_s.max(1.0) * 1000.0) as i64,
            warnings,
            rules: Rules::ALL,
        };
        state.skeleton(&locked);
        state.place_opening_and_finale();
        Ok(state)
    }

    /// Locked items at their index; between them act slots with a card between two acts.
    fn skeleton(&mut self, locked: &[usize]) {
        let items = &self.req.current.items;
        let mut prev_act = false;
        for (n, &li) in locked.iter().enumerate() {
            let from = if n == 0 { 0 } else { locked[n - 1] + 1 };
            for _ in from..li {
                if self.card_ms > 0 && prev_act {
                    self.slots.push(Slot::Card);
                    prev_act = false;
                } else {
                    self.slots.push(Slot::Act {
                        c: None,
                        movable: true,
                        why: String::new(),
                    });
                    prev_act = true;
                }
            }
            let next_is_act = items[li].act().is_some();
            if !next_is_act && li > from && matches!(self.slots.last(), Some(Slot::Card)) {
                // A card introduces an act, never another item: the gap ends with an act.
                *self.slots.last_mut().unwrap() = Slot::Act {
                    c: None,
                    movable: true,
                    why: String::new(),
                };
            }
            self.slots.push(Slot::Locked(li));
            prev_act = next_is_act;
        }
        self.tail_start = self.slots.len();
    }

    fn place_opening_and_finale(&mut self) {
        let req = self.req;
        if let Some(sub) = req.opening {
            let first_act = self.slots.iter().position(|s| match s {
                Slot::Locked(i) => locked_act(req, *i).is_some(),
                Slot::Act { .. } => true,
                Slot::Card => false,
            });
            match (self.opening, first_act.map(|s| &self.slots[s])) {
                (None, Some(Slot::Locked(i))) if locked_act(req, *i).unwrap().submission_id == sub => {}
                (None, _) => self.warnings.push(format!(
                    "the opening (submission {sub}) is locked further in; unlock it to open the show"
                )),
                (Some(_), Some(Slot::Locked(i))) => self.warnings.push(format!(
                    "the opening (submission {sub}) cannot open the show: a locked act is at position {i}; it airs at the first free place"
                )),
                _ => {}
            }
        }
        if let Some(sub) = req.finale {
            if self.finale.is_none() {
                let last_locked_act = self.slots.iter().rev().find_map(|s| match s {
                    Slot::Locked(i) => locked_act(req, *i),
                    _ => None,
                });
                if last_locked_act.is_some_and(|a| a.submission_id == sub) {
                    // The locked finale ends the acts: nothing after it.
                    self.tail_open = false;
                } else {
                    self.warnings.push(format!(
                        "the finale (submission {sub}) is locked before other locked acts; unlock it to close the show"
                    ));
                }
            }
        }
        if let Some(c) = self.finale {
            self.pool.used[c] = true;
        }
        if let Some(c) = self.opening {
            self.pool.used[c] = true;
        }
    }

    /// Duration of a slot (0 for an act not yet picked).
    pub fn slot_ms(&self, s: &Slot) -> i64 {
        match s {
            Slot::Locked(i) => self.req.current.items[*i].duration_ms(),
            Slot::Act { c: Some(c), .. } => self.pool.c[*c].d,
            Slot::Act { c: None, .. } => 0,
            Slot::Card => self.card_ms,
        }
    }

    /// The constraint key of an act slot, if it is an act and decided.
    pub fn key_of(&self, s: &Slot) -> Option<Option<Key>> {
        match s {
            Slot::Locked(i) => locked_act(self.req, *i).map(|a| {
                Some(Key {
                    cat: self.pool.cat_id(&a.category),
                    creator: a.creator_id,
                })
            }),
            Slot::Act { c, .. } => Some(c.map(|c| self.pool.c[c].key)),
            Slot::Card => None,
        }
    }

    /// The act sequence of the slots: keys (None: undecided) and the slot of each act.
    pub fn acts(&self) -> (Vec<Option<Key>>, Vec<usize>) {
        let mut keys = Vec::new();
        let mut at = Vec::new();
        for (i, s) in self.slots.iter().enumerate() {
            if let Some(k) = self.key_of(s) {
                keys.push(k);
                at.push(i);
            }
        }
        (keys, at)
    }

    /// Fills the act slots between locked items, then the tail, then the finale.
    pub fn fill(&mut self) {
        let (mut acts, _) = self.acts();
        let finale_key = self.finale.map(|c| self.pool.c[c].key);
        let finale_reserve = self.finale.map_or(0, |c| self.pool.c[c].d + self.card_ms);
        // Fixed time from each slot on: locked items and cards.
        let mut fixed_after = vec![0i64; self.slots.len() + 1];
        let mut open_after = vec![0usize; self.slots.len() + 1];
        for i in (0..self.slots.len()).rev() {
            let open = matches!(self.slots[i], Slot::Act { c: None, .. });
            fixed_after[i] = fixed_after[i + 1]
                + if open {
                    0
                } else {
                    self.slot_ms(&self.slots[i])
                };
            open_after[i] = open_after[i + 1] + usize::from(open);
        }
        let shortest = self.pool.by_dur.first().map_or(0, |&i| self.pool.c[i].d);
        let mut recent: Vec<(i64, u32)> = Vec::new();
        let mut offset = 0;
        let mut p = 0;
        let mut opening = self.opening;
        for s in 0..self.slots.len() {
            if let Some(Some(k)) = self.key_of(&self.slots[s]) {
                recent.push((offset, k.cat));
            }
            if matches!(self.slots[s], Slot::Act { c: None, .. }) {
                if let Some(c) = opening.take() {
                    self.set_opening(s, c, &mut acts, p);
                    recent.push((offset, self.pool.c[c].key.cat));
                } else {
                    let left = self.target
                        - offset
                        - fixed_after[s + 1]
                        - finale_reserve
                        - (open_after[s + 1] as i64) * shortest;
                    if let Some((c, why)) =
                        self.pick_any(&acts, p, offset, left + self.tol, None, &recent)
                    {
                        acts[p] = Some(self.pool.c[c].key);
                        recent.push((offset, self.pool.c[c].key.cat));
                        self.slots[s] = Slot::Act {
                            c: Some(c),
                            movable: true,
                            why,
                        };
                    }
                }
            }
            if self.key_of(&self.slots[s]).is_some() {
                p += 1;
            }
            offset += self.slot_ms(&self.slots[s]);
        }
        // Unfilled slots (the pool ran out) are dropped; locked items after them move up.
        let before = self.slots.len();
        self.slots
            .retain(|s| !matches!(s, Slot::Act { c: None, .. }));
        if self.slots.len() < before {
            self.warnings.push(format!(
                "the pool ran out before the gaps between locked items were filled: {} locked item(s) moved up",
                before - self.slots.len()
            ));
            self.tail_start = self.slots.len().min(self.tail_start);
            acts = self.acts().0;
        }
        self.fill_tail(acts, offset, finale_key, finale_reserve, recent, opening);
    }

    fn set_opening(&mut self, s: usize, c: usize, acts: &mut [Option<Key>], p: usize) {
        acts[p] = Some(self.pool.c[c].key);
        let why = "The opening, chosen by the director.".to_string();
        self.slots[s] = Slot::Act {
            c: Some(c),
            movable: false,
            why,
        };
    }

    fn fill_tail(
        &mut self,
        mut acts: Vec<Option<Key>>,
        mut offset: i64,
        finale_key: Option<Key>,
        finale_reserve: i64,
        mut recent: Vec<(i64, u32)>,
        mut opening: Option<usize>,
    ) {
        let mut prev_act = self.slots.last().is_some_and(|s| self.key_of(s).is_some());
        while self.tail_open {
            let card = if self.card_ms > 0 && prev_act {
                self.card_ms
            } else {
                0
            };
            let start = offset + card;
            let left = self.target - offset - finale_reserve - card;
            let picked = if let Some(c) = opening.take() {
                Some((c, "The opening, chosen by the director.".to_string(), false))
            } else if let Some((c, why)) =
                self.pick_closing(&acts, start, left, finale_key, &recent)
            {
                Some((c, why, true))
            } else {
                self.pick_any(
                    &acts,
                    acts.len(),
                    start,
                    left + self.tol,
                    finale_key,
                    &recent,
                )
                .map(|(c, why)| (c, why, true))
            };
            let Some((c, why, movable)) = picked else {
                break;
            };
            let closes = (left - self.pool.c[c].d).abs() <= self.tol;
            if card > 0 {
                self.slots.push(Slot::Card);
            }
            self.pool.used[c] = true;
            acts.push(Some(self.pool.c[c].key));
            recent.push((start, self.pool.c[c].key.cat));
            self.slots.push(Slot::Act {
                c: Some(c),
                movable,
                why,
            });
            offset = start + self.pool.c[c].d;
            prev_act = true;
            if closes && movable {
                break;
            }
        }
        if let Some(c) = self.finale {
            if self.card_ms > 0 && prev_act {
                self.slots.push(Slot::Card);
            }
            let why = "The finale, chosen by the director.".to_string();
            self.slots.push(Slot::Act {
                c: Some(c),
                movable: false,
                why,
            });
        }
    }
}
