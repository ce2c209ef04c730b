//! The program render: turns a resolved running order ([`RenderPlan`]) into one master file
//! (MP4, house format, chapters, captions) and a report of what was copied and what encoded.
//!
//! Passes: (1) video: every item in order, its middle GOPs stream-copied from the normalized
//! clip or segment file and its head and tail (fades, lower third, partial GOPs, burned-in
//! captions) decoded, drawn on and re-encoded with the house x264 settings; program audio is
//! collected beside it, faded, exactly `frames × samples_per_frame` per item ([`assemble`]);
//! (2) loudness of the whole program (EBU R 128) and one correcting gain; (3) the mux: one AAC
//! encode of the whole program audio, the video packets, chapters, a mov_text track
//! ([`mux`]). An item that cannot be read is replaced by a slate for its remaining frames and
//! reported; the render never stops because of one item.
//!
//! - [`segment`]: the segment file format shared with the cards renderer, and the slate.
//! - [`text`]: the CJK-capable font; text and boxes drawn into YUV pictures.
//! - [`wrap`]: line breaking (per word, per CJK character, kinsoku).
//! - [`export`]: rundown CSV / JSON and OpenTimelineIO.
//! - [`show`]: a stored show to a plan; [`job`]: the `render.show` job, split for remote
//!   workers; [`look`]: the configured fonts and templates, carried as objects.

mod assemble;
mod audio;
pub(crate) mod avc;
pub mod cards;
pub mod export;
pub(crate) mod graphics;
pub mod job;
pub mod look;
mod mux;
mod play;
pub mod segment;
pub mod show;
pub mod text;
mod vlog;
pub mod wrap;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use self::segment::{render_slate, Segment, SegmentWriter};
use crate::ai::captions::Cue;
use crate::config::{HouseFormat, IngestLimits, RenderConfig};
use crate::ingest::loudness::Loudness;

/// Why a render could not be made at all (one item failing is not an error: it is replaced
/// by a slate and reported).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the render plan is not valid: {0}")]
    Plan(String),
    #[error("no usable font: {detail}")]
    Font { detail: String },
    #[error("{what}: {source}")]
    Media {
        what: String,
        source: ffmpeg_next::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::ingest::IngestError> for RenderError {
    fn from(e: crate::ingest::IngestError) -> Self {
        RenderError::Internal(anyhow::anyhow!("{e}"))
    }
}

pub(crate) fn media_error(what: &str) -> impl FnOnce(ffmpeg_next::Error) -> RenderError + '_ {
    move |source| RenderError::Media {
        what: what.to_string(),
        source,
    }
}

/// How captions reach the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptionMode {
    /// Drawn into the picture: every frame of a captioned act is encoded.
    Burn,
    /// A mov_text subtitle track in the master and a sidecar .srt.
    Track,
    Off,
}

impl CaptionMode {
    /// `render.captions` of the configuration (`track` when unknown).
    pub fn from_config(value: &str) -> CaptionMode {
        match value {
            "burn" => CaptionMode::Burn,
            "off" => CaptionMode::Off,
            _ => CaptionMode::Track,
        }
    }
}

/// Everything the render needs; no database, only files and values.
#[derive(Debug, Clone)]
pub struct RenderPlan {
    pub house: HouseFormat,
    pub items: Vec<PlanItem>,
    pub captions: CaptionMode,
    /// Lower third length, transition length and the font.
    pub config: RenderConfig,
    /// Limits for decoding the sources (the time budget of each decode).
    pub limits: IngestLimits,
}

/// One item of the program.
#[derive(Debug, Clone)]
pub struct PlanItem {
    /// The show item's id.
    pub id: u64,
    /// `act`, `host_card`, `bumper`, `break` or `slate` (for the rundown).
    pub kind: String,
    /// The chapter title.
    pub title: String,
    /// The creator's name for acts, empty otherwise.
    pub creator: String,
    pub source: Source,
}

/// Where an item's picture and sound come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A normalized clip (house format, closed GOP) played from `in_ms` to `out_ms`.
    Act {
        path: PathBuf,
        in_ms: i64,
        out_ms: i64,
        lower_third: Option<LowerThird>,
        /// Captions in the clip's own time.
        cues: Vec<Cue>,
    },
    /// A pre-rendered segment file (host card, bumper, break), played whole.
    Segment(Segment),
    /// A plain slate rendered by the render itself.
    Slate { text: String, duration_ms: i64 },
}

/// The act's title and credit line, over its first seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerThird {
    pub title: String,
    pub credit: String,
}

impl PlanItem {
    /// How many frames the item airs: round(duration × fps / 1000).
    pub fn frames(&self, house: &HouseFormat) -> u64 {
        match &self.source {
            Source::Act { in_ms, out_ms, .. } => ms_to_frames(out_ms - in_ms, house),
            Source::Segment(segment) => segment.frames,
            Source::Slate { duration_ms, .. } => ms_to_frames(*duration_ms, house),
        }
    }
}

