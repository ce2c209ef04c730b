//! What operators and load balancers ask of a studio server: liveness (`/healthz`: the process
//! answers), readiness (`/readyz`: the database and the media store answer, else 503 with what
//! failed, so a balancer stops sending traffic) and Prometheus metrics (`/metrics`, behind
//! `studio.metrics_token` when one is set). [`track`] counts every request by route pattern.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gala_pipeline::metrics;
use serde_json::json;

use crate::state::AppState;

/// How long a readiness check may wait on one dependency.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(serve_metrics))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let db = state.engine.db.clone();
    let database = tokio::time::timeout(CHECK_TIMEOUT, async move {
        sqlx::query("SELECT 1").execute(&db.pool).await.map(|_| ())
    })
    .await;
    let store = state.engine.store.clone();
    let media = tokio::time::timeout(
        CHECK_TIMEOUT,
        tokio::task::spawn_blocking(move || store.exists(&"0".repeat(64)).map(|_| ())),
    )
    .await;
    let database = match database {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("no answer within 3 s".into()),
    };
    let media = match media {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(e))) => Some(format!("{e:#}")),
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("no answer within 3 s".into()),
    };
    let ready = database.is_none() && media.is_none();
    let body = Json(json!({
        "ready": ready,
        "database": database.unwrap_or_else(|| "ok".into()),
        "media": media.unwrap_or_else(|| "ok".into()),
    }));
    if ready {
        (StatusCode::OK, body).into_response()
    } else {
        tracing::warn!(body = %body.0, "not ready");
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

async fn serve_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = &state.engine.config.studio.metrics_token;
    if !token.is_empty() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            return (StatusCode::UNAUTHORIZED, "metrics need the bearer token\n").into_response();
        }
    }
    match state.engine.queue.counts().await {
        Ok(counts) => metrics::queue_depth(&counts),
        Err(e) => tracing::warn!("metrics: cannot count the queue: {e:#}"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(),
    )
        .into_response()
}

/// Counts the request under its route pattern (unmatched ones under `unmatched`).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::http_request(&route, response.status().as_u16(), started.elapsed());
    response
}
