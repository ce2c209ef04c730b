//! The writer model as [`PolicyJudge`]: a written policy with numbered categories, the
//! submission's lines numbered, and an answer of `safe`, or `unsafe` followed by lines
//! `S3: 4,7` (category: line numbers). Malformed answers are rejected and asked again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::chat::Message;
use super::generate::TextGenerator;
use super::WriterConfig;
use crate::ai::{Flag, Model, ModelError, ModelSummary, PolicyJudge, RunControl};

/// One category of the written policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyCategory {
    /// `S1`, `S2`, …: what the judge answers with.
    pub id: String,
    pub name: String,
    /// What falls under it, as the judge reads it.
    pub description: String,
}

/// The default policy, in the manner of Llama Guard, written for a Chinese and English show.
pub fn default_policy() -> Vec<PolicyCategory> {
    let c = |id: &str, name: &str, description: &str| PolicyCategory {
        id: id.into(),
        name: name.into(),
        description: description.into(),
    };
    vec![
        c(
            "S1",
            "Violence",
            "threats, incitement or praise of violence or terrorism (暴力、恐怖主义)",
        ),
        c(
            "S2",
            "Hate",
            "attacks on people for ethnicity, region, religion, sex, disability (仇恨、地域歧视)",
        ),
        c(
            "S3",
            "Sexual content",
            "explicit sexual content or solicitation (色情)",
        ),
        c(
            "S4",
            "Minors",
            "sexualization or endangerment of minors (未成年人保护)",
        ),
        c(
            "S5",
            "Self-harm",
            "encouragement or instructions for suicide or self-harm (自残、自杀)",
        ),
        c(
            "S6",
            "Illegal goods",
            "selling or making drugs, weapons, gambling, counterfeit goods (毒品、枪支、赌博)",
        ),
        c(
            "S7",
            "Privacy",
            "personal data of others: ID or phone numbers, addresses, doxxing (个人隐私)",
        ),
        c(
            "S8",
            "Political misinformation",
            "false claims about public events, officials or elections (政治谣言)",
        ),
        c(
            "S9",
            "Fraud",
            "scams, pyramid schemes, fake investments (诈骗、传销)",
        ),
        c(
            "S10",
            "Harassment",
            "bullying, insults or threats aimed at a person (骚扰、辱骂)",
        ),
        c(
            "S11",
            "Dangerous acts",
            "stunts or challenges likely to cause injury (危险行为)",
        ),
        c(
            "S12",
            "Advertising",
            "undisclosed commercial promotion, contact details for sales (违规广告)",
        ),
    ]
}

/// The writer model as [`PolicyJudge`].
pub struct PolicyModel {
    generator: Box<dyn TextGenerator>,
    policy: Vec<PolicyCategory>,
    attempts: usize,
    seed: u64,
}

impl PolicyModel {
    pub fn new(cfg: &WriterConfig, generator: Box<dyn TextGenerator>) -> PolicyModel {
        PolicyModel {
            generator,
            policy: cfg.policy.clone(),
            attempts: cfg.attempts.max(1),
            seed: cfg.seed,
        }
    }
}

/// A numbered line of the submission.
struct Line<'a> {
    field: &'a str,
    text: &'a str,
}

fn prompt(policy: &[PolicyCategory], lines: &[Line]) -> Vec<Message> {
    let cats: Vec<String> = policy
        .iter()
        .map(|c| format!("{} {}: {}", c.id, c.name, c.description))
        .collect();
    let system = format!(
        "You check a show submission against this policy.\n{}\nAnswer `safe` if no line breaks \
         the policy. Otherwise answer `unsafe`, then one line per category broken: the category \
         id, a colon and the numbers of the lines that break it, e.g. `S3: 4,7`. Nothing else.",
        cats.join("\n")
    );
    let body: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{} [{}] {}", i + 1, l.field, l.text))
        .collect();
    vec![Message::system(system), Message::user(body.join("\n"))]
}

