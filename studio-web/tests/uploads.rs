//! Uploads over tus 1.0, end to end: real clients (tuspy, tus-js-client) against the upload
//! router on 127.0.0.1:0, and raw HTTP for the protocol and security edges. The owner comes
//! from an `X-Test-User` header through a test-only layer standing in for the app's auth.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use support::{id_of, run_client, Client, Harness, Run, Server, TEST_USER};
use tokio::io::AsyncWriteExt;

const MB: usize = 1 << 20;

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// A tus request as the given user.
fn tus(method: Method, url: &str, user: i64) -> reqwest::RequestBuilder {
    http()
        .request(method, url)
        .header("tus-resumable", "1.0.0")
        .header(TEST_USER, user.to_string())
}

fn metadata(name: &str, ty: &str) -> String {
    format!(
        "filename {},filetype {}",
        BASE64.encode(name),
        BASE64.encode(ty)
    )
}

/// Creates an upload of `length` bytes; returns its URL.
async fn create(server: &Server, user: i64, length: usize) -> String {
    let response = tus(Method::POST, &server.endpoint(), user)
        .header("upload-length", length.to_string())
        .header("upload-metadata", metadata("clip.mp4", "video/mp4"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/files/"), "{location}");
    format!("http://{}{location}", server.addr)
}

async fn patch(url: &str, user: i64, offset: usize, body: &[u8]) -> reqwest::Response {
    tus(Method::PATCH, url, user)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn head_offset(url: &str, user: i64) -> (StatusCode, Option<u64>) {
    let response = tus(Method::HEAD, url, user).send().await.unwrap();
    let offset = response
        .headers()
        .get("upload-offset")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (response.status(), offset)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The one hand-off of a finished upload: its content is the source's, and the upload file
/// is gone from the upload directory afterwards.
fn assert_handed_off_once(h: &Harness, url: &str, source_sha: &str) {
    let received = h.received();
    assert_eq!(received.len(), 1, "on_complete must run exactly once");
    let got = &received[0];
    assert_eq!(got.upload.id, id_of(url));
    assert_eq!(
        got.content_sha256, source_sha,
        "stored bytes differ from the source"
    );
    assert_eq!(got.upload.sha256, source_sha, "incremental sha256 is wrong");
    assert!(!h.part_path(&got.upload.id).exists());
}

// ---------------------------------------------------------------- real clients

async fn full_upload(client: Client, extra: bool) {
    let h = Arc::new(Harness::sqlite(|_| {}));
    let server = h.start();
    let (file, sha) = h.source_file(3 * MB + 12345);
    let run = Run {
        user: 7,
        chunk: 512 * 1024,
        extra,
        ..Run::default()
    };
    let out = run_client(client, &server.endpoint(), &file, &run).await;
    assert_eq!(out.offset, (3 * MB + 12345) as u64);
    assert_handed_off_once(&h, &out.url, &sha);
    assert_eq!(h.received()[0].upload.owner.user_id, 7);
    assert_eq!(
        head_offset(&out.url, 7).await,
        (StatusCode::OK, Some(out.offset))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_uploads_a_file_in_chunks_with_checksums() {
    full_upload(Client::Python, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_uploads_a_file_with_creation_with_upload() {
    full_upload(Client::Node, true).await;
}

async fn interrupt_and_resume(client: Client) {
    let h = Arc::new(Harness::sqlite(|_| {}));
    let server = h.start();
    let len = 3 * MB;
    let (file, sha) = h.source_file(len);
    let first = Run {
        user: 7,
        chunk: 256 * 1024,
        stop_at: Some(MB as u64),
        ..Run::default()
    };
    let part = run_client(client, &server.endpoint(), &file, &first).await;
    assert!(
        part.offset >= MB as u64 && part.offset < len as u64,
        "{part:?}"
    );
    assert_eq!(
        head_offset(&part.url, 7).await,
        (StatusCode::OK, Some(part.offset))
    );
    assert!(h.received().is_empty());
    let again = Run {
        url: Some(part.url.clone()),
        stop_at: None,
        ..first
    };
    let done = run_client(client, &server.endpoint(), &file, &again).await;
    assert_eq!(
        done.url, part.url,
        "the second client must resume, not start over"
    );
    assert_handed_off_once(&h, &part.url, &sha);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_resumes_an_interrupted_upload() {
    interrupt_and_resume(Client::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_resumes_an_interrupted_upload() {
    interrupt_and_resume(Client::Node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_resumes_after_a_server_restart() {
    let h = Arc::new(Harness::sqlite(|_| {}));
    let (file, sha) = h.source_file(2 * MB + 7);
    let server = h.start();
    let first = Run {
        user: 3,
        chunk: 300 * 1000,
        stop_at: Some(MB as u64),
        ..Run::default()
    };
    let part = run_client(Client::Python, &server.endpoint(), &file, &first).await;
    server.kill();
    // A new server (new port, nothing in memory) on the same database and data directory.
    let server = h.start();
    let url = server.url(&id_of(&part.url));
    assert_eq!(
        head_offset(&url, 3).await,
        (StatusCode::OK, Some(part.offset))
    );
    let again = Run {
        url: Some(url.clone()),
        stop_at: None,
        ..first
    };
    run_client(Client::Node, &server.endpoint(), &file, &again).await;
    assert_handed_off_once(&h, &url, &sha);
}

// ---------------------------------------------------------------- interruptions and locks

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_chunk_loses_only_the_uncommitted_bytes() {
    let h = Arc::new(Harness::sqlite(|_| {}));
    let server = h.start();
    let data: Vec<u8> = (0..MB).map(|i| (i * 7 % 253) as u8).collect();
    let url = create(&server, 5, data.len()).await;
    assert_eq!(
        patch(&url, 5, 0, &data[..100_000]).await.status(),
        StatusCode::NO_CONTENT
    );
    let id = id_of(&url);
    let stream = start_raw_patch(
        &server,
        &url,
        5,
        100_000,
        MB - 100_000,
        &data[100_000..400_000],
    )
    .await;
    h.wait_locked(&id).await;
    let part = h.part_path(&id);
    for _ in 0..200 {
        if std::fs::metadata(&part).unwrap().len() > 100_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        std::fs::metadata(&part).unwrap().len() > 100_000,
        "nothing was written yet"
    );
    server.kill(); // mid-body: the bytes may be on disk, the offset was never committed
    drop(stream);
    let server = h.start();
    let url = server.url(&id);
    assert_eq!(head_offset(&url, 5).await, (StatusCode::OK, Some(100_000)));
    // The dead server's lock holds until its lease runs out.
    assert_eq!(
        patch(&url, 5, 100_000, &data[100_000..]).await.status(),
        StatusCode::LOCKED
    );
    h.skew_ms
        .store(gala_studio::upload::LOCK_LEASE_MS + 1000, Ordering::SeqCst);
    let response = patch(&url, 5, 100_000, &data[100_000..]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_handed_off_once(&h, &url, &sha256_hex(&data));
}

/// Sends a PATCH's headers and the first `sent` bytes of a `total`-byte body, and keeps the
/// connection open until the returned stream is dropped.
async fn start_raw_patch(
    server: &Server,
    url: &str,
    user: i64,
    offset: usize,
    total: usize,
    first: &[u8],
) -> tokio::net::TcpStream {
    let path = url.split_once(&server.addr.to_string()).unwrap().1;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nhost: {}\r\ntus-resumable: 1.0.0\r\n{TEST_USER}: {user}\r\n\
         content-type: application/offset+octet-stream\r\nupload-offset: {offset}\r\n\
         content-length: {total}\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Polls HEAD until the offset is `want` (the server commits after the body stops).
async fn wait_offset(url: &str, user: i64, want: u64) {
    for _ in 0..400 {
        if head_offset(url, user).await.1 == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "offset never became {want}: {:?}",
        head_offset(url, user).await
    );
}

async fn interrupted_patch_keeps_the_bytes_that_arrived(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    let data: Vec<u8> = (0..MB).map(|i| (i * 31 % 251) as u8).collect();
    let url = create(&server, 5, data.len()).await;
    let stream = start_raw_patch(&server, &url, 5, 0, data.len(), &data[..300_000]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(stream); // the client goes away mid-body
    wait_offset(&url, 5, 300_000).await;
    let part = h.part_path(&id_of(&url));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 300_000);
    // A crash between a write and its commit leaves bytes past the offset: the next PATCH
    // must cut them off first.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&part)
        .unwrap();
    std::io::Write::write_all(&mut f, b"garbage past the committed offset").unwrap();
    drop(f);
    assert_eq!(head_offset(&url, 5).await.1, Some(300_000));
    let response = patch(&url, 5, 300_000, &data[300_000..]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_handed_off_once(&h, &url, &sha256_hex(&data));
}

async fn concurrent_patches_cannot_both_append(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    let data = vec![42u8; 200_000];
    let url = create(&server, 5, data.len()).await;
    let stream = start_raw_patch(&server, &url, 5, 0, data.len(), &data[..50_000]).await;
    h.wait_locked(&id_of(&url)).await;
    let second = patch(&url, 5, 0, &data).await;
    assert_eq!(
        second.status(),
        StatusCode::LOCKED,
        "a second writer got in"
    );
    let mut stream = stream;
    stream.write_all(&data[50_000..]).await.unwrap();
    stream.flush().await.unwrap();
    wait_offset(&url, 5, 200_000).await;
    // The offset is visible before the raw request's hand-off ends (it runs after the last
    // commit, in that request): wait for the part file to go, which is the hand-off's last step.
    let part = h.part_path(&id_of(&url));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while part.exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_handed_off_once(&h, &url, &sha256_hex(&data));
}

// ---------------------------------------------------------------- protocol

async fn checksum_mismatch_is_460_and_the_offset_stays(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    let url = create(&server, 1, 100).await;
    assert_eq!(
        patch(&url, 1, 0, &[1u8; 40]).await.status(),
        StatusCode::NO_CONTENT
    );
    let chunk = [2u8; 30];
    let wrong = BASE64.encode(Sha256::digest([3u8; 30]));
    let response = tus(Method::PATCH, &url, 1)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "40")
        .header("upload-checksum", format!("sha256 {wrong}"))
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 460);
    assert_eq!(head_offset(&url, 1).await, (StatusCode::OK, Some(40)));
    assert_eq!(
        std::fs::metadata(h.part_path(&id_of(&url))).unwrap().len(),
        40
    );
    let right = BASE64.encode(Sha256::digest(chunk));
    let response = tus(Method::PATCH, &url, 1)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "40")
        .header("upload-checksum", format!("sha256 {right}"))
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()["upload-offset"], "70");
    let unknown = tus(Method::PATCH, &url, 1)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "70")
        .header("upload-checksum", "md5 AAAAAAAAAAAAAAAAAAAAAA==")
        .body(vec![0u8; 30])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}

async fn offset_mismatch_is_409(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    let url = create(&server, 1, 100).await;
    assert_eq!(
        patch(&url, 1, 0, &[1u8; 10]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        patch(&url, 1, 0, &[1u8; 10]).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        patch(&url, 1, 20, &[1u8; 10]).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(head_offset(&url, 1).await.1, Some(10));
}

async fn protocol_headers_and_refusals(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    let options = http()
        .request(Method::OPTIONS, server.endpoint())
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    let hv = |r: &reqwest::Response, n: &str| r.headers()[n].to_str().unwrap().to_string();
    assert_eq!(hv(&options, "tus-resumable"), "1.0.0");
    assert_eq!(hv(&options, "tus-version"), "1.0.0");
    assert_eq!(
        hv(&options, "tus-extension"),
        "creation,creation-with-upload,termination,checksum,expiration"
    );
    assert_eq!(hv(&options, "tus-max-size"), (10 << 20).to_string());
    assert!(hv(&options, "tus-checksum-algorithm").contains("sha256"));

    let old = http()
        .post(server.endpoint())
        .header("tus-resumable", "0.2.2")
        .header(TEST_USER, "1")
        .header("upload-length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(hv(&old, "tus-version"), "1.0.0");
    assert_eq!(hv(&old, "tus-resumable"), "1.0.0");

    let empty = tus(Method::POST, &server.endpoint(), 1)
        .header("upload-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let deferred = tus(Method::POST, &server.endpoint(), 1)
        .header("upload-defer-length", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(deferred.status(), StatusCode::BAD_REQUEST);
    let big_meta = format!("filename {}", BASE64.encode("x".repeat(5000)));
    let oversize = tus(Method::POST, &server.endpoint(), 1)
        .header("upload-length", "10")
        .header("upload-metadata", big_meta)
        .send()
        .await
        .unwrap();
    assert_eq!(
        oversize.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let wrong_type = tus(Method::POST, &server.endpoint(), 1)
        .header("upload-length", "10")
        .header("upload-metadata", metadata("a.pdf", "application/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let created = tus(Method::POST, &server.endpoint(), 1)
        .header("upload-length", "100")
        .header("upload-metadata", metadata("clip.mp4", "video/mp4"))
        .send()
        .await
        .unwrap();
    assert!(httpdate::parse_http_date(&hv(&created, "upload-expires")).is_ok());
    assert_eq!(hv(&created, "upload-offset"), "0");
    let url = format!("http://{}{}", server.addr, hv(&created, "location"));
    let not_octets = tus(Method::PATCH, &url, 1)
        .header("content-type", "application/json")
        .header("upload-offset", "0")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_octets.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let too_long = patch(&url, 1, 0, &[0u8; 101]).await;
    assert_eq!(too_long.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let ok = patch(&url, 1, 0, &[0u8; 60]).await;
    assert!(httpdate::parse_http_date(&hv(&ok, "upload-expires")).is_ok());
    let head = tus(Method::HEAD, &url, 1).send().await.unwrap();
    assert_eq!(hv(&head, "cache-control"), "no-store");
    assert_eq!(hv(&head, "upload-length"), "100");
    assert_eq!(hv(&head, "tus-resumable"), "1.0.0");
    assert!(hv(&head, "upload-metadata").contains(&BASE64.encode("clip.mp4")));
}

// ---------------------------------------------------------------- security

async fn uploads_of_others_are_404_and_an_owner_is_required(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    let url = create(&server, 7, 100).await;
    assert_eq!(
        patch(&url, 7, 0, &[1u8; 10]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(head_offset(&url, 8).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        patch(&url, 8, 10, &[1u8; 10]).await.status(),
        StatusCode::NOT_FOUND
    );
    let delete = tus(Method::DELETE, &url, 8).send().await.unwrap();
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);
    // A made-up id answers the same as another user's upload.
    let made_up = server.url(&"0".repeat(32));
    assert_eq!(head_offset(&made_up, 7).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        head_offset(&server.url("..%2F..%2Fgala.db"), 7).await.0,
        StatusCode::NOT_FOUND
    );
    // Still intact for its owner.
    assert_eq!(head_offset(&url, 7).await, (StatusCode::OK, Some(10)));
    // No owner at all.
    let anonymous = http()
        .post(server.endpoint())
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let anonymous_head = http()
        .head(&url)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_head.status(), StatusCode::UNAUTHORIZED);
    // Ids are 128 random bits.
    let other = create(&server, 7, 100).await;
    let (a, b) = (id_of(&url), id_of(&other));
    assert!(a.len() == 32 && b.len() == 32 && a != b);
}

async fn a_client_file_name_is_only_metadata(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    let evil = "../../etc/passwd";
    let response = tus(Method::POST, &server.endpoint(), 2)
        .header("upload-length", "5")
        .header("upload-metadata", metadata(evil, "video/mp4"))
        .header("content-type", "application/offset+octet-stream")
        .body(b"hello".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["upload-offset"], "5");
    let received = h.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].upload.filename.as_deref(), Some(evil));
    assert_eq!(received[0].upload.path, h.part_path(&received[0].upload.id));
    assert!(!h.dir.path().join("etc").exists());
    let names: Vec<_> = walk(h.dir.path());
    assert!(names.iter().all(|n| n != "passwd"), "{names:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        names.push(entry.file_name().to_string_lossy().into_owned());
        if entry.file_type().unwrap().is_dir() {
            names.extend(walk(&entry.path()));
        }
    }
    names
}

// ---------------------------------------------------------------- limits

async fn creation_over_the_limits_is_413_with_a_message(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    let post = |user: i64, len: u64| {
        tus(Method::POST, &server.endpoint(), user)
            .header("upload-length", len.to_string())
            .header("upload-metadata", metadata("clip.mp4", "video/mp4"))
            .send()
    };
    let too_big = post(1, 20 << 20).await.unwrap();
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        too_big.text().await.unwrap().trim(),
        "This file is 20.0 MB; the largest allowed is 10.0 MB (10.0 MB too large)."
    );
    assert_eq!(
        post(1, 8 << 20).await.unwrap().status(),
        StatusCode::CREATED
    );
    let over_quota = post(1, 8 << 20).await.unwrap();
    assert_eq!(over_quota.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let text = over_quota.text().await.unwrap();
    assert!(
        text.contains("quota") && text.contains("4.0 MB over"),
        "{text}"
    );
    // Another user has a quota of their own.
    assert_eq!(
        post(2, 8 << 20).await.unwrap().status(),
        StatusCode::CREATED
    );
    for _ in 0..3 {
        assert_eq!(post(3, 10).await.unwrap().status(), StatusCode::CREATED);
    }
    let too_many = post(3, 10).await.unwrap();
    assert_eq!(too_many.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let text = too_many.text().await.unwrap();
    assert!(text.contains("the most allowed is 3"), "{text}");
}

async fn termination_deletes_the_file(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    let url = create(&server, 4, 100).await;
    assert_eq!(
        patch(&url, 4, 0, &[9u8; 50]).await.status(),
        StatusCode::NO_CONTENT
    );
    let part = h.part_path(&id_of(&url));
    assert!(part.exists());
    let response = tus(Method::DELETE, &url, 4).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(!part.exists());
    assert_eq!(head_offset(&url, 4).await.0, StatusCode::GONE);
    assert_eq!(
        patch(&url, 4, 50, &[9u8; 50]).await.status(),
        StatusCode::GONE
    );
    assert!(h.received().is_empty());
}

async fn expired_uploads_are_cleaned_up(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    let url = create(&server, 6, 100).await;
    assert_eq!(
        patch(&url, 6, 0, &[1u8; 10]).await.status(),
        StatusCode::NO_CONTENT
    );
    let fresh_svc = h.service().await;
    assert_eq!(fresh_svc.cleanup_expired().await.unwrap(), 0);
    let part = h.part_path(&id_of(&url));
    assert!(part.exists());
    h.skew_ms.store(2 * 3_600_000 + 1, Ordering::SeqCst); // expiry_h is 2 here
    assert_eq!(head_offset(&url, 6).await.0, StatusCode::GONE);
    assert_eq!(
        patch(&url, 6, 10, &[1u8; 10]).await.status(),
        StatusCode::GONE
    );
    let fresh = create(&server, 6, 100).await; // created "now": not expired
    assert_eq!(fresh_svc.cleanup_expired().await.unwrap(), 1);
    assert!(!part.exists());
    assert!(h.part_path(&id_of(&fresh)).exists());
    assert_eq!(head_offset(&url, 6).await.0, StatusCode::GONE);
    assert_eq!(fresh_svc.cleanup_expired().await.unwrap(), 0);
}

async fn a_failed_hand_off_is_retried_and_runs_once(h: Harness) {
    let h = Arc::new(h);
    let server = h.start();
    h.fail_handoffs.store(1, Ordering::SeqCst);
    let data = vec![5u8; 1000];
    let url = create(&server, 9, data.len()).await;
    // The bytes are safe even though the hand-off failed.
    assert_eq!(
        patch(&url, 9, 0, &data).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.handoff_calls.load(Ordering::SeqCst), 1);
    assert!(h.received().is_empty());
    assert_eq!(head_offset(&url, 9).await, (StatusCode::OK, Some(1000)));
    assert!(h.part_path(&id_of(&url)).exists(), "kept for the retry");
    // A repeated last PATCH changes nothing.
    assert_eq!(
        patch(&url, 9, 1000, &[]).await.status(),
        StatusCode::NO_CONTENT
    );
    let svc = h.service().await;
    assert_eq!(svc.retry_handoffs().await.unwrap(), 1);
    assert_eq!(svc.retry_handoffs().await.unwrap(), 0);
    assert_eq!(h.handoff_calls.load(Ordering::SeqCst), 2);
    assert_handed_off_once(&h, &url, &sha256_hex(&data));
    assert_eq!(
        patch(&url, 9, 0, &data).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(svc.cleanup_expired().await.unwrap(), 0);
}

/// Protocol tests run on SQLite, and on PostgreSQL too when GALA_TEST_POSTGRES_URL is set.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Harness::sqlite(super::tune)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(h) = super::Harness::postgres(super::tune).await {
                        super::$name(h).await;
                    }
                }
            )*
        }
    };
}

/// Small limits for the protocol tests.
fn tune(config: &mut gala_pipeline::Config) {
    config.uploads.max_bytes = 10 << 20;
    config.uploads.quota_bytes = 12 << 20;
    config.uploads.quota_files = 3;
    config.uploads.expiry_h = 2;
    config.uploads.max_metadata_bytes = 1024;
}

both_backends!(
    interrupted_patch_keeps_the_bytes_that_arrived,
    concurrent_patches_cannot_both_append,
    checksum_mismatch_is_460_and_the_offset_stays,
    offset_mismatch_is_409,
    protocol_headers_and_refusals,
    uploads_of_others_are_404_and_an_owner_is_required,
    a_client_file_name_is_only_metadata,
    creation_over_the_limits_is_413_with_a_message,
    termination_deletes_the_file,
    expired_uploads_are_cleaned_up,
    a_failed_hand_off_is_retried_and_runs_once,
);
