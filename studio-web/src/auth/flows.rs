//! The account flows shared by the pages and the JSON API: each takes plain input, validates
//! it, and returns a value or a [`WebError`]. Cookies are set by the callers.

use crate::accounts::{self, Account, AccountError, DisplayName, Email, Status};
use crate::error::{FieldErrors, WebError};
use crate::state::AppState;

use super::password::{Hasher, Password};
use super::ratelimit::{self, LoginKeys};
use super::{reset, session, Role};

/// Why a login was refused. Pages show the message; the API maps it to a [`WebError`].
#[derive(Debug)]
pub enum LoginError {
    /// Unknown email or wrong password (which of the two is not told).
    BadCredentials,
    /// Right password, but an admin has not approved the account yet.
    Pending,
    /// Right password, but the account is disabled.
    Disabled,
    /// Too many failed logins; the next try is allowed in this many minutes.
    Limited { minutes: i64 },
    /// Our own failure.
    Web(WebError),
}

impl LoginError {
    /// The catalog key of the message shown on the login form.
    pub fn message_key(&self) -> &'static str {
        match self {
            LoginError::BadCredentials => "login.bad_credentials",
            LoginError::Pending => "login.pending",
            LoginError::Disabled => "login.disabled",
            LoginError::Limited { .. } => "login.rate_limited",
            LoginError::Web(_) => "error.internal",
        }
    }
}

impl From<WebError> for LoginError {
    fn from(e: WebError) -> Self {
        LoginError::Web(e)
    }
}

impl From<LoginError> for WebError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::BadCredentials => WebError::Unauthorized,
            LoginError::Pending => WebError::Forbidden,
            LoginError::Disabled => WebError::Forbidden,
            LoginError::Limited { minutes } => WebError::TooManyRequests(format!(
                "Too many failed logins. Try again in {minutes} minute(s)."
            )),
            LoginError::Web(w) => w,
        }
    }
}

/// A new account: a creator, pending when sign-ups need approval.
pub async fn signup(
    state: &AppState,
    email: &str,
    display_name: &str,
    password: &str,
) -> Result<Account, WebError> {
    let mut errors = FieldErrors::new();
    let email = Email::parse(email)
        .map_err(|k| errors.insert("email".into(), k.into()))
        .ok();
    let name = DisplayName::parse(display_name)
        .map_err(|k| errors.insert("display_name".into(), k.into()))
        .ok();
    let password = Password::parse(password)
        .map_err(|k| errors.insert("password".into(), k.into()))
        .ok();
    let (Some(email), Some(name), Some(password)) = (email, name, password) else {
        return Err(WebError::Validation(errors));
    };
    let status = if state.config().signup_requires_approval {
        Status::Pending
    } else {
        Status::Active
    };
    let hash = state.hasher.hash(&password).await?;
    let account = accounts::create(
        &state.engine.db,
        &email,
        &name,
        &hash,
        Role::Creator,
        status,
    )
    .await
    .map_err(account_error)?;
    tracing::info!(
        user_id = account.id,
        status = status.as_str(),
        "account signed up"
    );
    Ok(account)
}

/// Maps the repository's errors: a taken email is a conflict, the rest internal.
pub fn account_error(e: AccountError) -> WebError {
    match e {
        AccountError::EmailTaken => WebError::Conflict(e.to_string()),
        AccountError::Db(e) => e.into(),
    }
}

/// Checks the password (within the rate limits) and starts a new session; returns the account
/// and the session token for the cookie. `old_token`, a session the browser already had, is
/// ended: a token is never carried across a login.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    client_ip: &str,
    old_token: Option<&str>,
) -> Result<(Account, String), LoginError> {
    let db = &state.engine.db;
    let keys = LoginKeys::new(email.trim(), client_ip);
    if let Some(minutes) = ratelimit::check(db, state.config(), &keys).await? {
        return Err(LoginError::Limited { minutes });
    }
    let found = match Email::parse(email) {
        Ok(e) => accounts::find_for_login(db, &e)
            .await
            .map_err(WebError::from)?,
        Err(_) => None,
    };
    let Some((account, hash)) = found else {
        state
            .hasher
            .verify_nobody(password)
            .await
            .map_err(WebError::from)?;
        ratelimit::record_failure(db, state.config(), &keys).await?;
        return Err(LoginError::BadCredentials);
    };
    if !state
        .hasher
        .verify(password, &hash)
        .await
        .map_err(WebError::from)?
    {
        ratelimit::record_failure(db, state.config(), &keys).await?;
        tracing::info!(user_id = account.id, "failed login");
        return Err(LoginError::BadCredentials);
    }
    match account.status {
        Status::Pending => return Err(LoginError::Pending),
        Status::Disabled => return Err(LoginError::Disabled),
        Status::Active => {}
    }
    ratelimit::clear_account(db, &keys).await?;
    if let Some(old) = old_token {
        session::delete(db, old).await.map_err(WebError::from)?;
    }
    let token = session::create(db, account.id, state.config().session_ttl_h)
        .await
        .map_err(WebError::from)?;
    tracing::info!(user_id = account.id, "logged in");
    Ok((account, token))
}

