//! The media half of the ingest chain: each step's work from its task alone (object digests
//! and the studio's settings), reading and writing through the media store. No database: a
//! remote worker runs this.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::loudness::Loudness;
use super::normalize::NormalizeReport;
use super::probe::ProbeInfo;
use super::qc::QcReport;
use super::steps::{NORMALIZE, PROBE, PROXY, QC, THUMBNAILS};
use super::{normalize, probe, proxy, qc, thumbs, validate, IngestError, Rejection};
use crate::config::{
    Config, HouseFormat, IngestLimits, ProxyFormat, QcThresholds, ThumbnailConfig,
};
use crate::jobs::split::{self, BoxFuture, Compute};
use crate::jobs::{JobContext, JobError};
use crate::storage::media::MediaStore;

/// The settings a step runs with: the studio's, sent with every task, so that every worker
/// makes the same files whatever its own configuration says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub house: HouseFormat,
    pub limits: IngestLimits,
    pub qc: QcThresholds,
    pub thumbnails: ThumbnailConfig,
    pub proxy: ProxyFormat,
}

impl Settings {
    pub fn of(config: &Config) -> Settings {
        Settings {
            house: config.house.clone(),
            limits: config.limits.clone(),
            qc: config.qc.clone(),
            thumbnails: config.thumbnails.clone(),
            proxy: config.proxy.clone(),
        }
    }
}

/// One step's work for one clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipTask {
    pub clip_id: i64,
    /// The uploaded original.
    pub source: String,
    /// The house-format file (from normalize on).
    pub normalized: Option<String>,
    /// Integrated loudness of the source, measured by normalize (for QC).
    pub loudness_before: Option<Loudness>,
    pub source_width: Option<u32>,
    pub source_height: Option<u32>,
    pub settings: Settings,
}

/// What a step made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "made", rename_all = "snake_case")]
pub enum StepOutput {
    /// The file is at fault; the clip ends here.
    Rejected {
        why: Rejection,
    },
    Probed {
        info: ProbeInfo,
    },
    Normalized {
        digest: String,
        report: NormalizeReport,
    },
    Checked {
        report: QcReport,
    },
    Thumbnails {
        poster: String,
        sheet: String,
        waveform: String,
    },
    Proxy {
        digest: String,
    },
}

/// The media half of one ingest step.
pub struct IngestCompute {
    pub kind: &'static str,
    pub store: Arc<dyn MediaStore>,
    /// Where files being made are written (a temporary directory per job inside).
    pub scratch: PathBuf,
}

/// The compute halves of the whole chain.
pub fn computes(store: Arc<dyn MediaStore>, scratch: PathBuf) -> Vec<Arc<dyn Compute>> {
    super::steps::KINDS
        .into_iter()
        .map(|kind| {
            Arc::new(IngestCompute {
                kind,
                store: store.clone(),
                scratch: scratch.clone(),
            }) as Arc<dyn Compute>
        })
        .collect()
}

impl Compute for IngestCompute {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn compute(&self, task: Value, ctx: JobContext) -> BoxFuture<'_, Result<Value, JobError>> {
        Box::pin(async move {
            let task: ClipTask = split::parse("ingest task", task)?;
            let (kind, store, scratch) = (self.kind, self.store.clone(), self.scratch.clone());
            let progress = ctx.progress_fn();
            let made = tokio::task::spawn_blocking(move || {
                run(kind, &task, &*store, &scratch, &*progress)
            })
            .await
            .map_err(|e| anyhow::anyhow!("media step panicked: {e}"))?;
            let output = match made {
                Ok(output) => output,
                Err(IngestError::Rejected(why)) => StepOutput::Rejected { why },
                Err(IngestError::Internal(e)) => return Err(JobError::Retry(e)),
            };
            Ok(serde_json::to_value(output).map_err(anyhow::Error::from)?)
        })
    }
}

/// Runs one step on this thread.
fn run(
    kind: &str,
    task: &ClipTask,
    store: &dyn MediaStore,
    scratch: &Path,
    progress: &(dyn Fn(f64) + Send + Sync),
) -> Result<StepOutput, IngestError> {
    let s = &task.settings;
    std::fs::create_dir_all(scratch).map_err(anyhow::Error::from)?;
    let dir = tempfile::tempdir_in(scratch).map_err(anyhow::Error::from)?;
    let dir = dir.path();
    let normalized = || -> Result<PathBuf, IngestError> {
        let digest = task
            .normalized
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("clip {} has no normalized file yet", task.clip_id))?;
        Ok(store.local_path(digest)?)
    };
    Ok(match kind {
        PROBE => {
            let src = store.local_path(&task.source)?;
            let info = probe::probe(&src, &s.limits)?;
            validate::validate(&info, &s.limits)?;
            StepOutput::Probed { info }
        }
        NORMALIZE => {
            let src = store.local_path(&task.source)?;
            let out = dir.join("normalized.mp4");
            let report = normalize::normalize(&src, &out, &s.house, &s.limits, progress)?;
            let digest = store.put_file(&out)?;
            StepOutput::Normalized { digest, report }
        }
        QC => {
            let src = store.local_path(&task.source)?;
            let analysed = normalized()?;
            let input = qc::QcInput {
                analysed: &analysed,
                source: Some(&src),
                loudness_before: task.loudness_before,
                source_width: task.source_width,
                source_height: task.source_height,
            };
            let report = qc::analyze(&input, &s.qc, &s.house, &s.limits, progress)?;
            StepOutput::Checked { report }
        }
        THUMBNAILS => {
            let src = normalized()?;
            let (poster, sheet, wave) = (
                dir.join("poster.png"),
                dir.join("sheet.png"),
                dir.join("waveform.png"),
            );
            thumbs::poster(&src, &poster, &s.thumbnails, &s.limits)?;
            progress(0.4);
            thumbs::contact_sheet(&src, &sheet, &s.thumbnails, &s.limits)?;
            progress(0.8);
            thumbs::waveform(&src, &wave, &s.thumbnails, &s.limits)?;
            StepOutput::Thumbnails {
                poster: store.put_file(&poster)?,
                sheet: store.put_file(&sheet)?,
                waveform: store.put_file(&wave)?,
            }
        }
        PROXY => {
            let src = normalized()?;
            let out = dir.join("proxy.mp4");
            proxy::make_proxy(&src, &out, &s.proxy, &s.limits, progress)?;
            StepOutput::Proxy {
                digest: store.put_file(&out)?,
            }
        }
        other => return Err(anyhow::anyhow!("no ingest step called {other}").into()),
    })
}
