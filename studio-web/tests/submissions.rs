//! Submissions over HTTP: validation (both languages), editing until locked, access by other
//! creators (404 everywhere), HTML escaping, live status (SSE), and the tus hand-off that makes
//! versions.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::TestApp;
use gala_pipeline::ingest::clips::{self, Artifact, ClipState};
use gala_studio::auth::Role;
use gala_studio::submissions::repo::{self, Selection};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const TUS: &str = "1.0.0";

fn good() -> Value {
    json!({
        "category": "dance",
        "title": "Moon dance",
        "description": "Two robots dance.",
        "credits": { "people": [{ "name": "Li Wei", "role": "choreography" }], "ai_tools": ["Sora"] },
        "language": "zh-CN",
        "rights_confirmed": true,
        "consent_confirmed": true
    })
}

async fn create(app: &TestApp, client: &Client, body: Value) -> i64 {
    let r = app.post_json(client, "/api/submissions", body).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// A tus creation-with-upload of `body` for `submission` (None: no submission_id metadata).
async fn tus_upload(
    app: &TestApp,
    client: &Client,
    submission: Option<i64>,
    body: &[u8],
) -> reqwest::Response {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut metadata = format!(
        "filename {},filetype {}",
        b64("../../etc/passwd"),
        b64("video/mp4")
    );
    if let Some(id) = submission {
        metadata.push_str(&format!(",submission_id {}", b64(&id.to_string())));
    }
    let token = app.csrf(client).await;
    client
        .post(app.url("/uploads/files"))
        .header("Tus-Resumable", TUS)
        .header("X-CSRF-Token", token)
        .header("Upload-Length", body.len().to_string())
        .header("Upload-Metadata", metadata)
        .header("Content-Type", "application/offset+octet-stream")
        // The studio may refuse an upload before reading its body; hyper then closes that
        // connection, and a pooled client could reuse it for the next request at the same
        // moment (IncompleteMessage, seen under load). One connection per upload here.
        .header("Connection", "close")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

fn clip_bytes(seed: u8) -> Vec<u8> {
    (0..50_000u32).map(|i| (i % 251) as u8 ^ seed).collect()
}

async fn versions(app: &TestApp, client: &Client, id: i64) -> Vec<Value> {
    let r = client
        .get(app.url(&format!("/api/submissions/{id}/versions")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["versions"]
        .as_array()
        .unwrap()
        .clone()
}

async fn get_page(client: &Client, url: String, lang: &str) -> (u16, String) {
    let r = client
        .get(url)
        .header("Accept-Language", lang)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn every_field_is_validated_with_messages_in_both_languages(app: TestApp) {
    let client = app.logged_in("maker@example.org", Role::Creator).await;
    let bad = json!({
        "category": "opera", "title": "x".repeat(121), "description": "d".repeat(4001),
        "credits": { "people": [] }, "language": "tlh",
        "rights_confirmed": false, "consent_confirmed": false
    });
    let r = app.post_json(&client, "/api/submissions", bad).await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    for (field, key) in [
        ("category", "validation.category"),
        ("title", "validation.title_long"),
        ("description", "validation.description_long"),
        ("credits", "validation.credits_person"),
        ("language", "validation.language"),
        ("rights_confirmed", "validation.rights"),
        ("consent_confirmed", "validation.consent"),
    ] {
        assert_eq!(v["fields"][field], key, "{field}: {v}");
    }

    // The page shows each message next to its field, in the reader's language, and keeps input.
    let token = app.csrf(&client).await;
    let form = [
        ("csrf_token", token.as_str()),
        ("title", "  "),
        ("category", ""),
        ("people", ""),
        ("language", "en"),
    ];
    for (lang, messages) in [
        (
            "en",
            [
                "Choose a category.",
                "This field is required.",
                "Credit at least one person.",
                "Confirm that you hold the rights.",
            ],
        ),
        (
            "zh-CN",
            [
                "请选择类别。",
                "此项为必填。",
                "请至少填写一位创作人员。",
                "请确认你拥有相关权利。",
            ],
        ),
    ] {
        let r = client
            .post(app.url("/submissions/new"))
            .header("Accept-Language", lang)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        for m in messages {
            assert!(html.contains(m), "{lang}: {m}");
        }
        for field in [
            "category",
            "title",
            "credits",
            "rights_confirmed",
            "consent_confirmed",
        ] {
            assert!(html.contains(&format!("id=\"error-{field}\"")), "{field}");
        }
        assert!(!html.contains("id=\"error-language\""));
    }
    let r = app
        .post_json(&client, "/api/submissions", json!({"title": 1}))
        .await;
    assert_eq!(r.status(), 400, "a malformed body");
    assert_eq!(
        repo::list_by_owner(&app.state.engine.db, 1)
            .await
            .unwrap()
            .len(),
        0
    );

    // A good form creates the submission and goes on to the upload page.
    let r = app
        .post_form(
            &client,
            "/submissions/new",
            &[
                ("category", "folk_heritage"),
                ("title", "Lion dance"),
                ("people", "Chen: drums\nWang"),
                ("ai_tools", "Suno, Kling"),
                ("language", "yue"),
                ("rights_confirmed", "on"),
                ("consent_confirmed", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/submissions/") && to.ends_with("/upload"),
        "{to}"
    );
    let list: Value = client
        .get(app.url("/api/submissions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sub = &list["submissions"][0];
    assert_eq!(sub["credits"]["people"][1]["name"], "Wang");
    assert_eq!(sub["credits"]["ai_tools"], json!(["Suno", "Kling"]));
    assert_eq!(sub["processing"], "uploading");
    assert_eq!(sub["selection"], "in_review");
}

async fn a_submission_is_editable_until_review_locks_it(app: TestApp) {
    let client = app.logged_in("maker@example.org", Role::Creator).await;
    let id = create(&app, &client, good()).await;
    let path = format!("/api/submissions/{id}");
    let r = app
        .send_json(&client, Method::PATCH, &path, json!({"title": "Sun dance"}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["title"], "Sun dance");
    let r = app
        .send_json(&client, Method::PATCH, &path, json!({"title": ""}))
        .await;
    assert_eq!(r.status(), 422);
    let (status, html) = get_page(&client, app.url(&format!("/submissions/{id}/edit")), "en").await;
    assert_eq!(status, 200);
    assert!(html.contains("Sun dance"));

    repo::set_locked(&app.state.engine.db, id, true)
        .await
        .unwrap();
    let r = app
        .send_json(&client, Method::PATCH, &path, json!({"title": "Late"}))
        .await;
    assert_eq!(r.status(), 409);
    let (status, _) = get_page(&client, app.url(&format!("/submissions/{id}/edit")), "en").await;
    assert_eq!(status, 409);
    let r = app
        .post_form(
            &client,
            &format!("/submissions/{id}/edit"),
            &[("title", "Late")],
        )
        .await;
    assert_eq!(r.status(), 409);
    let (_, html) = get_page(&client, app.url(&format!("/submissions/{id}")), "en").await;
    assert!(html.contains("Locked by review") && !html.contains("/edit\""));
    let sub = repo::get(&app.state.engine.db, id).await.unwrap().unwrap();
    assert_eq!(sub.title, "Sun dance");
}

/// A submission of `owner` with one version whose clip has a poster, a sheet, a waveform and a
/// proxy in the store.
async fn submission_with_media(app: &TestApp, owner: &Client) -> i64 {
    let id = create(app, owner, good()).await;
    let r = tus_upload(app, owner, Some(id), &clip_bytes(1)).await;
    assert_eq!(r.status(), 201);
    let clip = versions(app, owner, id).await[0]["clip_id"]
        .as_i64()
        .unwrap();
    let db = &app.state.engine.db;
    let dir = tempfile::tempdir().unwrap();
    clips::set_state(db, clip, ClipState::Finishing)
        .await
        .unwrap();
    for (n, kind) in [
        Artifact::Poster,
        Artifact::Sheet,
        Artifact::Waveform,
        Artifact::Proxy,
    ]
    .into_iter()
    .enumerate()
    {
        let file = dir.path().join(format!("m{n}"));
        std::fs::write(&file, format!("media {n} ").repeat(100)).unwrap();
        let digest = app.state.engine.store.put_file(&file).unwrap();
        clips::set_artifact(db, clip, kind, &digest).await.unwrap();
    }
    assert_eq!(
        clips::get(db, clip).await.unwrap().unwrap().state,
        ClipState::Ready
    );
    id
}

async fn another_creator_gets_404_for_every_route(app: TestApp) {
    let owner = app.logged_in("owner@example.org", Role::Creator).await;
    let other = app.logged_in("other@example.org", Role::Creator).await;
    let reviewer = app.logged_in("reviewer@example.org", Role::Reviewer).await;
    let id = submission_with_media(&app, &owner).await;

    let gets = [
        format!("/submissions/{id}"),
        format!("/submissions/{id}/edit"),
        format!("/submissions/{id}/upload"),
        format!("/api/submissions/{id}"),
        format!("/api/submissions/{id}/versions"),
        format!("/media/poster/{id}"),
        format!("/media/sheet/{id}"),
        format!("/media/waveform/{id}"),
        format!("/media/proxy/{id}"),
    ];
    for path in &gets {
        let r = owner.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "owner {path}");
        let r = other.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "other {path}");
        // Enumerating ids finds nothing either.
        let missing = path.replace(&id.to_string(), &(id + 1000).to_string());
        assert_eq!(
            other.get(app.url(&missing)).send().await.unwrap().status(),
            404,
            "{missing}"
        );
    }
    let r = app
        .send_json(
            &other,
            Method::PATCH,
            &format!("/api/submissions/{id}"),
            json!({"title": "Mine"}),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .post_form(
            &other,
            &format!("/submissions/{id}/edit"),
            &[("title", "Mine")],
        )
        .await;
    assert_eq!(r.status(), 404);
    // Nor can another creator attach an upload to it.
    repo::set_selection(&app.state.engine.db, id, Selection::NeedsChanges, None)
        .await
        .unwrap();
    let r = tus_upload(&app, &other, Some(id), &clip_bytes(2)).await;
    assert_eq!(r.status(), 404);
    assert_eq!(versions(&app, &owner, id).await.len(), 1);
    let list: Value = other
        .get(app.url("/api/submissions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["submissions"], json!([]));

    // Reviewers read (and see the media) but do not edit.
    for path in [
        format!("/api/submissions/{id}"),
        format!("/media/proxy/{id}"),
    ] {
        assert_eq!(
            reviewer.get(app.url(&path)).send().await.unwrap().status(),
            200,
            "{path}"
        );
    }
    let r = app
        .send_json(
            &reviewer,
            Method::PATCH,
            &format!("/api/submissions/{id}"),
            json!({"title": "R"}),
        )
        .await;
    assert_eq!(r.status(), 404);
    // Creating submissions is for creators.
    let r = app.post_json(&reviewer, "/api/submissions", good()).await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        reviewer
            .get(app.url("/submissions/new"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // Logged out: 401 for the API, the login page for pages.
    let anon = common::browser();
    assert_eq!(
        anon.get(app.url(&format!("/api/submissions/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        anon.get(app.url(&format!("/media/poster/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
}

async fn media_is_served_with_ranges_and_its_own_type(app: TestApp) {
    let owner = app.logged_in("owner@example.org", Role::Creator).await;
    let id = submission_with_media(&app, &owner).await;
    let r = owner
        .get(app.url(&format!("/media/proxy/{id}")))
        .header("Range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-type"], "video/mp4");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"media 3 me");
    let r = owner
        .get(app.url(&format!("/media/poster/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(
        owner
            .get(app.url(&format!("/media/other/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let (_, html) = get_page(&owner, app.url(&format!("/submissions/{id}")), "en").await;
    assert!(html.contains(&format!("src=\"/media/proxy/{id}\"")));
    let (_, html) = get_page(&owner, app.url("/submissions"), "en").await;
    assert!(html.contains(&format!("src=\"/media/poster/{id}\"")));
}

async fn html_in_user_fields_is_escaped(app: TestApp) {
    let client = app.logged_in("maker@example.org", Role::Creator).await;
    let evil = "<script>alert(1)</script>";
    let mut body = good();
    body["title"] = json!(evil);
    body["description"] = json!(evil);
    body["credits"] = json!({ "people": [{ "name": evil, "role": evil }], "ai_tools": [evil] });
    let id = create(&app, &client, body).await;
    repo::set_selection(
        &app.state.engine.db,
        id,
        Selection::NeedsChanges,
        Some(evil),
    )
    .await
    .unwrap();
    for path in [
        "/submissions".to_string(),
        format!("/submissions/{id}"),
        format!("/submissions/{id}/edit"),
        format!("/submissions/{id}/upload"),
    ] {
        let (status, html) = get_page(&client, app.url(&path), "en").await;
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains(evil), "{path}");
        assert!(
            html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"),
            "{path}"
        );
    }
}

/// Reads `r`'s event stream until an event named `name` arrives; returns its data.
async fn next_event(r: &mut reqwest::Response, buffer: &mut String, name: &str) -> Value {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let event = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("");
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or("null");
            if event == name {
                return serde_json::from_str(data).unwrap();
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), r.chunk())
            .await
            .expect("an event in time")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn live_status_sends_a_change_when_the_clip_moves(app: TestApp) {
    let client = app.logged_in("maker@example.org", Role::Creator).await;
    let other = app.logged_in("other@example.org", Role::Creator).await;
    let id = create(&app, &client, good()).await;
    let theirs = create(&app, &other, good()).await;
    assert_eq!(
        tus_upload(&app, &client, Some(id), &clip_bytes(1))
            .await
            .status(),
        201
    );
    assert_eq!(
        tus_upload(&app, &other, Some(theirs), &clip_bytes(2))
            .await
            .status(),
        201
    );
    let clip = versions(&app, &client, id).await[0]["clip_id"]
        .as_i64()
        .unwrap();
    let their_clip = versions(&app, &other, theirs).await[0]["clip_id"]
        .as_i64()
        .unwrap();

    let mut r = client
        .get(app.url("/submissions/events"))
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut buffer = String::new();
    next_event(&mut r, &mut buffer, "hello").await;
    // The snapshot: this creator's one submission as it is now (nothing of the other's).
    let snapshot = next_event(&mut r, &mut buffer, "status").await;
    assert_eq!(snapshot["id"], id);
    assert_eq!(snapshot["processing"], "checking");
    let db = &app.state.engine.db;
    // Someone else's clip changes first: no event for this creator.
    clips::fail(db, their_clip, "theirs").await.unwrap();
    clips::set_state(db, clip, ClipState::Probing)
        .await
        .unwrap();
    clips::fail(db, clip, "the file has no video stream")
        .await
        .unwrap();
    let event = next_event(&mut r, &mut buffer, "status").await;
    assert_eq!(event["id"], id);
    assert_eq!(event["processing"], "failed");
    assert_eq!(event["processing_label"], "失败");
    assert_eq!(event["processing_reason"], "the file has no video stream");
    // The page shows the reason too.
    let (_, html) = get_page(&client, app.url("/submissions"), "en").await;
    assert!(html.contains("the file has no video stream"));
}

async fn finished_uploads_become_versions_when_the_submission_takes_them(app: TestApp) {
    let client = app.logged_in("maker@example.org", Role::Creator).await;
    let id = create(&app, &client, good()).await;
    let r = tus_upload(&app, &client, None, &clip_bytes(1)).await;
    assert_eq!(r.status(), 400, "an upload names its submission");
    let r = tus_upload(&app, &client, Some(id), &clip_bytes(1)).await;
    assert_eq!(r.status(), 201);
    let v = versions(&app, &client, id).await;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["number"], 1);
    assert_eq!(v[0]["processing"], "checking");
    let clip = clips::get(&app.state.engine.db, v[0]["clip_id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        clip.source_name, "../../etc/passwd",
        "the client's name is display text only"
    );
    let sub: Value = client
        .get(app.url(&format!("/api/submissions/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sub["processing"], "checking");
    assert_eq!(sub["accepts_version"], false);

    // In review: no second version.
    let r = tus_upload(&app, &client, Some(id), &clip_bytes(2)).await;
    assert_eq!(r.status(), 409);
    let (_, html) = get_page(&client, app.url(&format!("/submissions/{id}/upload")), "en").await;
    assert!(html.contains("does not take a new clip") && !html.contains("tus.min.js"));

    // After "needs changes" a new version is taken and the submission is back in review.
    repo::set_selection(
        &app.state.engine.db,
        id,
        Selection::NeedsChanges,
        Some("Too dark"),
    )
    .await
    .unwrap();
    let (_, html) = get_page(&client, app.url(&format!("/submissions/{id}/upload")), "en").await;
    assert!(
        html.contains("/assets/vendor/tus.min.js")
            && html.contains(&format!("data-submission-id=\"{id}\""))
    );
    let r = tus_upload(&app, &client, Some(id), &clip_bytes(3)).await;
    assert_eq!(r.status(), 201);
    let v = versions(&app, &client, id).await;
    assert_eq!(
        v.iter()
            .map(|v| v["number"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    let sub = repo::get(&app.state.engine.db, id).await.unwrap().unwrap();
    assert_eq!(sub.selection, Selection::InReview);
    assert_eq!(sub.versions, 2);
}

async fn the_api_is_in_the_openapi_document(app: TestApp) {
    let doc: Value = common::browser()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/submissions",
        "/api/submissions/{id}",
        "/api/submissions/{id}/versions",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert!(doc["components"]["schemas"]["SubmissionView"].is_object());
}

on_both_backends!(
    every_field_is_validated_with_messages_in_both_languages,
    a_submission_is_editable_until_review_locks_it,
    another_creator_gets_404_for_every_route,
    media_is_served_with_ranges_and_its_own_type,
    html_in_user_fields_is_escaped,
    live_status_sends_a_change_when_the_clip_moves,
    finished_uploads_become_versions_when_the_submission_takes_them,
    the_api_is_in_the_openapi_document,
);

/// Two uploads started while the submission had no version: the first to finish becomes
/// version 1; the second is dropped at the hand-off (no clip, no version), not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_upload_racing_the_first_is_dropped_at_the_hand_off() {
    let app = common::spawn_app().await;
    let client = app.logged_in("maker@example.org", Role::Creator).await;
    let id = create(&app, &client, good()).await;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let metadata = format!(
        "filename {},filetype {},submission_id {}",
        b64("a.mp4"),
        b64("video/mp4"),
        b64(&id.to_string())
    );
    let body = clip_bytes(7);
    let token = app.csrf(&client).await;
    let mut locations = Vec::new();
    for _ in 0..2 {
        let r = client
            .post(app.url("/uploads/files"))
            .header("Tus-Resumable", TUS)
            .header("X-CSRF-Token", &token)
            .header("Upload-Length", body.len().to_string())
            .header("Upload-Metadata", &metadata)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        locations.push(r.headers()["location"].to_str().unwrap().to_string());
    }
    for (n, location) in locations.iter().enumerate() {
        let r = client
            .patch(app.url(location))
            .header("Tus-Resumable", TUS)
            .header("X-CSRF-Token", &token)
            .header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .body(if n == 0 { body.clone() } else { clip_bytes(8) })
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{location}");
    }
    assert_eq!(versions(&app, &client, id).await.len(), 1);
    assert_eq!(clips::list(&app.state.engine.db).await.unwrap().len(), 1);
}
