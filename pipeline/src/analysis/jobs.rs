//! The analysis chain as durable jobs, after ingest QC:
//! `analysis.fingerprint` → `analysis.captions` → `analysis.moderation` → `analysis.verdict`,
//! and beside it `analysis.energy` (tempo, loudness dynamics, energy for the planner), which
//! the verdict does not wait for (split: `analysis::remote`, so remote workers run it too).
//!
//! A model that is missing, fails to load or fails to run is not a job failure: its check is
//! recorded as `not_configured` or `failed` with the error, the other checks go on, and the
//! verdict names it as incomplete. Database errors are retried by the queue.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::json;

use super::checks;
use super::dupcache::DuplicateCache;
use super::models::{ModelLoader, ModelSet};
use super::remote::{
    CheckCompute, CheckLedger, EnergyCompute, EnergyLedger, FingerprintCompute, FingerprintLedger,
};
use super::store::{self, CheckRecord};
use super::verdict::{self, CheckStatus, Verdict};
use crate::ai::ModelError;
use crate::config::Config;
use crate::ingest::clips::{self, Clip};
use crate::ingest::steps::ClipJob;
use crate::jobs::split::{Compute, Ledger, Local};
use crate::jobs::{Done, Handler, JobContext, JobError, JobFuture, NewJob};
use crate::now_ms;
use crate::storage::db::Db;
use crate::storage::media::MediaStore;

pub const FINGERPRINT: &str = "analysis.fingerprint";
pub const CAPTIONS: &str = "analysis.captions";
pub const MODERATION: &str = "analysis.moderation";
pub const VERDICT: &str = "analysis.verdict";
pub const ENERGY: &str = "analysis.energy";

/// Every job kind of the analysis chain.
pub const KINDS: [&str; 5] = [FINGERPRINT, CAPTIONS, MODERATION, VERDICT, ENERGY];

/// The kinds split for remote workers (`analysis::remote`): all but the verdict.
pub const SPLIT_KINDS: [&str; 4] = [FINGERPRINT, ENERGY, CAPTIONS, MODERATION];

/// The job `kind` for a clip, filed under the clip's subject.
pub fn job(kind: &str, clip_id: i64) -> NewJob {
    NewJob::new(kind, json!(ClipJob { clip_id }))
        .with_subject(&crate::ingest::steps::subject(clip_id))
}

/// What the analysis handlers share; the models and the duplicate index live as long as the
/// worker process.
#[derive(Clone)]
pub struct AnalysisEnv {
    pub db: Db,
    pub store: Arc<dyn MediaStore>,
    pub config: Arc<Config>,
    pub models: Arc<Mutex<ModelSet>>,
    pub duplicates: Arc<DuplicateCache>,
}

impl AnalysisEnv {
    /// An environment whose models come from `loader`.
    pub fn new(
        db: Db,
        store: Arc<dyn MediaStore>,
        config: Arc<Config>,
        loader: Arc<dyn ModelLoader>,
    ) -> AnalysisEnv {
        let models = ModelSet::new(loader, config.models.clone());
        AnalysisEnv {
            db,
            store,
            config,
            models: Arc::new(Mutex::new(models)),
            duplicates: Arc::new(DuplicateCache::new()),
        }
    }
}

/// The handlers of the analysis chain: the split kinds (`analysis::remote`) run their two
/// halves in turn; the verdict reads and writes only the database.
pub fn handlers(env: AnalysisEnv) -> Vec<Arc<dyn Handler>> {
    let mut handlers = Local::pair(
        ledgers(env.db.clone(), env.config.clone(), env.duplicates.clone()),
        computes(env.store.clone(), env.models.clone()),
    );
    handlers.push(Arc::new(VerdictHandler {
        db: env.db,
        config: env.config,
    }));
    handlers
}

/// The ledger halves of the split analysis kinds (`analysis::remote`).
pub fn ledgers(
    db: Db,
    config: Arc<Config>,
    duplicates: Arc<DuplicateCache>,
) -> Vec<Arc<dyn Ledger>> {
    let mut ledgers: Vec<Arc<dyn Ledger>> = vec![
        Arc::new(EnergyLedger {
            db: db.clone(),
            limits: config.limits.clone(),
        }),
        Arc::new(FingerprintLedger {
            db: db.clone(),
            config: config.clone(),
            duplicates,
        }),
    ];
    for kind in [CAPTIONS, MODERATION] {
        ledgers.push(Arc::new(CheckLedger {
            kind,
            db: db.clone(),
            config: config.clone(),
        }));
    }
    ledgers
}

