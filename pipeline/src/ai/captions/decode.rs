//! Decoding one 30-second window: the prompt, the logit rules (suppressed tokens, timestamp
//! pairs), greedy or seeded sampling, and the figures the fallback and gating read.

use std::io::Write;

use candle::{Device, IndexOp, Tensor};
use rand::rngs::StdRng;
use rand::Rng;
use tokenizers::Tokenizer;

use super::tokens::Specials;
use super::weights::Net;

/// One decoding pass over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    /// The sampled tokens, without the prompt and without the end of text.
    pub tokens: Vec<u32>,
    /// Sum of the log-probabilities of the sampled tokens (end of text included) over their
    /// count.
    pub avg_logprob: f64,
    /// Probability of the no-speech token at the start-of-transcript position.
    pub no_speech_prob: f64,
    /// Text bytes over zlib-compressed bytes: high when the text repeats itself.
    pub compression_ratio: f64,
    pub temperature: f64,
}

/// The tokens a pass may never sample and the sizes it works with.
pub struct Rules<'a> {
    pub specials: &'a Specials,
    /// Suppressed at every step (config.json's list and the control tokens).
    pub suppress: Vec<u32>,
    /// Suppressed at the first sampled step (blank and end of text).
    pub suppress_begin: Vec<u32>,
    /// Most tokens one pass samples (half the decoder context, as Whisper does).
    pub sample_len: usize,
    /// The largest first timestamp, in 20-ms steps (Whisper: 1 s).
    pub max_initial_timestamp: u32,
}

/// Decodes one window from the encoder output `audio` after `prompt`.
pub fn run_pass(
    net: &mut Net,
    rules: &Rules,
    audio: &Tensor,
    prompt: &[u32],
    temperature: f64,
    rng: &mut StdRng,
    tokenizer: &Tokenizer,
) -> candle::Result<Pass> {
    let sp = rules.specials;
    let device = audio.device().clone();
    let mut tokens = prompt.to_vec();
    let mut sum_logprob = 0.0f64;
    let mut no_speech_prob = 0.0;
    let sot_index = prompt.iter().position(|&t| t == sp.sot).unwrap_or(0);
    for step in 0..rules.sample_len {
        let input = Tensor::new(tokens.as_slice(), &device)?.unsqueeze(0)?;
        let logits = net.logits(&input, audio, step == 0)?;
        if step == 0 {
            if let Some(ns) = sp.no_speech {
                let at_sot = logits.i((0, sot_index))?;
                let probs = candle_nn::ops::softmax_last_dim(&at_sot.unsqueeze(0)?)?.squeeze(0)?;
                no_speech_prob = probs.i(ns as usize)?.to_scalar::<f32>()? as f64;
            }
        }
        let seq_len = tokens.len();
        let mut l: Vec<f32> = logits.i((0, seq_len - 1))?.to_vec1()?;
        apply_rules(&mut l, &tokens[prompt.len()..], rules);
        let logprobs = log_softmax(&l);
        let next = if temperature <= 0.0 {
            argmax(&l)
        } else {
            sample(&l, temperature, rng)
        };
        sum_logprob += logprobs[next as usize] as f64;
        if next == sp.eot {
            break;
        }
        tokens.push(next);
        if tokens.len() >= net.config().max_target_positions {
            break;
        }
    }
    let sampled = tokens[prompt.len()..].to_vec();
    let text = text_of(tokenizer, sp, &sampled);
    Ok(Pass {
        avg_logprob: sum_logprob / (sampled.len() + 1) as f64,
        no_speech_prob,
        compression_ratio: compression_ratio(&text),
        tokens: sampled,
        temperature,
    })
}

/// Masks what may not come next: suppressed tokens, blank starts, and Whisper's timestamp
/// rules (timestamps in pairs around text, never decreasing, the first one within 1 s, and a
/// timestamp forced when timestamps together are likelier than any text token).
pub fn apply_rules(l: &mut [f32], sampled: &[u32], rules: &Rules) {
    let sp = rules.specials;
    let n = l.len();
    let mut mask = |range: std::ops::Range<usize>| {
        for v in &mut l[range.start.min(n)..range.end.min(n)] {
            *v = f32::NEG_INFINITY;
        }
    };
    for &t in &rules.suppress {
        mask(t as usize..t as usize + 1);
    }
    if sampled.is_empty() {
        for &t in &rules.suppress_begin {
            mask(t as usize..t as usize + 1);
        }
    }
    let tb = sp.timestamp_begin as usize;
    let is_ts = |t: &u32| *t as usize >= tb;
    let last_ts = sampled.last().is_some_and(is_ts);
    let penultimate_ts = sampled.len() < 2 || is_ts(&sampled[sampled.len() - 2]);
    if last_ts {
        if penultimate_ts {
            mask(tb..n);
        } else {
            mask(0..sp.eot as usize);
        }
    }
    if let Some(&last) = sampled.iter().rev().find(|t| is_ts(t)) {
        let bound = if last_ts && !penultimate_ts {
            last as usize
        } else {
            last as usize + 1
        };
        mask(tb..bound);
    }
    if sampled.is_empty() {
        mask(0..tb);
        mask(tb + rules.max_initial_timestamp as usize + 1..n);
    }
    if tb < n {
        let logprobs = log_softmax(l);
        let ts_mass = log_sum_exp(&logprobs[tb..]);
        let best_text = logprobs[..tb]
            .iter()
            .cloned()
            .fold(f32::NEG_INFINITY, f32::max);
        if ts_mass > best_text {
            for v in &mut l[..tb] {
                *v = f32::NEG_INFINITY;
            }
        }
    }
}

