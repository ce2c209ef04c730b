//! `GET /media/{kind}/{id}`: the poster, contact sheet, waveform or preview of a submission's
//! latest clip, for its owner (and reviewers, directors, admins), with HTTP Range support. The
//! file is found from the submission; no digest or path ever comes from the client.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tower_http::services::ServeFile;

use super::repo::{self, MediaKind};
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::state::AppState;

pub async fn serve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((kind, id)): Path<(String, i64)>,
    req: Request,
) -> Result<Response, WebError> {
    let kind = MediaKind::parse(&kind).ok_or(WebError::NotFound)?;
    let sub = super::readable(&state, &user, id).await?;
    let digest = repo::latest_media(&state.engine.db, sub.id, kind)
        .await?
        .ok_or(WebError::NotFound)?;
    object_response(&state, digest, kind.content_type(), req).await
}

/// Serves object `digest` of the media store (fetched into the local cache first when the
/// store is remote) with Range support, as `content_type`, never cached by shared caches.
pub async fn object_response(
    state: &AppState,
    digest: String,
    content_type: &'static str,
    req: Request,
) -> Result<Response, WebError> {
    let store = state.engine.store.clone();
    let path = tokio::task::spawn_blocking(move || store.local_path(&digest))
        .await
        .map_err(|e| WebError::Internal(e.into()))?
        .map_err(|e| WebError::Internal(e.context("an object of the media store")))?;
    let response = ServeFile::new(path)
        .try_call(req)
        .await
        .map_err(|e| WebError::Internal(anyhow::Error::new(e).context("serving media")))?;
    let mut response = response.map(Body::new).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