/// The compute halves of the split analysis kinds, with `models`.
pub fn computes(store: Arc<dyn MediaStore>, models: Arc<Mutex<ModelSet>>) -> Vec<Arc<dyn Compute>> {
    let mut computes: Vec<Arc<dyn Compute>> = vec![
        Arc::new(EnergyCompute {
            store: store.clone(),
        }),
        Arc::new(FingerprintCompute {
            store: store.clone(),
        }),
    ];
    for kind in [CAPTIONS, MODERATION] {
        computes.push(Arc::new(CheckCompute {
            kind,
            store: store.clone(),
            models: models.clone(),
        }));
    }
    computes
}

/// `analysis.verdict`: QC, duplicates and checks as stored → the clip's verdict.
struct VerdictHandler {
    db: Db,
    config: Arc<Config>,
}

impl Handler for VerdictHandler {
    fn kind(&self) -> &'static str {
        VERDICT
    }

    fn run(&self, ctx: JobContext) -> JobFuture<'_> {
        Box::pin(async move {
            let payload: ClipJob = serde_json::from_value(ctx.job.payload.clone())
                .map_err(|e| JobError::Fatal(format!("bad payload: {e}")))?;
            let clip_id = payload.clip_id;
            match self.decide(clip_id).await {
                Ok(()) => Ok(Done::new(json!({ "clip_id": clip_id }))),
                Err(e) if ctx.job.attempts >= ctx.job.max_attempts => {
                    Err(JobError::Fatal(format!(
                        "{VERDICT} failed after {} attempts: {e:#}",
                        ctx.job.attempts
                    )))
                }
                Err(e) => Err(JobError::Retry(e)),
            }
        })
    }
}

impl VerdictHandler {
    async fn decide(&self, clip_id: i64) -> anyhow::Result<()> {
        let clip = clips::get(&self.db, clip_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("clip {clip_id} does not exist"))?;
        if matches!(
            clip.state,
            clips::ClipState::Rejected | clips::ClipState::Failed
        ) {
            return Ok(()); // nothing to advise on: ingest refused the file
        }
        let v = compute_verdict(&self.db, &self.config, &clip).await?;
        store::save_verdict(&self.db, clip_id, &v).await
    }
}

/// A check's record from its result; model errors become `failed` or `not_configured`.
pub(crate) fn record(
    name: &str,
    started: Instant,
    result: Result<(serde_json::Value, String), ModelError>,
) -> CheckRecord {
    let (status, flags, error, model) = match result {
        Ok((flags, model)) => (CheckStatus::Done, flags, None, model),
        Err(e @ ModelError::NotConfigured { .. }) => (
            CheckStatus::NotConfigured,
            json!([]),
            Some(e.to_string()),
            String::new(),
        ),
        Err(e) => (
            CheckStatus::Failed,
            json!([]),
            Some(e.to_string()),
            String::new(),
        ),
    };
    CheckRecord {
        name: name.to_string(),
        status,
        flags,
        error,
        model,
        duration_ms: started.elapsed().as_millis() as i64,
        created_at: now_ms(),
    }
}

/// The checks every verdict expects; `policy` only when the policy check is switched on.
pub fn expected_checks(config: &Config) -> Vec<&'static str> {
    let mut names = vec!["duplicates", "captions", "text", "watched_words", "frames"];
    if config.models.writer.use_for_policy {
        names.push("policy");
    }
    names
}

/// The verdict of a clip from what is stored now.
pub async fn compute_verdict(db: &Db, config: &Config, clip: &Clip) -> anyhow::Result<Verdict> {
    let duplicates: Vec<verdict::DuplicateFinding> = store::duplicates_of(db, clip.id)
        .await?
        .into_iter()
        .filter(|d| d.later)
        .map(|d| verdict::DuplicateFinding {
            other_clip_id: d.other_clip_id,
            score: d.score,
            relation: d.relation,
            at_ms: d.evidence.first().map(|p| (p.0 * 1000.0).round() as i64),
        })
        .collect();
    let checks = store::checks_of(db, clip.id)
        .await?
        .into_iter()
        .map(checks::outcome)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let expected = expected_checks(config);
    let input = verdict::VerdictInput {
        qc: clip.qc_report.as_ref(),
        duplicates: &duplicates,
        checks: &checks,
        expected: &expected,
    };
    Ok(verdict::decide(&input, &config.moderation))
}

#[cfg(test)]
#[path = "jobs_tests.rs"]
mod tests;
