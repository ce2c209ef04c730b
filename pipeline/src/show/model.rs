//! The show and its running order as plain values: no database, no media. Every edit is an
//! [`Edit`] applied by [`RunningOrder::apply`], so the studio, the planner and the tests all
//! change a show the same way and every change can be stored as a new version.

use serde::{Deserialize, Serialize};

/// A show's own identity and frame: what it is called, when it starts, how long it must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowMeta {
    pub title: String,
    /// Local date and time the show goes on air, `YYYY-MM-DDTHH:MM` (the production's clock).
    pub starts_at: String,
    /// The slot to fill, milliseconds.
    pub target_ms: i64,
    /// How far from the target the running order may end, milliseconds. Default 10 s.
    pub tolerance_ms: i64,
    /// Name of the house format (`house` in gala.yaml is `default`).
    pub house_format: String,
}

/// An item's id, unique within its show and stable across versions (moves keep it).
pub type ItemId = u64;

/// One entry of the running order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: ItemId,
    /// A locked item keeps its place: the planner never moves it, edits cannot move it.
    #[serde(default)]
    pub locked: bool,
    #[serde(flatten)]
    pub kind: ItemKind,
}

/// What an item is. Times are milliseconds; the renderer rounds each item to whole frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ItemKind {
    /// An accepted submission's version, played from `in_ms` to `out_ms` of its clip.
    Act(Act),
    /// The host between acts: a line shown as a card (and spoken), or a clip of a digital
    /// human host when one is supplied.
    HostCard(HostCard),
    /// A short ident from a template.
    Bumper {
        template: String,
        text: String,
        duration_ms: i64,
    },
    /// A planned break (sponsors, intermission), shown as a break card.
    Break { label: String, duration_ms: i64 },
    /// A plain slate with a message.
    Slate { text: String, duration_ms: i64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Act {
    pub submission_id: i64,
    pub version_number: i64,
    pub clip_id: i64,
    pub title: String,
    /// The creator's display name, for credits and host lines.
    pub creator: String,
    pub creator_id: i64,
    pub category: String,
    /// Length of the whole normalized clip.
    pub clip_ms: i64,
    pub in_ms: i64,
    pub out_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostCard {
    pub line: String,
    /// BCP-47 tag of the line (`en`, `zh-CN`).
    pub language: String,
    /// Who wrote the line: `deterministic`, a model name, or `director`.
    pub writer: String,
    /// A clip of a digital-human host to play instead of the card, when one is supplied.
    #[serde(default)]
    pub clip_id: Option<i64>,
    pub duration_ms: i64,
}

impl Item {
    /// How long the item airs, milliseconds.
    pub fn duration_ms(&self) -> i64 {
        match &self.kind {
            ItemKind::Act(a) => a.out_ms - a.in_ms,
            ItemKind::HostCard(c) => c.duration_ms,
            ItemKind::Bumper { duration_ms, .. }
            | ItemKind::Break { duration_ms, .. }
            | ItemKind::Slate { duration_ms, .. } => *duration_ms,
        }
    }

    pub fn act(&self) -> Option<&Act> {
        match &self.kind {
            ItemKind::Act(a) => Some(a),
            _ => None,
        }
    }
}

/// The ordered items of one version of a show.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunningOrder {
    pub items: Vec<Item>,
    /// The next free item id.
    pub next_id: ItemId,
}

/// One change to a show. Serialized as `{"op": "move", ...}` in the API and the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Edit {
    /// Move an item so that it ends up at `to` (0-based, in the order after the move).
    Move {
        item: ItemId,
        to: usize,
    },
    Lock {
        item: ItemId,
        locked: bool,
    },
    /// New in/out points of an act, within its clip.
    Trim {
        item: ItemId,
        in_ms: i64,
        out_ms: i64,
    },
    /// Insert a new item at `at` (0-based); its id is assigned.
    Insert {
        at: usize,
        kind: ItemKind,
        #[serde(default)]
        locked: bool,
    },
    Remove {
        item: ItemId,
    },
    /// New text of a host card (written by the director or rewritten by the writer).
    SetHostLine {
        item: ItemId,
        line: String,
        writer: String,
        duration_ms: i64,
    },
    /// New length of a card, bumper, break or slate.
    SetDuration {
        item: ItemId,
        duration_ms: i64,
    },
    SetMeta {
        meta: ShowMeta,
    },
    /// Replace the whole running order (a planner proposal taken, or an undo).
    Replace {
        items: Vec<Item>,
    },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("there is no item {0} in this running order")]
    NoSuchItem(ItemId),
    #[error("item {0} is locked; unlock it first")]
    Locked(ItemId),
    #[error("position {at} is outside the running order (it has {len} items)")]
    BadPosition { at: usize, len: usize },
    #[error("{0}")]
    Invalid(String),
}

