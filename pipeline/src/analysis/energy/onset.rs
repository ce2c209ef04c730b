//! The signal side of the energy analysis, on mono samples: spectral flux (the onset-strength
//! envelope) with the spectral centroid on the way, onset picking, and tempo by
//! autocorrelation of the envelope. No I/O.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// Analysis frame: 512 samples, 23.2 ms at 22 050 Hz.
pub const FRAME: usize = 512;
/// Hop between frames (half a frame): the envelope has `rate / HOP` values per second.
pub const HOP: usize = 256;
/// Log compression of magnitudes: `ln(1 + GAMMA·|X|)`, so quiet and loud onsets both count.
const GAMMA: f32 = 1000.0;
/// An onset must rise at least this far above its surroundings (mean log-magnitude increase
/// per bin); well above float noise on a steady tone, well below any audible attack.
const ONSET_FLOOR: f32 = 0.01;
/// Tempo search range, beats per minute.
pub const MIN_BPM: f64 = 60.0;
pub const MAX_BPM: f64 = 200.0;
/// Centre and width (octaves) of the log-Gaussian tempo prior: among equally periodic
/// candidates (120 and its half, 60) the one nearer 120 wins.
const PRIOR_BPM: f64 = 120.0;
const PRIOR_OCTAVES: f64 = 1.0;
/// Below this normalized autocorrelation peak there is no tempo worth naming.
const MIN_CONFIDENCE: f64 = 0.1;

/// Frames mono samples and computes, per frame, the spectral flux; accumulates the
/// magnitude-weighted spectral centroid over the whole signal.
pub struct FluxMeter {
    rate: u32,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex<f32>>,
    previous: Vec<f32>,
    current: Vec<f32>,
    /// Samples not yet consumed by a frame.
    pending: Vec<f32>,
    /// The onset-strength envelope, one value per hop.
    pub flux: Vec<f32>,
    centroid_num: f64,
    centroid_den: f64,
}

impl FluxMeter {
    pub fn new(rate: u32) -> FluxMeter {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FRAME);
        // Hann window, scaled so that a full-scale sine peaks at magnitude 1.
        let hann: Vec<f32> = (0..FRAME)
            .map(|i| {
                let x = std::f32::consts::PI * 2.0 * i as f32 / FRAME as f32;
                0.5 - 0.5 * x.cos()
            })
            .collect();
        let sum: f32 = hann.iter().sum();
        let window = hann.iter().map(|w| w * 2.0 / sum).collect();
        let bins = FRAME / 2 + 1;
        FluxMeter {
            rate,
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            fft,
            window,
            previous: vec![0.0; bins],
            current: vec![0.0; bins],
            pending: Vec::with_capacity(FRAME * 4),
            flux: Vec::new(),
            centroid_num: 0.0,
            centroid_den: 0.0,
        }
    }

    /// Envelope values per second.
    pub fn frames_per_second(&self) -> f64 {
        self.rate as f64 / HOP as f64
    }

    /// Adds mono samples.
    pub fn push(&mut self, mono: &[f32]) {
        self.pending.extend_from_slice(mono);
        let mut start = 0;
        while self.pending.len() - start >= FRAME {
            self.frame(start);
            start += HOP;
        }
        self.pending.drain(..start);
    }

    fn frame(&mut self, start: usize) {
        let samples = &self.pending[start..start + FRAME];
        for ((x, s), w) in self.input.iter_mut().zip(samples).zip(&self.window) {
            *x = s * w;
        }
        if self
            .fft
            .process(&mut self.input, &mut self.spectrum)
            .is_err()
        {
            return; // only on mismatched buffer lengths, which these are not
        }
        let bin_hz = self.rate as f64 / FRAME as f64;
        let mut rise = 0.0f32;
        for (k, (c, (cur, prev))) in self
            .spectrum
            .iter()
            .zip(self.current.iter_mut().zip(&self.previous))
            .enumerate()
        {
            let magnitude = c.norm();
            self.centroid_num += k as f64 * bin_hz * magnitude as f64;
            self.centroid_den += magnitude as f64;
            *cur = (GAMMA * magnitude).ln_1p();
            rise += (*cur - prev).max(0.0);
        }
        std::mem::swap(&mut self.current, &mut self.previous);
        self.flux.push(rise / self.previous.len() as f32);
    }

    /// The magnitude-weighted mean frequency over everything heard, Hz; None for silence.
    pub fn centroid_hz(&self) -> Option<f64> {
        (self.centroid_den > 1e-3).then(|| self.centroid_num / self.centroid_den)
    }
}

