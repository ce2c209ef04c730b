//! Host cards, bumpers, breaks and slates: a still picture drawn from a template
//! ([`template`], [`draw`], CJK text by [`text`]) and, for a host card, the host's line spoken
//! by a [`Voice`] at the house loudness (a bumper's chime: [`sting`]), written as a segment
//! file ([`segment_out`]).
//!
//! A host card lasts as long as its line: max(the item's length, speech + padding), rounded up
//! to whole frames; [`CardReport::duration_ms`] is what the show stores. Rendering is CPU work:
//! callers run it on a blocking thread.

pub mod draw;
pub mod segment_out;
pub mod sting;
pub mod template;
pub mod text;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ai::RunControl;
use crate::config::HouseFormat;
use crate::ingest::loudness::Loudness;
use crate::render::text::Font;
use crate::show::model::ItemKind;
use crate::voice::{to_house, Voice, VoiceError};

pub use template::{Template, Templates};

/// The `cards` section of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CardsConfig {
    /// Directory of extra or overriding templates (`<name>.yaml`, logos beside them). Empty
    /// (the default): the built-in `host`, `bumper`, `break` and `slate`.
    pub templates: PathBuf,
    /// Font file (.ttf, .otf, .ttc). Empty (the default): Noto Sans CJK SC found by
    /// `fc-match`, else Debian's fonts-noto-cjk path.
    pub font: PathBuf,
    /// Face index in a .ttc collection, for a configured `font`. Default 2 (Noto Sans CJK SC).
    pub font_index: u32,
    /// Silence around the host's spoken line, milliseconds, half before and half after.
    /// Default 500.
    pub speech_padding_ms: i64,
}

impl Default for CardsConfig {
    fn default() -> Self {
        CardsConfig {
            templates: PathBuf::new(),
            font: PathBuf::new(),
            font_index: crate::render::text::DEBIAN_NOTO_CJK_SC,
            speech_padding_ms: 500,
        }
    }
}

/// What to draw (and say) on one card.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CardSpec {
    /// Template name (`host`, `bumper`, `break`, `slate`, or one of the configured directory).
    pub template: String,
    /// The host's line.
    pub line: String,
    /// The main text of a bumper or slate.
    pub title: String,
    /// The label of a break.
    pub label: String,
    /// The show's title.
    pub show_title: String,
    /// BCP-47 tag of the line (`en`, `zh-CN`).
    pub language: String,
    /// The item's length, milliseconds; a spoken line may make the card longer.
    pub duration_ms: i64,
    /// Whether the line is spoken (host cards).
    pub speak: bool,
}

impl CardSpec {
    /// The card of a running-order item (`None` for an act).
    pub fn for_item(kind: &ItemKind, show_title: &str) -> Option<CardSpec> {
        let base = CardSpec {
            show_title: show_title.into(),
            ..CardSpec::default()
        };
        Some(match kind {
            ItemKind::Act(_) => return None,
            ItemKind::HostCard(c) => CardSpec {
                template: "host".into(),
                line: c.line.clone(),
                language: c.language.clone(),
                duration_ms: c.duration_ms,
                speak: true,
                ..base
            },
            ItemKind::Bumper {
                template,
                text,
                duration_ms,
            } => CardSpec {
                template: if template.is_empty() {
                    "bumper".into()
                } else {
                    template.clone()
                },
                title: text.clone(),
                duration_ms: *duration_ms,
                ..base
            },
            ItemKind::Break { label, duration_ms } => CardSpec {
                template: "break".into(),
                label: label.clone(),
                duration_ms: *duration_ms,
                ..base
            },
            ItemKind::Slate { text, duration_ms } => CardSpec {
                template: "slate".into(),
                title: text.clone(),
                duration_ms: *duration_ms,
                ..base
            },
        })
    }
}

/// What a rendered card is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardReport {
    /// The card's length, milliseconds, whole frames: what the show stores for the item.
    pub duration_ms: i64,
    /// Video frames written.
    pub frames: u32,
    /// Audio samples per channel written (`frames × samples_per_frame`).
    pub samples: u64,
    /// Length of the spoken line, milliseconds, when one was spoken.
    pub speech_ms: Option<i64>,
    /// Who spoke it.
    pub voice: Option<String>,
    /// Loudness of the spoken line after normalization.
    pub loudness: Option<Loudness>,
    /// Loudness of the template's sting, when it has one.
    pub sting: Option<Loudness>,
}

/// Why a card could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("card template `{name}` ({origin}): {message}")]
    Template {
        name: String,
        origin: String,
        message: String,
    },
    #[error("there is no card template `{name}` (known: {known})")]
    UnknownTemplate { name: String, known: String },
    #[error("{0}")]
    Font(String),
    #[error("logo {path}: {message}")]
    Logo { path: String, message: String },
    #[error("the host's line could not be spoken: {0}")]
    Voice(#[from] VoiceError),
    #[error("the card has no length: the item is {0} ms and nothing is spoken")]
    NoLength(i64),
    #[error("writing the card failed: {0}")]
    Encode(String),
}

/// Templates and font, loaded once, for many cards.
#[derive(Debug)]
pub struct CardRenderer {
    templates: Templates,
    font: Font,
    padding_ms: i64,
}

