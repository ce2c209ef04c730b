//! A real PostgreSQL server for tests: the installed PostgreSQL binaries
//! (`/usr/lib/postgresql/<version>/bin`, the highest version) over a cluster in a temporary
//! directory, on a free loopback port, with trust authentication for the user `gala`. Stopped
//! and started again at will (a fast stop cuts the connections, as a real restart does);
//! dropped, it is stopped immediately and its directory removed.
//!
//! PostgreSQL refuses to run as root: when the tests run as root, the server's programs run as
//! the `postgres` system user (`runuser -u postgres --`), and the directory is given to it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};
use tempfile::TempDir;

/// The user the cluster is created with (a superuser, no password).
pub const USER: &str = "gala";
/// The system user PostgreSQL's programs run as when we are root.
const SYSTEM_USER: &str = "postgres";
/// How long a start may take before we give up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct PgServer {
    pub port: u16,
    /// The cluster's data directory.
    pub data: PathBuf,
    /// The server's log (`pg_ctl -l`).
    pub log: PathBuf,
    bin: PathBuf,
    /// Holds the data directory, the log and the Unix socket.
    dir: TempDir,
}

/// The directory of the installed PostgreSQL programs: the highest version under
/// `/usr/lib/postgresql/*/bin`.
pub fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "the PostgreSQL test server is missing: no /usr/lib/postgresql/<version>/bin/pg_ctl \
             (apt-get install postgresql)"
        ),
    }
}

impl PgServer {
    /// Creates a cluster (`initdb`: trust authentication, superuser `gala`, UTF8, no fsync) in
    /// a temporary directory and starts it on a free loopback port; returns once it accepts
    /// connections (panics with the server's log when it does not within 30 s).
    pub fn start() -> PgServer {
        let bin = bin_dir();
        let dir = tempfile::tempdir().unwrap();
        if running_as_root() {
            let (uid, gid) = system_user_ids();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("the test server's directory is given to postgres");
        }
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = PgServer {
            port,
            data,
            log,
            bin,
            dir,
        };
        let out = server
            .command("initdb")
            .arg("-D")
            .arg(&server.data)
            .args(["-U", USER, "-A", "trust", "-E", "UTF8", "--no-locale"])
            .arg("--no-sync")
            .output()
            .expect("initdb runs");
        check(&out, "initdb");
        let settings = format!(
            "\n# PgServer (tests)\n\
             listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = '{socket}'\n\
             fsync = off\n\
             max_connections = 200\n\
             shared_buffers = 32MB\n",
            socket = server.dir.path().display()
        );
        // Appended as whoever we are: the file keeps its owner.
        let conf = server.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("initdb wrote postgresql.conf");
        text.push_str(&settings);
        std::fs::write(&conf, text).unwrap();
        server.restart();
        server
    }

    /// The superuser's URL of the `postgres` database.
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    /// Creates an empty database `name` (lowercase letters, digits and `_`) and returns its
    /// URL. Async: it connects with sqlx.
    pub async fn create_database(&self, name: &str) -> String {
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "a test database name is lowercase letters, digits and _: {name:?}"
        );
        let mut conn = PgConnection::connect(&self.url())
            .await
            .expect("the test server accepts connections");
        conn.execute(&*format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
        conn.close().await.unwrap();
        self.database_url(name)
    }

    /// Stops the server with `pg_ctl stop -m fast` (open connections are cut, as in a real
    /// restart; the data stays). Does nothing when it is not running.
    pub fn stop(&mut self) {
        let out = self.pg_ctl(&["stop", "-m", "fast", "-w"]);
        if !out.status.success() && self.is_running() {
            panic!(
                "the PostgreSQL test server did not stop: {}",
                describe(&out)
            );
        }
    }

    /// Starts the server (again, after a fast stop when it runs) on the same port and data, and
    /// waits until it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let out = self
            .pg_ctl_command()
            .args(["start", "-w", "-t", &START_TIMEOUT.as_secs().to_string()])
            .arg("-l")
            .arg(&self.log)
            .output()
            .expect("pg_ctl runs");
        if !out.status.success() {
            panic!(
                "the PostgreSQL test server did not start: {}\n--- server log ---\n{}",
                describe(&out),
                self.log_text()
            );
        }
        // `pg_ctl -w` returns once the server says it is ready; the TCP check is cheap insurance.
        let deadline = Instant::now() + START_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the PostgreSQL test server does not listen on port {}\n--- server log ---\n{}",
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's log so far (empty when unreadable).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The directory holding the server's Unix socket (a `host=` for psql).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    fn database_url(&self, name: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    fn is_running(&self) -> bool {
        // `pg_ctl status` exits 0 when a server runs on the data directory, 3 when none does.
        self.pg_ctl(&["status"]).status.success()
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        self.pg_ctl_command()
            .args(args)
            .output()
            .expect("pg_ctl runs")
    }

    fn pg_ctl_command(&self) -> Command {
        let mut command = self.command("pg_ctl");
        command.arg("-D").arg(&self.data);
        command
    }

    /// One of PostgreSQL's programs, as the `postgres` user when we are root, run in the
    /// server's directory (that user may not enter ours).
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", SYSTEM_USER, "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        command.current_dir(self.dir.path());
        command
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Immediate: nothing needs to survive; the directory goes right after.
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
    }
}

/// Whether this process's effective uid is 0 (the `Uid:` line of `/proc/self/status`:
/// real, effective, saved, filesystem).
fn running_as_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// The uid and gid of the `postgres` system user, from `/etc/passwd`.
fn system_user_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.len() > 3 && fields[0] == SYSTEM_USER)
        .and_then(|fields| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
        .unwrap_or_else(|| {
            panic!(
                "running as root, the PostgreSQL test server needs the system user {SYSTEM_USER}"
            )
        })
}

fn check(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed: {}", describe(out));
}

fn describe(out: &Output) -> String {
    format!(
        "{}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[cfg(test)]
mod tests {
    use sqlx::any::AnyPoolOptions;
    use sqlx::{AnyConnection, Connection, Row};

    use super::PgServer;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn data_survives_a_restart_and_connections_fail_while_stopped() {
        sqlx::any::install_default_drivers();
        let mut server = PgServer::start();
        let url = server.create_database("pg_server_test").await;
        assert_eq!(
            url,
            format!("postgres://gala@127.0.0.1:{}/pg_server_test", server.port)
        );
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (id, name) VALUES (1, 'kept')")
            .execute(&pool)
            .await
            .unwrap();

        server.stop();
        server.stop();
        assert!(AnyConnection::connect(&url).await.is_err());

        server.restart();
        // The pool's connection was cut; the pool replaces it.
        let row = sqlx::query("SELECT name FROM t WHERE id = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(row.get::<String, _>(0), "kept");
        pool.close().await;
    }
}
