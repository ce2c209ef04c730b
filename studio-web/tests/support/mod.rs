//! The upload tests' harness: a data directory and database per test (SQLite, or PostgreSQL
//! when GALA_TEST_POSTGRES_URL is set), the upload router served on 127.0.0.1:0 from its own
//! runtime (so a test can kill it mid-request like a crash), a recording `on_complete`, a
//! clock the test can move, and the real tus clients.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use gala_pipeline::storage::testing::PgTestDatabase;
use gala_pipeline::storage::Db;
use gala_pipeline::Config;
use gala_studio::upload::{self, CompletedUpload, OnComplete, UploadOwner, UploadService};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The header this harness's stand-in for the app's auth layer reads the user from.
pub const TEST_USER: &str = "x-test-user";

/// What `on_complete` saw: the upload and the sha256 of the file's bytes at that moment.
#[derive(Debug, Clone)]
pub struct Received {
    pub upload: CompletedUpload,
    pub content_sha256: String,
}

/// One test's world: data directory, database, configuration, and what was handed off.
pub struct Harness {
    pub dir: TempDir,
    pub db_url: String,
    pub config: Arc<Config>,
    pub received: Arc<Mutex<Vec<Received>>>,
    /// `on_complete` fails while this is above zero (counting down).
    pub fail_handoffs: Arc<AtomicUsize>,
    /// Calls of `on_complete`, failed ones included.
    pub handoff_calls: Arc<AtomicUsize>,
    /// Added to the real time: lets a test jump past the expiry.
    pub skew_ms: Arc<AtomicI64>,
    /// Dropped with the harness, which drops the PostgreSQL database.
    _postgres: Option<PgTestDatabase>,
}

