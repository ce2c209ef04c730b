//! Analysis of ingested clips beyond technical QC: duplicates, captions, moderation and the
//! verdict shown to reviewers.
//!
//! - [`fingerprint`]: perceptual hashes of sampled frames and a chromaprint audio fingerprint,
//!   made in one decode pass.
//! - [`duplicates`]: an in-memory index of many clips' fingerprints that finds duplicates and
//!   re-uploads (re-encoded, resized, trimmed, volume-changed copies) without scanning every
//!   frame of every clip; [`dupcache`] keeps one per worker process, current with the database.
//! - [`jobs`]: the chain after ingest QC, `analysis.fingerprint` → `analysis.captions` →
//!   `analysis.moderation` → `analysis.verdict`; [`checks`] runs the model checks.
//! - [`energy`]: tempo, short-term loudness, onset density and spectral centroid blended
//!   into an energy 0..1 for the planner (`analysis.energy`, beside the chain, into
//!   `clip_energy`).
//! - [`models`]: the one seam to the AI models: a [`models::ModelLoader`] per build, a
//!   [`models::ModelSet`] per worker.
//! - [`verdict`]: pass | review | reject with reasons and evidence, from QC, duplicates, flags
//!   and watched words; advice for the reviewer, never a decision.
//! - [`watchwords`]: the watched-words matcher; [`watchlist`]: the list in the database.
//! - [`captions`]: caption rows (automatic, translated, edited); WebVTT and SRT come from
//!   `ai::captions`.
//! - [`store`]: the fingerprint, duplicate, check and verdict records.
//! - [`settings`]: the `moderation` section of the configuration.

pub mod captions;
pub mod checks;
pub mod dupcache;
pub mod duplicates;
pub mod energy;
pub mod fingerprint;
pub mod jobs;
pub mod models;
pub mod remote;
pub mod settings;
pub mod store;
pub mod verdict;
pub mod watchlist;
pub mod watchwords;

pub use settings::ModerationConfig;
