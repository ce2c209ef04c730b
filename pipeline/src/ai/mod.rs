//! Local AI models on candle: nothing leaves the house, nothing is downloaded at run time.
//!
//! - [`captions`]: Whisper speech recognition (safetensors, GGUF or the CTranslate2 layout),
//!   30-second windows, WebVTT and SRT.
//! - [`moderation`]: the text classifier, the keyframe classifier and watched-word lists.
//! - [`writer`]: the host's lines from a local Mixture-of-Experts LLM, checked against the facts
//!   of each act, with a deterministic writer as default and fallback; the same model writes
//!   bilingual subtitles and judges a written policy.
//! - [`registry`]: the `models` section of the configuration: which model serves which role,
//!   and `gala models list|check|pull`.
//!
//! Model code knows nothing of the database: the job handlers in `analysis` load a model, run it
//! inside the job's time budget and store what it found.

pub mod captions;
pub mod moderation;
pub mod pull;
pub mod registry;
pub mod writer;

pub use registry::ModelsConfig;

use std::path::{Path, PathBuf};
use std::time::Instant;

use captions::Cue;

// ---- What the analysis jobs need of each role -------------------------------------------
// The job handlers (`analysis`) hold these trait objects, so they depend on no model family.
// Each role's module has `pub fn load(config, device) -> Result<Box<dyn Trait>, ModelError>`.

/// What every loaded model tells `gala models list|check`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelSummary {
    /// The configuration key of the role.
    pub role: &'static str,
    /// The family as configured (`whisper`, `xlm-roberta`, `qwen2-moe`, …).
    pub family: String,
    /// The layout and weight type read, for example `safetensors f32`, `gguf q4_0` or
    /// `ctranslate2 f16`.
    pub format: String,
    /// Number of parameters (weights) loaded.
    pub parameters: u64,
    /// Bytes the weights take in memory once loaded.
    pub weight_bytes: u64,
    /// The files read.
    pub files: Vec<PathBuf>,
}

/// A model of any role.
pub trait Model: Send {
    fn summary(&self) -> ModelSummary;
}

/// The time budget and progress report of one model run, passed down by the job.
pub struct RunControl<'a> {
    /// The run fails with [`ModelError::Budget`] once this instant has passed.
    pub deadline: Option<Instant>,
    /// The budget in seconds, for the error message.
    pub budget_s: u64,
    /// Called with the fraction done (0..=1).
    pub progress: &'a mut dyn FnMut(f64),
}

impl RunControl<'_> {
    /// A control without deadline that ignores progress (tests, benches, smoke inferences).
    pub fn unlimited(progress: &mut dyn FnMut(f64)) -> RunControl<'_> {
        RunControl {
            deadline: None,
            budget_s: 0,
            progress,
        }
    }

    /// Err(Budget) once the deadline has passed; the model code calls this between steps.
    pub fn check(&self, role: &'static str) -> Result<(), ModelError> {
        match self.deadline {
            Some(d) if Instant::now() > d => Err(ModelError::Budget {
                role,
                budget_s: self.budget_s,
            }),
            _ => Ok(()),
        }
    }
}

/// A transcript made by a speech model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Transcript {
    /// The spoken language, as given by the submission or detected (ISO 639-1, `en`, `zh`).
    pub language: String,
    /// The captions in time order. Empty when nothing was spoken (music, silence).
    pub cues: Vec<Cue>,
    /// Which model made it (family and file name), recorded with the captions.
    pub model: String,
}

/// Speech to text (the `captions` role).
pub trait SpeechToText: Model {
    /// Captions of the audio of a media file; `language` is the submission's language when it
    /// gives one.
    fn transcribe(
        &mut self,
        media: &Path,
        language: Option<&str>,
        ctl: &mut RunControl,
    ) -> Result<Transcript, ModelError>;
}

/// One thing a moderation model found, with its evidence.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Flag {
    /// Where: `title`, `description`, `transcript`, `frame` or `policy`.
    pub source: String,
    /// The label or policy category (`toxic`, `nsfw`, `S3 Hate`, …).
    pub label: String,
    /// The model's score for the label (0..=1; 1.0 where the model gives no score).
    pub score: f32,
    /// The text that triggered it (a sentence, a transcript line) or a description of the frame.
    pub excerpt: String,
    /// Time in the clip, for frames and transcript lines.
    pub at_ms: Option<i64>,
}

/// Text moderation of named fields (`title`, `description`, `transcript`).
pub trait TextModerator: Model {
    /// Flags above the model's own reporting floor, for every field.
    fn moderate(
        &mut self,
        fields: &[(&str, &str)],
        ctl: &mut RunControl,
    ) -> Result<Vec<Flag>, ModelError>;
}

/// Keyframe moderation.
pub trait FrameModerator: Model {
    /// Flags for frames sampled through the media file.
    fn moderate(&mut self, media: &Path, ctl: &mut RunControl) -> Result<Vec<Flag>, ModelError>;
}

/// The writer model judging text against the written policy (optional).
pub trait PolicyJudge: Model {
    /// One flag per policy category found, with the line that triggered it.
    fn judge(
        &mut self,
        fields: &[(&str, &str)],
        ctl: &mut RunControl,
    ) -> Result<Vec<Flag>, ModelError>;
}

/// The writer model turning captions into the other show language (optional).
pub trait Translator: Model {
    /// The cues in `to` (`zh` or `en`), one for each cue given, with the same timing.
    fn translate(
        &mut self,
        cues: &[Cue],
        from: &str,
        to: &str,
        ctl: &mut RunControl,
    ) -> Result<Vec<Cue>, ModelError>;
}

/// Why a model could not be used. The message names the role, the family and the files, so that
/// a verdict can say which check is incomplete and why.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The role has no model in the configuration.
    #[error("no {role} model is configured (models.{role} in gala.yaml)")]
    NotConfigured { role: &'static str },
    /// The files are missing, unreadable or not what the family expects.
    #[error("the {role} model ({family} at {path}) could not be loaded: {reason}")]
    Load {
        role: &'static str,
        family: String,
        path: String,
        reason: String,
    },
    /// The model loaded but running it failed.
    #[error("the {role} model failed: {reason}")]
    Run { role: &'static str, reason: String },
    /// The job's time budget ran out.
    #[error("the {role} model ran out of its time budget ({budget_s} s)")]
    Budget { role: &'static str, budget_s: u64 },
}

/// The candle device the configuration asks for: `cpu` (the default) or `cuda` / `cuda:N`
/// (only in a build with candle's `cuda` feature).
pub fn device(name: &str) -> Result<candle::Device, ModelError> {
    let name = name.trim();
    if name.is_empty() || name == "cpu" {
        return Ok(candle::Device::Cpu);
    }
    let ordinal = match name.strip_prefix("cuda") {
        Some("") => 0,
        Some(rest) => rest
            .trim_start_matches(':')
            .parse()
            .map_err(|_| ModelError::Load {
                role: "device",
                family: name.into(),
                path: String::new(),
                reason: "models.device must be cpu, cuda or cuda:N".into(),
            })?,
        None => {
            return Err(ModelError::Load {
                role: "device",
                family: name.into(),
                path: String::new(),
                reason: "models.device must be cpu, cuda or cuda:N".into(),
            })
        }
    };
    candle::Device::new_cuda(ordinal).map_err(|e| ModelError::Load {
        role: "device",
        family: name.into(),
        path: String::new(),
        reason: e.to_string(),
    })
}
