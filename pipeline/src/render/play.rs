//! Plays one source file (a normalized clip or a segment) into the program: its middle GOPs
//! stream-copied packet by packet, its head and tail decoded, drawn on and re-encoded, its
//! audio appended. Runs under a decode [`Budget`]; any failure is returned to the caller,
//! which replaces the rest of the item with a slate.

use std::path::Path;

use ffmpeg_next::{format, frame, media, Packet, Rational};

use super::assemble::Program;
use super::audio::ItemAudio;
use super::avc;
use super::graphics::ItemGraphics;
use super::segment::HouseEncoder;
use super::text::Font;
use super::vlog::VideoPacket;
use super::{RenderError, Stretch};
use crate::ingest::normalize::decode::open_video_decoder;
use crate::ingest::{next_packet, Budget};

/// Packets the demuxer may refuse before the source counts as damaged.
const MAX_BAD_PACKETS: u32 = 50;

/// What to play: source frames `[in_frame, in_frame + frames)` of `path`.
pub(crate) struct PlayJob<'a> {
    pub path: &'a Path,
    pub in_frame: u64,
    pub frames: u64,
    pub graphics: &'a ItemGraphics<'a>,
    pub font: &'a Font,
}

/// An encoded stretch in progress: its decoder, its encoder and where it is.
struct EncodeRun {
    decoder: ffmpeg_next::decoder::Video,
    encoder: HouseEncoder,
    /// Source frames [start, end) this run covers.
    start: u64,
    end: u64,
    /// The next source frame the encoder needs.
    next: u64,
    last: Option<frame::Video>,
}

/// Frame arithmetic of one source stream.
struct Clock {
    time_base: f64,
    origin: i64,
    fps: f64,
}

impl Clock {
    fn frame(&self, ts: Option<i64>) -> Option<u64> {
        let f = ((ts? - self.origin) as f64 * self.time_base * self.fps).round();
        (f >= 0.0).then_some(f as u64)
    }
}

/// Plays `job` into `program`; the stretches it wrote are added to `stretches`.
pub(crate) fn play(
    program: &mut Program,
    job: &PlayJob,
    stretches: &mut Vec<Stretch>,
) -> Result<(), RenderError> {
    let house = program.house.clone();
    let seconds = job.frames as f64 / f64::from(house.fps);
    let budget = Budget::for_media(&program.limits, seconds);
    let fail = |what: String| RenderError::Internal(anyhow::anyhow!(what));
    if !job.path.is_file() {
        return Err(fail(format!("{} is missing", job.path.display())));
    }
    let mut input = format::input_with_interrupt(job.path, move || budget.expired())
        .map_err(|e| fail(format!("cannot open the file ({e})")))?;
    let vs = input
        .streams()
        .best(media::Type::Video)
        .ok_or_else(|| fail("the file has no video".into()))?;
    let video_index = vs.index();
    let params = vs.parameters();
    // SAFETY: codec parameters of a stream of `input`, valid while it lives.
    let (width, height) = unsafe { ((*params.as_ptr()).width, (*params.as_ptr()).height) };
    if (width as u32, height as u32) != (house.width, house.height) {
        return Err(fail(format!(
            "the picture is {width}x{height}, not the house size"
        )));
    }
    let extradata = avc::extradata(&params);
    let copyable = params.id() == ffmpeg_next::codec::Id::H264
        && avc::avcc_length_size(&extradata) == Some(4)
        && avc::parameter_sets(&extradata).as_deref() == Some(&program.parameter_sets[..]);
    let clock = Clock {
        time_base: rational(vs.time_base()),
        origin: match vs.start_time() {
            t if t == ffmpeg_next::ffi::AV_NOPTS_VALUE => 0,
            t => t,
        },
        fps: f64::from(house.fps),
    };
    let spf = u64::from(house.samples_per_frame());
    let fade_samples = job.graphics.fade_frames * spf;
    let mut audio = match input.streams().best(media::Type::Audio) {
        Some(a) => ItemAudio::new(
            &input,
            a.index(),
            &house,
            (job.in_frame * spf, job.frames * spf, fade_samples),
        )
        .ok(),
        None => None,
    };
    let plan = copy_range(job, copyable, u64::from(house.gop_frames()));
    let mut state = PlayState {
        job,
        gop: u64::from(house.gop_frames()),
        copy: plan,
        run: None,
        item_start: program.frame,
        copied: 0,
    };
    let pumped = pump(
        program,
        &mut state,
        &mut input,
        (video_index, &clock, budget),
        &mut audio,
        stretches,
    );
    // Even after a failure what was encoded is flushed, so the program holds whole frames.
    let closed = state.close_run(program, &clock, stretches, true);
    pumped?;
    closed?;
    if let Some(a) = audio.as_mut() {
        a.finish(&mut program.audio)?;
    }
    let done = program.frame - state.item_start;
    if done < job.frames {
        return Err(fail(format!(
            "the picture ended after {done} of {} frames",
            job.frames
        )));
    }
    Ok(())
}

