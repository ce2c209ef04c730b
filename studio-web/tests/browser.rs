//! The creator's pages in a real browser: Debian's chromium driven by playwright-core
//! (tests/web/creator.mjs) signs up, creates a submission, uploads a generated clip through the
//! upload page (tus-js-client) and sees the status change live, on a phone and a desktop
//! viewport, in English and Chinese; then (tests/web/review.mjs) a reviewer accepts really
//! ingested submissions and each creator sees "accepted". Screenshots:
//! target/test-artifacts/browser/.
//! Needs `chromium` (scripts/install-debian-deps.sh), ffmpeg, and tests/web/node_modules
//! (scripts/install-test-tools.sh).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gala_pipeline::ingest::clips;
use gala_studio::submissions::repo;
use tokio::io::{AsyncBufReadExt, BufReader};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A one-second test pattern with a tone, small enough for a quick upload.
fn make_clip(dir: &Path) -> PathBuf {
    common::make_clip(
        dir,
        "testsrc=duration=1:size=320x240:rate=10",
        &["-f", "lavfi", "-i", "sine=frequency=440:duration=1"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_uploads_through_the_page_and_sees_the_status_change() {
    let script = root().join("tests/web/creator.mjs");
    assert!(
        Path::new("/usr/bin/chromium").exists()
            && root().join("tests/web/node_modules/playwright-core").exists(),
        "chromium and playwright-core are not installed: run scripts/install-debian-deps.sh and scripts/install-test-tools.sh"
    );
    let app = common::spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path());
    let shots = root().join("target/test-artifacts/browser");

    let mut child = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&app.base)
        .arg(&clip)
        .arg(&shots)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let db = &app.state.engine.db;
    let mut runs = 0;
    let drive = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            let id = v["uploaded"].as_i64().unwrap();
            let versions = repo::versions(db, id).await.unwrap();
            assert_eq!(versions.len(), 1, "{line}");
            clips::fail(db, versions[0].clip_id, "test: the clip was refused")
                .await
                .unwrap();
            runs += 1;
        }
        child.wait().await.unwrap()
    };
    let status = tokio::time::timeout(Duration::from_secs(240), drive)
        .await
        .expect("the browser run ends in time");
    assert!(status.success(), "the browser run failed (see its stderr)");
    assert_eq!(runs, 4, "phone and desktop, English and Chinese");
    for run in ["phone-en", "desktop-zh", "phone-zh", "desktop-en"] {
        assert!(shots.join(format!("{run}-3-failed-live.png")).exists());
    }
}

/// A submission of `creator` with `clip` uploaded over tus; returns its id.
async fn submit_with_clip(
    app: &common::TestApp,
    creator: &reqwest::Client,
    clip: &Path,
    title: &str,
) -> i64 {
    use base64::Engine as _;
    let body = serde_json::json!({
        "category": "dance", "title": title, "language": "zh-CN",
        "credits": { "people": [{ "name": "Li Wei", "role": "choreography" }] },
        "rights_confirmed": true, "consent_confirmed": true
    });
    let created: serde_json::Value = app
        .post_json(creator, "/api/submissions", body)
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let bytes = std::fs::read(clip).unwrap();
    let r = creator
        .post(app.url("/uploads/files"))
        .header("Tus-Resumable", "1.0.0")
        .header("X-CSRF-Token", app.csrf(creator).await)
        .header("Upload-Length", bytes.len().to_string())
        .header(
            "Upload-Metadata",
            format!(
                "filename {},filetype {},submission_id {}",
                b64("clip.mp4"),
                b64("video/mp4"),
                b64(&id.to_string())
            ),
        )
        .header("Content-Type", "application/offset+octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_accepts_in_the_browser_and_the_creator_sees_it() {
    use gala_studio::auth::Role;
    let script = root().join("tests/web/review.mjs");
    assert!(
        Path::new("/usr/bin/chromium").exists() && root().join("tests/web/node_modules/playwright-core").exists(),
        "chromium and playwright-core are not installed: run scripts/install-debian-deps.sh and scripts/install-test-tools.sh"
    );
    let app = common::spawn_app_with(|c| {
        c.house.width = 320;
        c.house.height = 180;
        c.house.x264_preset = "ultrafast".into();
        c.jobs.poll_ms = 50;
    })
    .await;
    // Real ingest: the clips become ready, as a reviewer would find them.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(app.state.engine.worker_pool(2, "browser-test").run(async {
        let _ = stopped.await;
    }));
    let dir = tempfile::tempdir().unwrap();
    let clip = make_clip(dir.path());
    app.create_user(
        "reviewer@example.org",
        "Rita Reviewer",
        common::PASSWORD,
        Role::Reviewer,
    )
    .await;

    let mut runs = Vec::new();
    for (name, lang, mobile) in [
        ("phone-en", "en", true),
        ("desktop-zh", "zh-CN", false),
        ("phone-zh", "zh-CN", true),
        ("desktop-en", "en", false),
    ] {
        let email = format!("creator-{name}@example.org");
        app.create_user(
            &email,
            &format!("Creator {name}"),
            common::PASSWORD,
            Role::Creator,
        )
        .await;
        let creator = app.browser_of(&email).await;
        let id = submit_with_clip(&app, &creator, &clip, &format!("月光 <舞> {name}")).await;
        runs.push(
            serde_json::json!({ "name": name, "lang": lang, "mobile": mobile, "submission": id,
                                      "reviewer": "reviewer@example.org", "creator": email }),
        );
    }
    let db = &app.state.engine.db;
    for run in &runs {
        let id = run["submission"].as_i64().unwrap();
        let ready = async {
            loop {
                let versions = repo::versions(db, id).await.unwrap();
                if let Some(clip) = versions.first() {
                    let c = clips::get(db, clip.clip_id).await.unwrap().unwrap();
                    if c.state.is_final() {
                        return c.state;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let state = tokio::time::timeout(Duration::from_secs(120), ready)
            .await
            .expect("ingest ends in time");
        assert_eq!(state, clips::ClipState::Ready);
    }

    let shots = root().join("target/test-artifacts/browser");
    let out = tokio::time::timeout(
        Duration::from_secs(240),
        tokio::process::Command::new("node")
            .arg(&script)
            .arg(&app.base)
            .arg(&shots)
            .arg(serde_json::Value::Array(runs.clone()).to_string())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("the browser run ends in time")
    .unwrap();
    assert!(
        out.status.success(),
        "the browser run failed; it printed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let accepted = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(accepted, 4, "phone and desktop, English and Chinese");
    for run in &runs {
        let id = run["submission"].as_i64().unwrap();
        let s = repo::get(db, id).await.unwrap().unwrap();
        assert_eq!(s.selection, repo::Selection::Accepted, "{run}");
        assert!(s.locked, "an accepted submission is locked");
    }
    let _ = stop.send(());
    workers.await.unwrap().unwrap();
}
