//! A card's sting: a short chime under its picture (a bumper's ident), synthesized, not read
//! from a file: the notes struck one after another, each a sine with two soft overtones that
//! decays away, brought to the house loudness like a spoken line.

use serde::Deserialize;

use crate::config::HouseFormat;
use crate::voice::{to_house, HouseSpeech, Speech};

/// `sting:` of a template.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sting {
    /// The notes, Hz, struck in order (1 to 8 of them, 40 Hz to 8 kHz).
    pub notes_hz: Vec<f32>,
    /// Time between two notes, milliseconds. Default 140.
    #[serde(default = "default_spacing")]
    pub spacing_ms: u32,
    /// Time for a note to fall by 60 dB, milliseconds. Default 1 200.
    #[serde(default = "default_decay")]
    pub decay_ms: u32,
    /// Level against the house loudness, LU (0: at the target). Default 0.
    #[serde(default)]
    pub level_lu: f32,
}

fn default_spacing() -> u32 {
    140
}

fn default_decay() -> u32 {
    1_200
}

impl Sting {
    /// Why the sting cannot be played, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.notes_hz.is_empty() || self.notes_hz.len() > 8 {
            return Err("sting.notes_hz needs 1 to 8 notes".into());
        }
        if let Some(n) = self
            .notes_hz
            .iter()
            .find(|n| !(40.0..=8_000.0).contains(*n))
        {
            return Err(format!("sting.notes_hz: {n} Hz is outside 40 Hz to 8 kHz"));
        }
        if !(50..=10_000).contains(&self.decay_ms) || self.spacing_ms > 2_000 {
            return Err("sting: decay_ms must be 50 to 10 000 and spacing_ms at most 2 000".into());
        }
        if !(-30.0..=0.0).contains(&self.level_lu) {
            return Err("sting.level_lu must be -30 to 0".into());
        }
        Ok(())
    }

    /// The chime for a card of `frames` house samples: stereo at the house rate, at the
    /// house loudness plus `level_lu`, silent after the last note has died away and ending in
    /// a 20-ms fade so that nothing is cut at the card's end.
    pub fn render(&self, house: &HouseFormat, frames: usize) -> Result<HouseSpeech, String> {
        let rate = house.audio_sample_rate as f32;
        let mut mono = vec![0f32; frames];
        // exp(-k t) falls 60 dB (a factor of 1000) in decay_ms.
        let k = 1000f32.ln() / (self.decay_ms as f32 / 1000.0);
        for (n, hz) in self.notes_hz.iter().enumerate() {
            let start = (n as f32 * self.spacing_ms as f32 / 1000.0 * rate) as usize;
            let attack = (0.005 * rate) as usize;
            for (i, v) in mono.iter_mut().enumerate().skip(start) {
                let t = (i - start) as f32 / rate;
                let envelope = (-k * t).exp() * ((i - start) as f32 / attack as f32).min(1.0);
                if i - start > attack && envelope < 1e-4 {
                    break; // died away
                }
                let phase = std::f32::consts::TAU * hz * t;
                *v += envelope
                    * (phase.sin() + 0.3 * (2.0 * phase).sin() + 0.1 * (3.0 * phase).sin());
            }
        }
        let fade = ((0.02 * rate) as usize).min(frames);
        for (i, v) in mono[frames - fade..].iter_mut().enumerate() {
            *v *= 1.0 - (i + 1) as f32 / fade as f32;
        }
        let mut chime = to_house(
            &Speech {
                samples: mono,
                channels: 1,
                rate: house.audio_sample_rate,
            },
            house,
        )?;
        let gain = 10f32.powf(self.level_lu / 20.0);
        chime.samples.iter_mut().for_each(|v| *v *= gain);
        let lu = f64::from(self.level_lu);
        let l = &mut chime.loudness;
        l.integrated_lufs = l.integrated_lufs.map(|v| v + lu);
        l.true_peak_dbtp = l.true_peak_dbtp.map(|v| v + lu);
        chime.samples.resize(frames * 2, 0.0);
        Ok(chime)
    }
}
