//! The job queue: rows of the `jobs` table and every state change they go through.
//!
//! Claims are one atomic statement (PostgreSQL adds `FOR UPDATE SKIP LOCKED` so that claimers
//! do not wait on each other; SQLite serialises writers anyway). Every later change is
//! conditional on `state = 'running' AND lease_owner = <worker>`, which is what makes a stale
//! worker's late writes harmless.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::config::JobsConfig;
use crate::storage::{Backend, Db};

/// Default priority of a new job; lower runs first.
pub const DEFAULT_PRIORITY: i64 = 100;

/// Columns of a [`Job`], in the order [`job_from_row`] reads them by name.
const JOB_COLUMNS: &str =
    "id, kind, subject, payload, state, priority, attempts, max_attempts, progress, \
     progress_note, lease_owner, lease_expires_at, run_after, last_error, result, parent_id, \
     created_at, updated_at, finished_at";

/// What `last_error` says when a job is taken back from a worker whose lease expired.
const STOPPED_RESPONDING: &str = "the worker running it stopped responding";

/// Where the queue reads the time (Unix ms); tests pass a clock they can move.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    /// Lower runs first. None (the default): by kind, `jobs.priorities`.
    pub priority: Option<i64>,
    /// Not claimed before this time (Unix ms); None means now.
    pub run_after_ms: Option<i64>,
    /// What the job is about, e.g. `clip:42`, to list an entity's jobs.
    pub subject: Option<String>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: Value) -> NewJob {
        NewJob {
            kind: kind.into(),
            payload,
            priority: None,
            run_after_ms: None,
            subject: None,
        }
    }

    pub fn with_subject(mut self, subject: &str) -> NewJob {
        self.subject = Some(subject.to_string());
        self
    }

    pub fn with_priority(mut self, priority: i64) -> NewJob {
        self.priority = Some(priority);
        self
    }

    pub fn run_after(mut self, unix_ms: i64) -> NewJob {
        self.run_after_ms = Some(unix_ms);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<JobState> {
        Ok(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            other => bail!("unknown job state {other:?}"),
        })
    }
}

