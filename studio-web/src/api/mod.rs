//! The JSON API: everything the pages do, for scripts and other clients, under `/api`, with its
//! OpenAPI document at `/api/openapi.json`. Errors are `{ "error": code, "message": … }`.
//! State-changing calls carry the CSRF token in `X-CSRF-Token`: from `GET /api/csrf` while
//! logged out, from the login answer or `GET /api/me` once logged in.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::accounts::{Account, Status};
use crate::admin;
use crate::auth::csrf::CsrfToken;
use crate::auth::flows;
use crate::auth::reset::{self, PendingLink};
use crate::auth::{session, CurrentUser, Role};
use crate::error::{ErrorInfo, WebError};
use crate::extract::{ClientIp, JsonBody};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/csrf", get(csrf))
        .route("/api/session", post(login).delete(logout))
        .route("/api/me", get(me))
        .route("/api/accounts", post(signup))
        .route("/api/password/forgot", post(forgot))
        .route("/api/password/reset", post(reset_password))
        .route("/api/admin/accounts", get(list_accounts))
        .route("/api/admin/accounts/{id}", patch(change_account))
        .route("/api/admin/accounts/{id}/reset-link", post(reset_link))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Gala studio API", description = "Accounts and sessions; more with each feature."),
    paths(csrf, login, logout, me, signup, forgot, reset_password, list_accounts, change_account, reset_link),
    components(schemas(ErrorBody, CsrfAnswer, LoginRequest, SignupRequest, ForgotRequest, ResetRequest,
        AccountPatch, AdminAccounts, Account, CurrentUser, Role, Status, PendingLink)),
    tags((name = "accounts", description = "Sign-up, login, password reset, administration"))
)]
pub struct ApiDoc;

/// The OpenAPI document of this API.
async fn openapi() -> Response {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::submissions::api::SubmissionsDoc::openapi());
    doc.merge(crate::review::api::ReviewApi::openapi());
    doc.merge(crate::shows::api::ShowsApi::openapi());
    doc.merge(crate::shows::live::LiveApi::openapi());
    match doc.to_json() {
        Ok(json) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response(),
        Err(e) => WebError::Internal(anyhow::Error::new(e).context("openapi")).into_response(),
    }
}

/// The shape of every error answer.
#[derive(Serialize, ToSchema)]
struct ErrorBody {
    /// A stable code: not_found, unauthorized, forbidden, bad_request, validation,
    /// payload_too_large, conflict, too_many_requests, csrf, internal.
    error: String,
    message: String,
    /// Per-field message keys, for `validation`.
    fields: Option<std::collections::BTreeMap<String, String>>,
}

// Keeps ErrorBody in step with what WebError sends.
const _: fn(ErrorInfo) -> ErrorBody = |i| ErrorBody {
    error: i.error.into(),
    message: i.message,
    fields: i.fields,
};

#[derive(Serialize, ToSchema)]
struct CsrfAnswer {
    /// Send it back in `X-CSRF-Token`.
    csrf_token: String,
}

/// The token state-changing requests must carry (sets the logged-out CSRF cookie when needed).
#[utoipa::path(get, path = "/api/csrf", tag = "accounts", responses((status = 200, body = CsrfAnswer)))]
async fn csrf(token: Option<axum::Extension<CsrfToken>>) -> Json<CsrfAnswer> {
    Json(CsrfAnswer {
        csrf_token: token.map(|t| t.0 .0.clone()).unwrap_or_default(),
    })
}

#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    email: String,
    #[schema(format = Password)]
    password: String,
}

