//! The model checks of a clip, run by the analysis jobs: captions (and their translation), then
//! moderation of the title, description and transcript (text classifier, watched words, policy
//! judge) and of the pictures (keyframe classifier). Each check is recorded on its own; a
//! model that fails does not stop the others.
//!
//! Each step is three parts, so that the models can run on a remote worker: a task read from
//! the database (`captions_task`, `moderation_task`), the model work on the task alone
//! (`compute_captions`, `compute_moderation`: no database) and [`save`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::captions::{self, NewCaptions};
use super::jobs::record;
use super::models::ModelSet;
use super::store::{self, CheckRecord, SubmissionText};
use super::verdict::CheckOutcome;
use super::watchlist;
use super::watchwords::{WatchList, WordEntry};
use crate::ai::captions::Cue;
use crate::ai::{ModelError, ModelSummary, RunControl, Transcript};
use crate::config::Config;
use crate::ingest::clips::Clip;
use crate::jobs::JobContext;
use crate::storage::db::Db;
use crate::storage::media::MediaStore;

/// The ISO 639-1 code of a submission language (`zh-CN` → `zh`); None for `none` or empty.
pub fn speech_language(language: &str) -> Option<String> {
    let primary = language.split(['-', '_']).next().unwrap_or("").trim();
    if primary.is_empty() || primary.eq_ignore_ascii_case("none") {
        return None;
    }
    Some(primary.to_ascii_lowercase())
}

/// The other show language captions are translated into.
fn other_language(language: &str) -> &'static str {
    if language == "zh" {
        "en"
    } else {
        "zh"
    }
}

/// How a model is named in the records, from its summary.
fn model_name(s: ModelSummary) -> String {
    format!("{} ({})", s.family, s.format)
}

/// Runs `f` with the worker's models on a blocking thread, with a run control whose deadline is
/// `budget_s` from now and whose progress goes to the job.
async fn with_models<T: Send + 'static>(
    models: &Arc<Mutex<ModelSet>>,
    ctx: &JobContext,
    budget_s: u64,
    f: impl FnOnce(&mut ModelSet, &mut RunControl) -> T + Send + 'static,
) -> anyhow::Result<T> {
    let models = models.clone();
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let mut set = models.lock().unwrap_or_else(PoisonError::into_inner);
        let mut progress = |fraction: f64| ctx.progress(fraction, None);
        let mut ctl = RunControl {
            deadline: Some(Instant::now() + Duration::from_secs(budget_s)),
            budget_s,
            progress: &mut progress,
        };
        f(&mut set, &mut ctl)
    })
    .await
    .map_err(|e| anyhow::anyhow!("a model run panicked: {e}"))
}

/// What a check step made: caption rows and check records, written by [`save`] in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChecksOutput {
    pub captions: Vec<CaptionRows>,
    pub checks: Vec<CheckRecord>,
}

/// Automatic captions to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptionRows {
    pub language: String,
    /// `captions::AUTO` or `captions::AUTO_TRANSLATION`.
    pub source: String,
    pub cues: Vec<Cue>,
    pub model: String,
}

/// Stores a check step's output: caption rows first, then the check records.
pub async fn save(db: &Db, clip_id: i64, out: &ChecksOutput) -> anyhow::Result<()> {
    for rows in &out.captions {
        captions::insert(
            db,
            &NewCaptions {
                clip_id,
                language: &rows.language,
                source: &rows.source,
                cues: &rows.cues,
                model: &rows.model,
                edited_by: None,
                based_on: None,
            },
        )
        .await?;
    }
    for check in &out.checks {
        store::save_check(db, clip_id, check).await?;
    }
    Ok(())
}

/// What the captions step needs: no database from here on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptionsTask {
    pub clip_id: i64,
    pub normalized: String,
    /// The spoken language the submission gives (ISO 639-1), if any.
    pub language: Option<String>,
    pub budget_s: u64,
    /// Translate the captions into the other show language too.
    pub translate: bool,
}

