//! `spawn_app()`: the real studio on 127.0.0.1:0 with its own temporary data directory and
//! database, and a reqwest client with a cookie store. Every test gets its own, so tests run
//! in parallel. Other features' tests reuse it.
#![allow(dead_code)]

use gala_pipeline::storage::testing::TestDb;
use gala_pipeline::{Config, Engine};
use gala_studio::auth::Role;
use gala_studio::AppState;
use reqwest::{Client, Response};
use serde_json::{json, Value};

pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A browser: keeps cookies, does not follow redirects (tests look at them).
    pub client: Client,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _db: Option<TestDb>,
    _dir: tempfile::TempDir,
}

/// The studio on SQLite with the default configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The studio on SQLite, configured by `tweak` first.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    start(None, tweak).await
}

/// The studio on a fresh PostgreSQL database, or None when GALA_TEST_POSTGRES_URL is not set.
pub async fn spawn_app_postgres(tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let db = TestDb::postgres().await?;
    Some(start(Some(db), tweak).await)
}

async fn start(db: Option<TestDb>, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    if let Some(db) = &db {
        config.database.url = db.url.clone();
    }
    tweak(&mut config);
    let engine = Engine::open(config).await.unwrap();
    let state = AppState::new(engine).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = state.clone();
    tokio::spawn(async move {
        gala_studio::serve(listener, served, async {
            rx.await.ok();
        })
        .await
        .unwrap();
    });
    TestApp {
        client: browser(),
        base,
        state,
        shutdown: Some(tx),
        _db: db,
        _dir: dir,
    }
}

/// A new browser with its own cookies.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The CSRF token `client` must send now (its session's, or its logged-out cookie's).
    pub async fn csrf(&self, client: &Client) -> String {
        let v: Value = client
            .get(self.url("/api/csrf"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["csrf_token"].as_str().unwrap().to_string()
    }

    /// A JSON request with the right CSRF header.
    pub async fn send_json(
        &self,
        client: &Client,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Response {
        let token = self.csrf(client).await;
        client
            .request(method, self.url(path))
            .header("X-CSRF-Token", token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, client: &Client, path: &str, body: Value) -> Response {
        self.send_json(client, reqwest::Method::POST, path, body)
            .await
    }

    /// A form post with the right `csrf_token` field.
    pub async fn post_form(
        &self,
        client: &Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let token = self.csrf(client).await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        client.post(self.url(path)).form(&all).send().await.unwrap()
    }

    pub async fn signup(
        &self,
        client: &Client,
        email: &str,
        name: &str,
        password: &str,
    ) -> Response {
        let body = json!({ "email": email, "display_name": name, "password": password });
        self.post_json(client, "/api/accounts", body).await
    }

    pub async fn login(&self, client: &Client, email: &str, password: &str) -> Response {
        self.post_json(
            client,
            "/api/session",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// GET /api/me: the status and the body.
    pub async fn me(&self, client: &Client) -> (u16, Value) {
        let r = client.get(self.url("/api/me")).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// An active account with `role`, made directly in the repository; returns its id.
    pub async fn create_user(&self, email: &str, name: &str, password: &str, role: Role) -> i64 {
        let db = &self.state.engine.db;
        let account = gala_studio::auth::flows::create_admin(db, email, name, password)
            .await
            .unwrap();
        if role != Role::Admin {
            gala_studio::accounts::set_role(db, account.id, role)
                .await
                .unwrap();
        }
        account.id
    }

    /// A new browser logged in as the existing account `email` (password [`PASSWORD`]).
    pub async fn browser_of(&self, email: &str) -> Client {
        let client = browser();
        let r = self.login(&client, email, PASSWORD).await;
        assert_eq!(r.status(), 200, "login of {email}");
        client
    }

    /// A new browser logged in as a new account with `role`.
    pub async fn logged_in(&self, email: &str, role: Role) -> Client {
        self.create_user(email, "Someone", PASSWORD, role).await;
        let client = browser();
        let r = self.login(&client, email, PASSWORD).await;
        assert_eq!(r.status(), 200, "login of {email}");
        client
    }
}

/// The password test accounts use.
pub const PASSWORD: &str = "a long enough password";

/// The `Set-Cookie` value of `name` in a response, if it set one.
pub fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// Runs `$name(app)` on SQLite and, when configured, PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::common::spawn_app().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = super::common::spawn_app_postgres(|_| {}).await else { return };
                    super::$name(app).await;
                }
            )*
        }
    };
}

/// A 320x240 test pattern (`video`: its lavfi duration and rate) over `audio` (ffmpeg input
/// arguments: lavfi or a file), written to `dir/clip.mp4`.
pub fn make_clip(dir: &std::path::Path, video: &str, audio: &[&str]) -> std::path::PathBuf {
    let out = dir.join("clip.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", video])
        .args(audio)
        .args(["-pix_fmt", "yuv420p", "-shortest", "-y"])
        .arg(&out)
        .status()
        .expect("ffmpeg (scripts/install-debian-deps.sh)");
    assert!(status.success());
    out
}
