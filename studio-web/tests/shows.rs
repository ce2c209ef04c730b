//! The director's timeline through the API and the pages: creating a show, every kind of
//! edit with optimistic concurrency, a locked item refusing a move, undo, history, diffs, two
//! directors racing (one wins, the other is told to reload and loses nothing), and who may
//! do what. Acts are hand-built items (the running order only refers to clips by id).

mod common;

use common::TestApp;
use gala_studio::auth::Role;
use reqwest::Client;
use serde_json::{json, Value};

/// An act of `ms` milliseconds (whole clip).
fn act(n: i64, ms: i64) -> Value {
    json!({
        "kind": "act", "submission_id": n, "version_number": 1, "clip_id": 100 + n,
        "title": format!("Act <{n}>"), "creator": format!("Creator {n}"), "creator_id": 50 + n,
        "category": "dance", "clip_ms": ms, "in_ms": 0, "out_ms": ms
    })
}

fn card(line: &str, ms: i64) -> Value {
    json!({ "kind": "host_card", "line": line, "language": "en", "writer": "deterministic",
            "duration_ms": ms })
}

/// A show starting at 20:00 with act 1 (30 s), a card (5 s), act 2 (60 s), act 3 (20 s).
async fn new_show(app: &TestApp, director: &Client) -> Value {
    let body = json!({
        "title": "Spring Gala", "starts_at": "2027-02-05T20:00", "target_ms": 120_000,
        "tolerance_ms": 10_000,
        "items": [act(1, 30_000), card("Next up: act two", 5_000), act(2, 60_000), act(3, 20_000)]
    });
    let r = app.post_json(director, "/api/shows", body).await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn edit(app: &TestApp, c: &Client, id: i64, version: i64, edits: Value) -> (u16, Value) {
    let body = json!({ "expected_version": version, "edits": edits });
    let r = app
        .post_json(c, &format!("/api/shows/{id}/edits"), body)
        .await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, c: &Client, path: &str) -> (u16, Value) {
    let r = c.get(app.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn ids(state: &Value) -> Vec<u64> {
    state["order"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect()
}

fn clocks(state: &Value) -> Vec<String> {
    state["timing"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["clock"].as_str().unwrap().to_string())
        .collect()
}

async fn a_director_creates_a_show_and_applies_every_kind_of_edit(app: TestApp) {
    let director = app.logged_in("director@example.org", Role::Director).await;
    let show = new_show(&app, &director).await;
    let id = show["id"].as_i64().unwrap();
    assert_eq!(show["version"], 1);
    assert_eq!(show["timing"]["total_ms"], 115_000);
    assert_eq!(show["timing"]["over_ms"], -5_000);
    assert_eq!(show["timing"]["within_tolerance"], true);
    assert_eq!(
        clocks(&show),
        ["20:00:00", "20:00:30", "20:00:35", "20:01:35"]
    );
    assert_eq!(show["timing"]["ends_at"], "20:01:55");
    let (a1, c, a2, a3) = {
        let v = ids(&show);
        (v[0], v[1], v[2], v[3])
    };

    let (_, list) = get(&app, &director, "/api/shows").await;
    let listed = list.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["items"], 4);
    assert_eq!(listed[0]["total_ms"], 115_000);

    // Move: act 3 to the front; the clocks follow.
    let (s, st) = edit(
        &app,
        &director,
        id,
        1,
        json!([{ "op": "move", "item": a3, "to": 0 }]),
    )
    .await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["version"], 2);
    assert_eq!(ids(&st), [a3, a1, c, a2]);
    assert_eq!(
        clocks(&st),
        ["20:00:00", "20:00:20", "20:00:50", "20:00:55"]
    );

    // Trim act 2 to 10.5 s .. 50 s.
    let (s, st) = edit(
        &app,
        &director,
        id,
        2,
        json!([{ "op": "trim", "item": a2, "in_ms": 10_500, "out_ms": 50_000 }]),
    )
    .await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["order"]["items"][3]["in_ms"], 10_500);
    assert_eq!(st["timing"]["total_ms"], 115_000 - 20_500);
    assert_eq!(
        st["timing"]["within_tolerance"], false,
        "25.5 s under a 10 s tolerance"
    );

    // A trim outside the clip is refused and changes nothing.
    let (s, err) = edit(
        &app,
        &director,
        id,
        3,
        json!([{ "op": "trim", "item": a2, "in_ms": 0, "out_ms": 61_000 }]),
    )
    .await;
    assert_eq!(s, 422, "{err}");
    assert_eq!(err["error"], "invalid_edit");
    assert!(
        err["message"].as_str().unwrap().contains("within the clip"),
        "{err}"
    );

    // Insert one of each card kind, in one all-or-nothing change.
    let (s, st) = edit(&app, &director, id, 3, json!([
        { "op": "insert", "at": 0, "kind": { "kind": "slate", "text": "Welcome", "duration_ms": 3_000 } },
        { "op": "insert", "at": 1, "kind": { "kind": "bumper", "template": "default", "text": "Gala", "duration_ms": 2_000 } },
        { "op": "insert", "at": 6, "kind": { "kind": "break", "label": "Sponsors", "duration_ms": 30_000 } },
        { "op": "insert", "at": 7, "kind": card("Good night", 4_000) },
    ])).await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["version"], 4);
    let kinds: Vec<&str> = st["order"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "slate",
            "bumper",
            "act",
            "act",
            "host_card",
            "act",
            "break",
            "host_card"
        ]
    );
    assert_eq!(
        st["timing"]["total_ms"],
        94_500 + 3_000 + 2_000 + 30_000 + 4_000
    );

    // The director rewrites the host line (keeping its length), sets a break's length, removes
    // the slate, locks act 1.
    let brk = ids(&st)[6];
    let slate = ids(&st)[0];
    let (s, st) = edit(&app, &director, id, 4, json!([
        { "op": "set_host_line", "item": c, "line": "  And now: a dance from the north.  ", "writer": "director", "duration_ms": 5_000 },
        { "op": "set_duration", "item": brk, "duration_ms": 20_000 },
        { "op": "remove", "item": slate },
        { "op": "lock", "item": a1, "locked": true },
    ])).await;
    assert_eq!(s, 200, "{st}");
    let items = st["order"]["items"].as_array().unwrap();
    let card_now = items.iter().find(|i| i["id"] == c).unwrap();
    assert_eq!(card_now["line"], "And now: a dance from the north.");
    assert_eq!(card_now["writer"], "director");
    assert_eq!(card_now["duration_ms"], 5_000);
    assert_eq!(
        items.iter().find(|i| i["id"] == brk).unwrap()["duration_ms"],
        20_000
    );
    assert!(items.iter().all(|i| i["id"] != slate));
    assert_eq!(
        items.iter().find(|i| i["id"] == a1).unwrap()["locked"],
        true
    );

    // The show's frame: a new title and start; the clocks move with the start.
    let (s, st) = edit(
        &app,
        &director,
        id,
        5,
        json!([{ "op": "set_meta", "meta": {
        "title": "Spring Gala 2027", "starts_at": "2027-02-05T21:30", "target_ms": 120_000,
        "tolerance_ms": 30_000, "house_format": "default" } }]),
    )
    .await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["meta"]["title"], "Spring Gala 2027");
    assert_eq!(clocks(&st)[0], "21:30:00");

    // Replace: the whole order at once (what taking a planner's proposal does).
    let items = st["order"]["items"].as_array().unwrap().clone();
    let reversed: Vec<Value> = items
        .iter()
        .rev()
        .cloned()
        .map(|mut i| {
            i["locked"] = json!(false);
            i
        })
        .collect();
    let (s, st) = edit(
        &app,
        &director,
        id,
        6,
        json!([{ "op": "replace", "items": reversed }]),
    )
    .await;
    assert_eq!(s, 200, "{st}");
    let back: Vec<u64> = items
        .iter()
        .rev()
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids(&st), back);

    // The latest version reads back the same.
    let (s, latest) = get(&app, &director, &format!("/api/shows/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(latest["version"], 7);
    assert_eq!(ids(&latest), back);
    let (s, _) = get(&app, &director, "/api/shows/999999").await;
    assert_eq!(s, 404);
}

async fn a_locked_item_refuses_to_move(app: TestApp) {
    let director = app.logged_in("director@example.org", Role::Director).await;
    let show = new_show(&app, &director).await;
    let id = show["id"].as_i64().unwrap();
    let v = ids(&show);
    let (s, _) = edit(
        &app,
        &director,
        id,
        1,
        json!([{ "op": "lock", "item": v[2], "locked": true }]),
    )
    .await;
    assert_eq!(s, 200);
    for edits in [
        json!([{ "op": "move", "item": v[2], "to": 0 }]),
        // Moving another item across it would shift it too.
        json!([{ "op": "move", "item": v[0], "to": 3 }]),
    ] {
        let (s, err) = edit(&app, &director, id, 2, edits).await;
        assert_eq!(s, 422, "{err}");
        assert_eq!(err["error"], "invalid_edit");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("is locked; unlock it first"),
            "{err}"
        );
    }
    // All or nothing: a good edit with a refused one changes nothing.
    let (s, _) = edit(
        &app,
        &director,
        id,
        2,
        json!([
            { "op": "move", "item": v[1], "to": 0 },
            { "op": "move", "item": v[2], "to": 3 },
        ]),
    )
    .await;
    assert_eq!(s, 422);
    let (_, st) = get(&app, &director, &format!("/api/shows/{id}")).await;
    assert_eq!(st["version"], 2);
    assert_eq!(ids(&st), v);
    // Moving an item on the same side of it is fine.
    let (s, st) = edit(
        &app,
        &director,
        id,
        2,
        json!([{ "op": "move", "item": v[0], "to": 1 }]),
    )
    .await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(ids(&st), [v[1], v[0], v[2], v[3]]);
}

