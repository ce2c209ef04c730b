//! The host's lines: the model writes, the fact checker judges, failed lines are written again
//! (`attempts` times), and the deterministic writer takes over when none passes.

use serde::Serialize;

use super::chat::Message;
use super::deterministic;
use super::facts::{check_line, ActFacts, Language};
use super::generate::{GenStats, TextGenerator};
use super::WriterConfig;
use crate::ai::RunControl;

/// One host line and how it came about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostLine {
    pub text: String,
    pub language: Language,
    /// `deterministic`, or the model (`qwen2-moe:<dir>`, `gguf:<file>`, …).
    pub writer: String,
    /// Model attempts made (0 when no model is configured).
    pub attempts: usize,
    /// Why the model's attempts were rejected, one entry per problem, in order.
    pub problems: Vec<String>,
    /// Generation figures of each model attempt.
    #[serde(skip)]
    pub generations: Vec<GenStats>,
}

/// Writes host lines with an optional model and the deterministic writer.
pub struct HostWriter {
    generator: Option<Box<dyn TextGenerator>>,
    attempts: usize,
    max_chars: usize,
    seed: u64,
}

impl HostWriter {
    /// A writer using `generator` (none: every line deterministic) with the attempts, length
    /// limit and seed of `cfg`.
    pub fn new(cfg: &WriterConfig, generator: Option<Box<dyn TextGenerator>>) -> HostWriter {
        HostWriter {
            generator,
            attempts: cfg.attempts.max(1),
            max_chars: cfg.max_chars,
            seed: cfg.seed,
        }
    }

    /// The model's name, or `deterministic`.
    pub fn name(&self) -> String {
        self.generator
            .as_ref()
            .map_or_else(|| deterministic::NAME.to_string(), |g| g.name())
    }

    /// A checked line for the act. Each model attempt streams its text to `on_token`; an
    /// attempt that errors or fails the checker is recorded in `problems`.
    pub fn write_line(
        &mut self,
        facts: &ActFacts,
        language: Language,
        on_token: &mut dyn FnMut(&str),
    ) -> HostLine {
        let mut line = HostLine {
            text: String::new(),
            language,
            writer: deterministic::NAME.into(),
            attempts: 0,
            problems: Vec::new(),
            generations: Vec::new(),
        };
        if let Some(generator) = self.generator.as_mut() {
            let messages = prompt(facts, language, self.max_chars);
            let mut progress = |_: f64| {};
            let ctl = RunControl::unlimited(&mut progress);
            for attempt in 0..self.attempts {
                line.attempts += 1;
                let seed = self.seed.wrapping_add(attempt as u64);
                match generator.generate(&messages, seed, &ctl, on_token) {
                    Ok(g) => {
                        line.generations.push(g.stats);
                        let text = clean(&g.text);
                        let problems = check_line(&text, facts, language, self.max_chars);
                        if problems.is_empty() {
                            line.text = text;
                            line.writer = generator.name();
                            return line;
                        }
                        line.problems.extend(
                            problems
                                .iter()
                                .map(|p| format!("attempt {}: {p}", attempt + 1)),
                        );
                    }
                    Err(e) => line.problems.push(format!("attempt {}: {e}", attempt + 1)),
                }
            }
        }
        line.text = deterministic::write(facts, language, self.max_chars);
        line
    }
}

/// The answer without a reasoning block, surrounding quotes or blank space.
fn clean(text: &str) -> String {
    let text = match text.find("</think>") {
        Some(i) => &text[i + "</think>".len()..],
        None => text,
    };
    let text = text.trim();
    let unquoted = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.contains('"'));
    unquoted.unwrap_or(text).trim().to_string()
}

/// The system message (rules and facts) and the request.
pub fn prompt(facts: &ActFacts, language: Language, max_chars: usize) -> Vec<Message> {
    let lang = match language {
        Language::Zh => "Simplified Chinese",
        Language::En => "English",
    };
    let mut f = format!(
        "Current act: title \"{}\", by \"{}\", category \"{}\".",
        facts.title, facts.creator, facts.category
    );
    if !facts.credits.is_empty() {
        f.push_str(&format!(" Also credited: {}.", facts.credits.join(", ")));
    }
    if let Some(p) = &facts.prev {
        f.push_str(&format!(
            " Previous act: \"{}\" by \"{}\".",
            p.title, p.creator
        ));
    }
    if let Some(n) = &facts.next {
        f.push_str(&format!(" Next act: \"{}\" by \"{}\".", n.title, n.creator));
    }
    let system = format!(
        "You are the host of a live community show. Write ONE line the host says to introduce \
         the current act. Rules: write in {lang}; at most {max_chars} characters; one line of \
         plain text, no markup, no lists; name the current act's title or creator; use names \
         and titles exactly as given below and no other names, titles or places; do not invent \
         facts. Facts: {f}"
    );
    vec![
        Message::system(system),
        Message::user(match language {
            Language::Zh => "请写主持人的串场词。",
            Language::En => "Write the host's line.",
        }),
    ]
}
