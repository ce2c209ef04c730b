//! Pages and documents: escaping of user text, size limits, languages, the OpenAPI document.

mod common;

use common::{browser, spawn_app, spawn_app_with, PASSWORD};
use gala_studio::auth::Role;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_in_a_display_name_is_escaped_on_every_page() {
    let app = spawn_app().await;
    let evil = "<script>alert(1)</script>&\"x\"";
    let r = app
        .signup(&app.client, "ev@example.org", evil, PASSWORD)
        .await;
    assert_eq!(r.status(), 201);
    let me = app.browser_of("ev@example.org").await;
    assert_eq!(app.me(&me).await.1["display_name"], evil, "stored as typed");
    let admin = app.logged_in("ad@example.org", Role::Admin).await;
    // (browser, page, whether the page shows the name)
    let pages = [
        (&me, "/", true),
        (&me, "/login", true),
        (&me, "/no/such/page", true),
        (&admin, "/admin/accounts", true),
    ];
    for (client, path, shows_name) in pages {
        let html = client
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("<script>"), "{path} has raw HTML");
        if shows_name {
            assert!(
                html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
                "{path}: {html}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_and_fields_are_refused() {
    // A small limit, so the refused body fits in loopback socket buffers: with a body larger
    // than those, the client may still be writing when the server answers early and closes,
    // and then sees a broken pipe instead of the 413 (a race of the test, not of the limit).
    let app = spawn_app_with(|c| c.studio.max_body_bytes = 16 << 10).await;
    let c = &app.client;
    let big = "x".repeat(40 << 10);
    let r = app.signup(c, "big@example.org", &big, PASSWORD).await;
    assert_eq!(r.status(), 413, "JSON body over max_body_bytes");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large");
    let r = app
        .post_form(
            c,
            "/signup",
            &[
                ("email", "big@example.org"),
                ("display_name", &big),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 413, "form body over max_body_bytes");

    let long_name = "n".repeat(81);
    let long_email = format!("{}@example.org", "e".repeat(250));
    let long_password = "p".repeat(1025);
    for (email, name, password, field) in [
        (
            "ok@example.org",
            long_name.as_str(),
            PASSWORD,
            "display_name",
        ),
        (long_email.as_str(), "Ok", PASSWORD, "email"),
        ("ok@example.org", "Ok", long_password.as_str(), "password"),
        ("ok@example.org", "Ok", "short", "password"),
    ] {
        let r = app.signup(c, email, name, password).await;
        assert_eq!(r.status(), 422, "{field}");
        let body: Value = r.json().await.unwrap();
        assert!(body["fields"][field].is_string(), "{body}");
    }
    let page = app
        .post_form(
            c,
            "/signup",
            &[
                ("email", "ok@example.org"),
                ("display_name", &long_name),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status(), 422);
    assert!(page.text().await.unwrap().contains("This is too long."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_language_picks_chinese_and_the_switch_remembers() {
    let app = spawn_app().await;
    let zh = browser();
    let html = zh
        .get(app.url("/login"))
        .header("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<html lang=\"zh-CN\">") && html.contains("电子邮箱"),
        "{html}"
    );
    assert!(
        html.contains("href=\"/lang/en?next=/login\""),
        "a switch back to English"
    );

    let r = zh
        .get(app.url("/lang/en?next=/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    assert!(common::set_cookie(&r, "lang")
        .unwrap()
        .starts_with("lang=en"));
    let html = zh
        .get(app.url("/login"))
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("Email"),
        "the cookie wins"
    );

    let outside = zh
        .get(app.url("/lang/zh-CN?next=//evil.example/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        outside.headers()["location"],
        "/",
        "no redirect off the site"
    );
    let english = browser()
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<html lang=\"en\">") && english.contains("name=\"viewport\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_api() {
    let app = spawn_app().await;
    let r = browser()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/session",
        "/api/me",
        "/api/csrf",
        "/api/accounts",
        "/api/password/forgot",
        "/api/password/reset",
        "/api/admin/accounts",
        "/api/admin/accounts/{id}",
    ] {
        assert!(paths.contains_key(p), "{p} missing: {:?}", paths.keys());
    }
    assert!(paths["/api/session"]["delete"].is_object());
    assert!(paths["/api/admin/accounts/{id}"]["patch"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_for_the_api_and_pages_for_browsers() {
    let app = spawn_app().await;
    let api = browser().get(app.url("/api/nothing")).send().await.unwrap();
    assert_eq!(api.status(), 404);
    let body: Value = api.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "error": "not_found", "message": "not found" })
    );
    let page = browser().get(app.url("/nothing")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("This page does not exist."));
    let asset = browser()
        .get(app.url("/assets/studio.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
}
