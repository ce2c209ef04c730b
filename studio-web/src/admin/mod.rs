//! Account administration (admins only): list accounts, approve sign-ups, change roles, disable
//! accounts, and the password reset links waiting to be handed over when no mail is sent.
//! [`change_account`] is shared with the JSON API. [`words`]: the watched-words list.

pub mod words;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::accounts::{self, Account, Status};
use crate::auth::reset::{self, PendingLink};
use crate::auth::{CurrentUser, Role};
use crate::error::WebError;
use crate::extract::FormBody;
use crate::page::{render, Page};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/accounts", get(accounts_page))
        .route("/admin/accounts/{id}/approve", post(approve))
        .route("/admin/accounts/{id}/role", post(set_role))
        .route("/admin/accounts/{id}/disable", post(disable))
        .route("/admin/accounts/{id}/reset-link", post(reset_link))
        .merge(words::router())
}

/// Applies an admin's change to an account. An admin cannot change their own role or status,
/// so the last admin cannot lock everyone out by a slip.
pub async fn change_account(
    state: &AppState,
    admin: &CurrentUser,
    id: i64,
    role: Option<Role>,
    status: Option<Status>,
) -> Result<Account, WebError> {
    admin.require(&[Role::Admin])?;
    if id == admin.id {
        return Err(WebError::Conflict(
            "You cannot change your own account here.".into(),
        ));
    }
    let db = &state.engine.db;
    accounts::find(db, id).await?.ok_or(WebError::NotFound)?;
    if let Some(role) = role {
        accounts::set_role(db, id, role).await?;
    }
    match status {
        Some(Status::Active) => drop(accounts::approve(db, id).await?),
        Some(Status::Disabled) => drop(accounts::disable(db, id).await?),
        Some(Status::Pending) => {
            return Err(WebError::BadRequest(
                "An account cannot be made pending again.".into(),
            ))
        }
        None => {}
    }
    tracing::info!(
        admin_id = admin.id,
        user_id = id,
        ?role,
        ?status,
        "account changed"
    );
    accounts::find(db, id).await?.ok_or(WebError::NotFound)
}

/// A reset link for an account, made by an admin to hand over (also without mail).
pub async fn make_reset_link(
    state: &AppState,
    admin: &CurrentUser,
    id: i64,
) -> Result<(), WebError> {
    admin.require(&[Role::Admin])?;
    let db = &state.engine.db;
    accounts::find(db, id).await?.ok_or(WebError::NotFound)?;
    let base = state.config().public_url.trim_end_matches('/').to_string();
    reset::create(db, id, state.config().password_reset_ttl_min, |t| {
        Some(format!("{base}/password/reset/{t}"))
    })
    .await?;
    tracing::info!(
        admin_id = admin.id,
        user_id = id,
        "reset link made by an admin"
    );
    Ok(())
}

#[derive(Template)]
#[template(path = "admin/accounts.html")]
struct AccountsPage {
    page: Page,
    accounts: Vec<Account>,
    links: Vec<PendingLink>,
    roles: [Role; 4],
    me: i64,
}

impl AccountsPage {
    fn status_label(&self, status: &Status) -> &str {
        self.page.t(match status {
            Status::Pending => "status.pending",
            Status::Active => "status.active",
            Status::Disabled => "status.disabled",
        })
    }

    fn role_label(&self, role: &Role) -> &str {
        self.page.t(match role {
            Role::Creator => "role.creator",
            Role::Reviewer => "role.reviewer",
            Role::Director => "role.director",
            Role::Admin => "role.admin",
        })
    }
}

async fn accounts_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
) -> Result<Response, WebError> {
    user.require(&[Role::Admin])?;
    let db = &state.engine.db;
    let accounts = accounts::list(db).await?;
    let links = reset::pending_links(db).await?;
    render(&AccountsPage {
        page,
        accounts,
        links,
        roles: Role::ALL,
        me: user.id,
    })
}

fn back() -> Response {
    Redirect::to("/admin/accounts").into_response()
}

async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    change_account(&state, &user, id, None, Some(Status::Active)).await?;
    Ok(back())
}

async fn disable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    change_account(&state, &user, id, None, Some(Status::Disabled)).await?;
    Ok(back())
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

async fn set_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    FormBody(form): FormBody<RoleForm>,
) -> Result<Response, WebError> {
    let role =
        Role::parse(&form.role).ok_or_else(|| WebError::BadRequest("unknown role".into()))?;
    change_account(&state, &user, id, Some(role), None).await?;
    Ok(back())
}

async fn reset_link(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    make_reset_link(&state, &user, id).await?;
    Ok(back())
}
