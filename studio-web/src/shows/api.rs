//! The shows' JSON API under `/api/shows`; its paths are in the OpenAPI document
//! ([`ShowsApi`], merged into the studio's). State-changing calls carry the session's CSRF
//! token in `X-CSRF-Token`. Every change names the version it was made on
//! (`expected_version`): 200 with the new state, 409 `{current_version}` when another director
//! saved first (nothing is overwritten), 422 `{error, message}` when the running order refuses
//! the change (a locked item, a position outside the order, ...).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gala_pipeline::show::model::check_meta;
use gala_pipeline::show::spoken;
use gala_pipeline::show::store::{self, ShowSummary, StoreError, VersionInfo};
use gala_pipeline::show::{Change, Edit, ItemKind, RunningOrder, ShowMeta};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{require_director, store_error, ConflictBody, InvalidBody, ShowState};
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{JsonBody, QueryParams};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/shows", get(list).post(create))
        .route("/api/shows/{id}", get(show))
        .route("/api/shows/{id}/edits", post(edits))
        .route("/api/shows/{id}/undo", post(undo))
        .route("/api/shows/{id}/history", get(history))
        .route("/api/shows/{id}/diff", get(diff))
        .route("/api/shows/{id}/versions/{version}", get(version))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, show, edits, undo, history, diff, version),
    components(schemas(ShowListItem, NewShow, ShowState, EditRequest, UndoRequest, HistoryEntry,
        ConflictBody, InvalidBody)),
    tags((name = "shows", description = "Shows and their running orders: versions, edits, undo, diffs (directors)"))
)]
pub struct ShowsApi;

/// A show in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShowListItem {
    pub id: i64,
    pub version: i64,
    #[schema(value_type = Object)]
    pub meta: ShowMeta,
    pub items: usize,
    pub total_ms: i64,
}

impl From<ShowSummary> for ShowListItem {
    fn from(s: ShowSummary) -> ShowListItem {
        ShowListItem {
            id: s.id,
            version: s.version,
            meta: s.meta,
            items: s.items,
            total_ms: s.total_ms,
        }
    }
}

/// A new show: its frame, and optionally a first running order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewShow {
    pub title: String,
    /// Local date and time it goes on air, `YYYY-MM-DDTHH:MM`.
    pub starts_at: String,
    pub target_ms: i64,
    /// Default 10 s.
    #[serde(default = "default_tolerance")]
    pub tolerance_ms: i64,
    /// Default `default` (the house format of gala.yaml).
    #[serde(default = "default_house")]
    pub house_format: String,
    /// Items in airing order, each `{kind, ..., locked}` as in a running order.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<NewItem>,
}

/// An item of a new show's first running order (its id is assigned).
#[derive(Debug, Deserialize)]
pub struct NewItem {
    #[serde(flatten)]
    pub kind: ItemKind,
    #[serde(default)]
    pub locked: bool,
}

fn default_tolerance() -> i64 {
    10_000
}

fn default_house() -> String {
    "default".into()
}

impl NewShow {
    pub fn meta(&self) -> ShowMeta {
        ShowMeta {
            title: self.title.trim().to_string(),
            starts_at: self.starts_at.trim().to_string(),
            target_ms: self.target_ms,
            tolerance_ms: self.tolerance_ms,
            house_format: self.house_format.clone(),
        }
    }
}

/// Changes made on `expected_version`, applied all or none as one new version.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EditRequest {
    pub expected_version: i64,
    /// `{"op": "move", "item": 3, "to": 0}`, `lock`, `trim`, `insert`, `remove`,
    /// `set_host_line`, `set_duration`, `set_meta`, `replace`.
    #[schema(value_type = Vec<Object>)]
    pub edits: Vec<Edit>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UndoRequest {
    pub expected_version: i64,
}

/// One version in a show's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub version: i64,
    /// What changed, in words.
    pub summary: String,
    pub author_id: Option<i64>,
    pub author: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl From<VersionInfo> for HistoryEntry {
    fn from(v: VersionInfo) -> HistoryEntry {
        HistoryEntry {
            version: v.version,
            summary: v.summary,
            author_id: v.author_id,
            author: v.author,
            created_at: v.created_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The older version.
    pub from: i64,
    /// The newer version.
    pub to: i64,
}

/// The shows, newest first.
#[utoipa::path(get, path = "/api/shows", tag = "shows",
    responses((status = 200, body = Vec<ShowListItem>), (status = 403, description = "not a director")))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<ShowListItem>>, WebError> {
    require_director(&user)?;
    let shows = store::list(&state.engine.db).await?;
    Ok(Json(shows.into_iter().map(ShowListItem::from).collect()))
}

/// Creates a show (version 1).
#[utoipa::path(post, path = "/api/shows", tag = "shows", request_body = NewShow,
    responses((status = 201, body = ShowState), (status = 403, description = "not a director"),
        (status = 422, body = InvalidBody)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(new): JsonBody<NewShow>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let meta = new.meta();
    if let Err(e) = check_meta(&meta) {
        return Ok(store_error(StoreError::Invalid(e)));
    }
    let kinds = new
        .items
        .iter()
        .map(|i| (i.kind.clone(), i.locked))
        .collect();
    let order = RunningOrder::new(kinds);
    Ok(
        match store::create(&state.engine.db, meta, order, Some(user.id)).await {
            Ok(r) => (StatusCode::CREATED, Json(ShowState::from(r))).into_response(),
            Err(e) => store_error(e),
        },
    )
}

/// The latest version of a show, back-timed.
#[utoipa::path(get, path = "/api/shows/{id}", tag = "shows", params(("id" = i64, Path)),
    responses((status = 200, body = ShowState), (status = 403, description = "not a director"), (status = 404)))]
