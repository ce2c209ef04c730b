//! A reviewer's decision, shared by the page and the API. One transaction writes the audit row
//! (with the selection it replaces) and the submission's new selection, reason and lock.
//! Optimistic concurrency: the caller names the selection and version it saw; when either
//! changed meanwhile the decision is refused (409) and nothing is written.

use serde::Deserialize;

use super::repo::{self, DecisionRecord, QueueItem, ReasonTemplate};
use super::{require_reviewer, Decision, NOTE_MAX_CHARS};
use crate::auth::CurrentUser;
use crate::error::{FieldErrors, WebError};
use crate::state::AppState;

/// What a reviewer decides, and what they saw when deciding.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DecisionInput {
    pub decision: Decision,
    /// A reason template's code (see `GET /api/review/templates`); empty or absent for none.
    pub reason_template: Option<String>,
    /// Free text for the creator, at most 4000 characters.
    #[serde(default)]
    pub note: String,
    /// The selection the reviewer saw (in_review, accepted, …).
    pub expected_selection: String,
    /// The version the reviewer saw (the latest when they opened it).
    pub version_number: i64,
    /// How good the act is for the show, 1 (weak) to 5 (excellent); absent for no score. The
    /// planner prefers acts with a higher mean score.
    #[serde(default)]
    pub score: Option<i64>,
}

/// The lowest and highest review score.
pub const SCORE_RANGE: std::ops::RangeInclusive<i64> = 1..=5;

/// Records `input` on submission `id` as decided by `user`; returns the audit row.
pub async fn decide(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    input: &DecisionInput,
) -> Result<DecisionRecord, WebError> {
    require_reviewer(user)?;
    let db = &state.engine.db;
    let note = input.note.trim();
    let template = chosen_template(&repo::templates(db).await?, input)?;
    check_score(input.score)?;
    let item = repo::queue_item_of(db, id)
        .await?
        .ok_or(WebError::NotFound)?;
    check_decidable(&item, input)?;
    let reason = compose_reason(template.as_ref(), note, &item.language);
    let mut tx = db.begin_write().await?;
    let now = gala_pipeline::now_ms();
    let updated = sqlx::query(
        "UPDATE submissions SET selection = $1, review_reason = $2, locked = $3, updated_at = $4
         WHERE id = $5 AND selection = $6
           AND (SELECT MAX(number) FROM submission_versions WHERE submission_id = $5) = $7",
    )
    .bind(input.decision.selection())
    .bind(reason)
    .bind(i64::from(input.decision.locks()))
    .bind(now)
    .bind(id)
    .bind(&item.selection)
    .bind(input.version_number)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(decided_meanwhile());
    }
    sqlx::query(
        "INSERT INTO review_decisions (submission_id, version_number, reviewer_id, decision,
             reason_template, note, previous_selection, created_at, score)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(input.version_number)
    .bind(user.id)
    .bind(input.decision.as_str())
    .bind(template.as_ref().map(|t| t.code.clone()))
    .bind(note)
    .bind(&item.selection)
    .bind(now)
    .bind(input.score)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        submission = id,
        reviewer = user.id,
        decision = input.decision.as_str(),
        previous = %item.selection,
        "review decision"
    );
    let history = repo::history(db, id).await?;
    history
        .into_iter()
        .last()
        .ok_or_else(|| WebError::Internal(anyhow::anyhow!("decision {id} not recorded")))
}

fn decided_meanwhile() -> WebError {
    WebError::Conflict(
        "Someone else decided meanwhile, or a new version arrived; reload and look again.".into(),
    )
}

fn invalid(field: &str, key: &str) -> WebError {
    let mut fields = FieldErrors::new();
    fields.insert(field.into(), key.into());
    WebError::Validation(fields)
}

/// A score, when given, is a whole number from 1 to 5.
pub fn check_score(score: Option<i64>) -> Result<(), WebError> {
    match score {
        Some(s) if !SCORE_RANGE.contains(&s) => Err(invalid("score", "validation.score")),
        _ => Ok(()),
    }
}

/// The template the reviewer picked, checked against the decision; the note's length and the
/// need for a reason when refusing or asking for changes.
fn chosen_template(
    templates: &[ReasonTemplate],
    input: &DecisionInput,
) -> Result<Option<ReasonTemplate>, WebError> {
    if input.note.trim().chars().count() > NOTE_MAX_CHARS {
        return Err(invalid("note", "validation.too_long"));
    }
    let code = input
        .reason_template
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let template = match code {
        None => None,
        Some(code) => Some(
            templates
                .iter()
                .find(|t| t.code == code && t.applies_to == input.decision.as_str())
                .cloned()
                .ok_or_else(|| invalid("reason_template", "validation.reason_template"))?,
        ),
    };
    if input.decision != Decision::Accept && template.is_none() && input.note.trim().is_empty() {
        return Err(invalid("reason_template", "validation.reason_required"));
    }
    Ok(template)
}

/// Only the latest version, once its processing ended, and only as the reviewer saw it.
fn check_decidable(item: &QueueItem, input: &DecisionInput) -> Result<(), WebError> {
    if item.selection != input.expected_selection
        || item.version_number != Some(input.version_number)
    {
        return Err(decided_meanwhile());
    }
    match item.clip_state.as_deref() {
        Some("ready" | "rejected" | "failed") => Ok(()),
        _ => Err(WebError::Conflict(
            "The clip is still being processed; decide once it is ready.".into(),
        )),
    }
}

/// The reason the creator reads: the template's text in the submission's language, then the
/// note. `None` when there is neither.
fn compose_reason(template: Option<&ReasonTemplate>, note: &str, language: &str) -> Option<String> {
    let text = template.map(|t| t.text_in(language));
    match (text, note.is_empty()) {
        (Some(t), true) => Some(t.to_string()),
        (Some(t), false) => Some(format!("{t}\n\n{note}")),
        (None, false) => Some(note.to_string()),
        (None, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> ReasonTemplate {
        ReasonTemplate {
            code: "off_topic".into(),
            text_en: "Off topic.".into(),
            text_zh: "不符。".into(),
            applies_to: "reject".into(),
        }
    }

    #[test]
    fn reason_is_in_the_submission_language_with_the_note() {
        let t = template();
        assert_eq!(
            compose_reason(Some(&t), "see 0:12", "zh-CN").as_deref(),
            Some("不符。\n\nsee 0:12")
        );
        assert_eq!(
            compose_reason(Some(&t), "", "en").as_deref(),
            Some("Off topic.")
        );
        assert_eq!(compose_reason(None, "", "en"), None);
    }

    #[test]
    fn a_template_must_fit_the_decision() {
        let input = DecisionInput {
            decision: Decision::Accept,
            reason_template: Some("off_topic".into()),
            note: String::new(),
            expected_selection: "in_review".into(),
            version_number: 1,
            score: None,
        };
        assert!(matches!(
            chosen_template(&[template()], &input),
            Err(WebError::Validation(_))
        ));
        let reject = DecisionInput {
            decision: Decision::Reject,
            reason_template: None,
            ..input
        };
        assert!(matches!(
            chosen_template(&[template()], &reject),
            Err(WebError::Validation(_))
        ));
    }

    #[test]
    fn scores_are_one_to_five_or_none() {
        for ok in [None, Some(1), Some(3), Some(5)] {
            assert!(check_score(ok).is_ok(), "{ok:?}");
        }
        for bad in [Some(0), Some(6), Some(-1), Some(i64::MAX)] {
            match check_score(bad) {
                Err(WebError::Validation(f)) => {
                    assert_eq!(f.get("score").map(String::as_str), Some("validation.score"))
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
