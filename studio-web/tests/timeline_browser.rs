//! The director's timeline in a real browser: Debian's chromium driven by playwright-core
//! (tests/web/timeline.mjs) opens a seeded show, reorders it by keyboard and by drag and drop,
//! locks an item, rewrites a host line and sees the back-timing move, and meets a conflict
//! when another director saved first — on a desktop in English and a phone in Chinese; and
//! (tests/web/plan.mjs) proposes a running order from an accepted pool and asks for a render.
//! Screenshots: target/test-artifacts/browser/timeline-*.png, plan-*.png.
//! Needs `chromium` (scripts/install-debian-deps.sh) and tests/web/node_modules
//! (scripts/install-test-tools.sh).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gala_studio::auth::Role;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn act(n: i64, ms: i64) -> Value {
    json!({
        "kind": "act", "submission_id": n, "version_number": 1, "clip_id": 100 + n,
        "title": format!("Act {n}"), "creator": format!("Creator {n}"), "creator_id": 50 + n,
        "category": "dance", "clip_ms": ms, "in_ms": 0, "out_ms": ms
    })
}

/// Runs `tests/web/<script>` against the studio at `base`; what it saw (its last line).
async fn run_script(script: &str, base: &str, shots: &Path, run: &Value) -> Value {
    assert!(
        Path::new("/usr/bin/chromium").exists()
            && root().join("tests/web/node_modules/playwright-core").exists(),
        "chromium and playwright-core are not installed: run scripts/install-debian-deps.sh and scripts/install-test-tools.sh"
    );
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("node")
            .arg(root().join("tests/web").join(script))
            .arg(base)
            .arg(shots)
            .arg(run.to_string())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("the browser run ends in time")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser run {script} {run} failed; it printed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_director_edits_the_timeline_in_the_browser() {
    let app = common::spawn_app().await;
    let email = "director@example.org";
    app.create_user(email, "Dana Director", common::PASSWORD, Role::Director)
        .await;
    let director = app.browser_of(email).await;
    let shots = root().join("target/test-artifacts/browser");

    for (name, lang, mobile, conflict) in [
        (
            "desktop-en",
            "en",
            false,
            "Another director changed this show (version",
        ),
        ("phone-zh", "zh-CN", true, "另一位导演修改了这个节目（版本"),
    ] {
        let body = json!({
            "title": format!("Lantern Night {name}"), "starts_at": "2027-02-12T19:30",
            "target_ms": 180_000, "tolerance_ms": 10_000,
            "items": [act(1, 30_000),
                { "kind": "host_card", "line": "Next: act two", "language": "en",
                  "writer": "deterministic", "duration_ms": 5_000 },
                act(2, 60_000), act(3, 20_000)]
        });
        let created: Value = app
            .post_json(&director, "/api/shows", body)
            .await
            .json()
            .await
            .unwrap();
        let id = created["id"].as_i64().unwrap();
        let run = json!({ "name": name, "lang": lang, "mobile": mobile, "show": id,
                          "director": email });
        let seen = run_script("timeline.mjs", &app.base, &shots, &run).await;
        let conflict_message = seen["conflict"].as_str().unwrap();
        assert!(conflict_message.contains(conflict), "{conflict_message}");
        // The conflict names the version the other director made: 6 edits after version 1.
        assert!(conflict_message.contains('7'), "{conflict_message}");
        assert_eq!(seen["final_version"], 7);

        // What the browser did is what the server holds.
        let latest: Value = director
            .get(app.url(&format!("/api/shows/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = latest["order"]["items"].as_array().unwrap();
        let order: Vec<Value> = items.iter().map(|i| i["id"].clone()).collect();
        assert_eq!(Value::Array(order), seen["final"]);
        let locked = items.iter().find(|i| i["id"] == seen["locked"]).unwrap();
        assert_eq!(locked["locked"], true);
        let card = items.iter().find(|i| i["kind"] == "host_card").unwrap();
        assert_eq!(card["line"], "Ladies and gentlemen: the lantern dance!");
        assert_eq!(card["writer"], "director");
        assert_eq!(card["duration_ms"], 7_000, "the other director's length");
        let history: Value = director
            .get(app.url(&format!("/api/shows/{id}/history")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(history.as_array().unwrap().len(), 7);
        assert!(shots
            .join(format!("timeline-{name}-6-conflict.png"))
            .exists());
    }
}

/// Accepted submissions of three creators, each with a ready clip of 60 to 115 s: a pool the
/// planner can fill a 10-minute show from (the clips are rows only: nothing is rendered).
async fn seed_pool(app: &common::TestApp) {
    let db = &app.state.engine.db;
    for c in 0..3 {
        let owner = app
            .create_user(
                &format!("creator{c}@example.org"),
                &format!("Creator {c}"),
                common::PASSWORD,
                Role::Creator,
            )
            .await;
        for n in 0..4 {
            let category = ["dance", "music", "comedy"][(c + n) % 3];
            let sub: i64 = sqlx::query_scalar(
                "INSERT INTO submissions (owner_id, category, title, description, credits, language,
                     rights_confirmed, consent_confirmed, selection, created_at, updated_at)
                 VALUES ($1, $2, $3, '', '', 'en', 1, 1, 'accepted', 0, 0) RETURNING id",
            )
            .bind(owner)
            .bind(category)
            .bind(format!("Act {c}-{n}"))
            .fetch_one(&db.pool)
            .await
            .unwrap();
            let seconds = 60 + 5 * (c * 4 + n) as i64;
            let clip: i64 = sqlx::query_scalar(
                "INSERT INTO clips (source_name, source_sha256, source_size, state,
                     normalized_sha256, normalize_report, created_at, updated_at)
                 VALUES ('a.mp4', 'cd34', 1, 'ready', 'ab12', $1, 0, 0) RETURNING id",
            )
            .bind(format!("{{\"duration_s\":{seconds}}}"))
            .fetch_one(&db.pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO submission_versions (submission_id, number, upload_id, clip_id, created_at)
                 VALUES ($1, 1, $2, $3, 0)",
            )
            .bind(sub)
            .bind(format!("upload-{clip}"))
            .bind(clip)
            .execute(&db.pool)
            .await
            .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_director_proposes_and_renders_from_the_browser() {
    let app = common::spawn_app().await;
    let email = "director@example.org";
    app.create_user(email, "Dana Director", common::PASSWORD, Role::Director)
        .await;
    seed_pool(&app).await;
    let director = app.browser_of(email).await;
    let body = json!({ "title": "Lantern Night", "starts_at": "2027-02-12T19:30",
                       "target_ms": 600_000, "tolerance_ms": 30_000, "items": [] });
    let created: Value = app
        .post_json(&director, "/api/shows", body)
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    let shots = root().join("target/test-artifacts/browser");
    let seen = run_script(
        "plan.mjs",
        &app.base,
        &shots,
        &json!({ "show": id, "director": email }),
    )
    .await;

    assert_eq!(seen["items_before"], 0);
    let rows = seen["plan_rows"].as_array().unwrap();
    assert_eq!(seen["items_after"].as_u64().unwrap() as usize, rows.len());
    assert!(rows.len() >= 8, "{rows:?}");
    // Every row names its item and says why it stands there.
    for row in rows {
        let cells = row.as_array().unwrap();
        assert!(
            cells[1].as_str().unwrap().len() > 2 && cells[2].as_str().unwrap().len() > 10,
            "{row}"
        );
    }
    assert_eq!(seen["version"], 2);
    let status = seen["render_status"].as_str().unwrap();
    assert!(status.contains("queued"), "{status}");

    // The server holds what the page showed: the planned version and one render job.
    let show: Value = director
        .get(app.url(&format!("/api/shows/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(show["version"], 2);
    let total = show["timing"]["total_ms"].as_i64().unwrap();
    assert!((570_000..=630_000).contains(&total), "{total}");
    let renders: Value = director
        .get(app.url(&format!("/api/shows/{id}/render")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(renders.as_array().unwrap().len(), 1);
    assert!(shots.join("plan-3-render-queued.png").exists());
}
