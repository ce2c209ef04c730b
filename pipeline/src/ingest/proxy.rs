//! Proxy: a small, low-bitrate MP4 (H.264 + AAC, faststart) of a normalized clip for browser
//! preview. Made from the normalized file, so it has the same timing: same frame rate, same
//! duration, audio and video of equal length.

use std::path::Path;

use super::normalize::{reencode, ReencodeSpec};
use super::probe::probe;
use super::{IngestError, Progress};
use crate::config::{IngestLimits, ProxyFormat};

/// The proxy keeps the clip's sample rate when it divides into whole frames; else 48 kHz.
const FALLBACK_RATE: u32 = 48000;

/// Writes `output`, the proxy of the normalized clip `normalized`: `proxy.width`x`height`
/// (letterboxed if the shapes differ), H.264 at about `video_kbps`, AAC stereo at
/// `audio_kbps`, MP4 with +faststart, same frame rate and duration as the clip.
pub fn make_proxy(
    normalized: &Path,
    output: &Path,
    proxy: &ProxyFormat,
    limits: &IngestLimits,
    progress: Progress,
) -> Result<(), IngestError> {
    if proxy.width % 2 != 0 || proxy.height % 2 != 0 || proxy.width == 0 || proxy.height == 0 {
        return Err(
            anyhow::anyhow!("proxy size {}x{} must be even", proxy.width, proxy.height).into(),
        );
    }
    let info = probe(normalized, limits)?;
    let video = info
        .video
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("normalized clip has no video"))?;
    let fps = video.frame_rate.round().max(1.0) as u32;
    let rate = info
        .audio
        .as_ref()
        .map(|a| a.sample_rate)
        .filter(|r| *r > 0 && r % fps == 0)
        .unwrap_or(FALLBACK_RATE);
    if rate % fps != 0 {
        return Err(
            anyhow::anyhow!("normalized clip frame rate {fps} does not divide {rate}").into(),
        );
    }
    let spec = ReencodeSpec {
        width: proxy.width,
        height: proxy.height,
        fps,
        video_kbps: proxy.video_kbps,
        audio_rate: rate,
        audio_kbps: proxy.audio_kbps,
    };
    let declared = video.duration_s.unwrap_or(info.duration_s);
    reencode(normalized, output, &spec, limits, declared, progress)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::normalize::normalize;
    use crate::ingest::testmedia::{clip, house, limits, no_progress};

    #[test]
    fn proxy_is_small_and_as_long_as_the_clip() {
        let dir = tempfile::tempdir().unwrap();
        let src = clip(dir.path(), "in.mp4", "640x360", "25", 3.0, Some(0.1));
        let normalized = dir.path().join("norm.mp4");
        let mut big = house();
        (big.width, big.height) = (640, 360);
        let report = normalize(&src, &normalized, &big, &limits(), no_progress()).unwrap();
        let out = dir.path().join("proxy.mp4");
        let small = ProxyFormat {
            width: 320,
            height: 180,
            video_kbps: 200,
            audio_kbps: 64,
        };
        make_proxy(&normalized, &out, &small, &limits(), no_progress()).unwrap();
        let info = probe(&out, &limits()).unwrap();
        let v = info.video.as_ref().unwrap();
        assert_eq!((v.codec.as_str(), v.width, v.height), ("h264", 320, 180));
        let a = info.audio.as_ref().unwrap();
        assert_eq!((a.codec.as_str(), a.channels), ("aac", 2));
        assert!(
            (info.duration_s - report.duration_s).abs() <= 0.04,
            "{} vs {}",
            info.duration_s,
            report.duration_s
        );
        assert!(info.size_bytes < report.output.size_bytes);
        // Faststart: the index comes before the media data.
        let bytes = std::fs::read(&out).unwrap();
        let find = |tag: &[u8]| bytes.windows(4).position(|w| w == tag).unwrap();
        assert!(find(b"moov") < find(b"mdat"));
        // Playable: every frame decodes.
        let status = std::process::Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-xerror",
                "-i",
                out.to_str().unwrap(),
                "-f",
                "null",
                "-",
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }
}
