//! Test media for the ingest tests: tiny clips generated with the `ffmpeg` CLI from lavfi
//! sources in per-test temporary directories, and the tiny house format.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::{HouseFormat, IngestLimits};

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

/// Runs `ffmpeg -y <args> <dir/name>` and returns the output path.
pub(crate) fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg {args:?} failed");
    out
}

/// A clip: testsrc2 video of `size` at `rate` fps for `seconds`, with a 1 kHz sine at
/// `amplitude` (None: no audio), H.264 + AAC in MP4.
pub(crate) fn clip(
    dir: &Path,
    name: &str,
    size: &str,
    rate: &str,
    seconds: f64,
    amplitude: Option<f64>,
) -> PathBuf {
    let video = format!("testsrc2=size={size}:rate={rate}:duration={seconds}");
    let mut args: Vec<String> = vec!["-f".into(), "lavfi".into(), "-i".into(), video];
    if let Some(a) = amplitude {
        let audio = format!("aevalsrc={a}*sin(2*PI*1000*t):s=44100:d={seconds}");
        args.extend(["-f".into(), "lavfi".into(), "-i".into(), audio]);
    }
    args.extend(
        [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ffmpeg(dir, name, &refs)
}

pub(crate) fn no_progress() -> &'static (dyn Fn(f64) + Send + Sync) {
    &|_| {}
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

/// `args` followed by the house codecs.
pub(crate) fn with_house_codecs<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(HOUSE_CODECS).copied().collect()
}
