//! The one font of the render, the live playout and the cards: a CJK-capable face (Noto Sans
//! CJK from Debian's fonts-noto-cjk unless configured), so Chinese and Latin text share one
//! face; glyphs laid out and rasterized with ab_glyph, lines broken by [`super::wrap`]. Text
//! and boxes are drawn here straight into YUV 4:2:0 pictures (slates, lower thirds, burned-in
//! captions); the cards draw the same glyphs into RGB (`cards::text`).

use std::path::{Path, PathBuf};
use std::process::Command;

use ab_glyph::{Font as _, FontVec, Glyph, GlyphId, PxScale, ScaleFont};
use ffmpeg_next::{format, frame};

use super::RenderError;

/// Where Debian's fonts-noto-cjk puts the collection; face 2 is Simplified Chinese.
pub(crate) const DEBIAN_NOTO_CJK: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
pub(crate) const DEBIAN_NOTO_CJK_SC: u32 = 2;

/// A loaded font face.
pub struct Font {
    face: FontVec,
    /// The file and face index it came from, for reports.
    pub path: PathBuf,
    pub index: u32,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Font({}:{})", self.path.display(), self.index)
    }
}

/// A colour in 8-bit RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub const WHITE: Rgb = Rgb(255, 255, 255);
    pub const BLACK: Rgb = Rgb(0, 0, 0);

    /// BT.601 limited-range Y, U, V (what x264 is told the house pictures are).
    fn yuv(self) -> (f32, f32, f32) {
        let (r, g, b) = (f32::from(self.0), f32::from(self.1), f32::from(self.2));
        (
            16.0 + 0.257 * r + 0.504 * g + 0.098 * b,
            128.0 - 0.148 * r - 0.291 * g + 0.439 * b,
            128.0 + 0.439 * r - 0.368 * g - 0.071 * b,
        )
    }
}

impl Font {
    /// Face `index` of the font file at `path` (0 for a single font; .ttf, .otf or .ttc).
    pub fn load(path: &Path, index: u32) -> Result<Font, RenderError> {
        let data = std::fs::read(path).map_err(|e| RenderError::Font {
            detail: format!("{}: {e}", path.display()),
        })?;
        let face = FontVec::try_from_vec_and_index(data, index).map_err(|e| RenderError::Font {
            detail: format!("{} face {index}: {e}", path.display()),
        })?;
        Ok(Font {
            face,
            path: path.to_path_buf(),
            index,
        })
    }

    /// The configured font file (face `index`), or else the system's Noto Sans CJK SC
    /// (`fc-match`), or else the fonts-noto-cjk file at its Debian path.
    pub fn find(configured: &Path, index: u32) -> Result<Font, RenderError> {
        if !configured.as_os_str().is_empty() {
            return Font::load(configured, index);
        }
        if let Some((path, index)) = fc_match("Noto Sans CJK SC") {
            if let Ok(font) = Font::load(&path, index) {
                if font.has_glyph('你') {
                    return Ok(font);
                }
            }
        }
        Font::load(Path::new(DEBIAN_NOTO_CJK), DEBIAN_NOTO_CJK_SC).map_err(|e| match e {
            RenderError::Font { detail } => RenderError::Font {
                detail: format!("{detail} (install fonts-noto-cjk, or configure a font)"),
            },
            other => other,
        })
    }

    /// Whether the face has a glyph for `c` (not the missing-glyph box).
    pub fn has_glyph(&self, c: char) -> bool {
        self.face.glyph_id(c) != GlyphId(0)
    }

    /// Width in pixels of `text` on one line at `px` pixels per em.
    pub fn width(&self, text: &str, px: f32) -> f32 {
        let mut width = 0.0;
        self.layout(text, px, (0.0, 0.0), |_, pen_after| width = pen_after);
        width
    }

    /// Width of `text` on one line at `px` pixels, and the line height.
    pub fn measure(&self, text: &str, px: f32) -> (f32, f32) {
        let scaled = self.face.as_scaled(PxScale::from(px));
        (self.width(text, px), scaled.height() + scaled.line_gap())
    }

