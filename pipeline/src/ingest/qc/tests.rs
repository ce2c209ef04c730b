//! File-level QC tests on media generated with the ffmpeg CLI.

use std::path::Path;

use super::*;
use crate::ingest::loudness::Loudness;
use crate::ingest::testmedia::{ffmpeg, house, limits, with_house_codecs};
use crate::ingest::{IngestError, Rejection};

fn run(analysed: &Path, source: Option<&Path>) -> QcReport {
    let input = QcInput {
        analysed,
        source,
        loudness_before: None,
        source_width: None,
        source_height: None,
    };
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |f: f64| seen.lock().unwrap().push(f);
    let report = analyze(
        &input,
        &QcThresholds::default(),
        &house(),
        &limits(),
        &progress,
    )
    .unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress goes forward: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&1.0));
    report
}

fn assert_near(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} is not {expected} ±{tolerance}"
    );
}

#[test]
fn timecodes_are_hours_minutes_seconds_millis() {
    assert_eq!(timecode(0.0), "00:00:00.000");
    assert_eq!(timecode(62.345), "00:01:02.345");
    assert_eq!(timecode(3723.0004), "01:02:03.000");
    assert_eq!(timecode(-1.0), "00:00:00.000");
}

#[test]
fn black_start_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let clip = ffmpeg(
        dir.path(),
        "black.mp4",
        &with_house_codecs(&[
            "-f",
            "lavfi",
            "-i",
            "color=black:s=320x180:r=25:d=2",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x180:r=25:d=3",
            "-filter_complex",
            "[0][1]concat=n=2:v=1:a=0",
        ]),
    );
    let report = run(&clip, None);
    assert_eq!(report.black.len(), 1, "{:?}", report.black);
    assert_near(report.black[0].start_s, 0.0, 0.04, "black start");
    assert_near(report.black[0].end_s, 2.0, 0.04, "black end");
    assert_near(report.duration_s, 5.0, 0.05, "duration");
    assert!(
        report.frozen.is_empty(),
        "black is not also frozen: {:?}",
        report.frozen
    );
    let finding = &report.findings[0];
    assert_eq!(
        (finding.kind, finding.severity),
        (FindingKind::Black, Severity::Info)
    );
    assert!(
        finding.message.contains("00:00:00.000 to 00:00:02.000"),
        "{}",
        finding.message
    );
    assert!(
        report
            .summary
            .contains("1 black segment (00:00:00.000–00:00:02.000)"),
        "{}",
        report.summary
    );
}

#[test]
fn frozen_stretch_is_found() {
    let dir = tempfile::tempdir().unwrap();
    // The picture at 2.0 s is repeated 75 times in all: still from 2.0 s to 5.0 s.
    let clip = ffmpeg(
        dir.path(),
        "frozen.mp4",
        &with_house_codecs(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x180:r=25:d=5,loop=loop=74:size=1:start=50,setpts=N/25/TB",
            "-t",
            "7",
        ]),
    );
    let report = run(&clip, None);
    assert_eq!(report.frozen.len(), 1, "{:?}", report.frozen);
    assert_near(report.frozen[0].start_s, 2.0, 0.1, "freeze start");
    assert_near(report.frozen[0].end_s, 5.0, 0.1, "freeze end");
    assert!(report.black.is_empty());
    let finding = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Frozen)
        .unwrap();
    assert_eq!(finding.severity, Severity::Warning);
}

#[test]
fn silence_in_the_middle_is_found_and_loudness_measured() {
    let dir = tempfile::tempdir().unwrap();
    let tone = "0.1*sin(2*PI*1000*t)*not(between(t,2,5))";
    let expr = format!("aevalsrc='{tone}|{tone}':s=48000:d=8");
    let clip = ffmpeg(
        dir.path(),
        "silence.mp4",
        &with_house_codecs(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x180:r=25:d=8",
            "-f",
            "lavfi",
            "-i",
            &expr,
        ]),
    );
    let report = run(&clip, None);
    assert_eq!(report.silence.len(), 1, "{:?}", report.silence);
    assert_near(report.silence[0].start_s, 2.0, 0.05, "silence start");
    assert_near(report.silence[0].end_s, 5.0, 0.05, "silence end");
    // A -20 dBFS stereo 1 kHz sine reads -20 LUFS; the silent part is gated out.
    let lufs = report.loudness_after.integrated_lufs.unwrap();
    assert_near(lufs, -20.0, 0.3, "integrated loudness");
    // AAC overshoots a little where the tone starts and stops abruptly.
    assert_near(
        report.loudness_after.true_peak_dbtp.unwrap(),
        -19.5,
        1.0,
        "true peak",
    );
    let loudness = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Loudness)
        .unwrap();
    assert_eq!(
        loudness.severity,
        Severity::Error,
        "-20 LUFS misses -23 ±0.5"
    );
    assert!(
        report.summary.starts_with("Loudness -20."),
        "{}",
        report.summary
    );
    assert!(
        report.summary.contains("1 silent segment"),
        "{}",
        report.summary
    );
    let silence = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Silence)
        .unwrap();
    assert_eq!(
        silence.severity,
        Severity::Warning,
        "3 s of silence mid-clip"
    );
}

