//! Who is asking: [`CurrentUser`] (an extractor that refuses anonymous requests) and [`Role`].
//! Every role check happens here, on the server.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::error::WebError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Uploads clips and follows their submissions.
    Creator,
    /// Works the review queue.
    Reviewer,
    /// Shapes shows on the timeline.
    Director,
    /// Manages accounts; passes every role check.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Creator, Role::Reviewer, Role::Director, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Creator => "creator",
            Role::Reviewer => "reviewer",
            Role::Director => "director",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The logged-in user of this request. As an extractor it answers 401 when nobody is logged in
/// (pages turn that into a redirect to the login page).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// The token this session's state-changing requests must carry.
    pub csrf_token: String,
}

impl CurrentUser {
    /// Ok when the user has one of `roles`; admins pass every check.
    pub fn require(&self, roles: &[Role]) -> Result<(), WebError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }
}

/// The session the middleware resolved for this request (None: logged out).
#[derive(Debug, Clone)]
pub struct SessionUser(pub Option<CurrentUser>);

/// The user, looked up by the session middleware or, outside it, from the cookie.
pub async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<CurrentUser>, WebError> {
    if let Some(SessionUser(user)) = parts.extensions.get::<SessionUser>() {
        return Ok(user.clone());
    }
    match super::session::token_from(&parts.headers) {
        Some(token) => Ok(super::session::lookup(&state.engine.db, &token).await?),
        None => Ok(None),
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        resolve(parts, state).await?.ok_or(WebError::Unauthorized)
    }
}

/// The user when logged in, None otherwise; never rejects.
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        Ok(MaybeUser(resolve(parts, state).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> CurrentUser {
        CurrentUser {
            id: 1,
            email: "a@b.org".into(),
            display_name: "A".into(),
            role,
            csrf_token: String::new(),
        }
    }

    #[test]
    fn admin_passes_every_check_and_others_only_their_own() {
        assert!(user(Role::Admin).require(&[Role::Reviewer]).is_ok());
        assert!(user(Role::Reviewer)
            .require(&[Role::Reviewer, Role::Director])
            .is_ok());
        assert!(matches!(
            user(Role::Creator).require(&[Role::Reviewer]),
            Err(WebError::Forbidden)
        ));
        assert!(user(Role::Director).require(&[Role::Admin]).is_err());
    }
}
