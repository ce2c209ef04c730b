//! Queue tests, written once and run on SQLite and (when configured) PostgreSQL. Time comes
//! from a manual clock, so leases and backoffs are exercised without sleeping.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::json;

use super::*;

const T0: i64 = 1_700_000_000_000;

/// A queue whose clock stands still until the test moves it.
struct Fixture {
    queue: Queue,
    clock: Arc<AtomicI64>,
}

impl Fixture {
    fn new(db: Db, cfg: JobsConfig) -> Fixture {
        let clock = Arc::new(AtomicI64::new(T0));
        let read = clock.clone();
        let queue = Queue::new(db, cfg).with_clock(Arc::new(move || read.load(Ordering::SeqCst)));
        Fixture { queue, clock }
    }

    fn default(db: Db) -> Fixture {
        Fixture::new(db, JobsConfig::default())
    }

    fn advance_s(&self, s: i64) {
        self.clock.fetch_add(s * 1000, Ordering::SeqCst);
    }

    fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    async fn job(&self, id: i64) -> Job {
        self.queue.get(id).await.unwrap().unwrap()
    }
}

async fn enqueue_get_round_trip(db: Db) {
    let f = Fixture::default(db);
    let payload = json!({"clip": 7, "name": "été ☃", "nested": [1, 2.5, null]});
    let id = f
        .queue
        .enqueue(NewJob::new("probe", payload.clone()).with_priority(5))
        .await
        .unwrap();
    let job = f.job(id).await;
    assert_eq!(job.id, id);
    assert_eq!(job.kind, "probe");
    assert_eq!(job.payload, payload);
    assert_eq!(job.state, JobState::Queued);
    assert_eq!((job.priority, job.attempts, job.max_attempts), (5, 0, 3));
    assert_eq!(job.progress, 0.0);
    assert_eq!(
        (job.run_after, job.created_at, job.updated_at),
        (T0, T0, T0)
    );
    assert_eq!(job.lease_owner, None);
    assert_eq!(job.parent_id, None);
    assert_eq!(job.result, None);
    assert_eq!(job.finished_at, None);
    assert!(f.queue.get(id + 1000).await.unwrap().is_none());
}

async fn claim_respects_priority_run_after_and_kinds(db: Db) {
    let f = Fixture::default(db);
    let q = &f.queue;
    let low = q.enqueue(NewJob::new("x", json!(1))).await.unwrap();
    let high = q
        .enqueue(NewJob::new("x", json!(2)).with_priority(10))
        .await
        .unwrap();
    let other = q
        .enqueue(NewJob::new("y", json!(3)).with_priority(1))
        .await
        .unwrap();
    let later = q
        .enqueue(
            NewJob::new("x", json!(4))
                .with_priority(1)
                .run_after(T0 + 10_000),
        )
        .await
        .unwrap();

    let first = q.claim("w", &["x"]).await.unwrap().unwrap();
    assert_eq!(first.id, high);
    assert_eq!(first.state, JobState::Running);
    assert_eq!(first.attempts, 1);
    assert_eq!(first.lease_owner.as_deref(), Some("w"));
    assert_eq!(first.lease_expires_at, Some(T0 + 30_000));
    assert_eq!(q.claim("w", &["x"]).await.unwrap().unwrap().id, low);
    assert!(q.claim("w", &["x"]).await.unwrap().is_none(), "not due yet");
    assert!(q.claim("w", &["z"]).await.unwrap().is_none());
    assert!(q.claim("w", &[]).await.unwrap().is_none());
    f.advance_s(10);
    assert_eq!(q.claim("w", &["x"]).await.unwrap().unwrap().id, later);
    assert_eq!(q.claim("w", &["z", "y"]).await.unwrap().unwrap().id, other);
}

async fn concurrent_claimers_never_share_a_job(db: Db) {
    let f = Fixture::default(db);
    let mut ids = HashSet::new();
    for i in 0..50 {
        ids.insert(f.queue.enqueue(NewJob::new("x", json!(i))).await.unwrap());
    }
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let q = f.queue.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = q.claim(&format!("w{w}"), &["x"]).await.unwrap() {
                mine.push(job.id);
            }
            mine
        });
    }
    let mut claimed = Vec::new();
    while let Some(mine) = tasks.join_next().await {
        claimed.extend(mine.unwrap());
    }
    assert_eq!(claimed.len(), 50, "each job claimed exactly once");
    assert_eq!(claimed.into_iter().collect::<HashSet<_>>(), ids);
    for id in ids {
        assert_eq!(f.job(id).await.attempts, 1);
    }
}

