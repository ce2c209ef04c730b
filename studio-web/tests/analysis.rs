//! The analysis in the studio: the watched-words admin page and API, captions editing and
//! downloads, and the verdict with its evidence on the review page. Submissions, clips and
//! analysis records are made directly in the database through the pipeline's own functions.

mod common;

use common::TestApp;
use gala_pipeline::ai::captions::Cue;
use gala_pipeline::analysis::captions::{self as caption_rows, NewCaptions};
use gala_pipeline::analysis::duplicates::Match;
use gala_pipeline::analysis::jobs::{compute_verdict, MODERATION};
use gala_pipeline::analysis::store::{self, CheckRecord};
use gala_pipeline::analysis::verdict::CheckStatus;
use gala_pipeline::analysis::watchwords::{WatchList, WordEntry, WordSeverity};
use gala_pipeline::ingest::clips::{self, ClipState};
use gala_studio::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

/// A submission by `owner` (language `zh-CN`) with one version whose clip is ready.
async fn seed(app: &TestApp, owner: i64, title: &str, description: &str) -> (i64, i64) {
    let db = &app.state.engine.db;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO submissions (owner_id, category, title, description, credits, language,
             rights_confirmed, consent_confirmed, selection, created_at, updated_at)
         VALUES ($1, 'music', $2, $3, '{\"people\":[],\"ai_tools\":[]}', 'zh-CN', 1, 1, 'in_review', 0, 0) RETURNING id",
    )
    .bind(owner)
    .bind(title)
    .bind(description)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    let clip = clips::insert(&mut conn, "a.mp4", "00", 1, None)
        .await
        .unwrap();
    drop(conn);
    clips::set_state(db, clip, ClipState::Ready).await.unwrap();
    sqlx::query(
        "INSERT INTO submission_versions (submission_id, number, upload_id, clip_id, created_at)
         VALUES ($1, 1, $2, $3, 0)",
    )
    .bind(id)
    .bind(format!("up-{id}"))
    .bind(clip)
    .execute(&db.pool)
    .await
    .unwrap();
    (id, clip)
}

