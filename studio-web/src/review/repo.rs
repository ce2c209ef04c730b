//! The review queue's SQL: submissions as the queue sees them (latest version, its clip's
//! state and QC report, the assigned reviewer), the decisions' audit log, assignments and
//! reason templates. Written once for SQLite and PostgreSQL. Columns the submissions feature
//! may leave empty are read through COALESCE, so a NULL there never breaks the queue.

use gala_pipeline::ingest::qc::QcReport;
use gala_pipeline::storage::db::Db;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A submission in the queue, with what filtering and the list need.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    pub id: i64,
    pub owner_id: i64,
    pub owner_name: String,
    pub category: String,
    pub title: String,
    pub language: String,
    pub selection: String,
    pub locked: bool,
    pub created_at: i64,
    /// The latest version's number; `None` before the first upload.
    pub version_number: Option<i64>,
    pub clip_id: Option<i64>,
    /// The latest version's processing state (queued … ready, rejected, failed).
    pub clip_state: Option<String>,
    /// The QC finding kinds of the latest version (black, silence, clipping, …).
    pub finding_kinds: Vec<String>,
    pub reviewer_id: Option<i64>,
    pub reviewer_name: Option<String>,
}

/// The parts of a submission the evidence page shows besides the queue item.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubmissionText {
    pub description: String,
    /// The credits JSON as the creator sent it.
    pub credits: String,
    pub rights_confirmed: bool,
    pub consent_confirmed: bool,
    pub review_reason: Option<String>,
}

/// One audited decision.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionRecord {
    pub id: i64,
    pub submission_id: i64,
    pub version_number: i64,
    pub reviewer_id: i64,
    pub reviewer_name: String,
    pub decision: String,
    pub reason_template: Option<String>,
    pub note: String,
    pub previous_selection: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// The reviewer's score, 1 to 5; None when they gave none.
    pub score: Option<i64>,
}

/// A reason a reviewer can pick.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReasonTemplate {
    pub code: String,
    pub text_en: String,
    pub text_zh: String,
    /// accept | needs_changes | reject
    pub applies_to: String,
}

impl ReasonTemplate {
    /// The text in `language` (a language tag; Chinese for zh…, English otherwise).
    pub fn text_in(&self, language: &str) -> &str {
        if language.to_ascii_lowercase().starts_with("zh") {
            &self.text_zh
        } else {
            &self.text_en
        }
    }
}

/// An account that can be given work.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reviewer {
    pub id: i64,
    pub display_name: String,
}

const QUEUE_SQL: &str = "
SELECT s.id, s.owner_id, o.display_name AS owner_name, s.category, s.title,
       COALESCE(s.language, '') AS language, s.selection, COALESCE(s.locked, 0) AS locked,
       s.created_at,
       v.number AS version_number, v.clip_id, c.state AS clip_state, c.qc_report,
       a.reviewer_id, r.display_name AS reviewer_name
FROM submissions s
JOIN users o ON o.id = s.owner_id
LEFT JOIN submission_versions v ON v.submission_id = s.id
     AND v.number = (SELECT MAX(m.number) FROM submission_versions m WHERE m.submission_id = s.id)
LEFT JOIN clips c ON c.id = v.clip_id
LEFT JOIN review_assignments a ON a.submission_id = s.id
LEFT JOIN users r ON r.id = a.reviewer_id";

/// Every submission, oldest first.
pub async fn queue(db: &Db) -> Result<Vec<QueueItem>, sqlx::Error> {
    let rows = sqlx::query(&format!("{QUEUE_SQL} ORDER BY s.id"))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(queue_item).collect()
}

