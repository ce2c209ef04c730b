//! The audio Whisper hears: the first audio stream of a media file as 16 kHz mono f32, and the
//! mel filter bank of its log-mel spectrogram.

use std::path::Path;

use ffmpeg::format::{sample, Sample};
use ffmpeg::media::Type;
use ffmpeg::software::resampling;
use ffmpeg::{frame, ChannelLayout};
use ffmpeg_next as ffmpeg;

use crate::ingest::{init_ffmpeg, next_packet};

/// Whisper's sample rate.
pub const RATE: u32 = 16_000;

const F32_PACKED: Sample = Sample::F32(sample::Type::Packed);

/// Decodes the first audio stream of `path` to 16 kHz mono f32 samples.
pub fn decode_mono_16k(path: &Path) -> Result<Vec<f32>, String> {
    init_ffmpeg();
    if !path.is_file() {
        return Err(format!("media file {} is missing", path.display()));
    }
    let mut input = ffmpeg::format::input(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let stream = input
        .streams()
        .best(Type::Audio)
        .ok_or_else(|| format!("{} has no audio stream", path.display()))?;
    let index = stream.index();
    let context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| format!("the audio stream parameters are unreadable: {e}"))?;
    let mut decoder = context
        .decoder()
        .audio()
        .map_err(|e| format!("the audio codec is not supported: {e}"))?;
    let mut out = Vec::new();
    let mut resampler: Option<(resampling::Context, Sample, ChannelLayout, u32)> = None;
    let mut decoded = frame::Audio::empty();
    let mut drain = |decoder: &mut ffmpeg::decoder::Audio, out: &mut Vec<f32>| {
        while decoder.receive_frame(&mut decoded).is_ok() {
            if decoded.samples() == 0 {
                continue;
            }
            let layout = decoded.channel_layout();
            let layout = if !layout.is_empty() && layout.channels() == decoded.channels() as i32 {
                layout
            } else {
                ChannelLayout::default(decoded.channels() as i32)
            };
            decoded.set_channel_layout(layout);
            let (format, rate) = (decoded.format(), decoded.rate());
            let fits = resampler
                .as_ref()
                .is_some_and(|r| r.1 == format && r.2 == layout && r.3 == rate);
            if !fits {
                let context = resampling::Context::get(
                    format,
                    layout,
                    rate,
                    F32_PACKED,
                    ChannelLayout::MONO,
                    RATE,
                )
                .map_err(|e| format!("the audio format is unusable: {e}"))?;
                resampler = Some((context, format, layout, rate));
            }
            let capacity = decoded.samples() * RATE as usize / rate.max(1) as usize + 256;
            let mut converted = frame::Audio::new(F32_PACKED, capacity, ChannelLayout::MONO);
            if let Some((context, ..)) = resampler.as_mut() {
                context
                    .run(&decoded, &mut converted)
                    .map_err(|e| format!("the audio could not be converted: {e}"))?;
            }
            push_samples(&converted, out);
        }
        Ok::<(), String>(())
    };
    let mut bad_packets = 0u32;
    loop {
        let packet = match next_packet(&mut input) {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(_) if bad_packets < 50 => {
                bad_packets += 1;
                continue;
            }
            Err(e) => return Err(format!("the file could not be read: {e}")),
        };
        if packet.stream() != index {
            continue;
        }
        if decoder.send_packet(&packet).is_err() {
            bad_packets += 1;
        }
        drain(&mut decoder, &mut out)?;
    }
    let _ = decoder.send_eof();
    drain(&mut decoder, &mut out)?;
    while let Some((context, ..)) = resampler.as_mut() {
        let mut converted = frame::Audio::new(F32_PACKED, 4096, ChannelLayout::MONO);
        match context.flush(&mut converted) {
            Ok(_) if converted.samples() > 0 => push_samples(&converted, &mut out),
            _ => break,
        }
    }
    if out.is_empty() {
        return Err(format!("no sound of {} could be decoded", path.display()));
    }
    Ok(out)
}

fn push_samples(frame: &frame::Audio, out: &mut Vec<f32>) {
    let bytes = frame.samples() * 4;
    let data = frame.data(0);
    out.extend(
        data[..bytes.min(data.len())]
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
    );
}

/// The mel filter bank Whisper was trained with (librosa's Slaney-style `filters.mel` for
/// 16 kHz, n_fft 400), `n_mels` rows of 201 weights.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    const N_FFT: usize = 400;
    let n_freqs = N_FFT / 2 + 1;
    let sr = RATE as f64;
    let fft_freqs: Vec<f64> = (0..n_freqs).map(|i| i as f64 * sr / N_FFT as f64).collect();
    let (min_mel, max_mel) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(min_mel + (max_mel - min_mel) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut weights = vec![0f32; n_mels * n_freqs];
    for m in 0..n_mels {
        let (lo, mid, hi) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (hi - lo);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - lo) / (mid - lo);
            let upper = (hi - f) / (hi - mid);
            weights[m * n_freqs + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    weights
}

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(f: f64) -> f64 {
    if f >= MIN_LOG_HZ {
        MIN_LOG_MEL + (f / MIN_LOG_HZ).ln() / log_step()
    } else {
        f / F_SP
    }
}

fn mel_to_hz(m: f64) -> f64 {
    if m >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (m - MIN_LOG_MEL)).exp()
    } else {
        F_SP * m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_filters_match_librosa_shape_and_values() {
        let f = mel_filters(80);
        assert_eq!(f.len(), 80 * 201);
        // Values of mel_80 in openai-whisper's assets/mel_filters.npz: row 0 bin 1, row 1
        // bins 1 and 2, and the largest weight; row 0 is zero from bin 2 on.
        for (i, want) in [
            (1, 0.024_862_595),
            (202, 0.001_990_822),
            (203, 0.022_871_772),
        ] {
            assert!((f[i] - want).abs() < 1e-6, "{i}: {} vs {want}", f[i]);
        }
        let max = f.iter().cloned().fold(0.0f32, f32::max);
        assert!((max - 0.025_880_683).abs() < 1e-6, "{max}");
        assert!(f[2..201].iter().all(|&w| w == 0.0));
        assert!(f.chunks(201).all(|row| row.iter().any(|&w| w > 0.0)));
    }
}
