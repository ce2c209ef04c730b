//! Pictures of a clip for people: a poster frame, a contact sheet of evenly spread frames, and
//! an audio waveform, all PNG files written with the `image` crate. Frames are found by
//! seeking, so a long clip costs a few GOPs per picture, not a full decode.

use std::path::Path;

use image::{ImageFormat, Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use super::decode::{self, AudioRequest, DecodeOptions, Decoded, Picture, PixelKind, VideoRequest};
use super::{IngestError, Rejection};
use crate::config::{IngestLimits, ThumbnailConfig};

/// Poster candidates spread over the clip; the most detailed non-black one wins.
const POSTER_CANDIDATES: usize = 8;
/// Luma (0–255) at or below which a pixel is dark, and the share of dark pixels that makes a
/// candidate black (the QC defaults; thumbnails have no thresholds of their own).
const DARK_LUMA: u8 = 26;
const BLACK_SHARE: f64 = 0.98;

/// Colours of the sheet and the waveform: a dark background with light marks.
const BACKGROUND: Rgb<u8> = Rgb([18, 20, 26]);
const PEAK_COLOUR: Rgb<u8> = Rgb([64, 132, 196]);
const RMS_COLOUR: Rgb<u8> = Rgb([156, 214, 255]);
/// A waveform column quieter than this (about -60 dBFS) is drawn as nothing at all.
const AUDIBLE_LEVEL: f32 = 0.001;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PosterInfo {
    /// Time of the chosen frame, seconds from the start.
    pub time_s: f64,
}

/// Writes a representative frame: the most detailed of a few candidates spread over the clip,
/// never a black one when another exists, and never the very first frame.
pub fn poster(
    input: &Path,
    output: &Path,
    cfg: &ThumbnailConfig,
    limits: &IngestLimits,
) -> Result<PosterInfo, IngestError> {
    let info = decode::media_info(input, limits)?;
    if info.video.is_none() {
        return Err(Rejection::NoVideo.into());
    }
    let n = POSTER_CANDIDATES as f64;
    let points: Vec<f64> = (1..=POSTER_CANDIDATES)
        .map(|i| info.duration_s * i as f64 / (n + 1.0))
        .collect();
    let request = VideoRequest {
        width: cfg.poster_width,
        height: None,
        pixels: PixelKind::Rgb,
    };
    let pictures = pictures_at(input, &points, request, limits)?;
    let best = pictures
        .iter()
        .filter(|p| !is_black(p))
        .max_by(|a, b| detail(a).total_cmp(&detail(b)))
        .or_else(|| pictures.get(pictures.len() / 2))
        .ok_or_else(|| Rejection::Corrupt {
            detail: "no picture could be decoded for the poster".into(),
        })?;
    let image = to_image(best)?;
    save_png(&image, output)?;
    Ok(PosterInfo {
        time_s: best.time_s,
    })
}

/// Writes `sheet_columns` x `sheet_rows` tiles of `sheet_tile_width` pixels, evenly spread over
/// the clip, keeping the clip's aspect ratio.
pub fn contact_sheet(
    input: &Path,
    output: &Path,
    cfg: &ThumbnailConfig,
    limits: &IngestLimits,
) -> Result<(), IngestError> {
    let info = decode::media_info(input, limits)?;
    let Some(video) = info.video else {
        return Err(Rejection::NoVideo.into());
    };
    let (columns, rows) = (cfg.sheet_columns.max(1), cfg.sheet_rows.max(1));
    let tile_w = cfg.sheet_tile_width.max(1);
    let tile_h = ((tile_w as f64 / video.display_aspect).round() as u32).max(1);
    let count = (columns * rows) as usize;
    let points: Vec<f64> = (0..count)
        .map(|i| info.duration_s * (i as f64 + 0.5) / count as f64)
        .collect();
    let request = VideoRequest {
        width: tile_w,
        height: Some(tile_h),
        pixels: PixelKind::Rgb,
    };
    let pictures = pictures_at(input, &points, request, limits)?;
    let mut sheet = RgbImage::from_pixel(columns * tile_w, rows * tile_h, BACKGROUND);
    for (i, picture) in pictures.iter().take(count).enumerate() {
        let (x, y) = ((i as u32 % columns) * tile_w, (i as u32 / columns) * tile_h);
        image::imageops::replace(&mut sheet, &to_image(picture)?, x.into(), y.into());
    }
    save_png(&sheet, output)
}

/// Writes the audio waveform: per pixel column the min/max (and, brighter, the RMS) of each
/// channel, left above and right below, on a dark background. A clip without sound gives an
/// empty picture.
pub fn waveform(
    input: &Path,
    output: &Path,
    cfg: &ThumbnailConfig,
    limits: &IngestLimits,
) -> Result<(), IngestError> {
    let info = decode::media_info(input, limits)?;
    let (width, height) = (cfg.waveform_width.max(1), cfg.waveform_height.max(2));
    let mut columns = vec![[Column::default(); 2]; width as usize];
    if info.has_audio {
        let duration = info.duration_s.max(0.001);
        let opts = DecodeOptions {
            audio: Some(AudioRequest::Stereo { rate: 48_000 }),
            ..Default::default()
        };
        decode::for_each(input, &opts, limits, |item| {
            if let Decoded::Audio {
                time_s,
                rate,
                samples,
                ..
            } = item
            {
                add_samples(&mut columns, duration, time_s, rate, &samples);
            }
            Ok(())
        })?;
    }
    save_png(&draw_waveform(&columns, width, height), output)
}

/// The min, max and power of one channel's samples in one pixel column.
#[derive(Debug, Clone, Copy, Default)]
struct Column {
    min: f32,
    max: f32,
    sum_sq: f64,
    count: u32,
}

fn add_samples(
    columns: &mut [[Column; 2]],
    duration: f64,
    time_s: f64,
    rate: u32,
    samples: &[f32],
) {
    let last = columns.len().saturating_sub(1);
    let per_second = columns.len() as f64 / duration;
    for (i, frame) in samples.chunks_exact(2).enumerate() {
        let t = time_s + i as f64 / f64::from(rate.max(1));
        let index = ((t * per_second) as usize).min(last);
        for (c, &s) in frame.iter().enumerate() {
            let col = &mut columns[index][c];
            col.min = col.min.min(s);
            col.max = col.max.max(s);
            col.sum_sq += f64::from(s) * f64::from(s);
            col.count += 1;
        }
    }
}

fn draw_waveform(columns: &[[Column; 2]], width: u32, height: u32) -> RgbImage {
    let mut image = RgbImage::from_pixel(width, height, BACKGROUND);
    let lane = height / 2;
    for (x, channels) in columns.iter().enumerate() {
        for (c, col) in channels.iter().enumerate() {
            if col.count == 0 || col.max.abs().max(col.min.abs()) < AUDIBLE_LEVEL {
                continue;
            }
            let rms = (col.sum_sq / f64::from(col.count)).sqrt() as f32;
            let top = lane * c as u32;
            let y = |v: f32| lane_y(v, top, lane);
            vertical_line(&mut image, x as u32, y(col.max), y(col.min), PEAK_COLOUR);
            vertical_line(&mut image, x as u32, y(rms), y(-rms), RMS_COLOUR);
        }
    }
    image
}

/// The row of level `v` (-1..1) in the lane starting at row `top`, `lane` rows high.
fn lane_y(v: f32, top: u32, lane: u32) -> u32 {
    let half = (lane as f32 - 1.0) / 2.0;
    let y = half - v.clamp(-1.0, 1.0) * half;
    top + (y.round() as u32).min(lane.saturating_sub(1))
}

fn vertical_line(image: &mut RgbImage, x: u32, y0: u32, y1: u32, colour: Rgb<u8>) {
    for y in y0.min(y1)..=y0.max(y1) {
        if y < image.height() {
            image.put_pixel(x, y, colour);
        }
    }
}

fn pictures_at(
    input: &Path,
    points: &[f64],
    request: VideoRequest,
    limits: &IngestLimits,
) -> Result<Vec<Picture>, IngestError> {
    let mut pictures = Vec::with_capacity(points.len());
    let opts = DecodeOptions {
        video: Some(request),
        audio: None,
        seek_points: points.to_vec(),
    };
    decode::for_each(input, &opts, limits, |item| {
        if let Decoded::Video(picture) = item {
            pictures.push(picture);
        }
        Ok(())
    })?;
    Ok(pictures)
}

/// Luma of an RGB picture, BT.601 weights in integers.
fn luma(picture: &Picture) -> Vec<u8> {
    picture
        .data
        .chunks_exact(3)
        .map(|p| ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8) as u8)
        .collect()
}

