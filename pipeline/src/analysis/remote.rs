//! The analysis kinds split for remote workers (`jobs::split`):
//!
//! - `analysis.energy`: media work only (tempo, loudness dynamics, energy of the normalized
//!   file); the studio records the report.
//! - `analysis.captions` and `analysis.moderation`: the model checks (`analysis::checks`).
//!   The task carries what the studio's database knows (language, texts, the transcript as
//!   shown, watched words); the worker runs its own models; the studio stores the captions
//!   and check records. A worker leases them only when it has the model roles the studio has
//!   configured for them (a GPU box with Whisper, say).
//!
//! - `analysis.fingerprint`: the worker decodes and hashes; the studio stores the fingerprint
//!   and searches the duplicates with its index (it reads every fingerprint).
//!
//! `analysis.verdict` (database only) stays with workers that have the database.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use std::sync::Mutex;
use std::time::Instant;

use super::checks::{self, CaptionsTask, ChecksOutput, ModerationTask};
use super::dupcache::DuplicateCache;
use super::energy::{self, EnergyReport};
use super::fingerprint::{self, Fingerprint};
use super::jobs::{record, CAPTIONS, ENERGY, FINGERPRINT, MODERATION, VERDICT};
use super::models::ModelSet;
use super::store;
use crate::ai::ModelError;
use crate::config::{Config, IngestLimits};
use crate::ingest::clips::{self, ClipState};
use crate::ingest::steps::ClipJob;
use crate::jobs::split::{self, BoxFuture, Compute, Ledger, Needs, Prepared};
use crate::jobs::{Done, Job, JobContext, JobError};
use crate::storage::db::Db;
use crate::storage::media::MediaStore;

/// The task of a step that reads only the normalized file (energy, fingerprint).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaTask {
    pub clip_id: i64,
    pub normalized: String,
    pub limits: IngestLimits,
}

/// The [`MediaTask`] of a job, or done when the clip was refused.
async fn media_task(db: &Db, payload: Value, limits: &IngestLimits) -> Result<Prepared, JobError> {
    let clip = match open_clip(db, payload).await? {
        Ok(clip) => clip,
        Err(done) => return Ok(Prepared::Done(done)),
    };
    let task = MediaTask {
        clip_id: clip.id,
        normalized: clip.normalized()?.to_string(),
        limits: limits.clone(),
    };
    Ok(Prepared::Task(
        serde_json::to_value(task).map_err(anyhow::Error::from)?,
    ))
}

/// The database half of `analysis.energy`.
pub struct EnergyLedger {
    pub db: Db,
    pub limits: IngestLimits,
}

impl Ledger for EnergyLedger {
    fn kind(&self) -> &'static str {
        ENERGY
    }

    fn prepare(&self, job: Job) -> BoxFuture<'_, Result<Prepared, JobError>> {
        Box::pin(media_task(&self.db, job.payload, &self.limits))
    }

    fn record(&self, job: Job, output: Value) -> BoxFuture<'_, Result<Done, JobError>> {
        Box::pin(async move {
            let ClipJob { clip_id } = split::parse("analysis payload", job.payload)?;
            let report: EnergyReport = split::output(ENERGY, output)?;
            energy::record::save(&self.db, clip_id, &report).await?;
            Ok(Done::new(json!({ "clip_id": clip_id })))
        })
    }

    fn give_up(&self, job: Job, error: String) -> BoxFuture<'_, anyhow::Result<String>> {
        Box::pin(async move { Ok(gave_up(&job, &error)) })
    }
}

/// The reason an analysis job keeps when it fails for good.
fn gave_up(job: &Job, error: &str) -> String {
    format!(
        "{} failed after {} attempts: {error}",
        job.kind, job.attempts
    )
}

/// The clip of an analysis job, unless ingest refused it (nothing to analyse then).
async fn open_clip(db: &Db, payload: Value) -> Result<Result<clips::Clip, Done>, JobError> {
    let ClipJob { clip_id } = split::parse("analysis payload", payload)?;
    let clip = clips::get(db, clip_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("clip {clip_id} does not exist"))?;
    if matches!(clip.state, ClipState::Rejected | ClipState::Failed) {
        return Ok(Err(Done::new(json!({ "clip_id": clip_id }))));
    }
    Ok(Ok(clip))
}

