//! The submissions' SQL. Every read returns the submission with its owner so that callers can
//! check access; the processing state is derived from the latest version's clip, never stored.

use gala_pipeline::ingest::clips::ClipState;
use gala_pipeline::now_ms;
use gala_pipeline::storage::db::Db;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use super::form::{Category, Credits, ValidSubmission};

/// The selection axis: what review decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    InReview,
    Accepted,
    NeedsChanges,
    NotSelected,
}

impl Selection {
    pub const ALL: [Selection; 4] = [
        Selection::InReview,
        Selection::Accepted,
        Selection::NeedsChanges,
        Selection::NotSelected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Selection::InReview => "in_review",
            Selection::Accepted => "accepted",
            Selection::NeedsChanges => "needs_changes",
            Selection::NotSelected => "not_selected",
        }
    }

    pub fn parse(s: &str) -> Option<Selection> {
        Selection::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The processing axis, derived from the latest version's clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Processing {
    /// No version yet (the upload is on its way).
    Uploading,
    /// The clip is in the ingest chain.
    Checking,
    Ready,
    /// Rejected or failed; see `processing_reason`.
    Failed,
}

impl Processing {
    pub fn as_str(self) -> &'static str {
        match self {
            Processing::Uploading => "uploading",
            Processing::Checking => "checking",
            Processing::Ready => "ready",
            Processing::Failed => "failed",
        }
    }

    fn of(clip_state: Option<ClipState>) -> Processing {
        match clip_state {
            None => Processing::Uploading,
            Some(ClipState::Ready) => Processing::Ready,
            Some(ClipState::Rejected | ClipState::Failed) => Processing::Failed,
            Some(_) => Processing::Checking,
        }
    }
}

/// A submission as stored, with its derived processing state.
#[derive(Debug, Clone)]
pub struct Submission {
    pub id: i64,
    pub owner_id: i64,
    pub category: Category,
    pub title: String,
    pub description: String,
    pub credits: Credits,
    pub language: String,
    pub rights_confirmed: bool,
    pub consent_confirmed: bool,
    pub selection: Selection,
    pub review_reason: Option<String>,
    pub locked: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// How many versions were sent (the latest's number).
    pub versions: i64,
    pub processing: Processing,
    /// Why the latest clip was refused or failed.
    pub processing_reason: Option<String>,
    pub has_poster: bool,
    pub has_proxy: bool,
}

impl Submission {
    /// A new version is taken now: none yet, or review asked for changes.
    pub fn accepts_version(&self) -> bool {
        !self.locked && (self.versions == 0 || self.selection == Selection::NeedsChanges)
    }
}

/// One version: an upload that became a clip.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Version {
    pub number: i64,
    pub clip_id: i64,
    pub created_at: i64,
    pub processing: Processing,
    pub processing_reason: Option<String>,
}

const SELECT: &str = "SELECT s.id, s.owner_id, s.category, s.title, s.description, s.credits,
    s.language, s.rights_confirmed, s.consent_confirmed, s.selection, s.review_reason, s.locked,
    s.created_at, s.updated_at, COALESCE(v.number, 0) AS versions, c.state AS clip_state,
    c.reason AS clip_reason, c.poster_sha256, c.proxy_sha256
  FROM submissions s
  LEFT JOIN submission_versions v ON v.submission_id = s.id
    AND v.number = (SELECT MAX(m.number) FROM submission_versions m WHERE m.submission_id = s.id)
  LEFT JOIN clips c ON c.id = v.clip_id";

fn from_row(r: &AnyRow) -> anyhow::Result<Submission> {
    let clip_state: Option<String> = r.try_get("clip_state")?;
    let clip_state = clip_state.as_deref().map(ClipState::parse).transpose()?;
    let processing = Processing::of(clip_state);
    let category: String = r.try_get("category")?;
    let selection: String = r.try_get("selection")?;
    let credits: String = r.try_get("credits")?;
    Ok(Submission {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        category: Category::parse(&category)
            .ok_or_else(|| anyhow::anyhow!("unknown category {category:?}"))?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        credits: serde_json::from_str(&credits)?,
        language: r.try_get("language")?,
        rights_confirmed: r.try_get::<i64, _>("rights_confirmed")? != 0,
        consent_confirmed: r.try_get::<i64, _>("consent_confirmed")? != 0,
        selection: Selection::parse(&selection)
            .ok_or_else(|| anyhow::anyhow!("unknown selection {selection:?}"))?,
        review_reason: r.try_get("review_reason")?,
        locked: r.try_get::<i64, _>("locked")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        versions: r.try_get("versions")?,
        processing,
        processing_reason: match processing {
            Processing::Failed => r.try_get("clip_reason")?,
            _ => None,
        },
        has_poster: r.try_get::<Option<String>, _>("poster_sha256")?.is_some(),
        has_proxy: r.try_get::<Option<String>, _>("proxy_sha256")?.is_some(),
    })
}

/// A new submission of `owner`, in review, without a version yet.
pub async fn create(db: &Db, owner: i64, v: &ValidSubmission) -> anyhow::Result<i64> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO submissions (owner_id, category, title, description, credits, language,
            rights_confirmed, consent_confirmed, selection, locked, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, 1, $7, 0, $8, $8) RETURNING id",
    )
    .bind(owner)
    .bind(v.category.as_str())
    .bind(v.title.as_str())
    .bind(&v.description)
    .bind(serde_json::to_string(&v.credits)?)
    .bind(&v.language)
    .bind(Selection::InReview.as_str())
    .bind(now)
    .fetch_one(&db.pool)
    .await?;
    Ok(row.try_get("id")?)
}