/// The shortest item the running order accepts, milliseconds (one frame at 25 fps is 40).
pub const MIN_ITEM_MS: i64 = 40;

impl RunningOrder {
    pub fn new(kinds: Vec<(ItemKind, bool)>) -> RunningOrder {
        let mut order = RunningOrder::default();
        for (kind, locked) in kinds {
            let id = order.take_id();
            order.items.push(Item { id, locked, kind });
        }
        order
    }

    pub fn total_ms(&self) -> i64 {
        self.items.iter().map(Item::duration_ms).sum()
    }

    pub fn position(&self, id: ItemId) -> Result<usize, EditError> {
        self.items
            .iter()
            .position(|i| i.id == id)
            .ok_or(EditError::NoSuchItem(id))
    }

    pub fn get(&self, id: ItemId) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    /// Keeps `next_id` past every id in use (ids are never reused, even after a removal).
    fn bump_next_id(&mut self) {
        self.next_id = self
            .next_id
            .max(self.items.iter().map(|i| i.id + 1).max().unwrap_or(0));
    }

    fn take_id(&mut self) -> ItemId {
        self.bump_next_id();
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn unlocked_mut(&mut self, id: ItemId) -> Result<&mut Item, EditError> {
        let at = self.position(id)?;
        let item = &mut self.items[at];
        if item.locked {
            return Err(EditError::Locked(id));
        }
        Ok(item)
    }

    /// Applies one edit, or changes nothing and says why not. `ShowMeta` edits are applied
    /// by the caller (they are not part of the running order) and accepted here unchanged.
    pub fn apply(&mut self, edit: &Edit) -> Result<(), EditError> {
        match edit {
            Edit::Move { item, to } => {
                let from = self.position(*item)?;
                if *to >= self.items.len() {
                    return Err(EditError::BadPosition {
                        at: *to,
                        len: self.items.len(),
                    });
                }
                if self.items[from].locked {
                    return Err(EditError::Locked(*item));
                }
                let mut moved = self.items.clone();
                let it = moved.remove(from);
                moved.insert(*to, it);
                // Locked items keep their index: a move that would shift one is refused.
                if let Some(l) = self
                    .items
                    .iter()
                    .zip(&moved)
                    .find(|(a, b)| a.locked && a.id != b.id)
                {
                    return Err(EditError::Locked(l.0.id));
                }
                self.items = moved;
            }
            Edit::Lock { item, locked } => {
                let at = self.position(*item)?;
                self.items[at].locked = *locked;
            }
            Edit::Trim {
                item,
                in_ms,
                out_ms,
            } => {
                let it = self.unlocked_mut(*item)?;
                let ItemKind::Act(act) = &mut it.kind else {
                    return Err(EditError::Invalid("only acts can be trimmed".into()));
                };
                if *in_ms < 0 || *out_ms > act.clip_ms || out_ms - in_ms < MIN_ITEM_MS {
                    return Err(EditError::Invalid(format!(
                        "in and out must lie within the clip (0 to {} ms) and at least {} ms apart",
                        act.clip_ms, MIN_ITEM_MS
                    )));
                }
                act.in_ms = *in_ms;
                act.out_ms = *out_ms;
            }
            Edit::Insert { at, kind, locked } => {
                if *at > self.items.len() {
                    return Err(EditError::BadPosition {
                        at: *at,
                        len: self.items.len(),
                    });
                }
                check_kind(kind)?;
                if self.items[*at..].iter().any(|i| i.locked) {
                    return Err(EditError::Invalid(
                        "inserting here would move a locked item; insert after it or unlock it"
                            .into(),
                    ));
                }
                let id = self.take_id();
                self.items.insert(
                    *at,
                    Item {
                        id,
                        locked: *locked,
                        kind: kind.clone(),
                    },
                );
            }
            Edit::Remove { item } => {
                let at = self.position(*item)?;
                if self.items[at].locked {
                    return Err(EditError::Locked(*item));
                }
                if self.items[at..].iter().skip(1).any(|i| i.locked) {
                    return Err(EditError::Invalid(
                        "removing this item would move a locked item after it; unlock it or replace this item".into(),
                    ));
                }
                self.items.remove(at);
            }
            Edit::SetHostLine {
                item,
                line,
                writer,
                duration_ms,
            } => {
                let it = self.unlocked_mut(*item)?;
                let ItemKind::HostCard(card) = &mut it.kind else {
                    return Err(EditError::Invalid("only host cards have a line".into()));
                };
                if line.trim().is_empty() {
                    return Err(EditError::Invalid("the host line is empty".into()));
                }
                if *duration_ms < MIN_ITEM_MS {
                    return Err(EditError::Invalid(
                        "a card must last at least one frame".into(),
                    ));
                }
                card.line = line.trim().to_string();
                card.writer = writer.clone();
                card.duration_ms = *duration_ms;
            }
            Edit::SetDuration { item, duration_ms } => {
                if *duration_ms < MIN_ITEM_MS {
                    return Err(EditError::Invalid(
                        "an item must last at least one frame".into(),
                    ));
                }
                let it = self.unlocked_mut(*item)?;
                match &mut it.kind {
                    ItemKind::Act(_) => {
                        return Err(EditError::Invalid(
                            "trim an act instead of setting its length".into(),
                        ))
                    }
                    ItemKind::HostCard(c) => c.duration_ms = *duration_ms,
                    ItemKind::Bumper { duration_ms: d, .. }
                    | ItemKind::Break { duration_ms: d, .. }
                    | ItemKind::Slate { duration_ms: d, .. } => *d = *duration_ms,
                }
            }
            Edit::SetMeta { meta } => check_meta(meta)?,
            Edit::Replace { items } => {
                let mut seen = std::collections::HashSet::new();
                for it in items {
                    check_kind(&it.kind)?;
                    if !seen.insert(it.id) {
                        return Err(EditError::Invalid(format!(
                            "item id {} appears twice",
                            it.id
                        )));
                    }
                }
                self.items = items.clone();
                self.bump_next_id();
            }
        }
        Ok(())
    }
}

fn check_kind(kind: &ItemKind) -> Result<(), EditError> {
    let bad = |m: &str| Err(EditError::Invalid(m.to_string()));
    match kind {
        ItemKind::Act(a) => {
            if a.in_ms < 0 || a.out_ms > a.clip_ms || a.out_ms - a.in_ms < MIN_ITEM_MS {
                return bad("an act's in and out points must lie within its clip");
            }
        }
        ItemKind::HostCard(c) => {
            if c.duration_ms < MIN_ITEM_MS {
                return bad("a card must last at least one frame");
            }
        }
        ItemKind::Bumper { duration_ms, .. }
        | ItemKind::Break { duration_ms, .. }
        | ItemKind::Slate { duration_ms, .. } => {
            if *duration_ms < MIN_ITEM_MS {
                return bad("an item must last at least one frame");
            }
        }
    }
    Ok(())
}

/// Checks a show's title, start and lengths.
pub fn check_meta(meta: &ShowMeta) -> Result<(), EditError> {
    if meta.title.trim().is_empty() || meta.title.chars().count() > 200 {
        return Err(EditError::Invalid(
            "the title must have 1 to 200 characters".into(),
        ));
    }
    if parse_clock(&meta.starts_at).is_none() {
        return Err(EditError::Invalid(
            "the start must be a date and time like 2027-02-05T20:00".into(),
        ));
    }
    if meta.target_ms < 60_000 || meta.target_ms > 24 * 3_600_000 {
        return Err(EditError::Invalid(
            "the target length must be between 1 minute and 24 hours".into(),
        ));
    }
    if meta.tolerance_ms < 0 || meta.tolerance_ms > meta.target_ms / 2 {
        return Err(EditError::Invalid(
            "the tolerance must be between 0 and half the target".into(),
        ));
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM[:SS]` → (days since 1970-01-01, milliseconds into the day).
pub fn parse_clock(s: &str) -> Option<(i64, i64)> {
    let (date, time) = s.split_once('T').or_else(|| s.split_once(' '))?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min) = (t.next()??, t.next()??);
    let sec = t.next().unwrap_or(Some(0))?;
    if !(0..24).contains(&h) || !(0..60).contains(&min) || !(0..60).contains(&sec) {
        return None;
    }
    Some((
        days_from_civil(y, m, day),
        ((h * 60 + min) * 60 + sec) * 1000,
    ))
}

// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// Howard Hinnant's civil_from_days: (year, month, day) of a day since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// `YYYY-MM-DDTHH:MM[:SS]` (UTC) → Unix milliseconds.
pub fn parse_utc(s: &str) -> Option<i64> {
    parse_clock(s).map(|(days, ms)| days * 86_400_000 + ms)
}

/// Unix milliseconds → `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
pub fn utc_clock(epoch_ms: i64) -> String {
    let (days, ms) = (
        epoch_ms.div_euclid(86_400_000),
        epoch_ms.rem_euclid(86_400_000),
    );
    let (y, m, d) = civil_from_days(days);
    let s = ms / 1000;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        s / 3600,
        s % 3600 / 60,
        s % 60,
        ms % 1000
    )
}

/// Where one item sits on the clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timed {
    pub id: ItemId,
    /// Offset from the start of the show, milliseconds.
    pub offset_ms: i64,
    pub duration_ms: i64,
    /// Clock time the item airs, `HH:MM:SS` (days past the start day add `+1`).
    pub clock: String,
}

/// Back-timing: the clock time at which each item airs, and how far the whole order ends
/// from the target (positive: over).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackTiming {
    pub items: Vec<Timed>,
    pub total_ms: i64,
    pub over_ms: i64,
    pub within_tolerance: bool,
    pub ends_at: String,
}

pub fn back_time(meta: &ShowMeta, order: &RunningOrder) -> BackTiming {
    let start = parse_clock(&meta.starts_at).map(|(_, ms)| ms).unwrap_or(0);
    let mut offset = 0;
    let items = order
        .items
        .iter()
        .map(|it| {
            let t = Timed {
                id: it.id,
                offset_ms: offset,
                duration_ms: it.duration_ms(),
                clock: clock(start + offset),
            };
            offset += it.duration_ms();
            t
        })
        .collect();
    let over_ms = offset - meta.target_ms;
    BackTiming {
        items,
        total_ms: offset,
        over_ms,
        within_tolerance: over_ms.abs() <= meta.tolerance_ms,
        ends_at: clock(start + offset),
    }
}

/// Milliseconds since midnight → `HH:MM:SS`, `+N` for later days.
pub fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000);
    let (days, s) = (s / 86_400, s % 86_400);
    let base = format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60);
    if days > 0 {
        format!("{base} +{days}")
    } else {
        base
    }
}
