//! A consistent backup of the database and the media, and its restore (`gala admin backup`,
//! `gala admin restore`).
//!
//! Consistency comes from the order: the database snapshot is taken first (SQLite
//! `VACUUM INTO`, PostgreSQL `pg_dump`: both one transaction's view), then every media object
//! the database references is copied. Objects are content-addressed and never rewritten or
//! deleted, so every object the snapshot names still exists and is the same; each is checked
//! against its digest on the way out and on the way back in.
//!
//! A backup directory: `manifest.json`, `gala.db` (SQLite) or `gala.pgdump` (PostgreSQL's
//! custom format), and `media/ab/cd/<sha256>`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::storage::{sha256_file, Backend, LocalStore, MediaStore};
use crate::Engine;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Unix milliseconds when the snapshot was taken.
    pub taken_at: i64,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The database file inside the backup.
    pub database: String,
    pub objects: usize,
    pub bytes: u64,
    /// The gala version that wrote it.
    pub version: String,
}

/// The media columns of the database: every object a row can name.
const MEDIA_COLUMNS: [&str; 6] = [
    "source_sha256",
    "normalized_sha256",
    "poster_sha256",
    "sheet_sha256",
    "waveform_sha256",
    "proxy_sha256",
];

/// Writes a backup of `engine`'s database and media into `dir` (which must be empty or new).
pub async fn backup(engine: &Engine, dir: &Path) -> anyhow::Result<Manifest> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!(
            "{} is not empty: a backup goes into a new directory",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir)?;
    let taken_at = crate::now_ms();
    let (backend, database) = match engine.db.backend {
        Backend::Sqlite => {
            let file = dir.join("gala.db");
            sqlx::query("VACUUM INTO $1")
                .bind(file.display().to_string())
                .execute(&engine.db.pool)
                .await
                .context("cannot snapshot the SQLite database")?;
            ("sqlite", "gala.db")
        }
        Backend::Postgres => {
            run(Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                .arg(dir.join("gala.pgdump"))
                .arg(format!("--dbname={}", engine.config.database_url())))
            .context(
                "cannot snapshot the PostgreSQL database (pg_dump, Debian's postgresql-client)",
            )?;
            ("postgres", "gala.pgdump")
        }
    };
    let digests = referenced(engine).await?;
    let store = engine.store.clone();
    let out = dir.join("media");
    let (objects, bytes) = tokio::task::spawn_blocking(move || {
        let copy = LocalStore::new(out)?;
        let mut bytes = 0;
        for digest in &digests {
            let path = store
                .local_path(digest)
                .with_context(|| format!("media object {digest} cannot be read"))?;
            let got = copy.put_file(&path)?;
            if &got != digest {
                bail!("media object {digest} is corrupt in the store: its bytes hash to {got}");
            }
            bytes += std::fs::metadata(&path)?.len();
        }
        anyhow::Ok((digests.len(), bytes))
    })
    .await??;
    let manifest = Manifest {
        taken_at,
        backend: backend.into(),
        database: database.into(),
        objects,
        bytes,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(manifest)
}

/// Every media object the database names, sorted.
async fn referenced(engine: &Engine) -> anyhow::Result<Vec<String>> {
    let union = MEDIA_COLUMNS
        .iter()
        .map(|c| format!("SELECT {c} AS d FROM clips WHERE {c} IS NOT NULL"))
        .collect::<Vec<_>>()
        .join(" UNION ");
    let rows = sqlx::query(&format!("SELECT d FROM ({union}) AS refs ORDER BY d"))
        .fetch_all(&engine.db.pool)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("d")?)).collect()
}

/// What a restore put back.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    pub manifest: Manifest,
    pub objects: usize,
}

/// Restores the backup in `dir` into the configured database and media store. The servers
/// and workers must be stopped. A database that already holds data is replaced only when
/// `replace` is set.
pub async fn restore(
    config: &crate::Config,
    dir: &Path,
    replace: bool,
) -> anyhow::Result<Restored> {
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(dir.join("manifest.json"))
            .with_context(|| format!("{} holds no backup (manifest.json)", dir.display()))?,
    )?;
    let url = config.database_url();
    match (Backend::from_url(&url)?, manifest.backend.as_str()) {
        (Backend::Sqlite, "sqlite") => {
            let target = sqlite_file(&url)?;
            if target.exists() && !replace {
                bail!(
                    "the database {} exists; stop the studio and workers and pass --replace",
                    target.display()
                );
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            for suffix in ["-wal", "-shm"] {
                let side = PathBuf::from(format!("{}{suffix}", target.display()));
                if side.exists() {
                    std::fs::remove_file(side)?;
                }
            }
            std::fs::copy(dir.join(&manifest.database), &target)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
        (Backend::Postgres, "postgres") => {
            let db = crate::storage::Db::connect(&url, 1).await?;
            let users: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
                .fetch_one(&db.pool)
                .await?
                .try_get("n")?;
            db.pool.close().await;
            if users > 0 && !replace {
                bail!("the database already holds accounts; stop the studio and workers and pass --replace");
            }
            run(Command::new("pg_restore")
                .args([
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                ])
                .arg(format!("--dbname={url}"))
                .arg(dir.join(&manifest.database)))
            .context("cannot restore the PostgreSQL database (pg_restore)")?;
        }
        (_, other) => {
            bail!("this backup is of a {other} database; the configuration names another kind")
        }
    }
    let store = config.storage.open(&config.data_dir)?;
    let media = dir.join("media");
    let objects = tokio::task::spawn_blocking(move || put_back(store.as_ref(), &media)).await??;
    Ok(Restored { manifest, objects })
}

/// Puts every object under `media` into `store`, checking each against its name.
fn put_back(store: &dyn MediaStore, media: &Path) -> anyhow::Result<usize> {
    let mut n = 0;
    for a in read_dirs(media)? {
        for b in read_dirs(&a)? {
            for file in std::fs::read_dir(&b)? {
                let path = file?.path();
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                let got = sha256_file(&path)?;
                if got != name {
                    bail!(
                        "{} in the backup is corrupt: its bytes hash to {got}",
                        path.display()
                    );
                }
                store.put_file(&path)?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// The two-letter fan-out directories under `dir` (the staging directory left out).
fn read_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() && name.len() == 2 {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// The file of a `sqlite://path?options` URL.
fn sqlite_file(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .context("not a sqlite URL")?;
    Ok(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().context("cannot start the program")?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}
