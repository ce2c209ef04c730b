//! Text on cards: a CJK-capable font (Noto Sans CJK from Debian's fonts-noto-cjk, found with
//! `fc-match` or configured), line wrapping (per word in Latin scripts, per character in CJK,
//! never starting a line with closing punctuation) and glyphs drawn into an RGB frame with
//! `ab_glyph`, in process.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, GlyphId, PxScale, ScaleFont};
use image::RgbImage;

use super::CardError;

/// Where Debian's fonts-noto-cjk puts the collection, and the index of Simplified Chinese.
/// Noto Sans CJK SC: the file fonts-noto-cjk installs and the face of Simplified Chinese in it.
pub(crate) use crate::render::text::{
    DEBIAN_NOTO_CJK as NOTO_CJK, DEBIAN_NOTO_CJK_SC as NOTO_CJK_SC_INDEX,
};

/// A loaded font face.
pub struct CardFont {
    font: FontVec,
    /// The file and face index read, for reports.
    pub path: PathBuf,
    pub index: u32,
}

impl std::fmt::Debug for CardFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardFont({}:{})", self.path.display(), self.index)
    }
}

impl CardFont {
    /// Face `index` of the font file at `path` (.ttf, .otf or a .ttc collection).
    pub fn load(path: &Path, index: u32) -> Result<CardFont, CardError> {
        let font_error = |message: String| CardError::Font {
            path: path.display().to_string(),
            message,
        };
        let data = std::fs::read(path).map_err(|e| font_error(e.to_string()))?;
        let font = FontVec::try_from_vec_and_index(data, index)
            .map_err(|e| font_error(format!("face {index}: {e}")))?;
        Ok(CardFont {
            font,
            path: path.to_path_buf(),
            index,
        })
    }

    /// The configured font, or else the system's Noto Sans CJK SC (`fc-match`), or else the
    /// fonts-noto-cjk file at its Debian path.
    pub fn find(configured: &Path, index: u32) -> Result<CardFont, CardError> {
        if !configured.as_os_str().is_empty() {
            return CardFont::load(configured, index);
        }
        if let Some((path, index)) = crate::render::text::fc_match("Noto Sans CJK SC") {
            if let Ok(font) = CardFont::load(&path, index) {
                if font.has_glyph('你') {
                    return Ok(font);
                }
            }
        }
        CardFont::load(Path::new(NOTO_CJK), NOTO_CJK_SC_INDEX).map_err(|e| match e {
            CardError::Font { path, message } => CardError::Font {
                path,
                message: format!("{message} (install fonts-noto-cjk, or set cards.font)"),
            },
            other => other,
        })
    }

    /// Whether the face has a glyph for `c` (not the missing-glyph box).
    pub fn has_glyph(&self, c: char) -> bool {
        self.font.glyph_id(c) != GlyphId(0)
    }

    /// Width in pixels of `text` at `px` pixels per em.
    pub fn width(&self, text: &str, px: f32) -> f32 {
        let f = self.font.as_scaled(PxScale::from(px));
        let mut w = 0.0;
        let mut prev: Option<GlyphId> = None;
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                w += f.kern(p, id);
            }
            w += f.h_advance(id);
            prev = Some(id);
        }
        w
    }

    /// Draws one line of `text` with its left end at `x` and its baseline at `baseline`.
    pub fn draw(
        &self,
        img: &mut RgbImage,
        text: &str,
        px: f32,
        x: f32,
        baseline: f32,
        rgb: [u8; 3],
    ) {
        let f = self.font.as_scaled(PxScale::from(px));
        let (w, h) = img.dimensions();
        let mut pen = x;
        let mut prev: Option<GlyphId> = None;
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                pen += f.kern(p, id);
            }
            let glyph =
                id.with_scale_and_position(PxScale::from(px), ab_glyph::point(pen, baseline));
            pen += f.h_advance(id);
            prev = Some(id);
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let px_x = bounds.min.x as i64 + gx as i64;
                let px_y = bounds.min.y as i64 + gy as i64;
                if px_x < 0 || px_y < 0 || px_x >= w as i64 || px_y >= h as i64 {
                    return;
                }
                let a = coverage.clamp(0.0, 1.0);
                let p = img.get_pixel_mut(px_x as u32, px_y as u32);
                for (c, &ink) in p.0.iter_mut().zip(rgb.iter()) {
                    *c = (*c as f32 * (1.0 - a) + ink as f32 * a).round() as u8;
                }
            });
        }
    }

    /// Ascent and descent (negative) in pixels at `px` pixels per em.
    pub fn metrics(&self, px: f32) -> (f32, f32) {
        let f = self.font.as_scaled(PxScale::from(px));
        (f.ascent(), f.descent())
    }
}

/// Whether `c` is written without spaces between words (CJK ideographs, kana, Hangul, and
/// full-width forms): such text may break before any character.
pub fn breaks_anywhere(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FFF      // CJK radicals, Kangxi
        | 0x3000..=0x303F    // CJK symbols and punctuation
        | 0x3040..=0x30FF    // kana
        | 0x3100..=0x31FF    // bopomofo, kana extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0xFF00..=0xFFEF    // full-width forms
        | 0x20000..=0x3FFFF) // extensions B and later
}

/// Punctuation that must not start a line (it stays with the character before it).
fn closes(c: char) -> bool {
    "，。、；：！？）」』》〉】〕…·,.;:!?)]}%".contains(c)
}

/// The units a line may break between: a CJK character (with any closing punctuation after
/// it), or a Latin word with the spaces after it.
fn units(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if closes(c) && word.is_empty() {
            match out.last_mut() {
                Some(last) => last.push(c),
                None => out.push(c.to_string()),
            }
        } else if breaks_anywhere(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_whitespace() {
            word.push(' ');
            out.push(std::mem::take(&mut word));
        } else {
            if word.ends_with(' ') {
                out.push(std::mem::take(&mut word));
            }
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out.retain(|u| !u.is_empty());
    out
}

/// `text` wrapped into lines no wider than `max_px` at `px` pixels per em. A Latin word wider
/// than a line is broken between characters.
pub fn wrap(font: &CardFont, text: &str, px: f32, max_px: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for unit in units(paragraph.trim()) {
            let candidate = format!("{line}{unit}");
            if line.is_empty() || font.width(candidate.trim_end(), px) <= max_px {
                line = candidate;
            } else {
                lines.push(line.trim_end().to_string());
                line = unit;
            }
            // One unit alone too wide: cut it by characters.
            while font.width(line.trim_end(), px) > max_px && line.chars().count() > 1 {
                let mut head = String::new();
                for c in line.chars() {
                    if !head.is_empty() && font.width(&format!("{head}{c}"), px) > max_px {
                        break;
                    }
                    head.push(c);
                }
                let rest = line[head.len()..].to_string();
                lines.push(head);
                line = rest;
            }
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_string());
        }
    }
    lines
}
