//! Low-CPU playout: when every file of the running order is already in the house format
//! (H.264 with the house encoder's own SPS and PPS, closed GOPs, trims on GOP boundaries)
//! and no graphics are drawn, the pictures are stream-copied packet by packet with rewritten
//! timestamps instead of decoded and re-encoded. Slates (a failed item, a hold, an
//! extension) are encoded by a fresh house encoder, whose packets mix with the copied ones.
//!
//! The sound is copied too: each file's AAC packets (sound in another codec, as in card
//! segments, is encoded by a fresh AAC encoder, item by item). Every file starts with the
//! encoder priming (a packet at −1024 samples): it is dropped at every join, and each packet
//! is restamped from the program's own sample count. A packet that would go out more than
//! half a packet (512 samples, 11 ms) after its place is dropped; where one would go out as
//! much before it, a packet of silence goes in first. So the offset never grows, join after
//! join, and stays within ±11 ms.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use ffmpeg_next::{decoder, format, frame, media};

use super::{frames_to_ms, replacement_text, Aired, Control, Event, Program, Replaced};
use crate::config::{HouseFormat, IngestLimits};
use crate::ingest::normalize::decode::{open_audio_decoder, AudioChain, AudioGain};
use crate::ingest::{next_packet, Budget};
use crate::live::encoder::{AacEncoder, LivePacket, StreamSetup, Track};
use crate::live::frames::{keep_from, Slate, SourceFailure};
use crate::live::Command;
use crate::render::segment::HouseEncoder;
use crate::render::{avc, ms_to_frames, CaptionMode, PlanItem, RenderError, RenderPlan, Source};

/// Packets the demuxer may refuse before the source counts as damaged.
const MAX_BAD_PACKETS: u32 = 50;

/// Samples in an AAC-LC packet, and half of it: how far the sound may stray from its place.
const AAC_SAMPLES: i64 = 1024;
const HALF_PACKET: i64 = AAC_SAMPLES / 2;

/// Why the running order cannot be stream-copied; Ok when it can.
pub(crate) fn copyable(plan: &RenderPlan, setup: &StreamSetup) -> Result<(), String> {
    let c = &plan.config;
    if c.lower_third_s > 0 || c.transition_ms > 0 || plan.captions == CaptionMode::Burn {
        return Err("graphics are drawn (lower thirds, fades or burned captions)".into());
    }
    let house = &plan.house;
    let gop = u64::from(house.gop_frames());
    for item in &plan.items {
        let (path, in_ms) = match &item.source {
            Source::Act { path, in_ms, .. } => (path.as_path(), *in_ms),
            Source::Segment(s) => (s.path.as_path(), 0),
            Source::Slate { .. } => continue,
        };
        let frames = item.frames(house);
        let in_frame = ms_to_frames(in_ms, house);
        check_file(path, house, setup, (in_frame, frames, gop))
            .map_err(|why| format!("item {} ({}): {why}", item.id, item.title))?;
    }
    Ok(())
}

fn check_file(
    path: &Path,
    house: &HouseFormat,
    setup: &StreamSetup,
    (in_frame, frames, gop): (u64, u64, u64),
) -> Result<(), String> {
    let input = format::input(path).map_err(|e| format!("cannot open ({e})"))?;
    let vs = input.streams().best(media::Type::Video).ok_or("no video")?;
    let params = vs.parameters();
    // SAFETY: codec parameters of a stream of `input`, valid while it lives.
    let (w, h) = unsafe { ((*params.as_ptr()).width, (*params.as_ptr()).height) };
    if (w as u32, h as u32) != (house.width, house.height) {
        return Err(format!("the picture is {w}x{h}"));
    }
    let rate = vs.avg_frame_rate();
    if rate.denominator() == 0 || rate.numerator() != house.fps as i32 * rate.denominator() {
        return Err(format!("the frame rate is {rate}"));
    }
    let extradata = avc::extradata(&params);
    if params.id() != ffmpeg_next::codec::Id::H264
        || avc::avcc_length_size(&extradata) != Some(4)
        || avc::parameter_sets(&extradata).as_deref() != Some(&setup.parameter_sets[..])
    {
        return Err("not encoded with the house encoder's settings".into());
    }
    let total = u64::try_from(vs.frames()).unwrap_or(0);
    let end = in_frame + frames;
    if in_frame % gop != 0 || (end % gop != 0 && end != total) {
        return Err("trimmed inside a GOP".into());
    }
    Ok(())
}

