//! The verdict: what the analysis advises a reviewer, from technical QC, duplicates, the model
//! checks and watched words. A pure function of its input and the `moderation` thresholds.
//!
//! Rules, each finding giving a reason with its evidence:
//! - a QC finding of severity `error` asks for review (when `qc_errors_review`);
//! - a duplicate of another creator's clip advises rejection at `duplicate_reject_at` or
//!   above, review below; a duplicate of the same creator's other submission, or of a clip of
//!   unknown owner, asks for review; an earlier version of the same submission is not a reason;
//! - text and keyframe flags ask for review at `*_review_at`, advise rejection at `*_reject_at`;
//! - policy-judge flags ask for review at `policy_review_at` (never more);
//! - a watched word asks for what its severity says.
//!
//! A check that was expected but did not run, failed or has no model is named in `incomplete`
//! with why, and an incomplete verdict is never `pass`: at best `review`. The verdict is advice
//! shown in the review queue; the reviewer decides.

use serde::{Deserialize, Serialize};

use super::settings::ModerationConfig;
use super::watchwords::{WordHit, WordSeverity};
use crate::ai::Flag;
use crate::ingest::qc::{QcReport, Severity};

/// The advice, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Review,
    Reject,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Review => "review",
            Outcome::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "pass" => Some(Outcome::Pass),
            "review" => Some(Outcome::Review),
            "reject" => Some(Outcome::Reject),
            _ => None,
        }
    }
}

/// What backs a reason: whichever of these the finding has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// `title`, `description`, `transcript`, `frame`, `policy`, `qc` or `duplicates`.
    pub source: Option<String>,
    /// The text that triggered it.
    pub excerpt: Option<String>,
    /// Character offsets of the match inside `excerpt` (end exclusive).
    pub highlight: Option<(usize, usize)>,
    /// Time in the clip.
    pub at_ms: Option<i64>,
    /// The model's or the matcher's score (0..1).
    pub score: Option<f64>,
    /// The other clip, for duplicates.
    pub clip_id: Option<i64>,
}

/// One reason for the advice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// The check that found it (`qc`, `duplicates`, `text`, `frames`, `policy`,
    /// `watched_words`).
    pub check: String,
    /// What it asks for: `review` or `reject`.
    pub outcome: Outcome,
    /// A stable code for the kind of reason (`qc_error`, `duplicate_other_creator`,
    /// `duplicate_same_creator`, `duplicate_unknown_owner`, `text_flag`, `frame_flag`,
    /// `policy_flag`, `watched_word`), for translated labels.
    pub code: String,
    /// The label, category, word or finding kind.
    pub label: String,
    /// One readable line (English) for the API and the logs.
    pub detail: String,
    pub evidence: Evidence,
}

/// The analysis' advice for a clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// Worst first.
    pub reasons: Vec<Reason>,
    /// `check: why` for each expected check that did not complete.
    pub incomplete: Vec<String>,
}

/// How a check of a clip ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Done,
    Failed,
    NotConfigured,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Done => "done",
            CheckStatus::Failed => "failed",
            CheckStatus::NotConfigured => "not_configured",
        }
    }

    pub fn parse(s: &str) -> Option<CheckStatus> {
        match s {
            "done" => Some(CheckStatus::Done),
            "failed" => Some(CheckStatus::Failed),
            "not_configured" => Some(CheckStatus::NotConfigured),
            _ => None,
        }
    }
}

/// A check's outcome as the verdict reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    pub name: String,
    pub status: CheckStatus,
    /// Model flags (text, frames, policy).
    pub flags: Vec<Flag>,
    /// Watched-word hits (watched_words).
    pub words: Vec<WordHit>,
    pub error: Option<String>,
}

/// Whose the other clip of a duplicate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// An earlier version of the same submission.
    SameSubmission,
    /// Another submission of the same creator.
    SameCreator,
    /// Another creator's submission.
    OtherCreator,
    /// Either clip belongs to no submission (ingested from the command line).
    Unknown,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::SameSubmission => "same_submission",
            Relation::SameCreator => "same_creator",
            Relation::OtherCreator => "other_creator",
            Relation::Unknown => "unknown",
        }
    }
}

/// A duplicate found for the clip.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateFinding {
    pub other_clip_id: i64,
    pub score: f64,
    pub relation: Relation,
    /// Our time of the first matched frame.
    pub at_ms: Option<i64>,
}

/// Everything the verdict is made from.
pub struct VerdictInput<'a> {
    /// None when the clip has no QC report.
    pub qc: Option<&'a QcReport>,
    pub duplicates: &'a [DuplicateFinding],
    pub checks: &'a [CheckOutcome],
    /// The checks that should have run (a missing one makes the verdict incomplete).
    pub expected: &'a [&'a str],
}

