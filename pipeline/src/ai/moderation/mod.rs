//! Moderation models: a multilingual text classifier, a keyframe classifier and watched-word
//! lists.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::registry::ModelSource;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextModelConfig {
    /// Model family: `xlm-roberta`, `deberta-v2` or `modernbert` (sequence classification).
    /// Empty (the default): no text classifier.
    pub family: String,
    /// Directory with `model.safetensors`, `config.json` (with `id2label`) and `tokenizer.json`.
    pub path: PathBuf,
    /// Hugging Face repository that `gala models pull` fetches into `path`. Default empty.
    pub hf_repo: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageModelConfig {
    /// Model family: `vit` (image classification), `clip` or `chinese-clip` (zero-shot with
    /// prompts). Empty (the default): no keyframe classifier.
    pub family: String,
    /// Directory with `model.safetensors`, `config.json` (and `tokenizer.json` for CLIP).
    pub path: PathBuf,
    /// Hugging Face repository that `gala models pull` fetches into `path`. Default empty.
    pub hf_repo: String,
}

impl TextModelConfig {
    pub fn source(&self) -> ModelSource {
        ModelSource {
            role: "text_moderation",
            family: self.family.clone(),
            path: self.path.clone(),
            hf_repo: self.hf_repo.clone(),
        }
    }
}

impl ImageModelConfig {
    pub fn source(&self) -> ModelSource {
        ModelSource {
            role: "image_moderation",
            family: self.family.clone(),
            path: self.path.clone(),
            hf_repo: self.hf_repo.clone(),
        }
    }
}
