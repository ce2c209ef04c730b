//! The `clip_energy` table (migration 0010): one row per clip, replaced when the clip is
//! analysed again.

use sqlx::Row;

use super::EnergyReport;
use crate::now_ms;
use crate::storage::db::Db;

/// Stores (or replaces) the energy report of `clip_id`.
pub async fn save(db: &Db, clip_id: i64, r: &EnergyReport) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO clip_energy (clip_id, bpm, bpm_confidence, onset_rate, st_mean, st_p90, lra,
             centroid_hz, energy, computed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (clip_id) DO UPDATE SET bpm = excluded.bpm,
             bpm_confidence = excluded.bpm_confidence, onset_rate = excluded.onset_rate,
             st_mean = excluded.st_mean, st_p90 = excluded.st_p90, lra = excluded.lra,
             centroid_hz = excluded.centroid_hz, energy = excluded.energy,
             computed_at = excluded.computed_at",
    )
    .bind(clip_id)
    .bind(r.bpm)
    .bind(r.bpm_confidence)
    .bind(r.onset_rate)
    .bind(r.st_mean)
    .bind(r.st_p90)
    .bind(r.lra)
    .bind(r.centroid_hz)
    .bind(r.energy)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The stored report of `clip_id`, if it was analysed.
pub async fn get(db: &Db, clip_id: i64) -> anyhow::Result<Option<EnergyReport>> {
    let row = sqlx::query(
        "SELECT bpm, bpm_confidence, onset_rate, st_mean, st_p90, lra, centroid_hz, energy
         FROM clip_energy WHERE clip_id = $1",
    )
    .bind(clip_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        anyhow::Ok(EnergyReport {
            bpm: r.try_get("bpm")?,
            bpm_confidence: r.try_get("bpm_confidence")?,
            onset_rate: r.try_get("onset_rate")?,
            st_mean: r.try_get("st_mean")?,
            st_p90: r.try_get("st_p90")?,
            lra: r.try_get("lra")?,
            centroid_hz: r.try_get("centroid_hz")?,
            energy: r.try_get("energy")?,
        })
    })
    .transpose()
}

/// Ready clips with a normalized file and no energy row yet, by id: what a backfill queues.
pub async fn ready_without_energy(db: &Db) -> anyhow::Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT c.id FROM clips c LEFT JOIN clip_energy e ON e.clip_id = c.id
         WHERE c.state = 'ready' AND c.normalized_sha256 IS NOT NULL AND e.clip_id IS NULL
         ORDER BY c.id",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<i64, _>("id")?))
        .collect()
}
