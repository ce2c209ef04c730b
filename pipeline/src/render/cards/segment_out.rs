//! Writing a card as a *segment file* through the render's [`SegmentWriter`] (the one
//! segment format: Matroska, house H.264 with a closed GOP, PCM s16le stereo with exactly
//! `frames × samples_per_frame` samples). A card is one still picture, converted to YUV once.

use std::path::Path;

use ffmpeg_next::software::scaling;
use ffmpeg_next::{format, frame};
use image::RgbImage;

use super::CardError;
use crate::config::HouseFormat;
use crate::render::segment::SegmentWriter;

fn ff(what: &str, e: ffmpeg_next::Error) -> CardError {
    CardError::Encode(format!("{what}: {e}"))
}

/// Writes `picture` for `frames` frames with `audio` (interleaved stereo f32 at the house rate,
/// exactly `frames × samples_per_frame` per channel) to `out`.
pub fn write_still(
    out: &Path,
    house: &HouseFormat,
    picture: &RgbImage,
    frames: u32,
    audio: &[f32],
) -> Result<(), CardError> {
    crate::ingest::init_ffmpeg();
    let spf = house.samples_per_frame() as usize;
    if audio.len() != frames as usize * spf * 2 {
        return Err(CardError::Encode(format!(
            "audio holds {} stereo samples, the card needs {}",
            audio.len() / 2,
            frames as usize * spf
        )));
    }
    let yuv = to_yuv(picture, house)?;
    let enc = |e: crate::render::RenderError| CardError::Encode(e.to_string());
    let mut writer = SegmentWriter::create(out, house).map_err(enc)?;
    for chunk in audio.chunks(spf * 2).take(frames as usize) {
        writer.push_yuv(&mut yuv.clone()).map_err(enc)?;
        writer.push_audio(chunk).map_err(enc)?;
    }
    writer.finish().map_err(enc)?;
    Ok(())
}

fn to_yuv(picture: &RgbImage, house: &HouseFormat) -> Result<frame::Video, CardError> {
    let (w, h) = (house.width, house.height);
    if picture.dimensions() != (w, h) {
        return Err(CardError::Encode(format!(
            "the card is {}x{}, the house format {w}x{h}",
            picture.width(),
            picture.height()
        )));
    }
    let mut rgb = frame::Video::new(format::Pixel::RGB24, w, h);
    let stride = rgb.stride(0);
    let row = w as usize * 3;
    for y in 0..h as usize {
        rgb.data_mut(0)[y * stride..y * stride + row]
            .copy_from_slice(&picture.as_raw()[y * row..(y + 1) * row]);
    }
    let mut sws = scaling::Context::get(
        format::Pixel::RGB24,
        w,
        h,
        format::Pixel::YUV420P,
        w,
        h,
        scaling::Flags::BICUBIC,
    )
    .map_err(|e| ff("colour conversion", e))?;
    let mut yuv = frame::Video::empty();
    sws.run(&rgb, &mut yuv)
        .map_err(|e| ff("colour conversion", e))?;
    Ok(yuv)
}
