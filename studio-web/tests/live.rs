//! The show on air in the studio: the monitor reads what the playout node wrote (session,
//! heartbeat, status, as-run log, destination events), live commands reach the node through
//! the database exactly once, the as-run log downloads as CSV, and nothing is sent to a
//! show that is not on air or whose node went silent. The node is played here by the
//! pipeline's own as-run functions; `tests/live_cli.rs` runs the real one.

mod common;

use common::TestApp;
use gala_pipeline::live::asrun;
use gala_pipeline::live::playout::{OnAir, Upcoming};
use gala_pipeline::live::{Command, Event, LiveStatus, Replaced};
use gala_studio::auth::Role;
use serde_json::{json, Value};

async fn new_show(app: &TestApp, director: &reqwest::Client) -> i64 {
    let body = json!({
        "title": "Live Gala", "starts_at": "2027-02-05T20:00", "target_ms": 120_000,
        "tolerance_ms": 10_000,
        "items": [
            { "kind": "slate", "text": "Welcome", "duration_ms": 5_000 },
            { "kind": "act", "submission_id": 1, "version_number": 1, "clip_id": 7,
              "title": "Fire dance", "creator": "Mei", "creator_id": 3, "category": "dance",
              "clip_ms": 30_000, "in_ms": 0, "out_ms": 30_000 },
            { "kind": "break", "label": "Intermission", "duration_ms": 60_000 }
        ]
    });
    let r = app.post_json(director, "/api/shows", body).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn live_view(app: &TestApp, c: &reqwest::Client, id: i64) -> Value {
    let r = c
        .get(app.url(&format!("/api/shows/{id}/live")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// What a playout node writes while item 2 (the act) is on air, after item 1 aired as a slate.
async fn node_on_air(app: &TestApp, show: i64) -> i64 {
    let db = &app.state.engine.db;
    let session = asrun::start_session(db, show, 1, "node-a", &["rtmp://cdn/live/…".into()], None)
        .await
        .unwrap();
    let now = gala_pipeline::now_ms();
    let events = [
        Event::ItemStarted {
            item: 1,
            kind: "slate".into(),
            title: "Welcome".into(),
            planned_start_ms: now - 5_000,
            planned_ms: 5_000,
            at_ms: now - 5_000,
            note: None,
        },
        Event::ItemEnded {
            item: 1,
            at_ms: now,
            aired_ms: 5_000,
            replaced: Some(Replaced {
                by: "slate".into(),
                from_ms: 1_200,
                reason: "the picture ended after 30 frames".into(),
            }),
            note: None,
        },
        Event::ItemStarted {
            item: 2,
            kind: "act".into(),
            title: "Fire dance".into(),
            planned_start_ms: now,
            planned_ms: 30_000,
            at_ms: now + 40,
            note: None,
        },
        Event::DestinationDropped {
            name: "rtmp://cdn/live/…".into(),
            at_ms: now,
            error: "write failed (Broken pipe)".into(),
        },
    ];
    for e in &events {
        asrun::record(db, session, show, e).await.unwrap();
    }
    let status = LiveStatus {
        phase: "on_air".into(),
        on_air: Some(OnAir {
            item: 2,
            kind: "act".into(),
            title: "Fire dance".into(),
            elapsed_s: 1.0,
            length_s: 30.0,
            replaced: None,
        }),
        next: Some(Upcoming {
            item: 3,
            kind: "break".into(),
            title: "Intermission".into(),
            length_s: 60.0,
        }),
        time_to_next_s: Some(29.0),
        over_under_s: 0.04,
        ..LiveStatus::default()
    };
    asrun::heartbeat(db, session, &status).await.unwrap();
    session
}

#[tokio::test]
async fn the_director_watches_and_controls_the_show_on_air() {
    let app = common::spawn_app().await;
    let director = app.logged_in("director@example.org", Role::Director).await;
    let id = new_show(&app, &director).await;

    // Not on air yet: the monitor says so and commands are refused.
    let v = live_view(&app, &director, id).await;
    assert_eq!(v["state"], "off");
    let r = app
        .post_json(
            &director,
            &format!("/api/shows/{id}/live/commands"),
            json!({"command": "take_next"}),
        )
        .await;
    assert_eq!(r.status(), 409);

    let session = node_on_air(&app, id).await;
    let v = live_view(&app, &director, id).await;
    assert_eq!(v["state"], "on_air", "{v}");
    assert_eq!(v["status"]["on_air"]["item"], 2);
    assert_eq!(v["as_run"].as_array().unwrap().len(), 2);
    assert_eq!(v["as_run"][0]["replaced_by"], "slate");
    assert_eq!(v["destination_events"][0]["event"], "dropped");

    // Commands reach the node once each, in order.
    for body in [
        json!({"command": "take_next"}),
        json!({"command": "insert", "kind": "break", "text": "Sponsors", "duration_ms": 30_000}),
    ] {
        let r = app
            .post_json(&director, &format!("/api/shows/{id}/live/commands"), body)
            .await;
        assert_eq!(r.status(), 202);
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["session_id"], session);
    }
    let bad = app
        .post_json(
            &director,
            &format!("/api/shows/{id}/live/commands"),
            json!({"command": "insert", "kind": "act", "text": "x", "duration_ms": 30_000}),
        )
        .await;
    assert_eq!(bad.status(), 400, "only slates and breaks can be inserted");
    let r = app
        .post_form(
            &director,
            &format!("/shows/{id}/live/command"),
            &[("command", "extend"), ("seconds", "30")],
        )
        .await;
    assert_eq!(r.status(), 303, "the form comes back to the live page");
    let db = &app.state.engine.db;
    let taken = asrun::take_commands(db, session).await.unwrap();
    assert!(matches!(taken[0], Command::TakeNext), "{taken:?}");
    assert!(
        matches!(&taken[1], Command::Insert { kind, duration_ms: 30_000, .. } if kind == "break")
    );
    assert!(matches!(taken[2], Command::Extend { ms: 30_000 }));
    assert_eq!(taken.len(), 3);
    assert!(
        asrun::take_commands(db, session).await.unwrap().is_empty(),
        "taken once"
    );

    // The page and the fragment its script swaps in.
    let page = director
        .get(app.url(&format!("/shows/{id}/live")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for needle in [
        "ON AIR",
        "Fire dance",
        "Intermission",
        "the picture ended after 30 frames",
        "cmd-take_next",
    ] {
        assert!(html.contains(needle), "the live page shows {needle}");
    }
    let fragment = director
        .get(app.url(&format!("/shows/{id}/live/monitor")))
        .send()
        .await
        .unwrap();
    assert_eq!(fragment.status(), 200);
    assert!(fragment.text().await.unwrap().contains("Fire dance"));

    // The as-run log as CSV.
    let csv = director
        .get(app.url(&format!("/shows/{id}/as-run.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("session,item,kind,title,planned_start,actual_start"));
    assert!(
        lines[1].contains(",slate,1.200,the picture ended after 30 frames,"),
        "{text}"
    );

    // The node goes silent: the monitor says so, and commands wait for the standby.
    sqlx::query("UPDATE live_sessions SET heartbeat_at = heartbeat_at - 60000 WHERE id = $1")
        .bind(session)
        .execute(&db.pool)
        .await
        .unwrap();
    let v = live_view(&app, &director, id).await;
    assert_eq!(v["state"], "silent");
    let r = app
        .post_json(
            &director,
            &format!("/api/shows/{id}/live/commands"),
            json!({"command": "end"}),
        )
        .await;
    assert_eq!(r.status(), 409);

    // Only directors.
    let creator = app.logged_in("creator@example.org", Role::Creator).await;
    let r = creator
        .get(app.url(&format!("/api/shows/{id}/live")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_director_puts_the_show_on_air_from_the_studio_and_ends_it() {
    let app = common::spawn_app_with(|c| {
        c.house.width = 320;
        c.house.height = 180;
        c.house.x264_preset = "ultrafast".into();
        c.live.heartbeat_ms = 250;
    })
    .await;
    let director = app.logged_in("director@example.org", Role::Director).await;
    let body = json!({
        "title": "Rehearsal", "starts_at": "2027-02-05T20:00", "target_ms": 60_000,
        "tolerance_ms": 30_000,
        "items": [
            { "kind": "slate", "text": "One", "duration_ms": 30_000 },
            { "kind": "slate", "text": "Two", "duration_ms": 3_000 }
        ]
    });
    let r = app.post_json(&director, "/api/shows", body).await;
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let start = format!("/api/shows/{id}/live/start");

    // Only RTMP addresses: never a file or another scheme from the web.
    for bad in [
        json!({"destinations": ["/etc/passwd"]}),
        json!({"destinations": ["http://x/y"]}),
        json!({"destinations": [], "at": "tomorrow"}),
    ] {
        let r = app.post_json(&director, &start, bad).await;
        assert_eq!(r.status(), 400);
    }
    let r = app
        .post_json(&director, &start, json!({"destinations": []}))
        .await;
    assert_eq!(r.status(), 202, "a rehearsal: the preview only");
    let again = app
        .post_json(&director, &start, json!({"destinations": []}))
        .await;
    assert_eq!(again.status(), 409, "one playout per show");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut state = Value::Null;
    while std::time::Instant::now() < deadline {
        state = live_view(&app, &director, id).await;
        if state["state"] == "on_air" && state["status"]["on_air"]["item"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state["state"], "on_air", "{state}");
    let r = app
        .post_json(
            &director,
            &format!("/api/shows/{id}/live/commands"),
            json!({"command": "end"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    while std::time::Instant::now() < deadline {
        state = live_view(&app, &director, id).await;
        if state["state"] == "ended" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state["state"], "ended", "{state}");
    assert_eq!(state["session"]["end_reason"], "ended by the director");
    let first = &state["as_run"][0];
    assert!(
        first["note"]
            .as_str()
            .unwrap()
            .starts_with("show ended by the director"),
        "{first}"
    );
    assert!(first["actual_ms"].as_i64().unwrap() < 30_000);
}
