//! The account pages: forms shown again with their errors, redirects on success.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use crate::accounts::Status;
use crate::error::{FieldErrors, WebError};
use crate::extract::{ClientIp, FormBody};
use crate::i18n::safe_local_path;
use crate::page::{render, render_status, Page};
use crate::state::AppState;

use super::flows::{self, LoginError};
use super::session;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: Page,
    email: String,
    next: String,
    /// Catalog key of the message above the form.
    error: Option<&'static str>,
    /// A message with a value in it (the rate limit's, with its time).
    detail: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
    reset: Option<String>,
}

pub(super) async fn login_form(
    page: Page,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let next = q
        .next
        .as_deref()
        .and_then(safe_local_path)
        .unwrap_or("/")
        .to_string();
    let notice = q.reset.is_some().then_some("reset.done");
    render(&LoginPage {
        page,
        email: String::new(),
        next,
        error: None,
        detail: None,
        notice,
    })
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub(super) async fn login(
    State(state): State<AppState>,
    page: Page,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    FormBody(form): FormBody<LoginForm>,
) -> Result<Response, WebError> {
    let next = safe_local_path(&form.next).unwrap_or("/").to_string();
    let old = session::token_from(&headers);
    match flows::login(&state, &form.email, &form.password, &ip, old.as_deref()).await {
        Ok((_, token)) => {
            let cookie = session::cookie(
                token,
                session::secure(state.config(), &headers),
                state.config().session_ttl_h,
            );
            Ok((jar.add(cookie), Redirect::to(&next)).into_response())
        }
        Err(LoginError::Limited { minutes }) => {
            let msg = page
                .t("login.rate_limited")
                .replace("{minutes}", &minutes.to_string());
            let p = LoginPage {
                page,
                email: form.email,
                next,
                error: None,
                detail: Some(msg),
                notice: None,
            };
            render_status(StatusCode::TOO_MANY_REQUESTS, &p)
        }
        Err(LoginError::Web(e)) => Err(e),
        Err(e) => {
            let status = match e {
                LoginError::BadCredentials => StatusCode::UNAUTHORIZED,
                _ => StatusCode::FORBIDDEN,
            };
            let p = LoginPage {
                page,
                email: form.email,
                next,
                error: Some(e.message_key()),
                detail: None,
                notice: None,
            };
            render_status(status, &p)
        }
    }
}

pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<Response, WebError> {
    let token = session::token_from(&headers);
    flows::logout(&state, token.as_deref()).await?;
    let removal = session::removal(session::secure(state.config(), &headers));
    Ok((jar.add(removal), Redirect::to("/")).into_response())
}

#[derive(Template)]
#[template(path = "auth/signup.html")]
struct SignupPage {
    page: Page,
    email: String,
    display_name: String,
    errors: FieldErrors,
    detail: Option<String>,
}

impl SignupPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(|k| self.page.t(k))
    }
}

pub(super) async fn signup_form(page: Page) -> Result<Response, WebError> {
    render(&SignupPage {
        page,
        email: String::new(),
        display_name: String::new(),
        errors: FieldErrors::new(),
        detail: None,
    })
}

#[derive(Deserialize)]
pub(super) struct SignupForm {
    email: String,
    display_name: String,
    password: String,
}

pub(super) async fn signup(
    State(state): State<AppState>,
    page: Page,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    FormBody(form): FormBody<SignupForm>,
) -> Result<Response, WebError> {
    let again = |page, errors, detail| SignupPage {
        page,
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        errors,
        detail,
    };
    let account = match flows::signup(&state, &form.email, &form.display_name, &form.password).await
    {
        Ok(a) => a,
        Err(WebError::Validation(errors)) => {
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &again(page, errors, None))
        }
        Err(WebError::Conflict(_)) => {
            let msg = page.t("signup.email_taken").to_string();
            return render_status(
                StatusCode::CONFLICT,
                &again(page, FieldErrors::new(), Some(msg)),
            );
        }
        Err(e) => return Err(e),
    };
    if account.status == Status::Pending {
        return render(&MessagePage {
            page,
            title: "signup.pending_title",
            body: "signup.pending_body",
        });
    }
    // An active account is logged in straight away.
    let old = session::token_from(&headers);
    let (_, token) = flows::login(&state, &form.email, &form.password, &ip, old.as_deref())
        .await
        .map_err(WebError::from)?;
    let cookie = session::cookie(
        token,
        session::secure(state.config(), &headers),
        state.config().session_ttl_h,
    );
    Ok((jar.add(cookie), Redirect::to("/")).into_response())
}

/// A page with a title and a paragraph, both catalog keys.
#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    page: Page,
    title: &'static str,
    body: &'static str,
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    page: Page,
}

pub(super) async fn forgot_form(page: Page) -> Result<Response, WebError> {
    render(&ForgotPage { page })
}

#[derive(Deserialize)]
pub(super) struct ForgotForm {
    email: String,
}

pub(super) async fn forgot(
    State(state): State<AppState>,
    page: Page,
    FormBody(form): FormBody<ForgotForm>,
) -> Result<Response, WebError> {
    flows::forgot_password(&state, &form.email).await?;
    let body = if state.config().smtp.is_configured() {
        "forgot.sent_mail"
    } else {
        "forgot.sent_admin"
    };
    render(&MessagePage {
        page,
        title: "forgot.title",
        body,
    })
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    page: Page,
    token: String,
    error: Option<String>,
}

pub(super) async fn reset_form(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    if super::reset::peek(&state.engine.db, &token)
        .await?
        .is_none()
    {
        return render_status(
            StatusCode::NOT_FOUND,
            &MessagePage {
                page,
                title: "reset.title",
                body: "reset.invalid",
            },
        );
    }
    render(&ResetPage {
        page,
        token,
        error: None,
    })
}

#[derive(Deserialize)]
pub(super) struct ResetForm {
    password: String,
}

pub(super) async fn reset(
    State(state): State<AppState>,
    page: Page,
    Path(token): Path<String>,
    FormBody(form): FormBody<ResetForm>,
) -> Result<Response, WebError> {
    match flows::reset_password(&state, &token, &form.password).await {
        Ok(()) => Ok(Redirect::to("/login?reset=1").into_response()),
        Err(WebError::Validation(errors)) => {
            let error = errors.get("password").map(|k| page.t(k).to_string());
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage { page, token, error },
            )
        }
        Err(WebError::BadRequest(_)) => render_status(
            StatusCode::BAD_REQUEST,
            &MessagePage {
                page,
                title: "reset.title",
                body: "reset.invalid",
            },
        ),
        Err(e) => Err(e),
    }
}
