//! The program render: turns a show's running order into a master file.
//!
//! - [`cards`]: host cards, bumpers, breaks and slates drawn from templates (CJK text), the
//!   host's line spoken at the house loudness, written as segment files.

pub mod cards;
