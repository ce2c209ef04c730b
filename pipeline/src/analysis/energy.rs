//! How lively a clip is, for the planner's shaping of the evening: tempo (BPM and how sure),
//! short-term loudness (EBU R 128 mode S: mean, 90th percentile, loudness range), onset
//! density and spectral centroid, blended into one energy figure from 0 (calm) to 1.
//!
//! [`analyze`] is pure media (path in, [`EnergyReport`] out); the `analysis.energy` job
//! (`analysis::jobs`) stores the report in `clip_energy` through [`record`].
//!
//! The audio is decoded as stereo at 22 050 Hz; the signal work ([`onset`]) runs on the mono
//! mix in 23 ms frames, the loudness meter on both channels.

pub mod onset;
pub mod record;

use std::path::Path;

use ebur128::{EbuR128, Mode};
use serde::{Deserialize, Serialize};

use crate::config::IngestLimits;
use crate::ingest::decode::{self, AudioRequest, DecodeOptions, Decoded};
use crate::ingest::IngestError;

/// The rate audio is analysed at: enough for a centroid up to 11 kHz and cheap to transform.
pub const RATE: u32 = 22_050;
/// Short-term loudness is read every 100 ms (as EBU Tech 3341 suggests for mode S).
const READINGS_PER_SECOND: u32 = 10;
/// Readings below this are silence (the absolute gate of BS.1770).
const SILENCE_LUFS: f64 = -70.0;

/// The energy figures of one clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyReport {
    /// Tempo, beats per minute (60–200); None without a regular pulse (speech, pads, silence).
    pub bpm: Option<f64>,
    /// The normalized autocorrelation at the beat period, 0..1 (0 when no tempo).
    pub bpm_confidence: f64,
    /// Onsets per second.
    pub onset_rate: f64,
    /// Mean of the short-term loudness readings above the silence gate, LUFS.
    pub st_mean: Option<f64>,
    /// 90th percentile of those readings, LUFS.
    pub st_p90: Option<f64>,
    /// Loudness range, LU (0 for silence).
    pub lra: f64,
    /// Magnitude-weighted mean frequency, Hz; None for silence.
    pub centroid_hz: Option<f64>,
    /// The blend of the above, 0..1; see [`blend`].
    pub energy: f64,
}

/// Decodes the audio of `path` (under the limits' time budget) and measures it. A file without
/// audio measures as silence.
pub fn analyze(path: &Path, limits: &IngestLimits) -> Result<EnergyReport, IngestError> {
    let mut analyzer = Analyzer::new()?;
    let opts = DecodeOptions {
        video: None,
        audio: Some(AudioRequest::Stereo { rate: RATE }),
        seek_points: Vec::new(),
    };
    decode::for_each(path, &opts, limits, |decoded| {
        if let Decoded::Audio { samples, .. } = decoded {
            analyzer.push(&samples)?;
        }
        Ok(())
    })?;
    Ok(analyzer.finish())
}

/// Streaming measurement of interleaved stereo samples at [`RATE`]; memory stays small
/// whatever the clip's length (the envelope keeps ~86 values a second).
pub struct Analyzer {
    meter: EbuR128,
    flux: onset::FluxMeter,
    /// Stereo frames fed to the meter, and those since the last short-term reading.
    frames: u64,
    since_reading: u32,
    short_term: Vec<f64>,
    mono: Vec<f32>,
}

impl Analyzer {
    pub fn new() -> anyhow::Result<Analyzer> {
        Ok(Analyzer {
            meter: EbuR128::new(2, RATE, Mode::S | Mode::LRA)?,
            flux: onset::FluxMeter::new(RATE),
            frames: 0,
            since_reading: 0,
            short_term: Vec::new(),
            mono: Vec::new(),
        })
    }