/// Logs in: sets the session cookie and answers the user with the session's CSRF token.
#[utoipa::path(post, path = "/api/session", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = CurrentUser), (status = 401, body = ErrorBody),
        (status = 403, description = "pending or disabled", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Response, WebError> {
    let old = session::token_from(&headers);
    let (_, token) = flows::login(&state, &req.email, &req.password, &ip, old.as_deref()).await?;
    let user = session::lookup(&state.engine.db, &token)
        .await?
        .ok_or(WebError::Unauthorized)?;
    let cookie = session::cookie(
        token,
        session::secure(state.config(), &headers),
        state.config().session_ttl_h,
    );
    Ok((jar.add(cookie), Json(user)).into_response())
}

/// Logs out: the session ends on the server.
#[utoipa::path(delete, path = "/api/session", tag = "accounts", responses((status = 204)))]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<Response, WebError> {
    flows::logout(&state, session::token_from(&headers).as_deref()).await?;
    let removal = session::removal(session::secure(state.config(), &headers));
    Ok((jar.add(removal), StatusCode::NO_CONTENT).into_response())
}

/// The logged-in user and the session's CSRF token.
#[utoipa::path(get, path = "/api/me", tag = "accounts",
    responses((status = 200, body = CurrentUser), (status = 401, body = ErrorBody)))]
async fn me(user: CurrentUser) -> Json<CurrentUser> {
    Json(user)
}

#[derive(Deserialize, ToSchema)]
struct SignupRequest {
    email: String,
    display_name: String,
    #[schema(format = Password)]
    password: String,
}

/// Signs up a creator (status `pending` when sign-ups need approval). Does not log in.
#[utoipa::path(post, path = "/api/accounts", tag = "accounts", request_body = SignupRequest,
    responses((status = 201, body = Account), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn signup(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<SignupRequest>,
) -> Result<Response, WebError> {
    let account = flows::signup(&state, &req.email, &req.display_name, &req.password).await?;
    Ok((StatusCode::CREATED, Json(account)).into_response())
}

#[derive(Deserialize, ToSchema)]
struct ForgotRequest {
    email: String,
}

/// Asks for a password reset link. Always 202, whether the account exists or not.
#[utoipa::path(post, path = "/api/password/forgot", tag = "accounts", request_body = ForgotRequest,
    responses((status = 202)))]
async fn forgot(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<ForgotRequest>,
) -> Result<StatusCode, WebError> {
    flows::forgot_password(&state, &req.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
struct ResetRequest {
    /// The token of the reset link.
    token: String,
    #[schema(format = Password)]
    password: String,
}

/// Sets a new password with a reset token (once); every session of the account ends.
#[utoipa::path(post, path = "/api/password/reset", tag = "accounts", request_body = ResetRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<ResetRequest>,
) -> Result<StatusCode, WebError> {
    flows::reset_password(&state, &req.token, &req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct AdminAccounts {
    accounts: Vec<Account>,
    /// Reset links to hand over (kept when no mail is sent).
    reset_links: Vec<PendingLink>,
}

/// Every account and the reset links waiting to be handed over (admins only).
#[utoipa::path(get, path = "/api/admin/accounts", tag = "accounts",
    responses((status = 200, body = AdminAccounts), (status = 403, body = ErrorBody)))]
async fn list_accounts(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<AdminAccounts>, WebError> {
    user.require(&[Role::Admin])?;
    let db = &state.engine.db;
    Ok(Json(AdminAccounts {
        accounts: crate::accounts::list(db).await?,
        reset_links: reset::pending_links(db).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
struct AccountPatch {
    role: Option<Role>,
    /// `active` approves (or re-enables), `disabled` turns the account off.
    status: Option<Status>,
}

/// Changes an account's role or status (admins only; not one's own).
#[utoipa::path(patch, path = "/api/admin/accounts/{id}", tag = "accounts", request_body = AccountPatch,
    params(("id" = i64, Path, description = "account id")),
    responses((status = 200, body = Account), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn change_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<AccountPatch>,
) -> Result<Json<Account>, WebError> {
    Ok(Json(
        admin::change_account(&state, &user, id, req.role, req.status).await?,
    ))
}

/// Makes a password reset link for an account, listed with the accounts (admins only).
#[utoipa::path(post, path = "/api/admin/accounts/{id}/reset-link", tag = "accounts",
    params(("id" = i64, Path, description = "account id")),
    responses((status = 204), (status = 403, body = ErrorBody)))]
async fn reset_link(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, WebError> {
    admin::make_reset_link(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
