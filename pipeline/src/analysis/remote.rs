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
//! `analysis.fingerprint` (its duplicate search reads every fingerprint) and
//! `analysis.verdict` (database only) stay with workers that have the database.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use std::sync::Mutex;

use super::checks::{self, CaptionsTask, ChecksOutput, ModerationTask};
use super::energy::{self, EnergyReport};
use super::jobs::{CAPTIONS, ENERGY, MODERATION, VERDICT};
use super::models::ModelSet;
use crate::config::{Config, IngestLimits};
use crate::ingest::clips::{self, ClipState};
use crate::ingest::steps::ClipJob;
use crate::jobs::split::{self, BoxFuture, Compute, Ledger, Needs, Prepared};
use crate::jobs::{Done, Job, JobContext, JobError};
use crate::storage::db::Db;
use crate::storage::media::MediaStore;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnergyTask {
    pub clip_id: i64,
    pub normalized: String,
    pub limits: IngestLimits,
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
        Box::pin(async move {
            let clip = match open_clip(&self.db, job.payload).await? {
                Ok(clip) => clip,
                Err(done) => return Ok(Prepared::Done(done)),
            };
            let clip_id = clip.id;
            let normalized = clip
                .normalized_sha256
                .ok_or_else(|| anyhow::anyhow!("clip {clip_id} has no normalized file yet"))?;
            let task = EnergyTask {
                clip_id,
                normalized,
                limits: self.limits.clone(),
            };
            Ok(Prepared::Task(
                serde_json::to_value(task).map_err(anyhow::Error::from)?,
            ))
        })
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
            let task: EnergyTask = split::parse("energy task", task)?;
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
