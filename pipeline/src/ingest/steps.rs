//! The ingest chain as durable jobs: probe → normalize → QC → thumbnails and proxy, and the
//! analysis chain (`analysis::jobs`) after QC.
//!
//! Each step is split (`jobs::split`): its ledger half (`ingest::ledger`) turns the job into a
//! task and records the result on the clip; its compute half (`ingest::compute`) reads its
//! inputs from the media store, runs one media step on a blocking thread and stores its
//! outputs (content-addressed, so a re-run after a crash rewrites nothing). A local worker runs
//! both; a remote worker only the compute half. A file at fault ends the clip as `rejected` with the
//! reason; that is a successful job, not a failure. Our own failures are retried by the
//! queue, and when the last attempt fails the clip is marked `failed` with the reason.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::clips;
use crate::config::Config;
use crate::jobs::split::Local;
use crate::jobs::{Handler, NewJob};
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

pub(crate) fn job(kind: &str, clip_id: i64) -> NewJob {
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

/// The handlers of the whole chain: each step's ledger and compute halves run in turn.
pub fn handlers(env: IngestEnv) -> Vec<Arc<dyn Handler>> {
    let computes = super::compute::computes(env.store.clone(), env.config.data_dir.join("tmp"));
    Local::pair(super::ledger::ledgers(env), computes)
}
