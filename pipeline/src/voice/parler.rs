//! Parler-TTS on candle (`candle_transformers::models::parler_tts`): a T5 encoder reads the
//! description of the voice, a decoder writes audio tokens for the line (one stream per
//! codebook, delayed one step each), and the DAC codec turns the tokens into a waveform.
//!
//! Loaded from a directory with `config.json` (`decoder`, `text_encoder`, `audio_encoder`),
//! `model.safetensors` and `tokenizer.json` (the T5 tokenizer, for the line and the
//! description alike), the layout of the `parler-tts/parler-tts-mini-v1` repository.

use std::sync::Mutex;

use candle::{DType, Device, IndexOp, Tensor};
use candle_transformers::generation::LogitsProcessor;
use candle_transformers::models::parler_tts;

use super::{Speech, Voice, VoiceConfig, VoiceError};
use crate::ai::moderation::weights::{ModelDir, WEIGHTS};
use crate::ai::{Model, ModelError, ModelSummary, RunControl};

/// The family name in the configuration.
pub const FAMILY: &str = "parler-tts";
const ROLE: &str = "voice";
/// The fewest audio steps the DAC decoder takes (its upsampling with odd strides needs three).
const MIN_DECODE_STEPS: usize = 3;

/// A loaded Parler-TTS model.
pub struct ParlerVoice {
    model: Mutex<parler_tts::Model>,
    tokenizer: tokenizers::Tokenizer,
    config: parler_tts::Config,
    voice: VoiceConfig,
    device: Device,
    dir: ModelDir,
    parameters: u64,
    stored: DType,
}

/// Loads the model of `cfg` (its `path` already resolved) on `device`.
pub fn load(cfg: &VoiceConfig, device: &Device) -> Result<ParlerVoice, ModelError> {
    if cfg.family != FAMILY {
        return Err(ModelError::Load {
            role: ROLE,
            family: cfg.family.clone(),
            path: cfg.path.display().to_string(),
            reason: format!("unknown voice family; the voice role takes `{FAMILY}`"),
        });
    }
    let dir = ModelDir::new(ROLE, &cfg.family, &cfg.path);
    let config: parler_tts::Config = dir.parse("config.json", dir.config_json()?)?;
    let tokenizer = dir.tokenizer()?;
    let weights = dir.weights(device)?;
    let model = parler_tts::Model::new(&config, weights.vb).map_err(|e| dir.error(e))?;
    Ok(ParlerVoice {
        model: Mutex::new(model),
        tokenizer,
        config,
        voice: cfg.clone(),
        device: device.clone(),
        dir,
        parameters: weights.parameters,
        stored: weights.stored,
    })
}

impl ParlerVoice {
    /// The codec's sample rate (44.1 kHz for the released models).
    pub fn sample_rate(&self) -> u32 {
        self.config.audio_encoder.sampling_rate
    }

    fn run_error(&self, e: impl std::fmt::Display) -> VoiceError {
        VoiceError::Model(ModelError::Run {
            role: ROLE,
            reason: e.to_string(),
        })
    }