/// A row of the `jobs` table. Times are Unix ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    /// What the job is about, e.g. `clip:42`.
    pub subject: Option<String>,
    pub payload: Value,
    pub state: JobState,
    pub priority: i64,
    /// Claims so far, including the current one.
    pub attempts: i64,
    pub max_attempts: i64,
    /// 0..1, as last reported by a heartbeat.
    pub progress: f64,
    pub progress_note: Option<String>,
    /// The worker holding the lease (while running), or the one that finished the job.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub run_after: i64,
    /// Why the last attempt failed, or why the job failed for good.
    pub last_error: Option<String>,
    pub result: Option<Value>,
    /// The job whose success enqueued this one.
    pub parent_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// The queue: the database plus the job settings. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    db: Db,
    cfg: JobsConfig,
    clock: Clock,
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("backend", &self.db.backend)
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl Queue {
    pub fn new(db: Db, cfg: JobsConfig) -> Queue {
        Queue {
            db,
            cfg,
            clock: Arc::new(crate::now_ms),
        }
    }

    /// The same queue reading the time from `clock` (Unix ms) instead of the system clock.
    pub fn with_clock(mut self, clock: Clock) -> Queue {
        self.clock = clock;
        self
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn config(&self) -> &JobsConfig {
        &self.cfg
    }

    /// The queue's current time, Unix ms.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    fn lease_ms(&self) -> i64 {
        secs_to_ms(self.cfg.lease_s)
    }

    /// Delay before the next try after `attempts` tries: base * 2^(attempts-1), capped.
    pub fn backoff_ms(&self, attempts: i64) -> i64 {
        let doublings = attempts.saturating_sub(1).clamp(0, 40) as u32;
        let base = secs_to_ms(self.cfg.backoff_base_s);
        let cap = secs_to_ms(self.cfg.backoff_max_s);
        base.saturating_mul(1i64 << doublings).min(cap)
    }

    pub async fn enqueue(&self, job: NewJob) -> anyhow::Result<i64> {
        let mut conn = self.db.pool.acquire().await?;
        self.enqueue_in(&mut conn, job).await
    }

    /// Enqueues on a given connection, e.g. inside the caller's transaction (a clip row and
    /// its first job committed together).
    pub async fn enqueue_in(&self, conn: &mut AnyConnection, job: NewJob) -> anyhow::Result<i64> {
        insert_job(conn, &job, None, &self.cfg, self.now()).await
    }

    pub async fn get(&self, id: i64) -> anyhow::Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Atomically takes the best claimable job of one of `kinds`: queued and due, or running
    /// with an expired lease (its worker stopped responding; that try counts as an attempt).
    /// Expired jobs that have used all their attempts are failed first, never claimed.
    pub async fn claim(&self, worker_id: &str, kinds: &[&str]) -> anyhow::Result<Option<Job>> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let now = self.now();
        self.fail_exhausted_leases(now).await?;
        let sql = claim_sql(self.db.backend, kinds.len());
        let mut query = sqlx::query(&sql)
            .bind(worker_id.to_string())
            .bind(now + self.lease_ms())
            .bind(now)
            .bind(STOPPED_RESPONDING);
        for kind in kinds {
            query = query.bind(kind.to_string());
        }
        let row = query
            .fetch_optional(&self.db.pool)
            .await
            .context("cannot claim a job")?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Extends the lease and stores progress; Ok(false) when the lease is no longer ours.
    pub async fn heartbeat(
        &self,
        id: i64,
        worker_id: &str,
        progress: f64,
        note: Option<&str>,
    ) -> anyhow::Result<bool> {
        let now = self.now();
        let progress = if progress.is_finite() {
            progress.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1, progress = $2, progress_note = $3, \
             updated_at = $4 WHERE id = $5 AND state = 'running' AND lease_owner = $6",
        )
        .bind(now + self.lease_ms())
        .bind(progress)
        .bind(note.map(str::to_string))
        .bind(now)
        .bind(id)
        .bind(worker_id.to_string())
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks the job done with `result` and enqueues `next` (children of this job) in one
    /// transaction, only while the lease is ours; Ok(false) otherwise, and nothing changes.
    pub async fn complete(
        &self,
        id: i64,
        worker_id: &str,
        result: Value,
        next: Vec<NewJob>,
    ) -> anyhow::Result<bool> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', result = $1, progress = 1, lease_expires_at = NULL, \
             updated_at = $2, finished_at = $2 \
             WHERE id = $3 AND state = 'running' AND lease_owner = $4",
        )
        .bind(result.to_string())
        .bind(now)
        .bind(id)
        .bind(worker_id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        for job in &next {
            insert_job(&mut tx, job, Some(id), &self.cfg, now).await?;
        }
        tx.commit()
            .await
            .context("cannot commit a job's completion")?;
        Ok(true)
    }

    /// A retryable failure: back to the queue after a backoff, or failed for good when the
    /// attempts are spent. Ok(false) when the lease is no longer ours.
    pub async fn retry_later(&self, id: i64, worker_id: &str, error: &str) -> anyhow::Result<bool> {
        let Some(job) = self.get(id).await? else {
            return Ok(false);
        };
        if job.attempts >= job.max_attempts {
            let reason = format!("gave up after {} attempts: {error}", job.attempts);
            return self.fail(id, worker_id, &reason).await;
        }
        let now = self.now();
        // Conditional on `attempts` too: if the job was taken over and re-claimed in between,
        // this stale decision does not apply.
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', run_after = $1, last_error = $2, \
             lease_owner = NULL, lease_expires_at = NULL, updated_at = $3 \
             WHERE id = $4 AND state = 'running' AND lease_owner = $5 AND attempts = $6",
        )
        .bind(now + self.backoff_ms(job.attempts))
        .bind(error.to_string())
        .bind(now)
        .bind(id)
        .bind(worker_id.to_string())
        .bind(job.attempts)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A final failure with a reason (no retry). Ok(false) when the lease is no longer ours.
    pub async fn fail(&self, id: i64, worker_id: &str, reason: &str) -> anyhow::Result<bool> {
        let now = self.now();
        let done = sqlx::query(
            "UPDATE jobs SET state = 'failed', last_error = $1, lease_expires_at = NULL, \
             updated_at = $2, finished_at = $2 \
             WHERE id = $3 AND state = 'running' AND lease_owner = $4",
        )
        .bind(reason.to_string())
        .bind(now)
        .bind(id)
        .bind(worker_id.to_string())
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A worker hands a running job back (it is draining: stopping on SIGTERM): queued again
    /// now, and this try does not count as an attempt. Ok(false) when the lease is no longer
    /// ours.
    pub async fn release(&self, id: i64, worker_id: &str) -> anyhow::Result<bool> {
        let now = self.now();
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', run_after = $1, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
             last_error = $2, lease_owner = NULL, lease_expires_at = NULL, progress = 0, \
             updated_at = $1 WHERE id = $3 AND state = 'running' AND lease_owner = $4",
        )
        .bind(now)
        .bind(format!("handed back by {worker_id}, which was stopping"))
        .bind(id)
        .bind(worker_id.to_string())
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Hands back every job `worker_id` holds (see [`Queue::release`]); returns how many.
    pub async fn release_owned(&self, worker_id: &str) -> anyhow::Result<u64> {
        let held = sqlx::query_scalar::<_, i64>(
            "SELECT id FROM jobs WHERE state = 'running' AND lease_owner = $1",
        )
        .bind(worker_id.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        let mut n = 0;
        for id in held {
            n += u64::from(self.release(id, worker_id).await?);
        }
        Ok(n)
    }

    /// Gives a failed job a fresh start (an operator's "try again"): queued now, attempts reset.
    /// Ok(false) when the job is not failed.
    pub async fn requeue_failed(&self, id: i64) -> anyhow::Result<bool> {
        let now = self.now();
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1, progress = 0, \
             progress_note = NULL, lease_owner = NULL, lease_expires_at = NULL, \
             finished_at = NULL, updated_at = $1 WHERE id = $2 AND state = 'failed'",
        )
        .bind(now)
        .bind(id)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts jobs whose lease expired back in the queue (or fails them when their attempts are
    /// spent). For a periodic sweep; `claim` handles expired leases by itself too.
    /// Returns how many jobs changed.
    pub async fn requeue_expired(&self) -> anyhow::Result<u64> {
        let now = self.now();
        let failed = self.fail_exhausted_leases(now).await?;
        let requeued = sqlx::query(
            "UPDATE jobs SET state = 'queued', run_after = $1, last_error = $2, \
             lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE state = 'running' AND lease_expires_at <= $1 AND attempts < max_attempts",
        )
        .bind(now)
        .bind(STOPPED_RESPONDING)
        .execute(&self.db.pool)
        .await?;
        Ok(failed + requeued.rows_affected())
    }

    /// Fails running jobs whose lease expired on their last allowed attempt.
    async fn fail_exhausted_leases(&self, now: i64) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'failed', \
             last_error = $1 || ', on attempt ' || CAST(attempts AS TEXT) || ' of ' \
                 || CAST(max_attempts AS TEXT), \
             lease_expires_at = NULL, updated_at = $2, finished_at = $2 \
             WHERE state = 'running' AND lease_expires_at <= $2 AND attempts >= max_attempts",
        )
        .bind(STOPPED_RESPONDING)
        .bind(now)
        .execute(&self.db.pool)
        .await
        .context("cannot fail abandoned jobs")?;
        Ok(done.rows_affected())
    }

    /// Number of jobs per (kind, state), sorted.
    pub async fn counts(&self) -> anyhow::Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state ORDER BY kind, state",
        )
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }

    /// The most recent jobs, newest first.
    pub async fn list(&self, limit: i64) -> anyhow::Result<Vec<Job>> {
        self.select("ORDER BY id DESC LIMIT $1", Some(Bind::Int(limit)))
            .await
    }

    /// The failed jobs, oldest first; only those of `kind` when given.
    pub async fn failed(&self, kind: Option<&str>) -> anyhow::Result<Vec<Job>> {
        match kind {
            Some(k) => {
                self.select(
                    "WHERE state = 'failed' AND kind = $1 ORDER BY id",
                    Some(Bind::Text(k)),
                )
                .await
            }
            None => {
                self.select("WHERE state = 'failed' ORDER BY id", None)
                    .await
            }
        }
    }

    /// The jobs running now, oldest first (for progress displays).
    pub async fn running(&self) -> anyhow::Result<Vec<Job>> {
        self.select("WHERE state = 'running' ORDER BY id", None)
            .await
    }

    /// The jobs enqueued by the success of `parent_id`, oldest first.
    pub async fn children(&self, parent_id: i64) -> anyhow::Result<Vec<Job>> {
        self.select(
            "WHERE parent_id = $1 ORDER BY id",
            Some(Bind::Int(parent_id)),
        )
        .await
    }

    /// The jobs filed under `subject` (see [`NewJob::with_subject`]), oldest first.
    pub async fn list_by_subject(&self, subject: &str) -> anyhow::Result<Vec<Job>> {
        self.select("WHERE subject = $1 ORDER BY id", Some(Bind::Text(subject)))
            .await
    }

    /// The jobs `SELECT … FROM jobs {tail}` finds, `tail` taking at most one value.
    async fn select(&self, tail: &str, value: Option<Bind<'_>>) -> anyhow::Result<Vec<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs {tail}");
        let query = match value {
            None => sqlx::query(&sql),
            Some(Bind::Int(v)) => sqlx::query(&sql).bind(v),
            Some(Bind::Text(v)) => sqlx::query(&sql).bind(v),
        };
        let rows = query.fetch_all(&self.db.pool).await?;
        rows.iter().map(job_from_row).collect()
    }
}

