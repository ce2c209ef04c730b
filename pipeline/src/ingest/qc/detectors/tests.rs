//! Detector tests on synthetic pictures and samples with exact boundaries.

use super::*;

fn thresholds() -> QcThresholds {
    QcThresholds::default()
}

fn seg(start_s: f64, end_s: f64) -> Segment {
    Segment { start_s, end_s }
}

fn assert_segments(actual: &[Segment], expected: &[Segment]) {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(
        actual.len() == expected.len()
            && actual
                .iter()
                .zip(expected)
                .all(|(a, e)| close(a.start_s, e.start_s) && close(a.end_s, e.end_s)),
        "got {actual:?}, expected {expected:?}"
    );
}

/// Pictures at 10 fps: black for times in `black`, a varying pattern otherwise.
fn feed_black(d: &mut BlackDetector, frames: usize, black: impl Fn(f64) -> bool) {
    for i in 0..frames {
        let t = i as f64 / 10.0;
        let luma = if black(t) {
            vec![5u8; 100]
        } else {
            vec![128u8; 100]
        };
        d.feed(t, &luma);
    }
}

#[test]
fn black_segments_have_exact_boundaries() {
    let mut d = BlackDetector::new(&thresholds());
    // Black 0–1.5 s (short at start is still >= 1 s), 3.0–3.5 s (too short), 5.0–end.
    feed_black(&mut d, 70, |t| {
        t < 1.5 || (3.0..3.5).contains(&t) || t >= 5.0
    });
    assert_eq!(d.finish(7.0), vec![seg(0.0, 1.5), seg(5.0, 7.0)]);
}

#[test]
fn a_few_bright_pixels_still_count_as_black() {
    let d = BlackDetector::new(&thresholds());
    let mut luma = vec![0u8; 1000];
    luma[..15].fill(255);
    assert!(d.is_black(&luma));
    luma[..30].fill(255);
    assert!(!d.is_black(&luma));
}

#[test]
fn freeze_starts_at_the_first_still_picture() {
    let mut d = FreezeDetector::new(&thresholds());
    for i in 0..80 {
        let t = i as f64 / 10.0;
        // Moving until 2.0 s, still from 2.0 s to 4.5 s (the picture of 2.0 s repeats),
        // moving again, then still from 6.0 s to the end.
        let k = if (20..45).contains(&i) {
            20
        } else if i >= 60 {
            60
        } else {
            i
        };
        d.feed(t, &[(k * 3 % 256) as u8; 64]);
    }
    assert_eq!(d.finish(8.0), vec![seg(2.0, 4.5), seg(6.0, 8.0)]);
}

#[test]
fn skipped_pictures_break_a_freeze() {
    let mut d = FreezeDetector::new(&thresholds());
    for i in 0..50 {
        let t = i as f64 / 10.0;
        if i == 25 {
            d.skip(t);
        } else {
            d.feed(t, &[7u8; 64]);
        }
    }
    // 0–2.5 s and 2.6–5.0 s, both >= 2 s.
    assert_eq!(d.finish(5.0), vec![seg(0.0, 2.5), seg(2.6, 5.0)]);
}

#[test]
fn silence_is_found_in_10ms_windows() {
    let rate = 1000;
    let mut d = SilenceDetector::new(&thresholds(), rate, 2);
    // 10 s stereo at 1 kHz; silent from 3.0 to 6.0 s, fed in odd-sized chunks.
    let samples: Vec<f32> = (0..10 * rate as usize)
        .flat_map(|i| {
            let v = if (3000..6000).contains(&i) { 0.0 } else { 0.5 };
            [v, -v]
        })
        .collect();
    for (k, chunk) in samples.chunks(2 * 333).enumerate() {
        d.feed(k as f64 * 0.333, chunk);
    }
    assert_segments(&d.finish(10.0), &[seg(3.0, 6.0)]);
}

#[test]
fn quiet_but_audible_sound_is_not_silence() {
    let mut d = SilenceDetector::new(&thresholds(), 1000, 1);
    // -40 dBFS noise-like signal for 5 s.
    let samples: Vec<f32> = (0..5000)
        .map(|i| if i % 2 == 0 { 0.01 } else { -0.01 })
        .collect();
    d.feed(0.0, &samples);
    assert!(d.finish(5.0).is_empty());
}

#[test]
fn clipping_needs_a_run_and_close_events_merge() {
    let mut d = ClippingDetector::new(&thresholds());
    let rate = 1000;
    let mut left = vec![0.2f32; 5 * rate];
    // A run of 2 (too short) at 0.5 s, runs of 4 at 1.0 s and 1.3 s (merged),
    // and a run of 3 at 4.0 s on its own.
    left[500..502].fill(1.0);
    left[1000..1004].fill(-1.0);
    left[1300..1304].fill(1.0);
    left[4000..4003].fill(1.0);
    let stereo: Vec<f32> = left.iter().flat_map(|&v| [v, 0.1]).collect();
    d.feed(0.0, &stereo, 2, rate as u32);
    let (segments, clipped) = d.finish(5.0);
    assert_segments(&segments, &[seg(1.0, 1.304), seg(4.0, 4.003)]);
    assert_eq!(clipped, 11);
}

#[test]
fn clipping_open_at_the_end_ends_at_the_clip_end() {
    let mut d = ClippingDetector::new(&thresholds());
    d.feed(1.0, &[0.0, 1.0, 1.0, 1.0, 1.0], 1, 10);
    let (segments, clipped) = d.finish(1.5);
    assert_segments(&segments, &[seg(1.1, 1.5)]);
    assert_eq!(clipped, 4);
}
