//! Encoding side of normalize and proxy: an MP4 (+faststart) with one libx264 video stream
//! (High profile, closed GOP of fixed length, CRF or bitrate under VBV) and one AAC-LC
//! stereo stream. Timestamps are frame and sample counters, never the source's.

use std::path::Path;

use ffmpeg_next::{codec, encoder, format, frame, ChannelLayout, Dictionary, Packet, Rational};

use crate::ingest::IngestError;

/// Encoder threads: the worker runs jobs in parallel, so each stays small.
const ENCODER_THREADS: &str = "2";
/// AAC frame length in samples.
pub(crate) const AAC_FRAME: usize = 1024;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VideoRate {
    /// Constant rate factor with a peak bitrate cap, kbit/s.
    Crf { crf: u32, max_kbps: u32 },
    /// Average bitrate, kbit/s (for proxies).
    Bitrate { kbps: u32 },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EncodeSpec {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub gop_frames: u32,
    pub preset: String,
    pub rate: VideoRate,
    pub audio_rate: u32,
    pub audio_kbps: u32,
}

pub(crate) struct Muxer {
    octx: format::context::Output,
    video: encoder::Video,
    audio: encoder::Audio,
    video_tb: Rational,
    audio_tb: Rational,
    /// Planar stereo samples waiting to fill an AAC frame.
    fifo: [Vec<f32>; 2],
    pub video_frames: u64,
    pub audio_samples: u64,
}

fn internal(what: &str, e: ffmpeg_next::Error) -> IngestError {
    anyhow::anyhow!("{what}: {e}").into()
}

impl Muxer {
    pub(crate) fn create(path: &Path, spec: &EncodeSpec) -> Result<Muxer, IngestError> {
        let mut octx = format::output_as(path, "mp4").map_err(|e| internal("create output", e))?;
        let global = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);
        let video = open_video(&mut octx, spec, global)?;
        let audio = open_audio(&mut octx, spec, global)?;
        let mut options = Dictionary::new();
        options.set("movflags", "+faststart");
        octx.write_header_with(options)
            .map_err(|e| internal("write header", e))?;
        let video_tb = octx
            .stream(0)
            .map(|s| s.time_base())
            .unwrap_or(Rational(1, 1));
        let audio_tb = octx
            .stream(1)
            .map(|s| s.time_base())
            .unwrap_or(Rational(1, 1));
        Ok(Muxer {
            octx,
            video,
            audio,
            video_tb,
            audio_tb,
            fifo: [Vec::new(), Vec::new()],
            video_frames: 0,
            audio_samples: 0,
        })
    }

    /// Encodes the next picture; its timestamp is its frame number.
    pub(crate) fn write_video(&mut self, mut picture: frame::Video) -> Result<(), IngestError> {
        picture.set_pts(Some(self.video_frames as i64));
        picture.set_kind(ffmpeg_next::picture::Type::None);
        self.video_frames += 1;
        self.video
            .send_frame(&picture)
            .map_err(|e| internal("video encoder", e))?;
        self.drain_video()
    }

    /// Queues the `range` of planar stereo samples; whole AAC frames are encoded as they fill.
    pub(crate) fn write_audio(
        &mut self,
        samples: &frame::Audio,
        range: std::ops::Range<usize>,
    ) -> Result<(), IngestError> {
        let end = range.end.min(samples.samples());
        let start = range.start.min(end);
        for (ch, fifo) in self.fifo.iter_mut().enumerate() {
            fifo.extend_from_slice(&samples.plane::<f32>(ch)[start..end]);
        }
        self.encode_full_frames()
    }

    /// Queues `count` samples of silence.
    pub(crate) fn write_silence(&mut self, count: u64) -> Result<(), IngestError> {
        let mut left = count as usize;
        while left > 0 {
            let n = left.min(AAC_FRAME * 16);
            for fifo in self.fifo.iter_mut() {
                fifo.resize(fifo.len() + n, 0.0);
            }
            left -= n;
            self.encode_full_frames()?;
        }
        Ok(())
    }

    /// Samples queued or encoded so far.
    pub(crate) fn audio_written(&self) -> u64 {
        self.audio_samples + self.fifo[0].len() as u64
    }

    /// Flushes both encoders (the last AAC frame may be short) and writes the index.
    pub(crate) fn finish(mut self) -> Result<(), IngestError> {
        if !self.fifo[0].is_empty() {
            let n = self.fifo[0].len();
            self.encode_audio_frame(n)?;
        }
        self.video
            .send_eof()
            .map_err(|e| internal("video encoder flush", e))?;
        self.drain_video()?;
        self.audio
            .send_eof()
            .map_err(|e| internal("audio encoder flush", e))?;
        self.drain_audio()?;
        self.octx
            .write_trailer()
            .map_err(|e| internal("write trailer", e))
    }

    fn encode_full_frames(&mut self) -> Result<(), IngestError> {
        while self.fifo[0].len() >= AAC_FRAME {
            self.encode_audio_frame(AAC_FRAME)?;
        }
        Ok(())
    }

    fn encode_audio_frame(&mut self, n: usize) -> Result<(), IngestError> {
        let mut out = frame::Audio::new(
            format::Sample::F32(format::sample::Type::Planar),
            n,
            ChannelLayout::STEREO,
        );
        out.set_rate(self.audio.rate());
        for (ch, fifo) in self.fifo.iter_mut().enumerate() {
            out.plane_mut::<f32>(ch)[..n].copy_from_slice(&fifo[..n]);
            fifo.drain(..n);
        }
        out.set_pts(Some(self.audio_samples as i64));
        self.audio_samples += n as u64;
        self.audio
            .send_frame(&out)
            .map_err(|e| internal("audio encoder", e))?;
        self.drain_audio()
    }

    fn drain_video(&mut self) -> Result<(), IngestError> {
        let mut packet = Packet::empty();
        let tb = self.video.time_base();
        while self.video.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            // One frame long: the muxer then records the true stream length and rate.
            packet.set_duration(1);
            packet.rescale_ts(tb, self.video_tb);
            packet
                .write_interleaved(&mut self.octx)
                .map_err(|e| internal("write video", e))?;
        }
        Ok(())
    }

    fn drain_audio(&mut self) -> Result<(), IngestError> {
        let mut packet = Packet::empty();
        let tb = self.audio.time_base();
        while self.audio.receive_packet(&mut packet).is_ok() {
            packet.set_stream(1);
            packet.rescale_ts(tb, self.audio_tb);
            packet
                .write_interleaved(&mut self.octx)
                .map_err(|e| internal("write audio", e))?;
        }
        Ok(())
    }
}