async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    Ok(answer(store::get(&state.engine.db, id).await))
}

/// Applies changes made on `expected_version`, all or none, as a new version.
#[utoipa::path(post, path = "/api/shows/{id}/edits", tag = "shows", params(("id" = i64, Path)),
    request_body = EditRequest,
    responses((status = 200, body = ShowState), (status = 403, description = "not a director"), (status = 404),
        (status = 409, description = "another director saved first", body = ConflictBody),
        (status = 422, description = "the running order refuses the change", body = InvalidBody)))]
async fn edits(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<EditRequest>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    if req.edits.is_empty() {
        return Err(WebError::BadRequest("no edits".into()));
    }
    let mut edits = req.edits;
    if spoken::writes_lines(&edits) {
        edits = fit_lines(&state, id, edits).await?;
    }
    let db = &state.engine.db;
    Ok(answer(
        store::edit(db, id, req.expected_version, &edits, Some(user.id)).await,
    ))
}

/// Makes each new host line's card last as long as the line takes to say (measured with the
/// host's voice); without a voice the cards keep the lengths given, and the render fits them.
async fn fit_lines(state: &AppState, id: i64, mut edits: Vec<Edit>) -> Result<Vec<Edit>, WebError> {
    let show = match store::get(&state.engine.db, id).await {
        Ok(show) => show,
        // The edit reports the missing show.
        Err(_) => return Ok(edits),
    };
    let voice = match state.host_voice().await {
        Ok(voice) => voice,
        Err(e) => {
            tracing::warn!(error = %e, "no host voice: a new host line keeps the length given");
            return Ok(edits);
        }
    };
    let padding = state.engine.config.cards.speech_padding_ms.max(0);
    tokio::task::spawn_blocking(move || {
        match spoken::fit_lines(&show.order, &mut edits, voice.as_ref(), padding) {
            Ok(stretched) => {
                for s in stretched {
                    tracing::info!(
                        item = s.item,
                        asked_ms = s.asked_ms,
                        spoken_ms = s.spoken_ms,
                        "host card lengthened to its spoken line"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "the host line could not be measured"),
        }
        edits
    })
    .await
    .map_err(|e| WebError::Internal(e.into()))
}

/// Undoes the latest change (as a new version that restores the one before it).
#[utoipa::path(post, path = "/api/shows/{id}/undo", tag = "shows", params(("id" = i64, Path)),
    request_body = UndoRequest,
    responses((status = 200, body = ShowState), (status = 403, description = "not a director"), (status = 404),
        (status = 409, description = "another director saved first", body = ConflictBody),
        (status = 422, description = "nothing to undo", body = InvalidBody)))]
async fn undo(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<UndoRequest>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let db = &state.engine.db;
    Ok(answer(
        store::undo(db, id, req.expected_version, Some(user.id)).await,
    ))
}

/// The versions of a show, with what changed, who and when.
#[utoipa::path(get, path = "/api/shows/{id}/history", tag = "shows", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 403, description = "not a director"), (status = 404)))]
async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    Ok(match store::history(&state.engine.db, id).await {
        Ok(h) => Json(h.into_iter().map(HistoryEntry::from).collect::<Vec<_>>()).into_response(),
        Err(e) => store_error(e),
    })
}

/// What changed between two versions, item by item.
#[utoipa::path(get, path = "/api/shows/{id}/diff", tag = "shows", params(("id" = i64, Path), DiffQuery),
    responses((status = 200, description = "the changes: `[{change: added|removed|moved|changed|meta, ...}]`"), (status = 403, description = "not a director"), (status = 404)))]
async fn diff(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<DiffQuery>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    Ok(
        match store::diff_versions(&state.engine.db, id, q.from, q.to).await {
            Ok(changes) => Json::<Vec<Change>>(changes).into_response(),
            Err(e) => store_error(e),
        },
    )
}

/// One version of a show, back-timed.
#[utoipa::path(get, path = "/api/shows/{id}/versions/{version}", tag = "shows",
    params(("id" = i64, Path), ("version" = i64, Path)),
    responses((status = 200, body = ShowState), (status = 403, description = "not a director"), (status = 404)))]
async fn version(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, version)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    Ok(answer(
        store::get_version(&state.engine.db, id, version).await,
    ))
}

fn answer(r: Result<store::ShowRecord, store::StoreError>) -> Response {
    match r {
        Ok(r) => Json(ShowState::from(r)).into_response(),
        Err(e) => store_error(e),
    }
}
