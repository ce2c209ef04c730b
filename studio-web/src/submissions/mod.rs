//! Submissions: what a creator sends for a show, its versions (one per finished upload), and
//! the two status axes (processing, derived from the latest version's clip; selection, set by
//! review).
//!
//! - [`router`]: the creator's pages ([`pages`]), the JSON API ([`api`]), live status over
//!   server-sent events ([`events`]) and the media of the latest clip ([`media`]).
//! - [`handoff`]: what a finished tus upload does (replaces a bare hand-off to ingest): it
//!   becomes the next version of the submission named in its `submission_id` metadata.
//! - [`check_upload_creation`]: refuses, at tus creation, an upload whose `submission_id` is
//!   missing, not the uploader's, or not taking a new version now.
//!
//! Access: another creator's submission is a 404 everywhere (pages, API, media, uploads);
//! reviewers, directors and admins may read every submission; only its owner edits one.

pub mod api;
pub mod events;
pub mod form;
pub mod media;
mod pages;
pub mod repo;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use gala_pipeline::ingest::steps::{self, IngestEnv};
use gala_pipeline::storage::db::Db;
use gala_pipeline::Engine;

use crate::auth::{CurrentUser, Role};
use crate::error::WebError;
use crate::state::AppState;
use crate::upload::{CompletedUpload, OnComplete, UploadOwner};
use form::SubmissionInput;
pub use repo::{Processing, Selection, Submission};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/submissions", get(pages::list))
        .route("/submissions/new", get(pages::new_form).post(pages::create))
        .route("/submissions/events", get(events::stream))
        .route("/submissions/{id}", get(pages::detail))
        .route(
            "/submissions/{id}/edit",
            get(pages::edit_form).post(pages::edit),
        )
        .route("/submissions/{id}/upload", get(pages::upload))
        .route("/media/{kind}/{id}", get(media::serve))
        .merge(api::router())
}

/// Roles that may read every submission.
const READERS: [Role; 3] = [Role::Reviewer, Role::Director, Role::Admin];

