//! Thumbnail tests on media generated with the ffmpeg CLI.

use std::path::{Path, PathBuf};

use super::*;
use crate::ingest::testmedia::{ffmpeg, limits, with_house_codecs};

fn config() -> ThumbnailConfig {
    ThumbnailConfig {
        poster_width: 320,
        sheet_columns: 3,
        sheet_rows: 2,
        sheet_tile_width: 96,
        waveform_width: 300,
        waveform_height: 80,
    }
}

/// 2 s of black, then 3 s of testsrc2.
fn black_then_pattern(dir: &Path) -> PathBuf {
    ffmpeg(
        dir,
        "clip.mp4",
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
    )
}

fn mean_luma(image: &RgbImage) -> f64 {
    let sum: u64 = image
        .pixels()
        .map(|p| u64::from(p[0]) + u64::from(p[1]) + u64::from(p[2]))
        .sum();
    sum as f64 / (3 * image.width() * image.height()) as f64
}

#[test]
fn poster_of_a_clip_that_starts_black_is_not_black() {
    let dir = tempfile::tempdir().unwrap();
    let clip = black_then_pattern(dir.path());
    let out = dir.path().join("poster.png");
    let info = poster(&clip, &out, &config(), &limits()).unwrap();
    assert!(info.time_s >= 2.0, "chosen at {}", info.time_s);
    let image = image::open(&out).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (320, 180));
    assert!(mean_luma(&image) > 40.0, "mean {}", mean_luma(&image));
}

#[test]
fn contact_sheet_has_the_grid_size_and_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let clip = black_then_pattern(dir.path());
    let out = dir.path().join("sheet.png");
    contact_sheet(&clip, &out, &config(), &limits()).unwrap();
    let sheet = image::open(&out).unwrap().to_rgb8();
    // 16:9 tiles of 96 px are 54 px high.
    assert_eq!(sheet.dimensions(), (3 * 96, 2 * 54));
    // The first tile (0.4 s) is black, the last (4.6 s) shows the pattern.
    let first = image::imageops::crop_imm(&sheet, 0, 0, 96, 54).to_image();
    let last = image::imageops::crop_imm(&sheet, 192, 54, 96, 54).to_image();
    assert!(mean_luma(&first) < 20.0, "first tile {}", mean_luma(&first));
    assert!(mean_luma(&last) > 40.0, "last tile {}", mean_luma(&last));
}

#[test]
fn waveform_marks_loud_columns_and_leaves_silence_empty() {
    let dir = tempfile::tempdir().unwrap();
    // 6 s: tone, silence from 2 s to 4 s, tone.
    let tone = "0.5*sin(2*PI*300*t)*not(between(t,2,4))";
    let src = format!("aevalsrc='{tone}|{tone}':s=48000:d=6");
    let clip = ffmpeg(
        dir.path(),
        "tone.wav",
        &["-f", "lavfi", "-i", &src, "-c:a", "pcm_s16le"],
    );
    let out = dir.path().join("wave.png");
    waveform(&clip, &out, &config(), &limits()).unwrap();
    let image = image::open(&out).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (300, 80));
    let marked = |x: u32| {
        (0..80)
            .filter(|&y| *image.get_pixel(x, y) != BACKGROUND)
            .count()
    };
    // 50 columns per second: loud columns are drawn in both lanes, silent ones not at all.
    for x in (5..95).chain(205..295) {
        assert!(marked(x) > 20, "column {x} has {} marks", marked(x));
    }
    for x in 105..195 {
        assert_eq!(marked(x), 0, "column {x} should be empty");
    }
}

#[test]
fn poster_of_sound_only_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clip = ffmpeg(dir.path(), "tone.wav", &["-f", "lavfi", "-i", "sine=d=2"]);
    let err = poster(&clip, &dir.path().join("p.png"), &config(), &limits()).unwrap_err();
    assert!(
        matches!(err, IngestError::Rejected(Rejection::NoVideo)),
        "{err:?}"
    );
}
