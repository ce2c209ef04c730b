//! Remote workers without HTTP: a [`RemotePool`] on [`Direct`] (the studio's [`Dispatch`]
//! called in process), with a split kind that doubles a number. On SQLite and (when
//! configured) PostgreSQL.

use std::sync::atomic::AtomicUsize;

use serde_json::json;

use super::*;
use crate::config::JobsConfig;
use crate::jobs::split::{Needs, Prepared};
use crate::jobs::{Done, JobState, NewJob};
use crate::storage::Db;

fn fast_config() -> JobsConfig {
    JobsConfig {
        backoff_base_s: 0,
        poll_ms: 10,
        max_attempts: 2,
        ..JobsConfig::default()
    }
}

fn timing(grace: Duration) -> RemoteTiming {
    RemoteTiming {
        heartbeat_every: Duration::from_millis(50),
        poll: Duration::from_millis(10),
        grace,
        deliver_for: Duration::from_secs(2),
    }
}

/// The database half: the task is `{n}` from the payload; the output `{double}` is recorded
/// in `seen` and chained to a `noted` job. Needs the `captions` model when `needs_model`.
#[derive(Default)]
struct Doubling {
    needs_model: bool,
    seen: Mutex<Vec<i64>>,
    gave_up: Mutex<Vec<String>>,
}

impl Ledger for Doubling {
    fn kind(&self) -> &'static str {
        "double"
    }
    fn needs(&self) -> super::super::split::Needs {
        Needs {
            models: if self.needs_model {
                vec!["captions".into()]
            } else {
                vec![]
            },
            gpu: false,
        }
    }
    fn prepare(&self, job: Job) -> BoxFuture<'_, Result<Prepared, JobError>> {
        Box::pin(async move {
            match job.payload["n"].as_i64() {
                Some(n) if n < 0 => Ok(Prepared::Done(Done::new(json!({"skipped": n})))),
                Some(n) => Ok(Prepared::Task(json!({ "n": n }))),
                None => Err(JobError::Fatal("no n".into())),
            }
        })
    }
    fn record(&self, _job: Job, output: Value) -> BoxFuture<'_, Result<Done, JobError>> {
        Box::pin(async move {
            let double = output["double"]
                .as_i64()
                .ok_or_else(|| JobError::Retry(anyhow::anyhow!("bad output")))?;
            self.seen.lock().unwrap().push(double);
            Ok(Done::new(json!({ "double": double })).then(NewJob::new("noted", json!({}))))
        })
    }
    fn give_up(&self, _job: Job, error: String) -> BoxFuture<'_, anyhow::Result<String>> {
        Box::pin(async move {
            self.gave_up.lock().unwrap().push(error.clone());
            Ok(format!("gave up: {error}"))
        })
    }
}

/// The work half: doubles `n` after `sleep`; fails with a retry when `n` is 13.
#[derive(Default)]
struct Doubler {
    sleep: Duration,
    runs: AtomicUsize,
}

impl Compute for Doubler {
    fn kind(&self) -> &'static str {
        "double"
    }
    fn compute(&self, task: Value, ctx: JobContext) -> BoxFuture<'_, Result<Value, JobError>> {
        Box::pin(async move {
            self.runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ctx.progress(0.5, Some("half"));
            tokio::time::sleep(self.sleep).await;
            let n = task["n"].as_i64().unwrap();
            if n == 13 {
                return Err(JobError::Retry(anyhow::anyhow!("unlucky")));
            }
            Ok(json!({ "double": n * 2 }))
        })
    }
}

fn caps(models: &[&str]) -> Capabilities {
    Capabilities {
        kinds: vec!["double".into()],
        models: models.iter().map(|m| m.to_string()).collect(),
        gpu: false,
        slots: 1,
    }
}

struct Setup {
    queue: Queue,
    ledger: Arc<Doubling>,
    dispatch: Arc<Dispatch>,
}

fn setup(db: &Db, needs_model: bool) -> Setup {
    let queue = Queue::new(db.clone(), fast_config());
    let ledger = Arc::new(Doubling {
        needs_model,
        ..Default::default()
    });
    let dispatch = Arc::new(Dispatch::new(
        queue.clone(),
        vec![ledger.clone() as Arc<dyn Ledger>],
    ));
    Setup {
        queue,
        ledger,
        dispatch,
    }
}

fn pool(
    s: &Setup,
    name: &str,
    models: &[&str],
    compute: Arc<Doubler>,
    grace: Duration,
) -> RemotePool {
    let studio = Arc::new(Direct {
        dispatch: s.dispatch.clone(),
        name: name.into(),
        caps: caps(models),
    });
    RemotePool::new(
        studio,
        vec![compute as Arc<dyn Compute>],
        1,
        name,
        timing(grace),
        &Default::default(),
    )
}

async fn a_remote_worker_computes_and_the_studio_records(db: Db) {
    let s = setup(&db, false);
    let id = s
        .queue
        .enqueue(NewJob::new("double", json!({"n": 21})))
        .await
        .unwrap();
    let skipped = s
        .queue
        .enqueue(NewJob::new("double", json!({"n": -1})))
        .await
        .unwrap();
    let compute = Arc::new(Doubler::default());
    let p = pool(&s, "far", &[], compute.clone(), Duration::from_secs(1));
    assert_eq!(p.run_one(0).await.unwrap(), Some(id));
    let job = s.queue.get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.result, Some(json!({"double": 42})));
    assert_eq!(job.lease_owner.as_deref(), Some("far/0"));
    assert_eq!(s.queue.children(id).await.unwrap()[0].kind, "noted");
    assert_eq!(*s.ledger.seen.lock().unwrap(), vec![42]);
    // The job with nothing to compute is settled by the studio while leasing: the worker
    // gets nothing.
    assert_eq!(p.run_one(0).await.unwrap(), None);
    let skipped = s.queue.get(skipped).await.unwrap().unwrap();
    assert_eq!(skipped.state, JobState::Done);
    assert_eq!(skipped.result, Some(json!({"skipped": -1})));
    assert_eq!(compute.runs.load(std::sync::atomic::Ordering::SeqCst), 1);
}