/// The database half of `analysis.captions` and `analysis.moderation`.
pub struct CheckLedger {
    pub kind: &'static str,
    pub db: Db,
    pub config: Arc<Config>,
}

impl Ledger for CheckLedger {
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// The model roles of this step that the studio has configured.
    fn needs(&self) -> Needs {
        let writer = &self.config.models.writer;
        let roles: &[&str] = match (self.kind, writer.use_for_subtitles, writer.use_for_policy) {
            (CAPTIONS, true, _) => &["captions", "writer"],
            (CAPTIONS, false, _) => &["captions"],
            (_, _, true) => &["text_moderation", "image_moderation", "writer"],
            (_, _, false) => &["text_moderation", "image_moderation"],
        };
        let configured = self.config.models.sources();
        Needs {
            models: configured
                .iter()
                .filter(|s| s.is_configured() && roles.contains(&s.role))
                .map(|s| s.role.to_string())
                .collect(),
            gpu: false,
        }
    }

    fn prepare(&self, job: Job) -> BoxFuture<'_, Result<Prepared, JobError>> {
        Box::pin(async move {
            let clip = match open_clip(&self.db, job.payload).await? {
                Ok(clip) => clip,
                Err(done) => return Ok(Prepared::Done(done)),
            };
            let task = match self.kind {
                CAPTIONS => serde_json::to_value(
                    checks::captions_task(&self.db, &self.config, &clip).await?,
                ),
                _ => serde_json::to_value(
                    checks::moderation_task(&self.db, &self.config, &clip).await?,
                ),
            };
            Ok(Prepared::Task(task.map_err(anyhow::Error::from)?))
        })
    }

    fn record(&self, job: Job, output: Value) -> BoxFuture<'_, Result<Done, JobError>> {
        Box::pin(async move {
            let ClipJob { clip_id } = split::parse("analysis payload", job.payload)?;
            let out: ChecksOutput = split::output(self.kind, output)?;
            checks::save(&self.db, clip_id, &out).await?;
            let next = if self.kind == CAPTIONS {
                MODERATION
            } else {
                VERDICT
            };
            Ok(Done::new(json!({ "clip_id": clip_id })).then(super::jobs::job(next, clip_id)))
        })
    }

    fn give_up(&self, job: Job, error: String) -> BoxFuture<'_, anyhow::Result<String>> {
        Box::pin(async move { Ok(gave_up(&job, &error)) })
    }
}

/// The model half of `analysis.captions` and `analysis.moderation`, with this process's
/// models (loaded once, kept for the worker's life).
pub struct CheckCompute {
    pub kind: &'static str,
    pub store: Arc<dyn MediaStore>,
    pub models: Arc<Mutex<ModelSet>>,
}

impl Compute for CheckCompute {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn compute(&self, task: Value, ctx: JobContext) -> BoxFuture<'_, Result<Value, JobError>> {
        Box::pin(async move {
            let out = match self.kind {
                CAPTIONS => {
                    let task: CaptionsTask = split::parse("captions task", task)?;
                    checks::compute_captions(&self.models, &self.store, &ctx, task).await?
                }
                _ => {
                    let task: ModerationTask = split::parse("moderation task", task)?;
                    checks::compute_moderation(&self.models, &self.store, &ctx, task).await?
                }
            };
            Ok(serde_json::to_value(out).map_err(anyhow::Error::from)?)
        })
    }
}

/// The compute half of `analysis.energy`: a file whose audio cannot be read is a failure of
/// this job (retried, then failed), never of the clip.
pub struct EnergyCompute {
    pub store: Arc<dyn MediaStore>,
}

impl Compute for EnergyCompute {
    fn kind(&self) -> &'static str {
        ENERGY
    }

    fn compute(&self, task: Value, ctx: JobContext) -> BoxFuture<'_, Result<Value, JobError>> {
        Box::pin(async move {
            let task: MediaTask = split::parse("energy task", task)?;
            ctx.progress(0.0, Some("energy"));
            let store = self.store.clone();
            let report = tokio::task::spawn_blocking(move || -> anyhow::Result<EnergyReport> {
                let path = store.local_path(&task.normalized)?;
                Ok(energy::analyze(&path, &task.limits)?)
            })
            .await
            .map_err(|e| anyhow::anyhow!("energy analysis panicked: {e}"))??;
            Ok(serde_json::to_value(report).map_err(anyhow::Error::from)?)
        })
    }
}

