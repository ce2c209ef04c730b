//! The studio started in-process for the web benchmarks (127.0.0.1:0, a temporary data
//! directory unless one is given), creator accounts made directly in the repository, and the
//! HTTP steps a creator takes (CSRF token, login, a submission, tus metadata).

use std::path::PathBuf;

use anyhow::{bail, Context};
use base64::Engine as _;
use gala_pipeline::{Config, Engine};
use gala_studio::accounts::{self, DisplayName, Email, Status};
use gala_studio::auth::{password, Role};
use gala_studio::AppState;
use serde_json::{json, Value};

/// The password of every bench account.
pub const PASSWORD: &str = "bench password, long enough";
pub const TUS: &str = "1.0.0";

pub struct Studio {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub state: AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// Starts the studio on `config`, in `data_dir` or a temporary directory inside the configured
/// data directory (so on the same disk). Uploads may be up to `max_upload` bytes. No worker
/// pool runs here: a finished upload's hand-off only queues its ingest jobs.
pub async fn start(
    mut config: Config,
    data_dir: Option<PathBuf>,
    max_upload: u64,
) -> anyhow::Result<Studio> {
    let dir = match data_dir {
        Some(d) => {
            config.data_dir = d;
            None
        }
        None => {
            std::fs::create_dir_all(&config.data_dir)?;
            let t = tempfile::Builder::new()
                .prefix("bench-web-")
                .tempdir_in(&config.data_dir)?;
            config.data_dir = t.path().to_path_buf();
            Some(t)
        }
    };
    let uploads = &mut config.uploads;
    uploads.max_bytes = uploads.max_bytes.max(max_upload);
    uploads.quota_bytes = uploads.quota_bytes.max(max_upload.saturating_mul(2));
    let db = if config.database.url.is_empty() {
        "SQLite in the data directory".to_string()
    } else {
        "the configured database.url".to_string()
    };
    println!(
        "studio in-process on 127.0.0.1:0, data dir {}, {db} ({} connections), no workers",
        config.data_dir.display(),
        config.database.max_connections
    );
    let state = AppState::new(Engine::open(config).await?).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let served = state.clone();
    let server = tokio::spawn(async move {
        gala_studio::serve(listener, served, async {
            rx.await.ok();
        })
        .await
    });
    Ok(Studio {
        base,
        state,
        stop,
        server,
        _dir: dir,
    })
}

impl Studio {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.send(()).ok();
        self.server.await??;
        Ok(())
    }

    /// [`creators`] in this studio's database.
    pub async fn creators(&self, n: usize) -> anyhow::Result<Vec<String>> {
        creators(&self.state.engine.db, n).await
    }
}

/// `n` active creator accounts `creatorNNNNN@bench.example.org` in `db`, all with the same
/// argon2 hash of [`PASSWORD`] (hashed once). Returns their emails.
pub async fn creators(db: &gala_pipeline::storage::Db, n: usize) -> anyhow::Result<Vec<String>> {
    let pw = password::Password::parse(PASSWORD).map_err(anyhow::Error::msg)?;
    let hash = password::Hasher::default().hash(&pw).await?;
    let mut emails = Vec::with_capacity(n);
    for i in 0..n {
        let email = format!("creator{i:05}@bench.example.org");
        let e = Email::parse(&email).map_err(anyhow::Error::msg)?;
        let name = DisplayName::parse(&format!("Creator {i}")).map_err(anyhow::Error::msg)?;
        accounts::create(db, &e, &name, &hash, Role::Creator, Status::Active).await?;
        emails.push(email);
    }
    Ok(emails)
}

/// A new browser: its own cookies, no redirects followed.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

/// `r` when it is a 2xx, else an error naming the status and the start of the body.
pub async fn ok(r: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    let status = r.status();
    if status.is_success() {
        return Ok(r);
    }
    let body = r.text().await.unwrap_or_default();
    bail!(
        "HTTP {status}: {}",
        body.chars().take(160).collect::<String>()
    )
}

/// The logged-out CSRF token (`GET /api/csrf`).
pub async fn csrf(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let v: Value = ok(client.get(format!("{base}/api/csrf")).send().await?)
        .await?
        .json()
        .await?;
    Ok(v["csrf_token"]
        .as_str()
        .context("no csrf_token")?
        .to_string())
}

/// Logs in (`POST /api/session`); returns the session's CSRF token.
pub async fn login(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    token: &str,
) -> anyhow::Result<String> {
    let r = client
        .post(format!("{base}/api/session"))
        .header("X-CSRF-Token", token)
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await?;
    let v: Value = ok(r).await?.json().await?;
    Ok(v["csrf_token"]
        .as_str()
        .context("no csrf_token")?
        .to_string())
}

/// Creates a submission (`POST /api/submissions`); returns its id.
pub async fn create_submission(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    title: &str,
) -> anyhow::Result<i64> {
    let body = json!({
        "category": "music", "title": title, "language": "en",
        "credits": { "people": [{ "name": "Bench" }] },
        "rights_confirmed": true, "consent_confirmed": true
    });
    let r = client
        .post(format!("{base}/api/submissions"))
        .header("X-CSRF-Token", token)
        .json(&body)
        .send()
        .await?;
    let v: Value = ok(r).await?.json().await?;
    v["id"].as_i64().context("no submission id")
}

/// The tus `Upload-Metadata` of a file for `submission`.
pub fn metadata(name: &str, submission: i64) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "filename {},filetype {},submission_id {}",
        b64(name),
        b64("video/mp4"),
        b64(&submission.to_string())
    )
}

/// Bytes that do not compress or repeat (xorshift), different for each `seed`.
pub fn fill(buf: &mut [u8], seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
}
