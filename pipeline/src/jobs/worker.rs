//! The worker pool: claims jobs of the kinds it has handlers for, runs each handler on its own
//! task while a heartbeat task renews the lease and writes progress, and records the outcome
//! (done with follow-up jobs, retry later, failed for good).
//!
//! A worker that dies mid-job (SIGKILL, power loss) simply stops renewing its lease; the job
//! is claimed again elsewhere once the lease expires. A worker that was only slow finds on
//! completion that the lease is no longer its own, and its result is dropped.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle, JoinSet};

use super::queue::{Job, NewJob, Queue};

/// Why a handler did not succeed.
#[derive(Debug)]
pub enum JobError {
    /// Transient (a busy resource, a network blip): try again after a backoff.
    Retry(anyhow::Error),
    /// Final (the input is at fault): the job fails with this reason, shown to people.
    Fatal(String),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Retry(e) => write!(f, "{e:#}"),
            JobError::Fatal(reason) => f.write_str(reason),
        }
    }
}

/// `?` on an anyhow error in a handler means "transient"; use [`JobError::Fatal`] explicitly
/// for failures that a retry cannot fix.
impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> JobError {
        JobError::Retry(e)
    }
}

/// A handler's success: the job's result, and the jobs to enqueue next (in the same
/// transaction that marks this one done).
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub result: Value,
    pub next: Vec<NewJob>,
}

impl Done {
    pub fn new(result: Value) -> Done {
        Done {
            result,
            next: Vec::new(),
        }
    }

    /// Adds a follow-up job.
    pub fn then(mut self, job: NewJob) -> Done {
        self.next.push(job);
        self
    }
}

/// The latest progress a handler reported, picked up by the heartbeat.
#[derive(Debug, Clone, Default)]
pub(super) struct Progress {
    fraction: f64,
    note: Option<String>,
}

/// What a handler gets: its job, and a cheap way to report progress. Clone it into blocking
/// threads freely.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub job: Job,
    pub worker_id: String,
    progress: Arc<watch::Sender<Progress>>,
    lease_lost: Arc<AtomicBool>,
}

impl JobContext {
    /// The context of a claimed job, with the receiving ends its heartbeat reads.
    pub(super) fn new(
        job: Job,
        worker_id: &str,
    ) -> (JobContext, watch::Receiver<Progress>, Arc<AtomicBool>) {
        let (progress_tx, progress_rx) = watch::channel(Progress::default());
        let lease_lost = Arc::new(AtomicBool::new(false));
        let ctx = JobContext {
            job,
            worker_id: worker_id.to_string(),
            progress: Arc::new(progress_tx),
            lease_lost: lease_lost.clone(),
        };
        (ctx, progress_rx, lease_lost)
    }

    /// Records progress (0..1) and a short note; cheap and synchronous, callable from any
    /// thread. The heartbeat writes the latest value to the database.
    pub fn progress(&self, fraction: f64, note: Option<&str>) {
        self.progress.send_replace(Progress {
            fraction,
            note: note.map(str::to_string),
        });
    }

    /// Progress as a plain function (fraction only), for media code that knows nothing of jobs.
    pub fn progress_fn(&self) -> Arc<dyn Fn(f64) + Send + Sync> {
        let ctx = self.clone();
        Arc::new(move |fraction| ctx.progress(fraction, None))
    }

    /// True once the heartbeat found the lease taken over: the job now runs elsewhere and this
    /// run's result will be discarded, so a long handler may as well stop.
    pub fn lease_lost(&self) -> bool {
        self.lease_lost.load(Ordering::Relaxed)
    }
}

/// The future a handler returns.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<Done, JobError>> + Send + 'a>>;

/// Runs the jobs of one kind.
pub trait Handler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    fn run(&self, ctx: JobContext) -> JobFuture<'_>;
}