/// Ends the session of `token` on every server.
pub async fn logout(state: &AppState, token: Option<&str>) -> Result<(), WebError> {
    if let Some(token) = token {
        session::delete(&state.engine.db, token).await?;
    }
    Ok(())
}

/// Makes a reset link for the account of `email`, if there is one. Says nothing about whether
/// there was, so the answer does not reveal accounts. With a mail server (and `public_url`, so
/// the link is absolute) the link is mailed in the background, so the answer takes as long
/// either way; otherwise, or when the mail fails, it is kept for admins to hand over.
pub async fn forgot_password(state: &AppState, email: &str) -> Result<(), WebError> {
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let db = &state.engine.db;
    let Some(account) = accounts::find_by_email(db, &email).await? else {
        return Ok(());
    };
    if account.status == Status::Disabled {
        return Ok(());
    }
    let base = state.config().public_url.trim_end_matches('/').to_string();
    let ttl = state.config().password_reset_ttl_min;
    let link = move |token: &str| format!("{base}/password/reset/{token}");
    let mailer = state
        .mailer
        .clone()
        .filter(|_| !state.config().public_url.is_empty());
    let mailing = mailer.is_some();
    let token = reset::create(db, account.id, ttl, |t| (!mailing).then(|| link(t))).await?;
    let Some(mailer) = mailer else {
        tracing::info!(
            user_id = account.id,
            "password reset link made; it is shown to admins"
        );
        return Ok(());
    };
    let db = db.clone();
    tokio::spawn(async move {
        let url = link(&token);
        match mailer
            .send_reset_link(&account.email, &account.display_name, &url, ttl)
            .await
        {
            Ok(()) => tracing::info!(user_id = account.id, "password reset mail sent"),
            Err(e) => {
                tracing::warn!(user_id = account.id, error = %e, "password reset mail failed; the link is shown to admins");
                if let Err(e) = reset::keep_for_admin(&db, &token, &url).await {
                    tracing::error!(user_id = account.id, error = %e, "could not keep the reset link for admins");
                }
            }
        }
    });
    Ok(())
}

/// Sets a new password with a live reset token, which is used up; every session of the account
/// ends. The token is checked before the new password's rules, so a dead link says so first.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: &str,
) -> Result<(), WebError> {
    let db = &state.engine.db;
    if reset::peek(db, token).await?.is_none() {
        return Err(WebError::BadRequest(
            "This reset link is not valid: it was used already or has expired.".into(),
        ));
    }
    let password = Password::parse(new_password).map_err(|k| {
        WebError::Validation(FieldErrors::from([("password".to_string(), k.to_string())]))
    })?;
    let hash = state.hasher.hash(&password).await?;
    let Some(user_id) = reset::consume(db, token).await? else {
        return Err(WebError::BadRequest(
            "This reset link was used already.".into(),
        ));
    };
    accounts::set_password_hash(db, user_id, &hash).await?;
    tracing::info!(user_id, "password reset");
    Ok(())
}

/// An active admin account (for `gala admin create-admin`: the first admin comes from the
/// command line, never from the web). Errors name the field that is wrong.
pub async fn create_admin(
    db: &gala_pipeline::storage::db::Db,
    email: &str,
    display_name: &str,
    password: &str,
) -> anyhow::Result<Account> {
    let email = Email::parse(email).map_err(|k| anyhow::anyhow!("email: {}", explain(k)))?;
    let name =
        DisplayName::parse(display_name).map_err(|k| anyhow::anyhow!("name: {}", explain(k)))?;
    let password =
        Password::parse(password).map_err(|k| anyhow::anyhow!("password: {}", explain(k)))?;
    let hash = Hasher::default().hash(&password).await?;
    let account = accounts::create(db, &email, &name, &hash, Role::Admin, Status::Active).await?;
    tracing::info!(user_id = account.id, "admin account created");
    Ok(account)
}

/// An English sentence for a validation message key (for the command line).
fn explain(key: &str) -> &'static str {
    match key {
        "validation.email" => "not a valid email address",
        "validation.required" => "required",
        "validation.too_long" => "too long",
        "validation.password_short" => "at least 8 characters",
        _ => "not allowed",
    }
}
