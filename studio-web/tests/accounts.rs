//! Accounts end to end over HTTP: sign-up, login, sessions, rate limits, roles, held sign-ups
//! and password reset, each security property with its own test.

mod common;

use common::{browser, set_cookie, spawn_app, spawn_app_with, TestApp, PASSWORD};
use gala_studio::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

async fn signup_login_and_me(app: TestApp) {
    let c = &app.client;
    let r = app.signup(c, "Ann@Example.org", "Ann", PASSWORD).await;
    assert_eq!(r.status(), 201);
    let account: Value = r.json().await.unwrap();
    assert_eq!(
        (account["email"].as_str(), account["role"].as_str()),
        (Some("ann@example.org"), Some("creator"))
    );
    assert_eq!(
        app.me(c).await.0,
        401,
        "signing up through the API does not log in"
    );

    let r = app.login(c, "ann@example.org", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let cookie = set_cookie(&r, "gala_session").expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP without secure_cookies: {cookie}"
    );
    let (status, me) = app.me(c).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "ann@example.org");
    assert_eq!(me["display_name"], "Ann");
    assert_eq!(me["role"], "creator");

    let again = app
        .signup(&browser(), "ANN@example.org", "Other Ann", PASSWORD)
        .await;
    assert_eq!(again.status(), 409, "emails are unique regardless of case");
}

async fn wrong_password_and_unknown_email_are_refused(app: TestApp) {
    app.create_user("bo@example.org", "Bo", PASSWORD, Role::Creator)
        .await;
    let c = &app.client;
    let r = app.login(c, "bo@example.org", "not the password").await;
    assert_eq!(r.status(), 401);
    assert!(set_cookie(&r, "gala_session").is_none());
    assert_eq!(
        app.login(c, "nobody@example.org", PASSWORD).await.status(),
        401
    );
    assert_eq!(app.me(c).await.0, 401);
}

