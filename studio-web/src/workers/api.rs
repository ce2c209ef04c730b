//! The remote workers' API, under `/api/workers` (JSON, bearer tokens, no cookies):
//!
//! | route | what |
//! |---|---|
//! | `POST /register` | with `studio.worker_token`: `{name, capabilities}` → `{worker_id, token, kinds, lease_s, heartbeat_s}` |
//! | `POST /lease` | `{slot, kinds}` → a job and its task, or 204 |
//! | `POST /jobs/{id}/heartbeat` | `{slot, progress, note}` → `{held}` |
//! | `POST /jobs/{id}/complete` | `{slot, output}` → `{applied}` |
//! | `POST /jobs/{id}/fail` | `{slot, error, retry}` → `{applied}` |
//! | `POST /jobs/{id}/release` | `{slot}` → `{applied}` (handed back while draining) |
//! | `POST /stopped` | the worker drained and stops: its token ends |
//! | `GET`, `HEAD`, `PUT /objects/{sha256}` | media objects, for workers without the shared store |
//!
//! Every job call names a slot; the lease owner is the authenticated worker's slot, so a
//! worker can never touch another's jobs. What a call may do is decided by
//! `jobs::remote::Dispatch`.

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use gala_pipeline::jobs::split::Capabilities;
use gala_pipeline::storage::media::is_digest;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::registry::{self, Worker};
use crate::error::WebError;
use crate::extract::JsonBody;
use crate::state::AppState;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequestParts<AppState> for Worker {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let token = bearer(&parts.headers).ok_or(WebError::Unauthorized)?;
        registry::authenticate(&state.engine.db, token)
            .await?
            .ok_or(WebError::Unauthorized)
    }
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Registration {
    pub name: String,
    pub capabilities: Capabilities,
}

/// What a new worker is told.
#[derive(Debug, Deserialize, Serialize)]
pub struct Registered {
    pub worker_id: i64,
    pub token: String,
    /// The kinds this studio will lease to it.
    pub kinds: Vec<String>,
    pub lease_s: u64,
    pub heartbeat_s: u64,
}

pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(reg): JsonBody<Registration>,
) -> Result<Response, WebError> {
    let expected = &state.config().worker_token;
    // Compared as digests, so that the comparison's time says nothing about the token.
    let given = bearer(&headers).map(|t| Sha256::digest(t.as_bytes()));
    if expected.is_empty() || given != Some(Sha256::digest(expected.as_bytes())) {
        return Err(WebError::Unauthorized);
    }
    let name = registry::clean_name(&reg.name);
    let (worker_id, token) = registry::register(&state.engine.db, &name, &reg.capabilities).await?;
    let kinds = state.dispatch.kinds_for(&reg.capabilities);
    let jobs = &state.engine.config.jobs;
    tracing::info!(worker_id, %name, ?kinds, gpu = reg.capabilities.gpu, "remote worker registered");
    let body = Registered {
        worker_id,
        token,
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
        lease_s: jobs.lease_s,
        heartbeat_s: jobs.heartbeat_s,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Debug, Deserialize, Serialize)]
pub struct LeaseRequest {
    pub slot: u32,
    pub kinds: Vec<String>,
}

