//! The review queue's JSON API under `/api/review`, mirroring the pages; its paths are in the
//! OpenAPI document ([`ReviewApi`], merged into the studio's). State-changing calls carry the
//! session's CSRF token in `X-CSRF-Token`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use super::assign::{self, AssignMode, AssignOutcome, AssignRequest, CategoryProgress, Counts};
use super::assign::{Progress, ReviewerProgress};
use super::decide::{self, DecisionInput};
use super::queue::{QueueFilter, QueuePage};
use super::repo::{self, DecisionRecord, QueueItem, ReasonTemplate, SubmissionText};
use super::{require_reviewer, ClipEvidence, Decision, Evidence, MediaLinks};
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/review/queue", get(queue))
        .route("/api/review/templates", get(templates))
        .route("/api/review/progress", get(progress))
        .route("/api/review/assign", post(assign))
        .route("/api/review/{id}", get(evidence))
        .route("/api/review/{id}/decision", post(decision))
        .route("/api/review/{id}/history", get(history))
}

#[derive(OpenApi)]
#[openapi(
    paths(queue, templates, progress, assign, evidence, decision, history),
    components(schemas(QueuePage, QueueItem, QueueFilter, ReasonTemplate, Progress, ReviewerProgress,
        CategoryProgress, Counts, AssignRequest, AssignMode, AssignOutcome, Evidence, ClipEvidence,
        MediaLinks, SubmissionText, DecisionInput, Decision, DecisionRecord)),
    tags((name = "review", description = "The review queue: evidence, decisions (audited), assignment, progress"))
)]
pub struct ReviewApi;

/// The queue, filtered, one page at a time; the caller's assignments first.
#[utoipa::path(get, path = "/api/review/queue", tag = "review", params(QueueFilter),
    responses((status = 200, body = QueuePage), (status = 403, description = "not a reviewer")))]
async fn queue(
    State(state): State<AppState>,
    user: CurrentUser,
    QueryParams(filter): QueryParams<QueueFilter>,
) -> Result<Json<QueuePage>, WebError> {
    require_reviewer(&user)?;
    let items = repo::queue(&state.engine.db).await?;
    Ok(Json(filter.apply(items, user.id)))
}

/// The active reason templates.
#[utoipa::path(get, path = "/api/review/templates", tag = "review",
    responses((status = 200, body = Vec<ReasonTemplate>), (status = 403, description = "not a reviewer")))]
async fn templates(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<ReasonTemplate>>, WebError> {
    require_reviewer(&user)?;
    Ok(Json(repo::templates(&state.engine.db).await?))
}

/// Counts in review and decided, per reviewer, per category and overall.
#[utoipa::path(get, path = "/api/review/progress", tag = "review",
    responses((status = 200, body = Progress), (status = 403, description = "not a reviewer")))]
async fn progress(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Progress>, WebError> {
    Ok(Json(assign::progress(&state, &user).await?))
}

/// Assigns the unassigned submissions in review (directors and admins).
#[utoipa::path(post, path = "/api/review/assign", tag = "review", request_body = AssignRequest,
    responses((status = 200, body = AssignOutcome), (status = 403, description = "not a director"),
        (status = 409, description = "no active reviewers"), (status = 422, description = "unknown category or reviewer")))]
async fn assign(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(request): JsonBody<AssignRequest>,
) -> Result<Json<AssignOutcome>, WebError> {
    Ok(Json(assign::assign(&state, &user, &request).await?))
}

/// The evidence of a submission's latest version.
#[utoipa::path(get, path = "/api/review/{id}", tag = "review", params(("id" = i64, Path)),
    responses((status = 200, body = Evidence), (status = 403, description = "not a reviewer"), (status = 404)))]
async fn evidence(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Evidence>, WebError> {
    Ok(Json(super::evidence(&state, &user, id).await?))
}

/// Decides on the latest version; audited.
#[utoipa::path(post, path = "/api/review/{id}/decision", tag = "review", params(("id" = i64, Path)),
    request_body = DecisionInput,
    responses((status = 201, body = DecisionRecord), (status = 403, description = "not a reviewer"),
        (status = 404), (status = 409, description = "decided meanwhile, a newer version, or still processing"),
        (status = 422, description = "note too long, or a reason missing or not fitting")))]
async fn decision(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<DecisionInput>,
) -> Result<Response, WebError> {
    let record = decide::decide(&state, &user, id, &input).await?;
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

/// The audit log of a submission's decisions, oldest first.
#[utoipa::path(get, path = "/api/review/{id}/history", tag = "review", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<DecisionRecord>), (status = 403, description = "not a reviewer"), (status = 404)))]
async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<DecisionRecord>>, WebError> {
    require_reviewer(&user)?;
    let db = &state.engine.db;
    repo::queue_item_of(db, id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(Json(repo::history(db, id).await?))
}