/// The submission `id`, whoever owns it (callers check access).
pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<Submission>> {
    let sql = format!("{SELECT} WHERE s.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&db.pool).await?;
    row.as_ref().map(from_row).transpose()
}

/// `owner`'s submissions, newest first.
pub async fn list_by_owner(db: &Db, owner: i64) -> anyhow::Result<Vec<Submission>> {
    let sql = format!("{SELECT} WHERE s.owner_id = $1 ORDER BY s.id DESC");
    let rows = sqlx::query(&sql).bind(owner).fetch_all(&db.pool).await?;
    rows.iter().map(from_row).collect()
}

/// Replaces the editable fields unless review locked the submission; false when locked.
pub async fn update(db: &Db, id: i64, v: &ValidSubmission) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE submissions SET category = $1, title = $2, description = $3, credits = $4,
            language = $5, updated_at = $6
         WHERE id = $7 AND locked = 0",
    )
    .bind(v.category.as_str())
    .bind(v.title.as_str())
    .bind(&v.description)
    .bind(serde_json::to_string(&v.credits)?)
    .bind(&v.language)
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Review's decision and its reason for the creator (for the review queue).
pub async fn set_selection(
    db: &Db,
    id: i64,
    selection: Selection,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE submissions SET selection = $1, review_reason = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(selection.as_str())
    .bind(reason)
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Locks (or unlocks) the submission's fields against edits (for the review queue).
pub async fn set_locked(db: &Db, id: i64, locked: bool) -> anyhow::Result<()> {
    sqlx::query("UPDATE submissions SET locked = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(locked))
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The versions of submission `id`, oldest first.
pub async fn versions(db: &Db, id: i64) -> anyhow::Result<Vec<Version>> {
    let rows = sqlx::query(
        "SELECT v.number, v.clip_id, v.created_at, c.state, c.reason
         FROM submission_versions v JOIN clips c ON c.id = v.clip_id
         WHERE v.submission_id = $1 ORDER BY v.number",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let state = ClipState::parse(&r.try_get::<String, _>("state")?)?;
            let processing = Processing::of(Some(state));
            Ok(Version {
                number: r.try_get("number")?,
                clip_id: r.try_get("clip_id")?,
                created_at: r.try_get("created_at")?,
                processing,
                processing_reason: match processing {
                    Processing::Failed => r.try_get("reason")?,
                    _ => None,
                },
            })
        })
        .collect()
}

/// Whether upload `upload_id` already became a version.
pub async fn has_version_of_upload(db: &Db, upload_id: &str) -> anyhow::Result<bool> {
    let row = sqlx::query("SELECT id FROM submission_versions WHERE upload_id = $1")
        .bind(upload_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

/// Records clip `clip_id` of upload `upload_id` as the next version of submission `id`; a
/// submission that asked for changes goes back to review. Ok(false), writing nothing, when the
/// submission does not take a version now (another upload got there first, or it was locked).
pub async fn add_version(db: &Db, id: i64, upload_id: &str, clip_id: i64) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let Some(sub) = get_in(&mut tx, id).await? else {
        return Ok(false);
    };
    if !sub.accepts_version() {
        return Ok(false);
    }
    let now = now_ms();
    sqlx::query(
        "INSERT INTO submission_versions (submission_id, number, upload_id, clip_id, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(sub.versions + 1)
    .bind(upload_id)
    .bind(clip_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE submissions SET selection = $1, review_reason = NULL, updated_at = $2 WHERE id = $3",
    )
    .bind(Selection::InReview.as_str())
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

async fn get_in(conn: &mut sqlx::AnyConnection, id: i64) -> anyhow::Result<Option<Submission>> {
    let sql = format!("{SELECT} WHERE s.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The media kinds of a submission's latest clip that the creator may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Poster,
    Sheet,
    Waveform,
    Proxy,
}

impl MediaKind {
    pub fn parse(s: &str) -> Option<MediaKind> {
        Some(match s {
            "poster" => MediaKind::Poster,
            "sheet" => MediaKind::Sheet,
            "waveform" => MediaKind::Waveform,
            "proxy" => MediaKind::Proxy,
            _ => return None,
        })
    }

    pub fn content_type(self) -> &'static str {
        match self {
            MediaKind::Proxy => "video/mp4",
            _ => "image/png",
        }
    }

    fn column(self) -> &'static str {
        match self {
            MediaKind::Poster => "c.poster_sha256",
            MediaKind::Sheet => "c.sheet_sha256",
            MediaKind::Waveform => "c.waveform_sha256",
            MediaKind::Proxy => "c.proxy_sha256",
        }
    }
}

/// The store digest of `kind` of submission `id`'s latest clip, if it was made.
pub async fn latest_media(db: &Db, id: i64, kind: MediaKind) -> anyhow::Result<Option<String>> {
    // `column` is one of MediaKind's constants, never user input.
    let sql = format!(
        "SELECT {} AS digest FROM submission_versions v JOIN clips c ON c.id = v.clip_id
         WHERE v.submission_id = $1 ORDER BY v.number DESC LIMIT 1",
        kind.column()
    );
    let row = sqlx::query(&sql).bind(id).fetch_optional(&db.pool).await?;
    Ok(row.map(|r| r.try_get("digest")).transpose()?.flatten())
}