/// The envelope minus its running mean over `radius` values each side, floored at zero: what
/// stands out from its neighbourhood.
fn above_local_mean(env: &[f32], radius: usize) -> Vec<f32> {
    let mut prefix = Vec::with_capacity(env.len() + 1);
    prefix.push(0.0f64);
    for v in env {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + *v as f64);
    }
    (0..env.len())
        .map(|t| {
            let (lo, hi) = (t.saturating_sub(radius), (t + radius + 1).min(env.len()));
            let mean = (prefix[hi] - prefix[lo]) / (hi - lo) as f64;
            (env[t] as f64 - mean).max(0.0) as f32
        })
        .collect()
}

/// Onsets in the envelope: local maxima (within ~30 ms) that rise above the mean of the
/// surrounding ~0.2 s by at least [`ONSET_FLOOR`] and a tenth of the strongest onset.
pub fn count_onsets(env: &[f32], fps: f64) -> usize {
    let novelty = above_local_mean(env, (0.1 * fps).round() as usize);
    let strongest = novelty.iter().copied().fold(0.0f32, f32::max);
    let threshold = ONSET_FLOOR.max(0.1 * strongest);
    let reach = ((0.03 * fps).round() as usize).max(1);
    let mut count = 0;
    let mut last: Option<usize> = None;
    for (t, &v) in novelty.iter().enumerate() {
        if v < threshold || last.is_some_and(|l| t - l <= reach) {
            continue;
        }
        let lo = t.saturating_sub(reach);
        let hi = (t + reach + 1).min(novelty.len());
        // Strictly above what precedes, at least what follows: one onset per plateau.
        let peak = novelty[lo..t].iter().all(|&p| p < v) && novelty[t..hi].iter().all(|&p| p <= v);
        if peak {
            count += 1;
            last = Some(t);
        }
    }
    count
}

/// A tempo estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tempo {
    pub bpm: f64,
    /// The normalized autocorrelation at the beat period, 0..1: how regular the pulse is.
    pub confidence: f64,
}

/// The log-Gaussian prior weight of `bpm`.
fn prior(bpm: f64) -> f64 {
    let octaves = (bpm / PRIOR_BPM).log2() / PRIOR_OCTAVES;
    (-0.5 * octaves * octaves).exp()
}

/// `values` smoothed by a triangular kernel of `radius` values each side.
fn smooth(values: &[f32], radius: usize) -> Vec<f32> {
    let weight = |d: usize| (radius + 1 - d) as f32;
    let total: f32 = (0..=radius).map(weight).sum::<f32>() * 2.0 - weight(0);
    (0..values.len())
        .map(|t| {
            let lo = t.saturating_sub(radius);
            let hi = (t + radius + 1).min(values.len());
            (lo..hi)
                .map(|i| values[i] * weight(t.abs_diff(i)))
                .sum::<f32>()
                / total
        })
        .collect()
}