/// Runs up to `concurrency` jobs at once, each in its own worker slot.
#[derive(Clone)]
pub struct WorkerPool {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Queue,
    handlers: HashMap<&'static str, Arc<dyn Handler>>,
    kinds: Vec<&'static str>,
    concurrency: usize,
    prefix: String,
    /// How long shutdown waits for running jobs before leaving their leases to expire.
    grace: Duration,
    heartbeat_every: Duration,
    poll: Duration,
    /// `jobs.limits` and the jobs of each kind running now.
    limits: Arc<KindLimits>,
}

impl WorkerPool {
    pub fn new(
        queue: Queue,
        handlers: Vec<Arc<dyn Handler>>,
        concurrency: usize,
        worker_id_prefix: String,
    ) -> Self {
        let cfg = queue.config().clone();
        if cfg.heartbeat_s >= cfg.lease_s {
            tracing::warn!(
                heartbeat_s = cfg.heartbeat_s,
                lease_s = cfg.lease_s,
                "jobs.heartbeat_s should be well below jobs.lease_s, or running jobs will be \
                 taken over by other workers"
            );
        }
        let handlers: HashMap<_, _> = handlers.into_iter().map(|h| (h.kind(), h)).collect();
        let mut kinds: Vec<_> = handlers.keys().copied().collect();
        kinds.sort_unstable();
        WorkerPool {
            inner: Arc::new(Inner {
                queue,
                handlers,
                kinds,
                concurrency: concurrency.max(1),
                prefix: worker_id_prefix,
                grace: Duration::from_secs(cfg.lease_s),
                heartbeat_every: Duration::from_secs(cfg.heartbeat_s.max(1)),
                poll: Duration::from_millis(cfg.poll_ms.max(1)),
                limits: Arc::new(KindLimits::new(&cfg.limits)),
            }),
        }
    }

    /// How long shutdown waits for running jobs. Default: the lease length.
    pub fn with_grace(self, grace: Duration) -> Self {
        self.map_inner(|i| i.grace = grace)
    }

    /// How often running jobs renew their lease. Default: `JobsConfig::heartbeat_s`.
    pub fn with_heartbeat_every(self, every: Duration) -> Self {
        self.map_inner(|i| i.heartbeat_every = every.max(Duration::from_millis(1)))
    }

