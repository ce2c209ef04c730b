//! The shows' pages: the list with the "new show" form, the timeline page of one show, the
//! fragment its script swaps in after each change (the same template part, so the page and
//! its updates never disagree), and the comparison of two versions in words. Reading works
//! without scripts; editing is done by `assets/timeline.js` through the JSON API.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use gala_pipeline::show::model::check_meta;
use gala_pipeline::show::store::{self, StoreError};
use gala_pipeline::show::{RunningOrder, ShowMeta};
use serde::Deserialize;

use super::view::{change_in_words, hms, ShowView};
use super::{page_error, require_director};
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{FormBody, QueryParams};
use crate::page::{render, render_status, Page};
use crate::state::AppState;

/// A show in the list, as text.
pub struct ListRow {
    pub id: i64,
    pub title: String,
    pub starts_at: String,
    pub items: usize,
    pub total: String,
    pub target: String,
}

/// The "new show" form's fields as typed.
#[derive(Debug, Default, Deserialize)]
pub struct NewShowForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub target_h: String,
    #[serde(default)]
    pub target_m: String,
    #[serde(default)]
    pub tolerance_s: String,
}

#[derive(Template)]
#[template(path = "shows/list.html")]
struct ListTpl {
    page: Page,
    shows: Vec<ListRow>,
    form: NewShowForm,
    error: Option<String>,
}

async fn list_rows(state: &AppState) -> Result<Vec<ListRow>, WebError> {
    Ok(store::list(&state.engine.db)
        .await?
        .into_iter()
        .map(|s| ListRow {
            id: s.id,
            title: s.meta.title,
            starts_at: s.meta.starts_at.replace('T', " "),
            items: s.items,
            total: hms(s.total_ms),
            target: hms(s.meta.target_ms),
        })
        .collect())
}

pub async fn list_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let shows = list_rows(&state).await?;
    render(&ListTpl {
        page,
        shows,
        form: NewShowForm {
            target_h: "1".into(),
            target_m: "0".into(),
            tolerance_s: "10".into(),
            ..NewShowForm::default()
        },
        error: None,
    })
}

/// The form's fields as a show's frame, or the message key of what is wrong.
fn meta_of(form: &NewShowForm) -> Result<ShowMeta, &'static str> {
    let num = |s: &str| s.trim().parse::<i64>().ok().filter(|n| *n >= 0);
    let (Some(h), Some(m)) = (num(&form.target_h), num(&form.target_m)) else {
        return Err("shows.bad_target");
    };
    let tolerance = form
        .tolerance_s
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or("shows.bad_tolerance")?;
    Ok(ShowMeta {
        title: form.title.trim().to_string(),
        starts_at: form.starts_at.trim().to_string(),
        target_ms: (h * 60 + m) * 60_000,
        tolerance_ms: (tolerance * 1000.0).round() as i64,
        house_format: "default".into(),
    })
}

pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    FormBody(form): FormBody<NewShowForm>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    // Err(Ok(message)): the form again with the message; Err(Err(e)): an error page.
    let checked = meta_of(&form)
        .map_err(|key| page.t(key).to_string())
        .and_then(|meta| check_meta(&meta).map(|()| meta).map_err(|e| e.to_string()));
    let result = match checked {
        Ok(meta) => store::create(
            &state.engine.db,
            meta,
            RunningOrder::default(),
            Some(user.id),
        )
        .await
        .map_err(|e| match e {
            StoreError::Invalid(e) => Ok(e.to_string()),
            e => Err(page_error(e)),
        }),
        Err(message) => Err(Ok(message)),
    };
    match result {
        Ok(r) => Ok(Redirect::to(&format!("/shows/{}", r.id)).into_response()),
        Err(Err(e)) => Err(e),
        Err(Ok(message)) => {
            let shows = list_rows(&state).await?;
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ListTpl {
                    page,
                    shows,
                    form,
                    error: Some(message),
                },
            )
        }
    }
}

/// The kinds the "insert" form offers.
const INSERT_KINDS: [&str; 4] = ["host_card", "break", "slate", "bumper"];

#[derive(Template)]
#[template(path = "shows/show.html")]
struct ShowTpl {
    page: Page,
    view: ShowView,
    /// The show's render jobs, newest first.
    renders: Vec<super::actions::RenderStatus>,
}

impl ShowTpl {
    fn insert_kinds(&self) -> [&'static str; 4] {
        INSERT_KINDS
    }
    fn kind_label(&self, kind: &str) -> String {
        self.page.t(&format!("shows.kind.{kind}")).to_string()
    }
}

#[derive(Template)]
#[template(path = "shows/fragment.html")]
struct FragmentTpl {
    page: Page,
    view: ShowView,
}

async fn view_of(
    state: &AppState,
    page: &Page,
    id: i64,
    version: Option<i64>,
) -> Result<ShowView, WebError> {
    let db = &state.engine.db;
    let record = match version {
        Some(v) => store::get_version(db, id, v).await,
        None => store::get(db, id).await,
    }
    .map_err(page_error)?;
    let history = store::history(db, id).await.map_err(page_error)?;
    Ok(ShowView::new(&page.tr, &record, history))
}

pub async fn show_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let view = view_of(&state, &page, id, None).await?;
    let renders = super::actions::renders(&state, id).await?;
    render(&ShowTpl {
        page,
        view,
        renders,
    })
}

#[derive(Debug, Deserialize)]
pub struct FragmentQuery {
    pub version: Option<i64>,
}

/// The timeline, table, detail panels and history of one version, without the page around
/// them (what the script swaps in after a change).
pub async fn fragment(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<FragmentQuery>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let view = view_of(&state, &page, id, q.version).await?;
    Ok(Html(FragmentTpl { page, view }.render()?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    pub from: i64,
    pub to: i64,
}

#[derive(Template)]
#[template(path = "shows/compare.html")]
struct CompareTpl {
    page: Page,
    id: i64,
    title: String,
    from: i64,
    to: i64,
    changes: Vec<String>,
}

/// What changed between two versions, in words.
pub async fn compare_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
    QueryParams(q): QueryParams<CompareQuery>,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let db = &state.engine.db;
    let (from, to) = (q.from.min(q.to), q.from.max(q.to));
    let after = store::get_version(db, id, to).await.map_err(page_error)?;
    let changes = store::diff_versions(db, id, from, to)
        .await
        .map_err(page_error)?
        .iter()
        .map(|c| change_in_words(&page.tr, c, &after.order))
        .collect();
    render(&CompareTpl {
        page,
        id,
        title: after.meta.title,
        from,
        to,
        changes,
    })
}
