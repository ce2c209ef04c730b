//! What is drawn on an item's pictures, and so which of its frames must be encoded: fades at
//! both ends, the lower third over an act's first seconds, burned-in captions.

use ffmpeg_next::frame;

use super::text::{self, Font, Rgb};
use super::LowerThird;
use crate::ai::captions::Cue;

/// The graphics of one item, in item frames (0 = its first frame).
pub(crate) struct ItemGraphics<'a> {
    pub frames: u64,
    pub fps: u32,
    pub fade_frames: u64,
    pub lower_third: Option<(&'a LowerThird, u64)>,
    /// Cues to burn in, in the source's time, and the source frame of item frame 0.
    pub burn: Option<(&'a [Cue], u64)>,
}

impl ItemGraphics<'_> {
    /// Item frames from the start that carry graphics (fade-in, lower third).
    pub(crate) fn head_frames(&self) -> u64 {
        let lower = self.lower_third.map_or(0, |(_, n)| n);
        self.fade_frames.max(lower).min(self.frames)
    }

    /// Item frames at the end that carry graphics (fade-out).
    pub(crate) fn tail_frames(&self) -> u64 {
        self.fade_frames.min(self.frames)
    }

    /// Whether every frame must be encoded (captions burned in over the whole item).
    pub(crate) fn encode_all(&self) -> bool {
        self.burn.is_some_and(|(cues, _)| !cues.is_empty())
    }

    /// Draws what item frame `r` carries.
    pub(crate) fn apply(&self, picture: &mut frame::Video, r: u64, font: &Font) {
        if let Some((lower, frames)) = self.lower_third {
            if r < frames {
                let (slide, opacity) = lower_third_motion(r, frames, self.fps);
                draw_lower_third(picture, lower, font, slide, opacity);
            }
        }
        if let Some((cues, first)) = self.burn {
            let ms = ((first + r) * 1000 / u64::from(self.fps)) as i64;
            if let Some(cue) = cues.iter().find(|c| c.start_ms <= ms && ms < c.end_ms) {
                draw_caption(picture, &cue.text, font);
            }
        }
        text::fade(picture, fade_level(r, self.frames, self.fade_frames));
    }
}

/// Picture level at item frame `r` of `n`: rising from black over the first `fade` frames,
/// falling to black over the last.
pub(crate) fn fade_level(r: u64, n: u64, fade: u64) -> f32 {
    if fade == 0 {
        return 1.0;
    }
    let f = fade as f32;
    let rising = (r as f32 + 0.5) / f;
    let falling = (n.saturating_sub(r) as f32 - 0.5) / f;
    rising.min(falling).clamp(0.0, 1.0)
}

/// How far the lower third still has to slide in (1 = all the way off to the left, 0 = in
/// place) and how opaque it is, at item frame `r` of the `frames` it is shown: it slides in
/// over its first 0.4 s (easing out) and fades away over its last 0.4 s.
pub(crate) fn lower_third_motion(r: u64, frames: u64, fps: u32) -> (f32, f32) {
    let motion = (u64::from(fps) * 2 / 5).clamp(1, (frames / 3).max(1)) as f32;
    let t = ((r as f32 + 1.0) / motion).min(1.0);
    let slide = (1.0 - t).powi(3);
    let opacity = ((frames.saturating_sub(r) as f32) / motion).min(1.0);
    (slide, opacity)
}

/// Title and credit line in a dark band at the lower left, `slide` of its width to the left
/// of its place, at `opacity`.
fn draw_lower_third(
    picture: &mut frame::Video,
    lower: &LowerThird,
    font: &Font,
    slide: f32,
    opacity: f32,
) {
    let (w, h) = (picture.width() as f32, picture.height() as f32);
    let title_px = (h / 14.0).max(9.0);
    let credit_px = (h / 22.0).max(7.0);
    let margin = (w * 0.05).round();
    let title_w = font.measure(&lower.title, title_px).0;
    let credit_w = font.measure(&lower.credit, credit_px).0;
    let line_title = font.measure("", title_px).1;
    let line_credit = font.measure("", credit_px).1;
    let box_w = (title_w.max(credit_w) + margin).min(w - margin);
    let box_h = line_title + line_credit + h * 0.02;
    let top = h * 0.80 - box_h;
    let shift = -(box_w + margin) * slide;
    text::fill_rect(
        picture,
        (
            (margin / 2.0 + shift) as i64,
            top as i64,
            box_w as i64,
            box_h as i64,
        ),
        Rgb::BLACK,
        0.6 * opacity,
    );
    let x = margin + shift;
    font.draw_faded(
        picture,
        &lower.title,
        title_px,
        (x, top + h * 0.005),
        Rgb::WHITE,
        opacity,
    );
    font.draw_faded(
        picture,
        &lower.credit,
        credit_px,
        (x, top + line_title + h * 0.01),
        Rgb(220, 220, 200),
        opacity,
    );
}

/// A caption: wrapped, centred near the bottom, on a translucent band.
fn draw_caption(picture: &mut frame::Video, caption: &str, font: &Font) {
    let (w, h) = (picture.width() as f32, picture.height() as f32);
    let px = (h / 18.0).max(8.0);
    let lines = font.wrap(caption, px, w * 0.85);
    let line_h = font.measure("", px).1;
    let block = line_h * lines.len() as f32;
    let center = h * 0.90 - block / 2.0;
    text::fill_rect(
        picture,
        (
            (w * 0.05) as i64,
            (center - block / 2.0 - h * 0.01) as i64,
            (w * 0.9) as i64,
            (block + h * 0.02) as i64,
        ),
        Rgb::BLACK,
        0.5,
    );
    font.draw_centered(picture, &lines, px, center, Rgb::WHITE);
}

#[cfg(test)]
mod tests {
    use super::{fade_level, lower_third_motion};

    #[test]
    fn the_lower_third_slides_in_and_fades_away() {
        // 5 s at 25 fps: 10 frames in, 10 frames out.
        let (slide, opacity) = lower_third_motion(0, 125, 25);
        assert!(slide > 0.7 && opacity == 1.0, "{slide}");
        let mid = lower_third_motion(5, 125, 25).0;
        assert!(mid > 0.0 && mid < slide, "{mid}");
        assert_eq!(lower_third_motion(9, 125, 25), (0.0, 1.0));
        assert_eq!(lower_third_motion(60, 125, 25), (0.0, 1.0));
        let late = lower_third_motion(120, 125, 25).1;
        assert!((late - 0.5).abs() < 1e-6, "{late}");
        assert!(lower_third_motion(124, 125, 25).1 <= 0.1);
        // Shown for a few frames only: still drawn, in place by its last third.
        assert_eq!(lower_third_motion(2, 6, 25).0, 0.0);
    }

    #[test]
    fn fades_rise_and_fall_inside_the_item() {
        assert!(fade_level(0, 100, 8) < 0.1);
        assert_eq!(fade_level(8, 100, 8), 1.0);
        assert_eq!(fade_level(50, 100, 8), 1.0);
        assert!(fade_level(99, 100, 8) < 0.1);
        assert_eq!(fade_level(0, 100, 0), 1.0);
    }
}
