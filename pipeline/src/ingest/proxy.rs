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

pub fn make_proxy(
    normalized: &Path,
    output: &Path,
    proxy: &ProxyFormat,
    limits: &IngestLimits,
    progress: Progress,
) -> Result<(), IngestError> {
    if proxy.width % 2 != 0 || proxy.height % 2 != 0 || proxy.width == 0 || proxy.height == 0 {
        return Err(anyhow::anyhow!("proxy size {}x{} must be even", proxy.width, proxy.height).into());
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
        return Err(anyhow::anyhow!("normalized clip frame rate {fps} does not divide {rate}").into());
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
