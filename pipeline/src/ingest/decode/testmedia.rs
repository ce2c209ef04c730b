//! Test media made with the `ffmpeg` command-line tool from lavfi sources, tiny and short,
//! in a per-test temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::{HouseFormat, IngestLimits};

/// Runs `ffmpeg -y <args> <dir/name>` and returns the output path.
pub(crate) fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg failed making {name}: {args:?}");
    out
}

/// Arguments that encode like the tiny house format: H.264 yuv420p, AAC 48 kHz stereo.
pub(crate) const HOUSE_CODECS: &[&str] = &[
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
    "-ar",
    "48000",
    "-ac",
    "2",
];

pub(crate) fn house() -> HouseFormat {
    HouseFormat {
        width: 320,
        height: 180,
        x264_preset: "ultrafast".into(),
        ..Default::default()
    }
}

pub(crate) fn limits() -> IngestLimits {
    IngestLimits::default()
}

/// `args` followed by the house codecs.
pub(crate) fn with_house_codecs<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(HOUSE_CODECS).copied().collect()
}
