//! Tests of the writer: tiny random models built here and loaded through [`load`], the fact
//! checker, and the retry logic with a scripted generator.

mod checker;
mod models;
mod roles;

use std::collections::VecDeque;

use super::chat::Message;
use super::generate::{GenStats, Generation, TextGenerator};
use crate::ai::{Model, ModelError, ModelSummary, RunControl};

/// Answers from a list, in order; remembers the prompts it got.
pub struct Scripted {
    pub answers: VecDeque<String>,
    pub prompts: Vec<Vec<Message>>,
}

impl Scripted {
    pub fn new(answers: &[&str]) -> Scripted {
        Scripted {
            answers: answers.iter().map(|s| s.to_string()).collect(),
            prompts: Vec::new(),
        }
    }
}

impl Model for Scripted {
    fn summary(&self) -> ModelSummary {
        ModelSummary {
            role: "writer",
            family: "scripted".into(),
            format: String::new(),
            parameters: 0,
            weight_bytes: 0,
            files: Vec::new(),
        }
    }
}

impl TextGenerator for Scripted {
    fn name(&self) -> String {
        "scripted".into()
    }

    fn generate(
        &mut self,
        messages: &[Message],
        _seed: u64,
        _ctl: &RunControl,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Generation, ModelError> {
        self.prompts.push(messages.to_vec());
        let text = self.answers.pop_front().ok_or(ModelError::Run {
            role: "writer",
            reason: "script exhausted".into(),
        })?;
        on_token(&text);
        Ok(Generation {
            text,
            stats: GenStats::default(),
        })
    }
}