/// Reads the source to the end of the item, copying, decoding and feeding audio.
fn pump(
    program: &mut Program,
    state: &mut PlayState,
    input: &mut format::context::Input,
    (video_index, clock, budget): (usize, &Clock, Budget),
    audio: &mut Option<ItemAudio>,
    stretches: &mut Vec<Stretch>,
) -> Result<(), RenderError> {
    let fail = |what: String| RenderError::Internal(anyhow::anyhow!(what));
    let job = state.job;
    let mut bad = 0;
    let mut video_past_end = false;
    loop {
        budget.check().map_err(|e| fail(e.to_string()))?;
        let packet = match next_packet(input) {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(ffmpeg_next::Error::InvalidData) => {
                bad += 1;
                if bad > MAX_BAD_PACKETS {
                    return Err(fail("too many damaged packets".into()));
                }
                continue;
            }
            Err(e) => {
                budget.check().map_err(|b| fail(b.to_string()))?;
                return Err(fail(format!("reading stopped ({e})")));
            }
        };
        if packet.stream() == video_index {
            let Some(f) = clock.frame(packet.pts()) else {
                continue;
            };
            video_past_end |= (f / state.gop) * state.gop >= job.in_frame + job.frames;
            state.video_packet(program, input, video_index, clock, packet, f, stretches)?;
        } else if let Some(a) = audio.as_mut().filter(|a| a.index == packet.stream()) {
            a.feed(&packet, &mut program.audio)?;
        }
        if video_past_end && audio.as_ref().is_none_or(ItemAudio::done) {
            break;
        }
    }
    Ok(())
}

/// Source frames to stream-copy: whole GOPs after the head graphics and before the tail's.
fn copy_range(job: &PlayJob, copyable: bool, gop: u64) -> (u64, u64) {
    let end = job.in_frame + job.frames;
    if !copyable || job.graphics.encode_all() || gop == 0 {
        return (end, end);
    }
    let start = (job.in_frame + job.graphics.head_frames()).div_ceil(gop) * gop;
    let stop = (end - job.graphics.tail_frames()) / gop * gop;
    if start < stop {
        (start, stop)
    } else {
        (end, end)
    }
}

struct PlayState<'a> {
    job: &'a PlayJob<'a>,
    gop: u64,
    /// Source frames copied: [start, end).
    copy: (u64, u64),
    run: Option<EncodeRun>,
    item_start: u64,
    copied: u64,
}

