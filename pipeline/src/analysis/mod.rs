//! Analysis of ingested clips beyond technical QC; the AI models come later.
//!
//! - [`fingerprint`]: perceptual hashes of sampled frames and a chromaprint audio fingerprint,
//!   made in one decode pass.
//! - [`duplicates`]: an in-memory index of many clips' fingerprints that finds duplicates and
//!   re-uploads (re-encoded, resized, trimmed, volume-changed copies) without scanning every
//!   frame of every clip.

pub mod duplicates;
pub mod fingerprint;
