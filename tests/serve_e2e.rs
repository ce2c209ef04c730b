//! `gala serve` on the embedded default, as a creator meets it: sign up, describe a clip,
//! upload it over tus, and watch it become ready — ingested by the workers `serve` runs itself.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{csrf, free_port, post, KillOnDrop, Sandbox};
use serde_json::{json, Value};

async fn wait_until_up(client: &reqwest::Client, base: &str) {
    let start = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the studio did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_uploads_through_the_studio_and_the_clip_becomes_ready() {
    let sb = Sandbox::new();
    let clip = sb.clip(
        "dance.mp4",
        "testsrc2=size=640x360:rate=25,trim=duration=2",
        Some("sine=frequency=440:duration=2"),
    );
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _studio = KillOnDrop(
        sb.gala()
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--workers",
                "2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    wait_until_up(&client, &base).await;

    let r = post(&client, &base, "/api/accounts", json!({ "email": "mei@example.org", "display_name": "Mei", "password": "a long enough password" })).await;
    assert!(
        r.status().is_success(),
        "sign-up: {}",
        r.text().await.unwrap()
    );
    let r = post(
        &client,
        &base,
        "/api/session",
        json!({ "email": "mei@example.org", "password": "a long enough password" }),
    )
    .await;
    assert!(
        r.status().is_success(),
        "login: {}",
        r.text().await.unwrap()
    );
    let submission: Value = post(
        &client,
        &base,
        "/api/submissions",
        json!({ "category": "dance", "title": "月光舞", "language": "zh-CN",
                "credits": { "people": [{ "name": "Mei", "role": "choreography" }], "ai_tools": ["Sora"] },
                "rights_confirmed": true, "consent_confirmed": true }),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = submission["id"].as_i64().expect("a submission id");

    let bytes = std::fs::read(&clip).unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let r = client
        .post(format!("{base}/uploads/files"))
        .header("Tus-Resumable", "1.0.0")
        .header("X-CSRF-Token", csrf(&client, &base).await)
        .header("Upload-Length", bytes.len().to_string())
        .header(
            "Upload-Metadata",
            format!(
                "filename {},filetype {},submission_id {}",
                b64("dance.mp4"),
                b64("video/mp4"),
                b64(&id.to_string())
            ),
        )
        .header("Content-Type", "application/offset+octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let start = Instant::now();
    let status = loop {
        let s: Value = client
            .get(format!("{base}/api/submissions/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["processing"] == "ready" || s["processing"] == "failed" {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "still {}",
            s["processing"]
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(status["processing"], "ready", "{status:#}");
    assert_eq!(status["selection"], "in_review");
    let poster = client
        .get(format!("{base}/media/poster/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(poster.status(), 200);
    assert_eq!(&poster.bytes().await.unwrap()[..4], b"\x89PNG");
}