fn open_video(
    octx: &mut format::context::Output,
    spec: &EncodeSpec,
    global: bool,
) -> Result<encoder::Video, IngestError> {
    let codec = encoder::find_by_name("libx264")
        .ok_or_else(|| anyhow::anyhow!("the libx264 encoder is not available"))?;
    let mut ost = octx
        .add_stream(codec)
        .map_err(|e| internal("add video", e))?;
    let opened = x264_encoder(spec, global)?;
    ost.set_parameters(&opened);
    ost.set_time_base(Rational(1, spec.fps as i32));
    Ok(opened)
}

/// An opened libx264 encoder with the house settings of `spec` (time base 1/fps); `global`
/// puts SPS/PPS in the extradata instead of in-band. The render opens its stretch encoders
/// here too, so that re-encoded and copied stretches share one set of parameters.
pub(crate) fn x264_encoder(spec: &EncodeSpec, global: bool) -> Result<encoder::Video, IngestError> {
    let codec = encoder::find_by_name("libx264")
        .ok_or_else(|| anyhow::anyhow!("the libx264 encoder is not available"))?;
    let mut enc = codec::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| internal("video encoder", e))?;
    enc.set_width(spec.width);
    enc.set_height(spec.height);
    enc.set_format(format::Pixel::YUV420P);
    enc.set_time_base(Rational(1, spec.fps as i32));
    enc.set_frame_rate(Some(Rational(spec.fps as i32, 1)));
    enc.set_aspect_ratio(Rational(1, 1));
    enc.set_gop(spec.gop_frames);
    if global {
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let g = spec.gop_frames;
    let rate = match spec.rate {
        VideoRate::Crf { crf, max_kbps } => {
            format!(
                "crf={crf}:vbv-maxrate={max_kbps}:vbv-bufsize={}",
                max_kbps * 2
            )
        }
        VideoRate::Bitrate { kbps } => format!(
            "bitrate={kbps}:vbv-maxrate={}:vbv-bufsize={}",
            kbps * 3 / 2,
            kbps * 2
        ),
    };
    let mut options = Dictionary::new();
    options.set("preset", &spec.preset);
    options.set("profile", "high");
    options.set("threads", ENCODER_THREADS);
    // A keyframe exactly every g frames, each an IDR that closes its GOP. The 8x8 transform
    // and CABAC make the stream High profile even with the fastest presets, which turn
    // them off (x264 signals the lowest profile the stream needs).
    options.set(
        "x264-params",
        &format!("keyint={g}:min-keyint={g}:scenecut=0:open-gop=0:8x8dct=1:cabac=1:{rate}"),
    );
    enc.open_with(options)
        .map_err(|e| internal("open libx264", e))
}

fn open_audio(
    octx: &mut format::context::Output,
    spec: &EncodeSpec,
    global: bool,
) -> Result<encoder::Audio, IngestError> {
    let codec = encoder::find(codec::Id::AAC)
        .ok_or_else(|| anyhow::anyhow!("the AAC encoder is not available"))?;
    let mut ost = octx
        .add_stream(codec)
        .map_err(|e| internal("add audio", e))?;
    let mut enc = codec::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(|e| internal("audio encoder", e))?;
    enc.set_rate(spec.audio_rate as i32);
    enc.set_channel_layout(ChannelLayout::STEREO);
    enc.set_format(format::Sample::F32(format::sample::Type::Planar));
    enc.set_bit_rate(spec.audio_kbps as usize * 1000);
    enc.set_time_base(Rational(1, spec.audio_rate as i32));
    if global {
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let opened = enc
        .open_as(codec)
        .map_err(|e| internal("open AAC encoder", e))?;
    ost.set_parameters(&opened);
    ost.set_time_base(Rational(1, spec.audio_rate as i32));
    Ok(opened)
}
