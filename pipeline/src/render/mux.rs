//! The last pass: the master MP4. Video packets from the log as they are; the whole program
//! audio encoded once as AAC-LC (one encode: no priming gaps at joins) with the loudness
//! gain; chapters (one per item) and, when captions are a track, a mov_text stream; faststart.

use std::path::Path;

use ffmpeg_next::{codec, encoder, format, frame, ChannelLayout, Dictionary, Packet, Rational};

use super::assemble::Chapter;
use super::audio::ProgramAudioReader;
use super::segment::HouseEncoder;
use super::vlog::VideoLogReader;
use super::{avc, media_error, RenderError};
use crate::ai::captions::Cue;
use crate::config::HouseFormat;

/// AAC frame length in samples.
const AAC_FRAME: usize = 1024;

/// The 3GPP TextSampleEntry FFmpeg's own mov_text encoder writes: no box, bottom centred,
/// white, one font ("Serif").
const TEXT_SAMPLE_ENTRY: [u8; 48] = [
    0, 0, 0, 0, 0x01, 0xff, 0, 0, 0, 0, // flags, justification, background
    0, 0, 0, 0, 0, 0, 0, 0, // default text box
    0, 0, 0, 0, 0, 1, 0, 0x12, 0xff, 0xff, 0xff, 0xff, // style record
    0, 0, 0, 0x12, b'f', b't', b'a', b'b', 0, 1, 0, 1, 5, b'S', b'e', b'r', b'i', b'f',
];

pub(crate) struct MuxJob<'a> {
    pub house: &'a HouseFormat,
    pub video: &'a Path,
    pub extradata: &'a [u8],
    pub audio: &'a Path,
    pub gain_db: f64,
    pub cues: &'a [Cue],
    pub chapters: &'a [Chapter],
    pub out: &'a Path,
}

/// Writes the master; returns the number of chapters.
pub(crate) fn mux(job: &MuxJob) -> Result<usize, RenderError> {
    let house = job.house;
    let fps = house.fps as i32;
    let rate = house.audio_sample_rate as i32;
    let mut octx = format::output_as(job.out, "mp4").map_err(media_error("create master"))?;
    let reference = HouseEncoder::open(house)?;
    {
        let mut vst = octx
            .add_stream(encoder::find_by_name("libx264"))
            .map_err(media_error("add video"))?;
        vst.set_parameters(reference.encoder());
        avc::set_extradata(&mut vst, job.extradata);
        vst.set_time_base(Rational(1, fps));
    }
    let mut aac = open_aac(&mut octx, house)?;
    let subtitles = !job.cues.is_empty();
    if subtitles {
        let mut sst = octx
            .add_stream(encoder::find(codec::Id::MOV_TEXT))
            .map_err(media_error("add subtitles"))?;
        // SAFETY: the new stream's codec parameters, filled in before the header is written.
        unsafe {
            let par = (*sst.as_mut_ptr()).codecpar;
            (*par).codec_type = ffmpeg_next::ffi::AVMediaType::AVMEDIA_TYPE_SUBTITLE;
            (*par).codec_id = ffmpeg_next::ffi::AVCodecID::AV_CODEC_ID_MOV_TEXT;
        }
        avc::set_extradata(&mut sst, &TEXT_SAMPLE_ENTRY);
        sst.set_time_base(Rational(1, 1000));
    }
    for (i, c) in job.chapters.iter().enumerate() {
        let end = c.start_frame + c.frames;
        octx.add_chapter(
            i as i64,
            Rational(1, fps),
            c.start_frame as i64,
            end as i64,
            &c.title,
        )
        .map_err(media_error("add chapter"))?;
    }
    let mut options = Dictionary::new();
    options.set("movflags", "+faststart");
    octx.write_header_with(options)
        .map_err(media_error("master header"))?;
    let tb = |i: usize, octx: &format::context::Output| {
        octx.stream(i).map_or(Rational(1, 1000), |s| s.time_base())
    };
    let (video_tb, audio_tb) = (tb(0, &octx), tb(1, &octx));
    let mut captions = Captions {
        samples: cue_samples(job.cues),
        next: 0,
        tb: if subtitles {
            tb(2, &octx)
        } else {
            Rational(1, 1000)
        },
    };
    let gain = 10f32.powf(job.gain_db as f32 / 20.0);
    let mut audio = AudioFeed {
        reader: ProgramAudioReader::open(job.audio)?,
        gain,
        encoded: 0,
        tb: audio_tb,
    };
    let spf = i64::from(house.samples_per_frame());
    let mut log = VideoLogReader::open(job.video)?;
    while let Some(v) = log.next_packet()? {
        // Keep the sound about one frame ahead of the picture being written.
        audio.encode_until(&mut aac, &mut octx, (v.dts + 2).max(0) * spf, rate)?;
        captions.write_until(&mut octx, v.dts * 1000 / i64::from(fps))?;
        let mut packet = Packet::copy(&v.data);
        packet.set_stream(0);
        packet.set_pts(Some(v.pts));
        packet.set_dts(Some(v.dts));
        packet.set_duration(1);
        if v.key {
            packet.set_flags(codec::packet::Flags::KEY);
        }
        packet.rescale_ts(Rational(1, fps), video_tb);
        packet
            .write_interleaved(&mut octx)
            .map_err(media_error("write master video"))?;
    }
    audio.encode_until(&mut aac, &mut octx, i64::MAX, rate)?;
    captions.write_until(&mut octx, i64::MAX)?;
    aac.send_eof().map_err(media_error("aac flush"))?;
    audio.drain(&mut aac, &mut octx)?;
    octx.write_trailer()
        .map_err(media_error("master trailer"))?;
    Ok(job.chapters.len())
}