pub async fn lease(
    State(state): State<AppState>,
    worker: Worker,
    JsonBody(req): JsonBody<LeaseRequest>,
) -> Result<Response, WebError> {
    let owner = worker.owner(req.slot);
    match state
        .dispatch
        .lease(&owner, &worker.caps, &req.kinds)
        .await?
    {
        Some(leased) => Ok(Json(leased).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Heartbeat {
    pub slot: u32,
    pub progress: f64,
    pub note: Option<String>,
}

pub async fn heartbeat(
    State(state): State<AppState>,
    worker: Worker,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<Heartbeat>,
) -> Result<Json<Value>, WebError> {
    let owner = worker.owner(req.slot);
    let held = (state.dispatch)
        .heartbeat(&owner, id, req.progress, req.note.as_deref())
        .await?;
    Ok(Json(json!({ "held": held })))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Completion {
    pub slot: u32,
    pub output: Value,
}

pub async fn complete(
    State(state): State<AppState>,
    worker: Worker,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<Completion>,
) -> Result<Json<Value>, WebError> {
    let applied = (state.dispatch)
        .complete(&worker.owner(req.slot), id, req.output)
        .await?;
    Ok(Json(json!({ "applied": applied })))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Failure {
    pub slot: u32,
    pub error: String,
    pub retry: bool,
}

pub async fn fail(
    State(state): State<AppState>,
    worker: Worker,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<Failure>,
) -> Result<Json<Value>, WebError> {
    let applied = (state.dispatch)
        .fail(&worker.owner(req.slot), id, &req.error, req.retry)
        .await?;
    Ok(Json(json!({ "applied": applied })))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Slot {
    pub slot: u32,
}

pub async fn release(
    State(state): State<AppState>,
    worker: Worker,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<Slot>,
) -> Result<Json<Value>, WebError> {
    let applied = state.dispatch.release(&worker.owner(req.slot), id).await?;
    Ok(Json(json!({ "applied": applied })))
}

pub async fn stopped(
    State(state): State<AppState>,
    worker: Worker,
) -> Result<StatusCode, WebError> {
    registry::stopped(&state.engine.db, worker.id).await?;
    tracing::info!(worker_id = worker.id, name = %worker.name, "remote worker stopped");
    Ok(StatusCode::NO_CONTENT)
}

fn digest_of(path: &str) -> Result<String, WebError> {
    match is_digest(path) {
        true => Ok(path.to_string()),
        false => Err(WebError::NotFound),
    }
}

/// The object's bytes (HEAD: its length), from the studio's media store.
pub async fn get_object(
    State(state): State<AppState>,
    _worker: Worker,
    Path(digest): Path<String>,
) -> Result<Response, WebError> {
    let digest = digest_of(&digest)?;
    let store = state.engine.store.clone();
    let path = tokio::task::spawn_blocking(move || match store.exists(&digest)? {
        true => store.local_path(&digest).map(Some),
        false => Ok(None),
    })
    .await
    .map_err(anyhow::Error::from)??
    .ok_or(WebError::NotFound)?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(anyhow::Error::from)?;
    let len = file.metadata().await.map_err(anyhow::Error::from)?.len();
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 << 10);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Stores the body under its digest: streamed to a temporary file while hashed, refused
/// (nothing stored) when the bytes do not hash to the name.
pub async fn put_object(
    State(state): State<AppState>,
    _worker: Worker,
    Path(digest): Path<String>,
    body: Body,
) -> Result<StatusCode, WebError> {
    let digest = digest_of(&digest)?;
    let limit = state.engine.config.limits.max_file_bytes.saturating_mul(4);
    let tmp = state.engine.config.data_dir.join("tmp");
    tokio::fs::create_dir_all(&tmp)
        .await
        .map_err(anyhow::Error::from)?;
    let staged = tempfile::NamedTempFile::new_in(&tmp).map_err(anyhow::Error::from)?;
    let mut file = tokio::fs::File::from_std(staged.reopen().map_err(anyhow::Error::from)?);
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| WebError::BadRequest(format!("the upload broke off: {e}")))?;
        written += chunk.len() as u64;
        if written > limit {
            return Err(WebError::PayloadTooLarge(format!(
                "objects are limited to {limit} bytes"
            )));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(anyhow::Error::from)?;
    }
    file.sync_all().await.map_err(anyhow::Error::from)?;
    let got = hex::encode(hasher.finalize());
    if got != digest {
        return Err(WebError::BadRequest(format!(
            "the bytes hash to {got}, not to the object's name {digest}"
        )));
    }
    let store = state.engine.store.clone();
    tokio::task::spawn_blocking(move || store.put_file(staged.path()))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(StatusCode::CREATED)
}
