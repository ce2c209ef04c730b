//! Gala's studio web: the only crate that knows HTTP and HTML. Creator portal, review queue,
//! director's dashboard and the JSON API arrive with their issues; for now it serves health.

use axum::{routing::get, Router};

/// The studio's router. Each feature will bring its own router, merged here.
pub fn router() -> Router {
    Router::new().route("/healthz", get(|| async { "ok" }))
}