/// How a copied file's sound reaches the program.
enum SourceAudio {
    None,
    /// AAC-LC at the house rate in stereo: its packets, copied (time base in seconds).
    Copy {
        index: usize,
        time_base: f64,
    },
    /// Anything else: decoded and encoded by a fresh AAC encoder.
    Encode {
        index: usize,
        decoder: decoder::Audio,
        chain: AudioChain,
        aac: AacEncoder,
    },
}

/// AAC packets of one item: (its own sample time, 0 at the item's start; the data).
type ItemPackets = VecDeque<(i64, Arc<[u8]>)>;

/// A house-format file read packet by packet: its pictures and (AAC) sound as they are.
struct CopySource {
    input: format::context::Input,
    video_index: usize,
    time_base: f64,
    origin: i64,
    fps: f64,
    audio: SourceAudio,
    rate: f64,
    in_frame: i64,
    in_sample: u64,
    /// Decoded samples out of the chain so far (the `Encode` case).
    audio_position: u64,
    /// AAC packets waiting for their place in the program.
    packets: ItemPackets,
    budget: Budget,
    bad_packets: u32,
}

/// One step of a copy source.
enum CopyStep {
    /// A picture, timestamps in item frames (dts may be negative: the B-frame delay).
    Video {
        pts: i64,
        dts: i64,
        key: bool,
        data: Vec<u8>,
    },
    /// Sound was decoded, or a packet was skipped.
    Other,
    End,
}

impl CopySource {
    fn open(
        path: &Path,
        in_ms: i64,
        frames: u64,
        house: &HouseFormat,
        limits: &IngestLimits,
    ) -> Result<CopySource, SourceFailure> {
        let fail = |m: String| SourceFailure(m);
        if !path.is_file() {
            return Err(fail(format!("{} is missing", path.display())));
        }
        let seconds = in_ms.max(0) as f64 / 1000.0 + frames as f64 / f64::from(house.fps);
        let guard = Budget::for_media(limits, seconds);
        let input = format::input_with_interrupt(path, move || guard.expired())
            .map_err(|e| fail(format!("cannot open the file ({e})")))?;
        let vs = input
            .streams()
            .best(media::Type::Video)
            .ok_or_else(|| fail("the file has no video".into()))?;
        let tb = vs.time_base();
        let origin = match vs.start_time() {
            t if t == ffmpeg_next::ffi::AV_NOPTS_VALUE => 0,
            t => t,
        };
        let video_index = vs.index();
        let audio = match input.streams().best(media::Type::Audio) {
            Some(a) => {
                let index = a.index();
                let par = a.parameters();
                // SAFETY: codec parameters of a stream of `input`, valid while it lives.
                let (rate, channels) = unsafe {
                    let p = &*par.as_ptr();
                    (p.sample_rate, p.ch_layout.nb_channels)
                };
                if par.id() == ffmpeg_next::codec::Id::AAC
                    && rate == house.audio_sample_rate as i32
                    && channels == 2
                {
                    let tb = a.time_base();
                    SourceAudio::Copy {
                        index,
                        time_base: f64::from(tb.numerator()) / f64::from(tb.denominator().max(1)),
                    }
                } else {
                    let decoder = open_audio_decoder(&input, index)
                        .map_err(|e| fail(format!("audio: {e}")))?;
                    let chain =
                        AudioChain::new(&decoder, house.audio_sample_rate, AudioGain::UNITY)
                            .map_err(|e| fail(format!("audio: {e}")))?;
                    let aac = AacEncoder::open(house).map_err(|e| fail(format!("audio: {e}")))?;
                    SourceAudio::Encode {
                        index,
                        decoder,
                        chain,
                        aac,
                    }
                }
            }
            None => SourceAudio::None,
        };
        let in_frame = ms_to_frames(in_ms, house);
        Ok(CopySource {
            input,
            video_index,
            time_base: f64::from(tb.numerator()) / f64::from(tb.denominator().max(1)),
            origin,
            fps: f64::from(house.fps),
            audio,
            rate: f64::from(house.audio_sample_rate),
            in_frame: in_frame as i64,
            in_sample: in_frame * u64::from(house.samples_per_frame()),
            audio_position: 0,
            packets: VecDeque::new(),
            budget: Budget::for_media(limits, seconds),
            bad_packets: 0,
        })
    }