impl Harness {
    pub fn sqlite(tune: impl FnOnce(&mut Config)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("gala.db").display());
        Harness::with(dir, db_url, None, tune)
    }

    /// A fresh PostgreSQL database, or None when GALA_TEST_POSTGRES_URL is not set.
    pub async fn postgres(tune: impl FnOnce(&mut Config)) -> Option<Harness> {
        let pg = PgTestDatabase::create().await?;
        let dir = tempfile::tempdir().unwrap();
        Some(Harness::with(dir, pg.url.clone(), Some(pg), tune))
    }

    fn with(
        dir: TempDir,
        db_url: String,
        postgres: Option<PgTestDatabase>,
        tune: impl FnOnce(&mut Config),
    ) -> Harness {
        let mut config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        config.database.url = db_url.clone();
        config.uploads.max_bytes = 16 << 20;
        config.uploads.quota_bytes = 64 << 20;
        tune(&mut config);
        Harness {
            dir,
            db_url,
            config: Arc::new(config),
            received: Arc::default(),
            fail_handoffs: Arc::default(),
            handoff_calls: Arc::default(),
            skew_ms: Arc::default(),
            _postgres: postgres,
        }
    }

    /// An UploadService on this test's database (connected in the calling runtime).
    pub async fn service(&self) -> UploadService {
        let db = Db::connect(&self.db_url, 4).await.unwrap();
        let received = self.received.clone();
        let fail = self.fail_handoffs.clone();
        let calls = self.handoff_calls.clone();
        let on_complete: OnComplete = Arc::new(move |done: CompletedUpload| {
            let (received, fail, calls) = (received.clone(), fail.clone(), calls.clone());
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let bytes = tokio::fs::read(&done.path).await?;
                if fail
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    anyhow::bail!("the submission store is down (test)");
                }
                let content_sha256 = hex::encode(Sha256::digest(&bytes));
                received.lock().unwrap().push(Received {
                    upload: done,
                    content_sha256,
                });
                Ok(())
            })
        });
        let skew = self.skew_ms.clone();
        UploadService::new(db, self.config.clone(), on_complete).with_clock(Arc::new(move || {
            gala_pipeline::now_ms() + skew.load(Ordering::SeqCst)
        }))
    }

    /// Starts the upload routes on 127.0.0.1:0 in a runtime of their own.
    pub fn start(self: &Arc<Self>) -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let harness = self.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let svc = harness.service().await;
                let app: Router = upload::router()
                    .layer(axum::middleware::from_fn(test_owner))
                    .with_state(svc);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stop_rx => {}
                }
            });
            // Dropping the runtime cancels every connection and request: like a crash.
            rt.shutdown_timeout(Duration::from_secs(2));
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        Server {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Waits until some writer holds upload `id`'s lock (read from the database directly).
    pub async fn wait_locked(&self, id: &str) {
        let db = Db::connect(&self.db_url, 1).await.unwrap();
        for _ in 0..200 {
            let token: Option<String> =
                sqlx::query_scalar("SELECT lock_token FROM uploads WHERE id = $1")
                    .bind(id)
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            if token.is_some() {
                db.close().await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("upload {id} was never locked");
    }

    pub fn upload_dir(&self) -> PathBuf {
        self.config.data_dir.join("uploads")
    }

    pub fn part_path(&self, id: &str) -> PathBuf {
        self.upload_dir().join(format!("{id}.part"))
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// A file of `len` pseudo-random bytes and its hex sha256.
    pub fn source_file(&self, len: usize) -> (PathBuf, String) {
        let mut bytes = Vec::with_capacity(len);
        let mut x = rand::random::<u64>() | 1;
        while bytes.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        bytes.truncate(len);
        let path = self.dir.path().join(format!("source-{len}.bin"));
        std::fs::write(&path, &bytes).unwrap();
        (path, hex::encode(Sha256::digest(&bytes)))
    }
}

/// Stands in for the app's auth middleware: the owner comes from a test header.
async fn test_owner(mut request: Request, next: Next) -> Response {
    let user = request
        .headers()
        .get(TEST_USER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    if let Some(user_id) = user {
        request.extensions_mut().insert(UploadOwner { user_id });
    }
    next.run(request).await
}

/// A running server. Dropping it (or `kill`) stops it the hard way.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn endpoint(&self) -> String {
        format!("http://{}/files", self.addr)
    }

    pub fn url(&self, id: &str) -> String {
        format!("http://{}/files/{id}", self.addr)
    }

    pub fn kill(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// The id at the end of an upload URL.
pub fn id_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Which real tus client to drive.
#[derive(Debug, Clone, Copy)]
pub enum Client {
    /// tuspy, from target/tus-tools/venv.
    Python,
    /// tus-js-client on Node, from tests/tus/node_modules.
    Node,
}

/// What to tell a client.
#[derive(Debug, Default, Clone)]
pub struct Run {
    pub user: i64,
    pub chunk: usize,
    pub stop_at: Option<u64>,
    pub url: Option<String>,
    pub name: Option<String>,
    /// tuspy: send Upload-Checksum. tus-js-client: send the first chunk with the POST.
    pub extra: bool,
}

/// The client's last word: the upload URL and how far it got.
#[derive(Debug, serde::Deserialize)]
pub struct Outcome {
    pub url: String,
    pub offset: u64,
}

/// Runs a client to the end (or to `stop_at`) and returns what it printed.
pub async fn run_client(client: Client, endpoint: &str, file: &Path, run: &Run) -> Outcome {
    let root = workspace_root();
    let (program, script) = match client {
        Client::Python => (
            root.join("target/tus-tools/venv/bin/python"),
            root.join("tests/tus/client.py"),
        ),
        Client::Node => (PathBuf::from("node"), root.join("tests/tus/client.mjs")),
    };
    let installed = match client {
        Client::Python => program.exists(),
        Client::Node => root.join("tests/tus/node_modules/tus-js-client").exists(),
    };
    assert!(
        installed,
        "the tus clients are not installed: run scripts/install-test-tools.sh"
    );
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(script)
        .arg(endpoint)
        .arg(file)
        .arg("--user")
        .arg(run.user.to_string())
        .arg("--chunk")
        .arg(run.chunk.max(1).to_string());
    if let Some(n) = run.stop_at {
        cmd.arg("--stop-at").arg(n.to_string());
    }
    if let Some(url) = &run.url {
        cmd.arg("--url").arg(url);
    }
    if let Some(name) = &run.name {
        cmd.arg("--name").arg(name);
    }
    if run.extra {
        cmd.arg(match client {
            Client::Python => "--checksum",
            Client::Node => "--with-creation",
        });
    }
    let output = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the tus client took too long")
        .expect("the tus client did not start");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{client:?} client failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("client said {stdout:?}: {e}"))
}
