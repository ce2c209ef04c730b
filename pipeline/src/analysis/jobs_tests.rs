//! The analysis chain on a real database (SQLite, and PostgreSQL when configured), real media
//! for fingerprints, the real not-configured loader, and scripted models (test doubles) for the
//! verdict paths that need a model to answer.

use std::path::Path;
use std::sync::{Arc, Mutex as StdMutex};

use super::*;
use crate::ai::captions::Cue;
use crate::ai::{Flag, Model, ModelSummary, RunControl, Transcript};
use crate::ai::{
    FrameModerator, ModelsConfig, PolicyJudge, SpeechToText, TextModerator, Translator,
};
use crate::analysis::captions as caption_rows;
use crate::analysis::models::{ConfiguredLoader, ModelLoader};
use crate::analysis::verdict::{CheckStatus, Outcome, Relation};
use crate::analysis::watchwords::WordSeverity;
use crate::analysis::{store, watchlist};
use crate::ingest::loudness::Loudness;
use crate::ingest::qc::QcReport;
use crate::ingest::testmedia::ffmpeg;
use crate::jobs::{Queue, WorkerPool};
use crate::storage::media::LocalStore;

struct World {
    db: Db,
    store: Arc<dyn MediaStore>,
    config: Arc<Config>,
    _dir: tempfile::TempDir,
}

fn world(db: Db) -> World {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        jobs: crate::config::JobsConfig {
            backoff_base_s: 0,
            poll_ms: 10,
            ..Default::default()
        },
        ..Config::default()
    };
    let store: Arc<dyn MediaStore> = Arc::new(LocalStore::new(dir.path().join("media")).unwrap());
    World {
        db,
        store,
        config: Arc::new(config),
        _dir: dir,
    }
}

fn clean_qc() -> QcReport {
    QcReport {
        duration_s: 6.0,
        loudness_before: None,
        loudness_after: Loudness {
            integrated_lufs: Some(-23.0),
            range_lu: 4.0,
            true_peak_dbtp: Some(-3.0),
        },
        black: vec![],
        silence: vec![],
        frozen: vec![],
        clipping: vec![],
        clipped_samples: 0,
        findings: vec![],
        summary: "clean".into(),
    }
}

/// A user (by email) and a submission of theirs with `language`; returns the submission id.
async fn submission(db: &Db, email: &str, title: &str, description: &str, language: &str) -> i64 {
    let owner: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(&db.pool)
        .await
        .unwrap();
    let owner = match owner {
        Some(id) => id,
        None => sqlx::query_scalar(
            "INSERT INTO users (email, display_name, password_hash, role, status, created_at, updated_at)
             VALUES ($1, $1, 'x', 'creator', 'active', 0, 0) RETURNING id",
        )
        .bind(email)
        .fetch_one(&db.pool)
        .await
        .unwrap(),
    };
    sqlx::query_scalar(
        "INSERT INTO submissions (owner_id, category, title, description, credits, language,
             rights_confirmed, consent_confirmed, selection, created_at, updated_at)
         VALUES ($1, 'music', $2, $3, '{}', $4, 1, 1, 'in_review', 0, 0) RETURNING id",
    )
    .bind(owner)
    .bind(title)
    .bind(description)
    .bind(language)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

