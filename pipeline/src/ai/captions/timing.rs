//! Tightening cue times to the sound. Whisper's first timestamp in a window may not be later
//! than 1 s into it, so a sentence that starts 5 s into a window gets a cue from the window's
//! start, and its end often runs on into the pause after it. Each cue is trimmed to the 20-ms
//! frames within it that are no more than [`RANGE_DB`] below its loudest frame: starts only move
//! later and ends only earlier, never past each other.

use super::Cue;

/// Samples per 20-ms frame at 16 kHz.
const FRAME: usize = 320;
/// Frames this far below the cue's loudest frame count as the pause around the words.
const RANGE_DB: f32 = 35.0;
/// Kept after the last loud frame (the tail of the last word).
const TAIL_MS: i64 = 200;

/// Trims every cue to the sound inside it (see the module documentation).
pub fn tighten(cues: &mut [Cue], samples: &[f32], rate: u32) {
    let db: Vec<f32> = samples
        .chunks(FRAME)
        .map(|c| {
            let power = c.iter().map(|s| s * s).sum::<f32>() / c.len().max(1) as f32;
            10.0 * power.max(1e-12).log10()
        })
        .collect();
    let frame_ms = FRAME as f64 * 1000.0 / rate as f64;
    for cue in cues {
        let first = (cue.start_ms as f64 / frame_ms).floor() as usize;
        let last = ((cue.end_ms as f64 / frame_ms).ceil() as usize).min(db.len());
        if first >= last {
            continue;
        }
        let span = &db[first..last];
        let loudest = span.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let floor = loudest - RANGE_DB;
        let (Some(a), Some(b)) = (
            span.iter().position(|&d| d >= floor),
            span.iter().rposition(|&d| d >= floor),
        ) else {
            continue;
        };
        let start = (((first + a) as f64) * frame_ms).round() as i64;
        let end = (((first + b + 1) as f64) * frame_ms).round() as i64 + TAIL_MS;
        cue.start_ms = start.max(cue.start_ms);
        cue.end_ms = end.min(cue.end_ms).max(cue.start_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues_shrink_to_the_sound_inside_them() {
        // Silence, a tone from 2.0 s to 3.5 s, silence; the cue spans 0..6 s.
        let rate = 16_000;
        let samples: Vec<f32> = (0..6 * rate)
            .map(|i| {
                let t = i as f32 / rate as f32;
                if (2.0..3.5).contains(&t) {
                    0.3 * (t * 2000.0).sin()
                } else {
                    0.0
                }
            })
            .collect();
        let mut cues = vec![
            Cue {
                start_ms: 0,
                end_ms: 6000,
                text: "a".into(),
            },
            Cue {
                start_ms: 4000,
                end_ms: 5000,
                text: "silence".into(),
            },
            Cue {
                start_ms: 2500,
                end_ms: 3000,
                text: "inside".into(),
            },
        ];
        tighten(&mut cues, &samples, rate as u32);
        assert_eq!((cues[0].start_ms, cues[0].end_ms), (2000, 3700));
        // All-silent and all-loud spans keep their times.
        assert_eq!((cues[1].start_ms, cues[1].end_ms), (4000, 5000));
        assert_eq!((cues[2].start_ms, cues[2].end_ms), (2500, 3000));
    }
}