fn secs_to_ms(s: u64) -> i64 {
    i64::try_from(s)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

async fn insert_job(
    conn: &mut AnyConnection,
    job: &NewJob,
    parent_id: Option<i64>,
    cfg: &JobsConfig,
    now: i64,
) -> anyhow::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, state, priority, attempts, max_attempts, progress, \
         run_after, parent_id, created_at, updated_at, subject) \
         VALUES ($1, $2, 'queued', $3, 0, $4, 0, $5, $6, $7, $7, $8) RETURNING id",
    )
    .bind(job.kind.clone())
    .bind(job.payload.to_string())
    .bind(job.priority.unwrap_or_else(|| cfg.priority_of(&job.kind)))
    .bind(i64::from(cfg.max_attempts.max(1)))
    .bind(job.run_after_ms.unwrap_or(now))
    .bind(parent_id)
    .bind(now)
    .bind(job.subject.clone())
    .fetch_one(&mut *conn)
    .await
    .with_context(|| format!("cannot enqueue a {} job", job.kind))?;
    Ok(id)
}

/// The claim statement. Parameters: $1 worker, $2 lease expiry, $3 now, $4 the note left on
/// a job taken back from a silent worker, $5… the kinds.
fn claim_sql(backend: Backend, kinds: usize) -> String {
    let kind_params: Vec<String> = (0..kinds).map(|i| format!("${}", i + 5)).collect();
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, \
         lease_expires_at = $2, progress = 0, progress_note = NULL, updated_at = $3, \
         last_error = CASE WHEN state = 'running' THEN $4 ELSE last_error END \
         WHERE id = (SELECT id FROM jobs WHERE kind IN ({kinds}) AND \
           ((state = 'queued' AND run_after <= $3) OR \
            (state = 'running' AND lease_expires_at <= $3 AND attempts < max_attempts)) \
           ORDER BY priority, run_after, id LIMIT 1{lock}) \
         RETURNING {JOB_COLUMNS}",
        kinds = kind_params.join(", "),
    )
}

/// The one value a job listing filters on.
enum Bind<'a> {
    Int(i64),
    Text(&'a str),
}

fn job_from_row(row: &AnyRow) -> anyhow::Result<Job> {
    let state: String = row.try_get("state")?;
    let payload: String = row.try_get("payload")?;
    let result: Option<String> = row.try_get("result")?;
    let id: i64 = row.try_get("id")?;
    Ok(Job {
        id,
        kind: row.try_get("kind")?,
        subject: row.try_get("subject")?,
        payload: serde_json::from_str(&payload)
            .with_context(|| format!("job {id} has a payload that is not JSON"))?,
        state: state.parse()?,
        priority: row.try_get("priority")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        progress: row.try_get("progress")?,
        progress_note: row.try_get("progress_note")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        run_after: row.try_get("run_after")?,
        last_error: row.try_get("last_error")?,
        result: result
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .with_context(|| format!("job {id} has a result that is not JSON"))?,
        parent_id: row.try_get("parent_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
