//! The FFmpeg side of the reader: opening under the budget, demuxing, and driving the video
//! and audio decoders ([`super::streams`]) in either mode.

use std::path::Path;
use std::sync::{Arc, Mutex};

use ffmpeg::format::stream::Disposition;
use ffmpeg::media::Type;
use ffmpeg::{Packet, Rational};
use ffmpeg_next as ffmpeg;

use super::streams::{AudioPath, VideoPath};
use super::{
    budget_check, corrupt, AudioRequest, DecodeOptions, Decoded, MediaInfo, SharedBudget,
    VideoInfo, VideoRequest,
};
use crate::config::IngestLimits;
use crate::ingest::{init_ffmpeg, next_packet, Budget, IngestError, Rejection};

/// Packets the demuxer or decoder may refuse before the file counts as damaged. A few bad
/// packets are common in real uploads and decoders conceal them.
const MAX_BAD_PACKETS: u32 = 50;

/// `AV_TIME_BASE`: container times are in microseconds.
const MICROS: f64 = 1_000_000.0;

pub(super) type Sink<'a> = &'a mut dyn FnMut(Decoded) -> Result<(), IngestError>;

pub(super) struct Source {
    input: ffmpeg::format::context::Input,
    budget: SharedBudget,
    info: MediaInfo,
    video_index: Option<usize>,
    audio_index: Option<usize>,
    /// The earliest stream start, subtracted so that times count from the start of the clip.
    offset_s: f64,
    bad_packets: u32,
}

impl Source {
    pub(super) fn open(path: &Path, limits: &IngestLimits) -> Result<Source, IngestError> {
        init_ffmpeg();
        if !path.is_file() {
            return Err(anyhow::anyhow!("media file {} is missing", path.display()).into());
        }
        let budget: SharedBudget = Arc::new(Mutex::new(Budget::for_probe(limits)));
        let watched = Arc::clone(&budget);
        // The interrupt callback stops a demuxer that stalls inside FFmpeg, where our own
        // loop cannot check the budget.
        let interrupt = move || watched.lock().map(|b| b.expired()).unwrap_or(true);
        let input = ffmpeg::format::input_with_interrupt(path, interrupt).map_err(|e| {
            budget_check(&budget).err().unwrap_or_else(|| {
                Rejection::NotMedia {
                    detail: e.to_string(),
                }
                .into()
            })
        })?;
        let mut source = Source {
            input,
            budget,
            info: MediaInfo {
                duration_s: 0.0,
                video: None,
                has_audio: false,
            },
            video_index: None,
            audio_index: None,
            offset_s: 0.0,
            bad_packets: 0,
        };
        source.inspect()?;
        let media_budget = Budget::for_media(limits, source.info.duration_s);
        if let Ok(mut b) = source.budget.lock() {
            *b = media_budget;
        }
        Ok(source)
    }

    pub(super) fn info(&self) -> MediaInfo {
        self.info
    }

    /// Finds the streams to read and fills `info`.
    fn inspect(&mut self) -> Result<(), IngestError> {
        let mut starts = Vec::new();
        let mut stream_end: f64 = 0.0;
        for stream in self.input.streams() {
            let medium = stream.parameters().medium();
            let tb = seconds(stream.time_base());
            let is_cover = stream.disposition().contains(Disposition::ATTACHED_PIC);
            let wanted = match medium {
                Type::Video if !is_cover && self.video_index.is_none() => {
                    self.video_index = Some(stream.index());
                    self.info.video = Some(video_info(&stream)?);
                    true
                }
                Type::Audio if self.audio_index.is_none() => {
                    self.audio_index = Some(stream.index());
                    self.info.has_audio = true;
                    true
                }
                _ => false,
            };
            if wanted {
                if stream.start_time() != ffmpeg::ffi::AV_NOPTS_VALUE {
                    starts.push(stream.start_time() as f64 * tb);
                }
                if stream.duration() > 0 {
                    stream_end = stream_end.max(stream.duration() as f64 * tb);
                }
            }
        }
        self.offset_s = starts.into_iter().fold(f64::INFINITY, f64::min);
        if !self.offset_s.is_finite() {
            self.offset_s = 0.0;
        }
        let container = self.input.duration();
        self.info.duration_s = if container > 0 {
            container as f64 / MICROS
        } else {
            stream_end
        };
        Ok(())
    }

    /// Reads the next packet; `false` at the end of the file.
    fn read_packet(&mut self, packet: &mut Packet) -> Result<bool, IngestError> {
        loop {
            budget_check(&self.budget)?;
            match next_packet(&mut self.input) {
                Ok(Some(next)) => {
                    *packet = next;
                    return Ok(true);
                }
                Ok(None) => return Ok(false),
                Err(ffmpeg::Error::InvalidData) => self.count_bad_packet()?,
                Err(e) => {
                    budget_check(&self.budget)?;
                    return Err(corrupt("reading stopped before the end", e));
                }
            }
        }
    }

