//! Gala's studio web: the only crate that knows HTTP and HTML.
//!
//! - [`app`] builds the router: every feature's `router()` merged in one place, under one set of
//!   layers (trace, error pages, CSRF and session, body limit), static files at `/assets`.
//! - [`serve`] runs it on a listener the caller opened, until the caller's shutdown future
//!   resolves; tests pass port 0.
//! - [`state::AppState`]: the engine, the message catalogs and shared keys, built once.
//! - [`error::WebError`]: the one error type, mapped to HTTP once (JSON for the API, a page for
//!   browsers).
//! - Features: [`auth`] (sign-up, login, sessions, CSRF, rate limits, password reset),
//!   [`accounts`] (the users repository), [`admin`] (account administration), [`api`] (JSON and
//!   OpenAPI), [`home`], [`ops`] (health, readiness, Prometheus metrics), [`i18n`] (English and Chinese), [`upload`] (resumable uploads over
//!   tus 1.0), [`submissions`] (a creator's submissions, versions, live status, media),
//!   [`review`] (the review queue: evidence, audited decisions, assignment, progress),
//!   [`captions`] (captions editing and downloads), [`shows`] (the director's timeline: shows,
//!   running orders, versions), [`workers`] (remote workers' API and client).
//! - [`page::Page`]: what every page template gets (translator, user menu, CSRF token).

pub mod accounts;
pub mod admin;
pub mod api;
pub mod auth;
pub mod captions;
pub mod error;
pub mod extract;
pub mod home;
pub mod i18n;
pub mod mail;
pub mod ops;
pub mod page;
pub mod review;
pub mod shows;
pub mod state;
pub mod submissions;
pub mod upload;
pub mod workers;

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

pub use error::WebError;
pub use state::AppState;

/// The whole studio. Routers of forms and JSON go into `limited` (bodies up to
/// `studio.max_body_bytes`); a router that brings its own body limit (uploads) is merged after
/// it. Every route gets the session, CSRF and error-page layers.
pub fn app(state: AppState) -> Router {
    let max_body = usize::try_from(state.config().max_body_bytes).unwrap_or(usize::MAX);
    let limited = Router::new()
        .merge(home::router())
        .merge(ops::router())
        .merge(i18n::router())
        .merge(auth::router())
        .merge(admin::router())
        .merge(api::router())
        .merge(submissions::router())
        .merge(review::router())
        .merge(captions::router())
        .merge(shows::router())
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            reject_oversize,
        ));
    // Uploads bring their own size limits (tus creation checks them before any byte arrives).
    let uploads = Router::new()
        .nest("/uploads", upload::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            submissions::check_upload_creation,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), upload_owner));
    Router::new()
        .merge(limited)
        .merge(uploads)
        .fallback(|| async { WebError::NotFound })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::csrf::guard,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            error::render_errors,
        ))
        // Machines with bearer tokens, no cookies: outside the session and CSRF layers.
        .merge(workers::router(max_body))
        .nest_service("/assets", ServeDir::new(&state.assets_dir))
        .layer(middleware::from_fn(ops::track))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// Serves the studio on `listener` until `shutdown` resolves, then finishes the requests in
/// flight. The upload clean-up (expired uploads, retried hand-offs) runs alongside.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let cleanup = state.uploads.spawn_cleanup(stopped(stop_rx.clone()));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(stopped(stop_rx))
        .await?;
    cleanup.await?;
    Ok(())
}

/// Uploads belong to the logged-in user: the tus handlers read [`upload::UploadOwner`].
async fn upload_owner(user: auth::CurrentUser, mut req: Request, next: Next) -> Response {
    req.extensions_mut()
        .insert(upload::UploadOwner { user_id: user.id });
    next.run(req).await
}

/// The span of a request names its route pattern, not its path: paths can hold tokens
/// (`/password/reset/{token}`), and logs never do.
fn request_span(req: &Request) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    tracing::info_span!("request", method = %req.method(), route)
}

/// 413 in the studio's error shape for a body that announces itself too large; a body without
/// a length is cut off by the limit layer as it streams.
async fn reject_oversize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.config().max_body_bytes) {
        // The body is left unread, so this connection cannot carry another request: say so,
        // or a client may reuse it and find it closed under its next request.
        let mut response =
            WebError::PayloadTooLarge("the request is too large".into()).into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return response;
    }
    next.run(req).await
}
