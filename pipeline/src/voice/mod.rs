//! The host's voice: text to speech for the host cards.
//!
//! - [`espeak`]: the embedded default, the `espeak-ng` command (Debian package), English and
//!   Mandarin voices.
//! - [`parler`]: a candle text-to-speech model (`parler-tts`: a T5 text encoder, an audio-token
//!   decoder and the DAC codec), configured as the `voice` role of the models section.
//! - [`house`]: speech brought to the house format: resampled to the house rate, stereo, at the
//!   house loudness (EBU R 128 integrated target, true peak under the ceiling).
//! - [`random`]: tiny random-weight parler-tts models for the tests.
//!
//! [`voice_for`] picks the configured model, else espeak-ng. Voices know nothing of cards or
//! of the database; `render::cards` speaks a host card's line through one.

pub mod espeak;
pub mod house;
pub mod parler;
pub mod random;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ai::registry::ModelSource;
use crate::ai::{ModelError, RunControl};

pub use espeak::EspeakVoice;
pub use house::{to_house, HouseSpeech};
pub use parler::ParlerVoice;

/// Speech as a voice made it: f32 samples (interleaved when stereo) at the voice's own rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Speech {
    /// Interleaved samples, -1..=1.
    pub samples: Vec<f32>,
    /// 1 (mono) or 2 (stereo).
    pub channels: u16,
    /// Samples per second per channel.
    pub rate: u32,
}

impl Speech {
    /// Samples per channel.
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1) as usize
    }

    /// Length in milliseconds (rounded up).
    pub fn duration_ms(&self) -> i64 {
        let frames = self.frames() as u64;
        (frames * 1000).div_ceil(self.rate.max(1) as u64) as i64
    }
}

/// Why a line could not be spoken.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// The espeak-ng program is not installed.
    #[error("espeak-ng is not installed (Debian package espeak-ng; or set models.voice to a text-to-speech model): {0}")]
    Missing(String),
    /// The voice has nothing for this language.
    #[error("{voice} has no voice for the language `{language}`")]
    Language { voice: String, language: String },
    /// The line is empty once trimmed.
    #[error("the line is empty: there is nothing to speak")]
    Empty,
    /// The voice ran but failed.
    #[error("{voice} failed: {reason}")]
    Failed { voice: String, reason: String },
    /// The configured model could not be loaded, failed, or ran out of time.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// A text-to-speech voice.
pub trait Voice: Send + Sync {
    /// Who speaks, for reports: `espeak-ng`, `parler-tts (<path>)`.
    fn name(&self) -> String;

    /// Speaks `text` in `language` (a BCP-47 tag: `en`, `zh-CN`) within the run's budget.
    fn speak(&self, text: &str, language: &str, ctl: &mut RunControl)
        -> Result<Speech, VoiceError>;
}

/// The `voice` role of the models section: the host's voice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceConfig {
    /// Model family: `parler-tts`. Empty (the default): espeak-ng.
    pub family: String,
    /// Directory with `config.json`, `model.safetensors` and `tokenizer.json`.
    pub path: PathBuf,
    /// Hugging Face repository that `gala models pull` fetches into `path`. Default empty.
    pub hf_repo: String,
    /// Parler-TTS: the description of the voice that conditions the model.
    pub description: String,
    /// Parler-TTS: sampling temperature; 0 always takes the most likely token. Default 1.0.
    pub temperature: f64,
    /// Parler-TTS: sampling seed (same line, same seed: same speech). Default 42.
    pub seed: u64,
    /// Parler-TTS: longest speech generated for one line, seconds. Default 30.
    pub max_seconds: f64,
    /// espeak-ng: speaking rate in words per minute. Default 160.
    pub espeak_wpm: u32,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            family: String::new(),
            path: PathBuf::new(),
            hf_repo: String::new(),
            description: "A warm, clear voice of a gala host, speaking at a moderate pace with a \
                          close, studio-quality recording."
                .into(),
            temperature: 1.0,
            seed: 42,
            max_seconds: 30.0,
            espeak_wpm: 160,
        }
    }
}

impl VoiceConfig {
    pub fn source(&self) -> ModelSource {
        ModelSource {
            role: "voice",
            family: self.family.clone(),
            path: self.path.clone(),
            hf_repo: self.hf_repo.clone(),
        }
    }
}

/// The host's voice of the configuration: the configured model when `models.voice` names one,
/// else espeak-ng (the embedded default). A configured model that fails to load is an error,
/// not a silent fallback: the operator asked for it.
pub fn voice_for(models: &crate::ai::ModelsConfig) -> Result<Box<dyn Voice>, VoiceError> {
    if models.voice.source().is_configured() {
        Ok(Box::new(crate::ai::registry::load_voice(models)?))
    } else {
        Ok(Box::new(EspeakVoice::new(models.voice.espeak_wpm)))
    }
}

/// How long `text` lasts when `voice` speaks it, milliseconds (the card adds its padding:
/// `show::spoken`, `render::cards`).
pub fn speech_ms(text: &str, language: &str, voice: &dyn Voice) -> Result<i64, VoiceError> {
    let mut progress = |_: f64| {};
    let mut ctl = RunControl::unlimited(&mut progress);
    Ok(voice.speak(text, language, &mut ctl)?.duration_ms())
}

#[cfg(test)]
mod tests;
