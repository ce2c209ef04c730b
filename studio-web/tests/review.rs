//! The review queue: filters, audited decisions with optimistic concurrency, assignment,
//! progress, role checks, escaping and the note limit. Submissions and processed clips are
//! made directly in the database (the submissions feature's tables, the ingest's clip rows).

mod common;

use common::TestApp;
use gala_pipeline::ingest::clips::{self, ClipState};
use gala_pipeline::ingest::loudness::Loudness;
use gala_pipeline::ingest::qc::{Finding, FindingKind, QcReport, Segment, Severity};
use gala_studio::auth::Role;
use reqwest::Client;
use serde_json::{json, Value};
use sqlx::Row;

/// A QC report with one finding of each of `kinds`, at 1.5 s.
fn report(kinds: &[FindingKind]) -> QcReport {
    QcReport {
        duration_s: 10.0,
        loudness_before: None,
        loudness_after: Loudness {
            integrated_lufs: Some(-23.0),
            range_lu: 4.0,
            true_peak_dbtp: Some(-2.0),
        },
        black: vec![Segment {
            start_s: 1.5,
            end_s: 2.5,
        }],
        silence: vec![],
        frozen: vec![],
        clipping: vec![],
        clipped_samples: 0,
        findings: kinds
            .iter()
            .map(|k| Finding {
                kind: *k,
                severity: Severity::Warning,
                start_s: Some(1.5),
                end_s: Some(2.5),
                message: format!("{k:?} <b>here</b>"),
            })
            .collect(),
        summary: "checked".into(),
    }
}

/// A submission by `owner` with one version whose clip is in `state` with `kinds` findings.
async fn seed(
    app: &TestApp,
    owner: i64,
    category: &str,
    title: &str,
    state: ClipState,
    kinds: &[FindingKind],
) -> i64 {
    let db = &app.state.engine.db;
    let now = gala_pipeline::now_ms();
    let row = sqlx::query(
        "INSERT INTO submissions (owner_id, category, title, description, credits, language,
             rights_confirmed, consent_confirmed, selection, review_reason, locked, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'en', 1, 1, 'in_review', NULL, 0, $6, $6) RETURNING id",
    )
    .bind(owner)
    .bind(category)
    .bind(title)
    .bind("about <i>it</i>")
    .bind(r#"{"people":[{"name":"<u>Li</u>","role":"singer"}],"ai_tools":["Suno"]}"#)
    .bind(now)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let id: i64 = row.try_get("id").unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    let clip = clips::insert(&mut conn, "a.mp4", "00", 1, None)
        .await
        .unwrap();
    drop(conn);
    clips::set_qc(db, clip, &report(kinds)).await.unwrap();
    clips::set_state(db, clip, state).await.unwrap();
    add_version(app, id, 1, clip).await;
    id
}