/// A clip whose normalized file is `media`, with a clean QC report, as the next version of
/// `submission` (when given).
async fn clip(w: &World, media: &Path, submission: Option<i64>) -> i64 {
    let digest = w.store.put_file(media).unwrap();
    let mut conn = w.db.pool.acquire().await.unwrap();
    let id = clips::insert(&mut conn, "clip.mp4", &digest, 1, None)
        .await
        .unwrap();
    drop(conn);
    sqlx::query("UPDATE clips SET normalized_sha256 = $1 WHERE id = $2")
        .bind(&digest)
        .bind(id)
        .execute(&w.db.pool)
        .await
        .unwrap();
    clips::set_qc(&w.db, id, &clean_qc()).await.unwrap();
    if let Some(s) = submission {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM submission_versions WHERE submission_id = $1")
                .bind(s)
                .fetch_one(&w.db.pool)
                .await
                .unwrap();
        sqlx::query(
            "INSERT INTO submission_versions (submission_id, number, upload_id, clip_id, created_at)
             VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(s)
        .bind(n + 1)
        .bind(format!("upload-{id}"))
        .bind(id)
        .execute(&w.db.pool)
        .await
        .unwrap();
    }
    id
}

/// Runs the analysis chain from `analysis.fingerprint` for each clip (in order) to the end.
async fn analyse(w: &World, loader: Arc<dyn ModelLoader>, clip_ids: &[i64]) {
    let queue = Queue::new(w.db.clone(), w.config.jobs.clone());
    let env = AnalysisEnv::new(w.db.clone(), w.store.clone(), w.config.clone(), loader);
    let pool = WorkerPool::new(queue.clone(), handlers(env), 1, "test".into());
    for id in clip_ids {
        queue.enqueue(job(FINGERPRINT, *id)).await.unwrap();
        while pool.run_one("test-1").await.unwrap().is_some() {}
    }
    for job in queue.list(1000).await.unwrap() {
        assert_eq!(
            job.state.as_str(),
            "done",
            "{} {:?}",
            job.kind,
            job.last_error
        );
    }
}

/// 6 s of moving testsrc2 with a tone sweep, a resized and re-encoded copy of it, and an
/// unrelated clip (a zooming fractal with noise).
fn media(dir: &Path) -> [std::path::PathBuf; 3] {
    let original = ffmpeg(
        dir,
        "original.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=6",
            "-f",
            "lavfi",
            "-i",
            "aevalsrc=0.4*sin(2*PI*(200+60*t)*t):s=44100:d=6",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
    );
    let o = original.to_str().unwrap().to_string();
    let copy = ffmpeg(
        dir,
        "copy.mkv",
        &[
            "-i",
            &o,
            "-vf",
            "scale=160:120",
            "-c:v",
            "mpeg4",
            "-b:v",
            "200k",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
        ],
    );
    let other = ffmpeg(
        dir,
        "other.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=320x240:rate=25",
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=d=6:c=pink:a=0.3",
            "-t",
            "6",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
    );
    [original, copy, other]
}

async fn fingerprint_job_finds_copies_not_other_clips(db: Db) {
    let w = world(db);
    let dir = tempfile::tempdir().unwrap();
    let [original, copy, other] = media(dir.path());
    let s_a = submission(&w.db, "a@x", "Original", "", "en").await;
    let s_a2 = submission(&w.db, "a@x", "Again", "", "en").await;
    let s_b = submission(&w.db, "b@x", "Mine now", "", "en").await;
    let s_c = submission(&w.db, "c@x", "Fractal", "", "en").await;
    let a = clip(&w, &original, Some(s_a)).await;
    let a_v2 = clip(&w, &copy, Some(s_a)).await; // a new version of the same submission
    let a_again = clip(&w, &copy, Some(s_a2)).await; // the creator's own clip, submitted again
    let c = clip(&w, &other, Some(s_c)).await;
    let b = clip(&w, &copy, Some(s_b)).await; // another creator's copy
    analyse(&w, Arc::new(ConfiguredLoader), &[a, a_v2, a_again, c, b]).await;

    let dups = store::duplicates_of(&w.db, b).await.unwrap();
    let to_a = dups
        .iter()
        .find(|d| d.other_clip_id == a)
        .expect("the copy finds the original");
    assert_eq!(to_a.relation, Relation::OtherCreator);
    assert!(to_a.later);
    assert!(to_a.score >= 0.5, "score {}", to_a.score);
    assert!(!to_a.evidence.is_empty());
    assert!(
        dups.iter().all(|d| d.other_clip_id != c),
        "not the unrelated clip"
    );
    assert!(store::duplicates_of(&w.db, c).await.unwrap().is_empty());

    let own = store::duplicates_of(&w.db, a_again).await.unwrap();
    let own_a = own.iter().find(|d| d.other_clip_id == a).unwrap();
    assert_eq!(own_a.relation, Relation::SameCreator);
    let version = store::duplicates_of(&w.db, a_v2).await.unwrap();
    assert_eq!(
        version
            .iter()
            .find(|d| d.other_clip_id == a)
            .unwrap()
            .relation,
        Relation::SameSubmission
    );
    // Seen from the original, the later copies are listed too, but are not held against it.
    let from_a = store::duplicates_of(&w.db, a).await.unwrap();
    assert!(from_a.iter().any(|d| d.other_clip_id == b && !d.later));

    let vb = store::verdict_of(&w.db, b).await.unwrap().unwrap().verdict;
    let other: Vec<(Option<i64>, Outcome)> = vb
        .reasons
        .iter()
        .filter(|r| r.code == "duplicate_other_creator")
        .map(|r| (r.evidence.clip_id, r.outcome))
        .collect();
    let expected_a = if to_a.score >= 0.9 {
        Outcome::Reject
    } else {
        Outcome::Review
    };
    assert!(other.contains(&(Some(a), expected_a)), "{other:?}");
    // The same file uploaded earlier by the other creator (as their new version) scores ~1.
    assert!(other.contains(&(Some(a_v2), Outcome::Reject)), "{other:?}");
    assert_eq!(vb.outcome, Outcome::Reject);
    let va = store::verdict_of(&w.db, a).await.unwrap().unwrap().verdict;
    assert!(va.reasons.is_empty(), "{:?}", va.reasons);
    let v2 = store::verdict_of(&w.db, a_v2)
        .await
        .unwrap()
        .unwrap()
        .verdict;
    assert!(
        v2.reasons.iter().all(|r| r.evidence.clip_id != Some(a)),
        "a new version is no reason"
    );
    let again = store::verdict_of(&w.db, a_again)
        .await
        .unwrap()
        .unwrap()
        .verdict;
    assert!(again
        .reasons
        .iter()
        .any(|r| r.code == "duplicate_same_creator"));
}

async fn models_not_configured_make_an_incomplete_review(db: Db) {
    let w = world(db);
    let dir = tempfile::tempdir().unwrap();
    let [original, ..] = media(dir.path());
    let s = submission(&w.db, "a@x", "A song", "Nothing to see", "en").await;
    let id = clip(&w, &original, Some(s)).await;
    analyse(&w, Arc::new(ConfiguredLoader), &[id]).await;
    let checks = store::checks_of(&w.db, id).await.unwrap();
    let status = |name: &str| checks.iter().find(|c| c.name == name).map(|c| c.status);
    assert_eq!(status("duplicates"), Some(CheckStatus::Done));
    assert_eq!(status("watched_words"), Some(CheckStatus::Done));
    for name in ["captions", "text", "frames"] {
        assert_eq!(status(name), Some(CheckStatus::NotConfigured), "{name}");
    }
    let v = store::verdict_of(&w.db, id).await.unwrap().unwrap().verdict;
    assert_eq!(v.outcome, Outcome::Review, "incomplete is never pass");
    assert!(v.reasons.is_empty());
    assert_eq!(v.incomplete.len(), 3, "{:?}", v.incomplete);
    assert!(
        v.incomplete[0].starts_with("captions: no captions model is configured"),
        "{:?}",
        v.incomplete
    );
    assert!(caption_rows::all_of(&w.db, id).await.unwrap().is_empty());
}

// ---- Scripted models (test doubles) ------------------------------------------------------

fn summary(role: &'static str) -> ModelSummary {
    ModelSummary {
        role,
        family: "scripted".into(),
        format: "test".into(),
        parameters: 0,
        weight_bytes: 0,
        files: vec![],
    }
}

/// Hears two lines, records the language it was asked for.
struct Ears(Arc<StdMutex<Vec<Option<String>>>>);
impl Model for Ears {
    fn summary(&self) -> ModelSummary {
        summary("captions")
    }
}
impl SpeechToText for Ears {
    fn transcribe(
        &mut self,
        media: &Path,
        language: Option<&str>,
        ctl: &mut RunControl,
    ) -> Result<Transcript, ModelError> {
        assert!(media.exists());
        self.0.lock().unwrap().push(language.map(str::to_string));
        (ctl.progress)(1.0);
        Ok(Transcript {
            language: language.unwrap_or("en").into(),
            cues: vec![
                Cue {
                    start_ms: 0,
                    end_ms: 2_000,
                    text: "大家好".into(),
                },
                Cue {
                    start_ms: 2_000,
                    end_ms: 4_000,
                    text: "欢迎来到网络赌博平台".into(),
                },
            ],
            model: "scripted-whisper".into(),
        })
    }
}

/// Always fails.
struct Broken;
impl Model for Broken {
    fn summary(&self) -> ModelSummary {
        summary("text_moderation")
    }
}
impl TextModerator for Broken {
    fn moderate(
        &mut self,
        _: &[(&str, &str)],
        _: &mut RunControl,
    ) -> Result<Vec<Flag>, ModelError> {
        Err(ModelError::Run {
            role: "text_moderation",
            reason: "tensor shape mismatch".into(),
        })
    }
}

/// Sees something at 3 s.
struct Eyes;
impl Model for Eyes {
    fn summary(&self) -> ModelSummary {
        summary("image_moderation")
    }
}
impl FrameModerator for Eyes {
    fn moderate(&mut self, _: &Path, _: &mut RunControl) -> Result<Vec<Flag>, ModelError> {
        Ok(vec![Flag {
            source: "frame".into(),
            label: "nsfw".into(),
            score: 0.95,
            excerpt: "frame at 0:03".into(),
            at_ms: Some(3_000),
        }])
    }
}

/// Translates by tagging each cue.
struct Tongue;
impl Model for Tongue {
    fn summary(&self) -> ModelSummary {
        summary("writer")
    }
}
impl Translator for Tongue {
    fn translate(
        &mut self,
        cues: &[Cue],
        _: &str,
        to: &str,
        _: &mut RunControl,
    ) -> Result<Vec<Cue>, ModelError> {
        Ok(cues
            .iter()
            .map(|c| Cue {
                text: format!("[{to}] {}", c.text),
                ..c.clone()
            })
            .collect())
    }
}

struct Scripted {
    heard: Arc<StdMutex<Vec<Option<String>>>>,
}
impl ModelLoader for Scripted {
    fn speech_to_text(&self, _: &ModelsConfig) -> Result<Box<dyn SpeechToText>, ModelError> {
        Ok(Box::new(Ears(self.heard.clone())))
    }
    fn text_moderator(&self, _: &ModelsConfig) -> Result<Box<dyn TextModerator>, ModelError> {
        Ok(Box::new(Broken))
    }
    fn frame_moderator(&self, _: &ModelsConfig) -> Result<Box<dyn FrameModerator>, ModelError> {
        Ok(Box::new(Eyes))
    }
    fn policy_judge(&self, _: &ModelsConfig) -> Result<Box<dyn PolicyJudge>, ModelError> {
        Err(ModelError::Load {
            role: "writer",
            family: "qwen2-moe".into(),
            path: "/nowhere".into(),
            reason: "config.json is missing".into(),
        })
    }
    fn translator(&self, _: &ModelsConfig) -> Result<Box<dyn Translator>, ModelError> {
        Ok(Box::new(Tongue))
    }
}

async fn a_failing_model_fails_its_check_and_the_others_go_on(db: Db) {
    let mut w = world(db);
    let mut config = (*w.config).clone();
    config.models.writer.use_for_policy = true;
    config.models.writer.use_for_subtitles = true;
    w.config = Arc::new(config);
    watchlist::add(&w.db, "赌博", "gambling", WordSeverity::Review, "", None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let [original, ..] = media(dir.path());
    let s = submission(&w.db, "a@x", "My song", "A quiet piece", "zh-CN").await;
    let id = clip(&w, &original, Some(s)).await;
    let heard = Arc::new(StdMutex::new(Vec::new()));
    analyse(
        &w,
        Arc::new(Scripted {
            heard: heard.clone(),
        }),
        &[id],
    )
    .await;

    assert_eq!(
        *heard.lock().unwrap(),
        vec![Some("zh".to_string())],
        "the submission's language"
    );
    let rows = caption_rows::all_of(&w.db, id).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].source.as_str(), rows[0].language.as_str()),
        ("auto", "zh")
    );
    assert_eq!(rows[0].model, "scripted-whisper");
    assert_eq!(
        (rows[1].source.as_str(), rows[1].language.as_str()),
        ("auto-translation", "en")
    );
    assert_eq!(rows[1].cues[0].text, "[en] 大家好");

    let checks = store::checks_of(&w.db, id).await.unwrap();
    let check = |name: &str| checks.iter().find(|c| c.name == name).unwrap();
    assert_eq!(check("text").status, CheckStatus::Failed);
    assert!(check("text")
        .error
        .as_deref()
        .unwrap()
        .contains("tensor shape mismatch"));
    assert_eq!(check("policy").status, CheckStatus::Failed);
    assert!(check("policy")
        .error
        .as_deref()
        .unwrap()
        .contains("config.json is missing"));
    for name in [
        "captions",
        "translation",
        "frames",
        "watched_words",
        "duplicates",
    ] {
        assert_eq!(check(name).status, CheckStatus::Done, "{name}");
    }
    assert_eq!(check("frames").model, "scripted (test)");

    let v = store::verdict_of(&w.db, id).await.unwrap().unwrap().verdict;
    assert_eq!(v.outcome, Outcome::Reject, "the frame flag at 0.95");
    let codes: Vec<&str> = v.reasons.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, vec!["frame_flag", "watched_word"]);
    let word = &v.reasons[1];
    assert_eq!(
        word.evidence.at_ms,
        Some(2_000),
        "the transcript line's time"
    );
    assert_eq!(
        word.evidence.excerpt.as_deref(),
        Some("欢迎来到网络赌博平台")
    );
    assert_eq!(word.evidence.highlight, Some((6, 8)));
    assert_eq!(v.incomplete.len(), 2, "{:?}", v.incomplete);
    assert!(v
        .incomplete
        .iter()
        .any(|i| i.starts_with("text: the text_moderation model failed")));
    assert!(v.incomplete.iter().any(|i| i.starts_with("policy: ")));
}

