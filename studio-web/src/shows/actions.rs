//! What a director asks of the engine for a show: a running order proposed by the planner
//! (saved as the next version, with the reason for every placement), and a render of the
//! master file (a `render.show` job a worker runs; its progress shows on the show page).

use askama::Template;
use axum::extract::Request;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gala_pipeline::jobs::{Job, JobState};
use gala_pipeline::planner::Plan;
use gala_pipeline::render::job as render_job;
use gala_pipeline::show::propose::{propose, ProposeError, ProposeOptions};
use serde::{Deserialize, Serialize};

use super::{page_error, require_director, store_error, InvalidBody, ShowState};
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{FormBody, JsonBody};
use crate::page::{render, Page};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/shows/{id}/plan", post(plan_api))
        .route("/api/shows/{id}/render", post(render_api).get(renders_api))
        .route("/api/shows/{id}/render/{job}/{file}", get(render_file))
        .route("/shows/{id}/plan", post(plan_page))
        .route("/shows/{id}/render", post(render_page))
}

/// A planner request: the version the director sees, plus opening, finale, language, seed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PlanBody {
    pub expected_version: i64,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub options: ProposeOptions,
}

/// The proposal as saved, with the planner's reasons.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanAnswer {
    pub state: ShowState,
    /// Why each item stands where it does (`{item, text}`), in airing order.
    #[schema(value_type = Vec<Object>)]
    pub explanations: Vec<gala_pipeline::planner::Explanation>,
    pub warnings: Vec<String>,
    pub within_tolerance: bool,
}

async fn run_planner(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    expected: i64,
    options: &ProposeOptions,
) -> Result<(gala_pipeline::show::ShowRecord, Plan), ProposeError> {
    let engine = &state.engine;
    propose(
        &engine.db,
        id,
        expected,
        options,
        &engine.config.planner,
        Some(user.id),
    )
    .await
}

/// Proposes a running order for the show from the accepted pool (locked items stay) and saves
/// it as the next version.
#[utoipa::path(post, path = "/api/shows/{id}/plan", tag = "shows", params(("id" = i64, Path)),
    request_body = PlanBody,
    responses((status = 200, body = PlanAnswer), (status = 409, body = super::ConflictBody),
        (status = 422, body = InvalidBody), (status = 403)))]
async fn plan_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<PlanBody>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    Ok(
        match run_planner(&state, &user, id, body.expected_version, &body.options).await {
            Ok((saved, plan)) => Json(PlanAnswer {
                state: saved.into(),
                explanations: plan.explanations,
                warnings: plan.warnings,
                within_tolerance: plan.within_tolerance,
            })
            .into_response(),
            Err(ProposeError::Store(e)) => store_error(e),
            Err(ProposeError::Plan(e)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(InvalidBody {
                    error: "invalid_plan".into(),
                    message: e.to_string(),
                }),
            )
                .into_response(),
            Err(ProposeError::Other(e)) => WebError::Internal(e).into_response(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct PlanForm {
    pub expected_version: i64,
    #[serde(default)]
    pub language: String,
}

#[derive(Template)]
#[template(path = "shows/plan.html")]
struct PlanTpl {
    page: Page,
    id: i64,
    version: i64,
    rows: Vec<(String, String)>,
    warnings: Vec<String>,
    within: bool,
}

async fn plan_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
    FormBody(form): FormBody<PlanForm>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let language = if form.language.starts_with("zh") {
        "zh-CN"
    } else {
        "en"
    };
    let options = ProposeOptions {
        language: Some(language.into()),
        ..ProposeOptions::default()
    };
    let (saved, plan) = match run_planner(&state, &user, id, form.expected_version, &options).await
    {
        Ok(done) => done,
        Err(ProposeError::Store(e)) => return Err(page_error(e)),
        Err(ProposeError::Plan(e)) => return Err(WebError::BadRequest(e.to_string())),
        Err(ProposeError::Other(e)) => return Err(WebError::Internal(e)),
    };
    let rows = saved
        .order
        .items
        .iter()
        .zip(&plan.explanations)
        .map(|(item, why)| {
            (
                gala_pipeline::show::summary::item_name(item),
                why.text.clone(),
            )
        })
        .collect();
    render(&PlanTpl {
        page,
        id,
        version: saved.version,
        rows,
        warnings: plan.warnings,
        within: plan.within_tolerance,
    })
}

/// A render job of the show, as the page and the API show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RenderStatus {
    pub job_id: i64,
    /// queued | running | done | failed
    pub state: String,
    /// 0..1
    pub progress: f64,
    pub note: Option<String>,
    pub error: Option<String>,
    /// The render's summary once done (the master's and sidecars' digests, version, frames,
    /// copied/encoded frames, ...).
    #[schema(value_type = Object)]
    pub result: Option<serde_json::Value>,
}

impl From<&Job> for RenderStatus {
    fn from(j: &Job) -> RenderStatus {
        RenderStatus {
            job_id: j.id,
            state: j.state.as_str().to_string(),
            progress: j.progress,
            note: j.progress_note.clone(),
            error: if j.state == JobState::Failed {
                j.last_error.clone()
            } else {
                None
            },
            result: j.result.clone(),
        }
    }
}

/// The show's render jobs, newest first.
pub async fn renders(state: &AppState, id: i64) -> Result<Vec<RenderStatus>, WebError> {
    let mut jobs = state
        .engine
        .queue
        .list_by_subject(&render_job::subject(id))
        .await?;
    jobs.retain(|j| j.kind == render_job::KIND);
    jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
    Ok(jobs.iter().map(RenderStatus::from).collect())
}

async fn queue_render(state: &AppState, id: i64) -> Result<i64, WebError> {
    gala_pipeline::show::store::get(&state.engine.db, id)
        .await
        .map_err(page_error)?;
    let running = renders(state, id).await?;
    if let Some(r) = running
        .iter()
        .find(|r| r.state == "queued" || r.state == "running")
    {
        return Ok(r.job_id);
    }
    Ok(state.engine.queue.enqueue(render_job::new_job(id)).await?)
}

/// Queues a render of the show's current version (or answers the one already queued).
#[utoipa::path(post, path = "/api/shows/{id}/render", tag = "shows", params(("id" = i64, Path)),
    responses((status = 202, body = RenderStatus), (status = 403), (status = 404)))]
