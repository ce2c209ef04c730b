//! The model checks of a clip, run by the analysis jobs: captions (and their translation), then
//! moderation of the title, description and transcript (text classifier, watched words, policy
//! judge) and of the pictures (keyframe classifier). Each check is recorded on its own; a
//! model that fails does not stop the others.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;

use super::captions::{self, NewCaptions};
use super::jobs::{normalized_path, record, AnalysisEnv};
use super::models::ModelSet;
use super::store::{self, CheckRecord, SubmissionText};
use super::verdict::CheckOutcome;
use super::watchlist;
use super::watchwords::WatchList;
use crate::ai::captions::Cue;
use crate::ai::{ModelError, ModelSummary, RunControl, Transcript};
use crate::ingest::clips::Clip;
use crate::jobs::JobContext;

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

/// Transcribes the normalized file, stores the automatic captions (and their translation when
/// switched on) and records the `captions` (and `translation`) checks.
pub async fn captions(env: &AnalysisEnv, ctx: &JobContext, clip: &Clip) -> anyhow::Result<()> {
    let started = Instant::now();
    let path = normalized_path(env, clip)?;
    let language = store::submission_text(&env.db, clip.id)
        .await?
        .and_then(|s| speech_language(&s.language));
    let budget = captions_budget_s(env, clip);
    let result: Result<Transcript, ModelError> =
        with_models(&env.models, ctx, budget, move |set, ctl| {
            set.speech_to_text()?
                .transcribe(&path, language.as_deref(), ctl)
        })
        .await?;
    let transcript = match result {
        Ok(t) => t,
        Err(e) => {
            let rec = record("captions", started, Err(e));
            return store::save_check(&env.db, clip.id, &rec).await;
        }
    };
    captions::insert(
        &env.db,
        &NewCaptions {
            clip_id: clip.id,
            language: &transcript.language,
            source: captions::AUTO,
            cues: &transcript.cues,
            model: &transcript.model,
            edited_by: None,
            based_on: None,
        },
    )
    .await?;
    let flags = json!({ "cues": transcript.cues.len(), "language": transcript.language });
    let rec = record("captions", started, Ok((flags, transcript.model.clone())));
    store::save_check(&env.db, clip.id, &rec).await?;
    if env.config.models.writer.use_for_subtitles && !transcript.cues.is_empty() {
        translate(env, ctx, clip, transcript).await?;
    }
    Ok(())
}

/// The captions model's budget for a clip: `models.captions.budget_per_media_second` times the
/// clip's length, never under the `moderation.check_budget_s` floor.
fn captions_budget_s(env: &AnalysisEnv, clip: &Clip) -> u64 {
    let seconds = clip
        .normalize_report
        .as_ref()
        .map(|r| r.duration_s)
        .unwrap_or(0.0);
    let per_second = env.config.models.captions.budget_per_media_second;
    ((seconds * per_second).ceil() as u64).max(env.config.moderation.check_budget_s)
}

async fn translate(
    env: &AnalysisEnv,
    ctx: &JobContext,
    clip: &Clip,
    transcript: Transcript,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let from = transcript.language.clone();
    let to = other_language(&from);
    let budget = captions_budget_s(env, clip);
    let result = with_models(&env.models, ctx, budget, move |set, ctl| {
        let model = set.translator()?;
        let cues = model.translate(&transcript.cues, &from, to, ctl)?;
        Ok::<_, ModelError>((cues, model_name(model.summary())))
    })
    .await?;
    let result = match result {
        Ok((cues, model)) => {
            captions::insert(
                &env.db,
                &NewCaptions {
                    clip_id: clip.id,
                    language: to,
                    source: captions::AUTO_TRANSLATION,
                    cues: &cues,
                    model: &model,
                    edited_by: None,
                    based_on: None,
                },
            )
            .await?;
            Ok((json!({ "cues": cues.len(), "language": to }), model))
        }
        Err(e) => Err(e),
    };
    store::save_check(&env.db, clip.id, &record("translation", started, result)).await
}

/// Moderates the clip's texts and pictures; records the `text`, `watched_words`, `frames` and
/// (when switched on) `policy` checks.
pub async fn moderation(env: &AnalysisEnv, ctx: &JobContext, clip: &Clip) -> anyhow::Result<()> {
    let text = store::submission_text(&env.db, clip.id)
        .await?
        .unwrap_or(SubmissionText {
            title: clip.source_name.clone(),
            description: String::new(),
            language: String::new(),
        });
    // The transcript as shown: the latest human edit wins over the automatic one.
    let cues: Vec<Cue> = captions::current_of(&env.db, clip.id, None)
        .await?
        .map(|row| row.cues)
        .unwrap_or_default();
    let transcript = cues
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");

    // Watched words: no model, always run.
    let started = Instant::now();
    let words = watchlist::list(&env.db).await?;
    let list = WatchList::new(words.iter().map(|w| w.entry()).collect())?;
    let mut hits = list.find("title", &text.title, None);
    hits.extend(list.find("description", &text.description, None));
    for cue in &cues {
        hits.extend(list.find("transcript", &cue.text, Some(cue.start_ms)));
    }
    let rec = record(
        "watched_words",
        started,
        Ok((json!(hits), format!("{} watched words", list.len()))),
    );
    store::save_check(&env.db, clip.id, &rec).await?;

    let fields: Vec<(String, String)> = [
        ("title", text.title),
        ("description", text.description),
        ("transcript", transcript),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let budget = env.config.moderation.check_budget_s;

    let started = Instant::now();
    let f = fields.clone();
    let result = with_models(&env.models, ctx, budget, move |set, ctl| {
        let model = set.text_moderator()?;
        let borrowed: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Ok((
            json!(model.moderate(&borrowed, ctl)?),
            model_name(model.summary()),
        ))
    })
    .await?;
    store::save_check(&env.db, clip.id, &record("text", started, result)).await?;

    let started = Instant::now();
    let path = normalized_path(env, clip)?;
    let result = with_models(&env.models, ctx, budget, move |set, ctl| {
        let model = set.frame_moderator()?;
        Ok((
            json!(model.moderate(&path, ctl)?),
            model_name(model.summary()),
        ))
    })
    .await?;
    store::save_check(&env.db, clip.id, &record("frames", started, result)).await?;

    if env.config.models.writer.use_for_policy {
        let started = Instant::now();
        let result = with_models(&env.models, ctx, budget, move |set, ctl| {
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
        store::save_check(&env.db, clip.id, &record("policy", started, result)).await?;
    }
    Ok(())
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
