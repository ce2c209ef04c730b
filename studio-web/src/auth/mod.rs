//! Accounts' side of the studio: sign-up, login, logout and password reset, as pages (this
//! module's [`router`]) and as flows the JSON API shares ([`flows`]). The parts:
//!
//! - [`password`]: argon2id hashes on blocking threads, length rules.
//! - [`session`]: database sessions behind a random cookie token (only its hash is stored).
//! - [`csrf`]: the middleware that guards every state-changing request.
//! - [`ratelimit`]: failed-login limits shared by all studio servers.
//! - [`reset`]: one-time password reset tokens.
//! - [`user`]: the [`CurrentUser`] extractor and [`Role`]s; every role check is on the server.

pub mod csrf;
pub mod flows;
mod pages;
pub mod password;
pub mod ratelimit;
pub mod reset;
pub mod session;
pub mod user;

use axum::routing::{get, post};
use axum::Router;

pub use user::{CurrentUser, MaybeUser, Role, SessionUser};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(pages::signup_form).post(pages::signup))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route(
            "/password/forgot",
            get(pages::forgot_form).post(pages::forgot),
        )
        .route(
            "/password/reset/{token}",
            get(pages::reset_form).post(pages::reset),
        )
}
