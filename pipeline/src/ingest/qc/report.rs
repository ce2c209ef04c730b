//! Turns measured segments and loudness into findings with a severity and a message a
//! creator can read, and writes the report's summary lines.

use super::{timecode, Finding, FindingKind, QcInput, QcReport, Segment, Severity};
use crate::config::{HouseFormat, QcThresholds};

/// A segment this close to the start or the end of the clip is "at the edge".
const EDGE_S: f64 = 0.1;
/// A stretch at the start or end up to this long is an ordinary lead-in or tail (a note);
/// longer, or anywhere in the middle, it is worth a look (a warning).
const EDGE_NOTE_MAX_S: f64 = 5.0;
/// Clipping findings listed one by one before the rest are summed up in one.
const MAX_CLIPPING_FINDINGS: usize = 20;
/// Aspect ratios closer than this to the house format's are treated as equal.
const ASPECT_TOLERANCE: f64 = 0.02;

pub(super) fn findings(
    report: &QcReport,
    input: &QcInput,
    thresholds: &QcThresholds,
    house: &HouseFormat,
) -> Vec<Finding> {
    let d = report.duration_s;
    let mut out = Vec::new();
    for s in &report.black {
        out.push(segment_finding(FindingKind::Black, "Black picture", s, d));
    }
    for s in &report.silence {
        out.push(segment_finding(FindingKind::Silence, "Silence", s, d));
    }
    for s in &report.frozen {
        out.push(segment_finding(FindingKind::Frozen, "Frozen picture", s, d));
    }
    clipping_findings(&report.clipping, &mut out);
    loudness_findings(report, thresholds, house, &mut out);
    findings_for_source(input, house, &mut out);
    out
}

fn segment_finding(kind: FindingKind, what: &str, s: &Segment, duration_s: f64) -> Finding {
    let at_start = s.start_s <= EDGE_S;
    let at_end = s.end_s >= duration_s - EDGE_S;
    let (severity, place) = if at_start && at_end {
        (Severity::Error, " throughout the clip")
    } else if (at_start || at_end) && s.duration_s() <= EDGE_NOTE_MAX_S {
        let place = if at_start {
            " at the start"
        } else {
            " at the end"
        };
        (Severity::Info, place)
    } else {
        (Severity::Warning, "")
    };
    Finding {
        kind,
        severity,
        start_s: Some(s.start_s),
        end_s: Some(s.end_s),
        message: format!(
            "{what}{place} from {} to {} ({:.1} s).",
            timecode(s.start_s),
            timecode(s.end_s),
            s.duration_s()
        ),
    }
}

fn clipping_findings(segments: &[Segment], out: &mut Vec<Finding>) {
    for s in segments.iter().take(MAX_CLIPPING_FINDINGS) {
        out.push(Finding {
            kind: FindingKind::Clipping,
            severity: Severity::Warning,
            start_s: Some(s.start_s),
            end_s: Some(s.end_s),
            message: format!(
                "The uploaded sound is clipped (distorted) from {} to {}.",
                timecode(s.start_s),
                timecode(s.end_s)
            ),
        });
    }
    if let Some(rest) = segments
        .get(MAX_CLIPPING_FINDINGS..)
        .filter(|r| !r.is_empty())
    {
        let (first, last) = (&rest[0], &rest[rest.len() - 1]);
        out.push(Finding {
            kind: FindingKind::Clipping,
            severity: Severity::Warning,
            start_s: Some(first.start_s),
            end_s: Some(last.end_s),
            message: format!(
                "{} more clipped passages between {} and {}.",
                rest.len(),
                timecode(first.start_s),
                timecode(last.end_s)
            ),
        });
    }
}

