//! The JSON API of the show on air.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gala_pipeline::live::Command;
use serde::Serialize;
use utoipa::ToSchema;

use super::{check_command, send, start, view, LiveView, StartRequest};
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::JsonBody;
use crate::shows::require_director;
use crate::state::AppState;

/// The show's playout: session, the node's last status, the as-run log and destination events.
#[utoipa::path(get, path = "/api/shows/{id}/live", tag = "live", params(("id" = i64, Path)),
    responses((status = 200, body = LiveView), (status = 403), (status = 404)))]
pub(super) async fn live_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    Ok(Json(view(&state, id).await?).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommandAnswer {
    pub command_id: i64,
    pub session_id: i64,
}

/// Sends a live command to the node on air: `{"command": "take_next"}`, `{"command": "hold",
/// "freeze": true}`, `{"command": "resume"}`, `{"command": "skip", "item": 7}`,
/// `{"command": "insert", "kind": "slate", "text": "…", "duration_ms": 10000}`,
/// `{"command": "extend", "ms": 30000}`, `{"command": "end"}`. 409 when the show is not on air.
#[utoipa::path(post, path = "/api/shows/{id}/live/commands", tag = "live", params(("id" = i64, Path)),
    request_body = Object,
    responses((status = 202, body = CommandAnswer), (status = 409), (status = 422), (status = 403)))]
pub(super) async fn command_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(command): JsonBody<Command>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    check_command(&command)?;
    let (session, command_id) = send(&state, &user, id, &command).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CommandAnswer {
            command_id,
            session_id: session,
        }),
    )
        .into_response())
}

/// Puts the show on air (see `StartRequest`); 409 when it is already on air.
#[utoipa::path(post, path = "/api/shows/{id}/live/start", tag = "live", params(("id" = i64, Path)),
    request_body = StartRequest,
    responses((status = 202), (status = 400), (status = 409), (status = 403)))]
pub(super) async fn start_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<StartRequest>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    start(&state, &user, id, req).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