    fn tokens(&self, text: &str) -> Result<Tensor, VoiceError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| self.run_error(format!("tokenizer: {e}")))?;
        let ids = enc.get_ids().to_vec();
        if ids.is_empty() {
            return Err(VoiceError::Empty);
        }
        Tensor::new(ids, &self.device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(|e| self.run_error(e))
    }

    /// The waveform of `codes` (codebooks, steps), every token inside the codebook.
    pub(crate) fn decode(&self, codes: &Tensor) -> Result<Vec<f32>, VoiceError> {
        let (books, usable) = codes.dims2().map_err(|e| self.run_error(e))?;
        if usable == 0 {
            return Err(self.run_error("no audio tokens to decode"));
        }
        // The codec's transposed convolutions need a few steps of input (one or two steps
        // underflow inside candle): a shorter answer is decoded with its last step repeated
        // and the waveform cut back to the usable steps.
        let decoded = usable.max(MIN_DECODE_STEPS);
        let index: Vec<u32> = (0..decoded).map(|t| t.min(usable - 1) as u32).collect();
        let codes = Tensor::new(index, codes.device())
            .and_then(|index| codes.index_select(&index, 1))
            .and_then(|c| c.to_dtype(DType::U32))
            .and_then(|c| c.unsqueeze(0))
            .and_then(|c| c.to_device(&self.device))
            .map_err(|e| self.run_error(e))?;
        debug_assert_eq!(codes.dims()[1], books);
        let model = self
            .model
            .lock()
            .map_err(|_| self.run_error("the model was poisoned by an earlier failure"))?;
        let mut pcm = model
            .audio_encoder
            .decode_codes(&codes)
            .and_then(|p| p.i((0, 0)))
            .and_then(|p| p.to_dtype(DType::F32))
            .and_then(|p| p.to_vec1::<f32>())
            .map_err(|e| self.run_error(e))?;
        pcm.truncate(pcm.len() / decoded * usable);
        Ok(pcm)
    }

    /// Audio tokens for `text`, shaped (codebooks, steps), each below the codebook size.
    fn generate(&self, text: &str, ctl: &mut RunControl) -> Result<Tensor, VoiceError> {
        let prompt = self.tokens(text)?;
        let description = self.tokens(&self.voice.description)?;
        let steps = (self.voice.max_seconds.max(0.5) * self.config.audio_encoder.frame_rate as f64)
            .ceil() as usize;
        // Positions are learned: the prompt and every step need one.
        let room = self.config.decoder.max_position_embeddings;
        let steps = steps.min(room.saturating_sub(prompt.dim(1).unwrap_or(0) + 1));
        let temperature = (self.voice.temperature > 0.0).then_some(self.voice.temperature);
        let lp = LogitsProcessor::new(self.voice.seed, temperature, None);
        ctl.check(ROLE)?;
        let mut model = self
            .model
            .lock()
            .map_err(|_| self.run_error("the model was poisoned by an earlier failure"))?;
        let codes = model
            .generate(&prompt, &description, lp, steps)
            .map_err(|e| self.run_error(e))?;
        ctl.check(ROLE)?;
        (ctl.progress)(0.8);
        Ok(codes)
    }
}

impl Voice for ParlerVoice {
    fn name(&self) -> String {
        format!("{FAMILY} ({})", self.dir.path.display())
    }

    fn speak(
        &self,
        text: &str,
        _language: &str,
        ctl: &mut RunControl,
    ) -> Result<Speech, VoiceError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(VoiceError::Empty);
        }
        let codes = self.generate(text, ctl)?;
        let (_, steps) = codes.dims2().map_err(|e| self.run_error(e))?;
        if steps == 0 {
            return Err(self.run_error("the model ended before it wrote any audio"));
        }
        // Tokens outside the codebook (the decoder's vocabulary is larger: pad, start) cannot
        // be decoded; the model only writes them at the end of the audio.
        let size = self.config.audio_encoder.codebook_size as u32;
        let rows: Vec<Vec<u32>> = codes.to_vec2().map_err(|e| self.run_error(e))?;
        let usable = (0..steps)
            .take_while(|&t| rows.iter().all(|r| r[t] < size))
            .count();
        if usable == 0 {
            return Err(self.run_error("the model wrote no decodable audio tokens"));
        }
        let codes = codes.i((.., ..usable)).map_err(|e| self.run_error(e))?;
        let pcm = self.decode(&codes)?;
        (ctl.progress)(1.0);
        if pcm.iter().any(|v| !v.is_finite()) {
            return Err(self.run_error("the codec produced non-finite samples"));
        }
        Ok(Speech {
            samples: pcm,
            channels: 1,
            rate: self.sample_rate(),
        })
    }
}

impl Model for ParlerVoice {
    fn summary(&self) -> ModelSummary {
        self.dir.summary(
            self.parameters,
            self.stored,
            &[WEIGHTS, "config.json", "tokenizer.json"],
        )
    }
}
