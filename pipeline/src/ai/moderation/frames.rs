//! Keyframes for the image classifier: frames sampled evenly through a clip with the ingest
//! reader ([`crate::ingest::decode`], seeking, so a long clip costs a few GOPs per frame), and
//! the model's preprocessing (resize, center crop, rescale, mean/std) as its
//! `preprocessor_config.json` states it, or the family's defaults when there is none.

use std::path::Path;

use candle::{Device, Tensor};
use image::imageops::{self, FilterType};
use image::RgbImage;
use serde_json::Value;

use crate::config::IngestLimits;
use crate::ingest::decode::{self, DecodeOptions, Decoded, PixelKind, VideoRequest};

/// The mean and deviation CLIP was trained with (the `transformers` defaults for CLIP).
const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_6, 0.275_777_1];

/// One sampled frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Time in the clip, milliseconds.
    pub at_ms: i64,
    pub image: RgbImage,
}

/// `n` frames at the middles of `n` equal spans of the clip, decoded with their shorter side at
/// least `shortest` pixels.
pub fn sample(
    media: &Path,
    n: usize,
    shortest: u32,
    limits: &IngestLimits,
) -> Result<Vec<Frame>, String> {
    let info = decode::media_info(media, limits).map_err(|e| e.to_string())?;
    let video = info.video.ok_or("the file has no video stream")?;
    let n = n.max(1);
    let points: Vec<f64> = (0..n)
        .map(|i| info.duration_s.max(0.0) * (i as f64 + 0.5) / n as f64)
        .collect();
    let aspect = if video.display_aspect > 0.0 {
        video.display_aspect
    } else {
        1.0
    };
    let width = (shortest as f64 * aspect.max(1.0)).ceil() as u32;
    let opts = DecodeOptions {
        video: Some(VideoRequest {
            width: width + width % 2,
            height: None,
            pixels: PixelKind::Rgb,
        }),
        audio: None,
        seek_points: points,
    };
    let mut frames = Vec::with_capacity(n);
    decode::for_each(media, &opts, limits, |item| {
        if let Decoded::Video(p) = item {
            if let Some(image) = RgbImage::from_raw(p.width, p.height, p.data) {
                frames.push(Frame {
                    at_ms: (p.time_s * 1000.0).round() as i64,
                    image,
                });
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    if frames.is_empty() {
        return Err("no frame could be decoded".into());
    }
    Ok(frames)
}

/// `mm:ss.t` of a time in milliseconds, for excerpts.
pub fn clock(at_ms: i64) -> String {
    let tenths = at_ms.max(0) / 100;
    format!(
        "{:02}:{:02}.{}",
        tenths / 600,
        tenths / 10 % 60,
        tenths % 10
    )
}

/// How pictures are turned into the model's input.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocess {
    resize: Resize,
    crop: Option<(u32, u32)>,
    filter: FilterType,
    rescale: f32,
    mean: [f32; 3],
    std: [f32; 3],
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Resize {
    Shortest(u32),
    Exact { width: u32, height: u32 },
    Keep,
}

impl Preprocess {
    /// The defaults of `transformers` for a family: CLIP resizes the shorter side with a
    /// bicubic filter and crops the center, ViT resizes to a square with a bilinear one.
    pub fn defaults(clip_like: bool, image_size: u32) -> Preprocess {
        if clip_like {
            Preprocess {
                resize: Resize::Shortest(image_size),
                crop: Some((image_size, image_size)),
                filter: FilterType::CatmullRom,
                rescale: 1.0 / 255.0,
                mean: CLIP_MEAN,
                std: CLIP_STD,
            }
        } else {
            Preprocess {
                resize: Resize::Exact {
                    width: image_size,
                    height: image_size,
                },
                crop: None,
                filter: FilterType::Triangle,
                rescale: 1.0 / 255.0,
                mean: [0.5; 3],
                std: [0.5; 3],
            }
        }
    }

    /// `preprocessor_config.json` read over the family defaults.
    pub fn from_json(json: &Value, clip_like: bool, image_size: u32) -> Result<Preprocess, String> {
        let mut p = Preprocess::defaults(clip_like, image_size);
        let flag = |key: &str| json.get(key).and_then(Value::as_bool);
        if flag("do_resize") == Some(false) {
            p.resize = Resize::Keep;
        } else if let Some(size) = json.get("size") {
            p.resize = match (size.as_u64(), size.get("shortest_edge"), size.get("height")) {
                (Some(s), _, _) if clip_like => Resize::Shortest(s as u32),
                (Some(s), _, _) => Resize::Exact {
                    width: s as u32,
                    height: s as u32,
                },
                (None, Some(s), _) => Resize::Shortest(number(s, "size.shortest_edge")?),
                (None, None, Some(h)) => Resize::Exact {
                    width: number(size.get("width").unwrap_or(h), "size.width")?,
                    height: number(h, "size.height")?,
                },
                _ => return Err(format!("preprocessor size {size} is not understood")),
            };
        }
        if flag("do_center_crop") == Some(false) {
            p.crop = None;
        } else if let Some(crop) = json.get("crop_size") {
            p.crop = Some(match crop.as_u64() {
                Some(s) => (s as u32, s as u32),
                None => (
                    number(crop.get("width").unwrap_or(&Value::Null), "crop_size.width")?,
                    number(
                        crop.get("height").unwrap_or(&Value::Null),
                        "crop_size.height",
                    )?,
                ),
            });
        } else if flag("do_center_crop") == Some(true) && p.crop.is_none() {
            p.crop = Some((image_size, image_size));
        }
        p.filter = match json.get("resample").and_then(Value::as_u64) {
            Some(0) => FilterType::Nearest,
            Some(2) => FilterType::Triangle,
            Some(3) => FilterType::CatmullRom,
            Some(1) => FilterType::Lanczos3,
            _ => p.filter,
        };
        if flag("do_rescale") == Some(false) {
            p.rescale = 1.0;
        } else if let Some(f) = json.get("rescale_factor").and_then(Value::as_f64) {
            p.rescale = f as f32;
        }
        if flag("do_normalize") == Some(false) {
            p.mean = [0.0; 3];
            p.std = [1.0; 3];
        } else {
            if let Some(m) = json.get("image_mean") {
                p.mean = triple(m, "image_mean")?;
            }
            if let Some(s) = json.get("image_std") {
                p.std = triple(s, "image_std")?;
            }
        }
        Ok(p)
    }

    /// Size of the pictures produced, or `None` when it depends on the input.
    pub fn output_size(&self) -> Option<(u32, u32)> {
        match (self.crop, self.resize) {
            (Some(c), _) => Some(c),
            (None, Resize::Exact { width, height }) => Some((width, height)),
            _ => None,
        }
    }

    /// The shorter side frames should be decoded at.
    pub fn decode_side(&self) -> u32 {
        match self.resize {
            Resize::Shortest(s) => s,
            Resize::Exact { width, height } => width.max(height),
            Resize::Keep => self.crop.map_or(224, |(w, h)| w.max(h)),
        }
    }

    /// A `(n, 3, height, width)` tensor of the pictures, normalized.
    pub fn tensor(&self, images: &[RgbImage], device: &Device) -> candle::Result<Tensor> {
        let mut data = Vec::new();
        let mut size = (0, 0);
        for image in images {
            let picture = self.picture(image);
            if size != (0, 0) && size != picture.dimensions() {
                candle::bail!("pictures of different sizes after preprocessing");
            }
            size = picture.dimensions();
            let (w, h) = size;
            for c in 0..3 {
                for y in 0..h {
                    for x in 0..w {
                        let v = picture.get_pixel(x, y)[c] as f32 * self.rescale;
                        data.push((v - self.mean[c]) / self.std[c]);
                    }
                }
            }
        }
        Tensor::from_vec(
            data,
            (images.len(), 3, size.1 as usize, size.0 as usize),
            device,
        )
    }

    fn picture(&self, image: &RgbImage) -> RgbImage {
        let (w, h) = image.dimensions();
        let resized = match self.resize {
            Resize::Shortest(s) => {
                let scale = s as f64 / w.min(h).max(1) as f64;
                let nw = ((w as f64 * scale).round() as u32).max(s);
                let nh = ((h as f64 * scale).round() as u32).max(s);
                let (nw, nh) = if w <= h { (s, nh) } else { (nw, s) };
                imageops::resize(image, nw, nh, self.filter)
            }
            Resize::Exact { width, height } => imageops::resize(image, width, height, self.filter),
            Resize::Keep => image.clone(),
        };
        match self.crop {
            Some((cw, ch)) => {
                let (w, h) = resized.dimensions();
                let padded = if w < cw || h < ch {
                    imageops::resize(&resized, w.max(cw), h.max(ch), self.filter)
                } else {
                    resized
                };
                let (w, h) = padded.dimensions();
                imageops::crop_imm(&padded, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
            }
            None => resized,
        }
    }
}

fn number(v: &Value, what: &str) -> Result<u32, String> {
    v.as_u64()
        .map(|n| n as u32)
        .ok_or_else(|| format!("preprocessor {what} is not a number"))
}

fn triple(v: &Value, what: &str) -> Result<[f32; 3], String> {
    let items: Vec<f32> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_f64)
                .map(|x| x as f32)
                .collect()
        })
        .unwrap_or_default();
    match items.as_slice() {
        [a, b, c] => Ok([*a, *b, *c]),
        [a] => Ok([*a; 3]),
        _ => Err(format!("preprocessor {what} must hold three numbers")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_preprocessing_resizes_the_short_side_and_crops_the_center() {
        let json = serde_json::json!({
            "crop_size": {"height": 32, "width": 32}, "size": {"shortest_edge": 32},
            "do_center_crop": true, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
            "resample": 3
        });
        let p = Preprocess::from_json(&json, true, 32).unwrap();
        assert_eq!(p.output_size(), Some((32, 32)));
        // Left half black, right half white, 64x32: the crop keeps the middle 32 columns.
        let image = RgbImage::from_fn(64, 32, |x, _| image::Rgb([if x < 32 { 0 } else { 255 }; 3]));
        let t = p.tensor(&[image.clone(), image], &Device::Cpu).unwrap();
        assert_eq!(t.dims(), [2, 3, 32, 32]);
        let row: Vec<f32> = t
            .get(0)
            .unwrap()
            .get(0)
            .unwrap()
            .get(16)
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(
            (row[0] + 1.0).abs() < 0.05 && (row[31] - 1.0).abs() < 0.05,
            "{row:?}"
        );
    }

    #[test]
    fn vit_defaults_resize_to_a_square_and_bad_files_are_refused() {
        let p = Preprocess::from_json(&serde_json::json!({}), false, 24).unwrap();
        assert_eq!(p.output_size(), Some((24, 24)));
        let t = p.tensor(&[RgbImage::new(100, 50)], &Device::Cpu).unwrap();
        assert_eq!(t.dims(), [1, 3, 24, 24]);
        let bad = serde_json::json!({"image_mean": [0.1, 0.2]});
        assert!(Preprocess::from_json(&bad, false, 24)
            .unwrap_err()
            .contains("image_mean"));
    }

    #[test]
    fn clock_reads_minutes_seconds_and_tenths() {
        assert_eq!(clock(12_400), "00:12.4");
        assert_eq!(clock(61_050), "01:01.0");
    }
}
