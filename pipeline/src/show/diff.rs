//! The difference between two versions of a running order, item by item (ids are stable
//! across versions, so a moved item is a move, not a removal and an insertion).

use serde::Serialize;

use super::model::{Item, ItemId, RunningOrder, ShowMeta};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Added {
        item: Item,
        at: usize,
    },
    Removed {
        item: Item,
        was_at: usize,
    },
    /// The item's place among the items both versions share changed.
    Moved {
        id: ItemId,
        from: usize,
        to: usize,
    },
    /// Same id, different content (trim, line, length, lock).
    Changed {
        id: ItemId,
        before: Item,
        after: Item,
    },
    Meta {
        before: ShowMeta,
        after: ShowMeta,
    },
}

pub fn diff(
    before_meta: &ShowMeta,
    before: &RunningOrder,
    after_meta: &ShowMeta,
    after: &RunningOrder,
) -> Vec<Change> {
    let mut changes = Vec::new();
    if before_meta != after_meta {
        changes.push(Change::Meta {
            before: before_meta.clone(),
            after: after_meta.clone(),
        });
    }
    for (i, it) in before.items.iter().enumerate() {
        if after.get(it.id).is_none() {
            changes.push(Change::Removed {
                item: it.clone(),
                was_at: i,
            });
        }
    }
    for (i, it) in after.items.iter().enumerate() {
        match before.get(it.id) {
            None => changes.push(Change::Added {
                item: it.clone(),
                at: i,
            }),
            Some(old) if old != it => changes.push(Change::Changed {
                id: it.id,
                before: old.clone(),
                after: it.clone(),
            }),
            Some(_) => {}
        }
    }
    // Moves: compare the order of the ids both versions share; the items outside a longest
    // common subsequence are the ones that moved.
    let shared_before: Vec<ItemId> = before
        .items
        .iter()
        .map(|i| i.id)
        .filter(|id| after.get(*id).is_some())
        .collect();
    let shared_after: Vec<ItemId> = after
        .items
        .iter()
        .map(|i| i.id)
        .filter(|id| before.get(*id).is_some())
        .collect();
    let stay = lcs(&shared_before, &shared_after);
    for (to, id) in shared_after.iter().enumerate() {
        if !stay.contains(id) {
            let from = shared_before.iter().position(|b| b == id).unwrap_or(0);
            changes.push(Change::Moved { id: *id, from, to });
        }
    }
    changes
}

/// The ids of a longest common subsequence (the two lists hold the same ids).
fn lcs(a: &[ItemId], b: &[ItemId]) -> std::collections::HashSet<ItemId> {
    // Longest increasing subsequence of a's positions in b's order: O(n log n).
    let pos: std::collections::HashMap<ItemId, usize> =
        a.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let seq: Vec<usize> = b.iter().map(|id| pos[id]).collect();
    let mut tails: Vec<usize> = Vec::new(); // index into seq
    let mut prev = vec![usize::MAX; seq.len()];
    for (i, &v) in seq.iter().enumerate() {
        let k = tails.partition_point(|&t| seq[t] < v);
        if k > 0 {
            prev[i] = tails[k - 1];
        }
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut out = std::collections::HashSet::new();
    let mut cur = tails.last().copied();
    while let Some(i) = cur {
        out.insert(b[i]);
        cur = (prev[i] != usize::MAX).then_some(prev[i]);
    }
    out
}
