//! The `models` section of the configuration: which local model serves which role.
//!
//! Each role names a model family and a local directory (or file) holding its weights
//! (safetensors or GGUF), tokenizer and config, or a Hugging Face cache entry. An empty family
//! means the role has no model: the checks that need it are reported as not run, and the
//! writer falls back to the deterministic writer.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::moderation::ImageClassifier;
use super::writer::LlmModel;
use super::{ModelError, PolicyJudge, SpeechToText, TextModerator, Translator};

use super::captions::CaptionsConfig;
use super::moderation::{ImageModelConfig, TextModelConfig};
use super::writer::WriterConfig;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    /// Where models run: `cpu` (the default), or `cuda` / `cuda:N` in a build with the `cuda`
    /// feature.
    pub device: String,
    /// Speech to text (Whisper).
    pub captions: CaptionsConfig,
    /// Text moderation of title, description and transcript.
    pub text_moderation: TextModelConfig,
    /// Keyframe moderation.
    pub image_moderation: ImageModelConfig,
    /// The host's lines (and, where enabled, bilingual subtitles and policy moderation).
    pub writer: WriterConfig,
    /// The host's voice (text to speech); empty: espeak-ng.
    pub voice: crate::voice::VoiceConfig,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            device: "cpu".into(),
            captions: CaptionsConfig::default(),
            text_moderation: TextModelConfig::default(),
            image_moderation: ImageModelConfig::default(),
            writer: WriterConfig::default(),
            voice: crate::voice::VoiceConfig::default(),
        }
    }
}

/// Where one role's model comes from: what every role's configuration has in common.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSource {
    /// The configuration key of the role (`captions`, `text_moderation`, …).
    pub role: &'static str,
    /// The model family (`whisper`, `xlm-roberta`, `qwen2-moe`, …); empty: not configured.
    pub family: String,
    /// The local directory or file.
    pub path: PathBuf,
    /// The Hugging Face repository `gala models pull` fetches into `path`; empty: none.
    pub hf_repo: String,
}

impl ModelsConfig {
    /// Every role's source, in the order `gala models` lists them.
    pub fn sources(&self) -> Vec<ModelSource> {
        vec![
            self.captions.source(),
            self.text_moderation.source(),
            self.image_moderation.source(),
            self.writer.source(),
            self.voice.source(),
        ]
    }
}

impl ModelSource {
    /// Whether the role names a model family at all.
    pub fn is_configured(&self) -> bool {
        !self.family.trim().is_empty()
    }

    /// The local directory or file holding the model: `path` when it is set, else the snapshot
    /// of `hf_repo` in the local Hugging Face cache (`HF_HOME`, default
    /// `~/.cache/huggingface`). Never downloads.
    pub fn resolve(&self) -> Result<PathBuf, ModelError> {
        if !self.is_configured() {
            return Err(ModelError::NotConfigured { role: self.role });
        }
        if !self.path.as_os_str().is_empty() {
            return if self.path.exists() {
                Ok(self.path.clone())
            } else {
                Err(self.load_error("no such file or directory".into()))
            };
        }
        if self.hf_repo.is_empty() {
            return Err(self.load_error("neither path nor hf_repo is set".into()));
        }
        let cache = hf_hub::Cache::from_env();
        let repo_dir = cache
            .path()
            .join(format!("models--{}", self.hf_repo.replace('/', "--")));
        let revision =
            std::fs::read_to_string(repo_dir.join("refs").join("main")).map_err(|_| {
                self.load_error(format!(
                    "{} is not in the local Hugging Face cache ({}); run `gala models pull`",
                    self.hf_repo,
                    cache.path().display()
                ))
            })?;
        let snapshot = repo_dir.join("snapshots").join(revision.trim());
        if snapshot.is_dir() {
            Ok(snapshot)
        } else {
            Err(self.load_error(format!(
                "the cache of {} has no snapshot {}",
                self.hf_repo,
                revision.trim()
            )))
        }
    }