    fn map_inner(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            queue: shared.queue.clone(),
            handlers: shared.handlers.clone(),
            kinds: shared.kinds.clone(),
            concurrency: shared.concurrency,
            prefix: shared.prefix.clone(),
            grace: shared.grace,
            heartbeat_every: shared.heartbeat_every,
            poll: shared.poll,
            limits: Arc::new(KindLimits::new(&shared.limits.limits)),
        });
        change(&mut inner);
        WorkerPool {
            inner: Arc::new(inner),
        }
    }

    /// The ids the pool's slots use: "{prefix}-{host}-{pid}-{n}".
    pub fn worker_ids(&self) -> Vec<String> {
        let host = host_name();
        let pid = std::process::id();
        (0..self.inner.concurrency)
            .map(|n| format!("{}-{host}-{pid}-{n}", self.inner.prefix))
            .collect()
    }

    /// Runs until `shutdown` resolves; then stops claiming, lets running jobs finish (or, if
    /// they take longer than the grace period, leaves their leases to expire).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut slots = JoinSet::new();
        for id in self.worker_ids() {
            let pool = self.clone();
            let stop = stop_rx.clone();
            slots.spawn(async move { pool.slot_loop(id, stop).await });
        }
        tracing::info!(kinds = ?self.inner.kinds, slots = self.inner.concurrency, "worker pool started");
        shutdown.await;
        let _ = stop_tx.send(true);
        tracing::info!("worker pool stopping; waiting for running jobs");
        let drain = async { while slots.join_next().await.is_some() {} };
        if tokio::time::timeout(self.inner.grace, drain).await.is_err() {
            tracing::warn!("jobs still running after the grace period; handing them back");
            slots.abort_all();
            while slots.join_next().await.is_some() {}
            for id in self.worker_ids() {
                // Unreachable database: the leases expire instead and the jobs run elsewhere.
                match self.inner.queue.release_owned(&id).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(worker = %id, jobs = n, "handed jobs back"),
                    Err(e) => tracing::warn!(worker = %id, "cannot hand jobs back: {e:#}"),
                }
            }
        }
        Ok(())
    }

    /// One worker slot: claim and run jobs until told to stop.
    async fn slot_loop(&self, worker_id: String, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match self.run_one(&worker_id).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                // The database may be briefly unavailable: keep the slot alive and try later.
                Err(e) => tracing::warn!(worker = %worker_id, "job step failed: {e:#}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.inner.poll) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// One step for tests: claim and run at most one job; Ok(None) when nothing was claimable.
    pub async fn run_one(&self, worker_id: &str) -> anyhow::Result<Option<i64>> {
        let limits = &self.inner.limits;
        let (job, _place) = {
            let _turn = limits.turn().await;
            let kinds = limits.open(&self.inner.kinds);
            if kinds.is_empty() {
                return Ok(None);
            }
            let Some(job) = self.inner.queue.claim(worker_id, &kinds).await? else {
                return Ok(None);
            };
            let place = limits.take(&job.kind);
            (job, place)
        };
        let id = job.id;
        let Some(handler) = self.inner.handlers.get(job.kind.as_str()).cloned() else {
            // Cannot happen (we only claim our kinds); fail loudly rather than loop.
            let reason = format!("no handler for jobs of kind {}", job.kind);
            self.inner.queue.fail(id, worker_id, &reason).await?;
            return Ok(Some(id));
        };
        tracing::info!(job = id, kind = %job.kind, attempt = job.attempts, worker = %worker_id, "job started");
        let (ctx, progress_rx, lease_lost) = JobContext::new(job, worker_id);
        let (queue, owner) = (self.inner.queue.clone(), worker_id.to_string());
        let beat: Beat = Arc::new(move |fraction, note| {
            let (queue, owner) = (queue.clone(), owner.clone());
            Box::pin(async move { queue.heartbeat(id, &owner, fraction, note.as_deref()).await })
        });
        let heartbeat = AbortOnDrop(tokio::spawn(heartbeat_loop(
            beat,
            id,
            worker_id.to_string(),
            progress_rx,
            lease_lost,
            self.inner.heartbeat_every,
        )));
        // Its own task, so that a panic in the handler is caught as a JoinError.
        let kind = ctx.job.kind.clone();
        let started = std::time::Instant::now();
        let mut task = AbortOnDrop(tokio::spawn(async move { handler.run(ctx).await }));
        let outcome = (&mut task.0).await;
        drop(heartbeat); // stop renewing before recording the outcome
        let label = match &outcome {
            Ok(Ok(_)) => "done",
            Ok(Err(JobError::Fatal(_))) => "failed",
            Ok(Err(JobError::Retry(_))) => "retry",
            Err(_) => "panicked",
        };
        crate::metrics::job_finished(&kind, label, started.elapsed());
        self.record(id, worker_id, outcome).await?;
        Ok(Some(id))
    }

    /// Stores a handler's outcome, if the lease is still ours.
    async fn record(
        &self,
        id: i64,
        worker_id: &str,
        outcome: Result<Result<Done, JobError>, JoinError>,
    ) -> anyhow::Result<()> {
        let queue = &self.inner.queue;
        let (applied, what) = match outcome {
            Ok(Ok(done)) => (
                queue
                    .complete(id, worker_id, done.result, done.next)
                    .await?,
                "done".to_string(),
            ),
            Ok(Err(JobError::Fatal(reason))) => (queue.fail(id, worker_id, &reason).await?, reason),
            Ok(Err(JobError::Retry(e))) => {
                let error = format!("{e:#}");
                (queue.retry_later(id, worker_id, &error).await?, error)
            }
            Err(join) => {
                let error = join_error_text(join);
                (queue.retry_later(id, worker_id, &error).await?, error)
            }
        };
        if applied {
            tracing::info!(job = id, worker = %worker_id, "job finished: {what}");
        } else {
            tracing::warn!(job = id, worker = %worker_id, "job outcome dropped: the lease was taken over ({what})");
        }
        Ok(())
    }
}

/// `jobs.limits` in one worker process: how many jobs of each kind run now.
pub(super) struct KindLimits {
    limits: std::collections::BTreeMap<String, u32>,
    running: std::sync::Mutex<HashMap<String, u32>>,
    /// One claim at a time when a limit is set, so that two slots cannot both take the last
    /// place of a kind.
    claiming: tokio::sync::Mutex<()>,
}

impl KindLimits {
    pub(super) fn new(limits: &std::collections::BTreeMap<String, u32>) -> KindLimits {
        KindLimits {
            limits: limits.clone(),
            running: Default::default(),
            claiming: Default::default(),
        }
    }

    /// Held while claiming; only a limited kind needs claims one at a time.
    pub(super) async fn turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.limits.is_empty() {
            true => None,
            false => Some(self.claiming.lock().await),
        }
    }

    /// The kinds of `kinds` with room under their limit.
    pub(super) fn open<'k>(&self, kinds: &[&'k str]) -> Vec<&'k str> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        kinds
            .iter()
            .copied()
            .filter(|k| match self.limits.get(*k) {
                Some(limit) => running.get(*k).copied().unwrap_or(0) < *limit,
                None => true,
            })
            .collect()
    }

    /// Counts a job of `kind` as running until the returned place is dropped.
    pub(super) fn take(self: &Arc<Self>, kind: &str) -> KindPlace {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        *running.entry(kind.to_string()).or_insert(0) += 1;
        KindPlace {
            limits: self.clone(),
            kind: kind.to_string(),
        }
    }
}

