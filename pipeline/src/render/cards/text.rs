//! Text on cards: lines of the shared font ([`crate::render::text::Font`], wrapped by
//! [`crate::render::wrap`]) drawn into an RGB frame.

use image::RgbImage;

use crate::render::text::Font;

/// Draws one line of `text` with its left end at `x` and its baseline at `baseline`.
pub fn draw(
    font: &Font,
    img: &mut RgbImage,
    text: &str,
    px: f32,
    (x, baseline): (f32, f32),
    rgb: [u8; 3],
) {
    let (w, h) = img.dimensions();
    font.rasterize(text, px, (x, baseline), |px_x, px_y, coverage| {
        if px_x < 0 || px_y < 0 || px_x >= i64::from(w) || px_y >= i64::from(h) {
            return;
        }
        let a = coverage.clamp(0.0, 1.0);
        let p = img.get_pixel_mut(px_x as u32, px_y as u32);
        for (c, &ink) in p.0.iter_mut().zip(rgb.iter()) {
            *c = (f32::from(*c) * (1.0 - a) + f32::from(ink) * a).round() as u8;
        }
    });
}
