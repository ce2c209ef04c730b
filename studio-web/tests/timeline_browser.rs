//! The director's timeline in a real browser: Debian's chromium driven by playwright-core
//! (tests/web/timeline.mjs) opens a seeded show, reorders it by keyboard and by drag and drop,
//! locks an item, rewrites a host line and sees the back-timing move, and meets a conflict
//! when another director saved first — on a desktop in English and a phone in Chinese.
//! Screenshots: target/test-artifacts/browser/timeline-*.png.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_director_edits_the_timeline_in_the_browser() {
    let script = root().join("tests/web/timeline.mjs");
    assert!(
        Path::new("/usr/bin/chromium").exists()
            && root().join("tests/web/node_modules/playwright-core").exists(),
        "chromium and playwright-core are not installed: run scripts/install-debian-deps.sh and scripts/install-test-tools.sh"
    );
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
        let out = tokio::time::timeout(
            Duration::from_secs(180),
            tokio::process::Command::new("node")
                .arg(&script)
                .arg(&app.base)
                .arg(&shots)
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
            "the browser run {name} failed; it printed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
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
