//! Long audio in 30-second windows: mel, encoder, decoding with temperature fallback, the
//! no-speech gate, and cues at absolute times.

use candle::{Device, Tensor};
use candle_transformers::models::whisper::{
    audio as mel, HOP_LENGTH, N_FRAMES, N_SAMPLES, SAMPLE_RATE,
};
use rand::SeedableRng;
use tokenizers::Tokenizer;

use super::decode::{detect_language, run_pass, text_of, Pass, Rules};
use super::timing;
use super::tokens::Specials;
use super::weights::Net;
use super::{CaptionsConfig, Cue};
use crate::ai::{ModelError, RunControl};

/// Timestamp token steps per second (20 ms each).
const STEPS_PER_SECOND: f64 = 50.0;
/// Mel frames per timestamp step (the encoder halves 100 frames a second to 50).
const FRAMES_PER_STEP: usize = 2;
/// Seed of the sampling at temperatures above zero; each window mixes in its start.
const SEED: u64 = 0x6761_6c61;

/// What the window loop needs besides the samples.
pub struct Job<'a> {
    pub net: &'a mut Net,
    pub tokenizer: &'a Tokenizer,
    pub specials: &'a Specials,
    pub suppress: &'a [u32],
    pub suppress_begin: &'a [u32],
    pub config: &'a CaptionsConfig,
    pub device: &'a Device,
    pub filters: &'a [f32],
    /// English-only model (`.en`): the prompt has no language or task token.
    pub english_only: bool,
}

/// The language and the cues of 16-kHz mono `samples`.
pub fn transcribe(
    mut job: Job,
    samples: &[f32],
    language: Option<&str>,
    ctl: &mut RunControl,
) -> Result<(String, Vec<Cue>), ModelError> {
    let run = |e: candle::Error| ModelError::Run {
        role: "captions",
        reason: e.to_string(),
    };
    let cfg = job.net.config().clone();
    let sp = job.specials;
    // Thirty seconds of silence after the content, as Whisper pads, so that every window is a
    // full 3000 frames of real spectrogram.
    let mut padded = samples.to_vec();
    padded.extend(std::iter::repeat_n(0.0, N_SAMPLES));
    let mel = mel::pcm_to_mel(&cfg, &padded, job.filters);
    let n_frames = mel.len() / cfg.num_mel_bins;
    let mel = Tensor::from_vec(mel, (cfg.num_mel_bins, n_frames), job.device).map_err(run)?;
    let content_frames = samples.len() / HOP_LENGTH;
    let duration_ms = (samples.len() as f64 * 1000.0 / SAMPLE_RATE as f64).round() as i64;

    let mut suppress: Vec<u32> = job.suppress.to_vec();
    suppress.extend(sp.control());
    let mut suppress_begin: Vec<u32> = job.suppress_begin.to_vec();
    suppress_begin.extend(sp.blank.iter().copied());
    suppress_begin.push(sp.eot);
    let rules = Rules {
        specials: sp,
        suppress,
        suppress_begin,
        sample_len: (cfg.max_target_positions / 2).max(1),
        max_initial_timestamp: 50,
    };

    let wanted = language
        .filter(|l| !l.trim().is_empty())
        .or(Some(job.config.language.as_str()).filter(|l| !l.trim().is_empty()));
    let mut lang: Option<(String, u32)> = if job.english_only {
        Some(("en".into(), 0))
    } else {
        wanted.and_then(|code| sp.language(code).map(|id| (code.to_ascii_lowercase(), id)))
    };

    let mut cues = Vec::new();
    let mut seek = 0usize;
    while seek < content_frames {
        ctl.check("captions")?;
        (ctl.progress)(seek as f64 / content_frames as f64);
        let segment_size = N_FRAMES.min(content_frames - seek);
        let time_offset = seek as f64 * HOP_LENGTH as f64 / SAMPLE_RATE as f64;
        let window = mel
            .narrow(1, seek, N_FRAMES)
            .and_then(|w| w.unsqueeze(0))
            .map_err(run)?;
        let audio = job.net.encode(&window).map_err(run)?;
        if lang.is_none() {
            lang = Some(
                detect_language(job.net, sp, &audio, job.device)
                    .map_err(run)?
                    .unwrap_or_else(|| ("en".into(), 0)),
            );
        }
        let mut prompt = vec![sp.sot];
        if !job.english_only {
            if let Some((_, id)) = lang.as_ref().filter(|(_, id)| *id != 0) {
                prompt.push(*id);
            }
            prompt.extend(sp.transcribe);
        }
        let pass = with_fallback(&mut job, &rules, &audio, &prompt, seek, ctl)?;
        let silent = pass.no_speech_prob > job.config.no_speech_threshold
            && pass.avg_logprob < job.config.logprob_threshold;
        if silent {
            seek += segment_size;
            continue;
        }
        let (found, advance) = segments(&pass.tokens, sp.timestamp_begin, segment_size);
        for (start, end, tokens) in found {
            let text = text_of(job.tokenizer, sp, &tokens).trim().to_string();
            if !is_words(&text) {
                continue;
            }
            let ms = |t: f64| ((time_offset + t) * 1000.0).round() as i64;
            let start_ms = ms(start).min(duration_ms);
            cues.push(Cue {
                start_ms,
                end_ms: ms(end).clamp(start_ms, duration_ms),
                text,
            });
        }
        seek += advance.max(1);
    }
    timing::tighten(&mut cues, samples, SAMPLE_RATE as u32);
    (ctl.progress)(1.0);
    let language = lang.map_or_else(|| "en".into(), |(code, _)| code);
    Ok((language, cues))
}

