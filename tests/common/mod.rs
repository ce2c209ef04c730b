//! Shared helpers of the end-to-end tests: a temporary data directory with a tiny house
//! format, the `gala` binary, and generated media.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod rtmp;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

/// A tiny house format so the tests stay fast; short leases so takeovers are quick.
const TINY: &str = "\
house:
  width: 320
  height: 180
  x264_preset: ultrafast
proxy:
  width: 160
  height: 90
thumbnails:
  poster_width: 160
  sheet_tile_width: 80
  waveform_width: 300
  waveform_height: 60
jobs:
  lease_s: 3
  heartbeat_s: 1
  backoff_base_s: 1
  poll_ms: 100
";

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let config = format!("data_dir: {}\n{TINY}", dir.path().join("data").display());
        std::fs::write(dir.path().join("gala.yaml"), config).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("gala.yaml")
    }

    /// `gala --config <sandbox>/gala.yaml ARGS`, run in the sandbox.
    pub fn gala(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gala"));
        cmd.current_dir(self.dir.path())
            .arg("--config")
            .arg(self.config_path());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("GALA__")) {
            cmd.env_remove(k);
        }
        cmd
    }

    pub fn db_url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.path("data/gala.db").display())
    }

    /// A clip made by ffmpeg from lavfi `video` (and `audio`, when given) at the sandbox.
    pub fn clip(&self, name: &str, video: &str, audio: Option<&str>) -> PathBuf {
        let path = self.path(name);
        make_clip(&path, video, audio);
        path
    }
}

pub fn make_clip(path: &Path, video: &str, audio: Option<&str>) {
    let mut args: Vec<String> = vec![
        "-hide_banner".into(),
        "-loglevel".into(),
        "error".into(),
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        video.into(),
    ];
    if let Some(a) = audio {
        args.extend([
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            a.into(),
            "-c:a".into(),
            "aac".into(),
            "-shortest".into(),
        ]);
    }
    args.extend(
        [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ]
        .map(String::from),
    );
    gala_pipeline::demo::ffmpeg(&args, path).unwrap();
}

/// Polls `check` every 100 ms until it returns Some, or panics after `limit`.
pub async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    limit: std::time::Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A free loopback port (for a server process the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (and reaped) when dropped, so a failed assertion leaves nothing
/// running.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The CSRF token `client` must send to the studio at `base` now.
pub async fn csrf(client: &reqwest::Client, base: &str) -> String {
    let v: serde_json::Value = client
        .get(format!("{base}/api/csrf"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["csrf_token"].as_str().unwrap().to_string()
}

/// A JSON POST to the studio at `base` with the right CSRF header.
pub async fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    let token = csrf(client, base).await;
    client
        .post(format!("{base}{path}"))
        .header("X-CSRF-Token", token)
        .json(&body)
        .send()
        .await
        .unwrap()
}
