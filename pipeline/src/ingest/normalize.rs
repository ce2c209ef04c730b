//! Normalize: turns an accepted upload into a house-format clip (MP4, H.264 High yuv420p at
//! the house size and frame rate with a closed GOP, AAC-LC 48 kHz stereo at the loudness
//! target, audio and video of exactly equal length) and proves it by probing and measuring
//! the written file before saying Ok.
//!
//! Passes: (1) decode only the source audio and measure its loudness, planning gain and, when
//! the gain would push the true peak too high, a limiter checked by an audio-only re-measure;
//! (2) the one full decode and encode ([`transcode`]); (3) verify the output (probe, codecs,
//! sizes, equal length, loudness, true peak).

pub(crate) mod decode;
pub(crate) mod encode;
mod measure;
mod transcode;
mod video;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_audio;

use std::path::Path;

use serde::{Deserialize, Serialize};

use self::decode::AudioGain;
use self::encode::{EncodeSpec, VideoRate};
use self::measure::measure_audio;
use self::transcode::{transcode, TranscodeJob, TranscodeOutcome};
use self::video::PictureSpec;
use super::loudness::Loudness;
use super::probe::{probe, ProbeInfo};
use super::{Budget, IngestError, Progress, Rejection};
use crate::config::{HouseFormat, IngestLimits};

/// Headroom below the true-peak maximum kept for AAC's own overshoot, dB.
const TRUE_PEAK_MARGIN: f64 = 0.5;
/// Extra room below that for inter-sample peaks the sample-peak limiter does not see, dB.
const INTERSAMPLE_ROOM: f64 = 0.7;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizeReport {
    /// Of the source (no integrated value when silent or without audio).
    pub loudness_before: Loudness,
    /// Measured by decoding the written output.
    pub loudness_after: Loudness,
    /// Total gain applied, dB (before and after the limiter).
    pub gain_db: f64,
    /// Whether a true-peak limiter was needed.
    pub limited: bool,
    pub video_frames: u64,
    /// Per channel; == video_frames * samples_per_frame.
    pub audio_samples: u64,
    pub duration_s: f64,
    pub source_had_audio: bool,
    pub deinterlaced: bool,
    pub rotated_deg: i32,
    pub source_frame_rate: f64,
    /// Frames added by holding the last picture (audio longer than video).
    pub held_frames: u64,
    /// Silence added to the audio (video longer than audio, or no audio).
    pub padded_samples: u64,
    /// Pictures decoded from the source.
    pub source_frames: u64,
    /// Packets the decoders refused (damaged data that was skipped).
    pub decode_errors: u64,
    /// The probe of the written file.
    pub output: ProbeInfo,
}

/// Writes `output` (MP4, +faststart) in the house format. Verifies the result (probe, codecs,
/// size, frame rate, equal A/V length, loudness within tolerance, true peak) before Ok.
pub fn normalize(
    input: &Path,
    output: &Path,
    house: &HouseFormat,
    limits: &IngestLimits,
    progress: Progress,
) -> Result<NormalizeReport, IngestError> {
    check_house(house)?;
    let source = probe(input, limits)?;
    super::validate::validate(&source, limits)?;
    let video = source.video.clone().ok_or(Rejection::NoVideo)?;
    let declared = video.duration_s.unwrap_or(source.duration_s);
    let budget = Budget::for_media(limits, source.duration_s);

    let rate = house.audio_sample_rate;
    let before = measure_audio(
        input,
        rate,
        AudioGain::UNITY,
        budget,
        Some((progress, source.duration_s, 0.0, 0.15)),
    )?;
    let loudness_before = before.map(|m| m.loudness).unwrap_or(SILENT);
    let gain = plan_gain(input, &loudness_before, house, budget, 0.0)?;
    progress(0.2);

    let mut job = TranscodeJob {
        input,
        output,
        encode: house_encoding(house),
        picture: house_picture(&video, house),
        gain,
        max_dimension: limits.max_dimension,
        declared_s: declared,
        budget,
        progress,
        progress_range: (0.2, 0.9),
    };
    let (outcome, after) = encode_within_bounds(&mut job, &loudness_before, house, limits)?;
    progress(1.0);
    let (output_info, loudness_after) = after;
    Ok(NormalizeReport {
        loudness_before,
        loudness_after,
        gain_db: job.gain.pre_db + job.gain.post_db,
        limited: job.gain.limit_db.is_some(),
        video_frames: outcome.video_frames,
        audio_samples: outcome.audio_samples,
        duration_s: outcome.video_frames as f64 / f64::from(house.fps),
        source_had_audio: outcome.source_had_audio,
        deinterlaced: video.interlaced || outcome.interlaced_frames > 0,
        rotated_deg: video.rotation_deg,
        source_frame_rate: video.frame_rate,
        held_frames: outcome.held_frames,
        padded_samples: outcome.padded_samples,
        source_frames: outcome.source_frames,
        decode_errors: outcome.decode_errors,
        output: output_info,
    })
}

