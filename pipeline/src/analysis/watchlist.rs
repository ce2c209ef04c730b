//! The watched-words list in the database (table `watched_words`), kept by admins.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::watchwords::{WordEntry, WordSeverity};
use crate::now_ms;
use crate::storage::db::Db;

/// Longest word or phrase accepted, characters.
pub const MAX_WORD_CHARS: usize = 100;
/// Longest category accepted, characters.
pub const MAX_CATEGORY_CHARS: usize = 50;
/// Longest note accepted, characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// A listed word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedWord {
    pub id: i64,
    pub word: String,
    pub category: String,
    pub severity: WordSeverity,
    pub note: String,
    pub created_by: Option<i64>,
    pub created_at: i64,
}

impl WatchedWord {
    /// What the matcher needs of it.
    pub fn entry(&self) -> WordEntry {
        WordEntry {
            word: self.word.clone(),
            category: self.category.clone(),
            severity: self.severity,
        }
    }
}

/// Why a word was not added.
#[derive(Debug, thiserror::Error)]
pub enum WatchListError {
    /// The input is not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// The word is listed already.
    #[error("the word is already listed")]
    Duplicate,
    #[error(transparent)]
    Db(#[from] anyhow::Error),
}

/// Every listed word, by category then word.
pub async fn list(db: &Db) -> anyhow::Result<Vec<WatchedWord>> {
    let rows = sqlx::query("SELECT * FROM watched_words ORDER BY category, word")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            let severity: String = r.try_get("severity")?;
            Ok(WatchedWord {
                id: r.try_get("id")?,
                word: r.try_get("word")?,
                category: r.try_get("category")?,
                severity: WordSeverity::parse(&severity)
                    .ok_or_else(|| anyhow::anyhow!("unknown severity {severity:?}"))?,
                note: r.try_get("note")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Lists a word (trimmed; blank, over-long or already listed words are refused).
pub async fn add(
    db: &Db,
    word: &str,
    category: &str,
    severity: WordSeverity,
    note: &str,
    created_by: Option<i64>,
) -> Result<WatchedWord, WatchListError> {
    let (word, category, note) = (word.trim(), category.trim(), note.trim());
    let too_long = |what: &str, max: usize| {
        WatchListError::Invalid(format!("the {what} is longer than {max} characters"))
    };
    if word.is_empty() {
        return Err(WatchListError::Invalid("the word is empty".into()));
    }
    if word.chars().count() > MAX_WORD_CHARS {
        return Err(too_long("word", MAX_WORD_CHARS));
    }
    if category.is_empty() {
        return Err(WatchListError::Invalid("the category is empty".into()));
    }
    if category.chars().count() > MAX_CATEGORY_CHARS {
        return Err(too_long("category", MAX_CATEGORY_CHARS));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(too_long("note", MAX_NOTE_CHARS));
    }
    let existing = list(db).await?;
    let folded = word.to_lowercase();
    if existing.iter().any(|w| w.word.to_lowercase() == folded) {
        return Err(WatchListError::Duplicate);
    }
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO watched_words (word, category, severity, note, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (word) DO NOTHING RETURNING id",
    )
    .bind(word)
    .bind(category)
    .bind(severity.as_str())
    .bind(note)
    .bind(created_by)
    .bind(now)
    .fetch_optional(&db.pool)
    .await
    .map_err(anyhow::Error::from)?;
    let row = row.ok_or(WatchListError::Duplicate)?;
    Ok(WatchedWord {
        id: row.try_get("id").map_err(anyhow::Error::from)?,
        word: word.into(),
        category: category.into(),
        severity,
        note: note.into(),
        created_by,
        created_at: now,
    })
}

/// Removes a word; false when there was none with this id.
pub async fn remove(db: &Db, id: i64) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM watched_words WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
