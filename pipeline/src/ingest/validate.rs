//! Validate: the acceptance rules of [`IngestLimits`] applied to a [`ProbeInfo`]. Pure — no
//! file access — so the rules are cheap to test and the reasons read the same everywhere.

use super::probe::ProbeInfo;
use super::Rejection;
use crate::config::IngestLimits;

/// The smallest picture side that can be a real video.
const MIN_DIMENSION: u32 = 16;

/// The rules of `limits` applied to a probe: no video, too short/long, too large, absurd
/// dimensions, too many streams, unsupported codec...
pub fn validate(info: &ProbeInfo, limits: &IngestLimits) -> Result<(), Rejection> {
    if info.size_bytes > limits.max_file_bytes {
        return Err(Rejection::TooLarge {
            bytes: info.size_bytes,
            max: limits.max_file_bytes,
        });
    }
    if info.stream_count > limits.max_streams {
        return Err(Rejection::TooManyStreams {
            count: info.stream_count,
            max: limits.max_streams,
        });
    }
    let video = info.video.as_ref().ok_or(Rejection::NoVideo)?;
    let (w, h) = (video.width, video.height);
    if w > limits.max_dimension
        || h > limits.max_dimension
        || w < MIN_DIMENSION
        || h < MIN_DIMENSION
    {
        return Err(Rejection::AbsurdDimensions {
            width: w,
            height: h,
            max: limits.max_dimension,
        });
    }
    check_decodable(&video.codec)?;
    if let Some(audio) = &info.audio {
        check_decodable_audio(&audio.codec)?;
        if audio.duration_s == Some(0.0) || audio.sample_rate == 0 || audio.channels == 0 {
            return Err(Rejection::Corrupt {
                detail: "the audio track is empty".into(),
            });
        }
    }
    check_duration(info, limits)
}

fn check_duration(info: &ProbeInfo, limits: &IngestLimits) -> Result<(), Rejection> {
    let seconds = info.duration_s;
    // NaN (an unreadable duration) is too short as well.
    if seconds.is_nan() || seconds < limits.min_duration_s {
        return Err(Rejection::TooShort {
            seconds: seconds.max(0.0),
            min: limits.min_duration_s,
        });
    }
    if seconds > limits.max_duration_s {
        return Err(Rejection::TooLong {
            seconds,
            max: limits.max_duration_s,
        });
    }
    Ok(())
}

fn check_decodable(codec: &str) -> Result<(), Rejection> {
    super::init_ffmpeg();
    match ffmpeg_next::decoder::find_by_name(codec) {
        Some(_) => Ok(()),
        None => Err(Rejection::UnsupportedCodec {
            codec: codec.to_string(),
        }),
    }
}

fn check_decodable_audio(codec: &str) -> Result<(), Rejection> {
    check_decodable(codec).map_err(|_| Rejection::UnsupportedCodec {
        codec: format!("{codec} (audio)"),
    })
}
