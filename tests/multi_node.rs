//! Many machines on one: two studio servers (`gala serve`, no workers of their own) and two
//! remote workers (`gala worker --studio`, no database credentials) share a PostgreSQL server
//! owned by this test and an S3 server (s3s-fs); no process shares a data directory.
//!
//! Creators' uploads are spread over both servers and each is resumed on the other one; a
//! worker is SIGKILLed in the middle of a job (a new one takes its place); PostgreSQL is
//! stopped and started again while jobs run. In the end every clip is ready, every step of
//! every clip (ingest, then fingerprint, energy, captions and moderation, all on the remote
//! workers) was done exactly once (one done job per step, whatever ran twice), every
//! upload is one version, and every object the database names is in the bucket with the bytes
//! its name says. The recovery times are printed (`-- --nocapture`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{csrf, free_port, make_clip, post, wait_for, KillOnDrop};
use gala_pipeline::analysis;
use gala_pipeline::ingest::clips::{self, ClipState};
use gala_pipeline::ingest::steps;
use gala_pipeline::jobs::{JobState, Queue};
use gala_pipeline::storage::db::Db;
use gala_pipeline::storage::pg_server::PgServer;
use gala_pipeline::storage::s3_server::S3Server;
use gala_pipeline::storage::sha256_file;
use serde_json::{json, Value};

const TOKEN: &str = "workers-welcome";
const PASSWORD: &str = "a long enough password";
const CLIPS: usize = 6;

/// One process's configuration file (JSON, which is YAML too) in its own directory.
fn node_config(root: &Path, name: &str, database: &str, s3: &S3Server) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let config = json!({
        "data_dir": dir.join("data"),
        "database": { "url": database, "max_connections": 8 },
        "storage": { "kind": "s3", "s3": s3.config() },
        "studio": { "worker_token": TOKEN },
        "house": { "width": 320, "height": 180, "x264_preset": "ultrafast" },
        "proxy": { "width": 160, "height": 90 },
        "thumbnails": { "poster_width": 160, "sheet_tile_width": 80, "waveform_width": 300, "waveform_height": 60 },
        "jobs": { "lease_s": 3, "heartbeat_s": 1, "backoff_base_s": 1, "poll_ms": 100, "max_attempts": 6 },
    });
    let path = dir.join("gala.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    path
}

