//! The playout loop: the running order played as one program, frame by frame, paced to real
//! time against a monotonic clock, encoded once and handed to every destination. Items come
//! from a queue that live control may change for everything not yet on air; an item that
//! fails airs as a slate for the rest of its planned length; the program never stops until
//! the running order ends or it is told to.

mod copy;

use std::collections::{HashSet, VecDeque};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::encoder::{LiveEncoder, LivePacket};
use super::frames::{FileFrames, HouseFrame, Slate, SourceFailure};
use super::output::{Destination, DestinationState, DestinationStats, DestinationStatus};
use super::{Command, LiveConfig};
use crate::config::HouseFormat;
use crate::render::graphics::ItemGraphics;
use crate::render::text::Font;
use crate::render::{ms_to_frames, CaptionMode, PlanItem, RenderError, RenderPlan, Source};

/// Where to start and what to play.
pub struct Playout {
    pub plan: RenderPlan,
    /// Destination addresses (rtmp://… or a file path for an FLV recording).
    pub destinations: Vec<String>,
    pub config: LiveConfig,
    /// Wall-clock time of the first item; a countdown slate airs until then.
    pub start_at: Option<SystemTime>,
    /// Resume inside the first item: skip this many of its milliseconds (standby takeover).
    pub resume_first_at_ms: i64,
    /// The planned start of the first item (Unix ms) when it is not the start of the program:
    /// a standby taking over carries on the original schedule.
    pub planned_first_ms: Option<i64>,
    /// Paced to real time (always on air; off only to measure a long program quickly).
    pub pace: bool,
    /// Items that could not be resolved before air (they are slates in `plan`), and why:
    /// the as-run log records them as replaced.
    pub unresolved: Vec<(u64, String)>,
}

/// Something the as-run log records.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The first frame of the program went to the encoder.
    ProgramStarted { at_ms: i64 },
    ItemStarted {
        item: u64,
        kind: String,
        title: String,
        planned_start_ms: i64,
        planned_ms: i64,
        at_ms: i64,
        note: Option<String>,
    },
    ItemEnded {
        item: u64,
        at_ms: i64,
        aired_ms: i64,
        replaced: Option<Replaced>,
        note: Option<String>,
    },
    DestinationDropped {
        name: String,
        at_ms: i64,
        error: String,
    },
    DestinationBack {
        name: String,
        at_ms: i64,
        outage_ms: i64,
    },
    ProgramEnded {
        at_ms: i64,
        frames: u64,
        samples: i64,
        reason: String,
    },
}

/// What replaced (part of) an item on air.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replaced {
    /// `slate`.
    pub by: String,
    /// From which item millisecond (0: the whole item).
    pub from_ms: i64,
    pub reason: String,
}

impl Replaced {
    fn slate(from_ms: i64, reason: String) -> Replaced {
        Replaced {
            by: "slate".into(),
            from_ms,
            reason,
        }
    }
}

