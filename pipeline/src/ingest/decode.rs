//! A small media reader for analysis: opens any readable file under a time [`Budget`] and hands
//! decoded video pictures (scaled, gray or RGB) and audio samples (f32, interleaved) to a
//! callback, in file order. QC and thumbnails use it; it writes nothing and knows nothing of
//! what the pictures are for.
//!
//! Two modes: a linear pass over the whole file, or, when seek points are given, only the first
//! video picture at or after each point (seeking instead of decoding everything).

use std::path::Path;
use std::sync::{Arc, Mutex};

use ffmpeg::format::Pixel;
use ffmpeg_next as ffmpeg;

use super::{Budget, IngestError, Rejection};
use crate::config::IngestLimits;

/// Pixel layout of the pictures handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelKind {
    /// One byte per pixel, full-range luma.
    Gray,
    /// Three bytes per pixel, R G B.
    Rgb,
}

impl PixelKind {
    fn bytes_per_pixel(self) -> usize {
        match self {
            PixelKind::Gray => 1,
            PixelKind::Rgb => 3,
        }
    }

    fn ffmpeg(self) -> Pixel {
        match self {
            PixelKind::Gray => Pixel::GRAY8,
            PixelKind::Rgb => Pixel::RGB24,
        }
    }
}

/// The size and layout pictures are scaled to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoRequest {
    pub width: u32,
    /// `None` keeps the display aspect ratio of the source (sample aspect ratio included).
    pub height: Option<u32>,
    pub pixels: PixelKind,
}

/// The form audio is handed out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioRequest {
    /// Stereo at this sample rate (mono is duplicated, more channels are downmixed).
    Stereo { rate: u32 },
    /// The source's own channels and rate, only converted to f32: for clipping, which a
    /// downmix or resampler would hide or invent.
    Native,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodeOptions {
    pub video: Option<VideoRequest>,
    pub audio: Option<AudioRequest>,
    /// When not empty: only video, one picture at or after each of these times (seconds,
    /// ascending), found by seeking.
    pub seek_points: Vec<f64>,
}

/// One decoded picture, rows packed without padding.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub time_s: f64,
    pub width: u32,
    pub height: u32,
    pub pixels: PixelKind,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Video(Picture),
    /// Interleaved samples starting at `time_s`.
    Audio {
        time_s: f64,
        channels: u16,
        rate: u32,
        samples: Vec<f32>,
    },
}

/// What the reader found out about the file while opening it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediaInfo {
    /// Container duration, seconds (0 when the container does not say).
    pub duration_s: f64,
    pub video: Option<VideoInfo>,
    pub has_audio: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoInfo {
    pub width: u32,
    pub height: u32,
    /// Display aspect ratio (width / height with the sample aspect ratio applied).
    pub display_aspect: f64,
    pub fps: f64,
}

mod reader;
mod streams;

/// Opens `path` and returns what it contains, without decoding.
pub fn media_info(path: &Path, limits: &IngestLimits) -> Result<MediaInfo, IngestError> {
    let source = reader::Source::open(path, limits)?;
    Ok(source.info())
}

/// Decodes `path` as `opts` asks and calls `sink` with every picture and audio chunk, in file
/// order. The whole decode runs under `Budget::for_media(limits, duration)`.
pub fn for_each(
    path: &Path,
    opts: &DecodeOptions,
    limits: &IngestLimits,
    mut sink: impl FnMut(Decoded) -> Result<(), IngestError>,
) -> Result<MediaInfo, IngestError> {
    let mut source = reader::Source::open(path, limits)?;
    let info = source.info();
    if opts.seek_points.is_empty() {
        source.decode_all(opts, &mut sink)?;
    } else if let Some(video) = opts.video {
        source.decode_at(&opts.seek_points, video, &mut sink)?;
    }
    Ok(info)
}

/// Shared by the reader's parts: the budget the interrupt callback also watches.
type SharedBudget = Arc<Mutex<Budget>>;

fn budget_check(budget: &SharedBudget) -> Result<(), IngestError> {
    match budget.lock() {
        Ok(b) => b.check().map_err(IngestError::from),
        Err(_) => Err(anyhow::anyhow!("budget lock poisoned").into()),
    }
}

fn corrupt(what: &str, e: ffmpeg::Error) -> IngestError {
    Rejection::Corrupt {
        detail: format!("{what} ({e})"),
    }
    .into()
}

#[cfg(test)]
mod tests;
