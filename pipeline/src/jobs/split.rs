//! Job kinds split in two halves, so that the heavy half can run on a machine without the
//! database (a remote worker, like PeerTube's runners):
//!
//! - the [`Ledger`] half reads and writes the database: it turns a claimed job into a
//!   self-contained task (object digests and settings, as JSON) and records the worker's
//!   output (the job's rows and its follow-up jobs);
//! - the [`Compute`] half does the media or model work from the task alone, reading and
//!   writing objects through the media store, and returns the output as JSON.
//!
//! A local worker runs both halves in turn ([`Local`], an ordinary [`Handler`]); the studio
//! runs the ledger half for remote workers (`jobs::remote::Dispatch`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::queue::Job;
use super::worker::{Done, Handler, JobContext, JobError, JobFuture};
use crate::storage::media::MediaStore;

/// A boxed future that may be sent between threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the ledger half makes of a claimed job.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    /// The work to compute: self-contained, no database needed.
    Task(Value),
    /// Nothing to compute (the subject was already finished or refused): the job is done.
    Done(Done),
}

/// What a worker must have to run a kind: model roles (as `models.*` names them) and a GPU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Needs {
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub gpu: bool,
}

/// What a worker says it can run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The kinds it has the compute half of.
    pub kinds: Vec<String>,
    /// The model roles it has configured.
    #[serde(default)]
    pub models: Vec<String>,
    /// Whether it runs models on a GPU.
    #[serde(default)]
    pub gpu: bool,
    /// Jobs it runs at once.
    #[serde(default)]
    pub slots: u32,
}

impl Capabilities {
    /// Whether a worker with these capabilities can run a kind that needs `needs`.
    pub fn meets(&self, needs: &Needs) -> bool {
        (!needs.gpu || self.gpu) && needs.models.iter().all(|m| self.models.contains(m))
    }
}

/// The database half of a kind: runs where the database is (the studio, a local worker).
pub trait Ledger: Send + Sync + 'static {
    fn kind(&self) -> &'static str;

    /// What a worker needs for this kind, under the studio's configuration.
    fn needs(&self) -> Needs {
        Needs::default()
    }

    /// The task of a claimed job.
    fn prepare(&self, job: Job) -> BoxFuture<'_, Result<Prepared, JobError>>;

    /// Records a worker's output; returns the job's result and follow-up jobs. An output that
    /// names objects the store does not hold, or does not parse, is an error.
    fn record(&self, job: Job, output: Value) -> BoxFuture<'_, Result<Done, JobError>>;

    /// The job fails for good with `error` (its last attempt, or a fatal error): marks its
    /// subject where it has one and returns the reason the job keeps.
    fn give_up(&self, job: Job, error: String) -> BoxFuture<'_, anyhow::Result<String>> {
        let _ = job;
        Box::pin(async move { Ok(error) })
    }
}

/// The work half of a kind: no database, only the task, the media store and the models.
pub trait Compute: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    fn compute(&self, task: Value, ctx: JobContext) -> BoxFuture<'_, Result<Value, JobError>>;
}

/// Both halves run in one worker with the database: an ordinary handler.
pub struct Local {
    pub ledger: Arc<dyn Ledger>,
    pub compute: Arc<dyn Compute>,
}

impl Local {
    /// The handlers of matching ledger and compute halves (by kind).
    pub fn pair(
        ledgers: Vec<Arc<dyn Ledger>>,
        computes: Vec<Arc<dyn Compute>>,
    ) -> Vec<Arc<dyn Handler>> {
        ledgers
            .into_iter()
            .filter_map(|ledger| {
                let compute = computes.iter().find(|c| c.kind() == ledger.kind())?.clone();
                Some(Arc::new(Local { ledger, compute }) as Arc<dyn Handler>)
            })
            .collect()
    }
}

impl Handler for Local {
    fn kind(&self) -> &'static str {
        self.ledger.kind()
    }

    fn run(&self, ctx: JobContext) -> JobFuture<'_> {
        Box::pin(async move {
            let task = match self.ledger.prepare(ctx.job.clone()).await? {
                Prepared::Done(done) => return Ok(done),
                Prepared::Task(task) => task,
            };
            let job = ctx.job.clone();
            match self.compute.compute(task, ctx).await {
                Ok(output) => self.ledger.record(job, output).await,
                Err(e) => Err(settle(self.ledger.as_ref(), job, e).await),
            }
        })
    }
}

/// What a compute failure becomes: a retry while attempts remain, else the ledger's final
/// reason (its subject marked failed).
pub async fn settle(ledger: &dyn Ledger, job: Job, error: JobError) -> JobError {
    let last_try = job.attempts >= job.max_attempts;
    let text = match error {
        JobError::Retry(e) if !last_try => return JobError::Retry(e),
        JobError::Retry(e) => format!("{e:#}"),
        JobError::Fatal(reason) => reason,
    };
    match ledger.give_up(job, text).await {
        Ok(reason) => JobError::Fatal(reason),
        Err(e) => JobError::Retry(e),
    }
}

/// Refuses an output that names objects the media store does not hold (a worker that never
/// finished its upload): a failed try.
pub async fn held(store: &Arc<dyn MediaStore>, digests: &[&str]) -> Result<(), JobError> {
    let store = store.clone();
    let digests: Vec<String> = digests.iter().map(|d| d.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        for d in &digests {
            if !store.exists(d)? {
                anyhow::bail!("a worker named object {d}, which the media store does not hold");
            }
        }
        Ok(())
    })
    .await
    .map_err(anyhow::Error::from)??;
    Ok(())
}

/// Parses a task or an output; a malformed one is fatal (it cannot get better on a retry).
pub fn parse<T: serde::de::DeserializeOwned>(what: &str, value: Value) -> Result<T, JobError> {
    serde_json::from_value(value).map_err(|e| JobError::Fatal(format!("bad {what}: {e}")))
}

/// Parses a worker's output; a malformed one is retried (another worker may do better).
pub fn output<T: serde::de::DeserializeOwned>(kind: &str, value: Value) -> Result<T, JobError> {
    serde_json::from_value(value)
        .map_err(|e| JobError::Retry(anyhow::anyhow!("a {kind} worker sent a bad output: {e}")))
}