/// What the monitor shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveStatus {
    /// `countdown`, `on_air`, `hold` or `ended`.
    pub phase: String,
    /// `encode`, or `copy` (pictures stream-copied: low CPU), and why not copy.
    pub mode: String,
    pub mode_reason: String,
    pub on_air: Option<OnAir>,
    pub next: Option<Upcoming>,
    /// Seconds until the next item starts (at the current item's planned end).
    pub time_to_next_s: Option<f64>,
    /// Actual minus planned time at this point of the running order: positive is late.
    pub over_under_s: f64,
    pub frames: u64,
    /// Media seconds sent against wall-clock seconds since the first frame: the pacing.
    pub media_s: f64,
    pub wall_s: f64,
    /// Frames that were encoded later than their due time.
    pub late_frames: u64,
    /// Copy mode: pictures and AAC packets stream-copied from the files (the rest of the
    /// program, slates and padding, was encoded).
    pub copied_frames: u64,
    pub copied_audio_packets: u64,
    pub destinations: Vec<DestinationStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnAir {
    pub item: u64,
    pub kind: String,
    pub title: String,
    pub elapsed_s: f64,
    pub length_s: f64,
    /// Set while the item airs as a slate because its source failed.
    pub replaced: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upcoming {
    pub item: u64,
    pub kind: String,
    pub title: String,
    pub length_s: f64,
}

/// Runs the program to its end. Blocking: give it its own thread.
pub fn run(
    playout: Playout,
    commands: Receiver<Command>,
    status: Arc<Mutex<LiveStatus>>,
    events: &mut dyn FnMut(Event),
) -> Result<LiveStatus, RenderError> {
    crate::ingest::init_ffmpeg();
    let house = playout.plan.house.clone();
    let font = Font::find(&playout.plan.config.font, 0)?;
    let encoder = LiveEncoder::open(&house)?;
    let setup = encoder.setup()?;
    let copy = if playout.config.copy {
        copy::copyable(&playout.plan, &setup)
    } else {
        Err("live.copy is off".into())
    };
    match &copy {
        Ok(()) => tracing::info!("every item is in the house format: pictures are stream-copied"),
        Err(why) => tracing::info!(reason = %why, "pictures are encoded"),
    }
    {
        let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
        s.mode = if copy.is_ok() { "copy" } else { "encode" }.into();
        s.mode_reason = copy.as_ref().err().cloned().unwrap_or_default();
    }
    let mut destinations: Vec<Destination> = playout
        .destinations
        .iter()
        .map(|url| Destination::start(url, setup.clone(), &playout.config))
        .collect();
    let stats: Vec<Arc<DestinationStats>> = destinations.iter().map(|d| d.stats()).collect();
    let mut program = Program {
        house: house.clone(),
        font,
        encoder,
        destinations: &mut destinations,
        packets: Vec::new(),
        clock: None,
        late_frames: 0,
        status: status.clone(),
        stats: stats.clone(),
        seen_reconnects: Vec::new(),
        unresolved: playout.unresolved.clone(),
        pace: playout.pace,
        on_air: None,
        aired: HashSet::new(),
        inserted: 0,
        frames_out: 0,
        samples_out: 0,
        last_dts: None,
        delay: setup.delay,
        copy: copy.is_ok(),
        silence: match copy {
            Ok(()) => Some(super::encoder::aac_silence(&house)?),
            Err(_) => None,
        },
        hold_text: playout.config.hold_text.clone(),
        copied: (0, 0),
    };
    let mut queue: VecDeque<PlanItem> = playout.plan.items.clone().into();
    let result = program.play(&playout, &mut queue, &commands, events);
    let frames = program.frames_out;
    let samples = program.samples_out as i64;
    let wall_s = program
        .clock
        .map_or(0.0, |(c, _)| c.elapsed().as_secs_f64());
    let late_frames = program.late_frames;
    let copied = program.copied;
    let _ = program.flush();
    let wait = Duration::from_millis(playout.config.io_timeout_ms + 1000);
    for d in destinations.drain(..) {
        d.finish(wait);
    }
    let reason = match &result {
        Ok(reason) => reason.clone(),
        Err(e) => format!("stopped by an error: {e}"),
    };
    events(Event::ProgramEnded {
        at_ms: crate::now_ms(),
        frames,
        samples,
        reason,
    });
    let mut last = status.lock().unwrap_or_else(|p| p.into_inner());
    last.phase = "ended".into();
    last.on_air = None;
    last.next = None;
    last.time_to_next_s = None;
    last.frames = frames;
    last.media_s = frames as f64 / f64::from(house.fps);
    last.wall_s = wall_s;
    last.late_frames = late_frames;
    last.copied_frames = copied.0;
    last.copied_audio_packets = copied.1;
    last.destinations = stats.iter().map(|d| d.status()).collect();
    result.map(|_| last.clone())
}

/// The program being played.
struct Program<'a> {
    house: HouseFormat,
    font: Font,
    encoder: LiveEncoder,
    destinations: &'a mut Vec<Destination>,
    packets: Vec<LivePacket>,
    /// When frame 0 went out (monotonic), and the same moment on the wall clock (ms).
    clock: Option<(Instant, i64)>,
    late_frames: u64,
    status: Arc<Mutex<LiveStatus>>,
    stats: Vec<Arc<DestinationStats>>,
    seen_reconnects: Vec<(u64, bool)>,
    /// Items that air as slates (unresolved before air), and why.
    unresolved: Vec<(u64, String)>,
    pace: bool,
    /// The item on air, and those that aired.
    on_air: Option<u64>,
    aired: HashSet<u64>,
    /// Items inserted on air so far (their ids follow `INSERTED_ID_BASE`).
    inserted: u64,
    /// Program frames shown so far (the next frame's number), and sound samples sent.
    frames_out: u64,
    samples_out: u64,
    /// Copy path: the last video decode time sent (program frames) and the B-frame delay.
    last_dts: Option<i64>,
    delay: i64,
    /// Pictures and sound stream-copied (see `copy`), with a packet of AAC silence for
    /// padding.
    copy: bool,
    silence: Option<Arc<[u8]>>,
    /// Pictures and AAC packets copied from files so far.
    copied: (u64, u64),
    hold_text: String,
}

