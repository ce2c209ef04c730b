//! Probe: opens a file with FFmpeg's demuxers under a time budget and describes it —
//! container, duration, size, the best video and audio streams (codec, size, aspect, frame
//! rate, rotation, field order, channel layout). It decides only what cannot be described
//! at all (empty, not media, damaged); the rules about what is acceptable live in
//! [`super::validate`]. Also owns opening inputs, which the decoders of normalize share.

use std::path::Path;

use ffmpeg_next::codec::packet::side_data::Type as SideDataType;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::format::stream::Stream;
use ffmpeg_next::{ffi, media, Rational};
use serde::{Deserialize, Serialize};

mod open;
#[cfg(test)]
mod tests;

pub(crate) use self::open::open_input;
use self::open::open_input_limited;
use super::{Budget, IngestError, Rejection};
use crate::config::IngestLimits;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// Demuxer name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2".
    pub container: String,
    pub duration_s: f64,
    pub size_bytes: u64,
    pub bit_rate: Option<u64>,
    pub stream_count: u32,
    /// The best video stream (attached cover pictures are not video).
    pub video: Option<VideoInfo>,
    /// The best audio stream.
    pub audio: Option<AudioInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoInfo {
    pub index: usize,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Sample (pixel) aspect ratio; (1, 1) when unknown or square.
    pub sample_aspect: (i32, i32),
    /// Width / height as displayed, after the sample aspect (before rotation).
    pub display_aspect: f64,
    pub frame_rate: f64,
    /// Clockwise rotation to apply for display: 0, 90, 180 or 270.
    pub rotation_deg: i32,
    /// "progressive" | "tff" | "bff" | "unknown".
    pub field_order: String,
    pub interlaced: bool,
    pub pix_fmt: String,
    pub duration_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioInfo {
    pub index: usize,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u32,
    pub layout: String,
    pub duration_s: Option<f64>,
}

/// Codecs that make a single still picture, not a moving video.
const STILL_IMAGE_CODECS: &[&str] = &[
    "png", "bmp", "tiff", "webp", "gif", "jpeg2000", "ppm", "pgm", "pbm", "pam", "qoi",
];

/// Opens and inspects `path` under `Budget::for_probe(limits)`; a file that is not media,
/// empty, or cannot be opened is `Rejected`.
pub fn probe(path: &Path, limits: &IngestLimits) -> Result<ProbeInfo, IngestError> {
    let size_bytes = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
        .len();
    if size_bytes == 0 {
        return Err(Rejection::Empty.into());
    }
    let budget = Budget::for_probe(limits);
    let mut input = open_input_limited(path, budget, limits.max_dimension)?;
    let mut info = describe(&input, size_bytes);
    reject_still_image(&input, &info)?;
    if let Some(video) = &info.video {
        // A header can promise more than the file holds; look near the promised end.
        if video.width <= limits.max_dimension && video.height <= limits.max_dimension {
            let declared = video.duration_s.unwrap_or(info.duration_s);
            check_tail(&mut input, video.index, declared, video.frame_rate, budget)?;
        }
    }
    if let Some(audio) = info.audio.as_mut() {
        if audio_is_empty(&mut input, audio.index, budget)? {
            audio.duration_s = Some(0.0);
        }
    }
    Ok(info)
}

fn describe(input: &Input, size_bytes: u64) -> ProbeInfo {
    let video = best_stream(input, media::Type::Video)
        .and_then(|i| input.stream(i))
        .map(|s| video_info(&s));
    let audio = best_stream(input, media::Type::Audio)
        .and_then(|i| input.stream(i))
        .map(|s| audio_info(&s));
    let mut duration_s = seconds_av(input.duration());
    if duration_s <= 0.0 {
        duration_s = [
            video.as_ref().and_then(|v| v.duration_s),
            audio.as_ref().and_then(|a| a.duration_s),
        ]
        .into_iter()
        .flatten()
        .fold(0.0, f64::max);
    }
    ProbeInfo {
        container: input.format().name().to_string(),
        duration_s,
        size_bytes,
        bit_rate: u64::try_from(input.bit_rate()).ok().filter(|b| *b > 0),
        stream_count: input.nb_streams(),
        video,
        audio,
    }
}

/// The best stream of a kind; for video, cover pictures (attached pics) do not count.
pub(crate) fn best_stream(input: &Input, kind: media::Type) -> Option<usize> {
    let usable = |s: &ffmpeg_next::format::stream::Stream| {
        s.parameters().medium() == kind
            && !s
                .disposition()
                .contains(ffmpeg_next::format::stream::Disposition::ATTACHED_PIC)
    };
    let best = input.streams().best(kind).filter(usable);
    best.or_else(|| input.streams().find(usable))
        .map(|s| s.index())
}

fn video_info(stream: &Stream) -> VideoInfo {
    let index = stream.index();
    let params = stream.parameters();
    // SAFETY: `params` wraps the stream's codec parameters, valid while `input` lives.
    let (width, height, sar, field_order, format) = unsafe {
        let p = &*params.as_ptr();
        (
            p.width.max(0) as u32,
            p.height.max(0) as u32,
            p.sample_aspect_ratio,
            p.field_order,
            p.format,
        )
    };
    let sample_aspect = if sar.num > 0 && sar.den > 0 {
        (sar.num, sar.den)
    } else {
        (1, 1)
    };
    let display_aspect = if height > 0 {
        width as f64 * sample_aspect.0 as f64 / sample_aspect.1 as f64 / height as f64
    } else {
        0.0
    };
    let field_order = match field_order {
        ffi::AVFieldOrder::AV_FIELD_PROGRESSIVE => "progressive",
        ffi::AVFieldOrder::AV_FIELD_TT | ffi::AVFieldOrder::AV_FIELD_TB => "tff",
        ffi::AVFieldOrder::AV_FIELD_BB | ffi::AVFieldOrder::AV_FIELD_BT => "bff",
        _ => "unknown",
    };
    // SAFETY: `format` is an AVPixelFormat value written by libavformat for a video stream.
    let pix_fmt = unsafe {
        let pixel: ffi::AVPixelFormat = std::mem::transmute(format);
        let name = ffi::av_get_pix_fmt_name(pixel);
        if name.is_null() {
            "unknown".to_string()
        } else {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        }
    };
    VideoInfo {
        index,
        codec: params.id().name().to_string(),
        width,
        height,
        sample_aspect,
        display_aspect,
        frame_rate: frame_rate(stream),
        rotation_deg: rotation(stream),
        interlaced: field_order == "tff" || field_order == "bff",
        field_order: field_order.to_string(),
        pix_fmt,
        duration_s: stream_seconds(stream),
    }
}

fn audio_info(stream: &Stream) -> AudioInfo {
    let index = stream.index();
    let params = stream.parameters();
    // SAFETY: `params` wraps the stream's codec parameters, valid while `input` lives.
    let (sample_rate, channels) = unsafe {
        let p = &*params.as_ptr();
        (
            p.sample_rate.max(0) as u32,
            p.ch_layout.nb_channels.max(0) as u32,
        )
    };
    let layout = match channels {
        1 => "mono".to_string(),
        2 => "stereo".to_string(),
        6 => "5.1".to_string(),
        8 => "7.1".to_string(),
        n => format!("{n} channels"),
    };
    AudioInfo {
        index,
        codec: params.id().name().to_string(),
        sample_rate,
        channels,
        layout,
        duration_s: stream_seconds(stream),
    }
}

fn frame_rate(stream: &ffmpeg_next::format::stream::Stream) -> f64 {
    [stream.avg_frame_rate(), stream.rate()]
        .into_iter()
        .map(rational)
        .find(|r| r.is_finite() && *r > 0.0 && *r < 1000.0)
        .unwrap_or(0.0)
}

/// The clockwise rotation a player applies, read from the display matrix side data.
fn rotation(stream: &ffmpeg_next::format::stream::Stream) -> i32 {
    let Some(data) = stream
        .side_data()
        .find(|d| d.kind() == SideDataType::DisplayMatrix)
    else {
        return 0;
    };
    let bytes = data.data();
    if bytes.len() < 36 {
        return 0;
    }
    let m = |i: usize| {
        i32::from_ne_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ]) as f64
    };
    // atan2(m1, m0) is what av_display_rotation_get negates: the counter-clockwise angle
    // (ffprobe's "rotation") is its negation, so it is itself the clockwise turn players
    // apply (FFmpeg's autorotation does the same).
    let degrees = m(1).atan2(m(0)).to_degrees();
    let quarter = ((degrees / 90.0).round() as i32).rem_euclid(4);
    quarter * 90
}