    fn frame_of(&self, ts: i64) -> i64 {
        ((ts - self.origin) as f64 * self.time_base * self.fps).round() as i64 - self.in_frame
    }

    fn step(&mut self) -> Result<CopyStep, SourceFailure> {
        self.budget
            .check()
            .map_err(|e| SourceFailure(format!("reading is too slow ({e})")))?;
        let packet = match next_packet(&mut self.input) {
            Ok(Some(p)) => p,
            Ok(None) => {
                self.finish_audio();
                return Ok(CopyStep::End);
            }
            Err(ffmpeg_next::Error::InvalidData) => {
                self.bad_packets += 1;
                if self.bad_packets > MAX_BAD_PACKETS {
                    return Err(SourceFailure("too many damaged packets".into()));
                }
                return Ok(CopyStep::Other);
            }
            Err(e) => return Err(SourceFailure(format!("reading stopped ({e})"))),
        };
        if packet.stream() == self.video_index {
            let (Some(pts), Some(data)) = (packet.pts(), packet.data()) else {
                return Ok(CopyStep::Other);
            };
            if !avc::avcc_well_formed(data) {
                return Err(SourceFailure("a damaged picture packet".into()));
            }
            return Ok(CopyStep::Video {
                pts: self.frame_of(pts),
                dts: self.frame_of(packet.dts().unwrap_or(pts)),
                key: packet.is_key(),
                data: data.to_vec(),
            });
        }
        match &mut self.audio {
            SourceAudio::Copy { index, time_base } if packet.stream() == *index => {
                if let (Some(pts), Some(data)) = (packet.pts(), packet.data()) {
                    let at = (pts as f64 * *time_base * self.rate).round() as i64;
                    self.packets
                        .push_back((at - self.in_sample as i64, Arc::from(data)));
                }
            }
            SourceAudio::Encode {
                index,
                decoder,
                chain,
                ..
            } if packet.stream() == *index => {
                let _ = decoder.send_packet(&packet);
                let mut decoded = frame::Audio::empty();
                while decoder.receive_frame(&mut decoded).is_ok() {
                    chain
                        .push(&mut decoded)
                        .map_err(|e| SourceFailure(e.to_string()))?;
                }
                self.encode_pulled()?;
            }
            _ => {}
        }
        Ok(CopyStep::Other)
    }

    fn finish_audio(&mut self) {
        if let SourceAudio::Encode { decoder, chain, .. } = &mut self.audio {
            let _ = decoder.send_eof();
            let mut decoded = frame::Audio::empty();
            while decoder.receive_frame(&mut decoded).is_ok() {
                let _ = chain.push(&mut decoded);
            }
            let _ = chain.finish();
        }
        let _ = self.encode_pulled();
        if let SourceAudio::Encode { aac, .. } = &mut self.audio {
            let mut out = Vec::new();
            let _ = aac.finish(&mut out);
            self.packets
                .extend(out.into_iter().map(|p| (p.pts, p.data)));
        }
    }

