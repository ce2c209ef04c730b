//! The `models` section of the configuration: which local model serves which role.
//!
//! Each role names a model family and a local directory (or file) holding its weights
//! (safetensors or GGUF), tokenizer and config, or a Hugging Face cache entry. An empty family
//! means the role has no model: the checks that need it are reported as not run, and the
//! writer falls back to the deterministic writer.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            device: "cpu".into(),
            captions: CaptionsConfig::default(),
            text_moderation: TextModelConfig::default(),
            image_moderation: ImageModelConfig::default(),
            writer: WriterConfig::default(),
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
