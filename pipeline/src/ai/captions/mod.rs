//! Captions: Whisper speech recognition on candle.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::registry::ModelSource;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptionsConfig {
    /// Model family: `whisper`. Empty (the default): no captions are made.
    pub family: String,
    /// Directory with the weights (`model.safetensors`, one `.gguf` file, or the CTranslate2
    /// `model.bin`), `config.json` and `tokenizer.json`.
    pub path: PathBuf,
    /// Hugging Face repository that `gala models pull` fetches into `path`. Default empty.
    pub hf_repo: String,
}

impl Default for CaptionsConfig {
    fn default() -> Self {
        CaptionsConfig {
            family: String::new(),
            path: PathBuf::new(),
            hf_repo: String::new(),
        }
    }
}

impl CaptionsConfig {
    pub fn source(&self) -> ModelSource {
        ModelSource {
            role: "captions",
            family: self.family.clone(),
            path: self.path.clone(),
            hf_repo: self.hf_repo.clone(),
        }
    }
}

/// One caption: a span of the clip and its text. Times in milliseconds from the clip's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
}
