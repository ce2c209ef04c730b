//! The live page in a real browser: a show goes on air in this process (the pipeline's own
//! `go_live`, with the HLS preview and no RTMP destination), and Debian's chromium driven by
//! playwright-core (tests/web/live.mjs) sees it on air, plays the preview in the page, and
//! takes the next item with the button. Screenshots: target/test-artifacts/browser/live-*.png.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gala_pipeline::live::asrun;
use gala_pipeline::live::session::{go_live, GoLive};
use gala_studio::auth::Role;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_director_watches_the_preview_and_takes_the_next_item() {
    let script = root().join("tests/web/live.mjs");
    assert!(
        Path::new("/usr/bin/chromium").exists()
            && root().join("tests/web/node_modules/playwright-core").exists(),
        "chromium and playwright-core are not installed: run scripts/install-debian-deps.sh and scripts/install-test-tools.sh"
    );
    let app = common::spawn_app_with(|c| {
        c.house.width = 320;
        c.house.height = 180;
        c.house.x264_preset = "ultrafast".into();
        c.live.heartbeat_ms = 250;
    })
    .await;
    let email = "director@example.org";
    app.create_user(email, "Dana Director", common::PASSWORD, Role::Director)
        .await;
    let director = app.browser_of(email).await;
    let body = json!({
        "title": "Lantern Night live", "starts_at": "2027-02-12T19:30",
        "target_ms": 60_000, "tolerance_ms": 30_000,
        "items": [
            { "kind": "slate", "text": "Welcome", "duration_ms": 40_000 },
            { "kind": "slate", "text": "Good night", "duration_ms": 5_000 }
        ]
    });
    let created: Value = app
        .post_json(&director, "/api/shows", body)
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();

    let engine = app.state.engine.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let on_air = tokio::spawn(async move {
        let opts = GoLive {
            show_id: id,
            destinations: Vec::new(),
            start_at: None,
            node: "browser-test".into(),
        };
        go_live(&engine, opts, async {
            let _ = stop_rx.await;
        })
        .await
    });

    let shots = root().join("target/test-artifacts/browser");
    let run = json!({ "show": id, "director": email });
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg(&script)
            .arg(&app.base)
            .arg(&shots)
            .arg(run.to_string())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("the browser run ends in time")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let _ = stop_tx.send(());
    let outcome = on_air.await.unwrap().unwrap();
    assert!(
        out.status.success(),
        "the browser run failed; it printed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        seen["onAir"].as_str().unwrap().split_whitespace().next(),
        Some("Welcome")
    );
    assert!(seen["previewTime"].as_f64().unwrap() > 1.0, "{seen}");
    // The button's command reached the node: the first item was taken out early.
    let log = asrun::log(&app.state.engine.db, id).await.unwrap();
    // The API numbers items from 0: "Welcome" is item 0, "Good night" item 1.
    let first = log.iter().find(|r| r.item_id == 0).unwrap();
    assert!(
        first
            .note
            .as_deref()
            .unwrap_or("")
            .starts_with("taken out at"),
        "{first:?}"
    );
    assert!(first.actual_ms.unwrap() < 40_000, "{first:?}");
    assert!(
        log.iter().any(|r| r.item_id == 1),
        "the next item aired: {log:?}"
    );
    assert!(outcome.reason.contains("ended"), "{}", outcome.reason);
    assert!(shots.join("live-2-taken-next.png").exists());
}
