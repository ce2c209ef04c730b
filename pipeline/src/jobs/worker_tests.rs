//! Worker pool tests, on SQLite and (when configured) PostgreSQL, with the real clock and
//! short polls so that each takes well under a second or two.

use std::sync::Mutex;

use serde_json::json;
use tokio::sync::Notify;

use super::*;
use crate::config::JobsConfig;
use crate::jobs::JobState;
use crate::storage::Db;

fn fast_config() -> JobsConfig {
    JobsConfig {
        backoff_base_s: 0,
        poll_ms: 10,
        ..JobsConfig::default()
    }
}

/// Records (kind, payload) of every run; can pause, panic, or chain a next job.
#[derive(Default)]
struct Recorder {
    kind: &'static str,
    runs: Arc<Mutex<Vec<(String, Value)>>>,
    /// Kind of the job to enqueue on success.
    then: Option<&'static str>,
    /// Panic on the first run.
    panic_once: bool,
    /// Sleep this long after reporting progress 0.5.
    sleep: Duration,
    started: Arc<Notify>,
    finished: Arc<Notify>,
}

impl Handler for Recorder {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn run(&self, ctx: JobContext) -> JobFuture<'_> {
        Box::pin(async move {
            let first = {
                let mut runs = self.runs.lock().unwrap();
                runs.push((ctx.job.kind.clone(), ctx.job.payload.clone()));
                runs.len() == 1
            };
            self.started.notify_one();
            if self.panic_once && first {
                panic!("simulated crash in the handler");
            }
            // Progress from a blocking thread, as CPU-heavy handlers do.
            let c = ctx.clone();
            tokio::task::spawn_blocking(move || c.progress(0.5, Some("half way")))
                .await
                .unwrap();
            tokio::time::sleep(self.sleep).await;
            let mut done = Done::new(json!({"ran": ctx.job.kind}));
            if let Some(next) = self.then {
                done = done.then(NewJob::new(next, ctx.job.payload.clone()));
            }
            self.finished.notify_one();
            Ok(done)
        })
    }
}

struct Failing(JobError);

impl Handler for Failing {
    fn kind(&self) -> &'static str {
        "failing"
    }
    fn run(&self, _ctx: JobContext) -> JobFuture<'_> {
        let error = match &self.0 {
            JobError::Retry(e) => JobError::Retry(anyhow::anyhow!("{e}")),
            JobError::Fatal(r) => JobError::Fatal(r.clone()),
        };
        Box::pin(async move { Err(error) })
    }
}

fn pool(db: &Db, handlers: Vec<Arc<dyn Handler>>) -> WorkerPool {
    WorkerPool::new(
        Queue::new(db.clone(), fast_config()),
        handlers,
        2,
        "test".into(),
    )
}

async fn run_one_runs_and_records(db: Db) {
    let rec = Arc::new(Recorder {
        kind: "record",
        ..Default::default()
    });
    let pool = pool(&db, vec![rec.clone()]);
    let q = Queue::new(db, fast_config());
    let id = q
        .enqueue(NewJob::new("record", json!({"n": 1})))
        .await
        .unwrap();
    q.enqueue(NewJob::new("unhandled", json!({})))
        .await
        .unwrap();
    assert_eq!(pool.run_one("w").await.unwrap(), Some(id));
    assert_eq!(
        pool.run_one("w").await.unwrap(),
        None,
        "no handler for the other kind"
    );
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.result, Some(json!({"ran": "record"})));
    assert_eq!(
        *rec.runs.lock().unwrap(),
        vec![("record".to_string(), json!({"n": 1}))]
    );
}

async fn chain_runs_in_order(db: Db) {
    let runs = Arc::new(Mutex::new(Vec::new()));
    let first = Arc::new(Recorder {
        kind: "first",
        runs: runs.clone(),
        then: Some("second"),
        ..Default::default()
    });
    let second = Arc::new(Recorder {
        kind: "second",
        runs: runs.clone(),
        ..Default::default()
    });
    let second_done = second.finished.clone();
    let q = Queue::new(db.clone(), fast_config());
    let id = q
        .enqueue(NewJob::new("first", json!({"clip": 9})))
        .await
        .unwrap();
    let pool = pool(&db, vec![first, second]);
    let waited = tokio::time::timeout(
        Duration::from_secs(5),
        pool.run(async move {
            second_done.notified().await;
        }),
    )
    .await;
    assert!(waited.is_ok(), "the chain did not finish");
    let kinds: Vec<_> = runs.lock().unwrap().iter().map(|r| r.0.clone()).collect();
    assert_eq!(kinds, ["first", "second"]);
    let children = q.children(id).await.unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].payload, json!({"clip": 9}));
    assert_eq!(
        children[0].state,
        JobState::Done,
        "drained before run returned"
    );
}