impl PlayState<'_> {
    #[allow(clippy::too_many_arguments)]
    fn video_packet(
        &mut self,
        program: &mut Program,
        input: &format::context::Input,
        index: usize,
        clock: &Clock,
        packet: Packet,
        f: u64,
        stretches: &mut Vec<Stretch>,
    ) -> Result<(), RenderError> {
        let (in_f, end) = (self.job.in_frame, self.job.in_frame + self.job.frames);
        if f >= self.copy.0 && f < self.copy.1 {
            self.close_run(program, clock, stretches, false)?;
            let data = packet.data().unwrap_or_default();
            if !avc::avcc_well_formed(data) {
                return Err(RenderError::Internal(anyhow::anyhow!(
                    "damaged picture data at frame {f}"
                )));
            }
            let pts = self.item_start + (f - in_f);
            if self.copied == 0 {
                stretches.push(Stretch {
                    start_frame: pts,
                    frames: 0,
                    copied: true,
                });
            }
            self.copied += 1;
            if let Some(s) = stretches.last_mut() {
                s.frames += 1;
            }
            return program.write(VideoPacket {
                pts: pts as i64,
                dts: 0,
                key: packet.is_key(),
                data: data.to_vec(),
            });
        }
        let gop_start = f / self.gop * self.gop;
        let gop_end = gop_start + self.gop;
        if gop_end <= in_f || gop_start >= end {
            return Ok(());
        }
        if self.run.is_none() {
            let start = if gop_start < self.copy.0 {
                in_f
            } else {
                self.copy.1.max(in_f)
            };
            let stop = if start < self.copy.0 {
                self.copy.0
            } else {
                end
            };
            self.run = Some(EncodeRun {
                decoder: open_video_decoder(input, index, program.limits.max_dimension)?,
                encoder: HouseEncoder::open(&program.house)?,
                start,
                end: stop,
                next: start,
                last: None,
            });
        }
        if let Some(run) = self.run.as_mut() {
            // A packet the decoder refuses is damage it conceals; missing pictures are held.
            let _ = run.decoder.send_packet(&packet);
        }
        self.drain(program, clock)
    }

    /// Receives decoded pictures and encodes those the run covers.
    fn drain(&mut self, program: &mut Program, clock: &Clock) -> Result<(), RenderError> {
        let Some(run) = self.run.as_mut() else {
            return Ok(());
        };
        let mut decoded = frame::Video::empty();
        while run.decoder.receive_frame(&mut decoded).is_ok() {
            let Some(fi) = clock.frame(decoded.timestamp()) else {
                continue;
            };
            if fi < run.next || fi >= run.end {
                continue;
            }
            if decoded.format() != format::Pixel::YUV420P {
                return Err(RenderError::Plan("the picture is not yuv420p".into()));
            }
            // Pictures lost to damage are filled by holding the one before (or this one).
            while run.next < fi {
                let mut held = run.last.clone().unwrap_or_else(|| decoded.clone());
                encode(program, run, &mut held, self.job, self.item_start)?;
            }
            let mut picture = decoded.clone();
            encode(program, run, &mut picture, self.job, self.item_start)?;
            run.last = Some(decoded.clone());
        }
        Ok(())
    }

    /// Ends the encoded run: drains its decoder, holds the last picture up to the run's end
    /// when the source is whole up to there, and flushes its packets into the program.
    fn close_run(
        &mut self,
        program: &mut Program,
        clock: &Clock,
        stretches: &mut Vec<Stretch>,
        at_end: bool,
    ) -> Result<(), RenderError> {
        if let Some(run) = self.run.as_mut() {
            let _ = run.decoder.send_eof();
        }
        self.drain(program, clock)?;
        let Some(mut run) = self.run.take() else {
            return Ok(());
        };
        if !at_end {
            // The copy begins: the head must end exactly where it does.
            while run.next < run.end {
                let Some(mut held) = run.last.clone() else {
                    break;
                };
                encode(program, &mut run, &mut held, self.job, self.item_start)?;
            }
        }
        let mut packets = Vec::new();
        run.encoder.finish(&mut packets)?;
        let base = self.item_start + (run.start - self.job.in_frame);
        for packet in packets {
            let pts = base as i64 + packet.pts().unwrap_or(0);
            program.write(VideoPacket {
                pts,
                dts: 0,
                key: packet.is_key(),
                data: avc::annexb_to_avcc(packet.data().unwrap_or_default()),
            })?;
        }
        if run.encoder.sent() > 0 {
            stretches.push(Stretch {
                start_frame: base,
                frames: run.encoder.sent(),
                copied: false,
            });
        }
        self.copied = 0;
        Ok(())
    }
}

/// Draws the item's graphics on the next picture of the run and encodes it.
fn encode(
    program: &mut Program,
    run: &mut EncodeRun,
    picture: &mut frame::Video,
    job: &PlayJob,
    item_start: u64,
) -> Result<(), RenderError> {
    let r = run.next - job.in_frame;
    job.graphics.apply(picture, r, job.font);
    let mut packets = Vec::new();
    run.encoder.send(picture, &mut packets)?;
    run.next += 1;
    let base = item_start + (run.start - job.in_frame);
    for packet in packets {
        program.write(VideoPacket {
            pts: base as i64 + packet.pts().unwrap_or(0),
            dts: 0,
            key: packet.is_key(),
            data: avc::annexb_to_avcc(packet.data().unwrap_or_default()),
        })?;
    }
    Ok(())
}

fn rational(r: Rational) -> f64 {
    if r.denominator() == 0 {
        0.0
    } else {
        f64::from(r.numerator()) / f64::from(r.denominator())
    }
}
