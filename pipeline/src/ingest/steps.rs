//! The ingest chain as durable jobs: probe → normalize → QC → thumbnails and proxy, and the
//! analysis chain (`analysis::jobs`) after QC.
//!
//! Each handler reads its inputs from the media store, runs one media step on a blocking
//! thread, stores its outputs (content-addressed, so a re-run after a crash rewrites nothing)
//! and records the result on the clip. A file at fault ends the clip as `rejected` with the
//! reason; that is a successful job, not a failure. Our own failures are retried by the
//! queue, and when the last attempt fails the clip is marked `failed` with the reason.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::clips::{self, Artifact, ClipState};
use super::{normalize, probe, proxy, qc, thumbs, validate, IngestError};
use crate::analysis;
use crate::config::Config;
use crate::jobs::{Done, Handler, JobContext, JobError, NewJob};
use crate::storage::db::Db;
use crate::storage::media::MediaStore;

pub const PROBE: &str = "ingest.probe";
pub const NORMALIZE: &str = "ingest.normalize";
pub const QC: &str = "ingest.qc";
pub const THUMBNAILS: &str = "ingest.thumbnails";
pub const PROXY: &str = "ingest.proxy";

/// Every job kind of the chain, for workers that run all of them.
pub const KINDS: [&str; 5] = [PROBE, NORMALIZE, QC, THUMBNAILS, PROXY];

/// The payload of every ingest job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClipJob {
    pub clip_id: i64,
}

fn job(kind: &str, clip_id: i64) -> NewJob {
    NewJob::new(kind, json!(ClipJob { clip_id })).with_subject(&subject(clip_id))
}

/// The subject under which a clip's jobs are filed.
pub fn subject(clip_id: i64) -> String {
    format!("clip:{clip_id}")
}

/// What the handlers share: the database, the media store, the configuration and a scratch
/// directory for files being made.
#[derive(Clone)]
pub struct IngestEnv {
    pub db: Db,
    pub store: Arc<dyn MediaStore>,
    pub config: Arc<Config>,
}

impl IngestEnv {
    fn scratch(&self) -> anyhow::Result<tempfile::TempDir> {
        let dir = self.config.data_dir.join("tmp");
        std::fs::create_dir_all(&dir)?;
        Ok(tempfile::tempdir_in(dir)?)
    }
}

/// Copies `path` into the media store, records a clip and queues its first job; the clip and
/// its job are committed together.
pub async fn submit_file(env: &IngestEnv, path: &Path, display_name: &str) -> anyhow::Result<i64> {
    submit(env, path, display_name, None).await
}

/// Like [`submit_file`] for a finished studio upload, at most once per upload: offered again
/// (after a crash), it returns the clip made the first time.
pub async fn submit_upload(
    env: &IngestEnv,
    path: &Path,
    display_name: &str,
    upload_id: &str,
) -> anyhow::Result<i64> {
    if let Some(id) = clips::find_by_upload(&env.db, upload_id).await? {
        return Ok(id);
    }
    submit(env, path, display_name, Some(upload_id)).await
}

async fn submit(
    env: &IngestEnv,
    path: &Path,
    display_name: &str,
    upload_id: Option<&str>,
) -> anyhow::Result<i64> {
    let store = env.store.clone();
    let owned = path.to_path_buf();
    let (digest, size) = tokio::task::spawn_blocking(move || {
        let digest = store.put_file(&owned)?;
        let size = store.size(&digest)?;
        anyhow::Ok((digest, size))
    })
    .await??;
    let queue = crate::jobs::Queue::new(env.db.clone(), env.config.jobs.clone());
    let mut tx = env.db.begin_write().await?;
    let clip_id = clips::insert(&mut tx, display_name, &digest, size as i64, upload_id).await?;
    queue.enqueue_in(&mut tx, job(PROBE, clip_id)).await?;
    tx.commit().await?;
    Ok(clip_id)
}

