//! Gala's engine. It owns everything that happens to media and jobs, and knows nothing of
//! HTTP or HTML (that is `gala-studio`).
//!
//! - [`config`]: the one configuration value, loaded from `gala.yaml` and the environment.
//! - [`storage`]: the database pool and migrations (SQLite embedded, PostgreSQL by URL) and the
//!   content-addressed media store (local disk, or S3 in the multi-node mode).
//! - [`jobs`]: durable jobs with leases, heartbeats, retries and chains, and the worker pool.
//! - [`ingest`]: probe, validate, normalize to the house format, technical QC, thumbnails and
//!   proxy; the ingest chain's job handlers.
//! - [`analysis`]: analysis of ingested clips beyond technical QC: fingerprints and duplicate
//!   detection (the AI models come later).
//! - [`ai`]: the local AI models on candle (captions, moderation, the host's writer) and their
//!   registry; no database, no HTTP.
//! - [`voice`]: the host's voice, text to speech (espeak-ng, or a Parler-TTS model on candle).
//! - [`render`]: the program render; [`render::cards`] draws host cards, bumpers, breaks and
//!   slates from templates.
//! - [`live`]: live playout to RTMP destinations: pacing, reconnects, live control, the
//!   as-run log and standby takeover.
//! - [`metrics`]: the process's Prometheus metrics (queue depth, job durations, uploads, HTTP).
//! - [`backup`]: a consistent backup of the database and the media, and its restore.
//! - [`engine`]: the handles (database, store, queue) built once from the configuration.
//! - [`demo`]: the generated demo material.

pub mod ai;
pub mod analysis;
pub mod backup;
pub mod config;
pub mod demo;
pub mod engine;
pub mod ingest;
pub mod jobs;
pub mod live;
pub mod metrics;
pub mod planner;
pub mod render;
pub mod show;
pub mod storage;
pub mod voice;

pub use config::Config;
pub use engine::Engine;

/// Milliseconds since the Unix epoch: the one time format stored in the database.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