fn open_aac(
    octx: &mut format::context::Output,
    house: &HouseFormat,
) -> Result<encoder::Audio, RenderError> {
    let global = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);
    let opened = super::segment::house_aac(house, global)?;
    let mut ast = octx
        .add_stream(encoder::find(codec::Id::AAC))
        .map_err(media_error("add audio"))?;
    ast.set_parameters(&opened);
    ast.set_time_base(Rational(1, house.audio_sample_rate as i32));
    Ok(opened)
}

/// The program audio on its way into the AAC encoder.
struct AudioFeed {
    reader: ProgramAudioReader,
    gain: f32,
    /// Samples sent to the encoder.
    encoded: i64,
    tb: Rational,
}

impl AudioFeed {
    /// Encodes whole AAC frames until `samples` are sent (or the audio ends).
    fn encode_until(
        &mut self,
        aac: &mut encoder::Audio,
        octx: &mut format::context::Output,
        samples: i64,
        rate: i32,
    ) -> Result<(), RenderError> {
        while self.encoded < samples {
            let chunk = self.reader.read(AAC_FRAME)?;
            if chunk.is_empty() {
                return Ok(());
            }
            let n = chunk.len() / 2;
            let mut out = frame::Audio::new(
                format::Sample::F32(format::sample::Type::Planar),
                n,
                ChannelLayout::STEREO,
            );
            out.set_rate(rate as u32);
            for ch in 0..2 {
                let plane = out.plane_mut::<f32>(ch);
                for i in 0..n {
                    plane[i] = chunk[i * 2 + ch] * self.gain;
                }
            }
            out.set_pts(Some(self.encoded));
            self.encoded += n as i64;
            aac.send_frame(&out).map_err(media_error("aac encoder"))?;
            self.drain(aac, octx)?;
        }
        Ok(())
    }

    fn drain(
        &mut self,
        aac: &mut encoder::Audio,
        octx: &mut format::context::Output,
    ) -> Result<(), RenderError> {
        let mut packet = Packet::empty();
        while aac.receive_packet(&mut packet).is_ok() {
            packet.set_stream(1);
            packet.rescale_ts(aac.time_base(), self.tb);
            packet
                .write_interleaved(octx)
                .map_err(media_error("write master audio"))?;
        }
        Ok(())
    }
}

/// One mov_text sample per cue and an empty one over each gap, so each cue ends on time:
/// (start ms, end ms, text).
fn cue_samples(cues: &[Cue]) -> Vec<(i64, i64, String)> {
    let mut samples = Vec::new();
    let mut at = 0i64;
    for cue in cues {
        if cue.start_ms < at || cue.end_ms <= cue.start_ms {
            continue;
        }
        if cue.start_ms > at {
            samples.push((at, cue.start_ms, String::new()));
        }
        samples.push((cue.start_ms, cue.end_ms, cue.text.clone()));
        at = cue.end_ms;
    }
    samples
}

/// The caption samples, written as the picture reaches them.
struct Captions {
    samples: Vec<(i64, i64, String)>,
    next: usize,
    tb: Rational,
}

impl Captions {
    fn write_until(
        &mut self,
        octx: &mut format::context::Output,
        ms: i64,
    ) -> Result<(), RenderError> {
        while let Some((start, end, text)) = self.samples.get(self.next) {
            if *start > ms {
                break;
            }
            let bytes = &text.as_bytes()[..text.len().min(u16::MAX as usize)];
            let mut data = (bytes.len() as u16).to_be_bytes().to_vec();
            data.extend_from_slice(bytes);
            let mut packet = Packet::copy(&data);
            packet.set_stream(2);
            packet.set_pts(Some(*start));
            packet.set_dts(Some(*start));
            packet.set_duration(end - start);
            packet.set_flags(codec::packet::Flags::KEY);
            packet.rescale_ts(Rational(1, 1000), self.tb);
            packet
                .write_interleaved(octx)
                .map_err(media_error("write captions"))?;
            self.next += 1;
        }
        Ok(())
    }
}