/// Runs the ingest chain of `clip_id` again from its original upload (an operator's
/// re-ingest: after a fix, or to a new house format): the clip goes back to `queued` and its
/// probe job is queued in the same transaction. Refused while the clip's chain still runs.
pub async fn reingest(env: &IngestEnv, clip_id: i64) -> anyhow::Result<i64> {
    let clip = clips::get(&env.db, clip_id)
        .await?
        .with_context(|| format!("there is no clip {clip_id}"))?;
    let queue = crate::jobs::Queue::new(env.db.clone(), env.config.jobs.clone());
    let busy = queue
        .list_by_subject(&subject(clip_id))
        .await?
        .into_iter()
        .any(|j| {
            KINDS.contains(&j.kind.as_str())
                && matches!(
                    j.state,
                    crate::jobs::JobState::Queued | crate::jobs::JobState::Running
                )
        });
    if busy {
        anyhow::bail!("clip {clip_id} is being ingested now; wait for its chain to end");
    }
    let exists = {
        let (store, digest) = (env.store.clone(), clip.source_sha256.clone());
        tokio::task::spawn_blocking(move || store.exists(&digest)).await??
    };
    if !exists {
        anyhow::bail!("the original of clip {clip_id} is missing from the media store");
    }
    let mut tx = env.db.begin_write().await?;
    sqlx::query("UPDATE clips SET state = 'queued', reason = NULL, updated_at = $1 WHERE id = $2")
        .bind(crate::now_ms())
        .bind(clip_id)
        .execute(&mut *tx)
        .await?;
    let job = queue.enqueue_in(&mut tx, job(PROBE, clip_id)).await?;
    tx.commit().await?;
    Ok(job)
}

/// The clip of a submission's version `number` (its latest when None).
pub async fn clip_of_submission(
    db: &Db,
    submission: i64,
    number: Option<i64>,
) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "SELECT clip_id FROM submission_versions WHERE submission_id = $1 AND ($2 < 0 OR number = $2) \
         ORDER BY number DESC LIMIT 1",
    )
    .bind(submission)
    .bind(number.unwrap_or(-1))
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(r) => Ok(sqlx::Row::try_get(&r, "clip_id")?),
        None => anyhow::bail!("submission {submission} has no such version"),
    }
}

/// The handlers of the whole chain.
pub fn handlers(env: IngestEnv) -> Vec<Arc<dyn Handler>> {
    let env = Arc::new(env);
    [PROBE, NORMALIZE, QC, THUMBNAILS, PROXY]
        .into_iter()
        .map(|kind| {
            Arc::new(Step {
                kind,
                env: env.clone(),
            }) as Arc<dyn Handler>
        })
        .collect()
}

struct Step {
    kind: &'static str,
    env: Arc<IngestEnv>,
}