#[test]
fn clipping_is_measured_on_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let clipped = ffmpeg(
        dir.path(),
        "clipped.wav",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:sample_rate=48000:d=3",
            "-af",
            "volume=20",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
        ],
    );
    let clean = ffmpeg(
        dir.path(),
        "clean.wav",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:sample_rate=48000:d=3",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
        ],
    );
    let report = run(&clean, Some(&clipped));
    assert!(report.clipped_samples > 1000, "{}", report.clipped_samples);
    assert_eq!(report.clipping.len(), 1, "{:?}", report.clipping);
    assert_near(report.clipping[0].start_s, 0.0, 0.01, "clipping start");
    assert_near(report.clipping[0].end_s, 3.0, 0.01, "clipping end");
    assert!(report
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::Clipping && f.severity == Severity::Warning));

    let report = run(&clean, None);
    assert_eq!((report.clipped_samples, report.clipping.len()), (0, 0));
    assert!(report.summary.contains("no clipping"), "{}", report.summary);
}

#[test]
fn source_size_and_shape_give_notes() {
    let input = QcInput {
        analysed: Path::new("unused"),
        source: None,
        loudness_before: None,
        source_width: Some(160),
        source_height: Some(120),
    };
    let mut out = Vec::new();
    report::findings_for_source(&input, &house(), &mut out);
    let kinds: Vec<_> = out.iter().map(|f| (f.kind, f.severity)).collect();
    assert_eq!(
        kinds,
        [
            (FindingKind::Resolution, Severity::Info),
            (FindingKind::Aspect, Severity::Info)
        ]
    );
    assert!(out[1].message.contains("pillarboxed"), "{}", out[1].message);
}

#[test]
fn whole_clip_black_is_an_error_and_reports_serialize() {
    let dir = tempfile::tempdir().unwrap();
    let clip = ffmpeg(
        dir.path(),
        "allblack.mp4",
        &with_house_codecs(&[
            "-f",
            "lavfi",
            "-i",
            "color=black:s=320x180:r=25:d=3",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=48000:cl=stereo",
            "-t",
            "3",
        ]),
    );
    let report = run(&clip, None);
    assert_eq!(report.worst(), Some(Severity::Error));
    let black = report
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Black)
        .unwrap();
    assert_eq!(black.severity, Severity::Error);
    assert!(black.message.contains("throughout"), "{}", black.message);
    assert_eq!(report.loudness_after.integrated_lufs, None);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"kind\":\"black\"") && json.contains("\"severity\":\"error\""));
    assert_eq!(serde_json::from_str::<QcReport>(&json).unwrap(), report);
}

#[test]
fn a_file_that_is_not_media_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.mp4");
    std::fs::write(&path, b"this is not a video at all, just some text").unwrap();
    let err = analyze(
        &QcInput {
            analysed: &path,
            source: None,
            loudness_before: None,
            source_width: None,
            source_height: None,
        },
        &QcThresholds::default(),
        &house(),
        &limits(),
        &|_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, IngestError::Rejected(Rejection::NotMedia { .. })),
        "{err:?}"
    );
}

#[test]
fn findings_and_summary_from_measurements() {
    let seg = |start_s, end_s| Segment { start_s, end_s };
    let mut r = QcReport {
        duration_s: 60.0,
        loudness_before: Some(Loudness {
            integrated_lufs: Some(-31.24),
            range_lu: 3.0,
            true_peak_dbtp: Some(-9.0),
        }),
        loudness_after: Loudness {
            integrated_lufs: Some(-23.04),
            range_lu: 21.5,
            true_peak_dbtp: Some(-0.4),
        },
        black: vec![seg(0.0, 2.0), seg(50.0, 60.0)],
        silence: vec![seg(20.0, 23.5)],
        frozen: Vec::new(),
        clipping: Vec::new(),
        clipped_samples: 0,
        findings: Vec::new(),
        summary: String::new(),
    };
    let input = QcInput {
        analysed: Path::new("unused"),
        source: None,
        loudness_before: None,
        source_width: Some(1920),
        source_height: Some(1080),
    };
    r.findings = report::findings(&r, &input, &QcThresholds::default(), &house());
    let kinds: Vec<_> = r.findings.iter().map(|f| (f.kind, f.severity)).collect();
    assert_eq!(
        kinds,
        [
            (FindingKind::Black, Severity::Info),      // 2 s lead-in
            (FindingKind::Black, Severity::Warning),   // 10 s at the end is long
            (FindingKind::Silence, Severity::Warning), // mid-clip
            (FindingKind::LoudnessRange, Severity::Warning),
            (FindingKind::TruePeak, Severity::Error),
        ]
    );
    assert_eq!(
        r.findings[2].message,
        "Silence from 00:00:20.000 to 00:00:23.500 (3.5 s)."
    );
    let summary = report::summary(&r);
    assert_eq!(
        summary,
        "Loudness -23.0 LUFS (was -31.2), LRA 21.5 LU, true peak -0.4 dBTP.\n\
         2 black segments (00:00:00.000–00:00:02.000, 00:00:50.000–00:01:00.000); \
         1 silent segment (00:00:20.000–00:00:23.500); no frozen picture; no clipping.\n\
         Findings: 1 error, 3 warnings, 1 note."
    );
}