/// A running job's place in its kind's count.
pub(super) struct KindPlace {
    limits: Arc<KindLimits>,
    kind: String,
}

impl Drop for KindPlace {
    fn drop(&mut self) {
        let mut running = self
            .limits
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = running.get_mut(&self.kind) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Renews a lease: `(progress, note)` → Ok(false) once the lease is no longer ours.
pub(super) type Beat = Arc<
    dyn Fn(f64, Option<String>) -> super::split::BoxFuture<'static, anyhow::Result<bool>>
        + Send
        + Sync,
>;

/// Renews the lease and writes the latest progress every `every`, until aborted or the lease
/// is found lost.
pub(super) async fn heartbeat_loop(
    beat: Beat,
    id: i64,
    worker_id: String,
    mut progress: watch::Receiver<Progress>,
    lease_lost: Arc<AtomicBool>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; the claim just set the lease
    loop {
        tick.tick().await;
        let p = progress.borrow_and_update().clone();
        match beat(p.fraction, p.note).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = id, worker = %worker_id, "lease lost: another worker has taken the job over");
                lease_lost.store(true, Ordering::Relaxed);
                return;
            }
            // Keep trying: the lease is still valid for a while.
            Err(e) => tracing::warn!(job = id, "cannot renew the lease: {e:#}"),
        }
    }
}

pub(super) fn join_error_text(join: JoinError) -> String {
    if join.is_panic() {
        format!(
            "the job handler panicked: {}",
            panic_message(join.into_panic())
        )
    } else {
        "the job handler was cancelled".to_string()
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// This machine's name, for worker ids.
pub(super) fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    if name.is_empty() {
        "localhost".to_string()
    } else {
        name
    }
}

/// A spawned task that is aborted when its owner goes away (a shutdown past the grace period
/// drops `run_one`; the handler and heartbeat must not outlive it).
pub(super) struct AbortOnDrop<T>(pub(super) JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
