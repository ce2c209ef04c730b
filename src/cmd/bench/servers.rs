//! Studio servers as separate `gala serve` processes for the load bench: the bench's own
//! configuration (database, media store) written for them, each on a free loopback port with
//! no in-process workers, ready when `/readyz` answers 200; their peak memory read from
//! `/proc/<pid>/status` before they are stopped with SIGTERM.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gala_pipeline::{Config, Engine};

pub struct Servers {
    /// `http://127.0.0.1:PORT` of each server.
    pub bases: Vec<String>,
    /// The bench's own handles on the shared database and store.
    pub engine: Engine,
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

/// Starts `n` servers sharing `config`'s database and media store (SQLite and local media in
/// a temporary data directory unless a database URL and S3 storage are configured).
pub async fn spawn(mut config: Config, n: usize) -> anyhow::Result<Servers> {
    std::fs::create_dir_all(&config.data_dir)?;
    let dir = tempfile::Builder::new()
        .prefix("bench-servers-")
        .tempdir_in(&config.data_dir)?;
    config.data_dir = dir.path().to_path_buf();
    let engine = Engine::open(config.clone()).await?;
    let file = dir.path().join("gala.yaml");
    std::fs::write(&file, config.to_yaml())?;
    let exe = std::env::current_exe()?;
    let mut servers = Servers {
        bases: Vec::new(),
        engine,
        children: Vec::new(),
        _dir: dir,
    };
    for i in 0..n {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(servers._dir.path().join(format!("serve-{i}.log")))?;
        let child = Command::new(&exe)
            .arg("--config")
            .arg(&file)
            .args(["serve", "--workers", "0", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start gala serve")?;
        servers.children.push(child);
        servers.bases.push(format!("http://127.0.0.1:{port}"));
    }
    let client = reqwest::Client::new();
    for base in &servers.bases {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = client.get(format!("{base}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if Instant::now() > deadline {
                bail!("the studio at {base} did not become ready");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(servers)
}

impl Servers {
    /// Peak resident memory (VmHWM) of each server.
    pub fn peaks(&self) -> Vec<String> {
        self.children
            .iter()
            .map(|c| super::peak_rss_of(&c.id().to_string()))
            .collect()
    }

    /// SIGTERM to every server, then waits for them.
    pub fn stop(mut self) {
        for c in &self.children {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
        }
        for c in &mut self.children {
            let _ = c.wait();
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
