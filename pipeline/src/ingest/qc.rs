//! Technical QC of one clip: black, silent and frozen stretches, clipping, loudness and
//! loudness range, and resolution/aspect problems of the upload, each finding with
//! timecodes, plus a short readable summary. The report is plain data (serde) that the job
//! step stores as JSON; this module never touches the database.
//!
//! One decode of the analysed file (pictures scaled down to gray, audio as stereo) drives all
//! detectors and a loudness meter; clipping is measured on the source instead when given,
//! because normalization lowers levels and would hide it.

mod detectors;
mod report;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use detectors::{BlackDetector, ClippingDetector, FreezeDetector, SilenceDetector};

use super::decode::{self, AudioRequest, DecodeOptions, Decoded, PixelKind, VideoRequest};
use super::loudness::{Loudness, LoudnessMeter};
use super::{IngestError, Progress};
use crate::config::{HouseFormat, IngestLimits, QcThresholds};

/// The picture size analysed: small enough to be quick, large enough that a logo or a
/// caption on a black picture still makes it "not black".
const ANALYSIS_WIDTH: u32 = 160;
const ANALYSIS_HEIGHT: u32 = 90;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
}

impl Segment {
    pub fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Black,
    Silence,
    Frozen,
    Clipping,
    LoudnessRange,
    Loudness,
    TruePeak,
    Resolution,
    Aspect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QcReport {
    pub duration_s: f64,
    /// From the normalize report; `None` when the source had no audio.
    pub loudness_before: Option<Loudness>,
    /// Measured here on the analysed file.
    pub loudness_after: Loudness,
    pub black: Vec<Segment>,
    pub silence: Vec<Segment>,
    pub frozen: Vec<Segment>,
    /// Runs of clipped samples in the source, merged when close.
    pub clipping: Vec<Segment>,
    /// Samples in those runs, all channels.
    pub clipped_samples: u64,
    /// One per segment or problem, messages with timecodes.
    pub findings: Vec<Finding>,
    /// A few readable lines.
    pub summary: String,
}

impl QcReport {
    /// The most severe finding's severity, `None` when there are no findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// What QC needs besides the analysed file. Source facts are plain numbers so that this
/// module does not depend on the probe.
#[derive(Debug, Clone, Copy)]
pub struct QcInput<'a> {
    /// The file analysed, normally the normalized clip.
    pub analysed: &'a Path,
    /// The uploaded file, for clipping; `None` measures clipping on `analysed`.
    pub source: Option<&'a Path>,
    pub loudness_before: Option<Loudness>,
    pub source_width: Option<u32>,
    pub source_height: Option<u32>,
}

/// Analyses the clip; CPU-heavy and synchronous, so callers run it on a blocking thread.
pub fn analyze(
    input: &QcInput,
    thresholds: &QcThresholds,
    house: &HouseFormat,
    limits: &IngestLimits,
    progress: Progress,
) -> Result<QcReport, IngestError> {
    let info = decode::media_info(input.analysed, limits)?;
    let mut pass = Pass::new(thresholds);
    let opts = DecodeOptions {
        video: Some(VideoRequest {
            width: ANALYSIS_WIDTH,
            height: Some(ANALYSIS_HEIGHT),
            pixels: PixelKind::Gray,
        }),
        audio: Some(AudioRequest::Stereo {
            rate: house.audio_sample_rate,
        }),
        seek_points: Vec::new(),
    };
    let clip_source = input.source.unwrap_or(input.analysed);
    // Progress: the main pass is most of the work; the clipping pass over the source the rest.
    let main_share = if input.source.is_some() { 0.8 } else { 1.0 };
    let mut reporter = Reporter::new(progress, info.duration_s);
    decode::for_each(input.analysed, &opts, limits, |item| {
        reporter.at(item_time(&item), main_share);
        pass.feed(item)
    })?;
    let duration_s = if info.duration_s > 0.0 {
        info.duration_s
    } else {
        pass.end_s
    };
    let (clipping, clipped_samples) = measure_clipping(clip_source, thresholds, limits)?;
    progress(1.0);
    let measured = pass.finish(duration_s);
    let mut report = QcReport {
        duration_s,
        loudness_before: input.loudness_before,
        loudness_after: measured.loudness,
        black: measured.black,
        silence: measured.silence,
        frozen: measured.frozen,
        clipping,
        clipped_samples,
        findings: Vec::new(),
        summary: String::new(),
    };
    report.findings = report::findings(&report, input, thresholds, house);
    report.summary = report::summary(&report);
    Ok(report)
}

/// Timecode text used in findings: `00:01:02.345`.
pub fn timecode(seconds: f64) -> String {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, rest) = (millis / 3_600_000, millis % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    format!("{h:02}:{m:02}:{:02}.{:03}", rest / 1000, rest % 1000)
}

fn item_time(item: &Decoded) -> f64 {
    match item {
        Decoded::Video(p) => p.time_s,
        Decoded::Audio { time_s, .. } => *time_s,
    }
}

/// Calls `progress` at most once per percent.
struct Reporter<'a> {
    progress: Progress<'a>,
    duration_s: f64,
    last: f64,
}