/// Tempo from the onset envelope (`fps` values per second): the autocorrelation of the
/// envelope's novelty over beat periods of 60–200 BPM, weighted by the prior; the peak is
/// refined by a parabola through its neighbours. None when the envelope is flat, too short
/// for two beats at 60 BPM, or not periodic enough.
///
/// Novelty below [`ONSET_FLOOR`] is dropped (the slight periodic ripple a steady tone leaves
/// in the flux is not a beat), and the rest is smoothed over ±35 ms, so that a beat period
/// falling between two envelope values still makes one clear peak instead of two halves,
/// which would let its exact double win.
pub fn tempo(env: &[f32], fps: f64) -> Option<Tempo> {
    let mut novelty = above_local_mean(env, fps.round() as usize);
    novelty
        .iter_mut()
        .filter(|v| **v < ONSET_FLOOR)
        .for_each(|v| *v = 0.0);
    let novelty = smooth(&novelty, ((0.035 * fps).round() as usize).max(1));
    let n = novelty.len();
    let mean = novelty.iter().map(|&v| v as f64).sum::<f64>() / n.max(1) as f64;
    let x: Vec<f64> = novelty.iter().map(|&v| v as f64 - mean).collect();
    let min_lag = ((60.0 * fps / MAX_BPM).floor() as usize).max(2);
    let max_lag = (60.0 * fps / MIN_BPM).ceil() as usize;
    if n < 2 * (max_lag + 1) {
        return None;
    }
    // Unbiased: each lag averaged over its own overlap, so long periods are not penalised.
    let ac = |lag: usize| -> f64 {
        let sum: f64 = x[..n - lag].iter().zip(&x[lag..]).map(|(a, b)| a * b).sum();
        sum / (n - lag) as f64
    };
    let energy = ac(0);
    if energy < 1e-9 {
        return None;
    }
    let r: Vec<f64> = (0..=max_lag + 1).map(|lag| ac(lag) / energy).collect();
    let bpm_of = |lag: f64| 60.0 * fps / lag;
    let best = (min_lag..=max_lag).max_by(|&a, &b| {
        let (sa, sb) = (
            r[a] * prior(bpm_of(a as f64)),
            r[b] * prior(bpm_of(b as f64)),
        );
        sa.total_cmp(&sb)
    })?;
    let confidence = r[best].clamp(0.0, 1.0);
    if confidence < MIN_CONFIDENCE {
        return None;
    }
    let (a, b, c) = (r[best - 1], r[best], r[best + 1]);
    let curvature = a - 2.0 * b + c;
    let shift = if curvature < 0.0 {
        (0.5 * (a - c) / curvature).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    Some(Tempo {
        bpm: bpm_of(best as f64 + shift),
        confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An envelope with a spike every `period` values (fractional periods land on the
    /// nearest value, as real onsets do).
    fn pulses(period: f64, len: usize) -> Vec<f32> {
        let mut env = vec![0.0f32; len];
        let mut t = 0.0f64;
        while (t.round() as usize) < len {
            env[t.round() as usize] = 1.0;
            t += period;
        }
        env
    }

    #[test]
    fn tempo_of_regular_pulses_prefers_the_beat_near_120() {
        let fps = 22050.0 / HOP as f64;
        for bpm in [90.0, 120.0, 150.0, 97.0, 140.0] {
            let env = pulses(60.0 * fps / bpm, (fps * 20.0) as usize);
            let found = tempo(&env, fps).expect("a tempo");
            assert!((found.bpm - bpm).abs() < 1.5, "{bpm}: {found:?}");
            assert!(found.confidence > 0.5, "{bpm}: {found:?}");
        }
    }

    #[test]
    fn flat_or_short_envelopes_have_no_tempo() {
        let fps = 86.0;
        assert_eq!(tempo(&vec![0.0; 2000], fps), None);
        assert_eq!(tempo(&vec![0.3; 2000], fps), None);
        assert_eq!(tempo(&pulses(43.0, 100), fps), None);
        // A ripple too small to be an onset has no tempo, however regular.
        let ripple: Vec<f32> = (0..2000).map(|t| 1e-3 * (t as f32 * 0.7).sin()).collect();
        assert_eq!(tempo(&ripple, fps), None);
    }

    #[test]
    fn onsets_are_counted_once_each() {
        let fps = 86.0;
        assert_eq!(count_onsets(&pulses(43.0, 860), fps), 20);
        assert_eq!(count_onsets(&vec![0.0; 860], fps), 0);
        assert_eq!(count_onsets(&vec![1e-4; 860], fps), 0);
    }
}
