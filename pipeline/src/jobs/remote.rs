//! Remote workers: machines without database credentials that run the compute half of split
//! kinds (`jobs::split`) for the studio.
//!
//! - [`Dispatch`] is the studio's side: it leases a job of the kinds a worker can run (its
//!   capabilities meet the kind's needs), prepares its task, and records what the worker sends
//!   back, always only while that worker holds the lease.
//! - [`Studio`] is the worker's view of the studio (HTTP in gala-studio; [`Direct`] in
//!   process); [`RemotePool`] runs slots against it: lease, compute with heartbeats, deliver,
//!   and on shutdown hand back what has not finished in the grace period.
//!
//! A worker that disappears stops heartbeating; its lease expires and the job is claimed
//! again, as with local workers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::queue::{Job, Queue};
use super::split::{settle, BoxFuture, Capabilities, Compute, Ledger, Prepared};
use super::worker::{heartbeat_loop, join_error_text, AbortOnDrop, Beat, JobContext, KindLimits};
use super::JobError;

/// A leased job: the row and its task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leased {
    pub job: Job,
    pub task: Value,
}

/// The studio as a remote worker sees it. `slot` tells the worker's slots apart; who the
/// worker is, the implementation knows (its token).
pub trait Studio: Send + Sync + 'static {
    /// A job of one of `kinds` and its task; None when there is none.
    fn lease(&self, slot: u32, kinds: Vec<String>)
        -> BoxFuture<'_, anyhow::Result<Option<Leased>>>;
    /// Renews the lease; Ok(false) when it is no longer this slot's.
    fn heartbeat(
        &self,
        slot: u32,
        id: i64,
        progress: f64,
        note: Option<String>,
    ) -> BoxFuture<'_, anyhow::Result<bool>>;
    /// Delivers the output; Ok(false) when the lease was no longer this slot's (dropped).
    fn complete(&self, slot: u32, id: i64, output: Value) -> BoxFuture<'_, anyhow::Result<bool>>;
    /// Reports a failure: `retry` for a transient one.
    fn fail(
        &self,
        slot: u32,
        id: i64,
        error: String,
        retry: bool,
    ) -> BoxFuture<'_, anyhow::Result<bool>>;
    /// Hands the job back unfinished (draining).
    fn release(&self, slot: u32, id: i64) -> BoxFuture<'_, anyhow::Result<bool>>;
}

/// The studio's side: the queue and the ledger halves of the split kinds.
pub struct Dispatch {
    queue: Queue,
    ledgers: HashMap<&'static str, Arc<dyn Ledger>>,
    /// When this server leased each job still out, for `gala_job_seconds` (a job delivered
    /// through another server is not timed).
    leased: Mutex<HashMap<i64, std::time::Instant>>,
}

impl Dispatch {
    pub fn new(queue: Queue, ledgers: Vec<Arc<dyn Ledger>>) -> Dispatch {
        Dispatch {
            queue,
            ledgers: ledgers.into_iter().map(|l| (l.kind(), l)).collect(),
            leased: Mutex::default(),
        }
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// The kinds a worker with `caps` may lease: split kinds it has the compute half of and
    /// whose needs it meets.
    pub fn kinds_for(&self, caps: &Capabilities) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self
            .ledgers
            .values()
            .filter(|l| caps.kinds.iter().any(|k| k == l.kind()) && caps.meets(&l.needs()))
            .map(|l| l.kind())
            .collect();
        kinds.sort_unstable();
        kinds
    }

    /// Claims a job of `wanted` (limited to what `caps` allows) for `owner` and prepares its
    /// task. Jobs that need no work (prepared as done) or fail to prepare are settled here and
    /// the next one is tried.
    pub async fn lease(
        &self,
        owner: &str,
        caps: &Capabilities,
        wanted: &[String],
    ) -> anyhow::Result<Option<Leased>> {
        let kinds: Vec<&str> = self
            .kinds_for(caps)
            .into_iter()
            .filter(|k| wanted.iter().any(|w| w == k))
            .collect();
        for _ in 0..16 {
            let Some(job) = self.queue.claim(owner, &kinds).await? else {
                return Ok(None);
            };
            let ledger = self.ledger(&job.kind)?;
            match ledger.prepare(job.clone()).await {
                Ok(Prepared::Task(task)) => {
                    self.leased().insert(job.id, std::time::Instant::now());
                    return Ok(Some(Leased { job, task }));
                }
                Ok(Prepared::Done(done)) => {
                    self.queue
                        .complete(job.id, owner, done.result, done.next)
                        .await?;
                }
                Err(e) => {
                    self.settle(owner, job, e).await?;
                }
            }
        }
        Ok(None)
    }