async fn heartbeat_extends_the_lease(db: Db) {
    let f = Fixture::default(db);
    let q = &f.queue;
    let id = q.enqueue(NewJob::new("x", json!({}))).await.unwrap();
    q.claim("w1", &["x"]).await.unwrap().unwrap();
    f.advance_s(20);
    assert!(q.heartbeat(id, "w1", 0.5, Some("half")).await.unwrap());
    let job = f.job(id).await;
    assert_eq!(job.lease_expires_at, Some(f.now() + 30_000));
    assert_eq!(job.progress, 0.5);
    assert_eq!(job.progress_note.as_deref(), Some("half"));
    // 40 s after the claim: expired without the heartbeat, still held with it.
    f.advance_s(20);
    assert!(q.claim("w2", &["x"]).await.unwrap().is_none());
    assert!(
        !q.heartbeat(id, "w2", 0.9, None).await.unwrap(),
        "not w2's lease"
    );
    assert_eq!(f.job(id).await.progress, 0.5);
}

async fn expired_lease_is_reclaimed_and_the_stale_worker_loses(db: Db) {
    let f = Fixture::default(db);
    let q = &f.queue;
    let id = q.enqueue(NewJob::new("x", json!({}))).await.unwrap();
    q.claim("w1", &["x"]).await.unwrap().unwrap();
    f.advance_s(31);
    let job = q.claim("w2", &["x"]).await.unwrap().unwrap();
    assert_eq!(job.id, id);
    assert_eq!(job.attempts, 2);
    assert_eq!(job.lease_owner.as_deref(), Some("w2"));
    assert!(job.last_error.unwrap().contains("stopped responding"));
    assert!(!q.heartbeat(id, "w1", 0.3, None).await.unwrap());
    let next = vec![NewJob::new("y", json!({}))];
    assert!(!q
        .complete(id, "w1", json!("stale"), next.clone())
        .await
        .unwrap());
    assert!(!q.fail(id, "w1", "stale").await.unwrap());
    assert!(!q.retry_later(id, "w1", "stale").await.unwrap());
    assert!(q.children(id).await.unwrap().is_empty());
    assert!(q.complete(id, "w2", json!("fresh"), next).await.unwrap());
    assert!(!q.complete(id, "w2", json!("again"), vec![]).await.unwrap());
    let job = f.job(id).await;
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.result, Some(json!("fresh")));
    assert_eq!(job.finished_at, Some(f.now()));
    assert_eq!(
        q.children(id).await.unwrap().len(),
        1,
        "children enqueued once"
    );
}

async fn retry_backoff_doubles(db: Db) {
    let cfg = JobsConfig {
        max_attempts: 5,
        ..JobsConfig::default()
    };
    let f = Fixture::new(db, cfg);
    let q = &f.queue;
    let id = q.enqueue(NewJob::new("x", json!({}))).await.unwrap();
    let mut expected_delay = 5_000;
    for attempt in 1..=3 {
        let job = q.claim("w", &["x"]).await.unwrap().unwrap();
        assert_eq!(job.attempts, attempt);
        assert!(q.retry_later(id, "w", "busy").await.unwrap());
        let job = f.job(id).await;
        assert_eq!(job.state, JobState::Queued);
        assert_eq!(job.run_after, f.now() + expected_delay);
        assert_eq!(job.last_error.as_deref(), Some("busy"));
        assert_eq!(job.lease_owner, None);
        assert!(
            q.claim("w", &["x"]).await.unwrap().is_none(),
            "still backing off"
        );
        f.advance_s(expected_delay / 1000);
        expected_delay *= 2;
    }
    assert_eq!(q.claim("w", &["x"]).await.unwrap().unwrap().attempts, 4);
}

async fn backoff_is_capped(db: Db) {
    let f = Fixture::default(db);
    assert_eq!(f.queue.backoff_ms(1), 5_000);
    assert_eq!(f.queue.backoff_ms(3), 20_000);
    assert_eq!(f.queue.backoff_ms(7), 300_000);
    assert_eq!(f.queue.backoff_ms(1000), 300_000);
}