    /// Adds interleaved stereo samples.
    pub fn push(&mut self, stereo: &[f32]) -> anyhow::Result<()> {
        self.mono.clear();
        self.mono
            .extend(stereo.chunks_exact(2).map(|lr| 0.5 * (lr[0] + lr[1])));
        self.flux.push(&self.mono);
        let per_reading = RATE / READINGS_PER_SECOND;
        let mut rest = stereo;
        while !rest.is_empty() {
            let room = (per_reading - self.since_reading) as usize;
            let take = rest.len().min(room * 2);
            self.meter.add_frames_f32(&rest[..take])?;
            self.frames += take as u64 / 2;
            self.since_reading += take as u32 / 2;
            rest = &rest[take..];
            if self.since_reading == per_reading {
                self.since_reading = 0;
                // A reading covers the last 3 s: only once 3 s have been heard.
                if self.frames >= 3 * RATE as u64 {
                    self.read_short_term();
                }
            }
        }
        Ok(())
    }

    fn read_short_term(&mut self) {
        if let Ok(v) = self.meter.loudness_shortterm() {
            if v.is_finite() && v > SILENCE_LUFS {
                self.short_term.push(v);
            }
        }
    }

    /// The report of everything pushed.
    pub fn finish(mut self) -> EnergyReport {
        if self.frames < 3 * RATE as u64 && self.frames > 0 {
            self.read_short_term(); // a clip under 3 s gets one reading over all of it
        }
        let fps = self.flux.frames_per_second();
        let seconds = self.frames as f64 / RATE as f64;
        let tempo = onset::tempo(&self.flux.flux, fps);
        let onsets = onset::count_onsets(&self.flux.flux, fps);
        let onset_rate = if seconds > 0.0 {
            onsets as f64 / seconds
        } else {
            0.0
        };
        let (st_mean, st_p90) = summarize(&mut self.short_term);
        let lra = self
            .meter
            .loudness_range()
            .ok()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0);
        let centroid_hz = self.flux.centroid_hz();
        let energy = blend(tempo, onset_rate, st_p90, centroid_hz);
        EnergyReport {
            bpm: tempo.map(|t| t.bpm),
            bpm_confidence: tempo.map_or(0.0, |t| t.confidence),
            onset_rate,
            st_mean,
            st_p90,
            lra,
            centroid_hz,
            energy,
        }
    }
}

/// Mean and 90th percentile (nearest rank) of the readings; None without readings.
fn summarize(readings: &mut [f64]) -> (Option<f64>, Option<f64>) {
    if readings.is_empty() {
        return (None, None);
    }
    readings.sort_by(f64::total_cmp);
    let mean = readings.iter().sum::<f64>() / readings.len() as f64;
    let rank = ((0.9 * readings.len() as f64).ceil() as usize).clamp(1, readings.len());
    (Some(mean), Some(readings[rank - 1]))
}

fn unit(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// The energy blend, 0..1 (never NaN):
///
/// - 35 % loudness: the short-term p90 from 12 LU below the house's -23 LUFS (0) to 6 LU
///   above it (1). Normalized clips sit near -23 integrated, so this mostly tells punchy
///   material (loud peaks) from quiet, even material;
/// - 25 % onset density: 0 to 6 onsets a second;
/// - 25 % tempo: 60 to 180 BPM, scaled by the tempo's confidence (no tempo: 0);
/// - 15 % brightness: spectral centroid from 500 Hz (0) to 4 kHz (1).
pub fn blend(
    tempo: Option<onset::Tempo>,
    onset_rate: f64,
    st_p90: Option<f64>,
    centroid_hz: Option<f64>,
) -> f64 {
    let loudness = st_p90.map_or(0.0, |p| unit((p - (-23.0 - 12.0)) / 18.0));
    let density = unit(onset_rate / 6.0);
    let pace = tempo.map_or(0.0, |t| unit((t.bpm - 60.0) / 120.0) * unit(t.confidence));
    let brightness = centroid_hz.map_or(0.0, |c| unit((c - 500.0) / 3500.0));
    unit(0.35 * loudness + 0.25 * density + 0.25 * pace + 0.15 * brightness)
}

#[cfg(test)]
#[path = "energy_tests.rs"]
mod tests;
