//! Caption rows of a clip: the automatic transcript (`auto`), its translation
//! (`auto-translation`) and human edits (`edited`, with who and which row it was based on).
//! Rows are never changed: an edit is a new row, and the latest edit of a language is what
//! pages show and exports write; the automatic row stays for comparison.

use serde::Serialize;
use sqlx::Row;

use crate::ai::captions::Cue;
use crate::now_ms;
use crate::storage::db::Db;

/// Where a caption row came from.
pub const AUTO: &str = "auto";
pub const EDITED: &str = "edited";
pub const AUTO_TRANSLATION: &str = "auto-translation";

/// A stored caption row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptionRow {
    pub id: i64,
    pub clip_id: i64,
    pub language: String,
    /// `auto`, `edited` or `auto-translation`.
    pub source: String,
    pub cues: Vec<Cue>,
    pub model: String,
    pub edited_by: Option<i64>,
    pub based_on: Option<i64>,
    pub created_at: i64,
}

/// A row to store.
#[derive(Debug, Clone)]
pub struct NewCaptions<'a> {
    pub clip_id: i64,
    pub language: &'a str,
    pub source: &'a str,
    pub cues: &'a [Cue],
    pub model: &'a str,
    pub edited_by: Option<i64>,
    pub based_on: Option<i64>,
}

/// Stores a new row; returns its id.
pub async fn insert(db: &Db, new: &NewCaptions<'_>) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "INSERT INTO captions (clip_id, language, source, cues, model, edited_by, based_on, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(new.clip_id)
    .bind(new.language)
    .bind(new.source)
    .bind(serde_json::to_string(new.cues)?)
    .bind(new.model)
    .bind(new.edited_by)
    .bind(new.based_on)
    .bind(now_ms())
    .fetch_one(&db.pool)
    .await?;
    Ok(row.try_get("id")?)
}

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<CaptionRow> {
    Ok(CaptionRow {
        id: r.try_get("id")?,
        clip_id: r.try_get("clip_id")?,
        language: r.try_get("language")?,
        source: r.try_get("source")?,
        cues: serde_json::from_str(&r.try_get::<String, _>("cues")?)?,
        model: r.try_get("model")?,
        edited_by: r.try_get("edited_by")?,
        based_on: r.try_get("based_on")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Every caption row of the clip, oldest first.
pub async fn all_of(db: &Db, clip_id: i64) -> anyhow::Result<Vec<CaptionRow>> {
    let rows = sqlx::query("SELECT * FROM captions WHERE clip_id = $1 ORDER BY id")
        .bind(clip_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// One row by id.
pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<CaptionRow>> {
    let row = sqlx::query("SELECT * FROM captions WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The rows shown and exported, one per language: the latest edit, else the latest automatic
/// row (transcript or translation). The transcript's language comes first.
pub fn current(rows: &[CaptionRow]) -> Vec<&CaptionRow> {
    let mut languages: Vec<&str> = Vec::new();
    for r in rows {
        if !languages.contains(&r.language.as_str()) {
            languages.push(&r.language);
        }
    }
    languages.sort_by_key(|l| !rows.iter().any(|r| r.language == *l && r.source == AUTO));
    languages
        .into_iter()
        .filter_map(|lang| {
            let of_lang = rows.iter().filter(|r| r.language == lang);
            of_lang
                .clone()
                .filter(|r| r.source == EDITED)
                .max_by_key(|r| r.id)
                .or_else(|| of_lang.max_by_key(|r| r.id))
        })
        .collect()
}

/// The current row of the clip in `language`, or the first current row when none is given.
pub async fn current_of(
    db: &Db,
    clip_id: i64,
    language: Option<&str>,
) -> anyhow::Result<Option<CaptionRow>> {
    let rows = all_of(db, clip_id).await?;
    let found = current(&rows)
        .into_iter()
        .find(|r| language.is_none_or(|l| r.language == l))
        .cloned();
    Ok(found)
}
