//! The bad-file corpus: every kind of broken or unacceptable upload, each with the
//! rejection it must get from probe + validate.

use std::path::{Path, PathBuf};

use super::*;
use crate::ingest::testmedia::{clip, ffmpeg, limits};
use crate::ingest::validate::validate;

fn judge(path: &Path, limits: &IngestLimits) -> Result<ProbeInfo, Rejection> {
    let info = probe(path, limits).map_err(|e| match e {
        IngestError::Rejected(r) => r,
        IngestError::Internal(e) => panic!("internal error: {e:#}"),
    })?;
    validate(&info, limits)?;
    Ok(info)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_good_clip_is_described() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "ok.mp4", "640x360", "30", 2.0, Some(0.1));
    let info = judge(&src, &limits()).unwrap();
    assert!(info.container.contains("mp4"), "{}", info.container);
    assert!((info.duration_s - 2.0).abs() < 0.1, "{}", info.duration_s);
    assert_eq!(info.stream_count, 2);
    let v = info.video.unwrap();
    assert_eq!((v.codec.as_str(), v.width, v.height), ("h264", 640, 360));
    assert!((v.frame_rate - 30.0).abs() < 0.01);
    assert_eq!(
        (v.rotation_deg, v.field_order.as_str(), v.interlaced),
        (0, "progressive", false)
    );
    assert_eq!(v.pix_fmt, "yuv420p");
    let a = info.audio.unwrap();
    assert_eq!(
        (a.codec.as_str(), a.sample_rate, a.channels),
        ("aac", 44100, 1)
    );
    assert_eq!(a.layout, "mono");
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty.mp4", b"");
    assert_eq!(judge(&path, &limits()), Err(Rejection::Empty));
}

#[test]
fn random_bytes_are_not_media() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let path = write(dir.path(), "noise.mp4", &bytes);
    assert!(matches!(
        judge(&path, &limits()),
        Err(Rejection::NotMedia { .. })
    ));
}

#[test]
fn mp4_cut_in_half_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    // Not faststart: the index (moov) is at the end and is lost with the second half.
    let src = clip(dir.path(), "whole.mp4", "320x180", "25", 3.0, Some(0.1));
    let bytes = std::fs::read(&src).unwrap();
    let path = write(dir.path(), "half.mp4", &bytes[..bytes.len() / 2]);
    let r = judge(&path, &limits());
    assert!(matches!(r, Err(Rejection::Corrupt { .. })), "{r:?}");
}

#[test]
fn header_promising_more_than_the_file_holds_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let src = ffmpeg(
        dir.path(),
        "fast.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25:duration=6",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-movflags",
            "+faststart",
        ],
    );
    let bytes = std::fs::read(&src).unwrap();
    let path = write(dir.path(), "cut.mp4", &bytes[..bytes.len() * 4 / 10]);
    match judge(&path, &limits()) {
        Err(Rejection::Corrupt { detail }) => assert!(detail.contains("6.0 s"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_frame_is_too_short() {
    let dir = tempfile::tempdir().unwrap();
    let src = ffmpeg(
        dir.path(),
        "one.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25",
            "-frames:v",
            "1",
            "-c:v",
            "libx264",
        ],
    );
    assert!(matches!(
        judge(&src, &limits()),
        Err(Rejection::TooShort { .. })
    ));
}

#[test]
fn empty_audio_track_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let src = ffmpeg(
        dir.path(),
        "zero.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25:duration=3",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=48000",
            "-map",
            "0",
            "-map",
            "1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "pcm_s16le",
            "-frames:a",
            "0",
            "-t",
            "3",
        ],
    );
    match judge(&src, &limits()) {
        Err(Rejection::Corrupt { detail }) => assert!(detail.contains("audio"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn png_renamed_to_mp4_is_a_still_image() {
    let dir = tempfile::tempdir().unwrap();
    let png = ffmpeg(
        dir.path(),
        "pic.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180",
            "-frames:v",
            "1",
        ],
    );
    let path = dir.path().join("pic.mp4");
    std::fs::rename(&png, &path).unwrap();
    let r = judge(&path, &limits());
    assert!(matches!(r, Err(Rejection::StillImage { .. })), "{r:?}");
    assert!(r.unwrap_err().to_string().contains("still image"));
}

#[test]
fn absurd_declared_resolutions() {
    let dir = tempfile::tempdir().unwrap();
    for (w, h) in [(100_000u32, 100_000u32), (9000, 9000)] {
        let mut bytes = format!("YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C420jpeg\nFRAME\n").into_bytes();
        bytes.extend(std::iter::repeat_n(128u8, 4096));
        let path = write(dir.path(), &format!("huge{w}.y4m"), &bytes);
        let r = judge(&path, &limits());
        assert_eq!(
            r,
            Err(Rejection::AbsurdDimensions {
                width: w,
                height: h,
                max: 8192
            })
        );
    }
}

#[test]
fn audio_only_has_no_video() {
    let dir = tempfile::tempdir().unwrap();
    let src = ffmpeg(
        dir.path(),
        "a.m4a",
        &["-f", "lavfi", "-i", "sine=duration=3", "-c:a", "aac"],
    );
    assert_eq!(judge(&src, &limits()), Err(Rejection::NoVideo));
}

#[test]
fn too_many_streams() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:duration=2",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=2",
        "-map",
        "0",
    ];
    args.extend(std::iter::repeat_n(["-map", "1"], 9).flatten());
    args.extend(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]);
    let src = ffmpeg(dir.path(), "many.mp4", &args);
    assert_eq!(
        judge(&src, &limits()),
        Err(Rejection::TooManyStreams { count: 10, max: 8 })
    );
}

#[test]
fn too_long_and_too_large_for_small_limits() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "long.mp4", "320x180", "25", 4.0, None);
    let short = IngestLimits {
        max_duration_s: 3.0,
        ..limits()
    };
    assert!(matches!(judge(&src, &short), Err(Rejection::TooLong { max, .. }) if max == 3.0));
    let small = IngestLimits {
        max_file_bytes: 1000,
        ..limits()
    };
    assert!(matches!(
        judge(&src, &small),
        Err(Rejection::TooLarge { max: 1000, .. })
    ));
}

#[test]
fn picture_larger_than_the_limit_is_refused_without_decoding_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "big.mp4", "640x360", "25", 2.0, None);
    let tiny = IngestLimits {
        max_dimension: 100,
        ..limits()
    };
    assert_eq!(
        judge(&src, &tiny),
        Err(Rejection::AbsurdDimensions {
            width: 640,
            height: 360,
            max: 100
        })
    );
}