fn gala(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gala"));
    cmd.arg("--config").arg(config);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("GALA")) {
        cmd.env_remove(k);
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

fn serve(config: &Path) -> (KillOnDrop, String) {
    let port = free_port();
    let child = gala(config)
        .args([
            "serve",
            "--workers",
            "0",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .spawn()
        .unwrap();
    (KillOnDrop(child), format!("http://127.0.0.1:{port}"))
}

fn worker(config: &Path, studio: &str, name: &str) -> KillOnDrop {
    let child = gala(config)
        .args([
            "worker",
            "--studio",
            studio,
            "--token",
            TOKEN,
            "--concurrency",
            "1",
            "--name",
            name,
        ])
        .spawn()
        .unwrap();
    KillOnDrop(child)
}

async fn ready(http: &reqwest::Client, base: &str) -> bool {
    match http.get(format!("{base}/readyz")).send().await {
        Ok(r) => r.status() == 200,
        Err(_) => false,
    }
}

/// A JSON POST that must succeed; its answer.
async fn post_ok(http: &reqwest::Client, base: &str, path: &str, body: Value) -> Value {
    let r = post(http, base, path, body).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// A tus upload of `bytes` for `submission`: the first half created on `first`, the rest
/// resumed on `second`.
async fn upload_across(
    http: &reqwest::Client,
    first: &str,
    second: &str,
    submission: i64,
    bytes: &[u8],
) {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let half = bytes.len() / 2;
    let token = csrf(http, first).await;
    let created = http
        .post(format!("{first}/uploads/files"))
        .header("Tus-Resumable", "1.0.0")
        .header("X-CSRF-Token", &token)
        .header("Upload-Length", bytes.len().to_string())
        .header(
            "Upload-Metadata",
            format!(
                "filename {},filetype {},submission_id {}",
                b64("act.mp4"),
                b64("video/mp4"),
                b64(&submission.to_string())
            ),
        )
        .header("Content-Type", "application/offset+octet-stream")
        .body(bytes[..half].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.headers()["upload-offset"].to_str().unwrap(),
        half.to_string()
    );
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let path = location.trim_start_matches(first).to_string();
    let token = csrf(http, second).await;
    let resumed = http
        .patch(format!("{second}{path}"))
        .header("Tus-Resumable", "1.0.0")
        .header("X-CSRF-Token", &token)
        .header("Upload-Offset", half.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(bytes[half..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 204, "resume on the other server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_studios_and_two_workers_survive_kills_and_a_database_restart() {
    let mut pg = PgServer::start();
    let database = pg.create_database("gala").await;
    let s3 = S3Server::start();
    let root = tempfile::tempdir().unwrap();
    let (a_cfg, b_cfg) = (
        node_config(root.path(), "studio-a", &database, &s3),
        node_config(root.path(), "studio-b", &database, &s3),
    );
    // Workers get no database credentials: a database they could not reach anyway.
    let nowhere = "postgres://nobody@127.0.0.1:1/nothing";
    let worker_cfgs: Vec<PathBuf> = ["worker-1", "worker-2", "worker-3"]
        .iter()
        .map(|n| node_config(root.path(), n, nowhere, &s3))
        .collect();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();

    // The first server migrates the database; the second starts on it.
    let (_a, a) = serve(&a_cfg);
    wait_for(Duration::from_secs(60), "studio A", || async {
        ready(&http, &a).await.then_some(())
    })
    .await;
    let (_b, b) = serve(&b_cfg);
    wait_for(Duration::from_secs(60), "studio B", || async {
        ready(&http, &b).await.then_some(())
    })
    .await;
    let db = Db::connect(&database, 4).await.unwrap();
    let queue = Queue::new(db.clone(), Default::default());

    // A creator signs up on A, logs in on B; submissions alternate between the servers.
    post_ok(
        &http,
        &a,
        "/api/accounts",
        json!({ "email": "maker@example.org", "display_name": "Maker", "password": PASSWORD }),
    )
    .await;
    post_ok(
        &http,
        &b,
        "/api/session",
        json!({ "email": "maker@example.org", "password": PASSWORD }),
    )
    .await;
    let mut sent = Vec::new();
    for i in 0..CLIPS {
        let (first, second) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let sub = post_ok(
            &http,
            first,
            "/api/submissions",
            json!({
                "category": "music", "title": format!("Act {i}"), "language": "en",
                "credits": { "people": [{ "name": "Maker" }] },
                "rights_confirmed": true, "consent_confirmed": true
            }),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        let file = root.path().join(format!("act{i}.mp4"));
        make_clip(
            &file,
            &format!(
                "testsrc2=size=640x360:rate=30,hue=h={},trim=duration=12",
                i * 40
            ),
            Some(&format!("sine=frequency={}:duration=12", 300 + i * 50)),
        );
        upload_across(&http, first, second, sub, &std::fs::read(&file).unwrap()).await;
        sent.push((sub, sha256_file(&file).unwrap()));
    }

    // Two remote workers, one per studio server.
    let mut w1 = worker(&worker_cfgs[0], &a, "w-one");
    let _w2 = worker(&worker_cfgs[1], &b, "w-two");

    // SIGKILL the first worker in the middle of a job; a third one takes its place.
    let victim = wait_for(
        Duration::from_secs(120),
        "a normalize job running on w-one",
        || async {
            let running = queue.running().await.ok()?;
            running.into_iter().find(|j| {
                j.kind == steps::NORMALIZE
                    && j.lease_owner
                        .as_deref()
                        .is_some_and(|o| o.contains("-w-one/"))
            })
        },
    )
    .await;
    w1.0.kill().unwrap();
    w1.0.wait().unwrap();
    let killed_at = Instant::now();
    let _w3 = worker(&worker_cfgs[2], &a, "w-three");
    let retaken = wait_for(
        Duration::from_secs(60),
        "the killed job to run again",
        || async {
            let j = queue.get(victim.id).await.ok()??;
            (j.attempts >= 2 || j.state == JobState::Done).then_some(j.attempts)
        },
    )
    .await;
    println!(
        "worker killed during job {} ({}): claimed again after {:.2} s (lease 3 s), attempt {retaken}",
        victim.id,
        victim.kind,
        killed_at.elapsed().as_secs_f64()
    );

    // Restart PostgreSQL while jobs run.
    wait_for(Duration::from_secs(60), "a job running", || async {
        let running = queue.running().await.ok()?;
        (!running.is_empty()).then_some(())
    })
    .await;
    db.pool.close().await;
    pg.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !ready(&http, &a).await,
        "A is not ready without its database"
    );
    pg.restart();
    let up = Instant::now();
    let up_ms = gala_pipeline::now_ms();
    wait_for(
        Duration::from_secs(60),
        "both servers ready again",
        || async { (ready(&http, &a).await && ready(&http, &b).await).then_some(()) },
    )
    .await;
    let servers_back = up.elapsed().as_secs_f64();
    let db = Db::connect(&database, 4).await.unwrap();
    let queue = Queue::new(db.clone(), Default::default());
    wait_for(
        Duration::from_secs(120),
        "a job finished after the restart",
        || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE state = 'done' AND finished_at > $1",
            )
            .bind(up_ms)
            .fetch_one(&db.pool)
            .await
            .ok()?;
            (n > 0).then_some(())
        },
    )
    .await;
    println!(
        "PostgreSQL restarted: both studio servers ready again after {servers_back:.2} s, \
         the first job finished after {:.2} s",
        up.elapsed().as_secs_f64()
    );

    // Every clip ends ready.
    let clip_ids: Vec<i64> = wait_for(Duration::from_secs(600), "every clip ready", || async {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM clips ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .ok()?;
        if ids.len() < CLIPS {
            return None;
        }
        for id in &ids {
            if clips::get(&db, *id).await.ok()??.state != ClipState::Ready {
                return None;
            }
        }
        Some(ids)
    })
    .await;
    assert_eq!(clip_ids.len(), CLIPS, "one clip per upload");

    // Nothing done twice: one version per submission, one done job per step of each clip.
    for (sub, digest) in &sent {
        let versions: Vec<String> = sqlx::query_scalar(
            "SELECT c.source_sha256 FROM submission_versions v JOIN clips c ON c.id = v.clip_id \
             WHERE v.submission_id = $1",
        )
        .bind(sub)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        assert_eq!(
            versions,
            vec![digest.clone()],
            "submission {sub}: the bytes sent, once"
        );
    }
    // The analysis chain runs on the remote workers too, up to the verdict (which needs the
    // database: no studio here runs workers).
    wait_for(
        Duration::from_secs(600),
        "every clip's analysis up to the verdict",
        || async {
            for id in &clip_ids {
                let jobs = queue.list_by_subject(&steps::subject(*id)).await.ok()?;
                let verdict = jobs.iter().any(|j| j.kind == analysis::jobs::VERDICT);
                let rest_done = jobs
                    .iter()
                    .all(|j| j.kind == analysis::jobs::VERDICT || j.state == JobState::Done);
                if !(verdict && rest_done) {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
    let analysis_kinds = [
        analysis::jobs::FINGERPRINT,
        analysis::jobs::ENERGY,
        analysis::jobs::CAPTIONS,
        analysis::jobs::MODERATION,
    ];
    for id in &clip_ids {
        let jobs = queue.list_by_subject(&steps::subject(*id)).await.unwrap();
        for kind in steps::KINDS.into_iter().chain(analysis_kinds) {
            let of_kind: Vec<_> = jobs.iter().filter(|j| j.kind == kind).collect();
            assert_eq!(of_kind.len(), 1, "clip {id}: one {kind} job");
            assert_eq!(of_kind[0].state, JobState::Done, "clip {id}: {kind}");
        }
        let verdicts = jobs.iter().filter(|j| j.kind == analysis::jobs::VERDICT);
        assert_eq!(verdicts.count(), 1, "clip {id}: one verdict job");
    }
    let victim = queue.get(victim.id).await.unwrap().unwrap();
    assert_eq!(victim.state, JobState::Done);
    assert!(victim.attempts >= 2, "the killed job ran again");

    // Nothing lost: every object the clips name is in the bucket, bytes matching its name.
    let mut objects = 0;
    for id in &clip_ids {
        let c = clips::get(&db, *id).await.unwrap().unwrap();
        for digest in [
            Some(c.source_sha256),
            c.normalized_sha256,
            c.poster_sha256,
            c.sheet_sha256,
            c.waveform_sha256,
            c.proxy_sha256,
        ] {
            let digest = digest.expect("every object named");
            let key = format!("media/{}/{}/{digest}", &digest[0..2], &digest[2..4]);
            let file = s3.object_file(&key);
            assert_eq!(sha256_file(&file).unwrap(), digest, "{key}");
            objects += 1;
        }
    }
    println!("{CLIPS} clips ready; {objects} objects in the bucket, each checked by its sha256");
}
