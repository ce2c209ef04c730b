//! Test databases: a fresh SQLite file in a temporary directory, or a fresh PostgreSQL
//! database (created through `GALA_TEST_POSTGRES_URL`, dropped afterwards), so that store tests
//! are written once, run on both backends, and run in parallel without sharing state.

use sqlx::{Connection, Executor, PgConnection};
use tempfile::TempDir;

use super::Db;

/// The admin URL of a PostgreSQL server for tests; PostgreSQL tests are skipped without it.
pub const POSTGRES_URL_VAR: &str = "GALA_TEST_POSTGRES_URL";

/// A database that exists for one test. Dropping it removes it.
pub struct TestDb {
    pub db: Db,
    /// The URL it was opened with, for a second process to connect to.
    pub url: String,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<TempDir>,
    /// The PostgreSQL database to drop (after `db`, declared above it, has closed).
    _postgres: Option<PgTestDatabase>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("gala.db").display());
        let db = Db::connect(&url, 8).await.unwrap();
        TestDb {
            db,
            url,
            _dir: Some(dir),
            _postgres: None,
        }
    }

    /// A fresh database on the test server, or None (with a note) when none is configured.
    pub async fn postgres() -> Option<TestDb> {
        let pg = PgTestDatabase::create().await?;
        let db = Db::connect(&pg.url, 8).await.unwrap();
        Some(TestDb {
            db,
            url: pg.url.clone(),
            _dir: None,
            _postgres: Some(pg),
        })
    }
}

/// A fresh, empty PostgreSQL database on the test server, without a pool: for tests that
/// connect from runtimes of their own (servers restarted on other threads). Dropping it drops
/// the database.
pub struct PgTestDatabase {
    pub url: String,
    admin: String,
    name: String,
}

impl PgTestDatabase {
    /// None (with a note) when no test server is configured.
    pub async fn create() -> Option<PgTestDatabase> {
        let Ok(admin) = std::env::var(POSTGRES_URL_VAR) else {
            eprintln!("skipped: {POSTGRES_URL_VAR} is not set");
            return None;
        };
        let name = format!("gala_test_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::connect(&admin).await.unwrap();
        conn.execute(&*format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = with_database(&admin, &name);
        Some(PgTestDatabase { url, admin, name })
    }
}

impl Drop for PgTestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside the test's runtime, where we cannot block on a future; a thread
        // with its own small runtime drops the database (FORCE closes pools' connections).
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin).await?;
                conn.execute(&*format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(joined, Ok(Ok(()))) {
            eprintln!("could not drop a PostgreSQL test database");
        }
    }
}

/// `admin` with its database name replaced by `name`.
fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

/// Generates, for each `async fn name(db: Db)` in the calling module, a test on SQLite
/// (`sqlite_backend::name`) and one on PostgreSQL (`postgres_backend::name`, skipped when
/// `GALA_TEST_POSTGRES_URL` is not set).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let t = $crate::storage::testing::TestDb::sqlite().await;
                    super::$name(t.db.clone()).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(t) = $crate::storage::testing::TestDb::postgres().await else {
                        return;
                    };
                    super::$name(t.db.clone()).await;
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