fn stream_seconds(stream: &ffmpeg_next::format::stream::Stream) -> Option<f64> {
    // 0 is a real, empty track; a negative value (AV_NOPTS_VALUE) means unknown.
    let d = stream.duration();
    (d >= 0).then(|| d as f64 * rational(stream.time_base()))
}

fn seconds_av(value: i64) -> f64 {
    if value <= 0 {
        0.0
    } else {
        value as f64 / ffi::AV_TIME_BASE as f64
    }
}

pub(crate) fn rational(r: Rational) -> f64 {
    if r.denominator() == 0 {
        0.0
    } else {
        r.numerator() as f64 / r.denominator() as f64
    }
}

/// A single picture (PNG, BMP, …, or an image demuxer) is not a video.
fn reject_still_image(input: &Input, info: &ProbeInfo) -> Result<(), Rejection> {
    let container = input.format().name().to_string();
    let image_demuxer = container.starts_with("image2") || container.ends_with("_pipe");
    match &info.video {
        Some(v) if image_demuxer || STILL_IMAGE_CODECS.contains(&v.codec.as_str()) => {
            let frames = input.stream(v.index).map(|s| s.frames()).unwrap_or(0);
            if frames > 1 && !image_demuxer {
                return Ok(()); // an animated sequence in a real container
            }
            Err(Rejection::StillImage {
                format: v.codec.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// Seeks to 90 % of the declared duration and reads on: a file whose data ends long before
/// its header says (a cut upload with the index up front) has nothing there.
fn check_tail(
    input: &mut Input,
    video_index: usize,
    declared_s: f64,
    frame_rate: f64,
    budget: Budget,
) -> Result<(), IngestError> {
    if declared_s < 1.0 {
        return Ok(());
    }
    // The last packet starts a frame or two before the end.
    let frame = if frame_rate > 0.0 {
        1.0 / frame_rate
    } else {
        0.1
    };
    let target = declared_s * 0.9 - 2.0 * frame;
    let ts = (target * ffi::AV_TIME_BASE as f64) as i64;
    if input.seek(ts, ..ts).is_err() {
        return Ok(()); // not seekable: the full decode of normalize will judge it
    }
    let time_base = match input.stream(video_index) {
        Some(s) => rational(s.time_base()),
        None => return Ok(()),
    };
    let mut latest = 0.0f64;
    for _ in 0..20_000 {
        budget.check()?;
        let packet = match super::next_packet(input) {
            Ok(Some(packet)) => packet,
            Err(ffmpeg_next::Error::InvalidData) => continue,
            Ok(None) | Err(_) => break,
        };
        if packet.stream() != video_index {
            continue;
        }
        if let Some(pts) = packet.pts().or(packet.dts()) {
            latest = latest.max(pts as f64 * time_base);
            if latest >= target {
                return Ok(());
            }
        }
    }
    budget.check()?;
    Err(Rejection::Corrupt {
        detail: format!(
            "the file says it lasts {declared_s:.1} s but its video data ends at about {latest:.1} s"
        ),
    }
    .into())
}

/// Whether the audio stream holds no packet at all near the start of the file (a track
/// that is declared but empty). Muxers interleave within a second or so, so the first
/// few thousand packets tell.
fn audio_is_empty(
    input: &mut Input,
    audio_index: usize,
    budget: Budget,
) -> Result<bool, IngestError> {
    if input.seek(0, ..1).is_err() {
        return Ok(false);
    }
    let mut seen = 0;
    for _ in 0..3000 {
        budget.check()?;
        let packet = match super::next_packet(input) {
            Ok(Some(packet)) => packet,
            Err(ffmpeg_next::Error::InvalidData) => continue,
            Ok(None) | Err(_) => break,
        };
        if packet.stream() == audio_index {
            return Ok(false);
        }
        seen += 1;
    }
    Ok(seen > 0)
}