fn is_black(picture: &Picture) -> bool {
    let y = luma(picture);
    let dark = y.iter().filter(|&&v| v <= DARK_LUMA).count();
    y.is_empty() || dark as f64 >= BLACK_SHARE * y.len() as f64
}

/// Mean absolute luma difference to the right and lower neighbour: flat pictures score low.
fn detail(picture: &Picture) -> f64 {
    let y = luma(picture);
    let (w, h) = (picture.width as usize, picture.height as usize);
    if w < 2 || h < 2 || y.len() < w * h {
        return 0.0;
    }
    let mut total: u64 = 0;
    for row in 0..h - 1 {
        for col in 0..w - 1 {
            let here = y[row * w + col];
            total += u64::from(here.abs_diff(y[row * w + col + 1]));
            total += u64::from(here.abs_diff(y[(row + 1) * w + col]));
        }
    }
    total as f64 / ((w - 1) * (h - 1)) as f64
}

fn to_image(picture: &Picture) -> Result<RgbImage, IngestError> {
    RgbImage::from_raw(picture.width, picture.height, picture.data.clone())
        .ok_or_else(|| anyhow::anyhow!("decoded picture has the wrong size").into())
}

fn save_png(image: &RgbImage, output: &Path) -> Result<(), IngestError> {
    image
        .save_with_format(output, ImageFormat::Png)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", output.display()).into())
}

#[cfg(test)]
mod tests;
