//! Segment files: the interface between whoever draws a host card, bumper, break or slate and
//! the program render. A segment is Matroska with one H.264 stream in the house format (house
//! x264 settings, closed GOP of `gop_frames`, first frame a keyframe, an exact frame count) and
//! one PCM s16le stereo stream at the house rate with exactly `frames × samples_per_frame`
//! samples. The render stream-copies a segment's middle GOPs like an act's.

use std::path::{Path, PathBuf};

use ffmpeg_next::{codec, encoder, format, frame, software, ChannelLayout, Packet, Rational};

use super::text::{self, Font, Rgb};
use super::{media_error, RenderError};
use crate::config::HouseFormat;
use crate::ingest::normalize::encode::x264_encoder;
use crate::ingest::normalize::house_encoding;

/// A finished segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub path: PathBuf,
    /// Video frames; the audio holds exactly `frames × samples_per_frame` samples.
    pub frames: u64,
}

/// A libx264 encoder with the house settings, SPS/PPS in its extradata; timestamps are frame
/// numbers from 0.
pub(crate) struct HouseEncoder {
    enc: encoder::Video,
    sent: i64,
}

impl HouseEncoder {
    pub(crate) fn open(house: &HouseFormat) -> Result<HouseEncoder, RenderError> {
        let enc = x264_encoder(&house_encoding(house), true)?;
        Ok(HouseEncoder { enc, sent: 0 })
    }

    /// The encoder's extradata (Annex B SPS and PPS).
    pub(crate) fn extradata(&self) -> Vec<u8> {
        // SAFETY: the opened encoder's context owns `extradata_size` bytes of extradata.
        unsafe {
            let ctx = &*self.enc.as_ptr();
            if ctx.extradata.is_null() || ctx.extradata_size <= 0 {
                return Vec::new();
            }
            std::slice::from_raw_parts(ctx.extradata, ctx.extradata_size as usize).to_vec()
        }
    }

    pub(crate) fn encoder(&self) -> &encoder::Video {
        &self.enc
    }

    /// Encodes the next picture (YUV420P, house size); finished packets go to `out`.
    pub(crate) fn send(
        &mut self,
        picture: &mut frame::Video,
        out: &mut Vec<Packet>,
    ) -> Result<(), RenderError> {
        picture.set_pts(Some(self.sent));
        picture.set_kind(ffmpeg_next::picture::Type::None);
        self.sent += 1;
        self.enc
            .send_frame(picture)
            .map_err(media_error("video encoder"))?;
        self.drain(out);
        Ok(())
    }

    /// Pictures sent so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent as u64
    }

    pub(crate) fn finish(&mut self, out: &mut Vec<Packet>) -> Result<(), RenderError> {
        self.enc
            .send_eof()
            .map_err(media_error("video encoder flush"))?;
        self.drain(out);
        Ok(())
    }

    fn drain(&mut self, out: &mut Vec<Packet>) {
        let mut packet = Packet::empty();
        while self.enc.receive_packet(&mut packet).is_ok() {
            out.push(std::mem::replace(&mut packet, Packet::empty()));
        }
    }
}

