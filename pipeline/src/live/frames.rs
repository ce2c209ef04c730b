//! The pictures and sound of one item, one house frame at a time: a source file (normalized
//! clip or segment) decoded, scaled to the house picture if it is not already, its sound
//! converted to house-rate stereo; or a slate. Live playout never trusts a file's own
//! timestamps past the trim point: it counts frames and samples.

use std::collections::VecDeque;
use std::path::Path;

use ffmpeg_next::{decoder, format, frame, media, software};

use crate::config::{HouseFormat, IngestLimits};
use crate::ingest::normalize::decode::{
    open_audio_decoder, open_video_decoder, AudioChain, AudioGain,
};
use crate::ingest::{next_packet, Budget};
use crate::render::text::Font;

/// Packets the demuxer may refuse before the source counts as damaged.
const MAX_BAD_PACKETS: u32 = 50;

/// A file may end this many frames short of its planned length; the last picture is held.
const SHORT_FRAMES_ALLOWED: u64 = 2;

/// One house frame: a YUV420P picture of the house size and its sound (interleaved stereo
/// f32, exactly `samples_per_frame` samples per channel).
pub struct HouseFrame {
    pub picture: frame::Video,
    pub sound: Vec<f32>,
}

/// Why a source stopped giving frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceFailure(pub String);

fn fail(what: impl Into<String>) -> SourceFailure {
    SourceFailure(what.into())
}

/// Decodes `path` from source frame `in_frame` on into house frames.
pub struct FileFrames {
    input: format::context::Input,
    video_index: usize,
    video: decoder::Video,
    audio: Option<(usize, decoder::Audio, AudioChain)>,
    scaler: Option<software::scaling::Context>,
    house: HouseFormat,
    budget: Budget,
    /// Source frame of item frame 0, and the matching source sample.
    in_frame: u64,
    in_sample: u64,
    /// Video frames decoded so far (the frame counter of the source).
    decoded: u64,
    /// Source samples out of the audio chain so far.
    audio_position: u64,
    pictures: VecDeque<frame::Video>,
    sound: VecDeque<f32>,
    last: Option<frame::Video>,
    /// Frames given out, and of those how many held the last picture at the end.
    given: u64,
    held: u64,
    ended: bool,
    bad_packets: u32,
}

impl FileFrames {
    /// Opens `path` to play `frames` frames from `in_ms`.
    pub fn open(
        path: &Path,
        in_ms: i64,
        frames: u64,
        house: &HouseFormat,
        limits: &IngestLimits,
    ) -> Result<FileFrames, SourceFailure> {
        crate::ingest::init_ffmpeg();
        if !path.is_file() {
            return Err(fail(format!("{} is missing", path.display())));
        }
        let seconds = (in_ms.max(0) as f64 / 1000.0) + frames as f64 / f64::from(house.fps);
        let budget = Budget::for_media(limits, seconds);
        let guard = Budget::for_media(limits, seconds);
        let input = format::input_with_interrupt(path, move || guard.expired())
            .map_err(|e| fail(format!("cannot open the file ({e})")))?;
        let video_index = input
            .streams()
            .best(media::Type::Video)
            .ok_or_else(|| fail("the file has no video"))?
            .index();
        let video = open_video_decoder(&input, video_index, limits.max_dimension)
            .map_err(|e| fail(format!("video: {e}")))?;
        let audio = match input.streams().best(media::Type::Audio) {
            Some(stream) => {
                let index = stream.index();
                let dec =
                    open_audio_decoder(&input, index).map_err(|e| fail(format!("audio: {e}")))?;
                let chain = AudioChain::new(&dec, house.audio_sample_rate, AudioGain::UNITY)
                    .map_err(|e| fail(format!("audio: {e}")))?;
                Some((index, dec, chain))
            }
            None => None,
        };
        let in_frame = crate::render::ms_to_frames(in_ms, house);
        Ok(FileFrames {
            input,
            video_index,
            video,
            audio,
            scaler: None,
            house: house.clone(),
            budget,
            in_frame,
            in_sample: in_frame * u64::from(house.samples_per_frame()),
            decoded: 0,
            audio_position: 0,
            pictures: VecDeque::new(),
            sound: VecDeque::new(),
            last: None,
            given: 0,
            held: 0,
            ended: false,
            bad_packets: 0,
        })
    }

    /// The next house frame; at the end of the file the last picture is held for up to
    /// [`SHORT_FRAMES_ALLOWED`] frames and the sound padded with silence, after that the
    /// source has failed.
    pub fn next_frame(&mut self) -> Result<HouseFrame, SourceFailure> {
        let spf = self.house.samples_per_frame() as usize;
        while !self.ended && (self.pictures.is_empty() || self.sound_short(spf)) {
            self.read_more()?;
        }
        let picture = match self.pictures.pop_front() {
            Some(p) => {
                self.last = Some(p.clone());
                p
            }
            None => {
                self.held += 1;
                match self.last.clone() {
                    Some(p) if self.held <= SHORT_FRAMES_ALLOWED => p,
                    _ => {
                        return Err(fail(format!(
                            "the picture ended after {} frames",
                            self.given
                        )))
                    }
                }
            }
        };
        let take = (2 * spf).min(self.sound.len());
        let mut sound: Vec<f32> = self.sound.drain(..take).collect();
        sound.resize(2 * spf, 0.0);
        self.given += 1;
        Ok(HouseFrame { picture, sound })
    }