/// The captions task of a clip, from the database.
pub async fn captions_task(db: &Db, config: &Config, clip: &Clip) -> anyhow::Result<CaptionsTask> {
    let language = store::submission_text(db, clip.id)
        .await?
        .and_then(|s| speech_language(&s.language));
    Ok(CaptionsTask {
        clip_id: clip.id,
        normalized: clip.normalized()?.to_string(),
        language,
        budget_s: captions_budget_s(config, clip),
        translate: config.models.writer.use_for_subtitles,
    })
}

/// Transcribes the normalized file into automatic captions (and their translation when
/// switched on), with the `captions` (and `translation`) checks.
pub async fn compute_captions(
    models: &Arc<Mutex<ModelSet>>,
    store: &Arc<dyn MediaStore>,
    ctx: &JobContext,
    task: CaptionsTask,
) -> anyhow::Result<ChecksOutput> {
    let mut out = ChecksOutput::default();
    let started = Instant::now();
    let (store, digest, language) = (
        store.clone(),
        task.normalized.clone(),
        task.language.clone(),
    );
    let result: Result<Transcript, ModelError> =
        with_models(models, ctx, task.budget_s, move |set, ctl| {
            let path = fetch(store.as_ref(), &digest, "captions")?;
            set.speech_to_text()?
                .transcribe(&path, language.as_deref(), ctl)
        })
        .await?;
    let transcript = match result {
        Ok(t) => t,
        Err(e) => {
            out.checks.push(record("captions", started, Err(e)));
            return Ok(out);
        }
    };
    let flags = json!({ "cues": transcript.cues.len(), "language": transcript.language });
    out.captions.push(CaptionRows {
        language: transcript.language.clone(),
        source: captions::AUTO.to_string(),
        cues: transcript.cues.clone(),
        model: transcript.model.clone(),
    });
    out.checks.push(record(
        "captions",
        started,
        Ok((flags, transcript.model.clone())),
    ));
    if task.translate && !transcript.cues.is_empty() {
        translate(models, ctx, task.budget_s, transcript, &mut out).await?;
    }
    Ok(out)
}

/// The captions model's budget for a clip: `models.captions.budget_per_media_second` times the
/// clip's length, never under the `moderation.check_budget_s` floor.
fn captions_budget_s(config: &Config, clip: &Clip) -> u64 {
    let seconds = clip
        .normalize_report
        .as_ref()
        .map(|r| r.duration_s)
        .unwrap_or(0.0);
    let per_second = config.models.captions.budget_per_media_second;
    ((seconds * per_second).ceil() as u64).max(config.moderation.check_budget_s)
}

async fn translate(
    models: &Arc<Mutex<ModelSet>>,
    ctx: &JobContext,
    budget_s: u64,
    transcript: Transcript,
    out: &mut ChecksOutput,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let from = transcript.language.clone();
    let to = other_language(&from);
    let result = with_models(models, ctx, budget_s, move |set, ctl| {
        let model = set.translator()?;
        let cues = model.translate(&transcript.cues, &from, to, ctl)?;
        Ok::<_, ModelError>((cues, model_name(model.summary())))
    })
    .await?;
    let result = match result {
        Ok((cues, model)) => {
            let flags = json!({ "cues": cues.len(), "language": to });
            out.captions.push(CaptionRows {
                language: to.to_string(),
                source: captions::AUTO_TRANSLATION.to_string(),
                cues,
                model: model.clone(),
            });
            Ok((flags, model))
        }
        Err(e) => Err(e),
    };
    out.checks.push(record("translation", started, result));
    Ok(())
}

/// What the moderation step needs: the texts, the transcript as shown, the watched words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationTask {
    pub clip_id: i64,
    pub normalized: String,
    pub title: String,
    pub description: String,
    pub cues: Vec<Cue>,
    pub words: Vec<WordEntry>,
    pub budget_s: u64,
    /// Run the policy judge too.
    pub policy: bool,
}

