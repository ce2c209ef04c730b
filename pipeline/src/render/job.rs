//! The `render.show` job: what the dashboard's Render button queues. It is split
//! (`jobs::split`) so that a render farm needs no database:
//!
//! - the ledger half (studio) describes the show's current version (`render::show::describe`:
//!   clips by digest with their captions, cards as specs) and packs the configured fonts and
//!   templates (`render::look`) into a [`RenderTask`];
//! - the compute half (any worker) fetches the clips, renders the cards (the host's lines
//!   spoken), renders the master with its rundown exports, and puts them all into the media
//!   store;
//! - the ledger half records the files' digests as the job's result (the studio serves them to
//!   directors) and saves the host cards' spoken lengths as the show's next version.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::cards::CardRenderer;
use super::look::{self, Look};
use super::show::{self, Built, CardLength, Described, ItemSource};
use super::{CaptionMode, RenderError, RenderPlan};
use crate::ai::ModelsConfig;
use crate::config::{Config, HouseFormat, IngestLimits};
use crate::jobs::split::{self, BoxFuture, Compute, Ledger, Needs, Prepared};
use crate::jobs::{Done, Job, JobContext, JobError, NewJob};
use crate::show::StoreError;
use crate::storage::db::Db;
use crate::storage::media::MediaStore;
use crate::voice::{EspeakVoice, Voice};

pub const KIND: &str = "render.show";

/// The files beside the master, by the suffix they take after `show-<id>.`.
pub const SIDECARS: [&str; 4] = ["rundown.csv", "rundown.json", "otio", "srt"];

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    show_id: i64,
}

/// The job that renders show `show_id` (subject `show:<id>`).
pub fn new_job(show_id: i64) -> NewJob {
    NewJob::new(KIND, json!({ "show_id": show_id })).with_subject(&subject(show_id))
}

pub fn subject(show_id: i64) -> String {
    format!("show:{show_id}")
}

/// Everything a worker needs to render a show: no database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderTask {
    pub show_id: i64,
    pub version: i64,
    pub show: Described,
    pub house: HouseFormat,
    pub captions: CaptionMode,
    pub limits: IngestLimits,
    pub look: Look,
    /// The host speaks with espeak-ng at this rate (the studio has no voice model); `None`:
    /// with the worker's voice model.
    pub espeak_wpm: Option<u32>,
}

/// What a worker made of a [`RenderTask`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderOutput {
    pub version: i64,
    /// The master (MP4).
    pub master: String,
    /// The rundowns, timeline and captions beside it, by suffix ([`SIDECARS`]).
    pub sidecars: BTreeMap<String, String>,
    pub frames: u64,
    pub fps: u32,
    pub copied_frames: u64,
    pub encoded_frames: u64,
    /// Items (or their ends) replaced by slates in the master.
    pub replaced: usize,
    pub loudness_lufs: Option<f64>,
    pub elapsed_s: f64,
    pub card_lengths: Vec<CardLength>,
    pub problems: Vec<(u64, String)>,
}

/// The database half of `render.show`.
pub struct RenderLedger {
    pub db: Db,
    pub store: Arc<dyn MediaStore>,
    pub config: Arc<Config>,
}

impl Ledger for RenderLedger {
    fn kind(&self) -> &'static str {
        KIND
    }

    /// The voice model, when the studio has one: the host's lines sound the same from every
    /// worker.
    fn needs(&self) -> Needs {
        let voice = self.config.models.voice.source();
        Needs {
            models: if voice.is_configured() {
                vec![voice.role.to_string()]
            } else {
                Vec::new()
            },
            gpu: false,
        }
    }

    fn prepare(&self, job: Job) -> BoxFuture<'_, Result<Prepared, JobError>> {
        Box::pin(async move {
            let Payload { show_id } = split::parse("render payload", job.payload)?;
            let record = crate::show::store::get(&self.db, show_id)
                .await
                .map_err(|e| match e {
                    StoreError::Db(e) => JobError::Retry(e),
                    other => JobError::Fatal(other.to_string()),
                })?;
            let described = show::describe(&self.db, &record).await?;
            let (store, cfg) = (self.store.clone(), self.config.clone());
            let look = tokio::task::spawn_blocking(move || {
                look::pack(store.as_ref(), &cfg.render, &cfg.cards)
            })
            .await
            .map_err(anyhow::Error::from)??;
            let cfg = &self.config;
            let voice = cfg.models.voice.source();
            let task = RenderTask {
                show_id,
                version: record.version,
                show: described,
                house: cfg.house.clone(),
                captions: CaptionMode::from_config(&cfg.render.captions),
                limits: cfg.limits.clone(),
                look,
                espeak_wpm: (!voice.is_configured()).then_some(cfg.models.voice.espeak_wpm),
            };
            Ok(Prepared::Task(
                serde_json::to_value(task).map_err(anyhow::Error::from)?,
            ))
        })
    }

    fn record(&self, job: Job, output: Value) -> BoxFuture<'_, Result<Done, JobError>> {
        Box::pin(async move {
            let Payload { show_id } = split::parse("render payload", job.payload)?;
            let out: RenderOutput = split::output(KIND, output)?;
            let mut digests = vec![out.master.as_str()];
            digests.extend(out.sidecars.values().map(String::as_str));
            split::held(&self.store, &digests).await?;
            let lengths_saved =
                show::save_card_lengths(&self.db, show_id, out.version, &out.card_lengths).await;
            Ok(Done::new(json!({
                "master": out.master,
                "sidecars": out.sidecars,
                "version": out.version,
                "frames": out.frames,
                "fps": out.fps,
                "copied_frames": out.copied_frames,
                "encoded_frames": out.encoded_frames,
                "replaced": out.replaced,
                "problems": out.problems.iter().map(|(id, p)| format!("item {id}: {p}")).collect::<Vec<_>>(),
                "card_lengths_saved": lengths_saved.map(|r| r.map_or_else(|e| json!({ "error": e }), |v| json!({ "version": v }))),
                "loudness_lufs": out.loudness_lufs,
                "elapsed_s": out.elapsed_s,
            })))
        })
    }
}

