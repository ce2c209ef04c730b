//! Gala's studio web: the only crate that knows HTTP and HTML. Creator portal, review queue,
//! director's dashboard and the JSON API arrive with their issues.
//!
//! - [`upload`]: resumable uploads over tus 1.0 (its own router and [`upload::UploadService`]
//!   state, merged into the app by the caller).

use axum::{routing::get, Router};

pub mod upload;

/// The studio's router. Each feature will bring its own router, merged here.
pub fn router() -> Router {
    Router::new().route("/healthz", get(|| async { "ok" }))
}