/// One submission as the queue sees it.
pub async fn queue_item_of(db: &Db, id: i64) -> Result<Option<QueueItem>, sqlx::Error> {
    let row = sqlx::query(&format!("{QUEUE_SQL} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(queue_item).transpose()
}

fn queue_item(r: &AnyRow) -> Result<QueueItem, sqlx::Error> {
    let id: i64 = r.try_get("id")?;
    let report: Option<String> = r.try_get("qc_report")?;
    Ok(QueueItem {
        id,
        owner_id: r.try_get("owner_id")?,
        owner_name: r.try_get("owner_name")?,
        category: r.try_get("category")?,
        title: r.try_get("title")?,
        language: r.try_get("language")?,
        selection: r.try_get("selection")?,
        locked: r.try_get::<i64, _>("locked")? != 0,
        created_at: r.try_get("created_at")?,
        version_number: r.try_get("version_number")?,
        clip_id: r.try_get("clip_id")?,
        clip_state: r.try_get("clip_state")?,
        finding_kinds: finding_kinds(id, report.as_deref()),
        reviewer_id: r.try_get("reviewer_id")?,
        reviewer_name: r.try_get("reviewer_name")?,
    })
}

/// The distinct finding kinds of a stored QC report; an unreadable report counts as none
/// (and is logged).
fn finding_kinds(submission: i64, report: Option<&str>) -> Vec<String> {
    let Some(report) = parse_report(submission, report) else {
        return Vec::new();
    };
    let mut kinds: Vec<String> = report
        .findings
        .iter()
        .filter_map(|f| serde_json::to_value(f.kind).ok())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// A stored QC report, or `None` when absent or unreadable (logged).
pub fn parse_report(submission: i64, report: Option<&str>) -> Option<QcReport> {
    match serde_json::from_str(report?) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(submission, error = %e, "unreadable QC report");
            None
        }
    }
}

/// The texts of a submission the evidence page shows.
pub async fn submission_text(db: &Db, id: i64) -> Result<Option<SubmissionText>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COALESCE(description, '') AS description, COALESCE(credits, '{}') AS credits,
                COALESCE(rights_confirmed, 0) AS rights_confirmed,
                COALESCE(consent_confirmed, 0) AS consent_confirmed, review_reason
         FROM submissions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(SubmissionText {
            description: r.try_get("description")?,
            credits: r.try_get("credits")?,
            rights_confirmed: r.try_get::<i64, _>("rights_confirmed")? != 0,
            consent_confirmed: r.try_get::<i64, _>("consent_confirmed")? != 0,
            review_reason: r.try_get("review_reason")?,
        })
    })
    .transpose()
}

/// The audit log of a submission, oldest first.
pub async fn history(db: &Db, submission: i64) -> Result<Vec<DecisionRecord>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.id, d.submission_id, d.version_number, d.reviewer_id, u.display_name,
                d.decision, d.reason_template, d.note, d.previous_selection, d.created_at,
                d.score
         FROM review_decisions d JOIN users u ON u.id = d.reviewer_id
         WHERE d.submission_id = $1 ORDER BY d.id",
    )
    .bind(submission)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DecisionRecord {
                id: r.try_get("id")?,
                submission_id: r.try_get("submission_id")?,
                version_number: r.try_get("version_number")?,
                reviewer_id: r.try_get("reviewer_id")?,
                reviewer_name: r.try_get("display_name")?,
                decision: r.try_get("decision")?,
                reason_template: r.try_get("reason_template")?,
                note: r.try_get("note")?,
                previous_selection: r.try_get("previous_selection")?,
                created_at: r.try_get("created_at")?,
                score: r.try_get("score")?,
            })
        })
        .collect()
}

/// The active reason templates.
pub async fn templates(db: &Db) -> Result<Vec<ReasonTemplate>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT code, text_en, text_zh, applies_to FROM reason_templates
         WHERE active = 1 ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReasonTemplate {
                code: r.try_get("code")?,
                text_en: r.try_get("text_en")?,
                text_zh: r.try_get("text_zh")?,
                applies_to: r.try_get("applies_to")?,
            })
        })
        .collect()
}

/// Active accounts with the reviewer role, by id.
pub async fn reviewers(db: &Db) -> Result<Vec<Reviewer>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, display_name FROM users
         WHERE role = 'reviewer' AND status = 'active' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Reviewer {
                id: r.try_get("id")?,
                display_name: r.try_get("display_name")?,
            })
        })
        .collect()
}

/// Gives `submission` to `reviewer` unless someone already has it; true when assigned now.
pub async fn assign(db: &Db, submission: i64, reviewer: i64, by: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO review_assignments (submission_id, reviewer_id, assigned_at, assigned_by)
         VALUES ($1, $2, $3, $4) ON CONFLICT (submission_id) DO NOTHING",
    )
    .bind(submission)
    .bind(reviewer)
    .bind(gala_pipeline::now_ms())
    .bind(by)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