async fn shutdown_drains_running_jobs(db: Db) {
    let rec = Arc::new(Recorder {
        kind: "slow",
        sleep: Duration::from_millis(300),
        ..Default::default()
    });
    let started = rec.started.clone();
    let q = Queue::new(db.clone(), fast_config());
    let id = q.enqueue(NewJob::new("slow", json!({}))).await.unwrap();
    let later = q.enqueue(NewJob::new("slow", json!({})).run_after(crate::now_ms() + 60_000));
    let later = later.await.unwrap();
    pool(&db, vec![rec.clone()])
        .run(async move { started.notified().await })
        .await
        .unwrap();
    assert_eq!(q.get(id).await.unwrap().unwrap().state, JobState::Done);
    assert_eq!(q.get(later).await.unwrap().unwrap().state, JobState::Queued);
    assert_eq!(rec.runs.lock().unwrap().len(), 1);
}

async fn shutdown_past_grace_hands_the_job_back(db: Db) {
    let rec = Arc::new(Recorder {
        kind: "stuck",
        sleep: Duration::from_secs(30),
        ..Default::default()
    });
    let started = rec.started.clone();
    let q = Queue::new(db.clone(), fast_config());
    let id = q.enqueue(NewJob::new("stuck", json!({}))).await.unwrap();
    let begun = std::time::Instant::now();
    pool(&db, vec![rec])
        .with_grace(Duration::from_millis(100))
        .run(async move { started.notified().await })
        .await
        .unwrap();
    assert!(begun.elapsed() < Duration::from_secs(5));
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(
        job.state,
        JobState::Queued,
        "handed back, not left to its lease"
    );
    assert_eq!(job.attempts, 0, "a handed-back try is not an attempt");
    assert_eq!(job.lease_owner, None);
    assert!(job.last_error.unwrap().contains("handed back"));
}

async fn panicking_handler_is_retried(db: Db) {
    let rec = Arc::new(Recorder {
        kind: "crashy",
        panic_once: true,
        ..Default::default()
    });
    let pool = pool(&db, vec![rec.clone()]);
    let q = Queue::new(db, fast_config());
    let id = q.enqueue(NewJob::new("crashy", json!({}))).await.unwrap();
    assert_eq!(pool.run_one("w").await.unwrap(), Some(id));
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Queued);
    let error = job.last_error.unwrap();
    assert!(
        error.contains("panicked") && error.contains("simulated crash"),
        "{error}"
    );
    assert_eq!(pool.run_one("w").await.unwrap(), Some(id));
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Done, 2));
    assert_eq!(rec.runs.lock().unwrap().len(), 2);
}

async fn handler_errors_retry_or_fail(db: Db) {
    let q = Queue::new(db.clone(), fast_config());
    let retry = pool(
        &db,
        vec![Arc::new(Failing(JobError::Retry(anyhow::anyhow!("busy"))))],
    );
    let id = q.enqueue(NewJob::new("failing", json!({}))).await.unwrap();
    for _ in 0..3 {
        assert_eq!(retry.run_one("w").await.unwrap(), Some(id));
    }
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Failed, 3));
    assert!(job.last_error.unwrap().contains("busy"));

    let fatal = pool(
        &db,
        vec![Arc::new(Failing(JobError::Fatal("unreadable".into())))],
    );
    let id = q.enqueue(NewJob::new("failing", json!({}))).await.unwrap();
    assert_eq!(fatal.run_one("w").await.unwrap(), Some(id));
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Failed, 1));
    assert_eq!(job.last_error.as_deref(), Some("unreadable"));
}

async fn heartbeat_writes_progress(db: Db) {
    let rec = Arc::new(Recorder {
        kind: "slow",
        sleep: Duration::from_millis(600),
        ..Default::default()
    });
    let pool = pool(&db, vec![rec]).with_heartbeat_every(Duration::from_millis(50));
    let q = Queue::new(db, fast_config());
    let id = q.enqueue(NewJob::new("slow", json!({}))).await.unwrap();
    let running = tokio::spawn(async move { pool.run_one("w").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.progress, 0.5);
    assert_eq!(job.progress_note.as_deref(), Some("half way"));
    assert_eq!(running.await.unwrap().unwrap(), Some(id));
    assert_eq!(q.get(id).await.unwrap().unwrap().state, JobState::Done);
}

#[test]
fn worker_ids_name_host_pid_and_slot() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(crate::storage::testing::TestDb::sqlite());
    let q = Queue::new(t.db.clone(), fast_config());
    let ids = WorkerPool::new(q, vec![], 3, "gala".into()).worker_ids();
    assert_eq!(ids.len(), 3);
    let pid = std::process::id().to_string();
    for (n, id) in ids.iter().enumerate() {
        assert!(id.starts_with("gala-"), "{id}");
        assert!(id.ends_with(&format!("-{pid}-{n}")), "{id}");
    }
}

