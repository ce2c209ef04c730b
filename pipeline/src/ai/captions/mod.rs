//! Captions: Whisper speech recognition on candle.
//!
//! [`load`] reads a model directory in any of three layouts ([`weights`]): Hugging Face
//! safetensors, one GGUF file, or CTranslate2's `model.bin` ([`ct2`], what faster-whisper users
//! have). [`Whisper::transcribe`] decodes the first audio stream of a media file ([`audio`]),
//! runs 30-second windows with Whisper's timestamp rules, temperature fallback and no-speech
//! gate ([`transcribe`], [`decode`]) and returns cues at absolute times, which
//! [`subtitles`] writes as WebVTT or SubRip and reads back after a person edits them.

pub mod audio;
pub mod ct2;
pub mod decode;
pub mod subtitles;
pub mod timing;
pub mod tokens;
pub mod transcribe;
pub mod weights;

#[cfg(test)]
mod real_tests;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use super::registry::ModelSource;
use super::{Model, ModelError, ModelSummary, RunControl, SpeechToText, Transcript};

pub use subtitles::{parse_srt, parse_vtt, to_srt, to_vtt, SubtitleError};

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
    /// Spoken language (ISO 639-1) when the submission gives none; empty: detected.
    /// English-only models (`.en`) always transcribe English.
    pub language: String,
    /// Sampling temperatures tried in turn while a window's text repeats itself or is
    /// improbable (Whisper's fallback).
    pub temperatures: Vec<f64>,
    /// A window whose no-speech probability is above this and whose text is improbable
    /// (average log-probability below `logprob_threshold`) is taken as silence or music.
    pub no_speech_threshold: f64,
    /// Average log-probability per token below which a window's text is improbable.
    pub logprob_threshold: f64,
    /// Text bytes over zlib bytes above which a window's text is repetitive.
    pub compression_ratio_threshold: f64,
    /// Seconds of the job's time budget per second of media.
    pub budget_per_media_second: f64,
}

impl Default for CaptionsConfig {
    fn default() -> Self {
        CaptionsConfig {
            family: String::new(),
            path: PathBuf::new(),
            hf_repo: String::new(),
            language: String::new(),
            temperatures: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            no_speech_threshold: 0.6,
            logprob_threshold: -1.0,
            compression_ratio_threshold: 2.4,
            budget_per_media_second: 2.0,
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

/// A loaded Whisper: network, tokenizer and what it was loaded from.
pub struct Whisper {
    loaded: weights::Loaded,
    tokenizer: Tokenizer,
    specials: tokens::Specials,
    config: CaptionsConfig,
    device: candle::Device,
    filters: Vec<f32>,
    /// `.en` models: English only, no language or task token (Whisper's rule: a vocabulary
    /// smaller than the multilingual one's 51865).
    english_only: bool,
}

/// Loads the Whisper model of `cfg` (layout detected from the files in `cfg.path`).
pub fn load(
    cfg: &CaptionsConfig,
    device: &candle::Device,
) -> Result<Box<dyn SpeechToText>, ModelError> {
    Ok(Box::new(Whisper::load(cfg, device)?))
}

impl Whisper {
    /// See [`load`].
    pub fn load(cfg: &CaptionsConfig, device: &candle::Device) -> Result<Whisper, ModelError> {
        let fail = |reason: String| ModelError::Load {
            role: "captions",
            family: cfg.family.clone(),
            path: cfg.path.display().to_string(),
            reason,
        };
        if cfg.family.is_empty() {
            return Err(ModelError::NotConfigured { role: "captions" });
        }
        if cfg.family != "whisper" {
            return Err(fail(format!(
                "unknown family {:?} (want whisper)",
                cfg.family
            )));
        }
        let layout = weights::detect(&cfg.path).map_err(fail)?;
        let dir: &Path = if cfg.path.is_file() {
            cfg.path.parent().unwrap_or(Path::new("."))
        } else {
            &cfg.path
        };
        let config_path = dir.join("config.json");
        let config_json: serde_json::Value = std::fs::read_to_string(&config_path)
            .map_err(|e| format!("{}: {e}", config_path.display()))
            .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("config.json: {e}")))
            .map_err(fail)?;
        let tokenizer = tokens::load_tokenizer(dir).map_err(fail)?;
        let specials = tokens::Specials::of(&tokenizer).map_err(fail)?;
        let mut loaded = weights::load(&layout, &config_json, device).map_err(fail)?;
        let net_cfg = loaded.net.config().clone();
        if net_cfg.vocab_size <= specials.timestamp_begin as usize {
            return Err(fail(format!(
                "the model's vocabulary ({}) has no timestamp tokens (they start at {})",
                net_cfg.vocab_size, specials.timestamp_begin
            )));
        }
        loaded.files.push(config_path);
        let tokenizer_file = ["tokenizer.json", "vocabulary.txt"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file());
        loaded.files.extend(tokenizer_file);
        Ok(Whisper {
            english_only: net_cfg.vocab_size < 51865,
            filters: audio::mel_filters(net_cfg.num_mel_bins),
            loaded,
            tokenizer,
            specials,
            config: cfg.clone(),
            device: device.clone(),
        })
    }

    /// Captions of 16-kHz mono samples (what [`SpeechToText::transcribe`] does after decoding
    /// the file).
    pub fn transcribe_samples(
        &mut self,
        samples: &[f32],
        language: Option<&str>,
        ctl: &mut RunControl,
    ) -> Result<Transcript, ModelError> {
        let job = transcribe::Job {
            net: &mut self.loaded.net,
            tokenizer: &self.tokenizer,
            specials: &self.specials,
            suppress: &self.loaded.suppress,
            suppress_begin: &self.loaded.suppress_begin,
            config: &self.config,
            device: &self.device,
            filters: &self.filters,
            english_only: self.english_only,
        };
        let (language, cues) = transcribe::transcribe(job, samples, language, ctl)?;
        let file = self
            .loaded
            .files
            .first()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Transcript {
            language,
            cues,
            model: format!("whisper {file}"),
        })
    }
}

impl Model for Whisper {
    fn summary(&self) -> ModelSummary {
        ModelSummary {
            role: "captions",
            family: self.config.family.clone(),
            format: self.loaded.format.clone(),
            parameters: self.loaded.parameters,
            weight_bytes: self.loaded.weight_bytes,
            files: self.loaded.files.clone(),
        }
    }
}

impl SpeechToText for Whisper {
    fn transcribe(
        &mut self,
        media: &Path,
        language: Option<&str>,
        ctl: &mut RunControl,
    ) -> Result<Transcript, ModelError> {
        ctl.check("captions")?;
        let samples = audio::decode_mono_16k(media).map_err(|reason| ModelError::Run {
            role: "captions",
            reason,
        })?;
        self.transcribe_samples(&samples, language, ctl)
    }
}
