//! Bilingual subtitles: the writer model translates caption cues into the other show language.
//! Cues go in numbered batches ("N: text"); an answer with missing or extra numbers, empty
//! lines or the wrong language is rejected and asked again. Timing stays the source's.

use super::chat::Message;
use super::facts::{script_counts, Language};
use super::generate::TextGenerator;
use super::WriterConfig;
use crate::ai::captions::Cue;
use crate::ai::{Model, ModelError, ModelSummary, RunControl, Translator};

/// Cues per prompt.
pub const BATCH: usize = 12;

/// The writer model as [`Translator`].
pub struct TranslatorModel {
    generator: Box<dyn TextGenerator>,
    attempts: usize,
    seed: u64,
}

impl TranslatorModel {
    pub fn new(cfg: &WriterConfig, generator: Box<dyn TextGenerator>) -> TranslatorModel {
        TranslatorModel {
            generator,
            attempts: cfg.attempts.max(1),
            seed: cfg.seed,
        }
    }

    fn batch(
        &mut self,
        cues: &[Cue],
        from: Language,
        to: Language,
        ctl: &RunControl,
    ) -> Result<Vec<String>, ModelError> {
        let messages = prompt(cues, from, to);
        let mut last = String::new();
        for attempt in 0..self.attempts {
            ctl.check("writer")?;
            let seed = self.seed.wrapping_add(attempt as u64);
            let g = self
                .generator
                .generate(&messages, seed, ctl, &mut |_: &str| {})?;
            match parse(&g.text, cues, to) {
                Ok(lines) => return Ok(lines),
                Err(why) => last = why,
            }
        }
        Err(ModelError::Run {
            role: "writer",
            reason: format!(
                "no valid translation after {} attempts: {last}",
                self.attempts
            ),
        })
    }
}

fn prompt(cues: &[Cue], from: Language, to: Language) -> Vec<Message> {
    let name = |l: Language| match l {
        Language::Zh => "Simplified Chinese",
        Language::En => "English",
    };
    let system = format!(
        "Translate each numbered subtitle line from {} to {}. Answer with exactly one line per \
         number, in the form `N: translation`, the same numbers in the same order, nothing else.",
        name(from),
        name(to)
    );
    let body: Vec<String> = cues
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}: {}", i + 1, c.text.replace('\n', " ")))
        .collect();
    vec![Message::system(system), Message::user(body.join("\n"))]
}

/// The translations of `cues` read from `answer`, or why the answer is malformed.
pub fn parse(answer: &str, cues: &[Cue], to: Language) -> Result<Vec<String>, String> {
    let mut lines: Vec<Option<String>> = vec![None; cues.len()];
    for raw in answer.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (num, text) = raw
            .split_once([':', '：'])
            .ok_or_else(|| format!("not `N: text`: {raw:?}"))?;
        let n: usize = num
            .trim()
            .parse()
            .map_err(|_| format!("not `N: text`: {raw:?}"))?;
        let slot = n
            .checked_sub(1)
            .and_then(|i| lines.get_mut(i))
            .ok_or_else(|| format!("number {n} was not asked for"))?;
        if slot.is_some() {
            return Err(format!("number {n} twice"));
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(format!("line {n} is empty"));
        }
        let (cjk, latin) = script_counts(&cues[n - 1].text);
        if cjk + latin > 0 && !mostly(text, to) {
            return Err(format!("line {n} is not in {}", to.code()));
        }
        *slot = Some(text.to_string());
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| l.ok_or_else(|| format!("number {} is missing", i + 1)))
        .collect()
}

/// Lenient language test for short subtitle lines (names in the other script are common):
/// Chinese needs at least as much CJK as Latin text (a character for about five letters),
/// English no CJK at all.
fn mostly(text: &str, to: Language) -> bool {
    let (cjk, latin) = script_counts(text);
    match to {
        Language::Zh => cjk > 0 && cjk * 5 >= latin,
        Language::En => cjk == 0 && latin > 0,
    }
}

impl Model for TranslatorModel {
    fn summary(&self) -> ModelSummary {
        self.generator.summary()
    }
}

impl Translator for TranslatorModel {
    fn translate(
        &mut self,
        cues: &[Cue],
        from: &str,
        to: &str,
        ctl: &mut RunControl,
    ) -> Result<Vec<Cue>, ModelError> {
        let lang = |s: &str| {
            Language::parse(s).ok_or_else(|| ModelError::Run {
                role: "writer",
                reason: format!("subtitles are zh or en, not {s:?}"),
            })
        };
        let (from, to) = (lang(from)?, lang(to)?);
        let mut out = Vec::with_capacity(cues.len());
        for (i, chunk) in cues.chunks(BATCH).enumerate() {
            let texts = self.batch(chunk, from, to, ctl)?;
            out.extend(chunk.iter().zip(texts).map(|(c, text)| Cue {
                start_ms: c.start_ms,
                end_ms: c.end_ms,
                text,
            }));
            (ctl.progress)(((i + 1) * BATCH).min(cues.len()) as f64 / cues.len() as f64);
        }
        Ok(out)
    }
}

/// The writer model as translator. Whether the role is switched on (`use_for_subtitles`) is
/// decided once, by `ai::registry::load_translator`.
pub fn load(
    cfg: &WriterConfig,
    device: &candle::Device,
) -> Result<Box<dyn Translator>, ModelError> {
    let model = super::models::load(cfg, device)?;
    Ok(Box::new(TranslatorModel::new(cfg, Box::new(model))))
}
