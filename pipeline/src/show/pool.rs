//! The accepted pool: every act the planner may place, read from the submissions, their
//! latest versions' clips, the review scores and the energy analysis in one query.

use serde::Deserialize;
use sqlx::Row;

use crate::planner::Candidate;
use crate::storage::db::Db;

/// Every accepted submission whose latest version's clip is ready (normalized), by submission
/// id. A submission whose latest version is still processing (or failed) is left out, even
/// when an older version was ready: the planner only places what review accepted.
pub async fn accepted_pool(db: &Db) -> anyhow::Result<Vec<Candidate>> {
    let rows = sqlx::query(
        "SELECT s.id AS submission_id, v.number, v.clip_id, s.title, s.owner_id,
                u.display_name, s.category, s.language, s.credits,
                c.normalize_report, c.probe, e.energy, sc.score
         FROM submissions s
         JOIN submission_versions v ON v.submission_id = s.id
          AND v.number = (SELECT MAX(number) FROM submission_versions
                          WHERE submission_id = s.id)
         JOIN clips c ON c.id = v.clip_id
         JOIN users u ON u.id = s.owner_id
         LEFT JOIN clip_energy e ON e.clip_id = v.clip_id
         LEFT JOIN (SELECT submission_id, CAST(AVG(score) AS DOUBLE PRECISION) AS score
                    FROM review_decisions WHERE score IS NOT NULL
                    GROUP BY submission_id) sc ON sc.submission_id = s.id
         WHERE s.selection = 'accepted' AND c.state = 'ready'
           AND c.normalized_sha256 IS NOT NULL
         ORDER BY s.id",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(candidate).collect()
}

fn candidate(r: &sqlx::any::AnyRow) -> anyhow::Result<Candidate> {
    let clip_id: i64 = r.try_get("clip_id")?;
    let duration_s = duration_s(r.try_get("normalize_report")?, r.try_get("probe")?)?
        .ok_or_else(|| anyhow::anyhow!("ready clip {clip_id} has no duration"))?;
    let credits: String = r.try_get("credits")?;
    Ok(Candidate {
        submission_id: r.try_get("submission_id")?,
        version_number: r.try_get("number")?,
        clip_id,
        title: r.try_get("title")?,
        creator_id: r.try_get("owner_id")?,
        creator: r.try_get("display_name")?,
        category: r.try_get("category")?,
        duration_ms: (duration_s * 1000.0).round() as i64,
        score: r.try_get::<Option<f64>, _>("score")?.map(|s| s as f32),
        energy: r.try_get::<Option<f64>, _>("energy")?.map(|e| e as f32),
        credits: credit_lines(&credits),
        language: r.try_get("language")?,
        trim: None,
    })
}

/// Only the field the pool needs of a stored NormalizeReport or ProbeInfo.
#[derive(Deserialize)]
struct Duration {
    duration_s: f64,
}

/// The normalized file's length (from the normalize report), else the source's probe.
fn duration_s(report: Option<String>, probe: Option<String>) -> anyhow::Result<Option<f64>> {
    for text in [report, probe].into_iter().flatten() {
        let d: Duration = serde_json::from_str(&text)?;
        if d.duration_s.is_finite() && d.duration_s > 0.0 {
            return Ok(Some(d.duration_s));
        }
    }
    Ok(None)
}

#[derive(Deserialize, Default)]
struct Credits {
    #[serde(default)]
    people: Vec<Person>,
    #[serde(default)]
    ai_tools: Vec<String>,
}

#[derive(Deserialize)]
struct Person {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// The credits JSON (`{"people":[{"name","role"}],"ai_tools":[…]}`) as `role: name` lines,
/// then `AI tool: name`; blank names are skipped, a blank role leaves the name alone.
/// Unreadable credits give no lines rather than losing the act.
pub fn credit_lines(json: &str) -> Vec<String> {
    let credits: Credits = serde_json::from_str(json).unwrap_or_default();
    let people = credits.people.into_iter().filter_map(|p| {
        let (name, role) = (p.name.trim().to_string(), p.role.trim());
        match (name.is_empty(), role.is_empty()) {
            (true, _) => None,
            (false, true) => Some(name),
            (false, false) => Some(format!("{role}: {name}")),
        }
    });
    let tools = credits
        .ai_tools
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .map(|t| format!("AI tool: {t}"));
    people.chain(tools).collect()
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