async fn text(client: &reqwest::Client, url: String) -> (u16, String) {
    let r = client.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn admin_manages_watched_words(app: TestApp) {
    let admin = app.logged_in("admin@example.org", Role::Admin).await;
    let (s, html) = text(&admin, app.url("/admin/words")).await;
    assert_eq!(s, 200);
    assert!(html.contains("No watched words yet."));
    let r = app
        .post_form(
            &admin,
            "/admin/words",
            &[
                ("word", "赌博"),
                ("category", "gambling"),
                ("severity", "reject"),
                ("note", "<b>seen</b>"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = text(&admin, app.url("/admin/words")).await;
    assert!(html.contains("赌博") && html.contains("advise rejection"));
    assert!(!html.contains("<b>seen</b>"), "escaped");
    // Without the CSRF token: refused.
    let r = admin
        .post(app.url("/admin/words"))
        .form(&[("word", "x"), ("category", "y"), ("severity", "review")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The API: list, a duplicate (any case), a bad severity, add, remove.
    let list: Value = admin
        .get(app.url("/api/admin/words"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let id = list[0]["id"].as_i64().unwrap();
    let dup = app
        .post_json(
            &admin,
            "/api/admin/words",
            json!({"word": "赌博", "category": "c", "severity": "review"}),
        )
        .await;
    assert_eq!(dup.status(), 409);
    let bad = app
        .post_json(
            &admin,
            "/api/admin/words",
            json!({"word": "scam", "category": "c", "severity": "ban"}),
        )
        .await;
    assert_eq!(bad.status(), 400);
    let ok = app
        .post_json(
            &admin,
            "/api/admin/words",
            json!({"word": "Scam", "category": "fraud", "severity": "review"}),
        )
        .await;
    assert_eq!(ok.status(), 201);
    let r = app
        .post_form(&admin, &format!("/admin/words/{id}/delete"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .send_json(
            &admin,
            Method::DELETE,
            &format!("/api/admin/words/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 404);
    let list: Value = admin
        .get(app.url("/api/admin/words"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["word"], "Scam");
    // Chinese page.
    let r = admin
        .get(app.url("/admin/words"))
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("关注词"));
    // Nobody else.
    for role in [Role::Creator, Role::Reviewer, Role::Director] {
        let email = format!("{role:?}@example.org").to_lowercase();
        let c = app.logged_in(&email, role).await;
        assert_eq!(text(&c, app.url("/admin/words")).await.0, 403, "{role:?}");
        assert_eq!(
            c.get(app.url("/api/admin/words"))
                .send()
                .await
                .unwrap()
                .status(),
            403
        );
        let r = app
            .post_json(
                &c,
                "/api/admin/words",
                json!({"word": "w", "category": "c", "severity": "review"}),
            )
            .await;
        assert_eq!(r.status(), 403);
    }
}

async fn captions_edit_keeps_the_automatic_row(app: TestApp) {
    let owner = app
        .create_user(
            "owner@example.org",
            "Owner",
            common::PASSWORD,
            Role::Creator,
        )
        .await;
    let (id, clip) = seed(&app, owner, "Song", "").await;
    let db = &app.state.engine.db;
    let auto_cues = vec![Cue {
        start_ms: 0,
        end_ms: 1_500,
        text: "大家号".into(),
    }];
    let auto = caption_rows::insert(
        db,
        &NewCaptions {
            clip_id: clip,
            language: "zh",
            source: "auto",
            cues: &auto_cues,
            model: "whisper (test)",
            edited_by: None,
            based_on: None,
        },
    )
    .await
    .unwrap();
    let me = app.browser_of("owner@example.org").await;
    let (s, html) = text(&me, app.url(&format!("/submissions/{id}/captions"))).await;
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("00:00:00.000 --&gt; 00:00:01.500")
            || html.contains("00:00:00.000 --&#62; 00:00:01.500"),
        "{html}"
    );
    let vtt = "WEBVTT\n\n00:00:00.200 --> 00:00:01.600\n大家好\n";
    let auto_id = auto.to_string();
    let r = app
        .post_form(
            &me,
            &format!("/submissions/{id}/captions"),
            &[("language", "zh"), ("based_on", &auto_id), ("vtt", vtt)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let rows = caption_rows::all_of(db, clip).await.unwrap();
    assert_eq!(rows.len(), 2, "the automatic row is kept");
    assert_eq!(rows[0].cues, auto_cues);
    let edited = &rows[1];
    assert_eq!(
        (edited.source.as_str(), edited.edited_by, edited.based_on),
        ("edited", Some(owner), Some(auto))
    );
    assert_eq!(
        edited.cues,
        vec![Cue {
            start_ms: 200,
            end_ms: 1_600,
            text: "大家好".into()
        }]
    );
    // The clip is moderated again.
    let jobs = app.state.engine.queue.list(100).await.unwrap();
    assert!(jobs
        .iter()
        .any(|j| j.kind == MODERATION && j.payload["clip_id"] == clip));
    // Downloads: the latest edit.
    let r = me
        .get(app.url(&format!("/submissions/{id}/captions/{}/vtt", edited.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/vtt; charset=utf-8");
    assert_eq!(
        r.text().await.unwrap(),
        "WEBVTT\n\n00:00:00.200 --> 00:00:01.600\n大家好\n"
    );
    let (s, srt) = text(
        &me,
        app.url(&format!("/submissions/{id}/captions/{}/srt", edited.id)),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(srt, "1\n00:00:00,200 --> 00:00:01,600\n大家好\n");
    // Bad WebVTT names the line; nothing is stored.
    let r = app
        .post_form(
            &me,
            &format!("/submissions/{id}/captions"),
            &[
                ("language", "zh"),
                ("vtt", "WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nx\n"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("line 3"));
    // A reviewer edits through the API; another creator sees nothing.
    let rev = app.logged_in("rev@example.org", Role::Reviewer).await;
    let body = json!({"language": "zh", "based_on": edited.id, "cues": [{"start_ms": 0, "end_ms": 900, "text": "大家好！"}]});
    let r = app
        .post_json(
            &rev,
            &format!("/api/submissions/{id}/captions"),
            body.clone(),
        )
        .await;
    assert_eq!(r.status(), 201);
    let list: Value = rev
        .get(app.url(&format!("/api/submissions/{id}/captions")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["rows"].as_array().unwrap().len(), 3);
    let newest = list["rows"][2]["id"].clone();
    assert_eq!(list["current"], json!([newest]));
    let other = app.logged_in("other@example.org", Role::Creator).await;
    assert_eq!(
        text(&other, app.url(&format!("/submissions/{id}/captions")))
            .await
            .0,
        404
    );
    assert_eq!(
        text(
            &other,
            app.url(&format!("/submissions/{id}/captions/{auto}/vtt"))
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.post_json(
            &other,
            &format!("/api/submissions/{id}/captions"),
            body.clone()
        )
        .await
        .status(),
        404
    );
    // Locked by review: the owner can no longer edit, a reviewer still can.
    sqlx::query("UPDATE submissions SET locked = 1 WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        app.post_json(
            &me,
            &format!("/api/submissions/{id}/captions"),
            body.clone()
        )
        .await
        .status(),
        409
    );
    assert_eq!(
        app.post_json(&rev, &format!("/api/submissions/{id}/captions"), body)
            .await
            .status(),
        201
    );
}

async fn the_review_page_shows_the_verdict_with_its_evidence(app: TestApp) {
    let a = app
        .create_user("a@example.org", "A", common::PASSWORD, Role::Creator)
        .await;
    let b = app
        .create_user("b@example.org", "B", common::PASSWORD, Role::Creator)
        .await;
    let (original, original_clip) = seed(&app, a, "The original", "").await;
    let (copy, clip) = seed(&app, b, "A copy", "欢迎来到网络赌博平台").await;
    let db = &app.state.engine.db;
    let list = WatchList::new(vec![WordEntry {
        word: "赌博".into(),
        category: "gambling".into(),
        severity: WordSeverity::Review,
    }])
    .unwrap();
    let hits = list.find("description", "欢迎来到网络赌博平台", None);
    let check = |name: &str, status: CheckStatus, flags: Value, error: Option<&str>| CheckRecord {
        name: name.into(),
        status,
        flags,
        error: error.map(str::to_string),
        model: "m".into(),
        duration_ms: 5,
        created_at: 0,
    };
    for rec in [
        check("watched_words", CheckStatus::Done, json!(hits), None),
        check("duplicates", CheckStatus::Done, json!([]), None),
        check(
            "captions",
            CheckStatus::NotConfigured,
            json!([]),
            Some("no captions model is configured (models.captions in gala.yaml)"),
        ),
        check(
            "text",
            CheckStatus::Failed,
            json!([]),
            Some("the text_moderation model failed: out of memory"),
        ),
        check("frames", CheckStatus::Done, json!([]), None),
    ] {
        store::save_check(db, clip, &rec).await.unwrap();
    }
    let m = Match {
        clip_id: original_clip,
        score: 0.97,
        matched_frames: 12,
        audio_similarity: Some(0.9),
        offset_s: Some(0.0),
        evidence: vec![(1.0, 1.0), (1.5, 1.5)],
    };
    store::save_duplicates(db, clip, &[m]).await.unwrap();
    let c = clips::get(db, clip).await.unwrap().unwrap();
    let v = compute_verdict(db, &app.state.engine.config, &c)
        .await
        .unwrap();
    store::save_verdict(db, clip, &v).await.unwrap();

    let rev = app.logged_in("rev@example.org", Role::Reviewer).await;
    let (s, html) = text(&rev, app.url(&format!("/review/{copy}"))).await;
    assert_eq!(s, 200);
    assert!(html.contains("Analysis advice: Reject"), "{html}");
    assert!(html.contains("the decision is yours"));
    assert!(
        html.contains("Duplicate of another creator&#39;s clip")
            || html.contains("Duplicate of another creator's clip")
    );
    assert!(
        html.contains(&format!("href=\"/review/{original}\"")),
        "a link to the original"
    );
    assert!(
        html.contains("网络<mark>赌博</mark>平台"),
        "the match highlighted"
    );
    assert!(html.contains("out of memory"), "why a check is incomplete");
    assert!(html.contains("No transcript yet."));
    assert!(html.contains("0.97"));
    // The decision form is still there: the reviewer decides.
    assert!(html.contains(&format!("action=\"/review/{copy}/decision\"")));
    // The original's page lists the later copy, without holding it against the original.
    let (_, html) = text(&rev, app.url(&format!("/review/{original}"))).await;
    assert!(html.contains(&format!("href=\"/review/{copy}\"")));
    assert!(html.contains("uploaded after this one"));
    // The API carries the same.
    let ev: Value = rev
        .get(app.url(&format!("/api/review/{copy}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ev["analysis"]["verdict"]["verdict"]["outcome"], "reject");
    assert_eq!(ev["analysis"]["duplicates"][0]["submission_id"], original);
    assert_eq!(ev["not_yet_available"], json!(["transcript"]));
    // Captions appear as a track on the player and a list with downloads.
    caption_rows::insert(
        db,
        &NewCaptions {
            clip_id: clip,
            language: "zh",
            source: "auto",
            cues: &[Cue {
                start_ms: 2_000,
                end_ms: 3_000,
                text: "你好".into(),
            }],
            model: "m",
            edited_by: None,
            based_on: None,
        },
    )
    .await
    .unwrap();
    sqlx::query("UPDATE clips SET proxy_sha256 = 'p' WHERE id = $1")
        .bind(clip)
        .execute(&db.pool)
        .await
        .unwrap();
    let (_, html) = text(&rev, app.url(&format!("/review/{copy}"))).await;
    assert!(html.contains("<track kind=\"captions\""));
    assert!(html.contains("0:02.0"), "{html}");
    assert!(html.contains("你好"));
}

on_both_backends!(
    admin_manages_watched_words,
    captions_edit_keeps_the_automatic_row,
    the_review_page_shows_the_verdict_with_its_evidence,
);