async fn spent_attempts_fail_with_the_reason(db: Db) {
    let cfg = JobsConfig {
        max_attempts: 2,
        ..JobsConfig::default()
    };
    let f = Fixture::new(db, cfg);
    let q = &f.queue;
    let id = q.enqueue(NewJob::new("x", json!({}))).await.unwrap();
    q.claim("w", &["x"]).await.unwrap().unwrap();
    assert!(q.retry_later(id, "w", "disk busy").await.unwrap());
    f.advance_s(5);
    q.claim("w", &["x"]).await.unwrap().unwrap();
    assert!(q.retry_later(id, "w", "disk still busy").await.unwrap());
    let job = f.job(id).await;
    assert_eq!(job.state, JobState::Failed);
    let reason = job.last_error.unwrap();
    assert!(
        reason.contains("disk still busy") && reason.contains("2 attempts"),
        "{reason}"
    );
    assert_eq!(job.finished_at, Some(f.now()));
    f.advance_s(3600);
    assert!(q.claim("w", &["x"]).await.unwrap().is_none());
}

async fn silent_workers_exhaust_attempts(db: Db) {
    let cfg = JobsConfig {
        max_attempts: 2,
        ..JobsConfig::default()
    };
    let f = Fixture::new(db, cfg);
    let q = &f.queue;
    let id = q.enqueue(NewJob::new("x", json!({}))).await.unwrap();
    q.claim("w1", &["x"]).await.unwrap().unwrap();
    f.advance_s(31);
    assert_eq!(q.claim("w2", &["x"]).await.unwrap().unwrap().attempts, 2);
    f.advance_s(31);
    assert!(q.claim("w3", &["x"]).await.unwrap().is_none());
    let job = f.job(id).await;
    assert_eq!(job.state, JobState::Failed);
    let reason = job.last_error.unwrap();
    assert_eq!(
        reason,
        "the worker running it stopped responding, on attempt 2 of 2"
    );
}

async fn complete_enqueues_next_jobs_with_parent(db: Db) {
    let f = Fixture::default(db);
    let q = &f.queue;
    let id = q
        .enqueue(NewJob::new("probe", json!({"clip": 1})))
        .await
        .unwrap();
    q.claim("w", &["probe"]).await.unwrap().unwrap();
    let next = vec![
        NewJob::new("normalize", json!({"clip": 1})),
        NewJob::new("thumbs", json!({"clip": 1})).with_priority(200),
    ];
    assert!(q
        .complete(id, "w", json!({"ok": true}), next)
        .await
        .unwrap());
    let children = q.children(id).await.unwrap();
    let kinds: Vec<_> = children.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(kinds, ["normalize", "thumbs"]);
    for child in &children {
        assert_eq!(child.parent_id, Some(id));
        assert_eq!(child.state, JobState::Queued);
        assert_eq!(child.payload, json!({"clip": 1}));
    }
    assert_eq!(children[1].priority, 200);
    let parent = f.job(id).await;
    assert_eq!(parent.state, JobState::Done);
    assert_eq!(parent.progress, 1.0);
    assert_eq!(parent.lease_owner.as_deref(), Some("w"));
}

async fn fail_is_final(db: Db) {
    let f = Fixture::default(db);
    let q = &f.queue;
    let id = q.enqueue(NewJob::new("x", json!({}))).await.unwrap();
    q.claim("w", &["x"]).await.unwrap().unwrap();
    assert!(q.fail(id, "w", "the file is not a video").await.unwrap());
    let job = f.job(id).await;
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.last_error.as_deref(), Some("the file is not a video"));
    assert_eq!(job.attempts, 1);
    f.advance_s(3600);
    assert!(q.claim("w", &["x"]).await.unwrap().is_none());
    assert_eq!(q.requeue_expired().await.unwrap(), 0);
    // Only an operator brings it back, with a fresh set of attempts.
    assert!(q.requeue_failed(id).await.unwrap());
    assert!(!q.requeue_failed(id).await.unwrap(), "no longer failed");
    let again = q.claim("w", &["x"]).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (id, 1));
    assert_eq!(again.last_error.as_deref(), Some("the file is not a video"));
}

