//! Reader tests on media generated with the ffmpeg CLI.

use std::path::Path;

use super::*;
use crate::ingest::testmedia::{ffmpeg, limits, with_house_codecs};

/// Start, channels, rate and sample count of each audio chunk.
type Chunk = (f64, u16, u32, usize);

fn collect(path: &Path, opts: &DecodeOptions) -> (MediaInfo, Vec<Picture>, Vec<Chunk>) {
    let mut pictures = Vec::new();
    let mut audio = Vec::new();
    let info = for_each(path, opts, &limits(), |item| {
        match item {
            Decoded::Video(p) => pictures.push(p),
            Decoded::Audio {
                time_s,
                channels,
                rate,
                samples,
            } => audio.push((time_s, channels, rate, samples.len())),
        }
        Ok(())
    })
    .unwrap();
    (info, pictures, audio)
}

fn clip(dir: &Path) -> std::path::PathBuf {
    ffmpeg(
        dir,
        "clip.mp4",
        &with_house_codecs(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x180:r=25:d=3",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:sample_rate=44100:d=3",
            "-g",
            "10",
        ]),
    )
}

#[test]
fn linear_decode_gives_every_picture_and_all_sound() {
    let dir = tempfile::tempdir().unwrap();
    let path = clip(dir.path());
    let opts = DecodeOptions {
        video: Some(VideoRequest {
            width: 160,
            height: Some(90),
            pixels: PixelKind::Gray,
        }),
        audio: Some(AudioRequest::Stereo { rate: 48_000 }),
        seek_points: Vec::new(),
    };
    let (info, pictures, audio) = collect(&path, &opts);
    assert!((info.duration_s - 3.0).abs() < 0.05, "{}", info.duration_s);
    let video = info.video.unwrap();
    assert_eq!((video.width, video.height), (320, 180));
    assert!((video.display_aspect - 16.0 / 9.0).abs() < 0.01);
    assert_eq!(pictures.len(), 75);
    assert!(pictures[0].time_s.abs() < 1e-6, "{}", pictures[0].time_s);
    assert!(
        (pictures[74].time_s - 2.96).abs() < 1e-6,
        "{}",
        pictures[74].time_s
    );
    assert!(pictures.iter().all(|p| p.data.len() == 160 * 90));
    assert!(audio
        .iter()
        .all(|&(_, ch, rate, _)| ch == 2 && rate == 48_000));
    let frames: usize = audio.iter().map(|&(_, _, _, n)| n / 2).sum();
    assert!(
        (frames as f64 / 48_000.0 - 3.0).abs() < 0.05,
        "{frames} frames"
    );
    // Chunks join without gaps.
    for pair in audio.windows(2) {
        let end = pair[0].0 + (pair[0].3 / 2) as f64 / 48_000.0;
        assert!((pair[1].0 - end).abs() < 1e-6);
    }
}

#[test]
fn native_audio_keeps_channels_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let path = ffmpeg(
        dir.path(),
        "mono.wav",
        &["-f", "lavfi", "-i", "sine=sample_rate=22050:d=2"],
    );
    let opts = DecodeOptions {
        audio: Some(AudioRequest::Native),
        ..Default::default()
    };
    let (info, pictures, audio) = collect(&path, &opts);
    assert!(info.video.is_none() && info.has_audio && pictures.is_empty());
    assert!(audio
        .iter()
        .all(|&(_, ch, rate, _)| ch == 1 && rate == 22_050));
    assert_eq!(audio.iter().map(|a| a.3).sum::<usize>(), 44_100);
}

#[test]
fn seek_points_give_one_picture_each_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = clip(dir.path());
    let points = vec![0.51, 1.24, 2.0, 2.99, 10.0];
    let opts = DecodeOptions {
        video: Some(VideoRequest {
            width: 64,
            height: None,
            pixels: PixelKind::Rgb,
        }),
        audio: Some(AudioRequest::Native),
        seek_points: points.clone(),
    };
    let (_, pictures, audio) = collect(&path, &opts);
    assert!(audio.is_empty(), "seek mode is video only");
    let times: Vec<f64> = pictures.iter().map(|p| p.time_s).collect();
    // 25 fps: the picture at or after each point, half a frame early allowed; a point past the
    // end gives the last picture.
    let expected = [0.52, 1.24, 2.0, 2.96, 2.96];
    assert_eq!(times.len(), expected.len(), "{times:?}");
    for (t, e) in times.iter().zip(expected) {
        assert!((t - e).abs() < 0.021, "{times:?}");
    }
    assert!(pictures
        .iter()
        .all(|p| (p.width, p.height) == (64, 36) && p.data.len() == 64 * 36 * 3));
}

#[test]
fn a_spent_budget_stops_the_decode() {
    let dir = tempfile::tempdir().unwrap();
    let path = clip(dir.path());
    let limits = IngestLimits {
        probe_timeout_s: 0,
        decode_seconds_per_media_second: 0.0,
        ..IngestLimits::default()
    };
    let opts = DecodeOptions {
        audio: Some(AudioRequest::Native),
        ..Default::default()
    };
    let err = for_each(&path, &opts, &limits, |_| Ok(())).unwrap_err();
    assert!(
        matches!(err, IngestError::Rejected(Rejection::TooSlow { .. })),
        "{err:?}"
    );
}

#[test]
fn a_missing_file_is_our_failure_not_the_creators() {
    let err = media_info(Path::new("/nonexistent/clip.mp4"), &limits()).unwrap_err();
    assert!(matches!(err, IngestError::Internal(_)), "{err:?}");
}