/// Pass 2 and verification, with up to two correction passes when the encoder moved the
/// loudness or the peaks out of bounds.
fn encode_within_bounds(
    job: &mut TranscodeJob,
    before: &Loudness,
    house: &HouseFormat,
    limits: &IngestLimits,
) -> Result<(TranscodeOutcome, (ProbeInfo, Loudness)), IngestError> {
    let mut outcome = transcode(job)?;
    let mut after = verify(job.output, house, limits, &outcome, job.budget)?;
    let mut extra_room = 0.0;
    for _ in 0..2 {
        let Some(miss) = loudness_miss(before, &after.1, house) else {
            break;
        };
        let peak_over = after
            .1
            .true_peak_dbtp
            .map_or(0.0, |tp| tp - house.true_peak_max);
        if peak_over > 0.0 {
            extra_room += peak_over + 0.3;
            job.gain = plan_gain(job.input, before, house, job.budget, extra_room)?;
        } else {
            job.gain.post_db += miss;
        }
        // Progress never goes back: a correction pass only creeps towards the end.
        job.progress_range = (job.progress_range.1, (job.progress_range.1 + 0.95) / 2.0);
        outcome = transcode(job)?;
        after = verify(job.output, house, limits, &outcome, job.budget)?;
    }
    if let Some(miss) = loudness_miss(before, &after.1, house) {
        let _ = std::fs::remove_file(job.output);
        return Err(anyhow::anyhow!(
            "normalized audio missed the loudness target or peak limit ({miss:.2} dB off) after correction"
        )
        .into());
    }
    Ok((outcome, after))
}

/// Deinterlace what the stream declares interlaced (else only pictures flagged so), turn
/// as the display matrix says, fit inside the house frame.
fn house_picture(video: &super::probe::VideoInfo, house: &HouseFormat) -> PictureSpec {
    PictureSpec {
        width: house.width,
        height: house.height,
        deinterlace: Some(match video.field_order.as_str() {
            "tff" => "tff",
            "bff" => "bff",
            _ => "auto",
        }),
        rotate_deg: video.rotation_deg,
    }
}

const SILENT: Loudness = Loudness {
    integrated_lufs: None,
    range_lu: 0.0,
    true_peak_dbtp: None,
};

fn check_house(house: &HouseFormat) -> Result<(), IngestError> {
    let whole = house.fps > 0 && house.audio_sample_rate % house.fps == 0;
    if !whole || house.width % 2 != 0 || house.height % 2 != 0 || house.gop_seconds == 0 {
        return Err(anyhow::anyhow!(
            "house format invalid: even size, fps dividing the sample rate and a GOP are required"
        )
        .into());
    }
    Ok(())
}

pub(crate) fn house_encoding(house: &HouseFormat) -> EncodeSpec {
    EncodeSpec {
        width: house.width,
        height: house.height,
        fps: house.fps,
        gop_frames: house.gop_frames(),
        preset: house.x264_preset.clone(),
        rate: VideoRate::Crf {
            crf: house.crf,
            max_kbps: house.video_max_kbps,
        },
        audio_rate: house.audio_sample_rate,
        audio_kbps: house.audio_kbps,
    }
}

/// Gain to the target; when that would push the true peak over the maximum, a limiter plus a
/// make-up gain found by re-measuring the processed audio (audio-only, cheap). `extra_room`
/// lowers the ceiling further when a written file showed more overshoot than expected.
fn plan_gain(
    input: &Path,
    before: &Loudness,
    house: &HouseFormat,
    budget: Budget,
    extra_room: f64,
) -> Result<AudioGain, IngestError> {
    let Some(integrated) = before.integrated_lufs else {
        return Ok(AudioGain::UNITY);
    };
    let pre = house.loudness_target - integrated;
    let ceiling = house.true_peak_max - TRUE_PEAK_MARGIN - extra_room;
    let peak = before.true_peak_dbtp.unwrap_or(f64::NEG_INFINITY);
    if peak + pre <= ceiling {
        return Ok(AudioGain {
            pre_db: pre,
            limit_db: None,
            post_db: 0.0,
        });
    }
    let mut gain = AudioGain {
        pre_db: pre,
        limit_db: Some(ceiling - INTERSAMPLE_ROOM),
        post_db: 0.0,
    };
    for _ in 0..6 {
        let Some(m) = measure_audio(input, house.audio_sample_rate, gain, budget, None)? else {
            break;
        };
        let miss = m
            .loudness
            .integrated_lufs
            .map_or(0.0, |i| house.loudness_target - i);
        let tp = m.loudness.true_peak_dbtp.unwrap_or(f64::NEG_INFINITY);
        if miss.abs() <= 0.1 && tp <= ceiling {
            break;
        }
        gain.post_db += miss;
        // The make-up gain raises the peaks too: lower the limiter by as much.
        gain.limit_db = Some(ceiling - INTERSAMPLE_ROOM - gain.post_db.max(0.0));
    }
    Ok(gain)
}

