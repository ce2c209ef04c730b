//! The first pass: every item in order into the program's video log and audio file, each item
//! exactly its frames long. A source that fails is replaced by a slate for its remaining
//! frames and reported.

use std::path::{Path, PathBuf};

use super::audio::ProgramAudio;
use super::graphics::ItemGraphics;
use super::play::{play, PlayJob};
use super::segment::{render_slate, HouseEncoder};
use super::text::Font;
use super::vlog::{VideoLogWriter, VideoPacket};
use super::{avc, ms_to_frames, CaptionMode, ItemReport, PlanItem, Progress, RenderError};
use super::{RenderPlan, Replacement, Source, Stretch};
use crate::ai::captions::Cue;
use crate::config::{HouseFormat, IngestLimits};

/// A chapter: one per item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chapter {
    pub start_frame: u64,
    pub frames: u64,
    pub title: String,
}

/// What the first pass produced.
pub(crate) struct Assembled {
    pub video_path: PathBuf,
    /// avcC of the master's video stream.
    pub extradata: Vec<u8>,
    pub audio_path: PathBuf,
    pub frames: u64,
    pub audio_samples: u64,
    pub items: Vec<ItemReport>,
    /// Captions in program time.
    pub cues: Vec<Cue>,
    pub chapters: Vec<Chapter>,
}

/// The program being written, shared by the item players.
pub(crate) struct Program<'a> {
    pub house: HouseFormat,
    pub limits: IngestLimits,
    /// SPS and PPS of the house encoder: a source with exactly these may be copied.
    pub parameter_sets: Vec<Vec<u8>>,
    video: VideoLogWriter,
    pub audio: ProgramAudio,
    /// Video frames written so far (one packet each).
    pub frame: u64,
    total: u64,
    progress: &'a dyn Fn(Progress),
}

impl Program<'_> {
    /// Appends one video packet (one frame) in decode order.
    pub(crate) fn write(&mut self, packet: VideoPacket) -> Result<(), RenderError> {
        self.video.write(packet)?;
        self.frame += 1;
        if self.frame % 50 == 0 {
            (self.progress)(Progress {
                frames_done: self.frame,
                frames_total: self.total,
            });
        }
        Ok(())
    }
}

pub(crate) fn assemble(
    plan: &RenderPlan,
    font: &Font,
    work: &Path,
    progress: &dyn Fn(Progress),
) -> Result<Assembled, RenderError> {
    let house = &plan.house;
    let reference = HouseEncoder::open(house)?;
    let sets = avc::parameter_sets(&reference.extradata())
        .ok_or_else(|| anyhow::anyhow!("the house encoder gave no SPS/PPS"))?;
    let extradata =
        avc::avcc_extradata(&sets).ok_or_else(|| anyhow::anyhow!("the house SPS is too short"))?;
    // SAFETY: the opened encoder's context; has_b_frames is its reorder delay.
    let delay = unsafe { (*reference.encoder().as_ptr()).has_b_frames };
    let video_path = work.join("video.log");
    let audio_path = work.join("audio.f32");
    let total = plan.items.iter().map(|i| i.frames(house)).sum();
    let mut program = Program {
        house: house.clone(),
        limits: plan.limits.clone(),
        parameter_sets: sets,
        video: VideoLogWriter::create(&video_path, i64::from(delay))?,
        audio: ProgramAudio::create(&audio_path)?,
        frame: 0,
        total,
        progress,
    };
    let mut items = Vec::new();
    let mut cues = Vec::new();
    let mut chapters = Vec::new();
    for (i, item) in plan.items.iter().enumerate() {
        let start = program.frame;
        let report = play_item(
            &mut program,
            plan,
            item,
            font,
            &work.join(format!("item-{i}")),
        )?;
        cues.extend(program_cues(plan, item, &report));
        chapters.push(Chapter {
            start_frame: start,
            frames: report.frames,
            title: item.title.clone(),
        });
        items.push(report);
        progress(Progress {
            frames_done: program.frame,
            frames_total: total,
        });
    }
    if program.video.order_errors > 0 {
        tracing::warn!(
            packets = program.video.order_errors,
            "a copied source had another reorder delay than the house encoder"
        );
    }
    let Program {
        video,
        audio,
        frame,
        ..
    } = program;
    video.finish()?;
    let audio_samples = audio.finish()?;
    Ok(Assembled {
        video_path,
        extradata,
        audio_path,
        frames: frame,
        audio_samples,
        items,
        cues,
        chapters,
    })
}

