//! Watched words (admins only): the list moderation looks for in titles, descriptions and
//! transcripts. A page to list, add and remove them, and the same as JSON under
//! `/api/admin/words`. A change applies to clips moderated from then on.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use gala_pipeline::analysis::watchlist::{self, WatchListError, WatchedWord};
use gala_pipeline::analysis::watchwords::WordSeverity;
use serde::Deserialize;

use crate::auth::{CurrentUser, Role};
use crate::error::WebError;
use crate::extract::{FormBody, JsonBody};
use crate::page::{render, Page};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/words", get(words_page).post(add_form))
        .route("/admin/words/{id}/delete", post(remove_form))
        .route("/api/admin/words", get(list_api).post(add_api))
        .route("/api/admin/words/{id}", delete(remove_api))
}

/// A word to list.
#[derive(Debug, Clone, Deserialize)]
pub struct NewWord {
    pub word: String,
    pub category: String,
    /// `review` or `reject`.
    pub severity: String,
    #[serde(default)]
    pub note: String,
}

/// Lists a word (admins only).
pub async fn add_word(
    state: &AppState,
    admin: &CurrentUser,
    new: &NewWord,
) -> Result<WatchedWord, WebError> {
    admin.require(&[Role::Admin])?;
    let severity = WordSeverity::parse(&new.severity)
        .ok_or_else(|| WebError::BadRequest("the severity must be review or reject".into()))?;
    let added = watchlist::add(
        &state.engine.db,
        &new.word,
        &new.category,
        severity,
        &new.note,
        Some(admin.id),
    )
    .await
    .map_err(|e| match e {
        WatchListError::Invalid(why) => WebError::BadRequest(why),
        WatchListError::Duplicate => WebError::Conflict("the word is already listed".into()),
        WatchListError::Db(e) => WebError::Internal(e),
    })?;
    tracing::info!(
        admin_id = admin.id,
        word_id = added.id,
        "watched word added"
    );
    Ok(added)
}

/// Removes a word (admins only); 404 when there is none with this id.
pub async fn remove_word(state: &AppState, admin: &CurrentUser, id: i64) -> Result<(), WebError> {
    admin.require(&[Role::Admin])?;
    if !watchlist::remove(&state.engine.db, id).await? {
        return Err(WebError::NotFound);
    }
    tracing::info!(admin_id = admin.id, word_id = id, "watched word removed");
    Ok(())
}

#[derive(Template)]
#[template(path = "admin/words.html")]
struct WordsPage {
    page: Page,
    words: Vec<WatchedWord>,
}

impl WordsPage {
    fn severity(&self, s: &WordSeverity) -> &str {
        self.page.t(match s {
            WordSeverity::Review => "words.severity_review",
            WordSeverity::Reject => "words.severity_reject",
        })
    }
}

async fn words_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin])?;
    let words = watchlist::list(&state.engine.db).await?;
    render(&WordsPage { page, words })
}

async fn add_form(
    State(state): State<AppState>,
    user: CurrentUser,
    FormBody(new): FormBody<NewWord>,
) -> Result<Response, WebError> {
    add_word(&state, &user, &new).await?;
    Ok(Redirect::to("/admin/words").into_response())
}

async fn remove_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    remove_word(&state, &user, id).await?;
    Ok(Redirect::to("/admin/words").into_response())
}

async fn list_api(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<WatchedWord>>, WebError> {
    user.require(&[Role::Admin])?;
    Ok(Json(watchlist::list(&state.engine.db).await?))
}

async fn add_api(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(new): JsonBody<NewWord>,
) -> Result<Response, WebError> {
    let added = add_word(&state, &user, &new).await?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

async fn remove_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, WebError> {
    remove_word(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
