//! Normalize tests, sound and robustness side: loudness and true peak, the limiter, exact
//! A/V length when one stream is longer or missing, sync, progress, budgets, damaged files.

use std::process::Command;

use super::tests::{assert_loudness, run};
use super::*;
use crate::ingest::testmedia::{clip, ffmpeg, house, limits, no_progress};

#[test]
fn loud_and_quiet_sources_land_on_target() {
    for amplitude in [0.5, 0.01] {
        let dir = tempfile::tempdir().unwrap();
        let src = clip(dir.path(), "in.mp4", "320x180", "25", 3.0, Some(amplitude));
        let (out, report) = run(&src, dir.path());
        assert_loudness(&out);
        let after = report.loudness_after.integrated_lufs.unwrap();
        assert!((after - -23.0).abs() <= 0.5, "{amplitude}: {after}");
        assert!(!report.limited);
    }
}

#[test]
fn peaky_source_is_limited_and_still_on_target() {
    let dir = tempfile::tempdir().unwrap();
    // A quiet tone with full-scale clicks: the gain up to -23 LUFS would put the clicks far
    // over the true-peak maximum.
    let src = ffmpeg(
        dir.path(),
        "in.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25:duration=4",
            "-f",
            "lavfi",
            "-i",
            "aevalsrc='0.05*sin(2*PI*300*t)+0.9*lt(mod(t\\,1)\\,0.0005)':s=48000:d=4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
    );
    let (out, report) = run(&src, dir.path());
    assert!(report.limited);
    assert_loudness(&out);
}

#[test]
fn silent_clip_gets_silence_of_its_length() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "in.mp4", "320x180", "25", 2.0, None);
    let (_, report) = run(&src, dir.path());
    assert!(!report.source_had_audio);
    assert_eq!(report.video_frames, 50);
    assert_eq!(report.padded_samples, 50 * 1920);
    assert_eq!(report.loudness_after.true_peak_dbtp, None);
}

#[test]
fn longer_audio_holds_the_last_frame() {
    let dir = tempfile::tempdir().unwrap();
    let src = ffmpeg(
        dir.path(),
        "in.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
    );
    let (_, report) = run(&src, dir.path());
    assert_eq!(report.video_frames, 75);
    assert_eq!(report.held_frames, 25);
    assert_eq!(report.padded_samples, 0);
}

#[test]
fn longer_video_pads_the_audio() {
    let dir = tempfile::tempdir().unwrap();
    let src = ffmpeg(
        dir.path(),
        "in.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25:duration=3",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
    );
    let (_, report) = run(&src, dir.path());
    assert_eq!(report.video_frames, 75);
    assert_eq!(report.held_frames, 0);
    assert_eq!(report.padded_samples, 25 * 1920);
}

#[test]
fn progress_rises_to_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "in.mp4", "320x180", "25", 2.0, Some(0.1));
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |f: f64| seen.lock().unwrap().push(f);
    normalize(
        &src,
        &dir.path().join("o.mp4"),
        &house(),
        &limits(),
        &record,
    )
    .unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(seen.last(), Some(&1.0));
    assert!(seen.len() >= 3);
}

#[test]
fn spent_budget_is_too_slow_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "in.mp4", "320x180", "25", 2.0, Some(0.1));
    let tight = crate::config::IngestLimits {
        probe_timeout_s: 0,
        decode_seconds_per_media_second: 0.0,
        ..limits()
    };
    let r = normalize(
        &src,
        &dir.path().join("o.mp4"),
        &house(),
        &tight,
        no_progress(),
    );
    assert!(
        matches!(r, Err(IngestError::Rejected(Rejection::TooSlow { .. }))),
        "{r:?}"
    );
}

#[test]
fn damaged_middle_is_rejected_or_survived_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "in.mp4", "320x180", "25", 3.0, Some(0.1));
    let mut bytes = std::fs::read(&src).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n / 4..n / 2] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    let bad = dir.path().join("bad.mp4");
    std::fs::write(&bad, &bytes).unwrap();
    match normalize(
        &bad,
        &dir.path().join("o.mp4"),
        &house(),
        &limits(),
        no_progress(),
    ) {
        Ok(report) => assert!(report.video_frames >= 67),
        Err(IngestError::Rejected(Rejection::Corrupt { .. })) => {}
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn late_audio_stays_in_sync() {
    let dir = tempfile::tempdir().unwrap();
    let src = ffmpeg(
        dir.path(),
        "in.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25:duration=3",
            "-itsoffset",
            "1",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
    );
    let (out, report) = run(&src, dir.path());
    assert_eq!(report.video_frames, 75);
    let pcm = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-i",
            out.to_str().unwrap(),
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-f",
            "s16le",
            "-",
        ])
        .output()
        .unwrap()
        .stdout;
    let level = |from: f64, to: f64| -> i32 {
        let range = (from * 48000.0) as usize * 2..(to * 48000.0) as usize * 2;
        pcm[range]
            .chunks(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]).unsigned_abs() as i32)
            .max()
            .unwrap()
    };
    assert!(level(0.0, 0.9) < 50, "silence before the sound starts");
    assert!(level(1.1, 2.9) > 1000, "sound from 1 s");
}

#[test]
fn file_cut_short_behind_its_header_is_rejected_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let src = ffmpeg(
        dir.path(),
        "fast.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25:duration=5",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-movflags",
            "+faststart",
        ],
    );
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path().join("o.mp4");
    let r = normalize(&cut, &out, &house(), &limits(), no_progress());
    match r {
        Err(IngestError::Rejected(Rejection::Corrupt { detail })) => {
            assert!(detail.contains("5.0 s"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!out.exists(), "no half-written output is left");
}
