//! The review queue's pages: the queue with its filters, a submission's evidence with the
//! decision form, its audit history, assignment and progress. The flows are shared with the
//! API; these handlers only read forms and render.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use gala_pipeline::analysis::verdict;
use gala_pipeline::ingest::qc::FindingKind;

use super::assign::{self, AssignMode, AssignRequest, Progress};
use super::decide::{self, DecisionInput};
use super::queue::{QueueFilter, QueuePage};
use super::repo::{self, DecisionRecord, ReasonTemplate, Reviewer};
use super::{require_director, require_reviewer, Decision, Evidence, CATEGORIES, SELECTIONS};
use crate::auth::CurrentUser;
use crate::error::{FieldErrors, WebError};
use crate::extract::{FormBody, QueryParams};
use crate::page::{render, Page};
use crate::state::AppState;

/// Processing states offered by the queue's filter.
const STATES: [&str; 4] = ["processing", "ready", "rejected", "failed"];

/// QC finding kinds offered by the queue's filter.
const FINDINGS: [&str; 9] = [
    "black",
    "silence",
    "frozen",
    "clipping",
    "loudness",
    "loudness_range",
    "true_peak",
    "resolution",
    "aspect",
];

/// The message `prefix.value` in the page's language (labels of categories, states, …).
fn label(page: &Page, prefix: &str, value: &str) -> String {
    let key = format!("{prefix}.{value}");
    page.t(&key).to_string()
}

/// Unix milliseconds as an HTTP date (UTC), the one time format of these pages.
fn when(ms: &i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(*ms).unwrap_or(0));
    httpdate::fmt_http_date(t)
}

/// Seconds as m:ss.s.
fn timecode(s: &f64) -> String {
    let s = s.max(0.0);
    let minutes = (s / 60.0).floor();
    format!("{}:{:04.1}", minutes as u64, s - minutes * 60.0)
}

#[derive(Template)]
#[template(path = "review/queue.html")]
struct QueueTpl {
    page: Page,
    result: QueuePage,
    filter: QueueFilter,
    query: String,
    me: i64,
    can_assign: bool,
}

impl QueueTpl {
    fn l(&self, prefix: &str, value: &str) -> String {
        label(&self.page, prefix, value)
    }
    fn mine(&self, reviewer: &Option<i64>) -> bool {
        *reviewer == Some(self.me)
    }
    fn selected(&self, field: &Option<String>, value: &str) -> bool {
        field.as_deref() == Some(value)
    }
    fn categories(&self) -> [&'static str; 7] {
        CATEGORIES
    }
    fn selections(&self) -> [&'static str; 4] {
        SELECTIONS
    }
    fn states(&self) -> [&'static str; 4] {
        STATES
    }
    fn findings(&self) -> [&'static str; 9] {
        FINDINGS
    }
}

pub async fn queue_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    QueryParams(filter): QueryParams<QueueFilter>,
) -> Result<Response, WebError> {
    require_reviewer(&user)?;
    let items = repo::queue(&state.engine.db).await?;
    let result = filter.apply(items, user.id);
    render(&QueueTpl {
        page,
        query: filter.query(),
        result,
        filter,
        me: user.id,
        can_assign: require_director(&user).is_ok(),
    })
}

/// The credits JSON as lists; `raw` keeps text that is not in the expected shape.
struct Credits {
    people: Vec<(String, String)>,
    ai_tools: Vec<String>,
    raw: Option<String>,
}

fn credits(json: &str) -> Credits {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return Credits {
            people: Vec::new(),
            ai_tools: Vec::new(),
            raw: Some(json.to_string()),
        };
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string).unwrap_or(v.to_string());
    let people = v["people"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| (text(&p["name"]), text(&p["role"])))
                .collect()
        })
        .unwrap_or_default();
    let ai_tools = v["ai_tools"]
        .as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default();
    Credits {
        people,
        ai_tools,
        raw: None,
    }
}

#[derive(Template)]
#[template(path = "review/evidence.html")]
struct EvidenceTpl {
    page: Page,
    ev: Evidence,
    credits: Credits,
    templates: Vec<ReasonTemplate>,
    decisions: [Decision; 3],
    decidable: bool,
}

impl EvidenceTpl {
    fn l(&self, prefix: &str, value: &str) -> String {
        label(&self.page, prefix, value)
    }
    fn kind(&self, kind: &FindingKind) -> String {
        let name = serde_json::to_value(kind).ok();
        let name = name.as_ref().and_then(|v| v.as_str()).unwrap_or("other");
        label(&self.page, "finding", name)
    }
    fn tc(&self, s: &f64) -> String {
        timecode(s)
    }
    fn template_text<'a>(&self, t: &'a ReasonTemplate) -> &'a str {
        t.text_in(self.page.lang())
    }
    fn lufs(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
    }
    fn secs(&self, ms: &i64) -> f64 {
        *ms as f64 / 1000.0
    }
    fn ms(&self, ms: &i64) -> String {
        timecode(&(*ms as f64 / 1000.0))
    }
    /// The excerpt split around its highlighted match (all of it before the mark when none).
    fn excerpt(&self, e: &verdict::Evidence) -> Option<(String, String, String)> {
        let text = e.excerpt.as_ref()?;
        let chars: Vec<char> = text.chars().collect();
        let (start, end) = e.highlight.unwrap_or((chars.len(), chars.len()));
        let (start, end) = (
            start.min(chars.len()),
            end.min(chars.len()).max(start.min(chars.len())),
        );
        Some((
            chars[..start].iter().collect(),
            chars[start..end].iter().collect(),
            chars[end..].iter().collect(),
        ))
    }
    /// The review page of the submission holding duplicate clip `clip_id`, when there is one.
    fn dup_link(&self, clip_id: &i64) -> Option<String> {
        let a = self.ev.analysis.as_ref()?;
        let d = a.duplicates.iter().find(|d| d.clip_id == *clip_id)?;
        d.submission_id.map(|s| format!("/review/{s}"))
    }
}

