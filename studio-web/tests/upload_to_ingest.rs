//! The tus endpoints as the studio mounts them: behind the session and CSRF check, and a
//! finished upload handed to the ingest chain exactly once (as a version of the submission it names).

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{browser, spawn_app};
use gala_pipeline::ingest::{clips, steps};
use gala_studio::auth::Role;
use sha2::Digest;

const TUS: &str = "1.0.0";

fn metadata(name: &str, submission: i64) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "filename {},filetype {},submission_id {}",
        b64(name),
        b64("video/mp4"),
        b64(&submission.to_string())
    )
}

#[tokio::test]
async fn a_logged_in_creator_uploads_and_the_clip_enters_ingest_once() {
    let app = spawn_app().await;
    let client = app.logged_in("maker@example.org", Role::Creator).await;
    let submission = app
        .post_json(
            &client,
            "/api/submissions",
            serde_json::json!({
                "category": "music", "title": "Song", "language": "en",
                "credits": { "people": [{ "name": "Me" }] },
                "rights_confirmed": true, "consent_confirmed": true
            }),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let token = app.csrf(&client).await;
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();

    let created = client
        .post(app.url("/uploads/files"))
        .header("Tus-Resumable", TUS)
        .header("X-CSRF-Token", &token)
        .header("Upload-Length", body.len().to_string())
        .header(
            "Upload-Metadata",
            metadata("../../etc/my clip.mp4", submission),
        )
        .header("Content-Type", "application/offset+octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{:?}", created.text().await);
    assert_eq!(
        created.headers()["upload-offset"],
        body.len().to_string().as_str()
    );
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let upload_id = location.rsplit('/').next().unwrap().to_string();

    let db = &app.state.engine.db;
    let clip_id = clips::find_by_upload(db, &upload_id)
        .await
        .unwrap()
        .expect("a clip for the finished upload");
    let clip = clips::get(db, clip_id).await.unwrap().unwrap();
    assert_eq!(
        clip.source_name, "../../etc/my clip.mp4",
        "the name is display text only"
    );
    assert_eq!(clip.source_sha256, hex::encode(sha2::Sha256::digest(&body)));
    let jobs = app
        .state
        .engine
        .queue
        .list_by_subject(&steps::subject(clip_id))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, steps::PROBE);

    // Offered again (as after a crash right after the hand-off): still one clip.
    let again = steps::submit_upload(
        &app.state.engine.ingest_env(),
        &app.state
            .engine
            .store
            .local_path(&clip.source_sha256)
            .unwrap(),
        "x",
        &upload_id,
    )
    .await
    .unwrap();
    assert_eq!(again, clip_id);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(clips::list(db).await.unwrap().len(), 1);
}

#[tokio::test]
async fn uploads_need_a_session_and_the_csrf_header() {
    let app = spawn_app().await;
    let anonymous = browser();
    // Even with a valid logged-out CSRF token, no session means no upload.
    let token = app.csrf(&anonymous).await;
    let r = anonymous
        .post(app.url("/uploads/files"))
        .header("Tus-Resumable", TUS)
        .header("X-CSRF-Token", token)
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("json"));

    let client = app.logged_in("maker@example.org", Role::Creator).await;
    let r = client
        .post(app.url("/uploads/files"))
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no CSRF header");
}
