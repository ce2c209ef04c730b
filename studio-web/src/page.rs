//! What every page's layout needs: the translator (`page.t("key")` in templates), the logged-in
//! user for the menu, the CSRF token for forms, and the current path for the language switch.
//! Feature templates take a `page: Page` field and extend `base.html`.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::{request::Parts, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::auth::csrf::CsrfToken;
use crate::auth::{user::resolve, CurrentUser, Role};
use crate::error::WebError;
use crate::i18n::{encode_query, Lang, Tr};
use crate::state::AppState;

pub struct Page {
    pub tr: Tr,
    pub user: Option<CurrentUser>,
    /// The token forms of this page send back (`csrf_token` field).
    pub csrf_token: String,
    /// Path and query of this page, where the language switch comes back to.
    pub path: String,
}

impl Page {
    /// The message for `key` in the page's language.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.tr.get(key)
    }

    pub fn lang(&self) -> &'static str {
        self.tr.lang.code()
    }

    /// The link of the language switch: the other language, back to this page.
    pub fn switch_href(&self) -> String {
        format!(
            "/lang/{}?next={}",
            self.tr.lang.other().code(),
            encode_query(&self.path)
        )
    }

    /// The switch's label, written in the language it switches to.
    pub fn switch_label(&self) -> &'static str {
        match self.tr.lang.other() {
            Lang::En => "English",
            Lang::ZhCn => "中文",
        }
    }

    /// Reviewers, directors and admins see the review queue in the menu.
    pub fn can_review(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.require(&[Role::Reviewer, Role::Director]).is_ok())
    }

    /// Directors and admins see the shows in the menu.
    pub fn can_direct(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.require(&[Role::Director]).is_ok())
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::Admin)
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let lang = Lang::from_headers(&parts.headers);
        let user = resolve(parts, state).await?;
        let csrf_token = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .or_else(|| user.as_ref().map(|u| u.csrf_token.clone()))
            .unwrap_or_default();
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Page {
            tr: Tr::new(state.i18n.clone(), lang),
            user,
            csrf_token,
            path,
        })
    }
}

/// Renders a template as a 200 page.
pub fn render(template: &impl Template) -> Result<Response, WebError> {
    render_status(StatusCode::OK, template)
}

/// Renders a template with `status` (a form shown again with its errors, say).
pub fn render_status(status: StatusCode, template: &impl Template) -> Result<Response, WebError> {
    Ok((status, Html(template.render()?)).into_response())
}