/// How the countdown ended.
enum Flow {
    Continue,
    EndProgram,
}

impl Program<'_> {
    /// Plays the queue; returns why the program ended.
    fn play(
        &mut self,
        playout: &Playout,
        queue: &mut VecDeque<PlanItem>,
        commands: &Receiver<Command>,
        events: &mut dyn FnMut(Event),
    ) -> Result<String, RenderError> {
        if let Some(at) = playout.start_at {
            if let Flow::EndProgram = self.countdown(at, queue, commands, events)? {
                return Ok("ended during the countdown".into());
            }
        }
        let started_ms = self.next_frame_ms();
        events(Event::ProgramStarted { at_ms: started_ms });
        // The planned clock: the scheduled start (or now) plus the planned lengths so far.
        let mut planned_ms = match (playout.planned_first_ms, playout.start_at) {
            (Some(ms), _) => ms,
            (None, Some(at)) => system_ms(at),
            (None, None) => started_ms,
        };
        let mut skip_first = playout.resume_first_at_ms.max(0);
        while let Some(item) = queue.pop_front() {
            self.on_air = Some(item.id);
            let planned_len = frames_to_ms(item.frames(&self.house), &self.house);
            let resumed = skip_first;
            skip_first = 0;
            let note =
                (resumed > 0).then(|| format!("resumed at {:.1} s", resumed as f64 / 1000.0));
            events(Event::ItemStarted {
                item: item.id,
                kind: item.kind.clone(),
                title: item.title.clone(),
                planned_start_ms: planned_ms,
                planned_ms: planned_len,
                at_ms: self.next_frame_ms(),
                note,
            });
            let aired = if self.copy {
                let ctx = (&playout.plan, &mut *queue, commands);
                self.play_copy_item(&item, resumed, planned_ms, ctx, events)?
            } else {
                self.play_item(
                    &item,
                    resumed,
                    planned_ms,
                    (playout, queue, commands),
                    events,
                )?
            };
            planned_ms += planned_len;
            events(Event::ItemEnded {
                item: item.id,
                at_ms: self.next_frame_ms(),
                aired_ms: frames_to_ms(aired.frames, &self.house),
                replaced: aired.replaced,
                note: aired.note,
            });
            self.aired.insert(item.id);
            if aired.end_program {
                return Ok("ended by the director".into());
            }
        }
        Ok("the running order ended".into())
    }

    /// A countdown slate until `at`, redrawn every second. Taking the next item starts the
    /// show at once.
    fn countdown(
        &mut self,
        at: SystemTime,
        queue: &mut VecDeque<PlanItem>,
        commands: &Receiver<Command>,
        events: &mut dyn FnMut(Event),
    ) -> Result<Flow, RenderError> {
        let mut shown_secs = u64::MAX;
        let mut slate = Slate::new(&self.house, &self.font, "");
        let mut control = Control::default();
        loop {
            let left = at.duration_since(SystemTime::now()).unwrap_or_default();
            if left.is_zero() {
                return Ok(Flow::Continue);
            }
            let secs = left.as_secs_f64().ceil() as u64;
            if secs != shown_secs {
                shown_secs = secs;
                let text = format!("Starting in {:02}:{:02}", secs / 60, secs % 60);
                slate = Slate::new(&self.house, &self.font, &text);
                let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
                s.phase = "countdown".into();
                s.next = queue.front().map(|i| upcoming(i, &self.house));
                s.time_to_next_s = Some(left.as_secs_f64());
            }
            self.poll(commands, queue, &mut control);
            if control.end {
                return Ok(Flow::EndProgram);
            }
            if control.take_next {
                return Ok(Flow::Continue);
            }
            self.send(&mut slate.frame(), events)?;
        }
    }

    /// Applies every command waiting.
    fn poll(
        &mut self,
        commands: &Receiver<Command>,
        queue: &mut VecDeque<PlanItem>,
        c: &mut Control,
    ) {
        while let Ok(command) = commands.try_recv() {
            tracing::info!(?command, "live control");
            match command {
                Command::TakeNext => c.take_next = true,
                Command::Hold { freeze } => c.hold = Some(freeze),
                Command::Resume => c.hold = None,
                Command::Skip { item } => queue.retain(|i| i.id != item),
                Command::Insert {
                    kind,
                    text,
                    duration_ms,
                } => queue.push_front(PlanItem {
                    id: {
                        self.inserted += 1;
                        super::INSERTED_ID_BASE + self.inserted
                    },
                    kind: kind.clone(),
                    title: text.clone(),
                    creator: String::new(),
                    source: Source::Slate { text, duration_ms },
                }),
                Command::Extend { ms } => c.extend_frames += ms_to_frames(ms, &self.house),
                Command::End => c.end = true,
                Command::Reorder { items, unresolved } => {
                    self.reorder(queue, items);
                    self.unresolved.extend(unresolved);
                }
            }
        }
    }

    /// The queue after an edit of the running order: the new order's items after the one on
    /// air that have not aired, behind the inserted items still waiting.
    fn reorder(&self, queue: &mut VecDeque<PlanItem>, items: Vec<PlanItem>) {
        let after = self
            .on_air
            .and_then(|id| items.iter().position(|i| i.id == id))
            .map_or(0, |p| p + 1);
        let inserted: Vec<PlanItem> = queue
            .iter()
            .take_while(|i| super::is_inserted(i.id))
            .cloned()
            .collect();
        let rest = items
            .into_iter()
            .skip(after)
            .filter(|i| !self.aired.contains(&i.id) && Some(i.id) != self.on_air);
        *queue = inserted.into_iter().chain(rest).collect();
        tracing::info!(upcoming = queue.len(), "running order edited on air");
    }

    /// Plays one item from item millisecond `skip_ms`.
    fn play_item(
        &mut self,
        item: &PlanItem,
        skip_ms: i64,
        planned_start_ms: i64,
        ctx: (&Playout, &mut VecDeque<PlanItem>, &Receiver<Command>),
        events: &mut dyn FnMut(Event),
    ) -> Result<Aired, RenderError> {
        let (playout, queue, commands) = ctx;
        let plan = &playout.plan;
        let house = self.house.clone();
        let total = item.frames(&house);
        let first = ms_to_frames(skip_ms, &house).min(total);
        let lower_frames = u64::from(plan.config.lower_third_s) * u64::from(house.fps);
        let (lower_third, cues) = match &item.source {
            Source::Act {
                lower_third,
                cues,
                in_ms,
                ..
            } => (
                lower_third.as_ref().map(|l| (l, lower_frames)),
                (plan.captions == CaptionMode::Burn && !cues.is_empty())
                    .then(|| (&cues[..], ms_to_frames(*in_ms, &house))),
            ),
            _ => (None, None),
        };
        let graphics = ItemGraphics {
            frames: total,
            fps: house.fps,
            fade_frames: ms_to_frames(i64::from(plan.config.transition_ms), &house),
            lower_third,
            burn: cues,
        };
        let mut aired = Aired {
            frames: 0,
            replaced: None,
            note: None,
            end_program: false,
        };
        let skip = frames_to_ms(first, &house);
        if let Some((_, why)) = self.unresolved.iter().find(|(id, _)| *id == item.id) {
            aired.replaced = Some(Replaced::slate(0, why.clone()));
        }
        let mut source = match open_source(item, skip, &house, &self.font, &plan.limits) {
            Ok(s) => s,
            Err(e) => {
                aired.replaced = Some(Replaced::slate(skip, e.0));
                ItemSource::Still(Slate::new(&house, &self.font, &replacement_text(item)))
            }
        };
        let mut control = Control::default();
        let mut last: Option<ffmpeg_next::frame::Video> = None;
        let mut r = first;
        let mut held_frames = 0u64;
        loop {
            self.poll(commands, queue, &mut control);
            if control.end {
                aired.end_program = true;
                aired.note = Some(format!(
                    "show ended by the director at {:.1} s",
                    r as f64 / f64::from(house.fps)
                ));
                break;
            }
            if control.take_next {
                if r < total {
                    aired.note = Some(format!(
                        "taken out at {:.1} s",
                        r as f64 / f64::from(house.fps)
                    ));
                }
                break;
            }
            if r >= total + control.extend_frames {
                break;
            }
            let on_air = |replaced: &Option<Replaced>| OnAir {
                item: item.id,
                kind: item.kind.clone(),
                title: item.title.clone(),
                elapsed_s: r as f64 / f64::from(house.fps),
                length_s: (total + control.extend_frames) as f64 / f64::from(house.fps),
                replaced: replaced.as_ref().map(|r| r.reason.clone()),
            };
            let planned_now =
                planned_start_ms + frames_to_ms(r, &house) + frames_to_ms(held_frames, &house);
            if let Some(freeze) = control.hold {
                let still = match (&last, freeze) {
                    (Some(picture), true) => Slate::frozen(&house, picture),
                    _ => Slate::new(&house, &self.font, &playout.config.hold_text),
                };
                self.report(
                    "hold",
                    Some(on_air(&aired.replaced)),
                    queue,
                    None,
                    planned_now,
                );
                held_frames += 1;
                self.send(&mut still.frame(), events)?;
                continue;
            }
            let mut frame = if r >= total {
                // Extended past its end: the last picture held, in silence.
                match &last {
                    Some(p) => Slate::frozen(&house, p).frame(),
                    None => Slate::new(&house, &self.font, &replacement_text(item)).frame(),
                }
            } else {
                match &mut source {
                    ItemSource::File(file) => match file.next_frame() {
                        Ok(mut f) => {
                            graphics.apply(&mut f.picture, r, &self.font);
                            f
                        }
                        Err(e) => {
                            tracing::warn!(item = item.id, error = %e, "item replaced by a slate on air");
                            aired.replaced = Some(Replaced::slate(frames_to_ms(r, &house), e.0));
                            let slate = Slate::new(&house, &self.font, &replacement_text(item));
                            let f = slate.frame();
                            source = ItemSource::Still(slate);
                            f
                        }
                    },
                    ItemSource::Still(slate) => slate.frame(),
                }
            };
            let left = (total + control.extend_frames - r) as f64 / f64::from(house.fps);
            self.report(
                "on_air",
                Some(on_air(&aired.replaced)),
                queue,
                Some(left),
                planned_now,
            );
            frame.picture.set_pts(None);
            self.send(&mut frame, events)?;
            // Kept for a freeze or an extension: the picture itself, not a copy.
            last = Some(frame.picture);
            aired.frames += 1;
            r += 1;
        }
        if control.extend_frames > 0 && aired.note.is_none() {
            aired.note = Some(format!(
                "extended by {:.1} s",
                control.extend_frames as f64 / f64::from(house.fps)
            ));
        }
        Ok(aired)
    }

    /// Updates what the monitor shows.
    fn report(
        &self,
        phase: &str,
        on_air: Option<OnAir>,
        queue: &VecDeque<PlanItem>,
        time_to_next_s: Option<f64>,
        planned_now_ms: i64,
    ) {
        let frames = self.frames_out;
        let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
        s.phase = phase.into();
        s.on_air = on_air;
        s.next = queue.front().map(|i| upcoming(i, &self.house));
        s.time_to_next_s = time_to_next_s;
        s.over_under_s = (crate::now_ms() - planned_now_ms) as f64 / 1000.0;
        s.frames = frames;
        s.media_s = frames as f64 / f64::from(self.house.fps);
        s.wall_s = self.clock.map_or(0.0, |(c, _)| c.elapsed().as_secs_f64());
        s.late_frames = self.late_frames;
        if frames % u64::from(self.house.fps.max(1)) == 0 {
            s.destinations = self.stats.iter().map(|d| d.status()).collect();
        }
    }

    /// The program clock, started now if it has not been.
    fn start_clock(&mut self) -> (Instant, i64) {
        *self
            .clock
            .get_or_insert_with(|| (Instant::now(), crate::now_ms()))
    }

    /// When the next frame airs by the program clock (Unix ms): what the as-run log records.
    fn next_frame_ms(&mut self) -> i64 {
        let (_, wall) = self.start_clock();
        wall + frames_to_ms(self.frames_out, &self.house)
    }

    /// Waits until program frame `n` is due (paced), counting frames that are late.
    fn wait_for_frame(&mut self, n: u64) {
        let (clock, _) = self.start_clock();
        let due = clock + Duration::from_secs_f64(n as f64 / f64::from(self.house.fps));
        let now = Instant::now();
        if !self.pace {
            // Unpaced: as fast as it goes.
        } else if due > now {
            std::thread::sleep(due - now);
        } else if now - due > Duration::from_secs_f64(1.0 / f64::from(self.house.fps)) {
            self.late_frames += 1;
        }
    }

    /// Encodes one frame at its due time and hands the packets to every destination.
    fn send(
        &mut self,
        frame: &mut HouseFrame,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), RenderError> {
        let n = self.frames_out;
        self.wait_for_frame(n);
        self.encoder.encode(frame, &mut self.packets)?;
        self.frames_out += 1;
        self.samples_out += u64::from(self.house.samples_per_frame());
        for p in self.packets.drain(..) {
            for d in self.destinations.iter_mut() {
                d.offer(&p);
            }
        }
        if n % u64::from(self.house.fps.max(1)) == 0 {
            self.watch_destinations(events);
        }
        Ok(())
    }

    /// Turns changes of the destinations' state into as-run events.
    fn watch_destinations(&mut self, events: &mut dyn FnMut(Event)) {
        if self.seen_reconnects.len() != self.stats.len() {
            self.seen_reconnects = vec![(0, false); self.stats.len()];
        }
        for (d, seen) in self.stats.iter().zip(self.seen_reconnects.iter_mut()) {
            let st = d.status();
            if st.reconnects > seen.0 {
                seen.0 = st.reconnects;
                seen.1 = true;
                events(Event::DestinationDropped {
                    name: st.name.clone(),
                    at_ms: crate::now_ms(),
                    error: st.last_error.clone().unwrap_or_default(),
                });
            }
            if seen.1 && st.state == DestinationState::Live {
                seen.1 = false;
                events(Event::DestinationBack {
                    name: st.name.clone(),
                    at_ms: crate::now_ms(),
                    outage_ms: st.last_outage_ms.unwrap_or(0),
                });
            }
        }
    }

    /// Ends both encoders and sends what they held.
    fn flush(&mut self) -> Result<(), RenderError> {
        self.encoder.finish(&mut self.packets)?;
        for p in self.packets.drain(..) {
            for d in self.destinations.iter_mut() {
                d.offer(&p);
            }
        }
        Ok(())
    }
}

