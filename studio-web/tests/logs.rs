//! Passwords and tokens never reach the logs: everything the studio logs during sign-up,
//! login, failed login and password reset is captured (at TRACE) and searched for them.
//! Its own test binary, because the capturing subscriber is process-wide. The test client's own
//! crates (reqwest, hyper, cookie_store) are left out: they log what the client sends.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{browser, spawn_app};
use serde_json::{json, Value};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_and_tokens_never_appear_in_logs() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace,hyper=off,hyper_util=off,reqwest=off,h2=off,cookie_store=off")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let app = spawn_app().await;
    let password = "Sekrit-Passw0rd-Marker";
    let new_password = "Another-Sekrit-Marker";
    let c = &app.client;
    assert_eq!(
        app.signup(c, "log@example.org", "Logger", password)
            .await
            .status(),
        201
    );
    assert_eq!(
        app.login(c, "log@example.org", "Wrong-Sekrit-Marker")
            .await
            .status(),
        401
    );
    let r = app.login(c, "log@example.org", password).await;
    let session = common::set_cookie(&r, "gala_session").unwrap();
    let session = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("gala_session=")
        .to_string();
    let me: Value = app.me(c).await.1;
    let csrf = me["csrf_token"].as_str().unwrap().to_string();

    app.post_json(
        &browser(),
        "/api/password/forgot",
        json!({ "email": "log@example.org" }),
    )
    .await;
    let admin = app
        .logged_in("root@example.org", gala_studio::auth::Role::Admin)
        .await;
    let list: Value = admin
        .get(app.url("/api/admin/accounts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = list["reset_links"][0]["link"].as_str().unwrap().to_string();
    let token = link.rsplit('/').next().unwrap().to_string();
    browser().get(app.url(&link)).send().await.unwrap();
    let r = app
        .post_form(&browser(), &link, &[("password", new_password)])
        .await;
    assert_eq!(r.status(), 303);
    // Something was logged, or the test proves nothing.
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("logged in") && logs.contains("password reset"),
        "{logs}"
    );
    for secret in [
        password,
        new_password,
        "Wrong-Sekrit-Marker",
        &session,
        &csrf,
        &token,
    ] {
        let at = logs
            .find(secret)
            .map(|i| &logs[i.saturating_sub(600)..i + 80]);
        assert!(at.is_none(), "a secret is in the logs: {secret}: {at:?}");
    }
}