impl Handler for Step {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn run(
        &self,
        ctx: JobContext,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Done, JobError>> + Send + '_>>
    {
        Box::pin(async move {
            let payload: ClipJob = serde_json::from_value(ctx.job.payload.clone())
                .map_err(|e| JobError::Fatal(format!("bad payload: {e}")))?;
            let last_try = ctx.job.attempts >= ctx.job.max_attempts;
            match self.step(&ctx, payload.clip_id).await {
                Ok(next) => Ok(Done {
                    result: json!({ "clip_id": payload.clip_id }),
                    next,
                }),
                Err(IngestError::Rejected(why)) => {
                    clips::reject(&self.env.db, payload.clip_id, &why)
                        .await
                        .map_err(JobError::Retry)?;
                    Ok(Done {
                        result: json!({ "clip_id": payload.clip_id, "rejected": why }),
                        next: vec![],
                    })
                }
                Err(IngestError::Internal(e)) if last_try => {
                    let reason = format!(
                        "processing failed after {} attempts: {e:#}",
                        ctx.job.attempts
                    );
                    clips::fail(&self.env.db, payload.clip_id, &reason)
                        .await
                        .map_err(JobError::Retry)?;
                    Err(JobError::Fatal(reason))
                }
                Err(IngestError::Internal(e)) => Err(JobError::Retry(e)),
            }
        })
    }
}

impl Step {
    /// Runs this step for one clip; returns the jobs that follow it.
    async fn step(&self, ctx: &JobContext, clip_id: i64) -> Result<Vec<NewJob>, IngestError> {
        let env = &self.env;
        let clip = clips::get(&env.db, clip_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("clip {clip_id} does not exist"))?;
        if clip.state.is_final() {
            return Ok(vec![]); // already rejected by a sibling step, or done before a crash
        }
        let cfg = env.config.clone();
        let progress = ctx.progress_fn();
        match self.kind {
            PROBE => {
                clips::set_state(&env.db, clip_id, ClipState::Probing).await?;
                let src = env.store.local_path(&clip.source_sha256)?;
                let info = blocking(move || {
                    let info = probe::probe(&src, &cfg.limits)?;
                    validate::validate(&info, &cfg.limits)?;
                    Ok(info)
                })
                .await?;
                clips::set_probe(&env.db, clip_id, &info).await?;
                Ok(vec![job(NORMALIZE, clip_id)])
            }
            NORMALIZE => {
                clips::set_state(&env.db, clip_id, ClipState::Normalizing).await?;
                let src = env.store.local_path(&clip.source_sha256)?;
                let scratch = env.scratch()?;
                let out = scratch.path().join("normalized.mp4");
                let (report, digest) = {
                    let store = env.store.clone();
                    let out = out.clone();
                    blocking(move || {
                        let report =
                            normalize::normalize(&src, &out, &cfg.house, &cfg.limits, &*progress)?;
                        Ok((report, store.put_file(&out)?))
                    })
                    .await?
                };
                clips::set_normalized(&env.db, clip_id, &digest, &report).await?;
                Ok(vec![job(QC, clip_id)])
            }
            QC => {
                clips::set_state(&env.db, clip_id, ClipState::Checking).await?;
                let src = env.store.local_path(&clip.source_sha256)?;
                let normalized = self.normalized(&clip)?;
                let before = clip.normalize_report.as_ref().map(|r| r.loudness_before);
                let video = clip.probe.as_ref().and_then(|p| p.video.clone());
                let report = blocking(move || {
                    let input = qc::QcInput {
                        analysed: &normalized,
                        source: Some(&src),
                        loudness_before: before,
                        source_width: video.as_ref().map(|v| v.width),
                        source_height: video.as_ref().map(|v| v.height),
                    };
                    qc::analyze(&input, &cfg.qc, &cfg.house, &cfg.limits, &*progress)
                })
                .await?;
                clips::set_qc(&env.db, clip_id, &report).await?;
                clips::set_state(&env.db, clip_id, ClipState::Finishing).await?;
                // The analysis chain (duplicates, captions, moderation, verdict) and the
                // energy analysis run beside the thumbnails and the proxy; the clip is ready
                // without waiting for them.
                Ok(vec![
                    job(THUMBNAILS, clip_id),
                    job(PROXY, clip_id),
                    analysis::jobs::job(analysis::jobs::FINGERPRINT, clip_id),
                    analysis::jobs::job(analysis::jobs::ENERGY, clip_id),
                ])
            }
            THUMBNAILS => {
                let normalized = self.normalized(&clip)?;
                let scratch = env.scratch()?;
                let dir = scratch.path().to_path_buf();
                let store = env.store.clone();
                let made = blocking(move || {
                    let (poster, sheet, wave) = (
                        dir.join("poster.png"),
                        dir.join("sheet.png"),
                        dir.join("waveform.png"),
                    );
                    thumbs::poster(&normalized, &poster, &cfg.thumbnails, &cfg.limits)?;
                    progress(0.4);
                    thumbs::contact_sheet(&normalized, &sheet, &cfg.thumbnails, &cfg.limits)?;
                    progress(0.8);
                    thumbs::waveform(&normalized, &wave, &cfg.thumbnails, &cfg.limits)?;
                    Ok([
                        store.put_file(&poster)?,
                        store.put_file(&sheet)?,
                        store.put_file(&wave)?,
                    ])
                })
                .await?;
                for (artifact, digest) in [Artifact::Poster, Artifact::Sheet, Artifact::Waveform]
                    .into_iter()
                    .zip(made)
                {
                    clips::set_artifact(&env.db, clip_id, artifact, &digest).await?;
                }
                Ok(vec![])
            }
            PROXY => {
                let normalized = self.normalized(&clip)?;
                let scratch = env.scratch()?;
                let out: PathBuf = scratch.path().join("proxy.mp4");
                let store = env.store.clone();
                let digest = blocking(move || {
                    proxy::make_proxy(&normalized, &out, &cfg.proxy, &cfg.limits, &*progress)?;
                    Ok(store.put_file(&out)?)
                })
                .await?;
                clips::set_artifact(&env.db, clip_id, Artifact::Proxy, &digest).await?;
                Ok(vec![])
            }
            other => Err(anyhow::anyhow!("no ingest step called {other}").into()),
        }
    }

    fn normalized(&self, clip: &clips::Clip) -> Result<PathBuf, IngestError> {
        let digest = clip
            .normalized_sha256
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("clip {} has no normalized file yet", clip.id))?;
        Ok(self.env.store.local_path(digest)?)
    }
}

/// Runs CPU-heavy media work off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, IngestError> + Send + 'static,
) -> Result<T, IngestError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| IngestError::Internal(anyhow::anyhow!("media step panicked: {e}")))?
}
