//! The one encode of a live program: house frames in, H.264 (house x264 settings: a closed GOP
//! every `gop_seconds`, so late viewers join within 2 s) and AAC-LC packets out, stamped from
//! frame and sample counters only. Every destination gets the same packets.

use std::sync::Arc;

use ffmpeg_next::{codec, encoder, format, frame, ChannelLayout, Packet};

use super::frames::HouseFrame;
use crate::config::HouseFormat;
use crate::render::avc;
use crate::render::segment::{house_aac, HouseEncoder};
use crate::render::{media_error, RenderError};

/// AAC frame length in samples.
const AAC_FRAME: usize = 1024;

/// Which stream a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// Time base 1/fps.
    Video,
    /// Time base 1/sample rate.
    Audio,
}

/// An encoded packet, shared by every destination.
#[derive(Debug, Clone)]
pub struct LivePacket {
    pub track: Track,
    pub pts: i64,
    pub dts: i64,
    pub duration: i64,
    pub key: bool,
    pub data: Arc<[u8]>,
}

impl LivePacket {
    /// An encoder's packet; video goes from Annex B to AVCC.
    pub(crate) fn from_packet(track: Track, packet: &Packet) -> Option<LivePacket> {
        let data = packet.data()?;
        Some(LivePacket {
            track,
            pts: packet.pts()?,
            dts: packet.dts().or(packet.pts())?,
            duration: packet.duration(),
            key: packet.is_key(),
            data: match track {
                Track::Video => Arc::from(avc::annexb_to_avcc(data)),
                Track::Audio => Arc::from(data),
            },
        })
    }

    /// Seconds of media time at this packet's decode timestamp.
    pub fn dts_seconds(&self, house: &HouseFormat) -> f64 {
        let rate = match self.track {
            Track::Video => house.fps,
            Track::Audio => house.audio_sample_rate,
        };
        self.dts as f64 / f64::from(rate)
    }
}

/// What a muxer needs to declare the two streams (codec parameters with their extradata).
/// Video packets are length-prefixed (AVCC, 4-byte lengths) and declared with avcC
/// extradata, so that encoded and stream-copied packets mix.
#[derive(Clone)]
pub struct StreamSetup {
    pub house: HouseFormat,
    pub video: codec::Parameters,
    pub audio: codec::Parameters,
    /// avcC extradata of the house encoder's SPS and PPS.
    pub video_avcc: Vec<u8>,
    /// The house encoder's SPS and PPS: a file is copied only when its own are these.
    pub parameter_sets: Vec<Vec<u8>>,
    /// Frames between decode and presentation order (B-frames): the first dts is −delay.
    pub delay: i64,
}

/// An AAC-LC encoder at the house rate, fed interleaved stereo. Its packets are stamped from
/// the samples fed, so the first one (the encoder's priming) is at −1024.
pub struct AacEncoder {
    enc: encoder::Audio,
    rate: u32,
    /// Interleaved stereo samples not yet sent.
    pending: Vec<f32>,
    fed: i64,
}

impl AacEncoder {
    pub fn open(house: &HouseFormat) -> Result<AacEncoder, RenderError> {
        crate::ingest::init_ffmpeg();
        // FLV carries the AudioSpecificConfig once, in the stream header.
        let enc = house_aac(house, true)?;
        Ok(AacEncoder {
            enc,
            rate: house.audio_sample_rate,
            pending: Vec::new(),
            fed: 0,
        })
    }

    pub fn parameters(&self) -> codec::Parameters {
        codec::Parameters::from(&self.enc)
    }

    /// Encodes whole AAC frames of `sound`; the rest waits for more (or `finish`).
    pub fn encode(&mut self, sound: &[f32], out: &mut Vec<LivePacket>) -> Result<(), RenderError> {
        self.pending.extend_from_slice(sound);
        while self.pending.len() >= 2 * AAC_FRAME {
            let chunk: Vec<f32> = self.pending.drain(..2 * AAC_FRAME).collect();
            self.send(&chunk, out)?;
        }
        Ok(())
    }

    /// Encodes what is pending (a last partial frame) and flushes the encoder.
    pub fn finish(&mut self, out: &mut Vec<LivePacket>) -> Result<(), RenderError> {
        if !self.pending.is_empty() {
            let chunk = std::mem::take(&mut self.pending);
            self.send(&chunk, out)?;
        }
        self.enc.send_eof().map_err(media_error("aac flush"))?;
        self.drain(out);
        Ok(())
    }

