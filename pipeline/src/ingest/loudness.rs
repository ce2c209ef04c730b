//! Loudness measurement to EBU R 128 / ITU-R BS.1770 with the `ebur128` crate: integrated
//! loudness, loudness range and true peak. Used on the source while it is decoded for
//! normalization, and on the normalized output to verify it.

use ebur128::{EbuR128, Mode};
use serde::{Deserialize, Serialize};

/// Loudness figures of one audio programme.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Loudness {
    /// Integrated loudness, LUFS; `None` when everything is below the absolute gate (silence).
    pub integrated_lufs: Option<f64>,
    /// Loudness range, LU.
    pub range_lu: f64,
    /// Highest true peak over all channels, dBTP; `None` for digital silence.
    pub true_peak_dbtp: Option<f64>,
}

pub struct LoudnessMeter {
    inner: EbuR128,
    channels: u32,
}

impl LoudnessMeter {
    pub fn new(channels: u32, sample_rate: u32) -> anyhow::Result<LoudnessMeter> {
        let inner = EbuR128::new(channels, sample_rate, Mode::I | Mode::LRA | Mode::TRUE_PEAK)?;
        Ok(LoudnessMeter { inner, channels })
    }

    /// Adds interleaved samples (all channels, frame after frame).
    pub fn add_interleaved(&mut self, samples: &[f32]) -> anyhow::Result<()> {
        self.inner.add_frames_f32(samples)?;
        Ok(())
    }

    /// Adds planar samples, one slice per channel, all of the same length.
    pub fn add_planar(&mut self, planes: &[&[f32]]) -> anyhow::Result<()> {
        self.inner.add_frames_planar_f32(planes)?;
        Ok(())
    }

    pub fn finish(&self) -> Loudness {
        let integrated = self.inner.loudness_global().ok().filter(|v| v.is_finite());
        let range = self
            .inner
            .loudness_range()
            .ok()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0);
        let peak = (0..self.channels)
            .filter_map(|c| self.inner.true_peak(c).ok())
            .fold(0.0f64, f64::max);
        let true_peak = (peak > 0.0).then(|| 20.0 * peak.log10());
        Loudness {
            integrated_lufs: integrated,
            range_lu: range,
            true_peak_dbtp: true_peak,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, amplitude: f32, seconds: f32, rate: u32) -> Vec<f32> {
        let n = (seconds * rate as f32) as usize;
        (0..n)
            .flat_map(|i| {
                let v =
                    amplitude * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin();
                [v, v]
            })
            .collect()
    }

    #[test]
    fn full_scale_sine_reads_as_expected() {
        // A 1 kHz stereo sine at -20 dBFS peak measures about -20.0 LUFS (BS.1770 calibration:
        // a 0 dBFS 1 kHz sine on one channel reads -3.01 LUFS; two channels add 3 dB).
        let mut meter = LoudnessMeter::new(2, 48000).unwrap();
        meter
            .add_interleaved(&sine(1000.0, 0.1, 5.0, 48000))
            .unwrap();
        let l = meter.finish();
        let i = l.integrated_lufs.unwrap();
        assert!((i - -20.0).abs() < 0.2, "integrated {i}");
        let tp = l.true_peak_dbtp.unwrap();
        assert!((tp - -20.0).abs() < 0.3, "true peak {tp}");
    }

    #[test]
    fn silence_has_no_integrated_loudness() {
        let mut meter = LoudnessMeter::new(2, 48000).unwrap();
        meter.add_interleaved(&vec![0.0; 48000 * 2 * 3]).unwrap();
        let l = meter.finish();
        assert_eq!(l.integrated_lufs, None);
        assert_eq!(l.true_peak_dbtp, None);
    }
}