impl CardRenderer {
    /// Loads the templates and the font of the configuration.
    pub fn new(cfg: &CardsConfig) -> Result<CardRenderer, CardError> {
        let dir = (!cfg.templates.as_os_str().is_empty()).then_some(cfg.templates.as_path());
        Ok(CardRenderer {
            templates: Templates::load(dir)?,
            font: Font::find(&cfg.font, cfg.font_index)
                .map_err(|e| CardError::Font(e.to_string()))?,
            padding_ms: cfg.speech_padding_ms.max(0),
        })
    }

    /// The font cards are drawn with.
    pub fn font(&self) -> &Font {
        &self.font
    }

    /// The card's picture alone, at `width` x `height`.
    pub fn picture(
        &self,
        spec: &CardSpec,
        width: u32,
        height: u32,
    ) -> Result<image::RgbImage, CardError> {
        let template = self.templates.get(&spec.template)?;
        let logo = self.logo(template)?;
        Ok(draw::picture(
            template,
            logo.as_ref(),
            &self.font,
            spec,
            width,
            height,
        ))
    }

    fn logo(&self, template: &Template) -> Result<Option<image::RgbaImage>, CardError> {
        let Some(l) = &template.logo else {
            return Ok(None);
        };
        let path = match &self.templates.dir {
            Some(dir) => dir.join(&l.file),
            None => l.file.clone(),
        };
        let img = image::open(&path).map_err(|e| CardError::Logo {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Some(img.to_rgba8()))
    }

    /// Renders `spec` as a segment file at `out`; a host card's line is spoken by `voice`
    /// (none: the card is silent).
    pub fn render(
        &self,
        spec: &CardSpec,
        house: &HouseFormat,
        voice: Option<&dyn Voice>,
        out: &Path,
        ctl: &mut RunControl,
    ) -> Result<CardReport, CardError> {
        let picture = self.picture(spec, house.width, house.height)?;
        let speech = match voice {
            Some(v) if spec.speak && !spec.line.trim().is_empty() => {
                let raw = v.speak(&spec.line, &spec.language, ctl)?;
                let house_speech = to_house(&raw, house).map_err(|reason| VoiceError::Failed {
                    voice: v.name(),
                    reason,
                })?;
                Some((house_speech, v.name()))
            }
            _ => None,
        };
        let speech_ms = speech.as_ref().map(|(s, _)| s.duration_ms());
        let wanted_ms = spec
            .duration_ms
            .max(speech_ms.map_or(0, |ms| ms + self.padding_ms));
        if wanted_ms <= 0 {
            return Err(CardError::NoLength(spec.duration_ms));
        }
        let fps = house.fps.max(1) as u64;
        let frames = (wanted_ms as u64 * fps).div_ceil(1000) as u32;
        let spf = house.samples_per_frame() as usize;
        let total = frames as usize * spf;
        let mut audio = vec![0f32; total * 2];
        let sting = match &self.templates.get(&spec.template)?.sting {
            Some(sting) => {
                let chime = sting
                    .render(house, total)
                    .map_err(|message| CardError::Template {
                        name: spec.template.clone(),
                        origin: "sting".into(),
                        message,
                    })?;
                audio.copy_from_slice(&chime.samples);
                Some(chime.loudness)
            }
            None => None,
        };
        if let Some((s, _)) = &speech {
            let lead = (self.padding_ms / 2) as usize * house.audio_sample_rate as usize / 1000;
            let lead = lead.min(total.saturating_sub(s.frames()));
            let n = s.frames().min(total - lead);
            for (a, v) in audio[lead * 2..(lead + n) * 2].iter_mut().zip(&s.samples) {
                *a = (*a + v).clamp(-1.0, 1.0);
            }
        }
        segment_out::write_still(out, house, &picture, frames, &audio)?;
        Ok(CardReport {
            duration_ms: (frames as u64 * 1000).div_ceil(fps) as i64,
            frames,
            samples: total as u64,
            speech_ms,
            loudness: speech.as_ref().map(|(s, _)| s.loudness),
            voice: speech.map(|(_, name)| name),
            sting,
        })
    }

    /// How long a host card with `line` must last, milliseconds: the spoken line plus the
    /// padding (the rule `show::spoken` applies when a director writes a line).
    pub fn measure_line(
        &self,
        line: &str,
        language: &str,
        voice: &dyn Voice,
    ) -> Result<i64, CardError> {
        Ok(crate::voice::speech_ms(line, language, voice)? + self.padding_ms)
    }
}

/// Renders one card with the built-in templates and the system's CJK font, without a time
/// limit. Services that render many cards keep a [`CardRenderer`].
pub fn render_card(
    spec: &CardSpec,
    house: &HouseFormat,
    voice: Option<&dyn Voice>,
    out: &Path,
) -> Result<CardReport, CardError> {
    let mut progress = |_: f64| {};
    let mut ctl = RunControl::unlimited(&mut progress);
    CardRenderer::new(&CardsConfig::default())?.render(spec, house, voice, out, &mut ctl)
}

#[cfg(test)]
mod tests;