async fn render_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let job = queue_render(&state, id).await?;
    let all = renders(&state, id).await?;
    let status = all
        .into_iter()
        .find(|r| r.job_id == job)
        .ok_or(WebError::NotFound)?;
    Ok((StatusCode::ACCEPTED, Json(status)).into_response())
}

/// The show's renders, newest first.
#[utoipa::path(get, path = "/api/shows/{id}/render", tag = "shows", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RenderStatus>), (status = 403)))]
async fn renders_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    Ok(Json(renders(&state, id).await?).into_response())
}

async fn render_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    queue_render(&state, id).await?;
    Ok(Redirect::to(&format!("/shows/{id}")).into_response())
}

/// The content type of a done render's file: `master.mp4`, or a sidecar by its suffix
/// (`render::job::SIDECARS`).
fn render_file_type(file: &str) -> Option<&'static str> {
    Some(match file {
        "master.mp4" => "video/mp4",
        "rundown.csv" => "text/csv; charset=utf-8",
        "rundown.json" | "otio" => "application/json",
        "srt" => "application/x-subrip; charset=utf-8",
        _ => return None,
    })
}

/// A done render's master (`master.mp4`) or sidecar (`rundown.csv`, `rundown.json`, `otio`,
/// `srt`), from the media store, with Range support; directors only.
#[utoipa::path(get, path = "/api/shows/{id}/render/{job}/{file}", tag = "shows",
    params(("id" = i64, Path), ("job" = i64, Path), ("file" = String, Path)),
    responses((status = 200, content_type = "video/mp4"), (status = 403), (status = 404)))]
async fn render_file(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, job, file)): Path<(i64, i64, String)>,
    req: Request,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let content_type = render_file_type(&file).ok_or(WebError::NotFound)?;
    let master = file == "master.mp4";
    let render = renders(&state, id)
        .await?
        .into_iter()
        .find(|r| r.job_id == job && r.state == "done")
        .ok_or(WebError::NotFound)?;
    let result = render.result.unwrap_or_default();
    let digest = if master {
        result.get("master")
    } else {
        result.get("sidecars").and_then(|s| s.get(&file))
    }
    .and_then(|d| d.as_str())
    .filter(|d| gala_pipeline::storage::media::is_digest(d))
    .ok_or(WebError::NotFound)?
    .to_string();
    let mut response =
        crate::submissions::media::object_response(&state, digest, content_type, req).await?;
    let suffix = if master { "mp4" } else { file.as_str() };
    let name = format!("attachment; filename=\"show-{id}.{suffix}\"");
    if let Ok(value) = HeaderValue::from_str(&name) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