async fn an_edit_is_a_new_row_and_wins(db: Db) {
    let w = world(db);
    let dir = tempfile::tempdir().unwrap();
    let [original, ..] = media(dir.path());
    let id = clip(&w, &original, None).await;
    let cues = vec![Cue {
        start_ms: 0,
        end_ms: 1_000,
        text: "helo".into(),
    }];
    let new = |source: &'static str, language: &'static str, based_on| caption_rows::NewCaptions {
        clip_id: id,
        language,
        source,
        cues: &cues,
        model: "m",
        edited_by: None,
        based_on,
    };
    let auto = caption_rows::insert(&w.db, &new("auto", "en", None))
        .await
        .unwrap();
    let zh = caption_rows::insert(&w.db, &new("auto-translation", "zh", None))
        .await
        .unwrap();
    let fixed = vec![Cue {
        start_ms: 100,
        end_ms: 1_200,
        text: "hello".into(),
    }];
    let edit = caption_rows::NewCaptions {
        cues: &fixed,
        edited_by: None,
        based_on: Some(auto),
        ..new("edited", "en", None)
    };
    let e1 = caption_rows::insert(&w.db, &edit).await.unwrap();
    let rows = caption_rows::all_of(&w.db, id).await.unwrap();
    assert_eq!(rows.len(), 3, "the automatic row is kept");
    let current: Vec<i64> = caption_rows::current(&rows).iter().map(|r| r.id).collect();
    assert_eq!(current, vec![e1, zh]);
    let shown = caption_rows::current_of(&w.db, id, Some("en"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown.cues, fixed);
    assert_eq!(shown.based_on, Some(auto));
    assert_eq!(
        caption_rows::get(&w.db, auto).await.unwrap().unwrap().cues,
        cues
    );
}

async fn watched_words_are_listed_and_removed(db: Db) {
    let w = world(db);
    let added = watchlist::add(
        &w.db,
        " Scam ",
        "fraud",
        WordSeverity::Reject,
        "seen in spam",
        None,
    )
    .await
    .unwrap();
    assert_eq!(added.word, "Scam");
    assert!(matches!(
        watchlist::add(&w.db, "scam", "fraud", WordSeverity::Review, "", None).await,
        Err(watchlist::WatchListError::Duplicate)
    ));
    assert!(matches!(
        watchlist::add(&w.db, "  ", "fraud", WordSeverity::Review, "", None).await,
        Err(watchlist::WatchListError::Invalid(_))
    ));
    watchlist::add(&w.db, "赌博", "gambling", WordSeverity::Review, "", None)
        .await
        .unwrap();
    let list = watchlist::list(&w.db).await.unwrap();
    assert_eq!(
        list.iter().map(|w| w.word.as_str()).collect::<Vec<_>>(),
        vec!["Scam", "赌博"]
    );
    assert!(watchlist::remove(&w.db, added.id).await.unwrap());
    assert!(!watchlist::remove(&w.db, added.id).await.unwrap());
    assert_eq!(watchlist::list(&w.db).await.unwrap().len(), 1);
}

async fn the_index_picks_up_fingerprints_of_other_workers(db: Db) {
    use crate::analysis::dupcache::DuplicateCache;
    use crate::analysis::fingerprint::Fingerprint;
    let w = world(db);
    let dir = tempfile::tempdir().unwrap();
    let [original, ..] = media(dir.path());
    // Unrelated pseudo-random hashes per seed (splitmix64).
    let hash = |seed: u64, i: u64| {
        let mut z = (seed * 1000 + i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let fp = |seed: u64| Fingerprint {
        frame_hashes: (0..20).map(|i| (i as f64 * 0.5, hash(seed, i))).collect(),
        audio: vec![],
        duration_s: 10.0,
    };
    let ids = [
        clip(&w, &original, None).await,
        clip(&w, &original, None).await,
        clip(&w, &original, None).await,
    ];
    let cache = DuplicateCache::new();
    store::save_fingerprint(&w.db, ids[0], &fp(1))
        .await
        .unwrap();
    let t = crate::config::MatchThresholds::default();
    assert!(cache
        .find(&w.db, ids[1], &fp(2), &t)
        .await
        .unwrap()
        .is_empty());
    // Another worker stores a copy's fingerprint: this worker's index finds it next time.
    store::save_fingerprint(&w.db, ids[1], &fp(1))
        .await
        .unwrap();
    let found = cache.find(&w.db, ids[2], &fp(1), &t).await.unwrap();
    let found: Vec<i64> = found.iter().map(|m| m.clip_id).collect();
    assert_eq!(found, vec![ids[0], ids[1]]);
    assert_eq!(cache.len().await, 2);
    // A re-fingerprinted clip replaces its old entry.
    store::save_fingerprint(&w.db, ids[0], &fp(3))
        .await
        .unwrap();
    let found = cache.find(&w.db, ids[2], &fp(1), &t).await.unwrap();
    assert_eq!(
        found.iter().map(|m| m.clip_id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
}

crate::both_backends!(
    fingerprint_job_finds_copies_not_other_clips,
    models_not_configured_make_an_incomplete_review,
    a_failing_model_fails_its_check_and_the_others_go_on,
    an_edit_is_a_new_row_and_wins,
    watched_words_are_listed_and_removed,
    the_index_picks_up_fingerprints_of_other_workers,
);