async fn add_version(app: &TestApp, submission: i64, number: i64, clip: i64) {
    sqlx::query(
        "INSERT INTO submission_versions (submission_id, number, upload_id, clip_id, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(submission)
    .bind(number)
    .bind(format!("up-{submission}-{number}"))
    .bind(clip)
    .bind(gala_pipeline::now_ms())
    .execute(&app.state.engine.db.pool)
    .await
    .unwrap();
}

async fn creator(app: &TestApp) -> i64 {
    app.create_user(
        "owner@example.org",
        "Owner",
        common::PASSWORD,
        Role::Creator,
    )
    .await
}

async fn get_json(app: &TestApp, client: &Client, path: &str) -> (u16, Value) {
    let r = client.get(app.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn queue_ids(app: &TestApp, client: &Client, query: &str) -> Vec<i64> {
    let (status, body) = get_json(app, client, &format!("/api/review/queue?{query}")).await;
    assert_eq!(status, 200, "{body}");
    let mut ids: Vec<i64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

async fn decide(app: &TestApp, client: &Client, id: i64, body: Value) -> (u16, Value) {
    let r = app
        .post_json(client, &format!("/api/review/{id}/decision"), body)
        .await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn accept(expected: &str, version: i64) -> Value {
    json!({ "decision": "accept", "reason_template": "welcome", "note": "",
            "expected_selection": expected, "version_number": version })
}

async fn selection_and_lock(app: &TestApp, id: i64) -> (String, i64, Option<String>) {
    let r = sqlx::query("SELECT selection, locked, review_reason FROM submissions WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.engine.db.pool)
        .await
        .unwrap();
    (
        r.try_get("selection").unwrap(),
        r.try_get("locked").unwrap(),
        r.try_get("review_reason").unwrap(),
    )
}

async fn filters_return_exactly_the_matching_submissions(app: TestApp) {
    let owner = creator(&app).await;
    let a = seed(
        &app,
        owner,
        "music",
        "A",
        ClipState::Ready,
        &[FindingKind::Clipping],
    )
    .await;
    let b = seed(
        &app,
        owner,
        "dance",
        "B",
        ClipState::Ready,
        &[FindingKind::Black],
    )
    .await;
    let c = seed(&app, owner, "music", "C", ClipState::Normalizing, &[]).await;
    let d = seed(
        &app,
        owner,
        "other",
        "D",
        ClipState::Failed,
        &[FindingKind::Black],
    )
    .await;
    let rev = app.logged_in("rev@example.org", Role::Reviewer).await;
    assert_eq!(queue_ids(&app, &rev, "").await, vec![a, b, c, d]);
    assert_eq!(queue_ids(&app, &rev, "category=music").await, vec![a, c]);
    assert_eq!(queue_ids(&app, &rev, "finding=black").await, vec![b, d]);
    assert_eq!(queue_ids(&app, &rev, "state=processing").await, vec![c]);
    assert_eq!(queue_ids(&app, &rev, "state=failed").await, vec![d]);
    assert_eq!(
        queue_ids(&app, &rev, "category=music&finding=clipping&state=ready").await,
        vec![a]
    );
    let (s, _) = decide(&app, &rev, b, accept("in_review", 1)).await;
    assert_eq!(s, 201);
    assert_eq!(queue_ids(&app, &rev, "selection=accepted").await, vec![b]);
    assert_eq!(
        queue_ids(&app, &rev, "selection=in_review").await,
        vec![a, c, d]
    );
    // Assignment filters.
    let me: Value = app.me(&rev).await.1;
    let rid = me["id"].as_i64().unwrap();
    gala_studio::review::repo::assign(&app.state.engine.db, d, rid, rid)
        .await
        .unwrap();
    assert_eq!(queue_ids(&app, &rev, "assigned=me").await, vec![d]);
    assert_eq!(
        queue_ids(&app, &rev, "assigned=unassigned").await,
        vec![a, b, c]
    );
    // My queue comes first, in the page as well.
    let (_, body) = get_json(&app, &rev, "/api/review/queue").await;
    assert_eq!(body["items"][0]["id"], d);
    let html = rev
        .get(app.url("/review?category=music"))
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(html.contains(&format!("/review/{a}\"")));
    assert!(!html.contains(&format!("/review/{b}\"")));
}

async fn a_decision_is_audited_and_updates_selection_and_lock(app: TestApp) {
    let owner = creator(&app).await;
    let id = seed(&app, owner, "music", "A", ClipState::Ready, &[]).await;
    let rev = app.logged_in("rev@example.org", Role::Reviewer).await;
    let rid = app.me(&rev).await.1["id"].as_i64().unwrap();
    let before = gala_pipeline::now_ms();
    let (s, rec) = decide(&app, &rev, id, accept("in_review", 1)).await;
    assert_eq!(s, 201, "{rec}");
    assert_eq!(rec["reviewer_id"], rid);
    assert_eq!(rec["decision"], "accept");
    assert_eq!(rec["previous_selection"], "in_review");
    assert_eq!(rec["reason_template"], "welcome");
    assert!(rec["created_at"].as_i64().unwrap() >= before);
    let (sel, locked, reason) = selection_and_lock(&app, id).await;
    assert_eq!((sel.as_str(), locked), ("accepted", 1));
    assert_eq!(reason.as_deref(), Some("Selected for the show. Thank you!"));
    // Needs changes on the accepted submission unlocks it; the audit keeps both.
    let (s, rec) = decide(
        &app,
        &rev,
        id,
        json!({ "decision": "needs_changes", "reason_template": "audio_clipping",
                "note": "see 0:12", "expected_selection": "accepted", "version_number": 1 }),
    )
    .await;
    assert_eq!(s, 201, "{rec}");
    let (sel, locked, reason) = selection_and_lock(&app, id).await;
    assert_eq!((sel.as_str(), locked), ("needs_changes", 0));
    assert!(reason.unwrap().ends_with("\n\nsee 0:12"));
    let (s, history) = get_json(&app, &rev, &format!("/api/review/{id}/history")).await;
    assert_eq!(s, 200);
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["previous_selection"], "accepted");
    assert_eq!(history[1]["note"], "see 0:12");
    // Reject locks again, from the page's form.
    let r = app
        .post_form(
            &rev,
            &format!("/review/{id}/decision"),
            &[
                ("decision", "reject"),
                ("reason_template", "off_topic"),
                ("note", ""),
                ("expected_selection", "needs_changes"),
                ("version_number", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(selection_and_lock(&app, id).await.1, 1);
    let page = rev
        .get(app.url(&format!("/review/{id}/history")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("<tr><td>").count(), 3, "three decisions shown");
}

async fn a_stale_or_premature_decision_is_refused(app: TestApp) {
    let owner = creator(&app).await;
    let id = seed(&app, owner, "music", "A", ClipState::Ready, &[]).await;
    let one = app.logged_in("one@example.org", Role::Reviewer).await;
    let two = app.logged_in("two@example.org", Role::Director).await;
    assert_eq!(decide(&app, &one, id, accept("in_review", 1)).await.0, 201);
    let (s, body) = decide(&app, &two, id, accept("in_review", 1)).await;
    assert_eq!(s, 409, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Someone else decided"));
    // A new version arrived: deciding on the old one is stale too.
    let mut conn = app.state.engine.db.pool.acquire().await.unwrap();
    let clip = clips::insert(&mut conn, "b.mp4", "01", 1, None)
        .await
        .unwrap();
    drop(conn);
    add_version(&app, id, 2, clip).await;
    assert_eq!(decide(&app, &one, id, accept("accepted", 1)).await.0, 409);
    // Version 2 is still processing: no decision yet.
    let (s, body) = decide(&app, &one, id, accept("accepted", 2)).await;
    assert_eq!(s, 409);
    assert!(body["message"].as_str().unwrap().contains("processed"));
    let processing = seed(&app, owner, "music", "P", ClipState::Checking, &[]).await;
    assert_eq!(
        decide(&app, &one, processing, accept("in_review", 1))
            .await
            .0,
        409
    );
    let (s, h) = get_json(&app, &one, &format!("/api/review/{id}/history")).await;
    assert_eq!(
        (s, h.as_array().unwrap().len()),
        (200, 1),
        "refusals write nothing"
    );
    assert_eq!(selection_and_lock(&app, processing).await.0, "in_review");
    // A reason that does not fit the decision, or a refusal without any reason: 422.
    let bad = json!({ "decision": "accept", "reason_template": "off_topic", "note": "",
                      "expected_selection": "in_review", "version_number": 1 });
    let ok_id = seed(&app, owner, "music", "R", ClipState::Ready, &[]).await;
    assert_eq!(decide(&app, &one, ok_id, bad).await.0, 422);
    let bare = json!({ "decision": "reject", "note": " ",
                       "expected_selection": "in_review", "version_number": 1 });
    assert_eq!(decide(&app, &one, ok_id, bare).await.0, 422);
    // Without the session's CSRF token nothing is decided.
    let r = one
        .post(app.url(&format!("/api/review/{ok_id}/decision")))
        .json(&accept("in_review", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(selection_and_lock(&app, ok_id).await.0, "in_review");
}

/// Decisions racing on one submission: exactly one wins, the others are 409 and write nothing.
async fn racing_decisions_have_one_winner(app: TestApp) {
    let owner = creator(&app).await;
    let id = seed(&app, owner, "music", "A", ClipState::Ready, &[]).await;
    let mut clients = Vec::new();
    for i in 0..4 {
        clients.push(
            app.logged_in(&format!("r{i}@example.org"), Role::Reviewer)
                .await,
        );
    }
    let mut tokens = Vec::new();
    for c in &clients {
        tokens.push(app.csrf(c).await);
    }
    let url = app.url(&format!("/api/review/{id}/decision"));
    let sends = clients.iter().zip(&tokens).map(|(c, t)| {
        c.post(&url)
            .header("X-CSRF-Token", t)
            .json(&accept("in_review", 1))
            .send()
    });
    let statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        3,
        "{statuses:?}"
    );
    let (_, h) = get_json(&app, &clients[0], &format!("/api/review/{id}/history")).await;
    assert_eq!(h.as_array().unwrap().len(), 1);
}

async fn seed_reviewers(app: &TestApp, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let email = format!("r{i}@example.org");
        ids.push(
            app.create_user(&email, "R", common::PASSWORD, Role::Reviewer)
                .await,
        );
    }
    ids
}

async fn assigned_counts(app: &TestApp, reviewers: &[i64]) -> Vec<i64> {
    let mut out = Vec::new();
    for r in reviewers {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM review_assignments WHERE reviewer_id = $1")
                .bind(*r)
                .fetch_one(&app.state.engine.db.pool)
                .await
                .unwrap();
        out.push(row.try_get::<i64, _>("n").unwrap());
    }
    out
}

async fn round_robin_spreads_evenly(app: TestApp) {
    let owner = creator(&app).await;
    let reviewers = seed_reviewers(&app, 3).await;
    for i in 0..7 {
        seed(
            &app,
            owner,
            "music",
            &format!("S{i}"),
            ClipState::Ready,
            &[],
        )
        .await;
    }
    let director = app.logged_in("dir@example.org", Role::Director).await;
    let r = app
        .post_json(
            &director,
            "/api/review/assign",
            json!({ "mode": "round_robin" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["assigned"], 7);
    assert_eq!(assigned_counts(&app, &reviewers).await, vec![3, 2, 2]);
    // Two more go to the least loaded reviewers; nothing is assigned twice.
    for i in 0..2 {
        seed(
            &app,
            owner,
            "dance",
            &format!("T{i}"),
            ClipState::Ready,
            &[],
        )
        .await;
    }
    let r = app
        .post_form(&director, "/review/assign", &[("mode", "round_robin")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(assigned_counts(&app, &reviewers).await, vec![3, 3, 3]);
}

async fn assignment_by_category_and_progress(app: TestApp) {
    let owner = creator(&app).await;
    let reviewers = seed_reviewers(&app, 2).await;
    let m1 = seed(&app, owner, "music", "M1", ClipState::Ready, &[]).await;
    seed(&app, owner, "music", "M2", ClipState::Ready, &[]).await;
    seed(&app, owner, "dance", "D1", ClipState::Ready, &[]).await;
    seed(&app, owner, "other", "O1", ClipState::Ready, &[]).await;
    let admin = app.logged_in("adm@example.org", Role::Admin).await;
    let body = json!({ "mode": "by_category",
                       "categories": { "music": reviewers[0], "dance": reviewers[1] } });
    let r = app.post_json(&admin, "/api/review/assign", body).await;
    assert_eq!(r.json::<Value>().await.unwrap()["assigned"], 3);
    assert_eq!(assigned_counts(&app, &reviewers).await, vec![2, 1]);
    // A category mapped to someone who is not a reviewer is refused.
    let bad = json!({ "mode": "by_category", "categories": { "other": 999999 } });
    let r = app.post_json(&admin, "/api/review/assign", bad).await;
    assert_eq!(r.status(), 422);
    // Progress after one decision by the first reviewer.
    let rev = app.browser_of("r0@example.org").await;
    assert_eq!(decide(&app, &rev, m1, accept("in_review", 1)).await.0, 201);
    let (s, p) = get_json(&app, &rev, "/api/review/progress").await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["overall"], json!({ "in_review": 3, "decided": 1 }));
    assert_eq!(p["unassigned_in_review"], 1);
    assert_eq!(
        p["reviewers"][0]["counts"],
        json!({ "in_review": 1, "decided": 1 })
    );
    assert_eq!(
        p["reviewers"][1]["counts"],
        json!({ "in_review": 1, "decided": 0 })
    );
    let music = p["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "music")
        .unwrap();
    assert_eq!(music["counts"], json!({ "in_review": 1, "decided": 1 }));
    let page = rev.get(app.url("/review/progress")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    // Reviewers may not assign.
    let r = app
        .post_json(&rev, "/api/review/assign", json!({ "mode": "round_robin" }))
        .await;
    assert_eq!(r.status(), 403);
}

async fn creators_get_403_on_every_review_route(app: TestApp) {
    let owner = creator(&app).await;
    let id = seed(&app, owner, "music", "A", ClipState::Ready, &[]).await;
    let me = app.browser_of("owner@example.org").await;
    let gets = [
        "/review".to_string(),
        format!("/review/{id}"),
        format!("/review/{id}/history"),
        "/review/assign".into(),
        "/review/progress".into(),
        "/api/review/queue".into(),
        "/api/review/templates".into(),
        "/api/review/progress".into(),
        format!("/api/review/{id}"),
        format!("/api/review/{id}/history"),
    ];
    for path in &gets {
        let r = me.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "GET {path}");
    }
    let r = app
        .post_json(
            &me,
            &format!("/api/review/{id}/decision"),
            accept("in_review", 1),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .post_json(&me, "/api/review/assign", json!({ "mode": "round_robin" }))
        .await;
    assert_eq!(r.status(), 403);
    let form = [
        ("decision", "accept"),
        ("expected_selection", "in_review"),
        ("version_number", "1"),
    ];
    let r = app
        .post_form(&me, &format!("/review/{id}/decision"), &form)
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .post_form(&me, "/review/assign", &[("mode", "round_robin")])
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(selection_and_lock(&app, id).await.0, "in_review");
    // Logged out: the pages send to the login, the API answers 401.
    let anon = common::browser();
    let r = anon.get(app.url("/review")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = anon.get(app.url("/api/review/queue")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

async fn html_in_user_fields_is_escaped_on_every_page(app: TestApp) {
    let owner = creator(&app).await;
    let evil = "<script>alert(1)</script>";
    let id = seed(
        &app,
        owner,
        "music",
        evil,
        ClipState::Ready,
        &[FindingKind::Black],
    )
    .await;
    let rev = app.logged_in("rev@example.org", Role::Reviewer).await;
    let body = json!({ "decision": "reject", "note": evil,
                       "expected_selection": "in_review", "version_number": 1 });
    assert_eq!(decide(&app, &rev, id, body).await.0, 201);
    for path in [
        "/review".to_string(),
        format!("/review/{id}"),
        format!("/review/{id}/history"),
    ] {
        let html = rev
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains(evil), "raw HTML on {path}");
        assert!(
            html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
            "{path}"
        );
    }
    let html = rev
        .get(app.url(&format!("/review/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<u>Li</u>") && !html.contains("<i>it</i>"));
    assert!(!html.contains("<b>here</b>"));
    // What exists is shown, what does not is named as missing.
    assert!(
        html.contains("class=\"jump\""),
        "a jump to the finding's timecode"
    );
    assert!(html.contains("0:01.5"));
    assert!(html.contains("No transcript yet."));
    assert!(html.contains("No AI scores yet."));
    assert!(html.contains("No duplicate check yet."));
}

async fn an_oversize_note_is_rejected(app: TestApp) {
    let owner = creator(&app).await;
    let id = seed(&app, owner, "music", "A", ClipState::Ready, &[]).await;
    let rev = app.logged_in("rev@example.org", Role::Reviewer).await;
    let long = "n".repeat(gala_studio::review::NOTE_MAX_CHARS + 1);
    let body = json!({ "decision": "needs_changes", "note": long,
                       "expected_selection": "in_review", "version_number": 1 });
    let (s, body) = decide(&app, &rev, id, body).await;
    assert_eq!(s, 422);
    assert_eq!(body["fields"]["note"], "validation.too_long");
    assert!(!body["message"].as_str().unwrap().is_empty());
    let r = app
        .post_form(
            &rev,
            &format!("/review/{id}/decision"),
            &[
                ("decision", "needs_changes"),
                ("note", &long),
                ("expected_selection", "in_review"),
                ("version_number", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("This is too long."));
    assert_eq!(selection_and_lock(&app, id).await.0, "in_review");
    let exact = "n".repeat(gala_studio::review::NOTE_MAX_CHARS);
    let body = json!({ "decision": "needs_changes", "note": exact,
                       "expected_selection": "in_review", "version_number": 1 });
    assert_eq!(decide(&app, &rev, id, body).await.0, 201);
}

async fn the_openapi_document_has_the_review_api(app: TestApp) {
    let (s, doc) = get_json(&app, &common::browser(), "/api/openapi.json").await;
    assert_eq!(s, 200);
    for path in [
        "/api/review/queue",
        "/api/review/{id}",
        "/api/review/{id}/decision",
        "/api/review/{id}/history",
        "/api/review/assign",
        "/api/review/progress",
        "/api/review/templates",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}

async fn a_score_is_validated_recorded_and_shown(app: TestApp) {
    let owner = creator(&app).await;
    let id = seed(&app, owner, "music", "A", ClipState::Ready, &[]).await;
    let rev = app.logged_in("rev@example.org", Role::Reviewer).await;
    for bad in [json!(0), json!(6), json!(-3)] {
        let mut body = accept("in_review", 1);
        body["score"] = bad.clone();
        let (s, body) = decide(&app, &rev, id, body).await;
        assert_eq!(s, 422, "{bad}: {body}");
        assert_eq!(body["fields"]["score"], "validation.score");
    }
    let mut body = accept("in_review", 1);
    body["score"] = json!("four");
    assert_eq!(decide(&app, &rev, id, body).await.0 / 100, 4);
    assert_eq!(selection_and_lock(&app, id).await.0, "in_review");

    let mut body = accept("in_review", 1);
    body["score"] = json!(4);
    let (s, rec) = decide(&app, &rev, id, body).await;
    assert_eq!(s, 201, "{rec}");
    assert_eq!(rec["score"], 4);
    let form = |score: &'static str| {
        [
            ("decision", "needs_changes"),
            ("reason_template", "audio_clipping"),
            ("note", ""),
            ("expected_selection", "accepted"),
            ("version_number", "1"),
            ("score", score),
        ]
    };
    for bad in ["0", "9", "x", "2.5"] {
        let r = app
            .post_form(&rev, &format!("/review/{id}/decision"), &form(bad))
            .await;
        assert_eq!(r.status(), 422, "{bad}");
        let text = r.text().await.unwrap();
        assert!(text.contains("The score must be a whole number from 1 to 5."));
    }
    let r = app
        .post_form(&rev, &format!("/review/{id}/decision"), &form("2"))
        .await;
    assert_eq!(r.status(), 303);
    // A decision without a score (the form's empty choice) counts for nothing in the mean.
    let mut none = form("");
    none[0].1 = "reject";
    none[1].1 = "off_topic";
    none[3].1 = "needs_changes";
    let r = app
        .post_form(&rev, &format!("/review/{id}/decision"), &none)
        .await;
    assert_eq!(r.status(), 303);

    let (_, history) = get_json(&app, &rev, &format!("/api/review/{id}/history")).await;
    let scores: Vec<Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].clone())
        .collect();
    assert_eq!(scores, [json!(4), json!(2), Value::Null]);
    let (_, ev) = get_json(&app, &rev, &format!("/api/review/{id}")).await;
    assert_eq!(
        (ev["review_score"].as_f64(), ev["review_scores"].as_i64()),
        (Some(3.0), Some(2))
    );
    let page = |path: String| {
        let rev = rev.clone();
        let url = app.url(&path);
        async move { rev.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let history = page(format!("/review/{id}/history")).await;
    assert!(
        history.contains("<td>4</td>") && history.contains("<td>2</td>"),
        "{history}"
    );
    let evidence = page(format!("/review/{id}")).await;
    assert!(evidence.contains("3.0 (2)"), "the mean score is shown");
}

on_both_backends!(
    filters_return_exactly_the_matching_submissions,
    a_decision_is_audited_and_updates_selection_and_lock,
    a_stale_or_premature_decision_is_refused,
    racing_decisions_have_one_winner,
    round_robin_spreads_evenly,
    assignment_by_category_and_progress,
    creators_get_403_on_every_review_route,
    html_in_user_fields_is_escaped_on_every_page,
    an_oversize_note_is_rejected,
    the_openapi_document_has_the_review_api,
    a_score_is_validated_recorded_and_shown,
);
