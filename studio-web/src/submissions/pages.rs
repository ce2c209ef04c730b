//! The creator's pages: the list, the form (new and edit, errors next to each field), the
//! details with the preview player and versions, and the upload page (tus-js-client).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::form::{Category, Credits, SubmissionInput, LANGUAGES};
use super::repo::{self, Submission};
use crate::auth::{CurrentUser, Role};
use crate::error::{FieldErrors, WebError};
use crate::extract::FormBody;
use crate::page::{render, render_status, Page};
use crate::state::AppState;

/// A submission as a list row or the details' header shows it.
struct Row {
    sub: Submission,
    category: String,
    processing: String,
    selection: String,
}

impl Row {
    fn new(page: &Page, sub: Submission) -> Row {
        Row {
            category: page.t(&sub.category.label_key()).to_string(),
            processing: page
                .t(&format!("processing.{}", sub.processing.as_str()))
                .to_string(),
            selection: page
                .t(&format!("selection.{}", sub.selection.as_str()))
                .to_string(),
            sub,
        }
    }
}

#[derive(Template)]
#[template(path = "submissions/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
    can_create: bool,
}

pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
) -> Result<Response, WebError> {
    let subs = repo::list_by_owner(&state.engine.db, user.id).await?;
    let rows = subs.into_iter().map(|s| Row::new(&page, s)).collect();
    render(&ListPage {
        page,
        rows,
        can_create: user.require(&[Role::Creator]).is_ok(),
    })
}

/// The form's fields as typed (shown again with the errors).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct FormFields {
    category: String,
    title: String,
    description: String,
    /// One person a line, "name: role".
    people: String,
    /// Separated by commas.
    ai_tools: String,
    language: String,
    rights_confirmed: Option<String>,
    consent_confirmed: Option<String>,
}

impl FormFields {
    fn input(&self) -> SubmissionInput {
        SubmissionInput {
            category: self.category.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            credits: Credits::from_text(&self.people, &self.ai_tools),
            language: self.language.clone(),
            rights_confirmed: self.rights_confirmed.is_some(),
            consent_confirmed: self.consent_confirmed.is_some(),
        }
    }

    fn of(sub: &Submission) -> FormFields {
        let yes = |b: bool| b.then(|| "on".to_string());
        FormFields {
            category: sub.category.as_str().into(),
            title: sub.title.clone(),
            description: sub.description.clone(),
            people: sub.credits.people_text(),
            ai_tools: sub.credits.ai_tools.join(", "),
            language: sub.language.clone(),
            rights_confirmed: yes(sub.rights_confirmed),
            consent_confirmed: yes(sub.consent_confirmed),
        }
    }
}

#[derive(Template)]
#[template(path = "submissions/form.html")]
struct FormPage {
    page: Page,
    /// Where the form posts.
    action: String,
    /// Catalog keys of the heading and the button.
    heading: &'static str,
    values: FormFields,
    errors: FieldErrors,
    /// (value, label) of each category and language.
    categories: Vec<(&'static str, String)>,
    languages: Vec<(&'static str, String)>,
}

impl FormPage {
    fn new(
        page: Page,
        action: String,
        heading: &'static str,
        values: FormFields,
        errors: FieldErrors,
    ) -> FormPage {
        let categories = Category::ALL
            .iter()
            .map(|c| (c.as_str(), page.t(&c.label_key()).to_string()))
            .collect();
        let languages = LANGUAGES
            .iter()
            .map(|l| (*l, page.t(&format!("language.{l}")).to_string()))
            .collect();
        FormPage {
            page,
            action,
            heading,
            values,
            errors,
            categories,
            languages,
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(|k| self.page.t(k))
    }
}

pub(super) async fn new_form(user: CurrentUser, page: Page) -> Result<Response, WebError> {
    user.require(&[Role::Creator])?;
    let values = FormFields {
        language: "zh-CN".into(),
        ..FormFields::default()
    };
    render(&FormPage::new(
        page,
        "/submissions/new".into(),
        "subs.new_title",
        values,
        FieldErrors::new(),
    ))
}

pub(super) async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    FormBody(form): FormBody<FormFields>,
) -> Result<Response, WebError> {
    match super::create(&state, &user, &form.input()).await {
        Ok(id) => Ok(Redirect::to(&format!("/submissions/{id}/upload")).into_response()),
        Err(WebError::Validation(errors)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FormPage::new(
                page,
                "/submissions/new".into(),
                "subs.new_title",
                form,
                errors,
            ),
        ),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "submissions/detail.html")]
struct DetailPage {
    page: Page,
    row: Row,
    versions: Vec<(repo::Version, String)>,
    language: String,
    is_owner: bool,
}

pub(super) async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let sub = super::readable(&state, &user, id).await?;
    let versions = repo::versions(&state.engine.db, sub.id)
        .await?
        .into_iter()
        .map(|v| {
            let label = page
                .t(&format!("processing.{}", v.processing.as_str()))
                .to_string();
            (v, label)
        })
        .collect();
    let language = page.t(&format!("language.{}", sub.language)).to_string();
    let is_owner = sub.owner_id == user.id;
    render(&DetailPage {
        row: Row::new(&page, sub),
        page,
        versions,
        language,
        is_owner,
    })
}

async fn editable(state: &AppState, user: &CurrentUser, id: i64) -> Result<Submission, WebError> {
    let sub = super::owned(state, user, id).await?;
    if sub.locked {
        return Err(WebError::Conflict(
            "this submission is locked by review".into(),
        ));
    }
    Ok(sub)
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let sub = editable(&state, &user, id).await?;
    let action = format!("/submissions/{id}/edit");
    render(&FormPage::new(
        page,
        action,
        "subs.edit_title",
        FormFields::of(&sub),
        FieldErrors::new(),
    ))
}

pub(super) async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
    FormBody(form): FormBody<FormFields>,
) -> Result<Response, WebError> {
    match super::edit(&state, &user, id, &form.input()).await {
        Ok(()) => Ok(Redirect::to(&format!("/submissions/{id}")).into_response()),
        Err(WebError::Validation(errors)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FormPage::new(
                page,
                format!("/submissions/{id}/edit"),
                "subs.edit_title",
                form,
                errors,
            ),
        ),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "submissions/upload.html")]
struct UploadPage {
    page: Page,
    sub: Submission,
    accepts: bool,
    max_bytes: u64,
}

pub(super) async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let sub = super::owned(&state, &user, id).await?;
    render(&UploadPage {
        page,
        accepts: sub.accepts_version(),
        sub,
        max_bytes: state.engine.config.uploads.max_bytes,
    })
}
