//! The analysis kinds split for remote workers (`jobs::split`): `analysis.energy` is media
//! work only (tempo, loudness dynamics, energy of the normalized file), so its compute half
//! runs anywhere and the studio records the report.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::energy::{self, EnergyReport};
use super::jobs::ENERGY;
use crate::config::IngestLimits;
use crate::ingest::clips::{self, ClipState};
use crate::ingest::steps::ClipJob;
use crate::jobs::split::{self, BoxFuture, Compute, Ledger, Prepared};
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
            let ClipJob { clip_id } = split::parse("analysis payload", job.payload)?;
            let clip = clips::get(&self.db, clip_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("clip {clip_id} does not exist"))?;
            if matches!(clip.state, ClipState::Rejected | ClipState::Failed) {
                return Ok(Prepared::Done(Done::new(json!({ "clip_id": clip_id }))));
            }
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
        Box::pin(async move {
            Ok(format!(
                "{ENERGY} failed after {} attempts: {error}",
                job.attempts
            ))
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
