//! The host's lines: a local Mixture-of-Experts LLM, checked against the facts of each act,
//! with a deterministic writer as the default and the fallback.
//!
//! - [`load`] reads a model of the configured family ([`models`]): `qwen2-moe`, `qwen3-moe`,
//!   `mixtral` (safetensors, single file or sharded) or `gguf` (a Mixtral-style GGUF through
//!   candle's quantized llama), with its tokenizer and chat template ([`chat`]).
//! - [`generate`]: the [`TextGenerator`] trait and the sampling loop (seeded, streaming).
//! - [`facts`]: what is known of an act and [`check_line`], the fact checker.
//! - [`host`]: [`HostWriter::write_line`]: model lines checked and retried, then the
//!   [`deterministic`] writer.
//! - [`translate`] and [`policy`]: the same model as [`Translator`](super::Translator) for
//!   bilingual subtitles and as [`PolicyJudge`](super::PolicyJudge).
//! - [`random`]: random-weight model files for tests and benches (speed figures only).

pub mod chat;
pub mod deterministic;
pub mod facts;
pub mod generate;
pub mod host;
pub mod models;
pub mod policy;
pub mod random;
pub mod translate;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::registry::ModelSource;

/// The candle device models run on (see [`crate::ai::device`]).
pub use candle::Device;
pub use chat::{ChatTemplate, Message};
pub use facts::{check_line, ActFacts, ActRef, Language, Problem};
pub use generate::{GenStats, Generation, TextGenerator};
pub use host::{HostLine, HostWriter};
pub use models::{load, LlmModel};
pub use policy::{default_policy, PolicyCategory, PolicyModel};
pub use translate::TranslatorModel;

/// The `models.writer` section of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriterConfig {
    /// Model family: `qwen2-moe`, `qwen3-moe`, `mixtral` (safetensors) or `gguf` (a
    /// Mixtral-style GGUF file through quantized_llama). Empty (the default): the
    /// deterministic writer writes every line.
    pub family: String,
    /// Directory with the safetensors shards, `config.json`, `tokenizer.json` and
    /// `tokenizer_config.json` (chat template), or the `.gguf` file (with `tokenizer.json`
    /// beside it).
    pub path: PathBuf,
    /// Hugging Face repository that `gala models pull` fetches into `path`. Default empty.
    pub hf_repo: String,
    /// Sampling temperature; 0 picks the most likely token. Default 0.7.
    pub temperature: f64,
    /// Nucleus sampling: the smallest set of tokens whose probabilities reach this. Default 0.9.
    pub top_p: f64,
    /// Penalty on tokens already in the context (1 = none). Default 1.1.
    pub repeat_penalty: f32,
    /// How many of the last tokens the repeat penalty looks at. Default 64.
    pub repeat_last_n: usize,
    /// Seed of the sampler: the same prompt and seed give the same line. Default 42.
    pub seed: u64,
    /// Most tokens generated for one answer. Default 160.
    pub max_tokens: usize,
    /// Model attempts per line (and per subtitle batch or policy verdict) before the fallback.
    /// Default 3.
    pub attempts: usize,
    /// Longest host line in characters. Default 120.
    pub max_chars: usize,
    /// Also translate captions into the other show language (bilingual subtitles).
    pub use_for_subtitles: bool,
    /// Also judge title, description and transcript against `policy`.
    pub use_for_policy: bool,
    /// The written policy: numbered categories the judge answers with.
    pub policy: Vec<PolicyCategory>,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            family: String::new(),
            path: PathBuf::new(),
            hf_repo: String::new(),
            temperature: 0.7,
            top_p: 0.9,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            seed: 42,
            max_tokens: 160,
            attempts: 3,
            max_chars: 120,
            use_for_subtitles: false,
            use_for_policy: false,
            policy: default_policy(),
        }
    }
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
