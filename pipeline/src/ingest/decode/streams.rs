//! One decoder per stream: video pictures scaled to the requested size and layout, audio
//! converted to interleaved f32, each stamped with its time from the start of the clip.

use ffmpeg::codec::threading;
use ffmpeg::format::{sample, Pixel, Sample};
use ffmpeg::software::{resampling, scaling};
use ffmpeg::{decoder, frame, ChannelLayout, Packet};
use ffmpeg_next as ffmpeg;

use super::reader::{seconds, unsupported, Sink};
use super::{corrupt, AudioRequest, Decoded, Picture, PixelKind, VideoInfo, VideoRequest};
use crate::ingest::{IngestError, Rejection};

pub(super) struct VideoPath {
    pub(super) index: usize,
    decoder: decoder::Video,
    time_base: f64,
    offset_s: f64,
    frame_s: f64,
    width: u32,
    height: u32,
    pixels: PixelKind,
    scaler: Option<Scaler>,
    decoded: frame::Video,
    /// The picture before `decoded`, kept in seek mode for a point past the last picture.
    previous: Option<frame::Video>,
    last_time: f64,
    pictures: u64,
}

/// A scaler and the source layout it was made for; rebuilt when a stream changes size.
struct Scaler {
    context: scaling::Context,
    format: Pixel,
    width: u32,
    height: u32,
}

impl VideoPath {
    pub(super) fn new(
        stream: &ffmpeg::format::stream::Stream,
        request: VideoRequest,
        info: &VideoInfo,
        offset_s: f64,
    ) -> Result<VideoPath, IngestError> {
        let mut context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| corrupt("the video stream parameters are unreadable", e))?;
        // Full-HD H.264 decodes several times faster on all cores; the count is automatic.
        context.set_threading(threading::Config::kind(threading::Type::Frame));
        let decoder = context.decoder().video().map_err(|_| unsupported(stream))?;
        let width = request.width.max(1);
        let height = request
            .height
            .unwrap_or_else(|| (width as f64 / info.display_aspect).round() as u32)
            .max(1);
        Ok(VideoPath {
            index: stream.index(),
            decoder,
            time_base: seconds(stream.time_base()),
            offset_s,
            frame_s: 1.0 / info.fps,
            width,
            height,
            pixels: request.pixels,
            scaler: None,
            decoded: frame::Video::empty(),
            previous: None,
            last_time: -1.0 / info.fps,
            pictures: 0,
        })
    }

    /// Sends a packet; `false` when the decoder refused it as damaged.
    pub(super) fn send(&mut self, packet: &Packet) -> bool {
        self.decoder.send_packet(packet).is_ok()
    }

    /// Forgets decoder state after a seek.
    pub(super) fn reset(&mut self) {
        self.decoder.flush();
        self.previous = None;
    }

    /// Receives the next decoded picture into `decoded`; its time, or `None` when the decoder
    /// needs more input.
    fn next_frame(&mut self) -> Option<f64> {
        self.decoder.receive_frame(&mut self.decoded).ok()?;
        let time = match self.decoded.timestamp() {
            Some(ts) => ts as f64 * self.time_base - self.offset_s,
            None => self.last_time + self.frame_s,
        };
        self.last_time = time;
        self.pictures += 1;
        Some(time)
    }

    pub(super) fn drain(
        &mut self,
        sink: &mut dyn FnMut(Picture) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        while let Some(time) = self.next_frame() {
            let picture = self.scale_decoded(time)?;
            sink(picture)?;
        }
        Ok(())
    }

    /// Drains the decoder at the end of the file.
    pub(super) fn finish(
        &mut self,
        sink: &mut dyn FnMut(Picture) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        // An error here only means the decoder was already drained.
        let _ = self.decoder.send_eof();
        self.drain(sink)?;
        if self.pictures == 0 {
            return Err(Rejection::Corrupt {
                detail: "no picture of the video could be decoded".into(),
            }
            .into());
        }
        Ok(())
    }

    /// The first decoded picture at or after `point` (half a frame early counts), if the
    /// decoder has one ready.
    pub(super) fn first_at(&mut self, point: f64) -> Result<Option<Picture>, IngestError> {
        while let Some(time) = self.next_frame() {
            if time >= point - self.frame_s / 2.0 {
                return self.scale_decoded(time).map(Some);
            }
            let previous = self.previous.get_or_insert_with(frame::Video::empty);
            std::mem::swap(previous, &mut self.decoded);
        }
        Ok(None)
    }

    /// At the end of the file: a picture at or after `point`, else the last one before it.
    pub(super) fn first_at_end(&mut self, point: f64) -> Result<Option<Picture>, IngestError> {
        let _ = self.decoder.send_eof();
        if let Some(picture) = self.first_at(point)? {
            return Ok(Some(picture));
        }
        match self.previous.take() {
            Some(previous) => {
                let time = self.last_time;
                self.decoded = previous;
                self.scale_decoded(time).map(Some)
            }
            None => Ok(None),
        }
    }

    fn scale_decoded(&mut self, time_s: f64) -> Result<Picture, IngestError> {
        let source = &self.decoded;
        let fits = self.scaler.as_ref().is_some_and(|s| {
            s.format == source.format() && s.width == source.width() && s.height == source.height()
        });
        if !fits {
            let context = scaling::Context::get(
                source.format(),
                source.width(),
                source.height(),
                self.pixels.ffmpeg(),
                self.width,
                self.height,
                scaling::Flags::AREA,
            )
            .map_err(|e| corrupt("a picture has an unusable format", e))?;
            self.scaler = Some(Scaler {
                context,
                format: source.format(),
                width: source.width(),
                height: source.height(),
            });
        }
        let mut scaled = frame::Video::empty();
        if let Some(scaler) = self.scaler.as_mut() {
            scaler
                .context
                .run(source, &mut scaled)
                .map_err(|e| corrupt("a picture could not be scaled", e))?;
        }
        Ok(Picture {
            time_s,
            width: self.width,
            height: self.height,
            pixels: self.pixels,
            data: packed_rows(&scaled, self.width, self.height, self.pixels),
        })
    }
}

