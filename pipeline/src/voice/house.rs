//! Speech brought to the house format: resampled to the house rate (rubato's FFT resampler),
//! stereo, and normalized to the house loudness: the integrated loudness on the target
//! (EBU R 128, -23 LUFS by default) with the true peak at or under the ceiling (-1 dBTP). A
//! line whose peaks would pass the ceiling at the target goes through a peak limiter first.

use rubato::{FftFixedIn, Resampler};

use super::Speech;
use crate::config::HouseFormat;
use crate::ingest::loudness::{Loudness, LoudnessMeter};

/// Speech in the house format.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseSpeech {
    /// Interleaved stereo f32 samples at the house rate.
    pub samples: Vec<f32>,
    /// The house sample rate.
    pub rate: u32,
    /// Loudness after normalization (`integrated_lufs` is `None` for a line shorter than one
    /// 400 ms measuring block).
    pub loudness: Loudness,
}

impl HouseSpeech {
    /// Samples per channel.
    pub fn frames(&self) -> usize {
        self.samples.len() / 2
    }

    /// Length in milliseconds (rounded up).
    pub fn duration_ms(&self) -> i64 {
        ((self.frames() as u64 * 1000).div_ceil(self.rate.max(1) as u64)) as i64
    }
}

/// Resamples `speech` to the house rate, makes it stereo and normalizes its loudness.
pub fn to_house(speech: &Speech, house: &HouseFormat) -> Result<HouseSpeech, String> {
    let mono = downmix(speech);
    let resampled = resample(&mono, speech.rate, house.audio_sample_rate)?;
    let mut stereo: Vec<f32> = resampled.iter().flat_map(|&v| [v, v]).collect();
    let loudness = normalize(&mut stereo, house)?;
    Ok(HouseSpeech {
        samples: stereo,
        rate: house.audio_sample_rate,
        loudness,
    })
}

/// The channels averaged into one (speech is one voice; the card centres it).
fn downmix(speech: &Speech) -> Vec<f32> {
    let ch = speech.channels.max(1) as usize;
    speech
        .samples
        .chunks(ch)
        .map(|f| f.iter().sum::<f32>() / ch as f32)
        .collect()
}

/// `samples` from `from` Hz to `to` Hz, the same length in time (rounded to a sample).
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, String> {
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let want = (samples.len() as u64 * to as u64).div_ceil(from as u64) as usize;
    let chunk = 1024;
    let mut r = FftFixedIn::<f32>::new(from as usize, to as usize, chunk, 2, 1)
        .map_err(|e| e.to_string())?;
    let delay = r.output_delay();
    let mut out: Vec<f32> = Vec::with_capacity(want + delay + 2 * chunk);
    let mut pos = 0;
    while pos < samples.len() || out.len() < want + delay {
        let next = r.input_frames_next();
        let block = if pos + next <= samples.len() {
            let o = r
                .process(&[&samples[pos..pos + next]], None)
                .map_err(|e| e.to_string())?;
            pos += next;
            o
        } else if pos < samples.len() {
            let rest = &samples[pos..];
            pos = samples.len();
            r.process_partial(Some(&[rest]), None)
                .map_err(|e| e.to_string())?
        } else {
            // Flush what the resampler still holds.
            r.process_partial(None::<&[&[f32]]>, None)
                .map_err(|e| e.to_string())?
        };
        out.extend_from_slice(&block[0]);
    }
    Ok(out.into_iter().skip(delay).take(want).collect())
}

fn measure(samples: &[f32], rate: u32) -> Result<Loudness, String> {
    let mut meter = LoudnessMeter::new(2, rate).map_err(|e| e.to_string())?;
    meter.add_interleaved(samples).map_err(|e| e.to_string())?;
    Ok(meter.finish())
}

fn gain(samples: &mut [f32], db: f64) {
    let g = 10f64.powf(db / 20.0) as f32;
    samples.iter_mut().for_each(|s| *s *= g);
}

/// Brings interleaved stereo `samples` to the house loudness and under the true-peak ceiling.
/// Returns the loudness measured after.
pub fn normalize(samples: &mut [f32], house: &HouseFormat) -> Result<Loudness, String> {
    let rate = house.audio_sample_rate;
    // Keep a little room under the ceiling: the meter's true peak and the encoder's differ.
    let ceiling = house.true_peak_max - 0.3;
    for _ in 0..4 {
        let before = measure(samples, rate)?;
        let Some(peak) = before.true_peak_dbtp else {
            return Ok(before); // digital silence
        };
        let Some(lufs) = before.integrated_lufs else {
            // Shorter than one measuring block: set the peak 9 dB under full scale, about
            // where speech at the target would peak.
            gain(samples, (-9.0f64).min(ceiling) - peak);
            return measure(samples, rate);
        };
        let wanted = house.loudness_target - lufs;
        if peak + wanted <= ceiling {
            gain(samples, wanted);
            return measure(samples, rate);
        }
        // At the target the peaks would pass the ceiling: bring the line to the target first,
        // then hold the peaks under the ceiling, and measure again (the limiter takes a little
        // loudness away, the next round gives it back).
        gain(samples, wanted);
        limit(samples, rate, 10f64.powf((ceiling - 0.5) / 20.0) as f32);
    }
    let after = measure(samples, rate)?;
    if let Some(peak) = after.true_peak_dbtp.filter(|p| *p > ceiling) {
        gain(samples, ceiling - peak);
        return measure(samples, rate);
    }
    Ok(after)
}

/// A look-ahead peak limiter: the gain ramps down over 5 ms before a peak above `threshold`
/// and recovers over 80 ms. Interleaved stereo; both channels share the gain.
fn limit(samples: &mut [f32], rate: u32, threshold: f32) {
    let frames = samples.len() / 2;
    let ahead = (rate as usize * 5 / 1000).max(1);
    let step = 1.0 / ahead as f32;
    let release = (-1.0 / (rate as f32 * 0.080)).exp();
    // The gain each frame needs, then (backwards) a ramp towards each dip so that the gain
    // is already down when the peak arrives.
    let mut env: Vec<f32> = (0..frames)
        .map(|i| {
            let p = samples[2 * i].abs().max(samples[2 * i + 1].abs());
            if p > threshold {
                threshold / p
            } else {
                1.0
            }
        })
        .collect();
    for i in (0..frames.saturating_sub(1)).rev() {
        env[i] = env[i].min(env[i + 1] + step);
    }
    let mut g = 1.0f32;
    for (i, &e) in env.iter().enumerate() {
        g = if e < g { e } else { e - (e - g) * release };
        samples[2 * i] *= g;
        samples[2 * i + 1] *= g;
    }
}
