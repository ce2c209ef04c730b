//! Audio-only passes: decode just the audio stream of a file through the same chain the
//! encoder gets (48 kHz stereo, gain, limiter) into a [`LoudnessMeter`]. Used for the source
//! (pass 1), for checking a limited signal, and for verifying the written output. Video
//! packets are skipped, never decoded, so these passes are cheap.

use std::path::Path;

use ffmpeg_next::frame;

use crate::ingest::next_packet;

use super::decode::{open_audio_decoder, AudioChain, AudioGain};
use crate::ingest::loudness::{Loudness, LoudnessMeter};
use crate::ingest::probe::{best_stream, open_input};
use crate::ingest::{Budget, IngestError, Progress};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AudioMeasure {
    pub loudness: Loudness,
    /// Samples per channel after the chain.
    pub samples: u64,
}

/// Measures the best audio stream of `path` after `gain`; `None` when it has none.
pub(crate) fn measure_audio(
    path: &Path,
    rate: u32,
    gain: AudioGain,
    budget: Budget,
    progress: Option<(Progress, f64, f64, f64)>,
) -> Result<Option<AudioMeasure>, IngestError> {
    let mut input = open_input(path, budget)?;
    let Some(index) = best_stream(&input, ffmpeg_next::media::Type::Audio) else {
        return Ok(None);
    };
    let time_base = input
        .stream(index)
        .map(|s| crate::ingest::probe::rational(s.time_base()))
        .unwrap_or(0.0);
    let mut decoder = open_audio_decoder(&input, index)?;
    let mut chain = AudioChain::new(&decoder, rate, gain)?;
    let mut meter = LoudnessMeter::new(2, rate)?;
    let mut samples = 0u64;
    loop {
        budget.check()?;
        let packet = match next_packet(&mut input) {
            Ok(Some(packet)) => packet,
            Err(ffmpeg_next::Error::InvalidData) => continue,
            Err(_) if budget.expired() => {
                budget.check()?;
                break;
            }
            Ok(None) | Err(_) => break,
        };
        if packet.stream() != index {
            continue;
        }
        if let (Some((report, duration, from, to)), Some(pts)) = (progress, packet.pts()) {
            let done = (pts as f64 * time_base / duration.max(0.1)).clamp(0.0, 1.0);
            report(from + (to - from) * done);
        }
        // A damaged packet is skipped; the length checks of the full pass judge the file.
        let _ = decoder.send_packet(&packet);
        samples += drain(&mut decoder, &mut chain, &mut meter)?;
    }
    let _ = decoder.send_eof();
    samples += drain(&mut decoder, &mut chain, &mut meter)?;
    chain.finish()?;
    samples += pull_into(&mut chain, &mut meter)?;
    Ok(Some(AudioMeasure {
        loudness: meter.finish(),
        samples,
    }))
}

fn drain(
    decoder: &mut ffmpeg_next::decoder::Audio,
    chain: &mut AudioChain,
    meter: &mut LoudnessMeter,
) -> Result<u64, IngestError> {
    let mut decoded = frame::Audio::empty();
    let mut samples = 0;
    while decoder.receive_frame(&mut decoded).is_ok() {
        chain.push(&mut decoded)?;
        samples += pull_into(chain, meter)?;
    }
    Ok(samples)
}

fn pull_into(chain: &mut AudioChain, meter: &mut LoudnessMeter) -> Result<u64, IngestError> {
    let mut samples = 0;
    while let Some(out) = chain.pull() {
        let n = out.samples();
        meter.add_planar(&[&out.plane::<f32>(0)[..n], &out.plane::<f32>(1)[..n]])?;
        samples += n as u64;
    }
    Ok(samples)
}