/// The language token likeliest after `<|startoftranscript|>`.
pub fn detect_language(
    net: &mut Net,
    sp: &Specials,
    audio: &Tensor,
    device: &Device,
) -> candle::Result<Option<(String, u32)>> {
    if sp.languages.is_empty() {
        return Ok(None);
    }
    let input = Tensor::new(&[sp.sot], device)?.unsqueeze(0)?;
    let logits: Vec<f32> = net.logits(&input, audio, true)?.i((0, 0))?.to_vec1()?;
    Ok(sp
        .languages
        .iter()
        .filter(|(_, id)| (*id as usize) < logits.len())
        .max_by(|a, b| logits[a.1 as usize].total_cmp(&logits[b.1 as usize]))
        .cloned())
}

/// The text of the text tokens among `tokens` (timestamps and specials left out).
pub fn text_of(tokenizer: &Tokenizer, sp: &Specials, tokens: &[u32]) -> String {
    let text: Vec<u32> = tokens.iter().copied().filter(|&t| t < sp.eot).collect();
    tokenizer.decode(&text, true).unwrap_or_default()
}

/// Bytes of the text over bytes of its zlib compression (Whisper's repetition measure).
pub fn compression_ratio(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let compressed = z
        .write_all(text.as_bytes())
        .and_then(|_| z.finish())
        .map(|v| v.len())
        .unwrap_or(text.len());
    text.len() as f64 / compressed.max(1) as f64
}

fn argmax(l: &[f32]) -> u32 {
    l.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i as u32)
}

fn sample(l: &[f32], temperature: f64, rng: &mut StdRng) -> u32 {
    let max = l.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let weights: Vec<f64> = l
        .iter()
        .map(|&v| ((v as f64 - max) / temperature).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut r = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return i as u32;
        }
        r -= w;
    }
    argmax(l)
}

fn log_sum_exp(v: &[f32]) -> f32 {
    let max = v.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    max + v.iter().map(|x| (x - max).exp()).sum::<f32>().ln()
}

fn log_softmax(l: &[f32]) -> Vec<f32> {
    let lse = log_sum_exp(l);
    l.iter().map(|x| x - lse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specials() -> Specials {
        Specials {
            eot: 10,
            sot: 11,
            transcribe: None,
            translate: None,
            sot_prev: None,
            sot_lm: None,
            no_speech: Some(12),
            no_timestamps: 13,
            timestamp_begin: 14,
            languages: vec![],
            blank: vec![],
        }
    }

    fn allowed(sampled: &[u32]) -> Vec<usize> {
        allowed_with(sampled, None)
    }

    /// The tokens left after the rules, with flat logits except `boost` (set high).
    fn allowed_with(sampled: &[u32], boost: Option<usize>) -> Vec<usize> {
        let sp = specials();
        let rules = Rules {
            specials: &sp,
            suppress: sp.control(),
            suppress_begin: vec![sp.eot],
            sample_len: 10,
            max_initial_timestamp: 3,
        };
        let mut l = vec![0.0f32; 30];
        if let Some(b) = boost {
            l[b] = 10.0;
        }
        apply_rules(&mut l, sampled, &rules);
        (0..30).filter(|&i| l[i].is_finite()).collect()
    }

    #[test]
    fn timestamps_come_in_pairs_and_never_go_back() {
        // Start: a timestamp within max_initial (14..=17); flat logits give timestamps more
        // mass than any text token, so text is masked too.
        assert_eq!(allowed(&[]), vec![14, 15, 16, 17]);
        // After an opening timestamp: text (and end of text), no timestamp.
        assert_eq!(allowed(&[15]), (0..11).collect::<Vec<_>>());
        // After text: a timestamp strictly later than 15 (or more text, masked by mass).
        assert_eq!(allowed(&[15, 3]), (16..30).collect::<Vec<_>>());
        // After a closing timestamp: the next opening one (same time allowed) or, when it is
        // likelier than all timestamps together, the end of text; never text.
        assert_eq!(allowed(&[15, 3, 20]), (20..30).collect::<Vec<_>>());
        assert_eq!(
            allowed_with(&[15, 3, 20], Some(10)),
            [vec![10], (20..30).collect()].concat()
        );
        // A text token, however likely, cannot follow a closing timestamp.
        assert!(!allowed_with(&[15, 3, 20], Some(3)).contains(&3));
    }

    #[test]
    fn repeated_text_compresses_well() {
        let once = compression_ratio("The quick brown fox jumps over the lazy dog.");
        let looped = compression_ratio(&"I'm going to go. ".repeat(20));
        assert!(once < 1.5, "{once}");
        assert!(looped > 2.4, "{looped}");
    }
}
