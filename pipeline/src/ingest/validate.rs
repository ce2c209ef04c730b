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

/// Whether this FFmpeg has a decoder for the codec the probe named (a codec descriptor
/// name, which is not always a decoder's name: "mp3" is decoded by "mp3float").
fn check_decodable(codec: &str) -> Result<(), Rejection> {
    super::init_ffmpeg();
    let unsupported = || Rejection::UnsupportedCodec {
        codec: codec.to_string(),
    };
    let name = std::ffi::CString::new(codec).map_err(|_| unsupported())?;
    // SAFETY: a NUL-terminated name in, a pointer to a static descriptor (or null) out.
    let descriptor = unsafe { ffmpeg_next::ffi::avcodec_descriptor_get_by_name(name.as_ptr()) };
    if descriptor.is_null() {
        return Err(unsupported());
    }
    // SAFETY: non-null descriptors are static and valid for the life of the process.
    let id = ffmpeg_next::codec::Id::from(unsafe { (*descriptor).id });
    ffmpeg_next::decoder::find(id)
        .map(|_| ())
        .ok_or_else(unsupported)
}

fn check_decodable_audio(codec: &str) -> Result<(), Rejection> {
    check_decodable(codec).map_err(|_| Rejection::UnsupportedCodec {
        codec: format!("{codec} (audio)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::probe::{AudioInfo, VideoInfo};

    fn info() -> ProbeInfo {
        ProbeInfo {
            container: "mov,mp4,m4a,3gp,3g2,mj2".into(),
            duration_s: 10.0,
            size_bytes: 1_000_000,
            bit_rate: Some(800_000),
            stream_count: 2,
            video: Some(VideoInfo {
                index: 0,
                codec: "h264".into(),
                width: 1920,
                height: 1080,
                sample_aspect: (1, 1),
                display_aspect: 16.0 / 9.0,
                frame_rate: 25.0,
                rotation_deg: 0,
                field_order: "progressive".into(),
                interlaced: false,
                pix_fmt: "yuv420p".into(),
                duration_s: Some(10.0),
            }),
            audio: Some(AudioInfo {
                index: 1,
                codec: "aac".into(),
                sample_rate: 48000,
                channels: 2,
                layout: "stereo".into(),
                duration_s: Some(10.0),
            }),
        }
    }

    #[test]
    fn a_plain_clip_passes() {
        assert_eq!(validate(&info(), &IngestLimits::default()), Ok(()));
    }

    #[test]
    fn each_rule_names_its_reason() {
        let limits = IngestLimits::default();
        let mut i = info();
        i.video.as_mut().unwrap().width = 0;
        assert!(matches!(
            validate(&i, &limits),
            Err(Rejection::AbsurdDimensions { .. })
        ));
        let mut i = info();
        i.video.as_mut().unwrap().codec = "nonsense".into();
        assert!(matches!(
            validate(&i, &limits),
            Err(Rejection::UnsupportedCodec { .. })
        ));
        let mut i = info();
        i.duration_s = f64::NAN;
        assert!(matches!(
            validate(&i, &limits),
            Err(Rejection::TooShort { .. })
        ));
        let mut i = info();
        i.audio.as_mut().unwrap().duration_s = Some(0.0);
        assert!(matches!(
            validate(&i, &limits),
            Err(Rejection::Corrupt { .. })
        ));
        let text = Rejection::TooLong {
            seconds: 1000.0,
            max: 900.0,
        }
        .to_string();
        assert!(text.contains("900"), "{text}");
    }
}