/// The advice for `input` under the thresholds of `cfg`.
pub fn decide(input: &VerdictInput, cfg: &ModerationConfig) -> Verdict {
    let mut reasons = Vec::new();
    let mut incomplete = Vec::new();
    match input.qc {
        None => incomplete.push("qc: the clip has no technical QC report".to_string()),
        Some(qc) if cfg.qc_errors_review => {
            for f in qc.findings.iter().filter(|f| f.severity == Severity::Error) {
                let kind = serde_json::to_value(f.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                reasons.push(Reason {
                    check: "qc".into(),
                    outcome: Outcome::Review,
                    code: "qc_error".into(),
                    label: kind,
                    detail: f.message.clone(),
                    evidence: Evidence {
                        source: Some("qc".into()),
                        excerpt: Some(f.message.clone()),
                        at_ms: f.start_s.map(|s| (s * 1000.0).round() as i64),
                        ..Evidence::default()
                    },
                });
            }
        }
        Some(_) => {}
    }
    for d in input.duplicates {
        let (outcome, code, detail) = match d.relation {
            Relation::SameSubmission => continue,
            Relation::OtherCreator if d.score >= cfg.duplicate_reject_at => (
                Outcome::Reject,
                "duplicate_other_creator",
                "duplicates another creator's clip",
            ),
            Relation::OtherCreator => (
                Outcome::Review,
                "duplicate_other_creator",
                "resembles another creator's clip",
            ),
            Relation::SameCreator => (
                Outcome::Review,
                "duplicate_same_creator",
                "duplicates another submission of the same creator",
            ),
            Relation::Unknown => (
                Outcome::Review,
                "duplicate_unknown_owner",
                "duplicates a clip outside the submissions",
            ),
        };
        reasons.push(Reason {
            check: "duplicates".into(),
            outcome,
            code: code.into(),
            label: format!("clip {}", d.other_clip_id),
            detail: format!("{detail} (clip {}, score {:.2})", d.other_clip_id, d.score),
            evidence: Evidence {
                source: Some("duplicates".into()),
                at_ms: d.at_ms,
                score: Some(d.score),
                clip_id: Some(d.other_clip_id),
                ..Evidence::default()
            },
        });
    }
    for name in input.expected {
        match input.checks.iter().find(|c| c.name == *name) {
            None => incomplete.push(format!("{name}: not run")),
            Some(c) if c.status != CheckStatus::Done => incomplete.push(format!(
                "{name}: {}",
                c.error.as_deref().unwrap_or(c.status.as_str())
            )),
            Some(_) => {}
        }
    }
    for check in input.checks {
        let thresholds = match check.name.as_str() {
            "text" => Some((cfg.text_review_at, cfg.text_reject_at, "text_flag")),
            "frames" => Some((cfg.image_review_at, cfg.image_reject_at, "frame_flag")),
            "policy" => Some((cfg.policy_review_at, f32::INFINITY, "policy_flag")),
            _ => None,
        };
        if let Some((review_at, reject_at, code)) = thresholds {
            for flag in &check.flags {
                let outcome = if flag.score >= reject_at {
                    Outcome::Reject
                } else if flag.score >= review_at {
                    Outcome::Review
                } else {
                    continue;
                };
                reasons.push(flag_reason(&check.name, code, outcome, flag));
            }
        }
        for hit in &check.words {
            reasons.push(word_reason(hit));
        }
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.outcome));
    let worst = reasons
        .iter()
        .map(|r| r.outcome)
        .max()
        .unwrap_or(Outcome::Pass);
    let outcome = if incomplete.is_empty() {
        worst
    } else {
        worst.max(Outcome::Review)
    };
    Verdict {
        outcome,
        reasons,
        incomplete,
    }
}

fn flag_reason(check: &str, code: &str, outcome: Outcome, flag: &Flag) -> Reason {
    Reason {
        check: check.into(),
        outcome,
        code: code.into(),
        label: flag.label.clone(),
        detail: format!(
            "{} flagged {} ({:.2}) in the {}",
            check, flag.label, flag.score, flag.source
        ),
        evidence: Evidence {
            source: Some(flag.source.clone()),
            excerpt: Some(flag.excerpt.clone()).filter(|e| !e.is_empty()),
            highlight: None,
            at_ms: flag.at_ms,
            score: Some(f64::from(flag.score)),
            clip_id: None,
        },
    }
}

fn word_reason(hit: &WordHit) -> Reason {
    let start = hit.before.chars().count();
    let end = start + hit.matched.chars().count();
    Reason {
        check: "watched_words".into(),
        outcome: match hit.severity {
            WordSeverity::Review => Outcome::Review,
            WordSeverity::Reject => Outcome::Reject,
        },
        code: "watched_word".into(),
        label: hit.word.clone(),
        detail: format!(
            "watched word {:?} ({}) in the {}: {}",
            hit.word,
            hit.category,
            hit.source,
            hit.snippet()
        ),
        evidence: Evidence {
            source: Some(hit.source.clone()),
            excerpt: Some(format!("{}{}{}", hit.before, hit.matched, hit.after)),
            highlight: Some((start, end)),
            at_ms: hit.at_ms,
            score: None,
            clip_id: None,
        },
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
