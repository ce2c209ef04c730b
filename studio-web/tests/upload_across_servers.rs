//! Two studio servers that share a database and an S3 bucket but not a disk (each its own
//! data directory): one upload is sent in three chunks, to A, then B, then A; every server
//! resumes from what the others committed, the finished file is handed to ingest once with
//! the sha256 of the bytes sent, and the chunks kept for resuming are gone afterwards.

mod common;

use base64::Engine as _;
use common::spawn_app_with;
use gala_pipeline::ingest::clips;
use gala_pipeline::storage::s3_server::S3Server;
use gala_studio::auth::Role;
use sha2::Digest;

const TUS: &str = "1.0.0";
const MIB: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_resumes_on_another_server_without_a_shared_disk() {
    let s3 = S3Server::start();
    let shared_db = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        shared_db.path().join("gala.db").display()
    );
    let node = |c: &mut gala_pipeline::Config| {
        c.database.url = url.clone();
        c.storage.kind = "s3".into();
        c.storage.s3 = s3.config();
    };
    let a = spawn_app_with(node).await;
    let b = spawn_app_with(node).await;
    assert_ne!(
        a.state.engine.config.data_dir,
        b.state.engine.config.data_dir
    );

    // One browser: its session (in the shared database) works on both servers.
    let client = a.logged_in("maker@example.org", Role::Creator).await;
    let submission = a
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
    let token = a.csrf(&client).await;
    let body: Vec<u8> = (0..3 * MIB as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let created = client
        .post(a.url("/uploads/files"))
        .header("Tus-Resumable", TUS)
        .header("X-CSRF-Token", &token)
        .header("Upload-Length", body.len().to_string())
        .header(
            "Upload-Metadata",
            format!(
                "filename {},filetype {},submission_id {}",
                b64("song.mp4"),
                b64("video/mp4"),
                b64(&submission.to_string())
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let path = created.headers()["location"].to_str().unwrap().to_string();
    let path = path.trim_start_matches(&a.base).to_string();
    let upload_id = path.rsplit('/').next().unwrap().to_string();

    let patch = |base: &str, offset: usize| {
        client
            .patch(format!("{base}{path}"))
            .header("Tus-Resumable", TUS)
            .header("X-CSRF-Token", &token)
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(body[offset..offset + MIB].to_vec())
            .send()
    };
    for (server, offset) in [(&a.base, 0), (&b.base, MIB), (&a.base, 2 * MIB)] {
        let r = patch(server, offset).await.unwrap();
        let status = r.status();
        assert_eq!(
            status,
            204,
            "chunk at {offset} on {server}: {:?}",
            r.text().await
        );
        // The other server sees the new offset.
        let other = if server == &a.base { &b.base } else { &a.base };
        let head = client
            .head(format!("{other}{path}"))
            .header("Tus-Resumable", TUS)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.headers()["upload-offset"],
            (offset + MIB).to_string().as_str()
        );
    }

    // Handed off once, with the bytes sent.
    let db = &a.state.engine.db;
    let clip = clips::find_by_upload(db, &upload_id)
        .await
        .unwrap()
        .expect("a clip for the finished upload");
    let clip = clips::get(db, clip).await.unwrap().unwrap();
    assert_eq!(clip.source_sha256, hex::encode(sha2::Sha256::digest(&body)));
    let d = &clip.source_sha256;
    let stored =
        std::fs::read(s3.object_file(&format!("media/{}/{}/{d}", &d[0..2], &d[2..4]))).unwrap();
    assert!(stored == body, "the bucket holds the bytes sent");
    // The chunks kept for resuming are removed with the upload's file.
    let left = a
        .state
        .engine
        .store
        .list_scratch(&format!("uploads/{upload_id}/"))
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}