fn loudness_findings(
    report: &QcReport,
    thresholds: &QcThresholds,
    house: &HouseFormat,
    out: &mut Vec<Finding>,
) {
    let after = &report.loudness_after;
    if after.range_lu > thresholds.max_loudness_range {
        out.push(whole_clip(
            FindingKind::LoudnessRange,
            Severity::Warning,
            format!(
                "Loudness range {:.1} LU is above {:.1} LU: very quiet and very loud passages \
                 alternate.",
                after.range_lu, thresholds.max_loudness_range
            ),
        ));
    }
    // Silence has no integrated loudness; the silence finding already says so.
    if let Some(lufs) = after.integrated_lufs {
        if (lufs - house.loudness_target).abs() > house.loudness_tolerance {
            out.push(whole_clip(
                FindingKind::Loudness,
                Severity::Error,
                format!(
                    "Loudness {lufs:.1} LUFS is outside the target {:.1} LUFS ±{:.1} LU.",
                    house.loudness_target, house.loudness_tolerance
                ),
            ));
        }
    }
    if let Some(peak) = after.true_peak_dbtp {
        if peak > house.true_peak_max {
            out.push(whole_clip(
                FindingKind::TruePeak,
                Severity::Error,
                format!(
                    "True peak {peak:.1} dBTP is above the maximum {:.1} dBTP.",
                    house.true_peak_max
                ),
            ));
        }
    }
}

pub(super) fn findings_for_source(input: &QcInput, house: &HouseFormat, out: &mut Vec<Finding>) {
    let (Some(w), Some(h)) = (input.source_width, input.source_height) else {
        return;
    };
    if w == 0 || h == 0 || house.height == 0 {
        return;
    }
    if w < house.width || h < house.height {
        out.push(whole_clip(
            FindingKind::Resolution,
            Severity::Info,
            format!(
                "The upload is {w}x{h}, smaller than the house format {}x{}: it was enlarged \
                 and may look soft.",
                house.width, house.height
            ),
        ));
    }
    let source = f64::from(w) / f64::from(h);
    let target = f64::from(house.width) / f64::from(house.height);
    if (source - target).abs() > ASPECT_TOLERANCE {
        let bars = if source < target {
            "pillarboxed (black bars left and right)"
        } else {
            "letterboxed (black bars above and below)"
        };
        out.push(whole_clip(
            FindingKind::Aspect,
            Severity::Info,
            format!(
                "The upload's picture shape is {source:.2}:1, not {target:.2}:1 like the \
                 house format: it was {bars}."
            ),
        ));
    }
}

fn whole_clip(kind: FindingKind, severity: Severity, message: String) -> Finding {
    Finding {
        kind,
        severity,
        start_s: None,
        end_s: None,
        message,
    }
}

/// A few readable lines: loudness, the segments found, and the count of findings.
pub(super) fn summary(report: &QcReport) -> String {
    let mut lines = vec![loudness_line(report)];
    let parts = [
        segments_text("black segment", "no black", &report.black),
        segments_text("silent segment", "no silence", &report.silence),
        segments_text("frozen segment", "no frozen picture", &report.frozen),
        segments_text("clipped passage", "no clipping", &report.clipping),
    ];
    lines.push(format!("{}.", parts.join("; ")));
    lines.push(findings_line(&report.findings));
    lines.join("\n")
}

fn loudness_line(report: &QcReport) -> String {
    let after = &report.loudness_after;
    let Some(lufs) = after.integrated_lufs else {
        return "No measurable loudness (silent or no sound).".to_string();
    };
    let before = report
        .loudness_before
        .and_then(|b| b.integrated_lufs)
        .map(|b| format!(" (was {b:.1})"))
        .unwrap_or_default();
    let peak = after
        .true_peak_dbtp
        .map(|p| format!("{p:.1} dBTP"))
        .unwrap_or_else(|| "none".into());
    format!(
        "Loudness {lufs:.1} LUFS{before}, LRA {:.1} LU, true peak {peak}.",
        after.range_lu
    )
}

/// "1 black segment (00:00:00.000–00:00:02.000)", listing at most three.
fn segments_text(noun: &str, none: &str, segments: &[Segment]) -> String {
    if segments.is_empty() {
        return none.to_string();
    }
    let plural = if segments.len() == 1 { "" } else { "s" };
    let mut listed: Vec<String> = segments
        .iter()
        .take(3)
        .map(|s| format!("{}–{}", timecode(s.start_s), timecode(s.end_s)))
        .collect();
    if segments.len() > 3 {
        listed.push("…".into());
    }
    format!("{} {noun}{plural} ({})", segments.len(), listed.join(", "))
}

fn findings_line(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "No problems found.".to_string();
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let counted =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "Findings: {}, {}, {}.",
        counted(count(Severity::Error), "error", "errors"),
        counted(count(Severity::Warning), "warning", "warnings"),
        counted(count(Severity::Info), "note", "notes")
    )
}
