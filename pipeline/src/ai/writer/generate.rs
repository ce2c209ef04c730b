//! Text generation: the [`TextGenerator`] trait the host, translator and judge use, and the
//! sampling loop shared by every model family.

use std::time::Instant;

use candle::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use tokenizers::Tokenizer;

use super::chat::Message;
use crate::ai::{Model, ModelError, RunControl};

/// What one generation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The answer, without the stop token.
    pub text: String,
    pub stats: GenStats,
}

/// Counts and speeds of one generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenStats {
    /// Tokens of the rendered prompt.
    pub prompt_tokens: usize,
    /// Tokens sampled (the stop token included).
    pub generated_tokens: usize,
    /// Seconds to process the prompt (up to the first sampled token).
    pub prompt_s: f64,
    /// Seconds for the tokens after the first.
    pub generate_s: f64,
    /// Seconds from the call to the first sampled token: the time to first token.
    pub first_token_s: f64,
    /// True when a stop token ended the answer, false when `max_tokens` did.
    pub stopped: bool,
}

impl GenStats {
    /// Prompt tokens per second.
    pub fn prompt_tok_s(&self) -> f64 {
        rate(self.prompt_tokens, self.prompt_s)
    }

    /// Generated tokens per second (after the first).
    pub fn gen_tok_s(&self) -> f64 {
        rate(self.generated_tokens.saturating_sub(1), self.generate_s)
    }
}

fn rate(n: usize, s: f64) -> f64 {
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

/// Something that answers chat messages: the real models, or a scripted one in tests.
pub trait TextGenerator: Model {
    /// Who writes: the family and the model's directory or file name, e.g. `qwen2-moe:tiny`.
    fn name(&self) -> String;

    /// The answer to `messages`, sampled with `seed`; each new piece of text is passed to
    /// `on_token` as soon as it is complete (whole UTF-8 characters). The KV cache starts
    /// empty for every call.
    fn generate(
        &mut self,
        messages: &[Message],
        seed: u64,
        ctl: &RunControl,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Generation, ModelError>;
}

/// Sampling settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampler {
    pub temperature: f64,
    pub top_p: f64,
    pub repeat_penalty: f32,
    pub repeat_last_n: usize,
    pub max_tokens: usize,
}

impl Sampler {
    fn processor(&self, seed: u64) -> LogitsProcessor {
        let sampling = if self.temperature <= 1e-7 {
            Sampling::ArgMax
        } else if self.top_p > 0.0 && self.top_p < 1.0 {
            Sampling::TopP {
                p: self.top_p,
                temperature: self.temperature,
            }
        } else {
            Sampling::All {
                temperature: self.temperature,
            }
        };
        LogitsProcessor::from_sampling(seed, sampling)
    }
}

/// One forward step of a causal LM: logits of the last position for `ids` at `pos`.
pub trait Forward {
    fn forward(&mut self, ids: &Tensor, pos: usize) -> candle::Result<Tensor>;
    /// Empty the KV cache.
    fn reset(&mut self);
}

/// Decodes tokens incrementally, giving out only whole characters.
pub struct TokenStream<'a> {
    tokenizer: &'a Tokenizer,
    tokens: Vec<u32>,
    emitted: usize,
}

impl<'a> TokenStream<'a> {
    pub fn new(tokenizer: &'a Tokenizer) -> Self {
        TokenStream {
            tokenizer,
            tokens: Vec::new(),
            emitted: 0,
        }
    }

    /// Adds a token; returns the new text when it ends on a whole character.
    pub fn push(&mut self, token: u32) -> Result<Option<String>, String> {
        self.tokens.push(token);
        let text = self.decoded()?;
        if text.ends_with('\u{FFFD}') || text.len() <= self.emitted {
            return Ok(None);
        }
        let piece = text.get(self.emitted..).map(str::to_string);
        if piece.is_some() {
            self.emitted = text.len();
        }
        Ok(piece)
    }

    /// Everything decoded so far.
    pub fn decoded(&self) -> Result<String, String> {
        self.tokenizer
            .decode(&self.tokens, true)
            .map_err(|e| format!("detokenize: {e}"))
    }
}

/// The sampling loop: prompt, then one token at a time until a stop token or `max_tokens`.
#[allow(clippy::too_many_arguments)]
pub fn run_loop(
    model: &mut dyn Forward,
    tokenizer: &Tokenizer,
    device: &Device,
    prompt: &str,
    stop: &[u32],
    sampler: &Sampler,
    seed: u64,
    ctl: &RunControl,
    on_token: &mut dyn FnMut(&str),
) -> Result<Generation, ModelError> {
    let run = |e: String| ModelError::Run {
        role: "writer",
        reason: e,
    };
    let started = Instant::now();
    let encoding = tokenizer
        .encode(prompt, false)
        .map_err(|e| run(format!("tokenize: {e}")))?;
    let mut context: Vec<u32> = encoding.get_ids().to_vec();
    if context.is_empty() {
        return Err(run("the prompt has no tokens".into()));
    }
    let prompt_tokens = context.len();
    model.reset();
    let mut processor = sampler.processor(seed);
    let mut stream = TokenStream::new(tokenizer);
    let mut stats = GenStats {
        prompt_tokens,
        ..GenStats::default()
    };
    let mut first_at = None;
    let mut pos = 0;
    let mut input = context.clone();
    while stats.generated_tokens < sampler.max_tokens {
        ctl.check("writer")?;
        let ids = Tensor::new(input.as_slice(), device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(|e| run(e.to_string()))?;
        let next = step(model, &ids, pos, &context, sampler, &mut processor)
            .map_err(|e| run(e.to_string()))?;
        pos += input.len();
        stats.generated_tokens += 1;
        if first_at.is_none() {
            first_at = Some(Instant::now());
            stats.prompt_s = started.elapsed().as_secs_f64();
            stats.first_token_s = stats.prompt_s;
        }
        if stop.contains(&next) {
            stats.stopped = true;
            break;
        }
        context.push(next);
        input = vec![next];
        if let Some(piece) = stream.push(next).map_err(run)? {
            on_token(&piece);
        }
    }
    if let Some(first) = first_at {
        stats.generate_s = first.elapsed().as_secs_f64();
    }
    model.reset();
    Ok(Generation {
        text: stream.decoded().map_err(run)?,
        stats,
    })
}

fn step(
    model: &mut dyn Forward,
    ids: &Tensor,
    pos: usize,
    context: &[u32],
    sampler: &Sampler,
    processor: &mut LogitsProcessor,
) -> candle::Result<u32> {
    let logits = model
        .forward(ids, pos)?
        .flatten_all()?
        .to_dtype(candle::DType::F32)?;
    let logits = if sampler.repeat_penalty == 1.0 || sampler.repeat_last_n == 0 {
        logits
    } else {
        let start = context.len().saturating_sub(sampler.repeat_last_n);
        candle_transformers::utils::apply_repeat_penalty(
            &logits,
            sampler.repeat_penalty,
            &context[start..],
        )?
    };
    processor.sample(&logits)
}
