//! An edit in words, for the history panel ("Moved “Dragon Dance” to 4").

use super::model::{Edit, Item, ItemKind, RunningOrder};

/// A short name of an item: an act's title, a card's first words, a break's label.
pub fn item_name(item: &Item) -> String {
    let text = match &item.kind {
        ItemKind::Act(a) => a.title.clone(),
        ItemKind::HostCard(c) => format!("host card “{}”", shorten(&c.line, 40)),
        ItemKind::Bumper { text, .. } => format!("bumper “{}”", shorten(text, 40)),
        ItemKind::Break { label, .. } => format!("break “{}”", shorten(label, 40)),
        ItemKind::Slate { text, .. } => format!("slate “{}”", shorten(text, 40)),
    };
    if matches!(item.kind, ItemKind::Act(_)) {
        format!("“{text}”")
    } else {
        text
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max - 1).chain(['…']).collect()
    }
}

/// Describes `edit` as applied to `before` (the order it was applied to).
pub fn describe(edit: &Edit, before: &RunningOrder) -> String {
    let name = |id| {
        before
            .get(id)
            .map(item_name)
            .unwrap_or_else(|| format!("item {id}"))
    };
    match edit {
        Edit::Move { item, to } => format!("Moved {} to position {}", name(*item), to + 1),
        Edit::Lock { item, locked: true } => format!("Locked {}", name(*item)),
        Edit::Lock {
            item,
            locked: false,
        } => format!("Unlocked {}", name(*item)),
        Edit::Trim {
            item,
            in_ms,
            out_ms,
        } => format!(
            "Trimmed {} to {:.2}–{:.2} s",
            name(*item),
            *in_ms as f64 / 1000.0,
            *out_ms as f64 / 1000.0
        ),
        Edit::Insert { at, kind, .. } => {
            let probe = Item {
                id: 0,
                locked: false,
                kind: kind.clone(),
            };
            format!("Inserted {} at position {}", item_name(&probe), at + 1)
        }
        Edit::Remove { item } => format!("Removed {}", name(*item)),
        Edit::SetHostLine { item, writer, .. } => {
            format!("Rewrote the line of {} ({writer})", name(*item))
        }
        Edit::SetDuration { item, duration_ms } => format!(
            "Set {} to {:.2} s",
            name(*item),
            *duration_ms as f64 / 1000.0
        ),
        Edit::SetMeta { meta } => format!("Changed the show's details (“{}”)", meta.title),
        Edit::Replace { items } => format!("Replaced the running order ({} items)", items.len()),
    }
}
