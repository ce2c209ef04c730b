use super::*;
use crate::ingest::loudness::Loudness;
use crate::ingest::qc::{Finding, FindingKind};

const ALL: [&str; 5] = ["duplicates", "captions", "text", "watched_words", "frames"];

fn qc(severity: Option<Severity>) -> QcReport {
    QcReport {
        duration_s: 10.0,
        loudness_before: None,
        loudness_after: Loudness {
            integrated_lufs: Some(-23.0),
            range_lu: 5.0,
            true_peak_dbtp: Some(-2.0),
        },
        black: vec![],
        silence: vec![],
        frozen: vec![],
        clipping: vec![],
        clipped_samples: 0,
        findings: severity
            .map(|s| Finding {
                kind: FindingKind::Black,
                severity: s,
                start_s: Some(2.0),
                end_s: Some(4.0),
                message: "black 0:02-0:04".into(),
            })
            .into_iter()
            .collect(),
        summary: String::new(),
    }
}

fn done(name: &str, flags: Vec<Flag>, words: Vec<WordHit>) -> CheckOutcome {
    CheckOutcome {
        name: name.into(),
        status: CheckStatus::Done,
        flags,
        words,
        error: None,
    }
}

fn all_done() -> Vec<CheckOutcome> {
    ALL.iter().map(|n| done(n, vec![], vec![])).collect()
}

fn flag(source: &str, score: f32) -> Flag {
    Flag {
        source: source.into(),
        label: "toxic".into(),
        score,
        excerpt: "you are all idiots".into(),
        at_ms: Some(5_000),
    }
}

fn word(severity: WordSeverity) -> WordHit {
    WordHit {
        word: "赌博".into(),
        category: "gambling".into(),
        severity,
        source: "description".into(),
        start: 3,
        end: 5,
        before: "网络上".into(),
        matched: "赌博".into(),
        after: "平台".into(),
        at_ms: None,
    }
}

fn dup(relation: Relation, score: f64) -> DuplicateFinding {
    DuplicateFinding {
        other_clip_id: 7,
        score,
        relation,
        at_ms: Some(1_500),
    }
}

/// One case: the findings, and the outcome and reason codes expected.
struct Case {
    name: &'static str,
    qc: Option<Severity>,
    duplicates: Vec<DuplicateFinding>,
    checks: Vec<CheckOutcome>,
    outcome: Outcome,
    codes: Vec<&'static str>,
    incomplete: usize,
}

fn with(mut checks: Vec<CheckOutcome>, replace: CheckOutcome) -> Vec<CheckOutcome> {
    checks.retain(|c| c.name != replace.name);
    checks.push(replace);
    checks
}