async fn undo_history_and_diff(app: TestApp) {
    app.create_user(
        "dana@example.org",
        "Dana Director",
        common::PASSWORD,
        Role::Director,
    )
    .await;
    let director = app.browser_of("dana@example.org").await;
    let show = new_show(&app, &director).await;
    let id = show["id"].as_i64().unwrap();
    let v = ids(&show);
    let (s, _) = edit(
        &app,
        &director,
        id,
        1,
        json!([{ "op": "move", "item": v[3], "to": 0 }]),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = edit(&app, &director, id, 2, json!([
        { "op": "set_host_line", "item": v[1], "line": "A new line", "writer": "director", "duration_ms": 6_000 }
    ])).await;
    assert_eq!(s, 200);

    // Undo the host line: version 4 equals version 2.
    let r = app
        .post_json(
            &director,
            &format!("/api/shows/{id}/undo"),
            json!({ "expected_version": 3 }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let undone: Value = r.json().await.unwrap();
    assert_eq!(undone["version"], 4);
    let (_, v2) = get(&app, &director, &format!("/api/shows/{id}/versions/2")).await;
    assert_eq!(undone["order"], v2["order"]);
    assert_eq!(v2["version"], 2);
    // Undo on an old version is a conflict.
    let r = app
        .post_json(
            &director,
            &format!("/api/shows/{id}/undo"),
            json!({ "expected_version": 3 }),
        )
        .await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["current_version"], 4);

    let (s, history) = get(&app, &director, &format!("/api/shows/{id}/history")).await;
    assert_eq!(s, 200);
    let versions: Vec<i64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions.len(), 4, "{history}");
    assert!(versions.contains(&1) && versions.contains(&4));
    for h in history.as_array().unwrap() {
        assert_eq!(h["author"], "Dana Director", "{h}");
        assert!(!h["summary"].as_str().unwrap().is_empty(), "{h}");
    }

    let (s, diff) = get(
        &app,
        &director,
        &format!("/api/shows/{id}/diff?from=2&to=3"),
    )
    .await;
    assert_eq!(s, 200);
    let changes = diff.as_array().unwrap();
    assert_eq!(changes.len(), 1, "{diff}");
    assert_eq!(changes[0]["change"], "changed");
    assert_eq!(changes[0]["after"]["line"], "A new line");
    let (_, diff) = get(
        &app,
        &director,
        &format!("/api/shows/{id}/diff?from=1&to=2"),
    )
    .await;
    assert_eq!(diff[0]["change"], "moved", "{diff}");
    assert_eq!(diff[0]["id"], v[3]);

    // The compare page says it in words.
    let html = director
        .get(app.url(&format!("/shows/{id}/compare?from=1&to=3")))
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(html.contains("moved from position 4 to 1"), "{html}");
    assert!(html.contains("new line: “A new line”"), "{html}");
    assert!(
        html.contains("Act &lt;3&gt;") || html.contains("Act &#60;3&#62;"),
        "escaped: {html}"
    );
}

async fn racing_directors_one_wins_nothing_is_lost(app: TestApp) {
    let first = app.logged_in("one@example.org", Role::Director).await;
    let second = app.logged_in("two@example.org", Role::Director).await;
    let show = new_show(&app, &first).await;
    let id = show["id"].as_i64().unwrap();
    let v = ids(&show);
    let ((s1, b1), (s2, b2)) = tokio::join!(
        edit(
            &app,
            &first,
            id,
            1,
            json!([{ "op": "move", "item": v[3], "to": 0 }])
        ),
        edit(
            &app,
            &second,
            id,
            1,
            json!([{ "op": "set_duration", "item": v[1], "duration_ms": 8_000 }])
        ),
    );
    let mut statuses = [s1, s2];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{b1} {b2}");
    let (loser, loser_body, first_won) = if s1 == 409 {
        (&first, &b1, false)
    } else {
        (&second, &b2, true)
    };
    assert_eq!(loser_body["error"], "conflict");
    assert_eq!(loser_body["current_version"], 2);
    assert!(loser_body["message"]
        .as_str()
        .unwrap()
        .contains("another director changed this show"));
    // The loser reloads and redoes the change on version 2: both changes are there.
    let redo = if first_won {
        json!([{ "op": "set_duration", "item": v[1], "duration_ms": 8_000 }])
    } else {
        json!([{ "op": "move", "item": v[3], "to": 0 }])
    };
    let (s, st) = edit(&app, loser, id, 2, redo).await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["version"], 3);
    assert_eq!(ids(&st)[0], v[3]);
    let card = st["order"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == v[1])
        .unwrap()
        .clone();
    assert_eq!(card["duration_ms"], 8_000);
    let (_, history) = get(&app, &first, &format!("/api/shows/{id}/history")).await;
    assert_eq!(history.as_array().unwrap().len(), 3);
}