    fn sound_short(&self, spf: usize) -> bool {
        self.audio.is_some() && self.sound.len() < 2 * spf
    }

    fn read_more(&mut self) -> Result<(), SourceFailure> {
        self.budget
            .check()
            .map_err(|e| fail(format!("decoding is too slow ({e})")))?;
        let packet = match next_packet(&mut self.input) {
            Ok(Some(p)) => p,
            Ok(None) => return self.finish(),
            Err(ffmpeg_next::Error::InvalidData) => {
                self.bad_packets += 1;
                if self.bad_packets > MAX_BAD_PACKETS {
                    return Err(fail("too many damaged packets"));
                }
                return Ok(());
            }
            Err(e) => return Err(fail(format!("reading stopped ({e})"))),
        };
        if packet.stream() == self.video_index {
            // A damaged packet is skipped; the picture before it is held instead.
            let _ = self.video.send_packet(&packet);
            self.drain_video()?;
        } else if let Some((index, dec, _)) = self.audio.as_mut() {
            if packet.stream() == *index {
                let _ = dec.send_packet(&packet);
                self.drain_audio()?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SourceFailure> {
        self.ended = true;
        let _ = self.video.send_eof();
        self.drain_video()?;
        if let Some((_, dec, chain)) = self.audio.as_mut() {
            let _ = dec.send_eof();
            let mut decoded = frame::Audio::empty();
            while dec.receive_frame(&mut decoded).is_ok() {
                chain.push(&mut decoded).map_err(|e| fail(e.to_string()))?;
            }
            chain.finish().map_err(|e| fail(e.to_string()))?;
            self.pull_audio();
        }
        Ok(())
    }

    fn drain_video(&mut self) -> Result<(), SourceFailure> {
        let mut decoded = frame::Video::empty();
        while self.video.receive_frame(&mut decoded).is_ok() {
            let index = self.decoded;
            self.decoded += 1;
            if index < self.in_frame {
                continue;
            }
            let picture = self.house_picture(&decoded)?;
            self.pictures.push_back(picture);
        }
        Ok(())
    }

    /// The decoded picture as a YUV420P picture of the house size.
    fn house_picture(&mut self, decoded: &frame::Video) -> Result<frame::Video, SourceFailure> {
        let (w, h) = (self.house.width, self.house.height);
        if decoded.format() == format::Pixel::YUV420P
            && (decoded.width(), decoded.height()) == (w, h)
        {
            return Ok(decoded.clone());
        }
        let stale = self.scaler.as_ref().is_none_or(|s| {
            s.input().format != decoded.format()
                || (s.input().width, s.input().height) != (decoded.width(), decoded.height())
        });
        if stale {
            self.scaler = Some(
                software::scaling::Context::get(
                    decoded.format(),
                    decoded.width(),
                    decoded.height(),
                    format::Pixel::YUV420P,
                    w,
                    h,
                    software::scaling::Flags::BILINEAR,
                )
                .map_err(|e| fail(format!("scaler: {e}")))?,
            );
        }
        let mut out = frame::Video::empty();
        if let Some(s) = self.scaler.as_mut() {
            s.run(decoded, &mut out)
                .map_err(|e| fail(format!("scaling: {e}")))?;
        }
        Ok(out)
    }

    fn drain_audio(&mut self) -> Result<(), SourceFailure> {
        if let Some((_, dec, chain)) = self.audio.as_mut() {
            let mut decoded = frame::Audio::empty();
            while dec.receive_frame(&mut decoded).is_ok() {
                chain.push(&mut decoded).map_err(|e| fail(e.to_string()))?;
            }
        }
        self.pull_audio();
        Ok(())
    }

    fn pull_audio(&mut self) {
        let Some((_, _, chain)) = self.audio.as_mut() else {
            return;
        };
        while let Some(samples) = chain.pull() {
            keep_from(
                &samples,
                &mut self.audio_position,
                self.in_sample,
                &mut self.sound,
            );
        }
    }
}

/// Appends the samples of `samples` (stereo planar float, out of an `AudioChain`) that lie at
/// or after source sample `from`, interleaved, to `out`; `position` counts the source samples
/// seen so far.
pub(crate) fn keep_from(
    samples: &frame::Audio,
    position: &mut u64,
    from: u64,
    out: &mut impl Extend<f32>,
) {
    let (left, right) = (samples.plane::<f32>(0), samples.plane::<f32>(1));
    let n = samples.samples();
    let skip = from.saturating_sub(*position).min(n as u64) as usize;
    out.extend((skip..n).flat_map(|i| [left[i], right[i]]));
    *position += n as u64;
}

/// A still picture with silence: slates on air (a failed item, a hold, a countdown).
pub struct Slate {
    picture: frame::Video,
    samples: usize,
}

impl Slate {
    /// The render's slate picture with `text`.
    pub fn new(house: &HouseFormat, font: &Font, text: &str) -> Slate {
        Slate {
            picture: crate::render::segment::slate_picture(house, font, text),
            samples: 2 * house.samples_per_frame() as usize,
        }
    }

    /// The last picture held, in silence (a hold that freezes).
    pub fn frozen(house: &HouseFormat, last: &frame::Video) -> Slate {
        Slate {
            picture: last.clone(),
            samples: 2 * house.samples_per_frame() as usize,
        }
    }

    pub fn frame(&self) -> HouseFrame {
        HouseFrame {
            picture: self.picture.clone(),
            sound: vec![0.0; self.samples],
        }
    }
}
