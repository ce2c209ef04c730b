//! The database half of the ingest chain: a claimed job becomes a [`ClipTask`] (the clip's
//! state moves on: probing, normalizing, checking), and a step's [`StepOutput`] is recorded on
//! the clip with the jobs that follow it.

use std::sync::Arc;

use serde_json::{json, Value};

use super::clips::{self, Artifact, ClipState};
use super::compute::{ClipTask, Settings, StepOutput};
use super::steps::{self, ClipJob, IngestEnv, NORMALIZE, PROBE, PROXY, QC, THUMBNAILS};
use crate::analysis;
use crate::jobs::split::{self, BoxFuture, Ledger, Prepared};
use crate::jobs::{Done, Job, JobError};

/// The ledger half of one ingest step.
pub struct IngestLedger {
    pub kind: &'static str,
    pub env: Arc<IngestEnv>,
}

/// The ledger halves of the whole chain.
pub fn ledgers(env: IngestEnv) -> Vec<Arc<dyn Ledger>> {
    let env = Arc::new(env);
    super::steps::KINDS
        .into_iter()
        .map(|kind| {
            Arc::new(IngestLedger {
                kind,
                env: env.clone(),
            }) as Arc<dyn Ledger>
        })
        .collect()
}

impl Ledger for IngestLedger {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn prepare(&self, job: Job) -> BoxFuture<'_, Result<Prepared, JobError>> {
        Box::pin(async move {
            let ClipJob { clip_id } = split::parse("ingest payload", job.payload)?;
            let db = &self.env.db;
            let clip = clips::get(db, clip_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("clip {clip_id} does not exist"))?;
            if clip.state.is_final() {
                // Already rejected by a sibling step, or done before a crash.
                return Ok(Prepared::Done(Done::new(json!({ "clip_id": clip_id }))));
            }
            let state = match self.kind {
                PROBE => Some(ClipState::Probing),
                NORMALIZE => Some(ClipState::Normalizing),
                QC => Some(ClipState::Checking),
                _ => None,
            };
            if let Some(state) = state {
                clips::set_state(db, clip_id, state).await?;
            }
            let video = clip.probe.as_ref().and_then(|p| p.video.clone());
            let task = ClipTask {
                clip_id,
                source: clip.source_sha256.clone(),
                normalized: clip.normalized_sha256.clone(),
                loudness_before: clip.normalize_report.as_ref().map(|r| r.loudness_before),
                source_width: video.as_ref().map(|v| v.width),
                source_height: video.as_ref().map(|v| v.height),
                settings: Settings::of(&self.env.config),
            };
            Ok(Prepared::Task(
                serde_json::to_value(task).map_err(anyhow::Error::from)?,
            ))
        })
    }

    fn record(&self, job: Job, output: Value) -> BoxFuture<'_, Result<Done, JobError>> {
        Box::pin(async move {
            let ClipJob { clip_id } = split::parse("ingest payload", job.payload)?;
            let output: StepOutput = split::output(self.kind, output)?;
            let db = &self.env.db;
            let expected = matches!(
                (&output, self.kind),
                (StepOutput::Rejected { .. }, _)
                    | (StepOutput::Probed { .. }, PROBE)
                    | (StepOutput::Normalized { .. }, NORMALIZE)
                    | (StepOutput::Checked { .. }, QC)
                    | (StepOutput::Thumbnails { .. }, THUMBNAILS)
                    | (StepOutput::Proxy { .. }, PROXY)
            );
            if !expected {
                return Err(JobError::Retry(anyhow::anyhow!(
                    "a worker sent the output of another step for a {} job",
                    self.kind
                )));
            }
            let result = json!({ "clip_id": clip_id });
            let next = match output {
                StepOutput::Rejected { why } => {
                    clips::reject(db, clip_id, &why).await?;
                    return Ok(Done::new(json!({ "clip_id": clip_id, "rejected": why })));
                }
                StepOutput::Probed { info } => {
                    clips::set_probe(db, clip_id, &info).await?;
                    vec![steps::job(NORMALIZE, clip_id)]
                }
                StepOutput::Normalized { digest, report } => {
                    split::held(&self.env.store, &[&digest]).await?;
                    clips::set_normalized(db, clip_id, &digest, &report).await?;
                    vec![steps::job(QC, clip_id)]
                }
                StepOutput::Checked { report } => {
                    clips::set_qc(db, clip_id, &report).await?;
                    clips::set_state(db, clip_id, ClipState::Finishing).await?;
                    // The analysis chain (duplicates, captions, moderation, verdict) and the
                    // energy analysis run beside the thumbnails and the proxy; the clip is
                    // ready without waiting for them.
                    vec![
                        steps::job(THUMBNAILS, clip_id),
                        steps::job(PROXY, clip_id),
                        analysis::jobs::job(analysis::jobs::FINGERPRINT, clip_id),
                        analysis::jobs::job(analysis::jobs::ENERGY, clip_id),
                    ]
                }
                StepOutput::Thumbnails {
                    poster,
                    sheet,
                    waveform,
                } => {
                    split::held(&self.env.store, &[&poster, &sheet, &waveform]).await?;
                    for (artifact, digest) in [
                        (Artifact::Poster, &poster),
                        (Artifact::Sheet, &sheet),
                        (Artifact::Waveform, &waveform),
                    ] {
                        clips::set_artifact(db, clip_id, artifact, digest).await?;
                    }
                    vec![]
                }
                StepOutput::Proxy { digest } => {
                    split::held(&self.env.store, &[&digest]).await?;
                    clips::set_artifact(db, clip_id, Artifact::Proxy, &digest).await?;
                    vec![]
                }
            };
            Ok(Done { result, next })
        })
    }

    fn give_up(&self, job: Job, error: String) -> BoxFuture<'_, anyhow::Result<String>> {
        Box::pin(async move {
            let ClipJob { clip_id } = serde_json::from_value(job.payload)?;
            let reason = format!("processing failed after {} attempts: {error}", job.attempts);
            clips::fail(&self.env.db, clip_id, &reason).await?;
            Ok(reason)
        })
    }
}