/// Plays one item, replacing what could not be played by a slate.
fn play_item(
    program: &mut Program,
    plan: &RenderPlan,
    item: &PlanItem,
    font: &Font,
    scratch: &Path,
) -> Result<ItemReport, RenderError> {
    let house = &plan.house;
    let n = item.frames(house);
    let start = program.frame;
    let audio_start = program.audio.written();
    let spf = u64::from(house.samples_per_frame());
    let fade_frames = ms_to_frames(i64::from(plan.config.transition_ms), house);
    let lower_frames = u64::from(plan.config.lower_third_s) * u64::from(house.fps);
    let mut graphics = ItemGraphics {
        frames: n,
        fps: house.fps,
        fade_frames,
        lower_third: None,
        burn: None,
    };
    let mut stretches = Vec::new();
    let played = match &item.source {
        Source::Act {
            path,
            in_ms,
            lower_third,
            cues,
            ..
        } => {
            let in_frame = ms_to_frames(*in_ms, house);
            graphics.lower_third = lower_third.as_ref().map(|l| (l, lower_frames));
            if plan.captions == CaptionMode::Burn {
                graphics.burn = Some((cues.as_slice(), in_frame));
            }
            let job = PlayJob {
                path,
                in_frame,
                frames: n,
                graphics: &graphics,
                font,
            };
            play(program, &job, &mut stretches)
        }
        Source::Segment(segment) => {
            let job = PlayJob {
                path: &segment.path,
                in_frame: 0,
                frames: n,
                graphics: &graphics,
                font,
            };
            play(program, &job, &mut stretches)
        }
        Source::Slate { text, .. } => {
            let path = scratch.with_extension("slate.mkv");
            render_slate(&path, house, font, text, n).and_then(|segment| {
                let job = PlayJob {
                    path: &segment.path,
                    in_frame: 0,
                    frames: n,
                    graphics: &graphics,
                    font,
                };
                play(program, &job, &mut stretches)
            })
        }
    };
    let mut replaced = None;
    if let Err(e) = played {
        let done = program.frame - start;
        tracing::warn!(item = item.id, title = %item.title, done, error = %e, "item replaced by a slate");
        program.audio.resize(audio_start + done * spf)?;
        let rest = n - done;
        let text = format!("{}\n—", item.title);
        let path = scratch.with_extension("replacement.mkv");
        let segment = render_slate(&path, house, font, &text, rest)?;
        let plain = ItemGraphics {
            frames: rest,
            fps: house.fps,
            fade_frames: 0,
            lower_third: None,
            burn: None,
        };
        let job = PlayJob {
            path: &segment.path,
            in_frame: 0,
            frames: rest,
            graphics: &plain,
            font,
        };
        play(program, &job, &mut stretches)
            .map_err(|e| anyhow::anyhow!("the replacement slate could not be played: {e}"))?;
        replaced = Some(Replacement {
            from_frame: done,
            reason: e.to_string(),
        });
    }
    program.audio.resize(audio_start + n * spf)?;
    let frames = program.frame - start;
    if frames != n {
        return Err(
            anyhow::anyhow!("item {} wrote {frames} frames instead of {n}", item.id).into(),
        );
    }
    Ok(report_of(item, start, n, stretches, replaced))
}

fn report_of(
    item: &PlanItem,
    start: u64,
    frames: u64,
    stretches: Vec<Stretch>,
    replaced: Option<Replacement>,
) -> ItemReport {
    let copied = stretches
        .iter()
        .filter(|s| s.copied)
        .map(|s| s.frames)
        .sum();
    ItemReport {
        id: item.id,
        kind: item.kind.clone(),
        title: item.title.clone(),
        creator: item.creator.clone(),
        start_frame: start,
        frames,
        copied_frames: copied,
        encoded_frames: frames - copied,
        stretches,
        replaced,
    }
}

/// An act's cues moved to program time and cut to what aired of it.
fn program_cues(plan: &RenderPlan, item: &PlanItem, report: &ItemReport) -> Vec<Cue> {
    let Source::Act { in_ms, cues, .. } = &item.source else {
        return Vec::new();
    };
    let fps = i64::from(plan.house.fps);
    let start_ms = report.start_frame as i64 * 1000 / fps;
    let aired = report
        .replaced
        .as_ref()
        .map_or(report.frames, |r| r.from_frame);
    let end_ms = start_ms + aired as i64 * 1000 / fps;
    cues.iter()
        .filter_map(|c| {
            let start = (start_ms + c.start_ms - in_ms).max(start_ms);
            let end = (start_ms + c.end_ms - in_ms).min(end_ms);
            (end > start).then(|| Cue {
                start_ms: start,
                end_ms: end,
                text: c.text.clone(),
            })
        })
        .collect()
}
