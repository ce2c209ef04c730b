//! Captions of a submission's latest clip: the editor page, downloads as WebVTT and SRT, and
//! the JSON API. An edit is stored as a new `edited` row based on the row it started from; the
//! automatic row is kept, and the latest edit of a language is what is shown and exported.
//! Saving an edit moderates the clip again (`analysis.moderation`, then its verdict), so the
//! advice follows the corrected transcript.
//!
//! Access: the submission's owner (until review locks it) and reviewers, directors and admins
//! edit; another creator gets 404 as everywhere.

mod pages;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gala_pipeline::ai::captions::Cue;
use gala_pipeline::analysis::captions::{self as rows, CaptionRow, NewCaptions};
use gala_pipeline::analysis::jobs::{job, MODERATION};
use serde::{Deserialize, Serialize};

use crate::auth::{CurrentUser, Role};
use crate::error::WebError;
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::submissions::{self, Submission};

/// Most cues one edit may hold.
pub const MAX_CUES: usize = 5000;
/// Longest cue text, characters.
pub const MAX_CUE_CHARS: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/submissions/{id}/captions",
            get(pages::editor).post(pages::save),
        )
        .route(
            "/submissions/{id}/captions/{caption_id}/{format}",
            get(pages::download),
        )
        .route("/api/submissions/{id}/captions", get(list).post(create))
}

/// The captions of a submission's latest clip.
#[derive(Debug, Clone, Serialize)]
pub struct CaptionsOf {
    pub submission_id: i64,
    /// None before the first upload.
    pub clip_id: Option<i64>,
    /// Every row, oldest first (automatic, translations, edits).
    pub rows: Vec<CaptionRow>,
    /// The rows shown and exported, one per language.
    pub current: Vec<i64>,
    /// Whether the caller may save an edit.
    pub editable: bool,
}

/// An edit: the cues of one language, and the row it started from.
#[derive(Debug, Clone, Deserialize)]
pub struct CaptionEdit {
    pub language: String,
    pub based_on: Option<i64>,
    pub cues: Vec<Cue>,
}

/// Whether `user` may edit the captions of `sub`.
fn may_edit(user: &CurrentUser, sub: &Submission) -> bool {
    user.require(&[Role::Reviewer, Role::Director]).is_ok()
        || (sub.owner_id == user.id && !sub.locked)
}

/// The submission (404 when `user` may not read it) and its latest clip.
async fn latest_clip(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<(Submission, Option<i64>), WebError> {
    let sub = submissions::readable(state, user, id).await?;
    let versions = submissions::repo::versions(&state.engine.db, id).await?;
    Ok((sub, versions.last().map(|v| v.clip_id)))
}

/// The captions of submission `id` as `user` may see them.
pub async fn captions_of(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<CaptionsOf, WebError> {
    let (sub, clip_id) = latest_clip(state, user, id).await?;
    let rows = match clip_id {
        Some(clip) => rows::all_of(&state.engine.db, clip).await?,
        None => Vec::new(),
    };
    let current = rows::current(&rows).iter().map(|r| r.id).collect();
    Ok(CaptionsOf {
        submission_id: id,
        clip_id,
        editable: clip_id.is_some() && may_edit(user, &sub),
        rows,
        current,
    })
}

/// One row of submission `id`'s latest clip (404 when it belongs to another clip).
pub async fn row_of(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    caption_id: i64,
) -> Result<CaptionRow, WebError> {
    let (_, clip_id) = latest_clip(state, user, id).await?;
    let row = rows::get(&state.engine.db, caption_id)
        .await?
        .ok_or(WebError::NotFound)?;
    if Some(row.clip_id) != clip_id {
        return Err(WebError::NotFound);
    }
    Ok(row)
}

fn invalid(message: impl Into<String>) -> WebError {
    WebError::BadRequest(message.into())
}

/// Stores `edit` as a new `edited` row of the latest clip and queues its moderation again.
pub async fn save_edit(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    edit: &CaptionEdit,
) -> Result<CaptionRow, WebError> {
    let (sub, clip_id) = latest_clip(state, user, id).await?;
    let clip_id = clip_id.ok_or(WebError::NotFound)?;
    if !may_edit(user, &sub) {
        return Err(if sub.owner_id == user.id {
            WebError::Conflict("this submission is locked by review".into())
        } else {
            WebError::Forbidden
        });
    }
    let language = edit.language.trim();
    let valid_language = !language.is_empty()
        && language.len() <= 12
        && language
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid_language {
        return Err(invalid("the language must be a tag such as en or zh"));
    }
    if edit.cues.is_empty() || edit.cues.len() > MAX_CUES {
        return Err(invalid(format!("captions need 1 to {MAX_CUES} cues")));
    }
    for (i, c) in edit.cues.iter().enumerate() {
        if c.start_ms < 0 || c.end_ms <= c.start_ms {
            return Err(invalid(format!(
                "cue {}: it must end after it starts",
                i + 1
            )));
        }
        if c.text.trim().is_empty() || c.text.chars().count() > MAX_CUE_CHARS {
            return Err(invalid(format!(
                "cue {}: the text must have 1 to {MAX_CUE_CHARS} characters",
                i + 1
            )));
        }
    }
    let db = &state.engine.db;
    if let Some(base) = edit.based_on {
        let row = rows::get(db, base).await?.ok_or(WebError::NotFound)?;
        if row.clip_id != clip_id {
            return Err(WebError::NotFound);
        }
    }
    let new_id = rows::insert(
        db,
        &NewCaptions {
            clip_id,
            language,
            source: rows::EDITED,
            cues: &edit.cues,
            model: "",
            edited_by: Some(user.id),
            based_on: edit.based_on,
        },
    )
    .await?;
    state.engine.queue.enqueue(job(MODERATION, clip_id)).await?;
    tracing::info!(
        submission = id,
        clip = clip_id,
        captions = new_id,
        user = user.id,
        "captions edited"
    );
    rows::get(db, new_id)
        .await?
        .ok_or_else(|| WebError::Internal(anyhow::anyhow!("the saved captions row vanished")))
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<CaptionsOf>, WebError> {
    Ok(Json(captions_of(&state, &user, id).await?))
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(edit): JsonBody<CaptionEdit>,
) -> Result<Response, WebError> {
    let row = save_edit(&state, &user, id, &edit).await?;
    Ok((StatusCode::CREATED, Json(row)).into_response())
}
