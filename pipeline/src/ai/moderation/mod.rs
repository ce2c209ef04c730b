//! Moderation models: a multilingual text classifier and a keyframe classifier (watched-word
//! lists live beside them, owned by the jobs).
//!
//! - [`text`]: sequence classification (`xlm-roberta`, `deberta-v2`, `modernbert`) of named
//!   fields; long fields are cut into sentence-aligned, overlapping chunks ([`chunks`]).
//! - [`image`]: keyframe classification, either a `vit` classifier with its own labels or
//!   zero-shot `clip` / `chinese-clip` against configured prompts; frames come from
//!   [`frames`], preprocessed as the model's `preprocessor_config.json` says.
//! - [`labels`]: which labels count as harmful, shared by both.
//! - [`fixtures`]: random-weight model directories of every family, built on the fly for tests
//!   and `gala bench moderation` (throughput depends only on the shapes).

pub mod chunks;
pub mod clip_config;
pub mod fixtures;
pub mod frames;
pub mod image;
pub mod labels;
pub mod text;
pub mod weights;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::registry::ModelSource;

pub use image::{load_image, ImageClassifier};
pub use labels::LabelScore;
pub use text::{load_text, TextClassifier};

/// Default reporting floor of both classifiers.
pub const DEFAULT_REPORT_FLOOR: f32 = 0.3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextModelConfig {
    /// Model family: `xlm-roberta`, `deberta-v2` or `modernbert` (sequence classification).
    /// Empty (the default): no text classifier.
    pub family: String,
    /// Directory with `model.safetensors`, `config.json` (with `id2label`) and `tokenizer.json`.
    pub path: PathBuf,
    /// Hugging Face repository that `gala models pull` fetches into `path`. Default empty.
    pub hf_repo: String,
    /// Labels (as in `id2label`) that are reported. Empty (the default): every label except
    /// the harmless ones (`safe`, `neutral`, `normal`, `non-toxic`, `LABEL_0`, …; see
    /// [`labels::is_harmless`]).
    pub flag_labels: Vec<String>,
    /// A label is reported when its score reaches this (0..=1). Default 0.3.
    pub report_floor: f32,
    /// Longest chunk in tokens, special tokens included; the model's own limit caps it.
    /// Default 512.
    pub max_tokens: usize,
}

impl Default for TextModelConfig {
    fn default() -> Self {
        TextModelConfig {
            family: String::new(),
            path: PathBuf::new(),
            hf_repo: String::new(),
            flag_labels: Vec::new(),
            report_floor: DEFAULT_REPORT_FLOOR,
            max_tokens: 512,
        }
    }
}

/// One zero-shot prompt of a CLIP keyframe classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    /// The label a flag carries (`violence`, `nudity`, …).
    pub label: String,
    /// The text the frame is compared with (`a photo of violence or gore`).
    pub text: String,
    /// Whether a frame matching this prompt is reported; `false` for the harmless prompts
    /// that give the model something else to choose.
    pub flag: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageModelConfig {
    /// Model family: `vit` (image classification), `clip` or `chinese-clip` (zero-shot with
    /// prompts). Empty (the default): no keyframe classifier.
    pub family: String,
    /// Directory with `model.safetensors`, `config.json` (and `tokenizer.json` for CLIP;
    /// `preprocessor_config.json` when the model has one).
    pub path: PathBuf,
    /// Hugging Face repository that `gala models pull` fetches into `path`. Default empty.
    pub hf_repo: String,
    /// Frames sampled evenly through each clip. Default 8.
    pub frames: usize,
    /// A label is reported when its score on a frame reaches this (0..=1). Default 0.3.
    pub report_floor: f32,
    /// `vit` only: labels reported; empty (the default): every label but the harmless ones.
    pub flag_labels: Vec<String>,
    /// `clip` / `chinese-clip` only: the prompts. Empty (the default): English prompts for
    /// `clip`, Chinese ones for `chinese-clip` (see [`image::default_prompts`]).
    pub prompts: Vec<Prompt>,
}

impl Default for ImageModelConfig {
    fn default() -> Self {
        ImageModelConfig {
            family: String::new(),
            path: PathBuf::new(),
            hf_repo: String::new(),
            frames: 8,
            report_floor: DEFAULT_REPORT_FLOOR,
            flag_labels: Vec::new(),
            prompts: Vec::new(),
        }
    }
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

#[cfg(test)]
mod image_tests;
#[cfg(test)]
mod text_tests;