pub async fn evidence_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let ev = super::evidence(&state, &user, id).await?;
    let templates = repo::templates(&state.engine.db).await?;
    let decidable = ev
        .clip
        .as_ref()
        .is_some_and(|c| matches!(c.state.as_str(), "ready" | "rejected" | "failed"));
    render(&EvidenceTpl {
        page,
        credits: credits(&ev.text.credits),
        ev,
        templates,
        decisions: Decision::ALL,
        decidable,
    })
}

#[derive(serde::Deserialize)]
pub struct DecisionForm {
    decision: String,
    #[serde(default)]
    reason_template: Option<String>,
    #[serde(default)]
    note: String,
    expected_selection: String,
    version_number: i64,
    /// 1..5, or empty for no score.
    #[serde(default)]
    score: String,
}

/// The form's score: empty for none, else a whole number (checked 1..5 by `decide`).
fn form_score(text: &str) -> Result<Option<i64>, WebError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        let mut f = FieldErrors::new();
        f.insert("score".into(), "validation.score".into());
        WebError::Validation(f)
    })
}

pub async fn decision(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    FormBody(form): FormBody<DecisionForm>,
) -> Result<Response, WebError> {
    let decision = Decision::parse(&form.decision).ok_or_else(|| {
        let mut f = FieldErrors::new();
        f.insert("decision".into(), "validation.required".into());
        WebError::Validation(f)
    })?;
    let input = DecisionInput {
        decision,
        reason_template: form.reason_template,
        note: form.note,
        expected_selection: form.expected_selection,
        version_number: form.version_number,
        score: form_score(&form.score)?,
    };
    decide::decide(&state, &user, id, &input).await?;
    Ok(Redirect::to(&format!("/review/{id}/history")).into_response())
}

#[derive(Template)]
#[template(path = "review/history.html")]
struct HistoryTpl {
    page: Page,
    id: i64,
    title: String,
    records: Vec<DecisionRecord>,
}

impl HistoryTpl {
    fn l(&self, prefix: &str, value: &str) -> String {
        label(&self.page, prefix, value)
    }
    fn when(&self, ms: &i64) -> String {
        when(ms)
    }
}

pub async fn history_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_reviewer(&user)?;
    let db = &state.engine.db;
    let item = repo::queue_item_of(db, id)
        .await?
        .ok_or(WebError::NotFound)?;
    render(&HistoryTpl {
        page,
        id,
        title: item.title,
        records: repo::history(db, id).await?,
    })
}

#[derive(Template)]
#[template(path = "review/assign.html")]
struct AssignTpl {
    page: Page,
    reviewers: Vec<Reviewer>,
}

impl AssignTpl {
    fn l(&self, prefix: &str, value: &str) -> String {
        label(&self.page, prefix, value)
    }
    fn categories(&self) -> [&'static str; 7] {
        CATEGORIES
    }
}

pub async fn assign_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
) -> Result<Response, WebError> {
    require_director(&user)?;
    let reviewers = repo::reviewers(&state.engine.db).await?;
    render(&AssignTpl { page, reviewers })
}

/// The form: `mode` (round_robin | by_category) and, by category, `to_<category>` = reviewer id
/// (empty: leave that category alone).
pub async fn assign(
    State(state): State<AppState>,
    user: CurrentUser,
    FormBody(form): FormBody<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let mode = match form.get("mode").map(String::as_str) {
        Some("by_category") => AssignMode::ByCategory,
        _ => AssignMode::RoundRobin,
    };
    let mut categories = std::collections::BTreeMap::new();
    for c in CATEGORIES {
        let Some(v) = form.get(&format!("to_{c}")).filter(|v| !v.is_empty()) else {
            continue;
        };
        let id = v
            .parse::<i64>()
            .map_err(|_| WebError::BadRequest("not a reviewer id".into()))?;
        categories.insert(c.to_string(), id);
    }
    let request = AssignRequest { mode, categories };
    assign::assign(&state, &user, &request).await?;
    Ok(Redirect::to("/review/progress").into_response())
}

#[derive(Template)]
#[template(path = "review/progress.html")]
struct ProgressTpl {
    page: Page,
    progress: Progress,
    can_assign: bool,
}

impl ProgressTpl {
    fn l(&self, prefix: &str, value: &str) -> String {
        label(&self.page, prefix, value)
    }
}

pub async fn progress_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
) -> Result<Response, WebError> {
    let progress = assign::progress(&state, &user).await?;
    render(&ProgressTpl {
        page,
        progress,
        can_assign: require_director(&user).is_ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timecodes_and_credits() {
        assert_eq!(timecode(&75.25), "1:15.2");
        assert_eq!(timecode(&3.0), "0:03.0");
        let c = credits(r#"{"people":[{"name":"Li","role":"singer"}],"ai_tools":["Suno"]}"#);
        assert_eq!(c.people, vec![("Li".to_string(), "singer".to_string())]);
        assert_eq!(c.ai_tools, vec!["Suno".to_string()]);
        assert!(credits("not json").raw.is_some());
    }
}