    fn count_bad_packet(&mut self) -> Result<(), IngestError> {
        self.bad_packets += 1;
        if self.bad_packets > MAX_BAD_PACKETS {
            return Err(Rejection::Corrupt {
                detail: format!("more than {MAX_BAD_PACKETS} damaged packets"),
            }
            .into());
        }
        Ok(())
    }

    fn video_path(&self, request: VideoRequest) -> Result<Option<VideoPath>, IngestError> {
        match (self.video_index, self.info.video) {
            (Some(index), Some(info)) => {
                let stream = self.input.stream(index).ok_or_else(no_stream)?;
                VideoPath::new(&stream, request, &info, self.offset_s).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn audio_path(&self, request: AudioRequest) -> Result<Option<AudioPath>, IngestError> {
        match self.audio_index {
            Some(index) => {
                let stream = self.input.stream(index).ok_or_else(no_stream)?;
                AudioPath::new(&stream, request, self.offset_s).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The linear mode: every picture and every audio chunk.
    pub(super) fn decode_all(
        &mut self,
        opts: &DecodeOptions,
        sink: Sink<'_>,
    ) -> Result<(), IngestError> {
        let mut video = opts
            .video
            .map(|r| self.video_path(r))
            .transpose()?
            .flatten();
        let mut audio = opts
            .audio
            .map(|r| self.audio_path(r))
            .transpose()?
            .flatten();
        let mut packet = Packet::empty();
        while self.read_packet(&mut packet)? {
            let index = packet.stream();
            if let Some(v) = video.as_mut().filter(|v| v.index == index) {
                if !v.send(&packet) {
                    self.count_bad_packet()?;
                }
                v.drain(&mut |p| sink(Decoded::Video(p)))?;
            } else if let Some(a) = audio.as_mut().filter(|a| a.index == index) {
                if !a.send(&packet) {
                    self.count_bad_packet()?;
                }
                a.drain(sink)?;
            }
        }
        if let Some(v) = video.as_mut() {
            v.finish(&mut |p| sink(Decoded::Video(p)))?;
        }
        if let Some(a) = audio.as_mut() {
            a.finish(sink)?;
        }
        Ok(())
    }

    /// The seeking mode: the first picture at or after each point.
    pub(super) fn decode_at(
        &mut self,
        points: &[f64],
        request: VideoRequest,
        sink: Sink<'_>,
    ) -> Result<(), IngestError> {
        let Some(mut video) = self.video_path(request)? else {
            return Ok(());
        };
        for &point in points {
            let ts = ((point + self.offset_s).max(0.0) * MICROS) as i64;
            // When seeking fails (an unseekable file) reading simply goes on forward, which
            // still reaches later points, only slower.
            if self.input.seek(ts, ..ts).is_ok() {
                video.reset();
            }
            if let Some(picture) = self.picture_at(&mut video, point)? {
                sink(Decoded::Video(picture))?;
            }
        }
        Ok(())
    }

    fn picture_at(
        &mut self,
        video: &mut VideoPath,
        point: f64,
    ) -> Result<Option<super::Picture>, IngestError> {
        let mut packet = Packet::empty();
        while self.read_packet(&mut packet)? {
            if packet.stream() != video.index {
                continue;
            }
            if !video.send(&packet) {
                self.count_bad_packet()?;
            }
            if let Some(picture) = video.first_at(point)? {
                return Ok(Some(picture));
            }
        }
        video.first_at_end(point)
    }
}

fn video_info(stream: &ffmpeg::format::stream::Stream) -> Result<VideoInfo, IngestError> {
    let context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| corrupt("the video stream parameters are unreadable", e))?;
    let decoder = context.decoder().video().map_err(|_| unsupported(stream))?;
    let (width, height) = (decoder.width(), decoder.height());
    if width == 0 || height == 0 {
        return Err(Rejection::Corrupt {
            detail: "the video stream has no picture size".into(),
        }
        .into());
    }
    let sar = decoder.aspect_ratio();
    let sar = if sar.numerator() > 0 && sar.denominator() > 0 {
        seconds(sar)
    } else {
        1.0
    };
    let fps = seconds(stream.avg_frame_rate());
    Ok(VideoInfo {
        width,
        height,
        display_aspect: width as f64 * sar / height as f64,
        fps: if fps.is_finite() && fps > 0.0 {
            fps
        } else {
            25.0
        },
    })
}

pub(super) fn unsupported(stream: &ffmpeg::format::stream::Stream) -> IngestError {
    Rejection::UnsupportedCodec {
        codec: format!("{:?}", stream.parameters().id()).to_lowercase(),
    }
    .into()
}

fn no_stream() -> IngestError {
    anyhow::anyhow!("stream vanished after opening").into()
}

/// A rational as a float (a time base in seconds, a frame rate, an aspect ratio).
pub(super) fn seconds(r: Rational) -> f64 {
    if r.denominator() == 0 {
        0.0
    } else {
        r.numerator() as f64 / r.denominator() as f64
    }
}