/// False for text that is no speech: empty, only symbols (`♪ ♪`), or one bracketed sound
/// description (`[Music]`, `(upbeat music)`), which Whisper writes over music and noise.
pub fn is_words(text: &str) -> bool {
    let t = text.trim();
    let described = (t.starts_with('[') && t.ends_with(']'))
        || (t.starts_with('(') && t.ends_with(')'))
        || (t.starts_with('*') && t.ends_with('*') && t.len() > 1);
    !described && t.chars().any(char::is_alphanumeric)
}

/// Decodes at each temperature until the text neither repeats itself nor is improbable.
fn with_fallback(
    job: &mut Job,
    rules: &Rules,
    audio: &Tensor,
    prompt: &[u32],
    seek: usize,
    ctl: &RunControl,
) -> Result<Pass, ModelError> {
    let cfg = job.config;
    let temperatures: Vec<f64> = if cfg.temperatures.is_empty() {
        vec![0.0]
    } else {
        cfg.temperatures.clone()
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED ^ seek as u64);
    let mut last = None;
    for &t in &temperatures {
        ctl.check("captions")?;
        let pass =
            run_pass(job.net, rules, audio, prompt, t, &mut rng, job.tokenizer).map_err(|e| {
                ModelError::Run {
                    role: "captions",
                    reason: e.to_string(),
                }
            })?;
        let repetitive = pass.compression_ratio > cfg.compression_ratio_threshold;
        let improbable = pass.avg_logprob < cfg.logprob_threshold;
        let silent = pass.no_speech_prob > cfg.no_speech_threshold && improbable;
        if silent || !(repetitive || improbable) {
            return Ok(pass);
        }
        last = Some(pass);
    }
    last.ok_or_else(|| ModelError::Run {
        role: "captions",
        reason: "no temperature to decode with".into(),
    })
}

/// Splits sampled tokens into (start s, end s, tokens) segments at timestamp pairs; returns
/// them and how many mel frames the window advances: to the last closing timestamp, or the
/// whole window when the text ended with a single timestamp or had none.
pub fn segments(
    tokens: &[u32],
    timestamp_begin: u32,
    segment_size: usize,
) -> (Vec<(f64, f64, Vec<u32>)>, usize) {
    let is_ts = |t: u32| t >= timestamp_begin;
    let time = |t: u32| (t - timestamp_begin) as f64 / STEPS_PER_SECOND;
    let n = tokens.len();
    let single_ending = n >= 2 && !is_ts(tokens[n - 2]) && is_ts(tokens[n - 1]);
    let mut cuts: Vec<usize> = (1..n)
        .filter(|&i| is_ts(tokens[i - 1]) && is_ts(tokens[i]))
        .collect();
    let mut out = Vec::new();
    if cuts.is_empty() {
        // No pair: one segment over the window (up to its last timestamp when there is one).
        let last = tokens.iter().rev().copied().find(|&t| is_ts(t));
        let duration = match last {
            Some(t) if t != timestamp_begin => time(t),
            _ => segment_size as f64 * HOP_LENGTH as f64 / SAMPLE_RATE as f64,
        };
        let first = tokens
            .first()
            .copied()
            .filter(|&t| is_ts(t))
            .map_or(0.0, time);
        out.push((first, duration, tokens.to_vec()));
        return (out, segment_size);
    }
    if single_ending {
        cuts.push(n);
    }
    let mut last_cut = 0;
    for &cut in &cuts {
        let slice = &tokens[last_cut..cut];
        if let (Some(&a), Some(&b)) = (slice.first(), slice.last()) {
            if is_ts(a) && is_ts(b) {
                out.push((time(a), time(b), slice.to_vec()));
            }
        }
        last_cut = cut;
    }
    let advance = if single_ending {
        segment_size
    } else {
        // The closing timestamp of the last complete segment: the next window starts there.
        (tokens[last_cut - 1] - timestamp_begin) as usize * FRAMES_PER_STEP
    };
    (out, advance)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TB: u32 = 100;

    #[test]
    fn pairs_become_segments_and_the_last_closing_timestamp_seeks() {
        // <|0.00|> a b <|1.50|><|1.50|> c <|3.00|><|3.00|> d  (cut short: d is dropped and
        // the next window starts at 3.00 s = 300 frames).
        let t = [TB, 1, 2, TB + 75, TB + 75, 3, TB + 150, TB + 150, 4];
        let (segs, advance) = segments(&t, TB, 3000);
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[0].0, segs[0].1), (0.0, 1.5));
        assert_eq!(segs[0].2, vec![TB, 1, 2, TB + 75]);
        assert_eq!((segs[1].0, segs[1].1), (1.5, 3.0));
        assert_eq!(advance, 300);
    }

    #[test]
    fn a_single_timestamp_ending_consumes_the_window() {
        let t = [TB + 10, 1, TB + 60, TB + 60, 2, TB + 200];
        let (segs, advance) = segments(&t, TB, 2500);
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[1].0, segs[1].1), (1.2, 4.0));
        assert_eq!(advance, 2500);
    }

    #[test]
    fn sound_descriptions_are_not_words() {
        for t in [
            "",
            " ♪ ♪ ",
            "[Music]",
            "(upbeat music)",
            "*applause*",
            "...",
        ] {
            assert!(!is_words(t), "{t:?}");
        }
        for t in ["Hello.", "[Music] is my life", "7"] {
            assert!(is_words(t), "{t:?}");
        }
    }

    #[test]
    fn text_without_pairs_is_one_segment() {
        let (segs, advance) = segments(&[TB + 5, 1, 2, TB + 100], TB, 3000);
        assert_eq!(segs.len(), 1);
        assert_eq!((segs[0].0, segs[0].1), (0.1, 2.0));
        assert_eq!(advance, 3000);
    }
}