    /// Ascent and descent (negative) in pixels at `px` pixels per em.
    pub fn metrics(&self, px: f32) -> (f32, f32) {
        let scaled = self.face.as_scaled(PxScale::from(px));
        (scaled.ascent(), scaled.descent())
    }

    /// `text` broken into lines no wider than `max_width` ([`super::wrap::lines`]).
    pub fn wrap(&self, text: &str, px: f32, max_width: f32) -> Vec<String> {
        super::wrap::lines(text, max_width, |t| self.width(t, px))
    }

    /// Each glyph of `text` placed from `(x, baseline)` with kerning, and the pen position
    /// after it.
    fn layout(
        &self,
        text: &str,
        px: f32,
        (x, baseline): (f32, f32),
        mut each: impl FnMut(Glyph, f32),
    ) {
        let scale = PxScale::from(px);
        let scaled = self.face.as_scaled(scale);
        let mut pen = x;
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                pen += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(pen, baseline));
            pen += scaled.h_advance(id);
            previous = Some(id);
            each(glyph, pen - x);
        }
    }

    /// Calls `pixel(x, y, coverage)` for every pixel the glyphs of `text` cover, the line
    /// starting at `x` on `baseline`. Returns the width of the line.
    pub fn rasterize(
        &self,
        text: &str,
        px: f32,
        origin: (f32, f32),
        mut pixel: impl FnMut(i64, i64, f32),
    ) -> f32 {
        let mut width = 0.0;
        self.layout(text, px, origin, |glyph, pen_after| {
            width = pen_after;
            if let Some(outlined) = self.face.outline_glyph(glyph) {
                let bounds = outlined.px_bounds();
                outlined.draw(|gx, gy, coverage| {
                    pixel(
                        bounds.min.x as i64 + i64::from(gx),
                        bounds.min.y as i64 + i64::from(gy),
                        coverage,
                    );
                });
            }
        });
        width
    }

    /// Draws one line of `text` with its top-left corner at (`x`, `y`) into `picture`
    /// (YUV420P), blending by glyph coverage. Returns the width drawn.
    pub fn draw(
        &self,
        picture: &mut frame::Video,
        text: &str,
        px: f32,
        at: (f32, f32),
        color: Rgb,
    ) -> f32 {
        self.draw_faded(picture, text, px, at, color, 1.0)
    }

    /// [`Font::draw`] at `opacity` (0..=1).
    pub fn draw_faded(
        &self,
        picture: &mut frame::Video,
        text: &str,
        px: f32,
        (x, y): (f32, f32),
        color: Rgb,
        opacity: f32,
    ) -> f32 {
        let baseline = y + self.metrics(px).0;
        let mut mask = Mask::new(picture.width(), picture.height());
        let width = self.rasterize(text, px, (x, baseline), |px_x, px_y, coverage| {
            mask.add(px_x, px_y, coverage);
        });
        mask.blend(picture, color, opacity.clamp(0.0, 1.0));
        width
    }

    /// Draws `lines` centred horizontally, the block centred on `center_y`.
    pub fn draw_centered(
        &self,
        picture: &mut frame::Video,
        lines: &[String],
        px: f32,
        center_y: f32,
        color: Rgb,
    ) {
        let line_h = self.measure("", px).1;
        let top = center_y - line_h * lines.len() as f32 / 2.0;
        for (i, line) in lines.iter().enumerate() {
            let w = self.measure(line, px).0;
            let x = (picture.width() as f32 - w) / 2.0;
            self.draw(picture, line, px, (x, top + line_h * i as f32), color);
        }
    }
}

/// Fills a rectangle of `picture` (YUV420P) with `color` at `alpha` (0..=1).
pub fn fill_rect(picture: &mut frame::Video, rect: (i64, i64, i64, i64), color: Rgb, alpha: f32) {
    let (x, y, w, h) = rect;
    let mut mask = Mask::new(picture.width(), picture.height());
    for yy in y..y + h {
        for xx in x..x + w {
            mask.add(xx, yy, 1.0);
        }
    }
    mask.blend(picture, color, alpha);
}