    /// Sound out of the chain from the item's first sample on, into the item's AAC encoder.
    fn encode_pulled(&mut self) -> Result<(), SourceFailure> {
        let SourceAudio::Encode { chain, aac, .. } = &mut self.audio else {
            return Ok(());
        };
        let mut out = Vec::new();
        while let Some(samples) = chain.pull() {
            let mut kept = Vec::with_capacity(2 * samples.samples());
            keep_from(
                &samples,
                &mut self.audio_position,
                self.in_sample,
                &mut kept,
            );
            aac.encode(&kept, &mut out)
                .map_err(|e| SourceFailure(format!("audio: {e}")))?;
        }
        self.packets
            .extend(out.into_iter().map(|p| (p.pts, p.data)));
        Ok(())
    }
}

impl Program<'_> {
    /// Where the next copied or encoded run may start, in program frames: after every frame
    /// shown, and late enough that its first decode time (−delay) follows the last one sent.
    fn next_start(&self) -> u64 {
        let after_dts = self.last_dts.map_or(0, |d| d + 1 + self.delay).max(0) as u64;
        self.frames_out.max(after_dts)
    }

    /// Sends one video packet stamped in program frames, at its due time.
    fn send_copied(&mut self, packet: LivePacket, events: &mut dyn FnMut(Event)) {
        let due_frame = (packet.dts + self.delay).max(0) as u64;
        self.wait_for_frame(due_frame);
        self.last_dts = Some(packet.dts);
        self.frames_out = self.frames_out.max((packet.pts + 1).max(0) as u64);
        for d in self.destinations.iter_mut() {
            d.offer(&packet);
        }
        if self.frames_out % u64::from(self.house.fps.max(1)) == 0 {
            self.watch_destinations(events);
        }
    }

    /// Sends the item's AAC packets whose place in the program (`base`, the item's first
    /// sample in the program, plus their own time) comes before `until` (program samples),
    /// restamped from the program's sample count and kept within half a packet of their
    /// place: a packet that would be late is dropped, silence fills where one is missing.
    /// Packets before the item's start (the encoder priming) are dropped.
    fn send_audio(&mut self, packets: &mut ItemPackets, base: i64, until: i64) -> u64 {
        let mut sent = 0;
        while let Some((at, _)) = packets.front() {
            let place = base + at;
            if place >= until {
                break;
            }
            let Some((at, data)) = packets.pop_front() else {
                break;
            };
            if at < 0 || (self.samples_out as i64) > place + HALF_PACKET {
                continue;
            }
            self.pad_audio(place);
            self.send_aac(data);
            sent += 1;
        }
        sent
    }

    /// Silence until the sound is within half a packet of program sample `until`.
    fn pad_audio(&mut self, until: i64) {
        while (self.samples_out as i64) + HALF_PACKET < until {
            let Some(silence) = self.silence.clone() else {
                return;
            };
            self.send_aac(silence);
        }
    }

    fn send_aac(&mut self, data: Arc<[u8]>) {
        let packet = LivePacket {
            track: Track::Audio,
            pts: self.samples_out as i64,
            dts: self.samples_out as i64,
            duration: AAC_SAMPLES,
            key: true,
            data,
        };
        self.samples_out += AAC_SAMPLES as u64;
        for d in self.destinations.iter_mut() {
            d.offer(&packet);
        }
    }

    fn count_audio(&mut self, src: &CopySource, n: u64) {
        if matches!(src.audio, SourceAudio::Copy { .. }) {
            self.copied.1 += n;
        }
    }

    /// Program samples at the end of program frame `frame`.
    fn sample_of(&self, frame: u64) -> i64 {
        (frame * u64::from(self.house.samples_per_frame())) as i64
    }

    /// `frames` frames of a still (slate, hold, extension) encoded by a fresh house encoder
    /// and sent among the copied packets, with silence.
    fn still_run(
        &mut self,
        still: &Slate,
        frames: u64,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), RenderError> {
        if frames == 0 {
            return Ok(());
        }
        let start = self.next_start();
        let mut encoder = HouseEncoder::open(&self.house)?;
        let mut packets = Vec::new();
        for i in 0..=frames {
            if i < frames {
                let mut picture = still.frame().picture;
                encoder.send(&mut picture, &mut packets)?;
            } else {
                encoder.finish(&mut packets)?;
            }
            for p in packets.drain(..) {
                if let Some(mut lp) = LivePacket::from_packet(Track::Video, &p) {
                    lp.pts += start as i64;
                    lp.dts += start as i64;
                    self.send_copied(lp, events);
                    self.pad_audio(self.sample_of(self.frames_out));
                }
            }
        }
        Ok(())
    }

    /// Plays one item by copying its pictures (see the module's notes).
    pub(super) fn play_copy_item(
        &mut self,
        item: &PlanItem,
        skip_ms: i64,
        planned_start_ms: i64,
        (plan, queue, commands): (&RenderPlan, &mut VecDeque<PlanItem>, &Receiver<Command>),
        events: &mut dyn FnMut(Event),
    ) -> Result<Aired, RenderError> {
        let house = self.house.clone();
        let gop = u64::from(house.gop_frames()).max(1);
        let total = item.frames(&house);
        // A copy can only start on a keyframe: a resumed item starts at the next GOP.
        let first = ms_to_frames(skip_ms, &house).div_ceil(gop) * gop;
        let first = first.min(total);
        let mut aired = Aired {
            frames: 0,
            replaced: None,
            note: None,
            end_program: false,
        };
        if let Some((_, why)) = self.unresolved.iter().find(|(id, _)| *id == item.id) {
            aired.replaced = Some(Replaced::slate(0, why.clone()));
        }
        let font = &self.font;
        let text = replacement_text(item);
        let skip = frames_to_ms(first, &house);
        let mut source = match &item.source {
            Source::Act { path, in_ms, .. } => {
                CopySource::open(path, in_ms + skip, total - first, &house, &plan.limits).map(Some)
            }
            Source::Segment(s) => {
                CopySource::open(&s.path, skip, total - first, &house, &plan.limits).map(Some)
            }
            Source::Slate { .. } => Ok(None),
        };
        let still = match &item.source {
            Source::Slate { text, .. } => Slate::new(&house, font, text),
            _ => Slate::new(&house, font, &text),
        };
        let hold = Slate::new(&house, font, &self.hold_text);
        if let Err(e) = &source {
            aired.replaced = Some(Replaced::slate(skip, e.0.clone()));
        }
        let length = total - first;
        let mut start: Option<u64> = None;
        let mut control = Control::default();
        let mut resync = false;
        loop {
            self.poll(commands, queue, &mut control);
            let shown = start.map_or(0, |s| self.frames_out.saturating_sub(s));
            if control.end || control.take_next {
                let at = (first + shown) as f64 / f64::from(house.fps);
                aired.end_program = control.end;
                aired.note = Some(if control.end {
                    format!("show ended by the director at {at:.1} s")
                } else {
                    format!("taken out at {at:.1} s")
                });
                break;
            }
            if control.hold.is_some() {
                let planned = planned_start_ms + frames_to_ms(first + shown, &house);
                self.report("hold", None, queue, None, planned);
                self.still_run(&hold, u64::from(house.fps), events)?;
                resync = true;
                continue;
            }
            let step = match source.as_mut() {
                Ok(Some(src)) => src.step(),
                Ok(None) => Ok(CopyStep::End),
                Err(_) => Ok(CopyStep::End),
            };
            let failure = match step {
                Ok(CopyStep::Video {
                    pts,
                    dts,
                    key,
                    data,
                }) => {
                    if pts < 0 || pts as u64 >= length || (resync && !key) {
                        continue;
                    }
                    resync = false;
                    let s = match start {
                        Some(s) => s,
                        None => {
                            let after_dts =
                                (self.last_dts.map_or(0, |d| d + 1) - dts).max(0) as u64;
                            let s = self.next_start().max(after_dts);
                            // Silence over any frames skipped to keep decode times rising.
                            self.pad_audio(self.sample_of(s));
                            start = Some(s);
                            s
                        }
                    };
                    let packet = LivePacket {
                        track: Track::Video,
                        pts: s as i64 + pts,
                        dts: s as i64 + dts,
                        duration: 1,
                        key,
                        data: data.into(),
                    };
                    self.send_copied(packet, events);
                    self.copied.0 += 1;
                    if let Ok(Some(src)) = source.as_mut() {
                        // Sound up to a packet ahead of the picture.
                        let until = self.sample_of(self.frames_out) + AAC_SAMPLES;
                        let n = self.send_audio(&mut src.packets, self.sample_of(s), until);
                        self.count_audio(src, n);
                    }
                    let elapsed = (first + self.frames_out - s) as f64 / f64::from(house.fps);
                    let on_air = super::OnAir {
                        item: item.id,
                        kind: item.kind.clone(),
                        title: item.title.clone(),
                        elapsed_s: elapsed,
                        length_s: total as f64 / f64::from(house.fps),
                        replaced: None,
                    };
                    let left = total as f64 / f64::from(house.fps) - elapsed;
                    let planned = planned_start_ms + (elapsed * 1000.0) as i64;
                    self.report("on_air", Some(on_air), queue, Some(left), planned);
                    continue;
                }
                Ok(CopyStep::Other) => continue,
                Ok(CopyStep::End) => None,
                Err(e) => Some(e.0),
            };
            // The end of the file (or its failure, or a slate item).
            let s = match start {
                Some(s) => s,
                None => {
                    let s = self.next_start();
                    self.pad_audio(self.sample_of(s));
                    start = Some(s);
                    s
                }
            };
            let end = s + length;
            let done = self.frames_out.saturating_sub(s);
            // The file ended early, failed, or is a slate: a still for the rest.
            if done + 2 < length || failure.is_some() {
                let is_file = source.as_ref().is_ok_and(|src| src.is_some());
                if is_file && aired.replaced.is_none() {
                    let why =
                        failure.unwrap_or_else(|| format!("the picture ended after {done} frames"));
                    aired.replaced = Some(Replaced::slate(skip + frames_to_ms(done, &house), why));
                }
                let from = self.next_start();
                if let Ok(Some(src)) = source.as_mut() {
                    let n =
                        self.send_audio(&mut src.packets, self.sample_of(s), self.sample_of(from));
                    self.count_audio(src, n);
                }
                self.still_run(&still, end.saturating_sub(from), events)?;
            }
            if let Ok(Some(src)) = source.as_mut() {
                // The item's sound to its end: no packet may start past it by half a packet.
                let until = self.sample_of(end) - AAC_SAMPLES + HALF_PACKET + 1;
                let n = self.send_audio(&mut src.packets, self.sample_of(s), until);
                self.count_audio(src, n);
            }
            self.frames_out = self.frames_out.max(end);
            self.pad_audio(self.sample_of(self.frames_out));
            break;
        }
        if control.extend_frames > 0 && !control.end && !control.take_next {
            self.still_run(&hold, control.extend_frames, events)?;
            aired.note = Some(format!(
                "extended by {:.1} s (a slate: copied pictures cannot be held)",
                control.extend_frames as f64 / f64::from(house.fps)
            ));
        }
        aired.frames = start.map_or(0, |s| self.frames_out.saturating_sub(s));
        Ok(aired)
    }
}