async fn only_directors_and_admins_work_on_shows(app: TestApp) {
    let director = app.logged_in("director@example.org", Role::Director).await;
    let show = new_show(&app, &director).await;
    let id = show["id"].as_i64().unwrap();
    for (email, role) in [
        ("creator@example.org", Role::Creator),
        ("reviewer@example.org", Role::Reviewer),
    ] {
        let c = app.logged_in(email, role).await;
        assert_eq!(get(&app, &c, "/api/shows").await.0, 403, "{email}");
        assert_eq!(get(&app, &c, &format!("/api/shows/{id}")).await.0, 403);
        assert_eq!(
            get(&app, &c, &format!("/api/shows/{id}/history")).await.0,
            403
        );
        let r = app
            .post_json(
                &c,
                "/api/shows",
                json!({ "title": "x", "starts_at": "2027-01-01T20:00", "target_ms": 600_000 }),
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            edit(
                &app,
                &c,
                id,
                1,
                json!([{ "op": "remove", "item": ids(&show)[0] }])
            )
            .await
            .0,
            403
        );
        let page = c
            .get(app.url(&format!("/shows/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 403);
        let page = c.get(app.url("/shows")).send().await.unwrap();
        assert_eq!(page.status(), 403);
    }
    let anonymous = common::browser();
    assert_eq!(get(&app, &anonymous, "/api/shows").await.0, 401);
    let admin = app.logged_in("admin@example.org", Role::Admin).await;
    let (s, st) = edit(
        &app,
        &admin,
        id,
        1,
        json!([{ "op": "remove", "item": ids(&show)[0] }]),
    )
    .await;
    assert_eq!(s, 200, "{st}");
    // Without the CSRF token a change is refused.
    let r = director
        .post(app.url(&format!("/api/shows/{id}/edits")))
        .json(
            &json!({ "expected_version": 2, "edits": [{ "op": "remove", "item": ids(&show)[1] }] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn the_pages_read_without_scripts(app: TestApp) {
    let director = app.logged_in("director@example.org", Role::Director).await;
    // The "new show" form.
    let r = app
        .post_form(
            &director,
            "/shows",
            &[
                ("title", "Lantern Night"),
                ("starts_at", "2027-02-12T19:30"),
                ("target_h", "0"),
                ("target_m", "2"),
                ("tolerance_s", "10"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/shows/"));
    let id: i64 = location.trim_start_matches("/shows/").parse().unwrap();
    let r = app
        .post_form(
            &director,
            "/shows",
            &[
                ("title", "Bad"),
                ("starts_at", "tomorrow"),
                ("target_h", "1"),
                ("target_m", "0"),
                ("tolerance_s", "10"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text().await.unwrap().contains("2027-02-05T20:00"),
        "says the expected form"
    );

    let body = json!({ "expected_version": 1, "edits": [
        { "op": "insert", "at": 0, "kind": act(7, 90_000) },
        { "op": "insert", "at": 1, "kind": card("Next: <b>lanterns</b>", 6_000) },
    ]});
    let r = app
        .post_json(&director, &format!("/api/shows/{id}/edits"), body)
        .await;
    assert_eq!(r.status(), 200);

    let html = director
        .get(app.url(&format!("/shows/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Lantern Night"));
    assert!(
        html.contains("19:30:00") && html.contains("19:31:30"),
        "back-timed clocks"
    );
    assert!(
        html.contains("Next: &lt;b&gt;lanterns&lt;/b&gt;") || html.contains("Next: &#60;b&#62;"),
        "escaped"
    );
    assert!(html.contains("/media/proxy/7"), "the act's preview");
    assert!(html.contains("width: 93.750%"), "an act of 90 s in 96 s");
    assert!(html.contains("/assets/timeline.js"));
    let list = director
        .get(app.url("/shows"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&format!("/shows/{id}")) && list.contains("1:36"));
    let fragment = director
        .get(app.url(&format!("/shows/{id}/fragment?version=1")))
        .send()
        .await
        .unwrap();
    assert_eq!(fragment.status(), 200);
    let fragment = fragment.text().await.unwrap();
    assert!(fragment.contains("data-version=\"1\"") && !fragment.contains("<html"));
    let doc = director
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for path in [
        "/api/shows",
        "/api/shows/{id}/edits",
        "/api/shows/{id}/undo",
        "/api/shows/{id}/diff",
    ] {
        assert!(
            doc.contains(&format!("\"{path}\"")),
            "{path} in the OpenAPI document"
        );
    }
}

async fn planning_and_rendering_are_asked_from_the_show(app: TestApp) {
    let director = app.logged_in("director@example.org", Role::Director).await;
    let show = new_show(&app, &director).await;
    let id = show["id"].as_i64().unwrap();
    // No accepted act yet: the planner refuses clearly; a stale version is a conflict first.
    let plan = |v: i64| json!({ "expected_version": v, "language": "en", "seed": 3 });
    let r = app
        .post_json(&director, &format!("/api/shows/{id}/plan"), plan(1))
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_plan");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no accepted act"),
        "{body}"
    );
    let r = app
        .post_json(&director, &format!("/api/shows/{id}/plan"), plan(7))
        .await;
    assert_eq!(r.status().as_u16(), 409);
    assert_eq!(
        get(&app, &director, &format!("/api/shows/{id}")).await.1["version"],
        1
    );

    // A render is a job; asking twice while it waits answers the same job.
    let r = app
        .post_json(&director, &format!("/api/shows/{id}/render"), json!({}))
        .await;
    assert_eq!(r.status().as_u16(), 202);
    let first: Value = r.json().await.unwrap();
    assert_eq!(first["state"], "queued");
    let r = app
        .post_json(&director, &format!("/api/shows/{id}/render"), json!({}))
        .await;
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["job_id"], first["job_id"]);
    let (status, list) = get(&app, &director, &format!("/api/shows/{id}/render")).await;
    assert_eq!((status, list.as_array().unwrap().len()), (200, 1));
    let page = director
        .get(app.url(&format!("/shows/{id}")))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Propose running order") && html.contains("id=\"render-status\""),
        "{html}"
    );

    let creator = app.logged_in("creator@example.org", Role::Creator).await;
    for path in ["plan", "render"] {
        let r = app
            .post_json(&creator, &format!("/api/shows/{id}/{path}"), plan(1))
            .await;
        assert_eq!(r.status().as_u16(), 403, "{path}");
    }
}

/// A host line written in the timeline is measured with the host's voice (espeak-ng): a card
/// given less time than the line takes to say is lengthened to it; one given more keeps it.
async fn a_new_host_line_sets_its_card_to_the_spoken_length(app: TestApp) {
    let director = app.logged_in("director@example.org", Role::Director).await;
    let show = new_show(&app, &director).await;
    let id = show["id"].as_i64().unwrap();
    let card_id = ids(&show)[1];
    let long = "Ladies and gentlemen, after a short pause for breath, please welcome to the stage \
                the most remarkable troupe of dancing robots that the northern valleys have ever seen.";
    let (s, st) = edit(&app, &director, id, 1, json!([
        { "op": "set_host_line", "item": card_id, "line": long, "writer": "director", "duration_ms": 1_000 }
    ])).await;
    assert_eq!(s, 200, "{st}");
    let spoken = st["order"]["items"][1]["duration_ms"].as_i64().unwrap();
    // About 30 words at espeak-ng's 160 words a minute, plus the card's 500 ms of padding.
    assert!((6_000..=20_000).contains(&spoken), "{spoken}");
    assert_eq!(st["timing"]["total_ms"], 110_000 + spoken);

    // A short line on a card given 9 s keeps the 9 s.
    let (s, st) = edit(&app, &director, id, 2, json!([
        { "op": "set_host_line", "item": card_id, "line": "Hello!", "writer": "director", "duration_ms": 9_000 }
    ])).await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["order"]["items"][1]["duration_ms"], 9_000);
}

on_both_backends!(
    a_director_creates_a_show_and_applies_every_kind_of_edit,
    a_locked_item_refuses_to_move,
    undo_history_and_diff,
    racing_directors_one_wins_nothing_is_lost,
    only_directors_and_admins_work_on_shows,
    the_pages_read_without_scripts,
    planning_and_rendering_are_asked_from_the_show,
    a_new_host_line_sets_its_card_to_the_spoken_length,
);
