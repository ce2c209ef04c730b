//! A real S3-compatible server for tests: s3s-fs (built from crates.io by
//! `scripts/install-s3-server.sh` into `target/tools`) over a temporary directory, on a free
//! loopback port, with one bucket. Stopped and started again at will; dropped, it is killed.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::s3::S3Config;

const KEY: &str = "gala-test";
const SECRET: &str = "gala-test-secret";
/// The bucket every test server holds.
pub const BUCKET: &str = "gala-media";

pub struct S3Server {
    pub port: u16,
    /// The server's directory: `root/<bucket>/<key>` is each object's bytes.
    pub root: PathBuf,
    child: Option<Child>,
    _dir: TempDir,
}

/// Where the install script puts the server.
pub fn binary() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/tools/bin/s3s-fs"
    ))
}

impl S3Server {
    /// Starts the server with an empty bucket [`BUCKET`].
    pub fn start() -> S3Server {
        assert!(
            binary().exists(),
            "the S3 test server is missing: run scripts/install-s3-server.sh"
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("s3");
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = S3Server {
            port,
            root,
            child: None,
            _dir: dir,
        };
        server.restart();
        server
    }

    /// The address clients use.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Settings of a store in this server's bucket.
    pub fn config(&self) -> S3Config {
        S3Config {
            endpoint: self.endpoint(),
            bucket: BUCKET.into(),
            access_key_id: KEY.into(),
            secret_access_key: SECRET.into(),
            part_mib: 5,
            timeout_s: 30,
            ..S3Config::default()
        }
    }

    /// Where the server keeps the object under `key`.
    pub fn object_file(&self, key: &str) -> PathBuf {
        self.root.join(BUCKET).join(key)
    }

    /// Starts (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        let child = Command::new(binary())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", KEY, "--secret-key", SECRET])
            .arg(&self.root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server (the data stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