async fn only_workers_with_the_model_lease_the_kind(db: Db) {
    let s = setup(&db, true);
    let id = s
        .queue
        .enqueue(NewJob::new("double", json!({"n": 2})))
        .await
        .unwrap();
    let bare = pool(&s, "bare", &[], Arc::default(), Duration::from_secs(1));
    assert_eq!(
        bare.run_one(0).await.unwrap(),
        None,
        "no captions model: not leased"
    );
    assert_eq!(
        s.queue.get(id).await.unwrap().unwrap().state,
        JobState::Queued
    );
    let able = pool(
        &s,
        "able",
        &["captions"],
        Arc::default(),
        Duration::from_secs(1),
    );
    assert_eq!(able.run_one(0).await.unwrap(), Some(id));
    assert_eq!(
        s.queue.get(id).await.unwrap().unwrap().state,
        JobState::Done
    );
    assert_eq!(s.dispatch.kinds_for(&caps(&[])), Vec::<&str>::new());
    assert_eq!(s.dispatch.kinds_for(&caps(&["captions"])), vec!["double"]);
}

async fn a_failure_retries_then_gives_up_through_the_ledger(db: Db) {
    let s = setup(&db, false);
    let id = s
        .queue
        .enqueue(NewJob::new("double", json!({"n": 13})))
        .await
        .unwrap();
    let p = pool(&s, "w", &[], Arc::default(), Duration::from_secs(1));
    p.run_one(0).await.unwrap();
    let job = s.queue.get(id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 1));
    assert!(job.last_error.unwrap().contains("unlucky"));
    p.run_one(0).await.unwrap();
    let job = s.queue.get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.last_error.as_deref(), Some("gave up: unlucky"));
    assert_eq!(
        *s.ledger.gave_up.lock().unwrap(),
        vec!["unlucky".to_string()]
    );
}

async fn a_draining_worker_hands_its_job_back(db: Db) {
    let s = setup(&db, false);
    let id = s
        .queue
        .enqueue(NewJob::new("double", json!({"n": 1})))
        .await
        .unwrap();
    let slow = Arc::new(Doubler {
        sleep: Duration::from_secs(30),
        ..Default::default()
    });
    let p = pool(&s, "leaving", &[], slow.clone(), Duration::from_millis(200));
    let queue = s.queue.clone();
    let began = std::time::Instant::now();
    p.run(async move {
        while queue.get(id).await.unwrap().unwrap().state != JobState::Running {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert!(began.elapsed() < Duration::from_secs(10));
    let job = s.queue.get(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Queued, "handed back");
    assert_eq!(job.attempts, 0, "a handed-back try is not an attempt");
    assert!(s.ledger.seen.lock().unwrap().is_empty(), "nothing recorded");
    // Another worker takes it at once, not after the lease.
    let other = pool(&s, "other", &[], Arc::default(), Duration::from_secs(1));
    assert_eq!(other.run_one(0).await.unwrap(), Some(id));
    assert_eq!(*s.ledger.seen.lock().unwrap(), vec![2]);
}

async fn a_stale_worker_cannot_record(db: Db) {
    let s = setup(&db, false);
    let id = s
        .queue
        .enqueue(NewJob::new("double", json!({"n": 5})))
        .await
        .unwrap();
    let caps = caps(&[]);
    let leased = s
        .dispatch
        .lease("old/0", &caps, &["double".into()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leased.job.id, id);
    // Its lease lapses and another worker takes the job over.
    sqlx::query("UPDATE jobs SET lease_expires_at = 0 WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let taken = s
        .dispatch
        .lease("new/0", &caps, &["double".into()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.job.attempts, 2);
    assert!(!s.dispatch.heartbeat("old/0", id, 0.9, None).await.unwrap());
    assert!(!s
        .dispatch
        .complete("old/0", id, json!({"double": 999}))
        .await
        .unwrap());
    assert!(!s.dispatch.fail("old/0", id, "late", false).await.unwrap());
    assert!(!s.dispatch.release("old/0", id).await.unwrap());
    assert!(
        s.ledger.seen.lock().unwrap().is_empty(),
        "the stale output was not recorded"
    );
    assert!(s
        .dispatch
        .complete("new/0", id, json!({"double": 10}))
        .await
        .unwrap());
    assert_eq!(*s.ledger.seen.lock().unwrap(), vec![10]);
    // A bad output is a failed try, not a crash.
    let bad = s
        .queue
        .enqueue(NewJob::new("double", json!({"n": 6})))
        .await
        .unwrap();
    s.dispatch
        .lease("new/0", &caps, &["double".into()])
        .await
        .unwrap()
        .unwrap();
    assert!(s
        .dispatch
        .complete("new/0", bad, json!({"oops": true}))
        .await
        .unwrap());
    let job = s.queue.get(bad).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert!(job.last_error.unwrap().contains("bad output"));
}

crate::both_backends!(
    a_remote_worker_computes_and_the_studio_records,
    only_workers_with_the_model_lease_the_kind,
    a_failure_retries_then_gives_up_through_the_ledger,
    a_draining_worker_hands_its_job_back,
    a_stale_worker_cannot_record,
);