    pub async fn heartbeat(
        &self,
        owner: &str,
        id: i64,
        progress: f64,
        note: Option<&str>,
    ) -> anyhow::Result<bool> {
        self.queue.heartbeat(id, owner, progress, note).await
    }

    /// Records a worker's output and completes the job with its follow-ups; a bad output is
    /// a failed try. Ok(false) when `owner` does not hold the lease (nothing recorded).
    pub async fn complete(&self, owner: &str, id: i64, output: Value) -> anyhow::Result<bool> {
        let Some(job) = self.held(owner, id).await? else {
            return Ok(false);
        };
        let ledger = self.ledger(&job.kind)?;
        match ledger.record(job.clone(), output).await {
            Ok(done) => {
                let applied = self
                    .queue
                    .complete(id, owner, done.result, done.next)
                    .await?;
                if applied {
                    self.timed(&job, "done");
                }
                Ok(applied)
            }
            Err(e) => self.settle(owner, job, e).await,
        }
    }

    fn leased(&self) -> std::sync::MutexGuard<'_, HashMap<i64, std::time::Instant>> {
        self.leased.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the job's time since this server leased it, under `outcome`.
    fn timed(&self, job: &Job, outcome: &'static str) {
        let started = self.leased().remove(&job.id);
        if let Some(started) = started {
            crate::metrics::job_finished(&job.kind, outcome, started.elapsed());
        }
    }

    /// A failure reported by the worker: retried while attempts remain (when `retry`), else
    /// failed for good through the ledger (its subject marked).
    pub async fn fail(
        &self,
        owner: &str,
        id: i64,
        error: &str,
        retry: bool,
    ) -> anyhow::Result<bool> {
        let Some(job) = self.held(owner, id).await? else {
            return Ok(false);
        };
        let error = match retry {
            true => JobError::Retry(anyhow::anyhow!("{error}")),
            false => JobError::Fatal(error.to_string()),
        };
        self.settle(owner, job, error).await
    }

    pub async fn release(&self, owner: &str, id: i64) -> anyhow::Result<bool> {
        let released = self.queue.release(id, owner).await?;
        if released {
            self.leased().remove(&id);
        }
        Ok(released)
    }

    /// The job when `owner` holds its lease now.
    async fn held(&self, owner: &str, id: i64) -> anyhow::Result<Option<Job>> {
        let job = self.queue.get(id).await?;
        Ok(job.filter(|j| {
            j.state == super::JobState::Running && j.lease_owner.as_deref() == Some(owner)
        }))
    }

    fn ledger(&self, kind: &str) -> anyhow::Result<&Arc<dyn Ledger>> {
        self.ledgers
            .get(kind)
            .ok_or_else(|| anyhow::anyhow!("jobs of kind {kind} cannot run on remote workers"))
    }

    /// Applies a failed try: back to the queue, or failed for good.
    async fn settle(&self, owner: &str, job: Job, error: JobError) -> anyhow::Result<bool> {
        let (id, ledger) = (job.id, self.ledger(&job.kind)?.clone());
        let (applied, outcome) = match settle(ledger.as_ref(), job.clone(), error).await {
            JobError::Retry(e) => (
                self.queue.retry_later(id, owner, &format!("{e:#}")).await?,
                "retry",
            ),
            JobError::Fatal(reason) => (self.queue.fail(id, owner, &reason).await?, "failed"),
        };
        if applied {
            self.timed(&job, outcome);
        }
        Ok(applied)
    }
}

/// A worker in the studio's own process: [`Dispatch`] called directly, for tests and for one
/// machine that wants the remote path without HTTP.
pub struct Direct {
    pub dispatch: Arc<Dispatch>,
    /// The worker's name; slot `n` leases as `{name}/{n}`.
    pub name: String,
    pub caps: Capabilities,
}

impl Direct {
    fn owner(&self, slot: u32) -> String {
        format!("{}/{slot}", self.name)
    }
}