/// How far the output's loudness is from the target when outside tolerance (or its true
/// peak too high, as a negative correction).
fn loudness_miss(before: &Loudness, after: &Loudness, house: &HouseFormat) -> Option<f64> {
    before.integrated_lufs?;
    let integrated = after.integrated_lufs?;
    let miss = house.loudness_target - integrated;
    let peak_over = after
        .true_peak_dbtp
        .map_or(0.0, |tp| tp - house.true_peak_max);
    if peak_over > 0.0 {
        return Some(-(peak_over + 0.2));
    }
    (miss.abs() > house.loudness_tolerance).then_some(miss)
}

/// Probes and measures the written file; anything off is our failure, not the creator's.
fn verify(
    output: &Path,
    house: &HouseFormat,
    limits: &IngestLimits,
    outcome: &TranscodeOutcome,
    budget: Budget,
) -> Result<(ProbeInfo, Loudness), IngestError> {
    let fail = |what: String| -> IngestError {
        anyhow::anyhow!("normalized file failed its check: {what}").into()
    };
    let info = probe(output, limits).map_err(|e| fail(format!("probe: {e}")))?;
    let v = info.video.as_ref().ok_or_else(|| fail("no video".into()))?;
    let a = info.audio.as_ref().ok_or_else(|| fail("no audio".into()))?;
    let video_ok = v.codec == "h264"
        && (v.width, v.height) == (house.width, house.height)
        && v.pix_fmt == "yuv420p"
        && (v.frame_rate - f64::from(house.fps)).abs() < 0.01;
    if !video_ok {
        return Err(fail(format!("video is {v:?}")));
    }
    if a.codec != "aac" || a.sample_rate != house.audio_sample_rate || a.channels != 2 {
        return Err(fail(format!("audio is {a:?}")));
    }
    let expected = outcome.video_frames * u64::from(house.samples_per_frame());
    if outcome.audio_samples != expected {
        return Err(fail(format!(
            "{} audio samples for {} frames",
            outcome.audio_samples, outcome.video_frames
        )));
    }
    let measured = measure_audio(
        output,
        house.audio_sample_rate,
        AudioGain::UNITY,
        budget,
        None,
    )?
    .ok_or_else(|| fail("audio cannot be decoded".into()))?;
    if measured.samples.abs_diff(expected) > u64::from(house.samples_per_frame()) {
        return Err(fail(format!(
            "decoded {} audio samples, expected {expected}",
            measured.samples
        )));
    }
    Ok((info, measured.loudness))
}

/// What a plain re-encode of an already normalized clip produces (the proxy).
pub(crate) struct ReencodeSpec {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub video_kbps: u32,
    pub audio_rate: u32,
    pub audio_kbps: u32,
}

/// Re-encodes `input` at another size and bitrate, keeping its timing: no gain, no
/// deinterlace, no rotation. Returns the frames written.
pub(crate) fn reencode(
    input: &Path,
    output: &Path,
    spec: &ReencodeSpec,
    limits: &IngestLimits,
    declared_s: f64,
    progress: Progress,
) -> Result<u64, IngestError> {
    let job = TranscodeJob {
        input,
        output,
        encode: EncodeSpec {
            width: spec.width,
            height: spec.height,
            fps: spec.fps,
            gop_frames: spec.fps * 2,
            preset: "veryfast".into(),
            rate: VideoRate::Bitrate {
                kbps: spec.video_kbps,
            },
            audio_rate: spec.audio_rate,
            audio_kbps: spec.audio_kbps,
        },
        picture: PictureSpec {
            width: spec.width,
            height: spec.height,
            deinterlace: None,
            rotate_deg: 0,
        },
        gain: AudioGain::UNITY,
        max_dimension: limits.max_dimension,
        declared_s,
        budget: Budget::for_media(limits, declared_s),
        progress,
        progress_range: (0.0, 1.0),
    };
    Ok(transcode(&job)?.video_frames)
}
