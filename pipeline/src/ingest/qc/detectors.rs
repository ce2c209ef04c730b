//! Streaming QC detectors. Each is fed pictures or samples with their times, in order, and
//! `finish(end_s)` returns the segments it found; they know nothing of files or decoding, so
//! they are tested on synthetic data.

use super::Segment;
use crate::config::QcThresholds;

/// Turns a sequence of flagged instants into segments of at least `min_s`.
#[derive(Debug)]
struct Runs {
    min_s: f64,
    open: Option<f64>,
    segments: Vec<Segment>,
}

impl Runs {
    fn new(min_s: f64) -> Runs {
        Runs {
            min_s,
            open: None,
            segments: Vec::new(),
        }
    }

    /// `flagged` holds from `time` until the next mark.
    fn mark(&mut self, time: f64, flagged: bool) {
        match (flagged, self.open) {
            (true, None) => self.open = Some(time),
            (false, Some(start)) => self.close(start, time),
            _ => {}
        }
    }

    fn close(&mut self, start: f64, end: f64) {
        self.open = None;
        // A hair of slack so that a run of exactly `min_s` counts despite float rounding.
        if end - start >= self.min_s - 1e-6 {
            self.segments.push(Segment {
                start_s: start,
                end_s: end,
            });
        }
    }

    /// A run still open at the end of the clip ends at the clip's end.
    fn finish(mut self, end_s: f64) -> Vec<Segment> {
        if let Some(start) = self.open {
            self.close(start, end_s.max(start));
        }
        self.segments
    }
}

/// Black pictures: nearly all pixels dark.
#[derive(Debug)]
pub struct BlackDetector {
    dark_level: u8,
    pixel_ratio: f64,
    runs: Runs,
}

impl BlackDetector {
    pub fn new(t: &QcThresholds) -> BlackDetector {
        BlackDetector {
            dark_level: (t.black_luma.clamp(0.0, 1.0) * 255.0).round() as u8,
            pixel_ratio: t.black_pixel_ratio,
            runs: Runs::new(t.black_min_s),
        }
    }

    pub fn is_black(&self, luma: &[u8]) -> bool {
        if luma.is_empty() {
            return false;
        }
        let dark = luma.iter().filter(|&&p| p <= self.dark_level).count();
        dark as f64 >= self.pixel_ratio * luma.len() as f64
    }

    /// Feeds one picture (full-range luma); returns whether it is black.
    pub fn feed(&mut self, time_s: f64, luma: &[u8]) -> bool {
        let black = self.is_black(luma);
        self.runs.mark(time_s, black);
        black
    }

    pub fn finish(self, end_s: f64) -> Vec<Segment> {
        self.runs.finish(end_s)
    }
}

/// Frozen pictures: each the same as the one before.
#[derive(Debug)]
pub struct FreezeDetector {
    /// Largest mean absolute luma difference (0–255) of two pictures that are "the same".
    max_diff: f64,
    previous: Option<(f64, Vec<u8>)>,
    runs: Runs,
}

impl FreezeDetector {
    pub fn new(t: &QcThresholds) -> FreezeDetector {
        FreezeDetector {
            max_diff: t.freeze_diff * 255.0,
            previous: None,
            runs: Runs::new(t.freeze_min_s),
        }
    }

    /// Feeds one picture. A frozen stretch starts at the first picture of the still run.
    pub fn feed(&mut self, time_s: f64, luma: &[u8]) {
        if let Some((previous_time, previous)) = &self.previous {
            if same_picture(previous, luma, self.max_diff) {
                self.runs.mark(*previous_time, true);
            } else {
                self.runs.mark(time_s, false);
            }
        }
        match &mut self.previous {
            Some((t, pixels)) if pixels.len() == luma.len() => {
                *t = time_s;
                pixels.copy_from_slice(luma);
            }
            _ => self.previous = Some((time_s, luma.to_vec())),
        }
    }

    /// A picture that must not count as frozen (a black one, already reported as black):
    /// ends any still run and starts afresh.
    pub fn skip(&mut self, time_s: f64) {
        self.runs.mark(time_s, false);
        self.previous = None;
    }

    pub fn finish(self, end_s: f64) -> Vec<Segment> {
        self.runs.finish(end_s)
    }
}

fn same_picture(a: &[u8], b: &[u8], max_diff: f64) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    let total: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    (total as f64 / a.len() as f64) < max_diff
}