/// A new YUV420P picture of `width`×`height` filled with `color`.
pub fn solid_picture(width: u32, height: u32, color: Rgb) -> frame::Video {
    let mut picture = frame::Video::new(format::Pixel::YUV420P, width, height);
    let (y, u, v) = color.yuv();
    for (plane, value) in [(0, y), (1, u), (2, v)] {
        picture.data_mut(plane).fill(value.round() as u8);
    }
    picture
}

/// Scales every pixel of `picture` towards black by `level` (1 = unchanged, 0 = black): the
/// fades at item edges.
pub fn fade(picture: &mut frame::Video, level: f32) {
    let level = level.clamp(0.0, 1.0);
    if level >= 1.0 {
        return;
    }
    for (plane, neutral) in [(0, 16.0f32), (1, 128.0), (2, 128.0)] {
        for v in picture.data_mut(plane).iter_mut() {
            *v = (neutral + (f32::from(*v) - neutral) * level).round() as u8;
        }
    }
}

/// Coverage (0..=1) over the picture, built up by glyphs and boxes and blended once.
struct Mask {
    width: i64,
    height: i64,
    alpha: Vec<f32>,
    /// Bounding box of what was touched: x0, y0, x1, y1 (exclusive).
    bounds: (i64, i64, i64, i64),
}

impl Mask {
    fn new(width: u32, height: u32) -> Mask {
        let (width, height) = (i64::from(width), i64::from(height));
        Mask {
            width,
            height,
            alpha: vec![0.0; (width * height) as usize],
            bounds: (width, height, 0, 0),
        }
    }

    fn add(&mut self, x: i64, y: i64, coverage: f32) {
        if x < 0 || y < 0 || x >= self.width || y >= self.height {
            return;
        }
        let a = &mut self.alpha[(y * self.width + x) as usize];
        *a = (*a + coverage).min(1.0);
        let b = &mut self.bounds;
        *b = (b.0.min(x), b.1.min(y), b.2.max(x + 1), b.3.max(y + 1));
    }

    fn blend(&self, picture: &mut frame::Video, color: Rgb, opacity: f32) {
        let (x0, y0, x1, y1) = self.bounds;
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let (cy, cu, cv) = color.yuv();
        let stride = picture.stride(0) as i64;
        let luma = picture.data_mut(0);
        for y in y0..y1 {
            for x in x0..x1 {
                let a = self.alpha[(y * self.width + x) as usize] * opacity;
                if a > 0.0 {
                    let p = &mut luma[(y * stride + x) as usize];
                    *p = (f32::from(*p) * (1.0 - a) + cy * a).round() as u8;
                }
            }
        }
        for (plane, value) in [(1, cu), (2, cv)] {
            let stride = picture.stride(plane) as i64;
            let data = picture.data_mut(plane);
            for cy_ in y0 / 2..(y1 + 1) / 2 {
                for cx in x0 / 2..(x1 + 1) / 2 {
                    let a = self.chroma_alpha(cx, cy_) * opacity;
                    if a > 0.0 {
                        let p = &mut data[(cy_ * stride + cx) as usize];
                        *p = (f32::from(*p) * (1.0 - a) + value * a).round() as u8;
                    }
                }
            }
        }
    }

    /// Mean coverage of the 2×2 luma pixels under one chroma sample.
    fn chroma_alpha(&self, cx: i64, cy: i64) -> f32 {
        let mut sum = 0.0;
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let (x, y) = (cx * 2 + dx, cy * 2 + dy);
            if x < self.width && y < self.height {
                sum += self.alpha[(y * self.width + x) as usize];
            }
        }
        sum / 4.0
    }
}

/// `fc-match`'s file and face index for `family`, when fontconfig is installed and finds it.
pub(crate) fn fc_match(family: &str) -> Option<(PathBuf, u32)> {
    let out = Command::new("fc-match")
        .args(["-f", "%{file}\n%{index}", family])
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    let file = PathBuf::from(lines.next()?);
    let index = lines
        .next()
        .and_then(|i| i.trim().parse().ok())
        .unwrap_or(0);
    let name = file.file_name()?.to_string_lossy().to_lowercase();
    name.contains("cjk").then_some((file, index))
}
