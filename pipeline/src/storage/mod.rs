//! Storage: the database pool with its migrations ([`db`]), and the content-addressed media
//! store ([`media`]: the trait and the local store; [`s3`]: the shared store of the
//! multi-node mode). Nothing here knows what a clip or a job means; `jobs` and `ingest` own
//! their tables' semantics.

pub mod db;
pub mod media;
#[cfg(any(test, feature = "testing"))]
pub mod pg_server;
pub mod s3;
#[cfg(any(test, feature = "testing"))]
pub mod s3_server;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use db::{Backend, Db};
pub use media::{sha256_file, Digest, LocalStore, MediaStore};
pub use s3::{S3Config, S3Store};

/// `storage:`: where media objects live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `local` (the default: `data_dir/media`) or `s3` (`storage.s3`, shared by every node).
    pub kind: String,
    /// The s3 store's local read cache. Empty (the default): `data_dir/cache`.
    pub cache_dir: PathBuf,
    pub s3: S3Config,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            kind: "local".into(),
            cache_dir: PathBuf::new(),
            s3: S3Config::default(),
        }
    }
}

impl StorageConfig {
    /// Opens the configured store (an s3 store is asked once that its bucket answers).
    pub fn open(&self, data_dir: &Path) -> anyhow::Result<Arc<dyn MediaStore>> {
        match self.kind.as_str() {
            "local" => Ok(Arc::new(LocalStore::new(data_dir.join("media"))?)),
            "s3" => {
                let cache = if self.cache_dir.as_os_str().is_empty() {
                    data_dir.join("cache")
                } else {
                    self.cache_dir.clone()
                };
                Ok(Arc::new(S3Store::open(&self.s3, cache)?))
            }
            other => anyhow::bail!("storage.kind is `{other}`; it takes `local` or `s3`"),
        }
    }
}

#[cfg(test)]
mod s3_tests;
