//! The captions editor: each current row as WebVTT in a text area (cue text and timing edited
//! together), saved as a new edited row; downloads as WebVTT or SRT.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use gala_pipeline::ai::captions::{parse_vtt, to_srt, to_vtt};
use gala_pipeline::analysis::captions::CaptionRow;
use serde::Deserialize;

use super::{captions_of, row_of, save_edit, CaptionEdit, CaptionsOf};
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::FormBody;
use crate::page::{render, Page};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "captions/editor.html")]
struct EditorTpl {
    page: Page,
    title: String,
    captions: CaptionsOf,
}

impl EditorTpl {
    fn current(&self) -> Vec<&CaptionRow> {
        let c = &self.captions;
        c.rows
            .iter()
            .filter(|r| c.current.contains(&r.id))
            .collect()
    }
    fn vtt(&self, row: &CaptionRow) -> String {
        to_vtt(&row.cues)
    }
    fn source(&self, row: &CaptionRow) -> String {
        self.page
            .t(&format!("captions.source_{}", row.source.replace('-', "_")))
            .to_string()
    }
}

pub async fn editor(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let captions = captions_of(&state, &user, id).await?;
    let title = crate::submissions::readable(&state, &user, id).await?.title;
    render(&EditorTpl {
        page,
        title,
        captions,
    })
}

#[derive(Deserialize)]
pub struct EditForm {
    language: String,
    #[serde(default)]
    based_on: Option<String>,
    vtt: String,
}

pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    FormBody(form): FormBody<EditForm>,
) -> Result<Response, WebError> {
    let cues = parse_vtt(&form.vtt).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let based_on = match form.based_on.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| WebError::BadRequest("not a captions id".into()))?,
        ),
    };
    let edit = CaptionEdit {
        language: form.language,
        based_on,
        cues,
    };
    save_edit(&state, &user, id, &edit).await?;
    Ok(Redirect::to(&format!("/submissions/{id}/captions")).into_response())
}

pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, caption_id, format)): Path<(i64, i64, String)>,
) -> Result<Response, WebError> {
    let row = row_of(&state, &user, id, caption_id).await?;
    let (content_type, text) = match format.as_str() {
        "vtt" => ("text/vtt; charset=utf-8", to_vtt(&row.cues)),
        "srt" => ("application/x-subrip; charset=utf-8", to_srt(&row.cues)),
        _ => return Err(WebError::NotFound),
    };
    // The language comes from a model or an editor: only safe characters go into the header.
    let language: String = row
        .language
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let disposition = format!(
        "attachment; filename=\"submission-{id}-{language}-{}.{format}\"",
        row.id
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response())
}