/// Live control received since the last frame, for the item on air.
#[derive(Default)]
struct Control {
    take_next: bool,
    /// Some(true): freeze the picture; Some(false): the hold slate.
    hold: Option<bool>,
    extend_frames: u64,
    end: bool,
}

fn upcoming(item: &PlanItem, house: &HouseFormat) -> Upcoming {
    Upcoming {
        item: item.id,
        kind: item.kind.clone(),
        title: item.title.clone(),
        length_s: item.frames(house) as f64 / f64::from(house.fps),
    }
}

fn replacement_text(item: &PlanItem) -> String {
    if item.creator.is_empty() {
        format!("{}\n—", item.title)
    } else {
        format!("{} — {}\n—", item.title, item.creator)
    }
}

/// How an item went.
struct Aired {
    frames: u64,
    replaced: Option<Replaced>,
    note: Option<String>,
    end_program: bool,
}

fn frames_to_ms(frames: u64, house: &HouseFormat) -> i64 {
    (frames * 1000 / u64::from(house.fps.max(1))) as i64
}

fn system_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The frames of an item: its source, or a slate once the source failed.
enum ItemSource {
    File(Box<FileFrames>),
    Still(Slate),
}

fn open_source(
    item: &PlanItem,
    skip_ms: i64,
    house: &HouseFormat,
    font: &Font,
    plan_limits: &crate::config::IngestLimits,
) -> Result<ItemSource, SourceFailure> {
    let frames = item.frames(house);
    match &item.source {
        Source::Act { path, in_ms, .. } => {
            FileFrames::open(path, in_ms + skip_ms, frames, house, plan_limits)
                .map(|f| ItemSource::File(Box::new(f)))
        }
        Source::Segment(segment) => {
            FileFrames::open(&segment.path, skip_ms, frames, house, plan_limits)
                .map(|f| ItemSource::File(Box::new(f)))
        }
        Source::Slate { text, .. } => Ok(ItemSource::Still(Slate::new(house, font, text))),
    }
}