/// Submission `id` if `user` may read it; 404 otherwise (as if it did not exist).
pub async fn readable(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<Submission, WebError> {
    let sub = repo::get(&state.engine.db, id)
        .await?
        .ok_or(WebError::NotFound)?;
    if sub.owner_id == user.id || READERS.contains(&user.role) {
        Ok(sub)
    } else {
        Err(WebError::NotFound)
    }
}

/// Submission `id` if `user` owns it; 404 otherwise.
pub async fn owned(state: &AppState, user: &CurrentUser, id: i64) -> Result<Submission, WebError> {
    let sub = repo::get(&state.engine.db, id)
        .await?
        .ok_or(WebError::NotFound)?;
    if sub.owner_id == user.id {
        Ok(sub)
    } else {
        Err(WebError::NotFound)
    }
}

/// Creates a submission for `user` (creators; admins pass every check).
pub async fn create(
    state: &AppState,
    user: &CurrentUser,
    input: &SubmissionInput,
) -> Result<i64, WebError> {
    user.require(&[Role::Creator])?;
    let valid = input.validate().map_err(WebError::Validation)?;
    let id = repo::create(&state.engine.db, user.id, &valid).await?;
    tracing::info!(submission = id, owner = user.id, "submission created");
    Ok(id)
}

/// Replaces the editable fields of `user`'s submission `id`; 409 once review locked it.
pub async fn edit(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &SubmissionInput,
) -> Result<(), WebError> {
    let sub = owned(state, user, id).await?;
    if sub.locked {
        return Err(WebError::Conflict(
            "this submission is locked by review".into(),
        ));
    }
    let valid = input.validate().map_err(WebError::Validation)?;
    if !repo::update(&state.engine.db, id, &valid).await? {
        return Err(WebError::Conflict(
            "this submission is locked by review".into(),
        ));
    }
    Ok(())
}

/// The input that reproduces a stored submission (the edit form's starting values).
pub fn input_of(sub: &Submission) -> SubmissionInput {
    SubmissionInput {
        category: sub.category.as_str().into(),
        title: sub.title.clone(),
        description: sub.description.clone(),
        credits: sub.credits.clone(),
        language: sub.language.clone(),
        rights_confirmed: sub.rights_confirmed,
        consent_confirmed: sub.consent_confirmed,
    }
}

/// The `submission_id` of a tus `Upload-Metadata` header value, if present and a number.
fn submission_id_in(metadata: &str) -> Option<i64> {
    metadata.split(',').find_map(|pair| {
        let (key, value) = pair.trim().split_once(' ')?;
        if key != "submission_id" {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()?;
        String::from_utf8(bytes).ok()?.trim().parse().ok()
    })
}

/// Refuses a tus creation (POST …/files) that names no submission (400), someone else's or a
/// missing one (404), or one that takes no new version now (409). Runs inside the uploads'
/// owner layer.
pub async fn check_upload_creation(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(owner) = req.extensions().get::<UploadOwner>().copied() else {
        return WebError::Unauthorized.into_response();
    };
    let id = req
        .headers()
        .get("upload-metadata")
        .and_then(|v| v.to_str().ok())
        .and_then(submission_id_in);
    let Some(id) = id else {
        return WebError::BadRequest(
            "name the submission this upload is for (submission_id metadata)".into(),
        )
        .into_response();
    };
    match repo::get(&state.engine.db, id).await {
        Ok(Some(sub)) if sub.owner_id == owner.user_id => {
            if sub.accepts_version() {
                next.run(req).await
            } else {
                WebError::Conflict("this submission does not take a new version now".into())
                    .into_response()
            }
        }
        Ok(_) => WebError::NotFound.into_response(),
        Err(e) => WebError::Internal(e.context("upload creation check")).into_response(),
    }
}

/// A finished upload becomes the next version of its submission: checked (the uploader owns the
/// submission, which takes a version now), handed to ingest (once per upload id), recorded
/// (once per upload id). An upload that cannot become a version is dropped with a warning
/// (creation already refuses these; only a race gets here) rather than retried for ever.
pub fn handoff(engine: &Engine) -> OnComplete {
    let env = engine.ingest_env();
    Arc::new(move |done: CompletedUpload| {
        let env = env.clone();
        Box::pin(async move { take_upload(&env, &done).await })
    })
}

/// The hand-off of one finished upload (see [`handoff`]); safe to run again for the same upload.
async fn take_upload(env: &IngestEnv, done: &CompletedUpload) -> anyhow::Result<()> {
    let db = &env.db;
    if repo::has_version_of_upload(db, &done.id).await? {
        return Ok(());
    }
    let Some(sub) = target_of(db, done).await? else {
        tracing::warn!(upload = %done.id, owner = done.owner.user_id,
            "finished upload refused: no submission of its owner takes it as a new version");
        return Ok(());
    };
    let name = done
        .filename
        .clone()
        .unwrap_or_else(|| format!("upload-{}", done.id));
    let clip = steps::submit_upload(env, &done.path, &name, &done.id).await?;
    if repo::add_version(db, sub.id, &done.id, clip).await? {
        tracing::info!(upload = %done.id, clip, submission = sub.id,
            "upload handed to ingest as a new version");
    } else {
        tracing::warn!(upload = %done.id, clip, submission = sub.id,
            "the submission stopped taking versions during the hand-off; clip left unattached");
    }
    Ok(())
}

/// The submission a finished upload names, if its uploader owns it and it takes a version now.
async fn target_of(db: &Db, done: &CompletedUpload) -> anyhow::Result<Option<Submission>> {
    let id = done
        .metadata
        .get("submission_id")
        .and_then(|s| s.trim().parse::<i64>().ok());
    let Some(id) = id else { return Ok(None) };
    let sub = repo::get(db, id).await?;
    Ok(sub.filter(|s| s.owner_id == done.owner.user_id && s.accepts_version()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_id_is_read_from_tus_metadata() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let header = format!("filename {},submission_id {}", b64("a.mp4"), b64("42"));
        assert_eq!(submission_id_in(&header), Some(42));
        assert_eq!(submission_id_in(&format!("filename {}", b64("a"))), None);
        assert_eq!(
            submission_id_in(&format!("submission_id {}", b64("x"))),
            None
        );
        assert_eq!(submission_id_in("submission_id !!!"), None);
    }
}
