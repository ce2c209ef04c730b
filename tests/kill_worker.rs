//! SIGKILL a `gala worker` in the middle of a normalize job: the job runs again on another
//! worker once the lease expires, completes exactly once, and the chain goes on to the end.

mod common;

use std::process::{Child, Stdio};
use std::time::Duration;

use common::{text, wait_for, Sandbox};
use gala_pipeline::ingest::clips::{self, ClipState};
use gala_pipeline::ingest::steps;
use gala_pipeline::jobs::{Job, JobState, Queue};
use gala_pipeline::storage::db::Db;

fn spawn_worker(sb: &Sandbox, name: &str) -> Child {
    sb.gala()
        .args(["worker", "--concurrency", "1", "--name", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn jobs_of(queue: &Queue, clip_id: i64) -> Vec<Job> {
    queue
        .list_by_subject(&steps::subject(clip_id))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_loses_nothing() {
    let sb = Sandbox::new();
    // Long enough that the normalize job is certainly still running when the worker dies.
    let src = sb.clip(
        "long.mp4",
        "testsrc2=size=1280x720:rate=30,trim=duration=40",
        Some("sine=frequency=300:duration=40"),
    );
    let out = sb
        .gala()
        .args(["ingest", "--submit-only"])
        .arg(&src)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let clip_id: i64 = String::from_utf8_lossy(&out.stdout)
        .split('\t')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let db = Db::connect(&sb.db_url(), 2).await.unwrap();
    let queue = Queue::new(db.clone(), Default::default());
    let mut first = spawn_worker(&sb, "first");
    let victim = wait_for(
        Duration::from_secs(60),
        "normalize to be under way",
        || async {
            jobs_of(&queue, clip_id).await.into_iter().find(|j| {
                j.kind == steps::NORMALIZE && j.state == JobState::Running && j.progress > 0.1
            })
        },
    )
    .await;
    first.kill().unwrap(); // SIGKILL: no chance to clean up
    let killed = std::time::Instant::now();
    first.wait().unwrap();
    assert!(
        victim.lease_owner.as_deref().unwrap().starts_with("first"),
        "{victim:?}"
    );

    let mut second = spawn_worker(&sb, "second");
    // Recovery: the killed job is running again under the second worker once the lease lapses.
    wait_for(Duration::from_secs(60), "normalize taken over", || async {
        jobs_of(&queue, clip_id).await.into_iter().find(|j| {
            j.kind == steps::NORMALIZE
                && j.state == JobState::Running
                && j.lease_owner
                    .as_deref()
                    .is_some_and(|o| o.starts_with("second"))
        })
    })
    .await;
    let recovery = killed.elapsed();
    eprintln!("recovery: the killed job ran again {recovery:?} after the SIGKILL (jobs.lease_s 3)");
    assert!(
        recovery >= Duration::from_secs(2),
        "not before the lease lapsed: {recovery:?}"
    );
    // The clip turns ready inside the last step, a moment before the queue records that step
    // as done: wait for both, or the worker is killed between the two.
    let clip = wait_for(
        Duration::from_secs(120),
        "the clip and its jobs to finish",
        || async {
            let clip = clips::get(&db, clip_id).await.unwrap()?;
            let jobs = jobs_of(&queue, clip_id).await;
            let ingest_done = jobs
                .iter()
                .filter(|j| steps::KINDS.contains(&j.kind.as_str()))
                .all(|j| matches!(j.state, JobState::Done | JobState::Failed));
            (clip.state.is_final() && ingest_done).then_some(clip)
        },
    )
    .await;
    second.kill().unwrap();
    second.wait().unwrap();

    assert_eq!(clip.state, ClipState::Ready, "{:?}", clip.reason);
    let jobs = jobs_of(&queue, clip_id).await;
    for kind in steps::KINDS {
        let of_kind: Vec<&Job> = jobs.iter().filter(|j| j.kind == kind).collect();
        assert_eq!(of_kind.len(), 1, "exactly one {kind} job: {jobs:#?}");
        assert_eq!(of_kind[0].state, JobState::Done, "{:?}", of_kind[0]);
    }
    let normalize = jobs.iter().find(|j| j.kind == steps::NORMALIZE).unwrap();
    assert_eq!(
        normalize.attempts, 2,
        "killed once, completed on the second attempt"
    );
    assert!(
        normalize
            .lease_owner
            .as_deref()
            .unwrap_or("")
            .starts_with("second")
            || normalize.lease_owner.is_none()
    );
}
