//! From the filled slots to the [`Plan`]: items with fresh ids, host cards with their lines
//! from the deterministic writer, an explanation per item, the total and the warnings.

use super::fill::{clock, Slot, State};
use super::fit::total;
use super::{Explanation, Plan, PlanRequest};
use crate::ai::writer::{deterministic, ActFacts, ActRef, Language};
use crate::show::{Act, HostCard, Item, ItemKind, RunningOrder};

/// Longest host line, characters (the writer's default `max_chars`).
pub const HOST_LINE_MAX_CHARS: usize = 120;

/// What a host line may name of one act.
struct Named {
    title: String,
    creator: String,
    category: String,
    credits: Vec<String>,
}

fn act_of(st: &State, s: &Slot) -> Option<Act> {
    match s {
        Slot::Locked(i) => st.req.current.items[*i].act().cloned(),
        Slot::Act { c: Some(c), .. } => {
            let x = st.pool.candidate(*c);
            let (in_ms, out_ms) = x.in_out();
            Some(Act {
                submission_id: x.submission_id,
                version_number: x.version_number,
                clip_id: x.clip_id,
                title: x.title.clone(),
                creator: x.creator.clone(),
                creator_id: x.creator_id,
                category: x.category.clone(),
                clip_ms: x.duration_ms,
                in_ms,
                out_ms,
            })
        }
        _ => None,
    }
}

fn named(st: &State, s: &Slot) -> Option<Named> {
    let a = act_of(st, s)?;
    let credits = match s {
        Slot::Act { c: Some(c), .. } => st.pool.candidate(*c).credits.clone(),
        _ => Vec::new(),
    };
    Some(Named {
        title: a.title,
        creator: a.creator,
        category: a.category,
        credits,
    })
}

pub(crate) fn finish(st: State, req: &PlanRequest, language: Language, seed: u64) -> Plan {
    let mut order = RunningOrder {
        items: Vec::with_capacity(st.slots.len()),
        next_id: req.current.next_id.max(
            req.current
                .items
                .iter()
                .map(|i| i.id + 1)
                .max()
                .unwrap_or(0),
        ),
    };
    let mut explanations = Vec::with_capacity(st.slots.len());
    let acts: Vec<Option<Named>> = st.slots.iter().map(|s| named(&st, s)).collect();
    let card_s = st.card_ms as f64 / 1000.0;
    for (n, s) in st.slots.iter().enumerate() {
        let (item, text) = match s {
            Slot::Locked(i) => {
                let item = req.current.items[*i].clone();
                (
                    item,
                    format!(
                        "Locked by the director at position {}; kept as it is.",
                        i + 1
                    ),
                )
            }
            Slot::Act { why, .. } => {
                let act = act_of(&st, s).expect("picked act");
                (new_item(&mut order, ItemKind::Act(act)), why.clone())
            }
            Slot::Card => {
                let next = acts[n + 1..]
                    .iter()
                    .position(Option::is_some)
                    .map(|k| n + 1 + k);
                let prev = acts[..n].iter().rposition(Option::is_some);
                let after = next.and_then(|k| acts[k + 1..].iter().flatten().next());
                let (line, text) = match next.and_then(|k| acts[k].as_ref()) {
                    Some(a) => {
                        let facts = ActFacts {
                            title: a.title.clone(),
                            creator: a.creator.clone(),
                            category: a.category.clone(),
                            credits: a.credits.clone(),
                            prev: prev.and_then(|k| acts[k].as_ref()).map(to_ref),
                            next: after.map(to_ref),
                        };
                        let line = deterministic::write(&facts, language, HOST_LINE_MAX_CHARS);
                        let text = format!(
                            "Host card introducing “{}”: a line from the deterministic writer, {card_s} s estimated (the configured host_card_s).",
                            a.title
                        );
                        (line, text)
                    }
                    None => (String::from("…"), "Host card.".to_string()),
                };
                let card = HostCard {
                    line,
                    language: req.language.clone(),
                    writer: deterministic::NAME.to_string(),
                    clip_id: None,
                    duration_ms: st.card_ms,
                };
                (new_item(&mut order, ItemKind::HostCard(card)), text)
            }
        };
        explanations.push(Explanation {
            item: item.id,
            text,
        });
        order.items.push(item);
    }
    let total_ms = total(&st);
    let over_ms = total_ms - st.target;
    let within_tolerance = over_ms.abs() <= st.tol;
    let mut warnings = st.warnings.clone();
    if !within_tolerance {
        if over_ms < 0 && st.pool.unused_left() == 0 {
            warnings.push(format!(
                "the pool is {} short of the target: every accepted act is in the plan",
                clock(-over_ms)
            ));
        } else {
            warnings.push(format!(
                "the plan ends {} {} the target (tolerance ±{} s): no combination of act lengths closed the gap",
                clock(over_ms.abs()),
                if over_ms < 0 { "under" } else { "over" },
                st.tol / 1000
            ));
        }
    }
    warnings.extend(mix_warnings(&st));
    Plan {
        order,
        explanations,
        total_ms,
        over_ms,
        within_tolerance,
        warnings,
        seed,
    }
}

fn to_ref(a: &Named) -> ActRef {
    ActRef {
        title: a.title.clone(),
        creator: a.creator.clone(),
    }
}

fn new_item(order: &mut RunningOrder, kind: ItemKind) -> Item {
    let id = order.next_id;
    order.next_id += 1;
    Item {
        id,
        locked: false,
        kind,
    }
}

/// Windows of `mix_window_s` from the start that hold fewer categories than asked (or than
/// they have acts).
fn mix_warnings(st: &State) -> Vec<String> {
    let w = st.window_ms.max(1);
    let mut windows: Vec<Vec<&str>> = Vec::new();
    let mut at = 0;
    for s in &st.slots {
        let cat = match s {
            Slot::Locked(i) => st.req.current.items[*i].act().map(|a| a.category.as_str()),
            Slot::Act { c: Some(c), .. } => Some(st.pool.candidate(*c).category.as_str()),
            _ => None,
        };
        if let Some(cat) = cat {
            let k = (at / w) as usize;
            if windows.len() <= k {
                windows.resize(k + 1, Vec::new());
            }
            windows[k].push(cat);
        }
        at += st.slot_ms(s);
    }
    let mut out = Vec::new();
    for (k, cats) in windows.iter_mut().enumerate() {
        let n = cats.len();
        cats.sort_unstable();
        cats.dedup();
        let needed = st.needed_cats.min(n);
        if cats.len() < needed {
            out.push(format!(
                "the window from {} to {} holds {} categor{}, fewer than {}",
                clock(k as i64 * w),
                clock((k as i64 + 1) * w),
                cats.len(),
                if cats.len() == 1 { "y" } else { "ies" },
                needed
            ));
        }
    }
    out
}
