//! Shows: a title, a start, a target length and a versioned running order of acts, host
//! cards, bumpers, breaks and slates. `model` holds the values and the edits (no database),
//! `diff` compares two versions, `summary` puts edits in words, `spoken` fits a host card to its spoken line, `store` keeps every version
//! in the database with optimistic concurrency, `pool` reads the accepted pool the planner
//! chooses from.

pub mod diff;
pub mod model;
pub mod pool;
pub mod propose;
pub mod spoken;
pub mod store;
pub mod summary;

pub use diff::{diff, Change};
pub use model::{
    back_time, Act, BackTiming, Edit, EditError, HostCard, Item, ItemId, ItemKind, RunningOrder,
    ShowMeta,
};
pub use store::{ShowRecord, StoreError};

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod store_tests;
