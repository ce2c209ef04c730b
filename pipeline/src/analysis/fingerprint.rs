//! A clip's fingerprint: 64-bit perceptual hashes (image_hasher, gradient 8x8) of frames
//! sampled twice a second, and a chromaprint fingerprint (rusty-chromaprint, default
//! configuration) of its audio, both made in one budgeted decode pass.

use std::path::Path;

use image_hasher::{HashAlg, HasherConfig};
use serde::{Deserialize, Serialize};

use crate::config::IngestLimits;
use crate::ingest::decode::{self, AudioRequest, DecodeOptions, Decoded, PixelKind, VideoRequest};
use crate::ingest::IngestError;

/// Frames hashed per second of video.
pub const FRAMES_PER_SECOND: f64 = 2.0;
/// Pictures are scaled to this square size (aspect ratio dropped, so resized or letterbox-free
/// copies of other sizes hash alike) before hashing.
const PICTURE_SIDE: u32 = 32;
/// Chromaprint's own working rate: audio is decoded straight to it.
const AUDIO_RATE: u32 = 11025;

/// What [`fingerprint`] makes of a clip. Serializes compactly (numbers only) for storage as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// (time in seconds, 64-bit perceptual hash) of each sampled frame, in time order.
    #[serde(rename = "f")]
    pub frame_hashes: Vec<(f64, u64)>,
    /// Raw chromaprint fingerprint of the audio (empty when the clip has no audio).
    #[serde(rename = "a")]
    pub audio: Vec<u32>,
    /// Duration in seconds (the container's, or the last decoded time when it says nothing).
    #[serde(rename = "d")]
    pub duration_s: f64,
}

/// The chromaprint configuration fingerprints are made and matched with.
pub fn chromaprint_config() -> rusty_chromaprint::Configuration {
    rusty_chromaprint::Configuration::default()
}

/// Seconds of audio one chromaprint item stands for.
pub fn audio_item_seconds() -> f64 {
    chromaprint_config().item_duration_in_seconds() as f64
}

/// Fingerprints the file at `path` in one decode pass under the ingest budget.
pub fn fingerprint(path: &Path, limits: &IngestLimits) -> Result<Fingerprint, IngestError> {
    let hasher = HasherConfig::new()
        .hash_alg(HashAlg::Gradient)
        .hash_size(8, 8)
        .to_hasher();
    let config = chromaprint_config();
    let mut printer = rusty_chromaprint::Fingerprinter::new(&config);
    let mut audio_started = false;
    let mut next_frame = 0.0f64;
    let mut last_time = 0.0f64;
    let mut frames = Vec::new();
    let mut pcm: Vec<i16> = Vec::new();
    let opts = DecodeOptions {
        video: Some(VideoRequest {
            width: PICTURE_SIDE,
            height: Some(PICTURE_SIDE),
            pixels: PixelKind::Gray,
        }),
        audio: Some(AudioRequest::Stereo { rate: AUDIO_RATE }),
        seek_points: Vec::new(),
    };
    let info = decode::for_each(path, &opts, limits, |decoded| {
        match decoded {
            Decoded::Video(picture) => {
                last_time = last_time.max(picture.time_s);
                if picture.time_s + 1e-6 < next_frame {
                    return Ok(());
                }
                // On a fixed half-second grid, so a copy trimmed on the grid samples the same pictures.
                next_frame =
                    ((picture.time_s * FRAMES_PER_SECOND).floor() + 1.0) / FRAMES_PER_SECOND;
                let Some(image) =
                    image::GrayImage::from_raw(picture.width, picture.height, picture.data)
                else {
                    return Ok(());
                };
                let hash = hasher.hash_image(&image);
                let mut bytes = [0u8; 8];
                for (b, h) in bytes.iter_mut().zip(hash.as_bytes()) {
                    *b = *h;
                }
                frames.push((picture.time_s, u64::from_be_bytes(bytes)));
            }
            Decoded::Audio {
                time_s,
                channels,
                rate,
                samples,
            } => {
                if !audio_started {
                    // The rate is the requested one; chromaprint resamples anything else.
                    if printer.start(rate, channels.max(1) as u32).is_err() {
                        return Ok(());
                    }
                    audio_started = true;
                }
                let seconds = samples.len() as f64 / (channels.max(1) as f64 * rate as f64);
                last_time = last_time.max(time_s + seconds);
                pcm.clear();
                pcm.extend(
                    samples
                        .iter()
                        .map(|s| (s.clamp(-1.0, 1.0) * i16::MAX as f32) as i16),
                );
                printer.consume(&pcm);
            }
        }
        Ok(())
    })?;
    let audio = if audio_started {
        printer.finish();
        printer.fingerprint().to_vec()
    } else {
        Vec::new()
    };
    let duration_s = if info.duration_s > 0.0 {
        info.duration_s
    } else {
        last_time
    };
    Ok(Fingerprint {
        frame_hashes: frames,
        audio,
        duration_s,
    })
}

#[cfg(test)]
#[path = "fingerprint_tests.rs"]
mod tests;
