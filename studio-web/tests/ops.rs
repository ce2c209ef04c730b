//! What operators and balancers ask of a studio server: liveness, readiness (the database and
//! the media store, local and S3; 503 naming what failed) and the Prometheus metrics (queue
//! depth per kind and state, requests by route pattern, uploads; behind a token when set).

mod common;

use common::{spawn_app, spawn_app_with};
use gala_pipeline::jobs::NewJob;
use gala_pipeline::storage::s3_server::S3Server;
use serde_json::{json, Value};

/// The metrics recorder is one per process: the tests of this binary scrape one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn get(app: &common::TestApp, path: &str, token: Option<&str>) -> (u16, String) {
    let mut r = app.client.get(app.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    assert_eq!(get(&app, "/healthz", None).await, (200, "ok".into()));
    let (status, body) = get(&app, "/readyz", None).await;
    assert_eq!(status, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        ready,
        json!({ "ready": true, "database": "ok", "media": "ok" })
    );

    let queue = &app.state.engine.queue;
    for _ in 0..3 {
        queue
            .enqueue(NewJob::new("ingest.probe", json!({})))
            .await
            .unwrap();
    }
    queue
        .enqueue(NewJob::new("analysis.captions", json!({})))
        .await
        .unwrap();
    let (status, text) = get(&app, "/metrics", None).await;
    assert_eq!(status, 200);
    for line in [
        r#"gala_jobs{kind="ingest.probe",state="queued"} 3"#,
        r#"gala_jobs{kind="analysis.captions",state="queued"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    // Requests are counted by route pattern, never by path.
    assert!(
        text.contains(r#"gala_http_requests_total{route="/readyz",status="200"}"#),
        "{text}"
    );
    get(&app, "/submissions/12345/poster", None).await;
    let text = get(&app, "/metrics", None).await.1;
    assert!(!text.contains("12345"), "{text}");

    // A database that is gone makes the server not ready, and says so.
    app.state.engine.db.pool.close().await;
    let (status, body) = get(&app, "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (ready["ready"].clone(), ready["media"].clone()),
        (json!(false), json!("ok"))
    );
    assert_ne!(ready["database"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_behind_a_token_and_readiness_of_the_s3_store() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut server = S3Server::start();
    let s3 = server.config();
    let app = spawn_app_with(|c| {
        c.studio.metrics_token = "scrape-me".into();
        c.storage.kind = "s3".into();
        c.storage.s3 = s3;
        c.storage.s3.timeout_s = 2;
    })
    .await;
    assert_eq!(get(&app, "/metrics", None).await.0, 401);
    assert_eq!(get(&app, "/metrics", Some("wrong")).await.0, 401);
    let (status, text) = get(&app, "/metrics", Some("scrape-me")).await;
    assert_eq!(status, 200);
    assert!(text.contains("gala_http_requests_total"), "{text}");
    assert_eq!(get(&app, "/readyz", None).await.0, 200);

    // The object store goes away: not ready, naming the store; back: ready again.
    server.stop();
    let (status, body) = get(&app, "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["database"], "ok");
    assert!(
        ready["media"].as_str().unwrap().contains("s3 bucket"),
        "{body}"
    );
    server.restart();
    assert_eq!(get(&app, "/readyz", None).await.0, 200);
}