impl Studio for Direct {
    fn lease(
        &self,
        slot: u32,
        kinds: Vec<String>,
    ) -> BoxFuture<'_, anyhow::Result<Option<Leased>>> {
        Box::pin(async move {
            self.dispatch
                .lease(&self.owner(slot), &self.caps, &kinds)
                .await
        })
    }

    fn heartbeat(
        &self,
        slot: u32,
        id: i64,
        progress: f64,
        note: Option<String>,
    ) -> BoxFuture<'_, anyhow::Result<bool>> {
        Box::pin(async move {
            let owner = self.owner(slot);
            self.dispatch
                .heartbeat(&owner, id, progress, note.as_deref())
                .await
        })
    }

    fn complete(&self, slot: u32, id: i64, output: Value) -> BoxFuture<'_, anyhow::Result<bool>> {
        Box::pin(async move { self.dispatch.complete(&self.owner(slot), id, output).await })
    }

    fn fail(
        &self,
        slot: u32,
        id: i64,
        error: String,
        retry: bool,
    ) -> BoxFuture<'_, anyhow::Result<bool>> {
        Box::pin(async move {
            self.dispatch
                .fail(&self.owner(slot), id, &error, retry)
                .await
        })
    }

    fn release(&self, slot: u32, id: i64) -> BoxFuture<'_, anyhow::Result<bool>> {
        Box::pin(async move { self.dispatch.release(&self.owner(slot), id).await })
    }
}

/// Timing of a [`RemotePool`].
#[derive(Debug, Clone)]
pub struct RemoteTiming {
    /// How often a running job's lease is renewed.
    pub heartbeat_every: Duration,
    /// How long an idle slot waits before asking again.
    pub poll: Duration,
    /// How long shutdown lets running jobs finish before handing them back.
    pub grace: Duration,
    /// How long a finished job's delivery is retried while the studio does not answer.
    pub deliver_for: Duration,
}

/// A remote worker's slots: each leases a job from the studio, computes it with heartbeats
/// and delivers the output.
#[derive(Clone)]
pub struct RemotePool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    studio: Arc<dyn Studio>,
    computes: HashMap<&'static str, Arc<dyn Compute>>,
    kinds: Vec<&'static str>,
    slots: u32,
    name: String,
    timing: RemoteTiming,
    limits: Arc<KindLimits>,
    /// The job each busy slot runs.
    busy: Mutex<HashMap<u32, i64>>,
}

impl RemotePool {
    pub fn new(
        studio: Arc<dyn Studio>,
        computes: Vec<Arc<dyn Compute>>,
        slots: u32,
        name: &str,
        timing: RemoteTiming,
        limits: &std::collections::BTreeMap<String, u32>,
    ) -> RemotePool {
        let computes: HashMap<_, _> = computes.into_iter().map(|c| (c.kind(), c)).collect();
        let mut kinds: Vec<_> = computes.keys().copied().collect();
        kinds.sort_unstable();
        RemotePool {
            inner: Arc::new(PoolInner {
                studio,
                computes,
                kinds,
                slots: slots.max(1),
                name: name.to_string(),
                timing,
                limits: Arc::new(KindLimits::new(limits)),
                busy: Mutex::default(),
            }),
        }
    }

    /// The kinds this pool can compute.
    pub fn kinds(&self) -> Vec<String> {
        self.inner.kinds.iter().map(|k| k.to_string()).collect()
    }

