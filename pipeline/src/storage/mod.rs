//! Storage: the database pool with its migrations ([`db`]), and the content-addressed media
//! store ([`media`]). Nothing here knows what a clip or a job means; `jobs` and `ingest` own
//! their tables' semantics.

pub mod db;
pub mod media;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use db::{Backend, Db};
pub use media::{sha256_file, Digest, LocalStore, MediaStore};
