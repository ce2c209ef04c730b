//! The accepted pool on SQLite and PostgreSQL: what is in it, with which values, and what is
//! left out.

use super::*;
use crate::analysis::energy::{record, EnergyReport};

async fn user(db: &Db, name: &str, role: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (email, display_name, password_hash, role, status, created_at, updated_at)
         VALUES ($1, $2, 'x', $3, 'active', 0, 0) RETURNING id",
    )
    .bind(format!("{name}@example.com"))
    .bind(name)
    .bind(role)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

async fn submission(db: &Db, owner: i64, title: &str, selection: &str, credits: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO submissions (owner_id, category, title, description, credits, language,
             rights_confirmed, consent_confirmed, selection, created_at, updated_at)
         VALUES ($1, 'dance', $2, '', $3, 'zh-CN', 1, 1, $4, 0, 0) RETURNING id",
    )
    .bind(owner)
    .bind(title)
    .bind(credits)
    .bind(selection)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

/// A clip in `state` as the next version of `submission`; `report_s` goes in its normalize
/// report and `probe_s` in its probe (both as stored JSON, only the field the pool reads).
async fn version(
    db: &Db,
    submission: i64,
    state: &str,
    report_s: Option<f64>,
    probe_s: Option<f64>,
) -> i64 {
    let normalized = (state == "ready").then_some("ab12");
    let json = |d: Option<f64>| d.map(|d| format!("{{\"duration_s\":{d}}}"));
    let clip: i64 = sqlx::query_scalar(
        "INSERT INTO clips (source_name, source_sha256, source_size, state, probe,
             normalized_sha256, normalize_report, created_at, updated_at)
         VALUES ('a.mp4', 'cd34', 1, $1, $2, $3, $4, 0, 0) RETURNING id",
    )
    .bind(state)
    .bind(json(probe_s))
    .bind(normalized)
    .bind(json(report_s))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM submission_versions WHERE submission_id = $1")
            .bind(submission)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    sqlx::query(
        "INSERT INTO submission_versions (submission_id, number, upload_id, clip_id, created_at)
         VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(submission)
    .bind(n + 1)
    .bind(format!("upload-{clip}"))
    .bind(clip)
    .execute(&db.pool)
    .await
    .unwrap();
    clip
}

async fn decision(db: &Db, submission: i64, reviewer: i64, score: Option<i64>) {
    sqlx::query(
        "INSERT INTO review_decisions (submission_id, version_number, reviewer_id, decision,
             note, previous_selection, created_at, score)
         VALUES ($1, 1, $2, 'accept', '', 'in_review', 0, $3)",
    )
    .bind(submission)
    .bind(reviewer)
    .bind(score)
    .execute(&db.pool)
    .await
    .unwrap();
}

fn energy(value: f64) -> EnergyReport {
    EnergyReport {
        bpm: Some(120.0),
        bpm_confidence: 0.9,
        onset_rate: 2.0,
        st_mean: Some(-24.0),
        st_p90: Some(-20.0),
        lra: 5.0,
        centroid_hz: Some(1500.0),
        energy: value,
    }
}

async fn accepted_ready_latest_versions_make_the_pool(db: Db) {
    let ann = user(&db, "Ann", "creator").await;
    let bo = user(&db, "Bo", "creator").await;
    let rev = user(&db, "Rita", "reviewer").await;
    let credits = r#"{"people":[{"name":"Ann","role":"dancer"},{"name":"Lu","role":""}],
                      "ai_tools":["Suno"]}"#;

    let full = submission(&db, ann, "Full", "accepted", credits).await;
    let full_clip = version(&db, full, "ready", Some(61.5004), Some(70.0)).await;
    record::save(&db, full_clip, &energy(0.75)).await.unwrap();
    decision(&db, full, rev, Some(4)).await;
    decision(&db, full, rev, None).await;
    decision(&db, full, rev, Some(5)).await;

    // The latest version is still processing: the ready older one does not stand in.
    let pending = submission(&db, bo, "Pending", "accepted", "{}").await;
    version(&db, pending, "ready", Some(30.0), None).await;
    version(&db, pending, "checking", None, None).await;

    // An older version failed; the latest is ready, known only by its probe.
    let second = submission(&db, bo, "Second", "accepted", "{}").await;
    version(&db, second, "rejected", None, None).await;
    let second_clip = version(&db, second, "ready", None, Some(12.04)).await;

    for selection in ["in_review", "needs_changes", "not_selected"] {
        let s = submission(&db, ann, selection, selection, "{}").await;
        version(&db, s, "ready", Some(20.0), None).await;
    }
    let failed = submission(&db, ann, "Failed", "accepted", "{}").await;
    version(&db, failed, "failed", None, None).await;

    let pool = accepted_pool(&db).await.unwrap();
    let titles: Vec<&str> = pool.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Full", "Second"]);
    assert_eq!(
        pool[0],
        Candidate {
            submission_id: full,
            version_number: 1,
            clip_id: full_clip,
            title: "Full".into(),
            creator_id: ann,
            creator: "Ann".into(),
            category: "dance".into(),
            duration_ms: 61_500,
            score: Some(4.5),
            energy: Some(0.75),
            credits: vec!["dancer: Ann".into(), "Lu".into(), "AI tool: Suno".into()],
            language: "zh-CN".into(),
            trim: None,
        }
    );
    let s = &pool[1];
    assert_eq!((s.version_number, s.clip_id), (2, second_clip));
    assert_eq!((s.creator_id, s.creator.as_str()), (bo, "Bo"));
    assert_eq!(s.duration_ms, 12_040);
    assert_eq!((s.score, s.energy), (None, None));
    assert!(s.credits.is_empty());
}

#[test]
fn unreadable_credits_give_no_lines() {
    assert!(credit_lines("not json").is_empty());
    assert_eq!(
        credit_lines(r#"{"people":[{"name":" ","role":"x"},{"name":"Mo","role":"drums"}]}"#),
        ["drums: Mo"]
    );
}

crate::both_backends!(accepted_ready_latest_versions_make_the_pool);
