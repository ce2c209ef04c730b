//! Drawing a card's picture: the template's background, logo and text blocks with the card's
//! values, into one RGB frame of the house size.

use image::RgbImage;

use super::template::{Align, Field, Template, TextBlock};
use super::CardSpec;
use crate::render::text::Font;

/// The value a text block shows.
fn value(spec: &CardSpec, field: Field) -> &str {
    match field {
        Field::Line => &spec.line,
        Field::Title => &spec.title,
        Field::Label => &spec.label,
        Field::ShowTitle => &spec.show_title,
    }
}

/// The card's picture, `width` x `height`.
pub fn picture(
    template: &Template,
    logo: Option<&image::RgbaImage>,
    font: &Font,
    spec: &CardSpec,
    width: u32,
    height: u32,
) -> RgbImage {
    let mut img = RgbImage::new(width, height);
    for y in 0..height {
        let c = template.background.at(y, height);
        for x in 0..width {
            img.put_pixel(x, y, image::Rgb(c));
        }
    }
    if let (Some(l), Some(src)) = (&template.logo, logo) {
        draw_logo(&mut img, src, l.x, l.y, l.height);
    }
    for block in &template.texts {
        let text = value(spec, block.field).trim();
        if !text.is_empty() {
            draw_block(&mut img, font, block, text);
        }
    }
    img
}

/// Lines of `text` for `block` and the size they fit at: the block's size, or smaller (down to
/// half) when the text needs more than `max_lines`; then cut with an ellipsis.
pub fn layout(
    font: &Font,
    block: &TextBlock,
    text: &str,
    width: u32,
    height: u32,
) -> (Vec<String>, f32) {
    let max_px = block.max_width * width as f32;
    let full = block.size * height as f32;
    let mut px = full;
    let mut lines = font.wrap(text, px, max_px);
    while lines.len() > block.max_lines && px > full * 0.5 {
        px *= 0.9;
        lines = font.wrap(text, px, max_px);
    }
    if lines.len() > block.max_lines {
        lines.truncate(block.max_lines);
        if let Some(last) = lines.last_mut() {
            while !last.is_empty() && font.width(&format!("{last}…"), px) > max_px {
                last.pop();
            }
            last.push('…');
        }
    }
    (lines, px)
}

fn draw_block(img: &mut RgbImage, font: &Font, block: &TextBlock, text: &str) {
    let (w, h) = img.dimensions();
    let (lines, px) = layout(font, block, text, w, h);
    let (ascent, descent) = font.metrics(px);
    let line_height = (ascent - descent) * 1.15;
    let total = line_height * lines.len() as f32;
    let top = block.y * h as f32 - total / 2.0;
    for (i, line) in lines.iter().enumerate() {
        let lw = font.width(line, px);
        let anchor = block.x * w as f32;
        let x = match block.align {
            Align::Left => anchor,
            Align::Center => anchor - lw / 2.0,
            Align::Right => anchor - lw,
        };
        let baseline =
            top + line_height * i as f32 + (line_height - (ascent - descent)) / 2.0 + ascent;
        super::text::draw(font, img, line, px, (x, baseline), block.color.0);
    }
}

fn draw_logo(img: &mut RgbImage, src: &image::RgbaImage, cx: f32, cy: f32, height: f32) {
    let (w, h) = img.dimensions();
    let lh = ((height * h as f32).round() as u32).max(1);
    let lw = ((src.width() as f32 * lh as f32 / src.height().max(1) as f32).round() as u32).max(1);
    let scaled = image::imageops::resize(src, lw, lh, image::imageops::FilterType::Triangle);
    let x0 = (cx * w as f32 - lw as f32 / 2.0).round() as i64;
    let y0 = (cy * h as f32 - lh as f32 / 2.0).round() as i64;
    for (x, y, p) in scaled.enumerate_pixels() {
        let (tx, ty) = (x0 + x as i64, y0 + y as i64);
        if tx < 0 || ty < 0 || tx >= w as i64 || ty >= h as i64 {
            continue;
        }
        let a = p.0[3] as f32 / 255.0;
        let d = img.get_pixel_mut(tx as u32, ty as u32);
        for i in 0..3 {
            d.0[i] = (d.0[i] as f32 * (1.0 - a) + p.0[i] as f32 * a).round() as u8;
        }
    }
}
