//! Shows on the director's timeline: the list of shows, a new show, and one show's running
//! order as a timeline and a table, edited one change at a time with optimistic concurrency
//! (every change names the version it was made on; a change made on an old version is refused
//! with 409, never merged). The versions, undo and diffs live in `gala_pipeline::show::store`;
//! this module only checks who may do what and turns the store's answers into HTTP.
//!
//! - [`api`]: the JSON API under `/api/shows` (in the OpenAPI document).
//! - `pages`: `/shows`, `/shows/{id}` and its fragment (what the page's script swaps in after
//!   each change), `/shows/{id}/compare`.
//! - [`live`]: the show on air: monitor, live control, as-run log and its CSV.
//! - [`view`]: what the pages show of a version, precomputed (clock times, widths, labels).
//!
//! Shows are for directors (admins pass every check); everyone else gets 403.

pub mod actions;
pub mod api;
pub mod live;
mod pages;
pub mod view;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gala_pipeline::show::store::{ShowRecord, StoreError};
use gala_pipeline::show::{back_time, BackTiming, RunningOrder, ShowMeta};
use serde::Serialize;

use crate::auth::{CurrentUser, Role};
use crate::error::WebError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shows", get(pages::list_page).post(pages::create))
        .route("/shows/{id}", get(pages::show_page))
        .route("/shows/{id}/fragment", get(pages::fragment))
        .route("/shows/{id}/compare", get(pages::compare_page))
        .merge(api::router())
        .merge(actions::router())
        .merge(live::router())
}

/// Shows are the directors' (admins pass every check).
pub fn require_director(user: &CurrentUser) -> Result<(), WebError> {
    user.require(&[Role::Director])
}

/// One version of a show with its back-timing: what the API answers after every change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShowState {
    pub id: i64,
    /// Send it back as `expected_version` with the next change.
    pub version: i64,
    #[schema(value_type = Object)]
    pub meta: ShowMeta,
    /// The items in airing order (`{id, locked, kind, ...}`) and the next free item id.
    #[schema(value_type = Object)]
    pub order: RunningOrder,
    /// Unix milliseconds of this version.
    pub updated_at: i64,
    /// Clock time of each item, total, over/under the target, end clock.
    #[schema(value_type = Object)]
    pub timing: BackTiming,
}

impl From<ShowRecord> for ShowState {
    fn from(r: ShowRecord) -> ShowState {
        let timing = back_time(&r.meta, &r.order);
        ShowState {
            id: r.id,
            version: r.version,
            meta: r.meta,
            order: r.order,
            updated_at: r.updated_at,
            timing,
        }
    }
}

/// The answer of a change made on a version that is no longer the latest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConflictBody {
    /// Always `conflict`.
    pub error: String,
    pub message: String,
    /// The show's latest version: reload it, then redo the change if it still makes sense.
    pub current_version: i64,
}

/// The answer of a change the running order refuses (a locked item, a bad position, ...).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvalidBody {
    /// Always `invalid_edit`.
    pub error: String,
    pub message: String,
}

/// A store failure as an HTTP answer: 404, 409 with the current version, 422 with the reason.
pub fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::NotFound => WebError::NotFound.into_response(),
        StoreError::Conflict { current } => (
            StatusCode::CONFLICT,
            Json(ConflictBody {
                error: "conflict".into(),
                message: format!(
                    "another director changed this show (version {current}); reload to see their change"
                ),
                current_version: current,
            }),
        )
            .into_response(),
        StoreError::Invalid(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(InvalidBody {
                error: "invalid_edit".into(),
                message: e.to_string(),
            }),
        )
            .into_response(),
        StoreError::Db(e) => WebError::Internal(e).into_response(),
    }
}

/// A store failure for a page: 409 and 422 become messages on the error page.
pub fn page_error(e: StoreError) -> WebError {
    match e {
        StoreError::NotFound => WebError::NotFound,
        StoreError::Conflict { current } => WebError::Conflict(format!(
            "another director changed this show (version {current}); reload to see their change"
        )),
        StoreError::Invalid(e) => WebError::BadRequest(e.to_string()),
        StoreError::Db(e) => WebError::Internal(e),
    }
}