/// `jobs.limits` caps one kind inside a pool: with three slots and `slow` limited to one, the
/// slow jobs never overlap while the fast ones run beside them.
async fn a_kind_limit_caps_its_jobs_in_the_pool(db: Db) {
    struct Slow {
        now: Arc<Mutex<(u32, u32)>>,
    }
    impl Handler for Slow {
        fn kind(&self) -> &'static str {
            "slow"
        }
        fn run(&self, _ctx: JobContext) -> JobFuture<'_> {
            Box::pin(async move {
                {
                    let mut n = self.now.lock().unwrap();
                    n.0 += 1;
                    n.1 = n.1.max(n.0);
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
                self.now.lock().unwrap().0 -= 1;
                Ok(Done::new(json!({})))
            })
        }
    }
    let cfg = JobsConfig {
        limits: [("slow".to_string(), 1)].into_iter().collect(),
        ..fast_config()
    };
    let slow = Arc::new(Slow {
        now: Arc::default(),
    });
    let fast = Arc::new(Recorder {
        kind: "fast",
        ..Default::default()
    });
    let q = Queue::new(db.clone(), cfg.clone());
    let pool = WorkerPool::new(
        q.clone(),
        vec![slow.clone(), fast.clone()],
        3,
        "limit".into(),
    );
    for _ in 0..3 {
        q.enqueue(NewJob::new("slow", json!({}))).await.unwrap();
    }
    for _ in 0..4 {
        q.enqueue(NewJob::new("fast", json!({}))).await.unwrap();
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(pool.run(async {
        stopped.await.ok();
    }));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let counts = q.counts().await.unwrap();
        let done = counts
            .iter()
            .filter(|(_, s, _)| s == "done")
            .map(|(_, _, n)| n)
            .sum::<i64>();
        if done == 7 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{counts:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(slow.now.lock().unwrap().1, 1, "slow jobs never overlapped");
    assert_eq!(fast.runs.lock().unwrap().len(), 4);
}

crate::both_backends!(
    a_kind_limit_caps_its_jobs_in_the_pool,
    run_one_runs_and_records,
    chain_runs_in_order,
    shutdown_drains_running_jobs,
    shutdown_past_grace_hands_the_job_back,
    panicking_handler_is_retried,
    handler_errors_retry_or_fail,
    heartbeat_writes_progress,
);

/// Set in the child process of the SIGKILL tests: the database it works on.
const CHILD_DB_VAR: &str = "GALA_TEST_SIGKILL_CHILD_DB";
const CHILD_WORKER: &str = "doomed-worker";

fn one_second_lease() -> JobsConfig {
    JobsConfig {
        lease_s: 1,
        ..fast_config()
    }
}

/// Not a test by itself (it returns at once): the body of the child process that the SIGKILL
/// tests start from this same test binary, claim a job in, and kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_child_worker() {
    let Ok(url) = std::env::var(CHILD_DB_VAR) else {
        return;
    };
    let db = Db::connect(&url, 2).await.unwrap();
    let forever = Arc::new(Recorder {
        kind: "long",
        sleep: Duration::from_secs(600),
        ..Default::default()
    });
    let pool = WorkerPool::new(
        Queue::new(db, one_second_lease()),
        vec![forever],
        1,
        "x".into(),
    )
    .with_heartbeat_every(Duration::from_millis(200));
    pool.run_one(CHILD_WORKER).await.unwrap();
}

/// A worker process killed with SIGKILL mid-job: the job is taken over once its lease
/// expires and completes exactly once, elsewhere.
async fn sigkill_mid_job_loses_nothing(db: Db, url: String) {
    let q = Queue::new(db.clone(), one_second_lease());
    let id = q
        .enqueue(NewJob::new("long", json!({"n": 1})))
        .await
        .unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "jobs::worker::tests::sigkill_child_worker"])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD_DB_VAR, &url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = wait_for(&q, id, |j| j.progress == 0.5).await;
    assert_eq!(started.lease_owner.as_deref(), Some(CHILD_WORKER));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let rescuer = Arc::new(Recorder {
        kind: "long",
        ..Default::default()
    });
    let pool = WorkerPool::new(q.clone(), vec![rescuer.clone()], 1, "r".into());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while pool.run_one("rescuer").await.unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the job was never taken over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.attempts, 2);
    assert_eq!(job.lease_owner.as_deref(), Some("rescuer"));
    assert_eq!(rescuer.runs.lock().unwrap().len(), 1);
    assert!(
        pool.run_one("rescuer").await.unwrap().is_none(),
        "nothing left to run"
    );
}

/// Polls the job until `ready` holds (at most 10 s).
async fn wait_for(q: &Queue, id: i64, ready: impl Fn(&Job) -> bool) -> Job {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let job = q.get(id).await.unwrap().unwrap();
        if ready(&job) {
            return job;
        }
        assert!(std::time::Instant::now() < deadline, "job stuck: {job:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_job_loses_nothing_sqlite() {
    let t = crate::storage::testing::TestDb::sqlite().await;
    sigkill_mid_job_loses_nothing(t.db.clone(), t.url.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_job_loses_nothing_postgres() {
    let Some(t) = crate::storage::testing::TestDb::postgres().await else {
        return;
    };
    sigkill_mid_job_loses_nothing(t.db.clone(), t.url.clone()).await;
}