    /// Runs until `shutdown` resolves; then stops leasing, lets running jobs finish for the
    /// grace period and hands back the rest.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut slots = JoinSet::new();
        for slot in 0..self.inner.slots {
            let pool = self.clone();
            let stop = stop_rx.clone();
            slots.spawn(async move { pool.slot_loop(slot, stop).await });
        }
        tracing::info!(kinds = ?self.inner.kinds, slots = self.inner.slots, worker = %self.inner.name, "remote worker started");
        shutdown.await;
        let _ = stop_tx.send(true);
        tracing::info!("remote worker draining: no new jobs; waiting for running jobs");
        let drain = async { while slots.join_next().await.is_some() {} };
        if tokio::time::timeout(self.inner.timing.grace, drain)
            .await
            .is_err()
        {
            slots.abort_all();
            while slots.join_next().await.is_some() {}
            let busy: Vec<(u32, i64)> = self.busy().drain().collect();
            for (slot, id) in busy {
                match self.inner.studio.release(slot, id).await {
                    Ok(_) => tracing::info!(job = id, "handed back unfinished"),
                    Err(e) => tracing::warn!(
                        job = id,
                        "cannot hand the job back (its lease will expire): {e:#}"
                    ),
                }
            }
        }
        Ok(())
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, HashMap<u32, i64>> {
        self.inner.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn slot_loop(&self, slot: u32, mut stop: watch::Receiver<bool>) {
        let mut idle = self.inner.timing.poll;
        loop {
            if *stop.borrow() {
                return;
            }
            match self.run_one(slot).await {
                Ok(Some(_)) => {
                    idle = self.inner.timing.poll;
                    continue;
                }
                Ok(None) => idle = self.inner.timing.poll,
                // The studio may be restarting: back off up to ten polls.
                Err(e) => {
                    tracing::warn!(slot, "cannot lease from the studio: {e:#}");
                    idle = (idle * 2).min(self.inner.timing.poll * 10);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Leases and runs at most one job; Ok(None) when there was none.
    pub async fn run_one(&self, slot: u32) -> anyhow::Result<Option<i64>> {
        let inner = &self.inner;
        let (leased, _place) = {
            let _turn = inner.limits.turn().await;
            let kinds = inner.limits.open(&inner.kinds);
            if kinds.is_empty() {
                return Ok(None);
            }
            let wanted = kinds.iter().map(|k| k.to_string()).collect();
            let Some(leased) = inner.studio.lease(slot, wanted).await? else {
                return Ok(None);
            };
            let place = inner.limits.take(&leased.job.kind);
            (leased, place)
        };
        let Leased { job, task } = leased;
        let (id, kind) = (job.id, job.kind.clone());
        let Some(compute) = inner.computes.get(kind.as_str()).cloned() else {
            let error = format!("worker {} cannot run jobs of kind {kind}", inner.name);
            inner.studio.release(slot, id).await?;
            anyhow::bail!(error);
        };
        self.busy().insert(slot, id);
        tracing::info!(job = id, kind = %kind, attempt = job.attempts, slot, "job started");
        let owner = format!("{}/{slot}", inner.name);
        let (ctx, progress_rx, lease_lost) = JobContext::new(job, &owner);
        let studio = inner.studio.clone();
        let beat: Beat = Arc::new(move |fraction, note| {
            let studio = studio.clone();
            Box::pin(async move { studio.heartbeat(slot, id, fraction, note).await })
        });
        let heartbeat = AbortOnDrop(tokio::spawn(heartbeat_loop(
            beat,
            id,
            owner,
            progress_rx,
            lease_lost,
            inner.timing.heartbeat_every,
        )));
        let mut task = AbortOnDrop(tokio::spawn(
            async move { compute.compute(task, ctx).await },
        ));
        let outcome = (&mut task.0).await;
        drop(heartbeat);
        let (label, delivery) = match outcome {
            Ok(Ok(output)) => ("done", Delivery::Output(output)),
            Ok(Err(JobError::Fatal(reason))) => ("failed", Delivery::Failure(reason, false)),
            Ok(Err(JobError::Retry(e))) => ("retry", Delivery::Failure(format!("{e:#}"), true)),
            Err(join) => ("panicked", Delivery::Failure(join_error_text(join), true)),
        };
        // Timed by the studio (`gala_job_seconds`), which serves the metrics.
        let applied = self.deliver(slot, id, delivery).await;
        self.busy().remove(&slot);
        match applied {
            Ok(true) => tracing::info!(job = id, slot, "job delivered: {label}"),
            Ok(false) => tracing::warn!(
                job = id,
                slot,
                "job outcome dropped: the lease was taken over"
            ),
            Err(e) => tracing::warn!(
                job = id,
                slot,
                "cannot deliver the job (its lease will expire and it runs again): {e:#}"
            ),
        }
        Ok(Some(id))
    }

    /// Sends an outcome, retrying while the studio does not answer (a restart, a network
    /// blip) for up to `deliver_for`.
    async fn deliver(&self, slot: u32, id: i64, delivery: Delivery) -> anyhow::Result<bool> {
        let studio = &self.inner.studio;
        let until = std::time::Instant::now() + self.inner.timing.deliver_for;
        let mut wait = Duration::from_millis(200);
        loop {
            let sent = match &delivery {
                Delivery::Output(output) => studio.complete(slot, id, output.clone()).await,
                Delivery::Failure(error, retry) => {
                    studio.fail(slot, id, error.clone(), *retry).await
                }
            };
            match sent {
                Err(e) if std::time::Instant::now() < until => {
                    tracing::warn!(job = id, "the studio does not take the outcome yet: {e:#}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                other => return other,
            }
        }
    }
}

/// What a finished compute sends back.
enum Delivery {
    Output(Value),
    /// The error, and whether a retry may help.
    Failure(String, bool),
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
