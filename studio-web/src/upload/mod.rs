//! Resumable uploads over tus 1.0 (core, creation, creation-with-upload, termination,
//! checksum, expiration): the creator portal's way to send large clips.
//!
//! - [`router`]: `OPTIONS/POST /files`, `HEAD/PATCH/DELETE /files/{id}`, on any state that
//!   yields an [`UploadService`].
//! - [`UploadService`]: the database, the configuration, and `on_complete`, which receives
//!   every finished upload exactly once (see [`CompletedUpload`]).
//! - Who uploads is an [`UploadOwner`] request extension, put there by the app's
//!   authentication layer; without it every upload route answers 401.
//!
//! Invariants: the `uploads` row is the truth (a restarted studio, or another studio server,
//! resumes from it); the file `data_dir/uploads/<id>.part` never holds committed bytes past
//! the row's offset (bytes are fsynced before the offset moves; a later writer cuts the file
//! back to the offset first); one writer at a time holds an upload (a lock in its row, taken
//! only at the client's offset); the client's file name is display text and never part of a
//! path; another user's upload is indistinguishable from a missing one (404).

mod error;
mod handlers;
mod protocol;
mod service;
mod shared;
mod store;
mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::options;
use axum::Router;
use futures_util::future::BoxFuture;

pub use error::UploadError;
pub use protocol::{human_bytes, TUS_VERSION};
pub use service::{Clock, UploadService, LOCK_LEASE_MS};

/// The user an upload request acts for. The app's auth middleware inserts it as a request
/// extension (after its session and CSRF checks); the upload routes never authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadOwner {
    pub user_id: i64,
}

impl<S: Send + Sync> FromRequestParts<S> for UploadOwner {
    type Rejection = UploadError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<UploadOwner>()
            .copied()
            .ok_or(UploadError::Unauthorized)
    }
}

/// A finished upload, handed to `on_complete` once. The file at `path` is removed when
/// `on_complete` returns Ok, so it must have copied or moved it by then (e.g.
/// `gala_pipeline::ingest::steps::submit_file`, which copies it into the media store). When
/// `on_complete` fails the upload stays `completing` and is offered again later by
/// [`UploadService::retry_handoffs`]; a crash right after a successful call can offer it
/// again too, so the receiver should be idempotent on `id` (e.g. a unique column).
#[derive(Debug, Clone)]
pub struct CompletedUpload {
    /// The upload's id (32 hex digits): unique, stable across retries.
    pub id: String,
    pub owner: UploadOwner,
    /// The received file.
    pub path: PathBuf,
    pub size: u64,
    /// Hex sha256 of the whole file, computed while it arrived.
    pub sha256: String,
    /// The client's file name: display text only, at most 255 characters.
    pub filename: Option<String>,
    /// The MIME type the client declared (not verified: ingest probes the file).
    pub filetype: Option<String>,
    /// Every `Upload-Metadata` pair, decoded (invalid UTF-8 replaced).
    pub metadata: BTreeMap<String, String>,
}

/// What the app does with a finished upload.
pub type OnComplete =
    Arc<dyn Fn(CompletedUpload) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// The tus routes. Mount them where the portal wants them (the `Location` of a new upload
/// follows the path the creation request came in on).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    UploadService: FromRef<S>,
{
    Router::new()
        .route("/files", options(handlers::options).post(handlers::create))
        .route(
            "/files/{id}",
            options(handlers::options)
                .head(handlers::head)
                .patch(handlers::patch)
                .delete(handlers::terminate),
        )
        .layer(axum::middleware::from_fn(handlers::tus_version))
}