async fn login_is_rate_limited_per_account(app: TestApp) {
    app.create_user("cy@example.org", "Cy", PASSWORD, Role::Creator)
        .await;
    app.create_user("di@example.org", "Di", PASSWORD, Role::Creator)
        .await;
    let c = &app.client;
    for _ in 0..5 {
        assert_eq!(
            app.login(c, "cy@example.org", "wrong password")
                .await
                .status(),
            401
        );
    }
    let r = app.login(c, "cy@example.org", PASSWORD).await;
    assert_eq!(r.status(), 429, "even the right password waits");
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("Try again in"),
        "{body}"
    );
    // The login page says it too, in the browser's language.
    let zh = browser();
    let token = app.csrf(&zh).await;
    let page = zh
        .post(app.url("/login"))
        .header("Accept-Language", "zh-CN")
        .form(&[
            ("email", "cy@example.org"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 429);
    assert!(page.text().await.unwrap().contains("分钟后重试"));
    // Another account from the same address is not affected.
    assert_eq!(
        app.login(&browser(), "di@example.org", PASSWORD)
            .await
            .status(),
        200
    );
}

async fn logout_ends_the_session_on_the_server(app: TestApp) {
    let c = app.logged_in("ed@example.org", Role::Creator).await;
    let token = session_token(&app, &c).await;
    let r = app
        .send_json(&c, Method::DELETE, "/api/session", json!({}))
        .await;
    assert_eq!(r.status(), 204);
    // The old cookie, replayed by someone who kept it, no longer works.
    let replay = reqwest::Client::new()
        .get(app.url("/api/me"))
        .header("Cookie", format!("gala_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);

    // An expired session is refused too.
    let other = app.logged_in("ef@example.org", Role::Creator).await;
    assert_eq!(app.me(&other).await.0, 200);
    sqlx::query("UPDATE sessions SET expires_at = 1")
        .execute(&app.state.engine.db.pool)
        .await
        .unwrap();
    assert_eq!(app.me(&other).await.0, 401);
}

/// The session token a logged-in browser holds (read back through a request echo: the login).
async fn session_token(app: &TestApp, c: &reqwest::Client) -> String {
    // Log in again to see the cookie; the previous session ends (tested elsewhere).
    let me = app.me(c).await.1;
    let r = app.login(c, me["email"].as_str().unwrap(), PASSWORD).await;
    let cookie = set_cookie(&r, "gala_session").unwrap();
    cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("gala_session=")
        .to_string()
}

async fn a_session_cookie_from_before_login_is_never_adopted(app: TestApp) {
    app.create_user("fy@example.org", "Fy", PASSWORD, Role::Creator)
        .await;
    let planted = "ab".repeat(32);
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let url: reqwest::Url = app.base.parse().unwrap();
    jar.add_cookie_str(&format!("gala_session={planted}; Path=/"), &url);
    let c = reqwest::Client::builder()
        .cookie_provider(jar)
        .build()
        .unwrap();
    let r = app.login(&c, "fy@example.org", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let fresh = set_cookie(&r, "gala_session").unwrap();
    assert!(!fresh.contains(&planted), "the planted token is replaced");
    let planted_use = reqwest::Client::new()
        .get(app.url("/api/me"))
        .header("Cookie", format!("gala_session={planted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(planted_use.status(), 401);

    // A real session token planted in a victim's browser ends when the victim logs in.
    let attacker = app.logged_in("gy@example.org", Role::Creator).await;
    let attacker_token = session_token(&app, &attacker).await;
    let victim_jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    victim_jar.add_cookie_str(&format!("gala_session={attacker_token}; Path=/"), &url);
    let victim = reqwest::Client::builder()
        .cookie_provider(victim_jar)
        .build()
        .unwrap();
    assert_eq!(
        app.login(&victim, "fy@example.org", PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(app.me(&victim).await.1["email"], "fy@example.org");
    assert_eq!(
        app.me(&attacker).await.0,
        401,
        "the planted session is gone"
    );
}

async fn state_changes_need_the_csrf_token(app: TestApp) {
    let c = app.logged_in("ho@example.org", Role::Creator).await;
    let no_token = c.delete(app.url("/api/session")).send().await.unwrap();
    assert_eq!(no_token.status(), 403);
    let wrong = c
        .delete(app.url("/api/session"))
        .header("X-CSRF-Token", "0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "csrf");
    assert_eq!(app.me(&c).await.0, 200, "still logged in");
    // The form field works like the header.
    let form_without = c
        .post(app.url("/logout"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(form_without.status(), 403);
    let zeros = "0".repeat(64);
    let form_wrong = c
        .post(app.url("/logout"))
        .form(&[("csrf_token", zeros.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(form_wrong.status(), 403);
    let form_ok = app.post_form(&c, "/logout", &[]).await;
    assert_eq!(form_ok.status(), 303);
    assert_eq!(app.me(&c).await.0, 401);
}

async fn logged_out_forms_need_a_signed_cookie(app: TestApp) {
    app.create_user("io@example.org", "Io", PASSWORD, Role::Creator)
        .await;
    let form = [("email", "io@example.org"), ("password", PASSWORD)];
    // No cookie, no token.
    let r = browser()
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A made-up cookie with the same value in the field (plain double submit) is refused.
    let forged = format!("{}.{}", "1".repeat(64), "2".repeat(64));
    let r = reqwest::Client::new()
        .post(app.url("/login"))
        .header("Cookie", format!("gala_csrf={forged}"))
        .form(&[
            ("email", "io@example.org"),
            ("password", PASSWORD),
            ("csrf_token", &forged),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The browser's own signed cookie with a different value in the field is refused.
    let c = browser();
    app.csrf(&c).await;
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("email", "io@example.org"),
            ("password", PASSWORD),
            ("csrf_token", &forged),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The page's own token passes; the page goes back where it came from, on this site only.
    let c = browser();
    let form = [
        ("email", "io@example.org"),
        ("password", PASSWORD),
        ("next", "//evil.example/"),
    ];
    let r = app.post_form(&c, "/login", &form).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    assert_eq!(app.me(&c).await.0, 200);
}

async fn roles_are_checked_on_the_server(app: TestApp) {
    let admin = app.logged_in("admin@example.org", Role::Admin).await;
    for role in [Role::Creator, Role::Reviewer, Role::Director] {
        let email = format!("{}@example.org", role.as_str());
        let c = app.logged_in(&email, role).await;
        let page = c.get(app.url("/admin/accounts")).send().await.unwrap();
        assert_eq!(page.status(), 403, "{role:?} page");
        assert!(
            page.text().await.unwrap().contains("<html"),
            "a page for a browser"
        );
        assert_eq!(
            c.get(app.url("/api/admin/accounts"))
                .send()
                .await
                .unwrap()
                .status(),
            403
        );
        let patch = app
            .send_json(
                &c,
                Method::PATCH,
                "/api/admin/accounts/1",
                json!({ "role": "admin" }),
            )
            .await;
        assert_eq!(patch.status(), 403, "{role:?} cannot promote");
        let form = app.post_form(&c, "/admin/accounts/1/disable", &[]).await;
        assert_eq!(form.status(), 403);
    }
    assert_eq!(
        admin
            .get(app.url("/admin/accounts"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let list: Value = admin
        .get(app.url("/api/admin/accounts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["accounts"].as_array().unwrap().len(), 4);
    // Logged out: the page sends to the login, the API answers 401.
    let anon = browser();
    let r = anon.get(app.url("/admin/accounts")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=/admin/accounts");
    assert_eq!(
        anon.get(app.url("/api/admin/accounts"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

async fn admins_change_roles_and_disable_accounts(app: TestApp) {
    let admin = app.logged_in("root@example.org", Role::Admin).await;
    let user = app.logged_in("ju@example.org", Role::Creator).await;
    let id = app.me(&user).await.1["id"].as_i64().unwrap();
    let r = app
        .post_form(
            &admin,
            &format!("/admin/accounts/{id}/role"),
            &[("role", "reviewer")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.me(&user).await.1["role"], "reviewer");
    let r = app
        .send_json(
            &admin,
            Method::PATCH,
            &format!("/api/admin/accounts/{id}"),
            json!({ "status": "disabled" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.me(&user).await.0,
        401,
        "a disabled account's sessions end"
    );
    assert_eq!(
        app.login(&browser(), "ju@example.org", PASSWORD)
            .await
            .status(),
        403
    );
    let me = app.me(&admin).await.1["id"].as_i64().unwrap();
    let own = app
        .send_json(
            &admin,
            Method::PATCH,
            &format!("/api/admin/accounts/{me}"),
            json!({ "role": "creator" }),
        )
        .await;
    assert_eq!(own.status(), 409, "an admin cannot demote themselves");
}

async fn a_held_signup_cannot_log_in_until_approved(app: TestApp) {
    let admin = app.logged_in("boss@example.org", Role::Admin).await;
    let c = browser();
    let r = app.signup(&c, "ka@example.org", "Ka", PASSWORD).await;
    assert_eq!(r.status(), 201);
    let account: Value = r.json().await.unwrap();
    assert_eq!(account["status"], "pending");
    let r = app.login(&c, "ka@example.org", PASSWORD).await;
    assert_eq!(r.status(), 403);
    assert!(set_cookie(&r, "gala_session").is_none());
    let page = app
        .post_form(
            &browser(),
            "/login",
            &[("email", "ka@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert!(page.text().await.unwrap().contains("waiting for an admin"));
    let id = account["id"].as_i64().unwrap();
    let r = app
        .post_form(&admin, &format!("/admin/accounts/{id}/approve"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.login(&c, "ka@example.org", PASSWORD).await.status(),
        200
    );
}

async fn password_reset_works_once_and_expires(app: TestApp) {
    app.create_user("lu@example.org", "Lu", PASSWORD, Role::Creator)
        .await;
    let admin = app.logged_in("adm@example.org", Role::Admin).await;
    let user = app.browser_of("lu@example.org").await;
    let r = app
        .post_json(
            &browser(),
            "/api/password/forgot",
            json!({ "email": "LU@example.org" }),
        )
        .await;
    assert_eq!(r.status(), 202);
    let r = app
        .post_json(
            &browser(),
            "/api/password/forgot",
            json!({ "email": "nobody@example.org" }),
        )
        .await;
    assert_eq!(r.status(), 202, "the same answer for an unknown address");
    let token = reset_token(&app, &admin).await;
    assert_eq!(
        browser()
            .get(app.url(&format!("/password/reset/{token}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let new_password = "a brand new password";
    let short = app
        .post_json(
            &browser(),
            "/api/password/reset",
            json!({ "token": token, "password": "short" }),
        )
        .await;
    assert_eq!(short.status(), 422);
    let r = app
        .post_form(
            &browser(),
            &format!("/password/reset/{token}"),
            &[("password", new_password)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.me(&user).await.0,
        401,
        "sessions end with the password change"
    );
    assert_eq!(
        app.login(&browser(), "lu@example.org", PASSWORD)
            .await
            .status(),
        401,
        "old password"
    );
    assert_eq!(
        app.login(&browser(), "lu@example.org", new_password)
            .await
            .status(),
        200
    );
    let twice = app
        .post_json(
            &browser(),
            "/api/password/reset",
            json!({ "token": token, "password": "yet another password" }),
        )
        .await;
    assert_eq!(twice.status(), 400, "a token works once");

    // An expired token does not work.
    app.post_json(
        &browser(),
        "/api/password/forgot",
        json!({ "email": "lu@example.org" }),
    )
    .await;
    let token = reset_token(&app, &admin).await;
    sqlx::query("UPDATE password_resets SET expires_at = 1")
        .execute(&app.state.engine.db.pool)
        .await
        .unwrap();
    let late = app
        .post_json(
            &browser(),
            "/api/password/reset",
            json!({ "token": token, "password": "yet another password" }),
        )
        .await;
    assert_eq!(late.status(), 400);
    assert_eq!(
        browser()
            .get(app.url(&format!("/password/reset/{token}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.login(&browser(), "lu@example.org", new_password)
            .await
            .status(),
        200
    );
}

/// The token of the one reset link the admin page lists.
async fn reset_token(app: &TestApp, admin: &reqwest::Client) -> String {
    let list: Value = admin
        .get(app.url("/api/admin/accounts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let links = list["reset_links"].as_array().unwrap();
    assert_eq!(links.len(), 1, "{list}");
    let link = links[0]["link"].as_str().unwrap();
    let page = admin
        .get(app.url("/admin/accounts"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(link), "the admin page shows the link");
    link.rsplit('/').next().unwrap().to_string()
}

on_both_backends!(
    signup_login_and_me,
    wrong_password_and_unknown_email_are_refused,
    login_is_rate_limited_per_account,
    logout_ends_the_session_on_the_server,
    a_session_cookie_from_before_login_is_never_adopted,
    state_changes_need_the_csrf_token,
    logged_out_forms_need_a_signed_cookie,
    roles_are_checked_on_the_server,
    admins_change_roles_and_disable_accounts,
    password_reset_works_once_and_expires,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_signup_sqlite() {
    a_held_signup_cannot_log_in_until_approved(
        spawn_app_with(|c| c.studio.signup_requires_approval = true).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_signup_postgres() {
    let Some(app) = common::spawn_app_postgres(|c| c.studio.signup_requires_approval = true).await
    else {
        return;
    };
    a_held_signup_cannot_log_in_until_approved(app).await;
}

#[tokio::test]
async fn cookies_are_secure_behind_tls() {
    let app = spawn_app().await;
    app.create_user("mo@example.org", "Mo", PASSWORD, Role::Creator)
        .await;
    let c = browser();
    let token = app.csrf(&c).await;
    let r = c
        .post(app.url("/api/session"))
        .header("X-CSRF-Token", token)
        .header("X-Forwarded-Proto", "https")
        .json(&json!({ "email": "mo@example.org", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&r, "gala_session").unwrap().contains("Secure"));

    let forced = spawn_app_with(|c| c.studio.secure_cookies = true).await;
    let r = browser().get(forced.url("/login")).send().await.unwrap();
    assert!(set_cookie(&r, "gala_csrf").unwrap().contains("Secure"));
}
