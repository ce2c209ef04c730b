//! Reading a model directory: `config.json`, `model.safetensors`, `tokenizer.json`, with every
//! failure turned into a [`ModelError::Load`] that names the role, family and path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::ai::{ModelError, ModelSummary};

/// The weights file every family reads.
pub const WEIGHTS: &str = "model.safetensors";

/// One model directory being loaded for a role.
#[derive(Debug, Clone)]
pub struct ModelDir {
    pub role: &'static str,
    pub family: String,
    pub path: PathBuf,
}

/// Weights read into memory, and what the summary says about them.
pub struct Weights {
    pub vb: VarBuilder<'static>,
    pub parameters: u64,
    /// Type of the stored tensors (`f32`, `f16`, `bf16`); the model runs in f32.
    pub stored: DType,
}

impl ModelDir {
    pub fn new(role: &'static str, family: &str, path: &Path) -> ModelDir {
        ModelDir {
            role,
            family: family.to_string(),
            path: path.to_path_buf(),
        }
    }

    /// A load error about this directory.
    pub fn error(&self, reason: impl std::fmt::Display) -> ModelError {
        ModelError::Load {
            role: self.role,
            family: self.family.clone(),
            path: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    /// The path of a file that must exist in the directory.
    pub fn file(&self, name: &str) -> Result<PathBuf, ModelError> {
        if !self.path.is_dir() {
            return Err(self.error("the model directory does not exist"));
        }
        let file = self.path.join(name);
        if file.is_file() {
            Ok(file)
        } else {
            Err(self.error(format!("{name} is missing")))
        }
    }

    /// `config.json`, parsed.
    pub fn config_json(&self) -> Result<serde_json::Value, ModelError> {
        let file = self.file("config.json")?;
        let text =
            std::fs::read_to_string(&file).map_err(|e| self.error(format!("config.json: {e}")))?;
        serde_json::from_str(&text).map_err(|e| self.error(format!("config.json: {e}")))
    }

    /// A JSON value deserialized into a model's own config type, with a clear error.
    pub fn parse<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        value: serde_json::Value,
    ) -> Result<T, ModelError> {
        serde_json::from_value(value).map_err(|e| self.error(format!("{what}: {e}")))
    }

    /// `tokenizer.json`.
    pub fn tokenizer(&self) -> Result<tokenizers::Tokenizer, ModelError> {
        let file = self.file("tokenizer.json")?;
        tokenizers::Tokenizer::from_file(&file)
            .map_err(|e| self.error(format!("tokenizer.json: {e}")))
    }

    /// `model.safetensors`, read whole, as a var builder in f32.
    pub fn weights(&self, device: &Device) -> Result<Weights, ModelError> {
        let file = self.file(WEIGHTS)?;
        let tensors: HashMap<String, Tensor> = candle::safetensors::load(&file, device)
            .map_err(|e| self.error(format!("{WEIGHTS}: {e}")))?;
        if tensors.is_empty() {
            return Err(self.error(format!("{WEIGHTS} holds no tensors")));
        }
        let parameters = tensors.values().map(|t| t.elem_count() as u64).sum();
        let stored = tensors
            .values()
            .map(|t| t.dtype())
            .next()
            .unwrap_or(DType::F32);
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Ok(Weights {
            vb,
            parameters,
            stored,
        })
    }

    /// The summary of a model loaded from this directory.
    pub fn summary(&self, weights_parameters: u64, stored: DType, files: &[&str]) -> ModelSummary {
        ModelSummary {
            role: self.role,
            family: self.family.clone(),
            format: format!("safetensors {}", stored.as_str()),
            parameters: weights_parameters,
            weight_bytes: weights_parameters * DType::F32.size_in_bytes() as u64,
            files: files
                .iter()
                .map(|f| self.path.join(f))
                .filter(|p| p.is_file())
                .collect(),
        }
    }

    /// Wraps a candle error from building the model.
    pub fn build<T>(&self, result: candle::Result<T>) -> Result<T, ModelError> {
        result.map_err(|e| self.error(format!("{WEIGHTS} does not fit config.json: {e}")))
    }
}

/// A run error of a role.
pub fn run_error(role: &'static str, e: impl std::fmt::Display) -> ModelError {
    ModelError::Run {
        role,
        reason: e.to_string(),
    }
}