#[test]
fn verdicts_follow_the_rules() {
    let cfg = ModerationConfig::default();
    let cases = vec![
        Case {
            name: "clean",
            qc: Some(Severity::Warning),
            duplicates: vec![],
            checks: all_done(),
            outcome: Outcome::Pass,
            codes: vec![],
            incomplete: 0,
        },
        Case {
            name: "qc error",
            qc: Some(Severity::Error),
            duplicates: vec![],
            checks: all_done(),
            outcome: Outcome::Review,
            codes: vec!["qc_error"],
            incomplete: 0,
        },
        Case {
            name: "no qc report",
            qc: None,
            duplicates: vec![],
            checks: all_done(),
            outcome: Outcome::Review,
            codes: vec![],
            incomplete: 1,
        },
        Case {
            name: "text below review",
            qc: Some(Severity::Info),
            duplicates: vec![],
            checks: with(all_done(), done("text", vec![flag("title", 0.49)], vec![])),
            outcome: Outcome::Pass,
            codes: vec![],
            incomplete: 0,
        },
        Case {
            name: "text review",
            qc: None,
            duplicates: vec![],
            checks: with(all_done(), done("text", vec![flag("title", 0.5)], vec![])),
            outcome: Outcome::Review,
            codes: vec!["text_flag"],
            incomplete: 1,
        },
        Case {
            name: "text reject",
            qc: Some(Severity::Info),
            duplicates: vec![],
            checks: with(
                all_done(),
                done("text", vec![flag("transcript", 0.95)], vec![]),
            ),
            outcome: Outcome::Reject,
            codes: vec!["text_flag"],
            incomplete: 0,
        },
        Case {
            name: "frame reject",
            qc: Some(Severity::Info),
            duplicates: vec![],
            checks: with(
                all_done(),
                done(
                    "frames",
                    vec![flag("frame", 0.91), flag("frame", 0.6)],
                    vec![],
                ),
            ),
            outcome: Outcome::Reject,
            codes: vec!["frame_flag", "frame_flag"],
            incomplete: 0,
        },
        Case {
            name: "policy never rejects",
            qc: Some(Severity::Info),
            duplicates: vec![],
            checks: with(
                all_done(),
                done("policy", vec![flag("policy", 1.0)], vec![]),
            ),
            outcome: Outcome::Review,
            codes: vec!["policy_flag"],
            incomplete: 0,
        },
        Case {
            name: "watched word review",
            qc: Some(Severity::Info),
            duplicates: vec![],
            checks: with(
                all_done(),
                done("watched_words", vec![], vec![word(WordSeverity::Review)]),
            ),
            outcome: Outcome::Review,
            codes: vec!["watched_word"],
            incomplete: 0,
        },
        Case {
            name: "watched word reject",
            qc: Some(Severity::Info),
            duplicates: vec![],
            checks: with(
                all_done(),
                done("watched_words", vec![], vec![word(WordSeverity::Reject)]),
            ),
            outcome: Outcome::Reject,
            codes: vec!["watched_word"],
            incomplete: 0,
        },
        Case {
            name: "copy of another creator",
            qc: Some(Severity::Info),
            duplicates: vec![dup(Relation::OtherCreator, 0.95)],
            checks: all_done(),
            outcome: Outcome::Reject,
            codes: vec!["duplicate_other_creator"],
            incomplete: 0,
        },
        Case {
            name: "resembles another creator",
            qc: Some(Severity::Info),
            duplicates: vec![dup(Relation::OtherCreator, 0.6)],
            checks: all_done(),
            outcome: Outcome::Review,
            codes: vec!["duplicate_other_creator"],
            incomplete: 0,
        },
        Case {
            name: "own other submission",
            qc: Some(Severity::Info),
            duplicates: vec![dup(Relation::SameCreator, 0.99)],
            checks: all_done(),
            outcome: Outcome::Review,
            codes: vec!["duplicate_same_creator"],
            incomplete: 0,
        },
        Case {
            name: "new version of the same submission",
            qc: Some(Severity::Info),
            duplicates: vec![dup(Relation::SameSubmission, 0.99)],
            checks: all_done(),
            outcome: Outcome::Pass,
            codes: vec![],
            incomplete: 0,
        },
        Case {
            name: "owner unknown",
            qc: Some(Severity::Info),
            duplicates: vec![dup(Relation::Unknown, 0.99)],
            checks: all_done(),
            outcome: Outcome::Review,
            codes: vec!["duplicate_unknown_owner"],
            incomplete: 0,
        },
        Case {
            name: "not configured is incomplete",
            qc: Some(Severity::Info),
            duplicates: vec![],
            checks: with(
                all_done(),
                CheckOutcome {
                    name: "text".into(),
                    status: CheckStatus::NotConfigured,
                    flags: vec![],
                    words: vec![],
                    error: Some("no text_moderation model".into()),
                },
            ),
            outcome: Outcome::Review,
            codes: vec![],
            incomplete: 1,
        },
        Case {
            name: "missing check is incomplete",
            qc: Some(Severity::Info),
            duplicates: vec![],
            checks: all_done()
                .into_iter()
                .filter(|c| c.name != "frames")
                .collect(),
            outcome: Outcome::Review,
            codes: vec![],
            incomplete: 1,
        },
        Case {
            name: "incomplete but reject stays reject",
            qc: Some(Severity::Info),
            duplicates: vec![],
            checks: with(
                all_done()
                    .into_iter()
                    .filter(|c| c.name != "frames")
                    .collect(),
                done("text", vec![flag("title", 0.99)], vec![]),
            ),
            outcome: Outcome::Reject,
            codes: vec!["text_flag"],
            incomplete: 1,
        },
    ];
    for case in cases {
        let report = case.qc.map(|s| qc(Some(s)));
        let input = VerdictInput {
            qc: report.as_ref(),
            duplicates: &case.duplicates,
            checks: &case.checks,
            expected: &ALL,
        };
        let v = decide(&input, &cfg);
        assert_eq!(v.outcome, case.outcome, "{}", case.name);
        let codes: Vec<&str> = v.reasons.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, case.codes, "{}", case.name);
        assert_eq!(
            v.incomplete.len(),
            case.incomplete,
            "{}: {:?}",
            case.name,
            v.incomplete
        );
    }
}

#[test]
fn reasons_carry_their_evidence_worst_first() {
    let cfg = ModerationConfig::default();
    let checks = with(
        with(
            all_done(),
            done("text", vec![flag("transcript", 0.6)], vec![]),
        ),
        done("watched_words", vec![], vec![word(WordSeverity::Reject)]),
    );
    let dups = [dup(Relation::OtherCreator, 0.97)];
    let report = qc(Some(Severity::Info));
    let v = decide(
        &VerdictInput {
            qc: Some(&report),
            duplicates: &dups,
            checks: &checks,
            expected: &ALL,
        },
        &cfg,
    );
    assert_eq!(v.outcome, Outcome::Reject);
    let outcomes: Vec<Outcome> = v.reasons.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![Outcome::Reject, Outcome::Reject, Outcome::Review]
    );
    let d = v.reasons.iter().find(|r| r.check == "duplicates").unwrap();
    assert_eq!(d.evidence.clip_id, Some(7));
    assert_eq!(d.evidence.score, Some(0.97));
    assert_eq!(d.evidence.at_ms, Some(1_500));
    let w = v.reasons.iter().find(|r| r.code == "watched_word").unwrap();
    assert_eq!(w.evidence.excerpt.as_deref(), Some("网络上赌博平台"));
    assert_eq!(w.evidence.highlight, Some((3, 5)));
    let t = v.reasons.iter().find(|r| r.code == "text_flag").unwrap();
    assert_eq!(t.evidence.excerpt.as_deref(), Some("you are all idiots"));
    assert_eq!(t.evidence.at_ms, Some(5_000));
    assert_eq!(t.evidence.source.as_deref(), Some("transcript"));
}

#[test]
fn thresholds_come_from_the_configuration() {
    let cfg = ModerationConfig {
        text_review_at: 0.2,
        text_reject_at: 0.3,
        qc_errors_review: false,
        ..ModerationConfig::default()
    };
    let checks = with(all_done(), done("text", vec![flag("title", 0.35)], vec![]));
    let report = qc(Some(Severity::Error));
    let v = decide(
        &VerdictInput {
            qc: Some(&report),
            duplicates: &[],
            checks: &checks,
            expected: &ALL,
        },
        &cfg,
    );
    assert_eq!(v.outcome, Outcome::Reject);
    assert_eq!(
        v.reasons.len(),
        1,
        "QC errors are not reasons when switched off"
    );
}
