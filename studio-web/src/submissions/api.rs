//! The submissions' JSON API (`/api/submissions…`): the same validation, ownership and role
//! rules as the pages. Validation errors are 422 with `fields` (field → message key).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::form::{Category, Credits, Person, SubmissionInput};
use super::repo::{self, Processing, Selection, Submission, Version};
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::JsonBody;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/submissions", get(list).post(create))
        .route("/api/submissions/{id}", get(one).patch(change))
        .route("/api/submissions/{id}/versions", get(versions))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, one, change, versions),
    components(schemas(SubmissionView, SubmissionInput, SubmissionPatch, Credits, Person, Category,
        Selection, Processing, Version, SubmissionList, VersionList)),
    tags((name = "submissions", description = "A creator's submissions, their versions and status"))
)]
pub struct SubmissionsDoc;

/// A submission as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct SubmissionView {
    pub id: i64,
    pub category: Category,
    pub title: String,
    pub description: String,
    pub credits: Credits,
    pub language: String,
    pub rights_confirmed: bool,
    pub consent_confirmed: bool,
    /// The selection axis (review's decision).
    pub selection: Selection,
    /// The reviewer's words to the creator.
    pub review_reason: Option<String>,
    /// Locked by review: no more edits.
    pub locked: bool,
    /// The processing axis, from the latest version's clip.
    pub processing: Processing,
    /// Why the latest clip was refused or failed.
    pub processing_reason: Option<String>,
    /// Versions sent so far.
    pub versions: i64,
    /// Whether a new version may be uploaded now.
    pub accepts_version: bool,
    /// `/media/poster/{id}` once the poster exists.
    pub poster_url: Option<String>,
    /// `/media/proxy/{id}` once the preview exists.
    pub proxy_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<Submission> for SubmissionView {
    fn from(s: Submission) -> Self {
        let accepts_version = s.accepts_version();
        SubmissionView {
            poster_url: s.has_poster.then(|| format!("/media/poster/{}", s.id)),
            proxy_url: s.has_proxy.then(|| format!("/media/proxy/{}", s.id)),
            id: s.id,
            category: s.category,
            title: s.title,
            description: s.description,
            credits: s.credits,
            language: s.language,
            rights_confirmed: s.rights_confirmed,
            consent_confirmed: s.consent_confirmed,
            selection: s.selection,
            review_reason: s.review_reason,
            locked: s.locked,
            processing: s.processing,
            processing_reason: s.processing_reason,
            versions: s.versions,
            accepts_version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct SubmissionList {
    submissions: Vec<SubmissionView>,
}

/// The logged-in user's submissions, newest first.
#[utoipa::path(get, path = "/api/submissions", tag = "submissions",
    responses((status = 200, body = SubmissionList), (status = 401)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<SubmissionList>, WebError> {
    let subs = repo::list_by_owner(&state.engine.db, user.id).await?;
    Ok(Json(SubmissionList {
        submissions: subs.into_iter().map(Into::into).collect(),
    }))
}

/// Creates a submission (creators). Upload its clip with tus to `/uploads/files`, metadata
/// `submission_id`.
#[utoipa::path(post, path = "/api/submissions", tag = "submissions", request_body = SubmissionInput,
    responses((status = 201, body = SubmissionView), (status = 403), (status = 422, description = "fields: field → message key")))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(input): JsonBody<SubmissionInput>,
) -> Result<Response, WebError> {
    let id = super::create(&state, &user, &input).await?;
    let sub = super::owned(&state, &user, id).await?;
    Ok((StatusCode::CREATED, Json(SubmissionView::from(sub))).into_response())
}

/// One submission (its owner; reviewers, directors and admins). Anyone else: 404.
#[utoipa::path(get, path = "/api/submissions/{id}", tag = "submissions",
    params(("id" = i64, Path, description = "submission id")),
    responses((status = 200, body = SubmissionView), (status = 404)))]
async fn one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<SubmissionView>, WebError> {
    Ok(Json(super::readable(&state, &user, id).await?.into()))
}

/// Fields to change; those left out keep their value.
#[derive(Deserialize, ToSchema)]
struct SubmissionPatch {
    category: Option<String>,
    title: Option<String>,
    description: Option<String>,
    credits: Option<Credits>,
    language: Option<String>,
}

/// Edits a submission (its owner, until review locks it: 409).
#[utoipa::path(patch, path = "/api/submissions/{id}", tag = "submissions", request_body = SubmissionPatch,
    params(("id" = i64, Path, description = "submission id")),
    responses((status = 200, body = SubmissionView), (status = 404), (status = 409), (status = 422)))]
async fn change(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(patch): JsonBody<SubmissionPatch>,
) -> Result<Json<SubmissionView>, WebError> {
    let current = super::owned(&state, &user, id).await?;
    let mut input = super::input_of(&current);
    if let Some(v) = patch.category {
        input.category = v;
    }
    if let Some(v) = patch.title {
        input.title = v;
    }
    if let Some(v) = patch.description {
        input.description = v;
    }
    if let Some(v) = patch.credits {
        input.credits = v;
    }
    if let Some(v) = patch.language {
        input.language = v;
    }
    super::edit(&state, &user, id, &input).await?;
    Ok(Json(super::owned(&state, &user, id).await?.into()))
}

#[derive(Serialize, ToSchema)]
struct VersionList {
    versions: Vec<Version>,
}

/// The versions of a submission, oldest first (same access as the submission).
#[utoipa::path(get, path = "/api/submissions/{id}/versions", tag = "submissions",
    params(("id" = i64, Path, description = "submission id")),
    responses((status = 200, body = VersionList), (status = 404)))]
async fn versions(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<VersionList>, WebError> {
    let sub = super::readable(&state, &user, id).await?;
    Ok(Json(VersionList {
        versions: repo::versions(&state.engine.db, sub.id).await?,
    }))
}