    /// The files of the model (a directory's files, or the one file) with their sizes, sorted.
    pub fn files(&self) -> Result<Vec<(PathBuf, u64)>, ModelError> {
        let root = self.resolve()?;
        let mut files = Vec::new();
        if root.is_file() {
            let len = std::fs::metadata(&root).map(|m| m.len()).unwrap_or(0);
            files.push((root, len));
        } else {
            let entries = std::fs::read_dir(&root).map_err(|e| self.load_error(e.to_string()))?;
            for entry in entries.flatten() {
                // Hugging Face cache snapshots hold symlinks to blobs: follow them.
                if let Ok(meta) = std::fs::metadata(entry.path()) {
                    if meta.is_file() {
                        files.push((entry.path(), meta.len()));
                    }
                }
            }
        }
        files.sort();
        Ok(files)
    }

    pub(crate) fn load_error(&self, reason: String) -> ModelError {
        ModelError::Load {
            role: self.role,
            family: self.family.clone(),
            path: if self.path.as_os_str().is_empty() {
                self.hf_repo.clone()
            } else {
                self.path.display().to_string()
            },
            reason,
        }
    }
}

// ---- Loading, the one way every caller (workers, `gala models check`) gets a model --------

/// The configuration of a role with `path` set to where the model really is (a path, or the
/// Hugging Face cache snapshot of `hf_repo`).
fn located<C: Clone>(
    cfg: &C,
    source: ModelSource,
    set: impl FnOnce(&mut C, PathBuf),
) -> Result<C, ModelError> {
    let path = source.resolve()?;
    let mut cfg = cfg.clone();
    set(&mut cfg, path);
    Ok(cfg)
}

/// The captions model of the configuration.
pub fn load_captions(models: &ModelsConfig) -> Result<Box<dyn SpeechToText>, ModelError> {
    let cfg = located(&models.captions, models.captions.source(), |c, p| {
        c.path = p
    })?;
    super::captions::load(&cfg, &super::device(&models.device)?)
}

/// The text classifier of the configuration.
pub fn load_text_moderation(models: &ModelsConfig) -> Result<Box<dyn TextModerator>, ModelError> {
    let cfg = located(
        &models.text_moderation,
        models.text_moderation.source(),
        |c, p| c.path = p,
    )?;
    super::moderation::load_text(&cfg, &super::device(&models.device)?)
}

/// The keyframe classifier of the configuration.
pub fn load_image_classifier(models: &ModelsConfig) -> Result<ImageClassifier, ModelError> {
    let cfg = located(
        &models.image_moderation,
        models.image_moderation.source(),
        |c, p| c.path = p,
    )?;
    ImageClassifier::load(&cfg, &super::device(&models.device)?)
}

/// The writer model of the configuration.
pub fn load_writer(models: &ModelsConfig) -> Result<LlmModel, ModelError> {
    let cfg = located(&models.writer, models.writer.source(), |c, p| c.path = p)?;
    super::writer::load(&cfg, &super::device(&models.device)?)
}

/// The writer model as policy judge; not configured unless `models.writer.use_for_policy`.
pub fn load_policy_judge(models: &ModelsConfig) -> Result<Box<dyn PolicyJudge>, ModelError> {
    if !models.writer.use_for_policy {
        return Err(ModelError::NotConfigured { role: "writer" });
    }
    let cfg = located(&models.writer, models.writer.source(), |c, p| c.path = p)?;
    super::writer::policy::load(&cfg, &super::device(&models.device)?)
}

/// The writer model as translator; not configured unless `models.writer.use_for_subtitles`.
pub fn load_translator(models: &ModelsConfig) -> Result<Box<dyn Translator>, ModelError> {
    if !models.writer.use_for_subtitles {
        return Err(ModelError::NotConfigured { role: "writer" });
    }
    let cfg = located(&models.writer, models.writer.source(), |c, p| c.path = p)?;
    super::writer::translate::load(&cfg, &super::device(&models.device)?)
}

/// The voice model of the configuration (text to speech for the host cards).
pub fn load_voice(models: &ModelsConfig) -> Result<crate::voice::ParlerVoice, ModelError> {
    let cfg = located(&models.voice, models.voice.source(), |c, p| c.path = p)?;
    crate::voice::parler::load(&cfg, &super::device(&models.device)?)
}