/// The verdict in `answer`: category id → line numbers (1-based); empty for `safe`.
pub fn parse(
    answer: &str,
    policy: &[PolicyCategory],
    lines: usize,
) -> Result<BTreeMap<String, Vec<usize>>, String> {
    let mut rows = answer.lines().map(str::trim).filter(|l| !l.is_empty());
    let head = rows.next().ok_or("empty answer")?.to_ascii_lowercase();
    let mut found = BTreeMap::new();
    match head.trim_end_matches('.') {
        "safe" => {
            if let Some(extra) = rows.next() {
                return Err(format!("text after `safe`: {extra:?}"));
            }
            return Ok(found);
        }
        "unsafe" => {}
        _ => {
            return Err(format!(
                "answer starts with neither safe nor unsafe: {head:?}"
            ))
        }
    }
    for row in rows {
        let (id, nums) = row
            .split_once(':')
            .ok_or_else(|| format!("not `S3: 4,7`: {row:?}"))?;
        let id = id.trim().to_ascii_uppercase();
        if !policy.iter().any(|c| c.id.eq_ignore_ascii_case(&id)) {
            return Err(format!("unknown category {id:?}"));
        }
        let mut numbers = Vec::new();
        for n in nums.split([',', ' ']).filter(|n| !n.trim().is_empty()) {
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| format!("not a line number: {n:?}"))?;
            if n == 0 || n > lines {
                return Err(format!("no line {n}"));
            }
            numbers.push(n);
        }
        if numbers.is_empty() {
            return Err(format!("{id} names no line"));
        }
        found.entry(id).or_insert_with(Vec::new).extend(numbers);
    }
    if found.is_empty() {
        return Err("`unsafe` without a category".into());
    }
    Ok(found)
}

impl Model for PolicyModel {
    fn summary(&self) -> ModelSummary {
        self.generator.summary()
    }
}

impl PolicyJudge for PolicyModel {
    fn judge(
        &mut self,
        fields: &[(&str, &str)],
        ctl: &mut RunControl,
    ) -> Result<Vec<Flag>, ModelError> {
        let lines: Vec<Line> = fields
            .iter()
            .flat_map(|&(field, text)| {
                text.lines()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(move |t| Line { field, text: t })
            })
            .collect();
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let messages = prompt(&self.policy, &lines);
        let mut last = String::new();
        for attempt in 0..self.attempts {
            ctl.check("writer")?;
            let seed = self.seed.wrapping_add(attempt as u64);
            let g = self
                .generator
                .generate(&messages, seed, ctl, &mut |_: &str| {})?;
            match parse(&g.text, &self.policy, lines.len()) {
                Ok(found) => {
                    (ctl.progress)(1.0);
                    return Ok(self.flags(&found, &lines));
                }
                Err(why) => last = why,
            }
        }
        Err(ModelError::Run {
            role: "writer",
            reason: format!(
                "no valid policy verdict after {} attempts: {last}",
                self.attempts
            ),
        })
    }
}

impl PolicyModel {
    fn flags(&self, found: &BTreeMap<String, Vec<usize>>, lines: &[Line]) -> Vec<Flag> {
        found
            .iter()
            .map(|(id, nums)| {
                let name = self
                    .policy
                    .iter()
                    .find(|c| c.id.eq_ignore_ascii_case(id))
                    .map_or("", |c| c.name.as_str());
                let excerpt: Vec<String> = nums
                    .iter()
                    .map(|n| format!("[{}] {}", lines[n - 1].field, lines[n - 1].text))
                    .collect();
                Flag {
                    source: "policy".into(),
                    label: format!("{id} {name}"),
                    score: 1.0,
                    excerpt: excerpt.join(" / "),
                    at_ms: None,
                }
            })
            .collect()
    }
}

/// The writer model as policy judge. Whether the role is switched on (`use_for_policy`) is
/// decided once, by `ai::registry::load_policy_judge`.
pub fn load(
    cfg: &WriterConfig,
    device: &candle::Device,
) -> Result<Box<dyn PolicyJudge>, ModelError> {
    let model = super::models::load(cfg, device)?;
    Ok(Box::new(PolicyModel::new(cfg, Box::new(model))))
}