async fn requeue_expired_puts_jobs_back(db: Db) {
    let f = Fixture::default(db);
    let q = &f.queue;
    let a = q.enqueue(NewJob::new("x", json!(1))).await.unwrap();
    let b = q.enqueue(NewJob::new("x", json!(2))).await.unwrap();
    q.claim("w1", &["x"]).await.unwrap().unwrap();
    f.advance_s(20);
    q.claim("w2", &["x"]).await.unwrap().unwrap();
    f.advance_s(11);
    assert_eq!(
        q.requeue_expired().await.unwrap(),
        1,
        "only the first lease expired"
    );
    let job = f.job(a).await;
    assert_eq!(job.state, JobState::Queued);
    assert_eq!((job.lease_owner, job.lease_expires_at), (None, None));
    assert_eq!(f.job(b).await.state, JobState::Running);
    let again = q.claim("w3", &["x"]).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (a, 2));
}

async fn counts_and_list(db: Db) {
    let f = Fixture::default(db);
    let q = &f.queue;
    for _ in 0..3 {
        q.enqueue(NewJob::new("a", json!({}))).await.unwrap();
    }
    let b = q.enqueue(NewJob::new("b", json!({}))).await.unwrap();
    let claimed = q.claim("w", &["a"]).await.unwrap().unwrap();
    assert_eq!(
        q.counts().await.unwrap(),
        vec![
            ("a".to_string(), "queued".to_string(), 2),
            ("a".to_string(), "running".to_string(), 1),
            ("b".to_string(), "queued".to_string(), 1),
        ]
    );
    let listed = q.list(2).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, b, "newest first");
    assert!(listed
        .iter()
        .all(|j| j.id != claimed.id || j.state == JobState::Running));
}

async fn enqueue_in_joins_the_callers_transaction(db: Db) {
    let f = Fixture::default(db.clone());
    let mut tx = db.pool.begin().await.unwrap();
    let id = f
        .queue
        .enqueue_in(&mut tx, NewJob::new("x", json!({})))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(f.queue.get(id).await.unwrap().is_none());
}

/// Without an explicit priority a job takes its kind's (`jobs.priorities`, the longest prefix):
/// the show's render before ingest, ingest before other work, analysis last.
async fn kinds_set_the_priority(db: Db) {
    let f = Fixture::default(db);
    let q = &f.queue;
    for kind in ["analysis.captions", "misc", "ingest.probe", "render.show"] {
        q.enqueue(NewJob::new(kind, json!({}))).await.unwrap();
    }
    let explicit = q
        .enqueue(NewJob::new("analysis.verdict", json!({})).with_priority(1))
        .await
        .unwrap();
    let all = [
        "analysis.captions",
        "misc",
        "ingest.probe",
        "render.show",
        "analysis.verdict",
    ];
    let mut order = Vec::new();
    while let Some(job) = q.claim("w", &all).await.unwrap() {
        order.push((job.kind.clone(), job.priority));
        if job.id == explicit {
            assert_eq!(job.priority, 1);
        }
    }
    let kinds: Vec<&str> = order.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "analysis.verdict",
            "render.show",
            "ingest.probe",
            "misc",
            "analysis.captions"
        ]
    );
    let mut cfg = JobsConfig::default();
    cfg.priorities.insert("analysis.captions".into(), 5);
    assert_eq!(cfg.priority_of("analysis.captions"), 5);
    assert_eq!(cfg.priority_of("analysis.moderation"), 150);
    assert_eq!(cfg.priority_of("other"), DEFAULT_PRIORITY);
}

crate::both_backends!(
    kinds_set_the_priority,
    enqueue_get_round_trip,
    claim_respects_priority_run_after_and_kinds,
    concurrent_claimers_never_share_a_job,
    heartbeat_extends_the_lease,
    expired_lease_is_reclaimed_and_the_stale_worker_loses,
    retry_backoff_doubles,
    backoff_is_capped,
    spent_attempts_fail_with_the_reason,
    silent_workers_exhaust_attempts,
    complete_enqueues_next_jobs_with_parent,
    fail_is_final,
    requeue_expired_puts_jobs_back,
    counts_and_list,
    enqueue_in_joins_the_callers_transaction,
);