/// The compute half of `render.show`: media through `store`, files made under `tmp`, the
/// host's voice model (when the task asks for one) from `models`.
pub struct RenderCompute {
    pub store: Arc<dyn MediaStore>,
    pub models: ModelsConfig,
    pub tmp: PathBuf,
}

impl Compute for RenderCompute {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn compute(&self, task: Value, ctx: JobContext) -> BoxFuture<'_, Result<Value, JobError>> {
        Box::pin(async move {
            let task: RenderTask = split::parse("render task", task)?;
            let (store, models, tmp) = (self.store.clone(), self.models.clone(), self.tmp.clone());
            ctx.progress(0.0, Some("cards"));
            tokio::task::spawn_blocking(move || {
                render_task(&task, store.as_ref(), &models, &tmp, &ctx)
            })
            .await
            .map_err(|e| anyhow::anyhow!("the render panicked: {e}"))?
        })
    }
}

fn render_task(
    task: &RenderTask,
    store: &dyn MediaStore,
    models: &ModelsConfig,
    tmp: &std::path::Path,
    ctx: &JobContext,
) -> Result<Value, JobError> {
    std::fs::create_dir_all(tmp).map_err(anyhow::Error::from)?;
    let work = tempfile::Builder::new()
        .prefix(".render-")
        .tempdir_in(tmp)
        .map_err(anyhow::Error::from)?;
    let (render_cfg, cards_cfg) = look::unpack(store, &task.look, &work.path().join("look"))?;
    let cards = CardRenderer::new(&cards_cfg).map_err(anyhow::Error::from)?;
    let voice = voice(task, models);
    let Built {
        items,
        card_lengths,
        problems,
    } = show::build(
        &task.show,
        store,
        &cards,
        &task.house,
        voice.as_deref(),
        work.path(),
    )?;
    let plan = RenderPlan {
        house: task.house.clone(),
        items,
        captions: task.captions,
        config: render_cfg,
        limits: task.limits.clone(),
    };
    let out = work.path().join(format!("show-{}.mp4", task.show_id));
    let report = super::render(&plan, &out, &|p| {
        let f = p.frames_done as f64 / p.frames_total.max(1) as f64;
        ctx.progress(
            f,
            Some(&format!("{} of {} frames", p.frames_done, p.frames_total)),
        );
    })
    .map_err(|e| match e {
        RenderError::Plan(_) => JobError::Fatal(e.to_string()),
        other => JobError::Retry(other.into()),
    })?;
    super::export::write_all(&out, &plan, &report).map_err(anyhow::Error::from)?;
    let master = store.put_file(&out)?;
    let mut sidecars = BTreeMap::new();
    for suffix in SIDECARS {
        let path = out.with_extension(suffix);
        if path.exists() {
            sidecars.insert(suffix.to_string(), store.put_file(&path)?);
        }
    }
    let output = RenderOutput {
        version: task.version,
        master,
        sidecars,
        frames: report.frames,
        fps: report.fps,
        copied_frames: report.copied_frames,
        encoded_frames: report.encoded_frames,
        replaced: report.items.iter().filter(|i| i.replaced.is_some()).count(),
        loudness_lufs: report.loudness.integrated_lufs,
        elapsed_s: report.elapsed_s,
        card_lengths,
        problems,
    };
    Ok(serde_json::to_value(output).map_err(anyhow::Error::from)?)
}

/// The host's voice for a task, when any of its cards speaks: espeak-ng at the studio's rate,
/// or this worker's voice model. Without one the cards are silent (and say so in the log).
fn voice(task: &RenderTask, models: &ModelsConfig) -> Option<Box<dyn Voice>> {
    let speaks = task
        .show
        .items
        .iter()
        .any(|i| matches!(&i.source, ItemSource::Card { spec } if spec.speak));
    if !speaks {
        return None;
    }
    match task.espeak_wpm {
        Some(wpm) => Some(Box::new(EspeakVoice::new(wpm))),
        None => crate::voice::voice_for(models)
            .map_err(
                |e| tracing::warn!(error = %e, "no voice for the host cards; they will be silent"),
            )
            .ok(),
    }
}

/// The ledger and compute halves, for a worker with the database and the engine's store.
pub fn ledger(db: Db, store: Arc<dyn MediaStore>, config: Arc<Config>) -> Arc<dyn Ledger> {
    Arc::new(RenderLedger { db, store, config })
}

/// The compute half for a worker with this configuration (files made under `data_dir/tmp`).
pub fn compute(store: Arc<dyn MediaStore>, config: &Config) -> Arc<dyn Compute> {
    Arc::new(RenderCompute {
        store,
        models: config.models.clone(),
        tmp: config.data_dir.join("tmp"),
    })
}