/// Silence: the RMS level of every 10 ms window below the threshold.
#[derive(Debug)]
pub struct SilenceDetector {
    rate: u32,
    channels: usize,
    window: usize,
    /// Mean square below which a window is silent.
    quiet_power: f64,
    sum_sq: f64,
    in_window: usize,
    window_start: f64,
    runs: Runs,
}

impl SilenceDetector {
    pub fn new(t: &QcThresholds, rate: u32, channels: u16) -> SilenceDetector {
        SilenceDetector {
            rate: rate.max(1),
            channels: usize::from(channels.max(1)),
            window: (rate as usize / 100).max(1),
            quiet_power: 10f64.powf(t.silence_db / 10.0),
            sum_sq: 0.0,
            in_window: 0,
            window_start: 0.0,
            runs: Runs::new(t.silence_min_s),
        }
    }

    /// Feeds interleaved samples starting at `time_s`.
    pub fn feed(&mut self, time_s: f64, samples: &[f32]) {
        for (i, frame) in samples.chunks_exact(self.channels).enumerate() {
            if self.in_window == 0 {
                self.window_start = time_s + i as f64 / self.rate as f64;
            }
            self.sum_sq += frame
                .iter()
                .map(|&s| f64::from(s) * f64::from(s))
                .sum::<f64>();
            self.in_window += 1;
            if self.in_window == self.window {
                self.end_window();
            }
        }
    }

    fn end_window(&mut self) {
        let power = self.sum_sq / (self.in_window * self.channels) as f64;
        self.runs.mark(self.window_start, power < self.quiet_power);
        self.sum_sq = 0.0;
        self.in_window = 0;
    }

    pub fn finish(mut self, end_s: f64) -> Vec<Segment> {
        if self.in_window > 0 {
            self.end_window();
        }
        self.runs.finish(end_s)
    }
}

/// Clipping events closer than this are one segment: a clipped loud passage hits the clip
/// point on every waveform crest, and one finding per crest would be noise.
const CLIP_MERGE_GAP_S: f64 = 0.5;

/// Clipping: runs of consecutive samples at the clip point on any channel.
#[derive(Debug)]
pub struct ClippingDetector {
    level: f32,
    min_run: u32,
    /// Per channel: length and start time of the current run at the clip point.
    runs: Vec<(u32, f64)>,
    segments: Vec<Segment>,
    clipped_samples: u64,
}

impl ClippingDetector {
    pub fn new(t: &QcThresholds) -> ClippingDetector {
        ClippingDetector {
            level: t.clip_level as f32,
            min_run: t.clip_min_run.max(1),
            runs: Vec::new(),
            segments: Vec::new(),
            clipped_samples: 0,
        }
    }

    /// Feeds interleaved samples of `channels` channels at `rate`, starting at `time_s`.
    pub fn feed(&mut self, time_s: f64, samples: &[f32], channels: u16, rate: u32) {
        let channels = usize::from(channels.max(1));
        let rate = f64::from(rate.max(1));
        if self.runs.len() != channels {
            self.runs = vec![(0, 0.0); channels];
        }
        for (i, frame) in samples.chunks_exact(channels).enumerate() {
            let t = time_s + i as f64 / rate;
            for (c, &s) in frame.iter().enumerate() {
                if s.abs() >= self.level {
                    let run = &mut self.runs[c];
                    if run.0 == 0 {
                        run.1 = t;
                    }
                    run.0 += 1;
                } else {
                    self.end_run(c, t);
                }
            }
        }
    }

    fn end_run(&mut self, channel: usize, end_s: f64) {
        let (len, start) = self.runs[channel];
        self.runs[channel].0 = 0;
        if len < self.min_run {
            return;
        }
        self.clipped_samples += u64::from(len);
        match self.segments.last_mut() {
            Some(last) if start - last.end_s <= CLIP_MERGE_GAP_S => {
                last.start_s = last.start_s.min(start);
                last.end_s = last.end_s.max(end_s);
            }
            _ => self.segments.push(Segment {
                start_s: start,
                end_s,
            }),
        }
    }

    /// The merged segments and the number of samples in qualifying runs.
    pub fn finish(mut self, end_s: f64) -> (Vec<Segment>, u64) {
        for c in 0..self.runs.len() {
            self.end_run(c, end_s);
        }
        (self.segments, self.clipped_samples)
    }
}

#[cfg(test)]
mod tests;