/// The moderation task of a clip, from the database.
pub async fn moderation_task(
    db: &Db,
    config: &Config,
    clip: &Clip,
) -> anyhow::Result<ModerationTask> {
    let text = store::submission_text(db, clip.id)
        .await?
        .unwrap_or(SubmissionText {
            title: clip.source_name.clone(),
            description: String::new(),
            language: String::new(),
        });
    // The transcript as shown: the latest human edit wins over the automatic one.
    let cues: Vec<Cue> = captions::current_of(db, clip.id, None)
        .await?
        .map(|row| row.cues)
        .unwrap_or_default();
    let words = watchlist::list(db).await?;
    Ok(ModerationTask {
        clip_id: clip.id,
        normalized: clip.normalized()?.to_string(),
        title: text.title,
        description: text.description,
        cues,
        words: words.iter().map(|w| w.entry()).collect(),
        budget_s: config.moderation.check_budget_s,
        policy: config.models.writer.use_for_policy,
    })
}

/// Moderates the clip's texts and pictures: the `text`, `watched_words`, `frames` and (when
/// switched on) `policy` checks.
pub async fn compute_moderation(
    models: &Arc<Mutex<ModelSet>>,
    store: &Arc<dyn MediaStore>,
    ctx: &JobContext,
    task: ModerationTask,
) -> anyhow::Result<ChecksOutput> {
    let mut out = ChecksOutput::default();
    let transcript = task
        .cues
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");

    // Watched words: no model, always run.
    let started = Instant::now();
    let list = WatchList::new(task.words)?;
    let mut hits = list.find("title", &task.title, None);
    hits.extend(list.find("description", &task.description, None));
    for cue in &task.cues {
        hits.extend(list.find("transcript", &cue.text, Some(cue.start_ms)));
    }
    out.checks.push(record(
        "watched_words",
        started,
        Ok((json!(hits), format!("{} watched words", list.len()))),
    ));

    let fields: Vec<(String, String)> = [
        ("title", task.title),
        ("description", task.description),
        ("transcript", transcript),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let budget = task.budget_s;

    let started = Instant::now();
    let f = fields.clone();
    let result = with_models(models, ctx, budget, move |set, ctl| {
        let model = set.text_moderator()?;
        let borrowed: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Ok((
            json!(model.moderate(&borrowed, ctl)?),
            model_name(model.summary()),
        ))
    })
    .await?;
    out.checks.push(record("text", started, result));

    let started = Instant::now();
    let (store, digest) = (store.clone(), task.normalized.clone());
    let result = with_models(models, ctx, budget, move |set, ctl| {
        let model = set.frame_moderator()?;
        let path = fetch(store.as_ref(), &digest, "image_moderation")?;
        Ok((
            json!(model.moderate(&path, ctl)?),
            model_name(model.summary()),
        ))
    })
    .await?;
    out.checks.push(record("frames", started, result));

    if task.policy {
        let started = Instant::now();
        let result = with_models(models, ctx, budget, move |set, ctl| {
            let model = set.policy_judge()?;
            let borrowed: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            Ok((
                json!(model.judge(&borrowed, ctl)?),
                model_name(model.summary()),
            ))
        })
        .await?;
        out.checks.push(record("policy", started, result));
    }
    Ok(out)
}

/// The local path of object `digest` for a model of `role`; a store that cannot give it fails
/// that model's check.
fn fetch(store: &dyn MediaStore, digest: &str, role: &'static str) -> Result<PathBuf, ModelError> {
    store.local_path(digest).map_err(|e| ModelError::Run {
        role,
        reason: format!("{e:#}"),
    })
}

/// A stored check as the verdict reads it.
pub fn outcome(rec: CheckRecord) -> anyhow::Result<CheckOutcome> {
    let (flags, words) = match rec.name.as_str() {
        "text" | "frames" | "policy" => (serde_json::from_value(rec.flags)?, Vec::new()),
        "watched_words" => (Vec::new(), serde_json::from_value(rec.flags)?),
        _ => (Vec::new(), Vec::new()),
    };
    Ok(CheckOutcome {
        name: rec.name,
        status: rec.status,
        flags,
        words,
        error: rec.error,
    })
}