/// round(ms × fps / 1000), never negative.
pub fn ms_to_frames(ms: i64, house: &HouseFormat) -> u64 {
    ((ms.max(0) as f64) * f64::from(house.fps) / 1000.0).round() as u64
}

/// Frames done of the whole program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub frames_done: u64,
    pub frames_total: u64,
}

/// Estimates the time left from progress reports.
#[derive(Debug, Clone, Copy)]
pub struct Eta {
    started: Instant,
}

impl Eta {
    pub fn start() -> Eta {
        Eta {
            started: Instant::now(),
        }
    }

    /// Time left at the rate so far; `None` before the first frame.
    pub fn left(&self, p: Progress) -> Option<Duration> {
        if p.frames_done == 0 {
            return None;
        }
        let per_frame = self.started.elapsed().as_secs_f64() / p.frames_done as f64;
        let left = p.frames_total.saturating_sub(p.frames_done) as f64 * per_frame;
        Some(Duration::from_secs_f64(left))
    }
}

/// A run of frames of one item that was either copied or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stretch {
    /// First frame, in program frames.
    pub start_frame: u64,
    pub frames: u64,
    pub copied: bool,
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemReport {
    pub id: u64,
    pub kind: String,
    pub title: String,
    pub creator: String,
    /// First frame of the item in the program.
    pub start_frame: u64,
    pub frames: u64,
    pub copied_frames: u64,
    pub encoded_frames: u64,
    pub stretches: Vec<Stretch>,
    /// Set when the item's source failed: from which item frame a slate replaced it, and why.
    pub replaced: Option<Replacement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    /// Item frame from which the slate airs (0: the whole item).
    pub from_frame: u64,
    pub reason: String,
}

/// What the render did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderReport {
    pub path: PathBuf,
    pub fps: u32,
    pub frames: u64,
    pub audio_samples: u64,
    pub items: Vec<ItemReport>,
    pub copied_frames: u64,
    pub encoded_frames: u64,
    /// The program's loudness before the correction.
    pub loudness: Loudness,
    /// The one gain applied to the whole program audio, dB (0 when within tolerance).
    pub gain_db: f64,
    /// Chapters written (one per item).
    pub chapters: usize,
    /// Caption cues in the master's subtitle track and in the sidecar.
    pub caption_cues: usize,
    /// The sidecar .srt, when captions are carried as a track.
    pub srt: Option<PathBuf>,
    pub elapsed_s: f64,
}

/// Renders `plan` into `out` (MP4). Blocking; callers on an async runtime use
/// `spawn_blocking`. `progress` is called with the frames done as items advance.
pub fn render(
    plan: &RenderPlan,
    out: &Path,
    progress: &dyn Fn(Progress),
) -> Result<RenderReport, RenderError> {
    let started = Instant::now();
    crate::ingest::init_ffmpeg();
    check_plan(plan)?;
    let font = text::Font::find(&plan.config.font, 0)?;
    let work = tempfile::Builder::new().prefix(".render-").tempdir_in(
        out.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )?;
    let assembled = assemble::assemble(plan, &font, work.path(), progress)?;
    let loudness = audio::measure(&assembled.audio_path, &plan.house)?;
    let gain_db = audio::correction(&loudness, &plan.house);
    let cues = match plan.captions {
        CaptionMode::Track => assembled.cues.clone(),
        _ => Vec::new(),
    };
    let chapters = mux::mux(&mux::MuxJob {
        house: &plan.house,
        video: &assembled.video_path,
        extradata: &assembled.extradata,
        audio: &assembled.audio_path,
        gain_db,
        cues: &cues,
        chapters: &assembled.chapters,
        out,
    })?;
    let srt = if plan.captions == CaptionMode::Track {
        let path = out.with_extension("srt");
        std::fs::write(&path, crate::ai::captions::to_srt(&cues))?;
        Some(path)
    } else {
        None
    };
    let items = assembled.items;
    Ok(RenderReport {
        path: out.to_path_buf(),
        fps: plan.house.fps,
        frames: assembled.frames,
        audio_samples: assembled.audio_samples,
        copied_frames: items.iter().map(|i| i.copied_frames).sum(),
        encoded_frames: items.iter().map(|i| i.encoded_frames).sum(),
        items,
        loudness,
        gain_db,
        chapters,
        caption_cues: cues.len(),
        srt,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

fn check_plan(plan: &RenderPlan) -> Result<(), RenderError> {
    let h = &plan.house;
    if h.fps == 0 || h.audio_sample_rate % h.fps != 0 || h.width % 2 != 0 || h.height % 2 != 0 {
        return Err(RenderError::Plan(
            "house format: even size and a frame rate dividing the sample rate are required".into(),
        ));
    }
    if plan.items.is_empty() {
        return Err(RenderError::Plan("the running order is empty".into()));
    }
    for item in &plan.items {
        if item.frames(h) == 0 {
            return Err(RenderError::Plan(format!(
                "item {} ({}) lasts less than one frame",
                item.id, item.title
            )));
        }
    }
    Ok(())
}
