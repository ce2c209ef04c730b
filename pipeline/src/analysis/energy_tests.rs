//! Energy analysis on audio generated with FFmpeg's lavfi sources, and the `analysis.energy`
//! job on a real database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::analysis::jobs::{handlers, job, AnalysisEnv, ENERGY};
use crate::analysis::models::ConfiguredLoader;
use crate::config::Config;
use crate::ingest::clips;
use crate::ingest::testmedia::{ffmpeg, limits};
use crate::jobs::{Queue, WorkerPool};
use crate::storage::db::Db;
use crate::storage::media::{LocalStore, MediaStore};

/// `seconds` of mono audio from an aevalsrc expression, as 48 kHz PCM WAV.
fn audio(dir: &Path, name: &str, expr: &str, seconds: u32) -> PathBuf {
    let source = format!("aevalsrc='{expr}':s=48000:d={seconds}");
    ffmpeg(
        dir,
        name,
        &["-f", "lavfi", "-i", &source, "-c:a", "pcm_s16le"],
    )
}

/// A loud 1 kHz click of 30 ms every `60 / bpm` seconds.
fn clicks(dir: &Path, name: &str, bpm: f64) -> PathBuf {
    let period = 60.0 / bpm;
    let expr = format!("0.8*sin(2*PI*1000*t)*lt(mod(t,{period:.6}),0.03)");
    audio(dir, name, &expr, 12)
}

fn check_finite(r: &EnergyReport) {
    let values = [
        r.bpm_confidence,
        r.onset_rate,
        r.lra,
        r.energy,
        r.bpm.unwrap_or(0.0),
        r.st_mean.unwrap_or(0.0),
        r.st_p90.unwrap_or(0.0),
        r.centroid_hz.unwrap_or(0.0),
    ];
    assert!(values.iter().all(|v| v.is_finite()), "{r:?}");
    assert!((0.0..=1.0).contains(&r.energy), "{r:?}");
}

#[test]
fn click_tracks_are_found_at_their_tempo() {
    let dir = tempfile::tempdir().unwrap();
    for bpm in [120.0, 90.0] {
        let path = clicks(dir.path(), &format!("click{bpm}.wav"), bpm);
        let r = analyze(&path, &limits()).unwrap();
        check_finite(&r);
        let found = r.bpm.unwrap_or_else(|| panic!("no tempo at {bpm}: {r:?}"));
        assert!(
            (found - bpm).abs() <= 2.0,
            "{bpm} BPM read as {found}: {r:?}"
        );
        assert!(r.bpm_confidence > 0.5, "{r:?}");
        let beats_per_s = bpm / 60.0;
        assert!((r.onset_rate - beats_per_s).abs() < 0.25, "{r:?}");
    }
}

#[test]
fn a_quiet_pad_is_calmer_than_a_loud_fast_click_track() {
    let dir = tempfile::tempdir().unwrap();
    let pad = audio(
        dir.path(),
        "pad.wav",
        "0.04*sin(2*PI*220*t)+0.02*sin(2*PI*330*t)",
        12,
    );
    let pad = analyze(&pad, &limits()).unwrap();
    let fast = analyze(&clicks(dir.path(), "fast.wav", 150.0), &limits()).unwrap();
    check_finite(&pad);
    check_finite(&fast);
    assert_eq!(pad.bpm, None, "{pad:?}");
    assert!(pad.onset_rate < 0.2, "{pad:?}");
    assert!(pad.centroid_hz.unwrap() < 400.0, "{pad:?}");
    assert!(
        fast.energy > pad.energy + 0.25,
        "fast {fast:?}\npad {pad:?}"
    );
    assert!(fast.st_p90.unwrap() > pad.st_p90.unwrap() + 6.0);
}

#[test]
fn silence_has_no_tempo_and_no_energy() {
    let dir = tempfile::tempdir().unwrap();
    let path = ffmpeg(
        dir.path(),
        "silence.wav",
        &[
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=48000:cl=stereo",
            "-t",
            "8",
            "-c:a",
            "pcm_s16le",
        ],
    );
    let r = analyze(&path, &limits()).unwrap();
    check_finite(&r);
    assert_eq!(r.bpm, None);
    assert_eq!(r.bpm_confidence, 0.0);
    assert_eq!(r.onset_rate, 0.0);
    assert_eq!((r.st_mean, r.st_p90, r.centroid_hz), (None, None, None));
    assert!(r.energy.abs() < 1e-9, "{r:?}");
}

#[test]
fn the_blend_stays_in_range_on_extremes() {
    let wild = onset::Tempo {
        bpm: 1e9,
        confidence: f64::NAN,
    };
    let e = blend(Some(wild), f64::INFINITY, Some(f64::NAN), Some(-5.0));
    assert!((0.0..=1.0).contains(&e), "{e}");
    assert_eq!(blend(None, 0.0, None, None), 0.0);
}

/// The job measures a clip's normalized file and stores the row; a backfill lists only ready
/// clips without one.
async fn the_energy_job_stores_the_report(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    });
    let store: Arc<dyn MediaStore> = Arc::new(LocalStore::new(dir.path().join("media")).unwrap());
    let media = clicks(dir.path(), "click.wav", 120.0);
    let digest = store.put_file(&media).unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut conn = db.pool.acquire().await.unwrap();
        let id = clips::insert(&mut conn, "clip.wav", &digest, 1, None)
            .await
            .unwrap();
        drop(conn);
        sqlx::query("UPDATE clips SET normalized_sha256 = $1, state = 'ready' WHERE id = $2")
            .bind(&digest)
            .bind(id)
            .execute(&db.pool)
            .await
            .unwrap();
        ids.push(id);
    }
    assert_eq!(record::ready_without_energy(&db).await.unwrap(), ids);

    let queue = Queue::new(db.clone(), config.jobs.clone());
    let env = AnalysisEnv::new(db.clone(), store, config, Arc::new(ConfiguredLoader));
    let pool = WorkerPool::new(queue.clone(), handlers(env), 1, "test".into());
    queue.enqueue(job(ENERGY, ids[0])).await.unwrap();
    while pool.run_one("test-1").await.unwrap().is_some() {}
    for j in queue.list(10).await.unwrap() {
        assert_eq!(j.state.as_str(), "done", "{:?}", j.last_error);
    }

    let stored = record::get(&db, ids[0]).await.unwrap().expect("a row");
    assert!((stored.bpm.unwrap() - 120.0).abs() <= 2.0, "{stored:?}");
    assert!(stored.energy > 0.0 && stored.energy <= 1.0);
    assert_eq!(record::get(&db, ids[1]).await.unwrap(), None);
    assert_eq!(
        record::ready_without_energy(&db).await.unwrap(),
        vec![ids[1]]
    );
    // A re-run replaces the row instead of failing on the key.
    record::save(&db, ids[0], &stored).await.unwrap();
    assert_eq!(record::get(&db, ids[0]).await.unwrap(), Some(stored));
}

crate::both_backends!(the_energy_job_stores_the_report);