/// Copies the picture's rows without the stride padding FFmpeg adds.
fn packed_rows(frame: &frame::Video, width: u32, height: u32, pixels: PixelKind) -> Vec<u8> {
    let row = width as usize * pixels.bytes_per_pixel();
    let stride = frame.stride(0);
    let data = frame.data(0);
    let mut out = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        let start = y * stride;
        if let Some(line) = data.get(start..start + row) {
            out.extend_from_slice(line);
        }
    }
    out
}

pub(super) struct AudioPath {
    pub(super) index: usize,
    decoder: decoder::Audio,
    time_base: f64,
    offset_s: f64,
    request: AudioRequest,
    resampler: Option<Resampler>,
    decoded: frame::Audio,
    /// Time of the next sample handed out; counted in samples after the first frame so that
    /// chunks join without gaps.
    next_time: Option<f64>,
    samples_out: u64,
}

/// A resampler and the input and output it was made for.
struct Resampler {
    context: resampling::Context,
    format: Sample,
    layout: ChannelLayout,
    rate: u32,
    out_layout: ChannelLayout,
    out_rate: u32,
}

const F32_PACKED: Sample = Sample::F32(sample::Type::Packed);

impl AudioPath {
    pub(super) fn new(
        stream: &ffmpeg::format::stream::Stream,
        request: AudioRequest,
        offset_s: f64,
    ) -> Result<AudioPath, IngestError> {
        let context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| corrupt("the audio stream parameters are unreadable", e))?;
        let decoder = context.decoder().audio().map_err(|_| unsupported(stream))?;
        Ok(AudioPath {
            index: stream.index(),
            decoder,
            time_base: seconds(stream.time_base()),
            offset_s,
            request,
            resampler: None,
            decoded: frame::Audio::empty(),
            next_time: None,
            samples_out: 0,
        })
    }

    pub(super) fn send(&mut self, packet: &Packet) -> bool {
        self.decoder.send_packet(packet).is_ok()
    }

    pub(super) fn drain(&mut self, sink: Sink<'_>) -> Result<(), IngestError> {
        while self.decoder.receive_frame(&mut self.decoded).is_ok() {
            if self.decoded.samples() == 0 {
                continue;
            }
            if self.next_time.is_none() {
                let start = self
                    .decoded
                    .timestamp()
                    .map(|ts| ts as f64 * self.time_base);
                self.next_time = Some((start.unwrap_or(0.0) - self.offset_s).max(0.0));
            }
            // Some files leave the layout unset; the resampler needs one that matches.
            let layout = layout_of(&self.decoded);
            self.decoded.set_channel_layout(layout);
            let capacity = self.ensure_resampler(layout)?;
            let mut out = frame::Audio::new(F32_PACKED, capacity, self.out_layout());
            if let Some(r) = self.resampler.as_mut() {
                r.context
                    .run(&self.decoded, &mut out)
                    .map_err(|e| corrupt("the audio could not be converted", e))?;
            }
            self.emit(&out, sink)?;
        }
        Ok(())
    }

    pub(super) fn finish(&mut self, sink: Sink<'_>) -> Result<(), IngestError> {
        let _ = self.decoder.send_eof();
        self.drain(sink)?;
        while let Some(r) = self.resampler.as_mut() {
            let mut out = frame::Audio::new(F32_PACKED, 4096, r.out_layout);
            match r.context.flush(&mut out) {
                Ok(_) if out.samples() > 0 => self.emit(&out, sink)?,
                _ => break,
            }
        }
        if self.samples_out == 0 {
            return Err(Rejection::Corrupt {
                detail: "no sound of the audio stream could be decoded".into(),
            }
            .into());
        }
        Ok(())
    }

    fn out_layout(&self) -> ChannelLayout {
        self.resampler
            .as_ref()
            .map_or(ChannelLayout::STEREO, |r| r.out_layout)
    }

    /// Makes sure the resampler fits the decoded frame; returns the output capacity needed.
    fn ensure_resampler(&mut self, layout: ChannelLayout) -> Result<usize, IngestError> {
        let (format, rate) = (self.decoded.format(), self.decoded.rate());
        let fits = self
            .resampler
            .as_ref()
            .is_some_and(|r| r.format == format && r.layout == layout && r.rate == rate);
        if !fits {
            let (out_layout, out_rate) = match self.request {
                AudioRequest::Stereo { rate: out } => (ChannelLayout::STEREO, out),
                AudioRequest::Native => (layout, rate),
            };
            let context =
                resampling::Context::get(format, layout, rate, F32_PACKED, out_layout, out_rate)
                    .map_err(|e| corrupt("the audio format is unusable", e))?;
            self.resampler = Some(Resampler {
                context,
                format,
                layout,
                rate,
                out_layout,
                out_rate,
            });
        }
        let out_rate = self.resampler.as_ref().map_or(rate, |r| r.out_rate);
        // Room for the converted frame plus what the resampler still holds back.
        Ok(self.decoded.samples() * out_rate as usize / rate.max(1) as usize + 256)
    }

    fn emit(&mut self, out: &frame::Audio, sink: Sink<'_>) -> Result<(), IngestError> {
        let (frames, channels) = (out.samples(), out.channels());
        let rate = self.resampler.as_ref().map_or(out.rate(), |r| r.out_rate);
        if frames == 0 || rate == 0 {
            return Ok(());
        }
        let bytes = frames * channels as usize * 4;
        let samples: Vec<f32> = out.data(0)[..bytes.min(out.data(0).len())]
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let time_s = self.next_time.unwrap_or(0.0);
        self.next_time = Some(time_s + frames as f64 / rate as f64);
        self.samples_out += frames as u64;
        sink(Decoded::Audio {
            time_s,
            channels,
            rate,
            samples,
        })
    }
}

fn layout_of(frame: &frame::Audio) -> ChannelLayout {
    let layout = frame.channel_layout();
    if !layout.is_empty() && layout.channels() == frame.channels() as i32 {
        layout
    } else {
        ChannelLayout::default(frame.channels() as i32)
    }
}
