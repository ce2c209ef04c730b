//! The running-order planner: from the accepted pool to a proposed running order that fills
//! the show's slot. Pure: no database (the pool is loaded by `show::pool`).

pub mod candidate;

pub use candidate::Candidate;
