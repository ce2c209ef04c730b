//! The host's lines: a local Mixture-of-Experts LLM, checked against the facts of each act,
//! with a deterministic writer as the default and the fallback.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::registry::ModelSource;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriterConfig {
    /// Model family: `qwen2-moe`, `qwen3-moe`, `mixtral` (safetensors) or `gguf` (a
    /// Mixtral-style GGUF file through quantized_llama). Empty (the default): the
    /// deterministic writer writes every line.
    pub family: String,
    /// Directory with the safetensors shards, `config.json`, `tokenizer.json` and
    /// `tokenizer_config.json` (chat template), or the `.gguf` file.
    pub path: PathBuf,
    /// Hugging Face repository that `gala models pull` fetches into `path`. Default empty.
    pub hf_repo: String,
}

impl WriterConfig {
    pub fn source(&self) -> ModelSource {
        ModelSource {
            role: "writer",
            family: self.family.clone(),
            path: self.path.clone(),
            hf_repo: self.hf_repo.clone(),
        }
    }
}