    fn send(&mut self, interleaved: &[f32], out: &mut Vec<LivePacket>) -> Result<(), RenderError> {
        let n = interleaved.len() / 2;
        let mut f = frame::Audio::new(
            format::Sample::F32(format::sample::Type::Planar),
            n,
            ChannelLayout::STEREO,
        );
        f.set_rate(self.rate);
        for ch in 0..2 {
            let plane = f.plane_mut::<f32>(ch);
            for (i, s) in plane.iter_mut().enumerate().take(n) {
                *s = interleaved[i * 2 + ch].clamp(-1.0, 1.0);
            }
        }
        f.set_pts(Some(self.fed));
        self.fed += n as i64;
        self.enc
            .send_frame(&f)
            .map_err(media_error("aac encoder"))?;
        self.drain(out);
        Ok(())
    }

    fn drain(&mut self, out: &mut Vec<LivePacket>) {
        let mut packet = Packet::empty();
        while self.enc.receive_packet(&mut packet).is_ok() {
            if let Some(p) = LivePacket::from_packet(Track::Audio, &packet) {
                out.push(p);
            }
        }
    }
}

/// One AAC packet of silence, for padding the sound of copied items to the picture.
pub fn aac_silence(house: &HouseFormat) -> Result<Arc<[u8]>, RenderError> {
    let mut aac = AacEncoder::open(house)?;
    let mut out = Vec::new();
    aac.encode(&vec![0.0; 2 * AAC_FRAME * 4], &mut out)?;
    out.into_iter()
        .find(|p| p.pts >= 0)
        .map(|p| p.data)
        .ok_or_else(|| anyhow::anyhow!("the AAC encoder gave no packet for silence").into())
}

/// The program's encoders.
pub struct LiveEncoder {
    video: HouseEncoder,
    audio: AacEncoder,
    house: HouseFormat,
}

impl LiveEncoder {
    pub fn open(house: &HouseFormat) -> Result<LiveEncoder, RenderError> {
        crate::ingest::init_ffmpeg();
        Ok(LiveEncoder {
            video: HouseEncoder::open(house)?,
            audio: AacEncoder::open(house)?,
            house: house.clone(),
        })
    }

    /// The codec parameters of both streams, for the destinations' muxers.
    pub fn setup(&self) -> Result<StreamSetup, RenderError> {
        let sets = avc::parameter_sets(&self.video.extradata())
            .ok_or_else(|| anyhow::anyhow!("the house encoder gave no SPS/PPS"))?;
        let video_avcc = avc::avcc_extradata(&sets)
            .ok_or_else(|| anyhow::anyhow!("the house SPS is too short"))?;
        // SAFETY: the opened encoder's context; has_b_frames is its reorder delay.
        let delay = unsafe { (*self.video.encoder().as_ptr()).has_b_frames };
        Ok(StreamSetup {
            house: self.house.clone(),
            video: codec::Parameters::from(self.video.encoder()),
            audio: self.audio.parameters(),
            video_avcc,
            parameter_sets: sets,
            delay: i64::from(delay),
        })
    }

    /// Encodes one house frame; the packets that came out go to `out`.
    pub fn encode(
        &mut self,
        frame: &mut HouseFrame,
        out: &mut Vec<LivePacket>,
    ) -> Result<(), RenderError> {
        let mut packets = Vec::new();
        self.video.send(&mut frame.picture, &mut packets)?;
        out.extend(
            packets
                .iter()
                .filter_map(|p| LivePacket::from_packet(Track::Video, p)),
        );
        self.audio.encode(&frame.sound, out)
    }

    /// Flushes both encoders at the end of the program (the last partial AAC frame included).
    pub fn finish(&mut self, out: &mut Vec<LivePacket>) -> Result<(), RenderError> {
        let mut packets = Vec::new();
        if self.video.sent() > 0 {
            self.video.finish(&mut packets)?;
        }
        out.extend(
            packets
                .iter()
                .filter_map(|p| LivePacket::from_packet(Track::Video, p)),
        );
        self.audio.finish(out)
    }
}
