//! The front page: what a visitor or a logged-in user can do from here. Features add their
//! own entry points to the menu in `base.html`.

use askama::Template;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::error::WebError;
use crate::page::{render, Page};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: Page,
}

async fn home(page: Page) -> Result<Response, WebError> {
    render(&HomePage { page })
}