/// What fingerprinting made of the normalized file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "made", rename_all = "snake_case")]
pub enum FingerprintOutput {
    Fingerprint {
        fingerprint: Fingerprint,
        ms: i64,
    },
    /// The file could not be fingerprinted: the `duplicates` check fails, not the job.
    Unreadable {
        error: String,
        ms: i64,
    },
}

/// The database half of `analysis.fingerprint`: stores the fingerprint and searches the
/// duplicates with the studio's index (every fingerprint, cached).
pub struct FingerprintLedger {
    pub db: Db,
    pub config: Arc<Config>,
    pub duplicates: Arc<DuplicateCache>,
}

impl Ledger for FingerprintLedger {
    fn kind(&self) -> &'static str {
        FINGERPRINT
    }

    fn prepare(&self, job: Job) -> BoxFuture<'_, Result<Prepared, JobError>> {
        Box::pin(media_task(&self.db, job.payload, &self.config.limits))
    }

    fn record(&self, job: Job, output: Value) -> BoxFuture<'_, Result<Done, JobError>> {
        Box::pin(async move {
            let ClipJob { clip_id } = split::parse("analysis payload", job.payload)?;
            let started = Instant::now();
            let (mut rec, ms) = match split::output(FINGERPRINT, output)? {
                FingerprintOutput::Unreadable { error, ms } => {
                    let failed = Err(ModelError::Run {
                        role: "duplicates",
                        reason: error,
                    });
                    (record("duplicates", started, failed), ms)
                }
                FingerprintOutput::Fingerprint { fingerprint, ms } => {
                    store::save_fingerprint(&self.db, clip_id, &fingerprint).await?;
                    let found = self
                        .duplicates
                        .find(&self.db, clip_id, &fingerprint, &self.config.duplicates)
                        .await?;
                    store::save_duplicates(&self.db, clip_id, &found).await?;
                    let summary: Vec<_> = found
                        .iter()
                        .map(|m| json!({ "clip_id": m.clip_id, "score": m.score }))
                        .collect();
                    let made = Ok((json!(summary), "dhash+chromaprint".into()));
                    (record("duplicates", started, made), ms)
                }
            };
            rec.duration_ms += ms;
            store::save_check(&self.db, clip_id, &rec).await?;
            Ok(Done::new(json!({ "clip_id": clip_id })).then(super::jobs::job(CAPTIONS, clip_id)))
        })
    }

    fn give_up(&self, job: Job, error: String) -> BoxFuture<'_, anyhow::Result<String>> {
        Box::pin(async move { Ok(gave_up(&job, &error)) })
    }
}

/// The media half of `analysis.fingerprint`: frame hashes and the audio fingerprint.
pub struct FingerprintCompute {
    pub store: Arc<dyn MediaStore>,
}

impl Compute for FingerprintCompute {
    fn kind(&self) -> &'static str {
        FINGERPRINT
    }

    fn compute(&self, task: Value, ctx: JobContext) -> BoxFuture<'_, Result<Value, JobError>> {
        Box::pin(async move {
            let task: MediaTask = split::parse("fingerprint task", task)?;
            ctx.progress(0.0, Some("fingerprint"));
            let store = self.store.clone();
            let started = Instant::now();
            let made = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let path = store.local_path(&task.normalized)?;
                Ok(fingerprint::fingerprint(&path, &task.limits))
            })
            .await
            .map_err(|e| anyhow::anyhow!("fingerprinting panicked: {e}"))??;
            let ms = started.elapsed().as_millis() as i64;
            let output = match made {
                Ok(fingerprint) => FingerprintOutput::Fingerprint { fingerprint, ms },
                Err(e) => FingerprintOutput::Unreadable {
                    error: e.to_string(),
                    ms,
                },
            };
            Ok(serde_json::to_value(output).map_err(anyhow::Error::from)?)
        })
    }
}
