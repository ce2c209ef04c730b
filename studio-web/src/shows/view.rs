//! What the timeline page shows of one version of a show, computed once in Rust: clock times
//! (back-timing), widths proportional to real durations, durations as text, labels in the
//! page's language. The templates only lay it out.

use gala_pipeline::show::store::{ShowRecord, VersionInfo};
use gala_pipeline::show::{back_time, Change, Item, ItemKind, RunningOrder};

use crate::i18n::Tr;

/// Milliseconds as `H:MM:SS` (or `M:SS` under an hour).
pub fn hms(ms: i64) -> String {
    let s = ms.abs() / 1000;
    let (h, m, s) = (s / 3600, s % 3600 / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Milliseconds as `M:SS.s` (item lengths).
pub fn length(ms: i64) -> String {
    let tenths = ms.max(0) / 100;
    format!("{}:{:02}.{}", tenths / 600, tenths / 10 % 60, tenths % 10)
}

/// Milliseconds as seconds with two decimals (the trim and length inputs).
pub fn seconds(ms: i64) -> String {
    format!("{:.2}", ms as f64 / 1000.0)
}

/// Unix milliseconds as an HTTP date (UTC).
pub fn when(ms: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    httpdate::fmt_http_date(t)
}

/// One item as a timeline block, a table row and a detail panel.
pub struct ItemView {
    pub id: u64,
    /// 1-based position.
    pub index: usize,
    /// `act`, `host_card`, `bumper`, `break`, `slate`.
    pub kind: &'static str,
    pub kind_label: String,
    /// An act's title, a card's line, a break's label, a slate's or bumper's text.
    pub title: String,
    pub creator: String,
    pub category: String,
    /// In and out points (acts), `M:SS.s`; empty for the rest.
    pub in_out: String,
    pub duration: String,
    pub clock: String,
    pub locked: bool,
    /// Share of the whole show, percent (three decimals).
    pub width: String,
    pub is_act: bool,
    pub is_card: bool,
    pub in_s: String,
    pub out_s: String,
    pub clip_s: String,
    pub duration_s: String,
    pub duration_ms: i64,
    /// The act's preview (the submission's proxy, served by the submissions feature).
    pub proxy: Option<String>,
    pub writer: String,
}

pub struct HistoryView {
    pub version: i64,
    pub summary: String,
    pub author: String,
    pub when: String,
}

/// One version of a show as the timeline page shows it.
pub struct ShowView {
    pub id: i64,
    pub version: i64,
    pub title: String,
    pub starts_at: String,
    pub total: String,
    pub target: String,
    pub tolerance: String,
    /// `+0:12` over or `-0:05` under the target.
    pub over: String,
    pub within: bool,
    pub ends_at: String,
    pub items: Vec<ItemView>,
    pub history: Vec<HistoryView>,
    /// Whether there is a change to undo (a version before this one).
    pub can_undo: bool,
}

impl ShowView {
    pub fn new(tr: &Tr, r: &ShowRecord, history: Vec<VersionInfo>) -> ShowView {
        let timing = back_time(&r.meta, &r.order);
        let total = timing.total_ms.max(1) as f64;
        let items = r
            .order
            .items
            .iter()
            .zip(&timing.items)
            .enumerate()
            .map(|(i, (item, t))| {
                item_view(tr, item, i + 1, &t.clock, t.duration_ms as f64 / total)
            })
            .collect();
        let sign = if timing.over_ms < 0 { "-" } else { "+" };
        ShowView {
            id: r.id,
            version: r.version,
            title: r.meta.title.clone(),
            starts_at: r.meta.starts_at.replace('T', " "),
            total: hms(timing.total_ms),
            target: hms(r.meta.target_ms),
            tolerance: format!("{} s", r.meta.tolerance_ms / 1000),
            over: format!("{sign}{}", hms(timing.over_ms)),
            within: timing.within_tolerance,
            ends_at: timing.ends_at,
            items,
            history: history
                .into_iter()
                .rev()
                .map(|v| HistoryView {
                    version: v.version,
                    summary: v.summary,
                    author: v
                        .author
                        .unwrap_or_else(|| tr.get("shows.system").to_string()),
                    when: when(v.created_at),
                })
                .collect(),
            can_undo: r.version > 1,
        }
    }
}

fn item_view(tr: &Tr, item: &Item, index: usize, clock: &str, share: f64) -> ItemView {
    let duration_ms = item.duration_ms();
    let mut v = ItemView {
        id: item.id,
        index,
        kind: "",
        kind_label: String::new(),
        title: String::new(),
        creator: String::new(),
        category: String::new(),
        in_out: String::new(),
        duration: length(duration_ms),
        clock: clock.to_string(),
        locked: item.locked,
        width: format!("{:.3}", share * 100.0),
        is_act: false,
        is_card: false,
        in_s: String::new(),
        out_s: String::new(),
        clip_s: String::new(),
        duration_s: seconds(duration_ms),
        duration_ms,
        proxy: None,
        writer: String::new(),
    };
    match &item.kind {
        ItemKind::Act(a) => {
            v.kind = "act";
            v.title = a.title.clone();
            v.creator = a.creator.clone();
            v.category = tr.get(&format!("category.{}", a.category)).to_string();
            v.in_out = format!("{} – {}", length(a.in_ms), length(a.out_ms));
            v.is_act = true;
            v.in_s = seconds(a.in_ms);
            v.out_s = seconds(a.out_ms);
            v.clip_s = seconds(a.clip_ms);
            v.proxy = Some(format!("/media/proxy/{}", a.submission_id));
        }
        ItemKind::HostCard(c) => {
            v.kind = "host_card";
            v.title = c.line.clone();
            v.is_card = true;
            v.writer = c.writer.clone();
        }
        ItemKind::Bumper { text, .. } => {
            v.kind = "bumper";
            v.title = text.clone();
        }
        ItemKind::Break { label, .. } => {
            v.kind = "break";
            v.title = label.clone();
        }
        ItemKind::Slate { text, .. } => {
            v.kind = "slate";
            v.title = text.clone();
        }
    }
    v.kind_label = tr.get(&format!("shows.kind.{}", v.kind)).to_string();
    v
}

/// A change between two versions, in words (`after` is the newer version's order, where a
/// moved item is looked up).
pub fn change_in_words(tr: &Tr, c: &Change, after_order: &RunningOrder) -> String {
    let name = |item: &Item| {
        let v = item_view(tr, item, 0, "", 0.0);
        format!("{} “{}”", v.kind_label, v.title)
    };
    let fill = |key: &str, pairs: &[(&str, String)]| fill(tr, key, pairs);
    match c {
        Change::Added { item, at } => fill(
            "shows.change.added",
            &[("item", name(item)), ("at", (at + 1).to_string())],
        ),
        Change::Removed { item, was_at } => fill(
            "shows.change.removed",
            &[("item", name(item)), ("at", (was_at + 1).to_string())],
        ),
        Change::Moved { id, from, to } => fill(
            "shows.change.moved",
            &[
                (
                    "item",
                    after_order
                        .get(*id)
                        .map(name)
                        .unwrap_or_else(|| format!("#{id}")),
                ),
                ("from", (from + 1).to_string()),
                ("to", (to + 1).to_string()),
            ],
        ),
        Change::Changed { before, after, .. } => {
            let mut what = Vec::new();
            if before.locked != after.locked {
                what.push(
                    tr.get(if after.locked {
                        "shows.change.locked"
                    } else {
                        "shows.change.unlocked"
                    })
                    .to_string(),
                );
            }
            if before.duration_ms() != after.duration_ms() {
                what.push(fill(
                    "shows.change.length",
                    &[
                        ("before", length(before.duration_ms())),
                        ("after", length(after.duration_ms())),
                    ],
                ));
            }
            match (&before.kind, &after.kind) {
                (ItemKind::HostCard(b), ItemKind::HostCard(a)) if b.line != a.line => {
                    what.push(fill("shows.change.line", &[("after", a.line.clone())]));
                }
                (ItemKind::Act(b), ItemKind::Act(a))
                    if (b.in_ms, b.out_ms) != (a.in_ms, a.out_ms) =>
                {
                    what.push(fill(
                        "shows.change.trim",
                        &[("in", length(a.in_ms)), ("out", length(a.out_ms))],
                    ));
                }
                _ => {}
            }
            if what.is_empty() {
                what.push(tr.get("shows.change.content").to_string());
            }
            format!("{}: {}", name(after), what.join("; "))
        }
        Change::Meta { before, after } => fill(
            "shows.change.meta",
            &[
                ("title", after.title.clone()),
                ("start", after.starts_at.replace('T', " ")),
                ("target", hms(after.target_ms)),
                ("before", before.title.clone()),
            ],
        ),
    }
}

/// The message `key` with its `{name}` placeholders filled.
fn fill(tr: &Tr, key: &str, pairs: &[(&str, String)]) -> String {
    let mut s = tr.get(key).to_string();
    for (k, v) in pairs {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}