/// An AAC-LC encoder with the house rate and bitrate, stereo planar float in; `global`
/// puts the AudioSpecificConfig in the extradata (MP4, FLV).
pub(crate) fn house_aac(house: &HouseFormat, global: bool) -> Result<encoder::Audio, RenderError> {
    let codec = encoder::find(codec::Id::AAC)
        .ok_or_else(|| anyhow::anyhow!("the AAC encoder is not available"))?;
    let mut enc = codec::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(media_error("aac encoder"))?;
    enc.set_rate(house.audio_sample_rate as i32);
    enc.set_channel_layout(ChannelLayout::STEREO);
    enc.set_format(format::Sample::F32(format::sample::Type::Planar));
    enc.set_bit_rate(house.audio_kbps as usize * 1000);
    enc.set_time_base(Rational(1, house.audio_sample_rate as i32));
    if global {
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    enc.open_as(codec).map_err(media_error("open aac"))
}

/// Writes one segment file: push pictures and sound, then [`SegmentWriter::finish`].
pub struct SegmentWriter {
    octx: format::context::Output,
    encoder: HouseEncoder,
    house: HouseFormat,
    path: PathBuf,
    scaler: Option<software::scaling::Context>,
    video_tb: Rational,
    audio_tb: Rational,
    /// Interleaved s16 stereo samples not yet written.
    pending: Vec<i16>,
    samples: u64,
}

impl SegmentWriter {
    /// Creates `path` (Matroska) for the house format.
    pub fn create(path: &Path, house: &HouseFormat) -> Result<SegmentWriter, RenderError> {
        crate::ingest::init_ffmpeg();
        let mut octx =
            format::output_as(path, "matroska").map_err(media_error("create segment"))?;
        let encoder = HouseEncoder::open(house)?;
        let mut vst = octx
            .add_stream(encoder::find_by_name("libx264"))
            .map_err(media_error("add video"))?;
        vst.set_parameters(encoder.encoder());
        vst.set_time_base(Rational(1, house.fps as i32));
        let pcm = encoder::find(codec::Id::PCM_S16LE)
            .ok_or_else(|| anyhow::anyhow!("the PCM encoder is not available"))?;
        let mut actx = codec::Context::new_with_codec(pcm)
            .encoder()
            .audio()
            .map_err(media_error("pcm encoder"))?;
        actx.set_rate(house.audio_sample_rate as i32);
        actx.set_channel_layout(ChannelLayout::STEREO);
        actx.set_format(format::Sample::I16(format::sample::Type::Packed));
        actx.set_time_base(Rational(1, house.audio_sample_rate as i32));
        let audio = actx.open_as(pcm).map_err(media_error("open pcm encoder"))?;
        let mut ast = octx.add_stream(pcm).map_err(media_error("add audio"))?;
        ast.set_parameters(&audio);
        ast.set_time_base(Rational(1, house.audio_sample_rate as i32));
        octx.write_header().map_err(media_error("segment header"))?;
        let video_tb = octx.stream(0).map_or(Rational(1, 1000), |s| s.time_base());
        let audio_tb = octx.stream(1).map_or(Rational(1, 1000), |s| s.time_base());
        Ok(SegmentWriter {
            octx,
            encoder,
            house: house.clone(),
            path: path.to_path_buf(),
            scaler: None,
            video_tb,
            audio_tb,
            pending: Vec::new(),
            samples: 0,
        })
    }

    /// Adds a YUV420P picture of the house size.
    pub fn push_yuv(&mut self, picture: &mut frame::Video) -> Result<(), RenderError> {
        if picture.format() != format::Pixel::YUV420P
            || (picture.width(), picture.height()) != (self.house.width, self.house.height)
        {
            return Err(RenderError::Plan(format!(
                "segment pictures must be {}x{} yuv420p",
                self.house.width, self.house.height
            )));
        }
        let mut packets = Vec::new();
        self.encoder.send(picture, &mut packets)?;
        self.write_video(packets)?;
        self.write_audio_due()
    }

    /// Adds an RGB picture (`width × height × 3` bytes, rows packed) of the house size.
    pub fn push_rgb(&mut self, rgb: &[u8]) -> Result<(), RenderError> {
        let (w, h) = (self.house.width, self.house.height);
        if rgb.len() != (w * h * 3) as usize {
            return Err(RenderError::Plan(format!(
                "an RGB picture of {w}x{h} is {} bytes",
                w * h * 3
            )));
        }
        let mut source = frame::Video::new(format::Pixel::RGB24, w, h);
        let stride = source.stride(0);
        for (row, line) in rgb.chunks(w as usize * 3).enumerate() {
            source.data_mut(0)[row * stride..row * stride + line.len()].copy_from_slice(line);
        }
        if self.scaler.is_none() {
            self.scaler = Some(
                software::scaling::Context::get(
                    format::Pixel::RGB24,
                    w,
                    h,
                    format::Pixel::YUV420P,
                    w,
                    h,
                    software::scaling::Flags::BILINEAR,
                )
                .map_err(media_error("scaler"))?,
            );
        }
        let mut yuv = frame::Video::empty();
        if let Some(scaler) = self.scaler.as_mut() {
            scaler
                .run(&source, &mut yuv)
                .map_err(media_error("rgb to yuv"))?;
        }
        self.push_yuv(&mut yuv)
    }

    /// Adds interleaved stereo samples (f32, −1..1) at the house rate.
    pub fn push_audio(&mut self, interleaved: &[f32]) -> Result<(), RenderError> {
        self.pending.extend(
            interleaved
                .iter()
                .map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16),
        );
        self.write_audio_due()
    }

    /// Pictures so far.
    pub fn frames(&self) -> u64 {
        self.encoder.sent()
    }

    /// Ends the file: sound is cut or padded with silence to exactly `frames ×
    /// samples_per_frame` samples.
    pub fn finish(mut self) -> Result<Segment, RenderError> {
        let frames = self.encoder.sent();
        if frames == 0 {
            return Err(RenderError::Plan(
                "a segment needs at least one picture".into(),
            ));
        }
        let mut packets = Vec::new();
        self.encoder.finish(&mut packets)?;
        self.write_video(packets)?;
        let total = frames * u64::from(self.house.samples_per_frame());
        let have = self.samples + self.pending.len() as u64 / 2;
        if have < total {
            self.pending
                .resize(self.pending.len() + 2 * (total - have) as usize, 0);
        }
        self.pending.truncate(2 * (total - self.samples) as usize);
        self.write_audio(self.pending.len() / 2)?;
        self.octx
            .write_trailer()
            .map_err(media_error("segment trailer"))?;
        Ok(Segment {
            path: self.path,
            frames,
        })
    }

    fn write_video(&mut self, packets: Vec<Packet>) -> Result<(), RenderError> {
        for mut packet in packets {
            packet.set_stream(0);
            packet.set_duration(1);
            packet.rescale_ts(Rational(1, self.house.fps as i32), self.video_tb);
            packet
                .write_interleaved(&mut self.octx)
                .map_err(media_error("write segment video"))?;
        }
        Ok(())
    }

    /// Writes whole frames' worth of pending audio up to the pictures sent.
    fn write_audio_due(&mut self) -> Result<(), RenderError> {
        let spf = u64::from(self.house.samples_per_frame());
        let due = (self.encoder.sent() * spf).saturating_sub(self.samples);
        let n = due.min(self.pending.len() as u64 / 2);
        let n = n - n % spf;
        if n > 0 {
            self.write_audio(n as usize)?;
        }
        Ok(())
    }

    fn write_audio(&mut self, samples: usize) -> Result<(), RenderError> {
        if samples == 0 {
            return Ok(());
        }
        let bytes: Vec<u8> = self.pending[..samples * 2]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        self.pending.drain(..samples * 2);
        let mut packet = Packet::copy(&bytes);
        packet.set_stream(1);
        packet.set_pts(Some(self.samples as i64));
        packet.set_dts(Some(self.samples as i64));
        packet.set_duration(samples as i64);
        packet.set_flags(codec::packet::Flags::KEY);
        packet.rescale_ts(
            Rational(1, self.house.audio_sample_rate as i32),
            self.audio_tb,
        );
        self.samples += samples as u64;
        packet
            .write_interleaved(&mut self.octx)
            .map_err(media_error("write segment audio"))
    }
}

/// Background of slates: near-black blue.
const SLATE_BACKGROUND: Rgb = Rgb(18, 22, 34);

/// The slate picture: `text` centred (wrapped, CJK-capable) on a dark background.
pub(crate) fn slate_picture(house: &HouseFormat, font: &Font, text: &str) -> frame::Video {
    let px = (house.height as f32 / 12.0).max(10.0);
    let lines = font.wrap(text, px, house.width as f32 * 0.8);
    let mut picture = text::solid_picture(house.width, house.height, SLATE_BACKGROUND);
    font.draw_centered(
        &mut picture,
        &lines,
        px,
        house.height as f32 / 2.0,
        Rgb::WHITE,
    );
    picture
}

/// A slate segment: the slate picture with silence, exactly `frames` frames.
pub fn render_slate(
    path: &Path,
    house: &HouseFormat,
    font: &Font,
    text: &str,
    frames: u64,
) -> Result<Segment, RenderError> {
    let mut writer = SegmentWriter::create(path, house)?;
    let picture = slate_picture(house, font, text);
    for _ in 0..frames {
        let mut copy = picture.clone();
        writer.push_yuv(&mut copy)?;
    }
    writer.finish()
}