impl<'a> Reporter<'a> {
    fn new(progress: Progress<'a>, duration_s: f64) -> Reporter<'a> {
        Reporter {
            progress,
            duration_s,
            last: 0.0,
        }
    }

    fn at(&mut self, time_s: f64, share: f64) {
        if self.duration_s <= 0.0 {
            return;
        }
        let fraction = (time_s / self.duration_s).clamp(0.0, 1.0) * share;
        if fraction - self.last >= 0.01 {
            self.last = fraction;
            (self.progress)(fraction);
        }
    }
}

/// The detectors and the meter of the main pass.
struct Pass {
    black: BlackDetector,
    freeze: FreezeDetector,
    silence: Option<SilenceDetector>,
    meter: Option<LoudnessMeter>,
    thresholds: QcThresholds,
    /// The latest time seen, for files whose container gives no duration.
    end_s: f64,
}

struct Measured {
    black: Vec<Segment>,
    frozen: Vec<Segment>,
    silence: Vec<Segment>,
    loudness: Loudness,
}

impl Pass {
    fn new(thresholds: &QcThresholds) -> Pass {
        Pass {
            black: BlackDetector::new(thresholds),
            freeze: FreezeDetector::new(thresholds),
            silence: None,
            meter: None,
            thresholds: thresholds.clone(),
            end_s: 0.0,
        }
    }

    fn feed(&mut self, item: Decoded) -> Result<(), IngestError> {
        match item {
            Decoded::Video(picture) => {
                self.end_s = self.end_s.max(picture.time_s);
                // A black stretch is reported as black, not also as frozen.
                if self.black.feed(picture.time_s, &picture.data) {
                    self.freeze.skip(picture.time_s);
                } else {
                    self.freeze.feed(picture.time_s, &picture.data);
                }
            }
            Decoded::Audio {
                time_s,
                channels,
                rate,
                samples,
            } => {
                let frames = samples.len() / usize::from(channels.max(1));
                self.end_s = self
                    .end_s
                    .max(time_s + frames as f64 / f64::from(rate.max(1)));
                if self.meter.is_none() {
                    self.meter = Some(LoudnessMeter::new(u32::from(channels), rate)?);
                }
                if let Some(meter) = self.meter.as_mut() {
                    meter.add_interleaved(&samples)?;
                }
                self.silence
                    .get_or_insert_with(|| SilenceDetector::new(&self.thresholds, rate, channels))
                    .feed(time_s, &samples);
            }
        }
        Ok(())
    }

    fn finish(self, duration_s: f64) -> Measured {
        let silence = self.silence.map(|s| s.finish(duration_s));
        let loudness = self.meter.map(|m| m.finish()).unwrap_or(Loudness {
            integrated_lufs: None,
            range_lu: 0.0,
            true_peak_dbtp: None,
        });
        Measured {
            black: self.black.finish(duration_s),
            frozen: self.freeze.finish(duration_s),
            silence: silence.unwrap_or_default(),
            loudness,
        }
    }
}

/// Clipping of `path`, measured on its own samples (no downmix, no resampling).
fn measure_clipping(
    path: &Path,
    thresholds: &QcThresholds,
    limits: &IngestLimits,
) -> Result<(Vec<Segment>, u64), IngestError> {
    let mut detector = ClippingDetector::new(thresholds);
    let mut end_s: f64 = 0.0;
    let opts = DecodeOptions {
        audio: Some(AudioRequest::Native),
        ..Default::default()
    };
    decode::for_each(path, &opts, limits, |item| {
        if let Decoded::Audio {
            time_s,
            channels,
            rate,
            samples,
        } = item
        {
            detector.feed(time_s, &samples, channels, rate);
            let frames = samples.len() / usize::from(channels.max(1));
            end_s = end_s.max(time_s + frames as f64 / f64::from(rate.max(1)));
        }
        Ok(())
    })?;
    Ok(detector.finish(end_s))
}

#[cfg(test)]
mod tests;
