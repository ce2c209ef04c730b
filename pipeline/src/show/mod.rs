//! Shows: a title, a start, a target length and a versioned running order of acts, host
//! cards, bumpers, breaks and slates. `model` holds the values and the edits (no database),
//! `diff` compares two versions; `pool` reads the accepted pool the planner chooses from.

pub mod diff;
pub mod model;
pub mod pool;

pub use diff::{diff, Change};
pub use model::{
    back_time, Act, BackTiming, Edit, EditError, HostCard, Item, ItemId, ItemKind, RunningOrder,
    ShowMeta,
};
