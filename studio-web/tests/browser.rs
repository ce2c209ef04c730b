//! The creator's pages in a real browser: Debian's chromium driven by playwright-core
//! (tests/web/creator.mjs) signs up, creates a submission, uploads a generated clip through the
//! upload page (tus-js-client) and sees the status change live, on a phone and a desktop
//! viewport, in English and Chinese. Screenshots: target/test-artifacts/browser/.
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
    let out = dir.join("clip.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=320x240:rate=10",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=1"])
        .args(["-pix_fmt", "yuv420p", "-shortest", "-y"])
        .arg(&out)
        .status()
        .expect("ffmpeg (scripts/install-debian-deps.sh)");
    assert!(status.success());
    out
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
