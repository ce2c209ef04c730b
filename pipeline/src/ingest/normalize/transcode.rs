//! The one full decode: demux → decode → video graph + CFR sampler and audio chain → x264 +
//! AAC → MP4. Audio is padded with silence and the last picture held so that both streams
//! end together on a whole frame. Shared by normalize (house format) and proxy.

use std::path::Path;

use ffmpeg_next::{decoder, frame, Packet};

use super::decode::{open_audio_decoder, open_video_decoder, AudioChain, AudioGain};
use super::encode::{EncodeSpec, Muxer};
use super::video::{CfrSampler, PictureSpec, VideoGraph};
use crate::ingest::probe::{best_stream, open_input, rational};
use crate::ingest::{next_packet, Budget, IngestError, Progress, Rejection};

/// A decodable stream that ends before this share of its declared length is damaged.
const MIN_DECODED_SHARE: f64 = 0.9;

pub(crate) struct TranscodeJob<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub encode: EncodeSpec,
    pub picture: PictureSpec,
    pub gain: AudioGain,
    pub max_dimension: u32,
    /// Declared duration of the video, seconds (for progress and the damage check).
    pub declared_s: f64,
    pub budget: Budget,
    pub progress: Progress<'a>,
    /// The progress range this pass covers.
    pub progress_range: (f64, f64),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TranscodeOutcome {
    pub video_frames: u64,
    pub audio_samples: u64,
    pub held_frames: u64,
    pub padded_samples: u64,
    pub source_had_audio: bool,
    pub source_frames: u64,
    /// Decoded pictures flagged interlaced (deinterlaced even when the stream did not say).
    pub interlaced_frames: u64,
    pub decode_errors: u64,
}

struct Streams {
    video_index: usize,
    video: decoder::Video,
    graph: VideoGraph,
    sampler: CfrSampler,
    source_frame_s: f64,
    audio: Option<(usize, decoder::Audio, AudioChain)>,
    decode_errors: u64,
    interlaced_frames: u64,
    /// Samples out of the audio chain.
    audio_samples: u64,
    /// The audio's declared length in output samples: decoded samples past it are the
    /// encoder padding of the source's last frame, not programme.
    audio_limit: u64,
    /// Samples still to drop from the start (audio that begins before the video).
    audio_skip: u64,
}

pub(crate) fn transcode(job: &TranscodeJob) -> Result<TranscodeOutcome, IngestError> {
    let result = run(job);
    if result.is_err() {
        // A half-written file must not be mistaken for a result.
        let _ = std::fs::remove_file(job.output);
    }
    result
}

fn run(job: &TranscodeJob) -> Result<TranscodeOutcome, IngestError> {
    let mut input = open_input(job.input, job.budget)?;
    let video_index =
        best_stream(&input, ffmpeg_next::media::Type::Video).ok_or(Rejection::NoVideo)?;
    let stream = input
        .stream(video_index)
        .ok_or_else(|| anyhow::anyhow!("video stream vanished"))?;
    let time_base = stream.time_base();
    let source_fps = rational(stream.avg_frame_rate());
    let video = open_video_decoder(&input, video_index, job.max_dimension)?;
    let graph = VideoGraph::new(&video, time_base, &job.picture)?;
    let rate = f64::from(job.encode.audio_rate);
    let video_start = start_seconds(&stream);
    let mut audio_limit = u64::MAX;
    let mut audio_offset = 0i64;
    let audio = match best_stream(&input, ffmpeg_next::media::Type::Audio) {
        Some(i) => {
            if let Some(s) = input.stream(i) {
                if s.duration() > 0 {
                    let seconds = s.duration() as f64 * rational(s.time_base());
                    audio_limit = (seconds * rate).round() as u64;
                }
                audio_offset = ((start_seconds(&s) - video_start) * rate).round() as i64;
            }
            let dec = open_audio_decoder(&input, i)?;
            let chain = AudioChain::new(&dec, job.encode.audio_rate, job.gain)?;
            Some((i, dec, chain))
        }
        None => None,
    };
    let mut s = Streams {
        video_index,
        video,
        graph,
        sampler: CfrSampler::new(job.encode.fps),
        source_frame_s: if source_fps > 0.0 && source_fps < 1000.0 {
            1.0 / source_fps
        } else {
            1.0 / f64::from(job.encode.fps)
        },
        audio,
        decode_errors: 0,
        interlaced_frames: 0,
        audio_samples: 0,
        audio_limit: audio_limit.saturating_sub(audio_offset.min(0).unsigned_abs()),
        audio_skip: audio_offset.min(0).unsigned_abs(),
    };
    let time_base = rational(time_base);
    let mut mux = Muxer::create(job.output, &job.encode)?;
    if s.audio.is_some() && audio_offset > 0 {
        // The sound starts after the picture: keep them in sync with leading silence.
        mux.write_silence(audio_offset.unsigned_abs())?;
    }
    let (from, to) = job.progress_range;
    let mut reported = from;
    loop {
        job.budget.check()?;
        let packet = match next_packet(&mut input) {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(ffmpeg_next::Error::InvalidData) => {
                s.decode_errors += 1;
                continue;
            }
            Err(_) if job.budget.expired() => {
                job.budget.check()?;
                break;
            }
            // An I/O error mid-file ends the data; the length check below judges it.
            Err(_) => break,
        };
        if packet.stream() == s.video_index {
            if let Some(pts) = packet.pts() {
                let done = pts as f64 * time_base / job.declared_s.max(0.1);
                let now = from + (to - from) * done.clamp(0.0, 1.0);
                if now - reported > 0.02 {
                    (job.progress)(now);
                    reported = now;
                }
            }
        }
        s.feed(&packet, &mut mux)?;
    }
    s.flush(&mut mux)?;
    finish(job, s, mux)
}

impl Streams {
    fn feed(&mut self, packet: &Packet, mux: &mut Muxer) -> Result<(), IngestError> {
        if packet.stream() == self.video_index {
            if self.video.send_packet(packet).is_err() {
                self.decode_errors += 1;
            }
            return self.drain_video(mux);
        }
        if let Some((index, dec, _)) = &mut self.audio {
            if packet.stream() == *index {
                if dec.send_packet(packet).is_err() {
                    self.decode_errors += 1;
                }
                return self.drain_audio(mux);
            }
        }
        Ok(())
    }

    fn flush(&mut self, mux: &mut Muxer) -> Result<(), IngestError> {
        let _ = self.video.send_eof();
        self.drain_video(mux)?;
        self.graph.finish()?;
        self.pull_pictures(mux)?;
        if let Some((_, dec, chain)) = &mut self.audio {
            let _ = dec.send_eof();
            let mut decoded = frame::Audio::empty();
            while dec.receive_frame(&mut decoded).is_ok() {
                chain.push(&mut decoded)?;
            }
            chain.finish()?;
        }
        self.pull_audio(mux)
    }

    fn drain_video(&mut self, mux: &mut Muxer) -> Result<(), IngestError> {
        let mut decoded = frame::Video::empty();
        while self.video.receive_frame(&mut decoded).is_ok() {
            // best_effort_timestamp: the decoder's best guess, robust to missing pts.
            self.interlaced_frames += u64::from(decoded.is_interlaced());
            let best = decoded.timestamp();
            decoded.set_pts(best);
            self.graph.push(&decoded)?;
            self.pull_pictures(mux)?;
        }
        Ok(())
    }

    fn pull_pictures(&mut self, mux: &mut Muxer) -> Result<(), IngestError> {
        while let Some((picture, t)) = self.graph.pull() {
            for out in self.sampler.push(picture, t, self.source_frame_s) {
                mux.write_video(out)?;
            }
        }
        Ok(())
    }

    fn drain_audio(&mut self, mux: &mut Muxer) -> Result<(), IngestError> {
        if let Some((_, dec, chain)) = &mut self.audio {
            let mut decoded = frame::Audio::empty();
            while dec.receive_frame(&mut decoded).is_ok() {
                chain.push(&mut decoded)?;
            }
        }
        self.pull_audio(mux)
    }

    fn pull_audio(&mut self, mux: &mut Muxer) -> Result<(), IngestError> {
        if let Some((_, _, chain)) = &mut self.audio {
            while let Some(samples) = chain.pull() {
                let len = samples.samples() as u64;
                let skip = self.audio_skip.min(len);
                self.audio_skip -= skip;
                let room = self.audio_limit.saturating_sub(self.audio_samples);
                let n = (len - skip).min(room);
                self.audio_samples += n;
                mux.write_audio(&samples, skip as usize..(skip + n) as usize)?;
            }
        }
        Ok(())
    }
}

/// Ends both streams together on a whole frame and checks that the source was whole.
fn finish(
    job: &TranscodeJob,
    mut s: Streams,
    mut mux: Muxer,
) -> Result<TranscodeOutcome, IngestError> {
    let fps = f64::from(job.encode.fps);
    let spf = u64::from(job.encode.audio_rate / job.encode.fps);
    if s.sampler.source_frames == 0 {
        return Err(Rejection::Corrupt {
            detail: "no picture in the file could be decoded".into(),
        }
        .into());
    }
    let video_end = s.sampler.last_time + s.source_frame_s;
    check_whole(video_end, job.declared_s)?;
    let video_needed = ((video_end * fps) - 1e-3).ceil().max(1.0) as u64;
    let audio_needed = mux.audio_written().div_ceil(spf);
    let total = video_needed.max(audio_needed);
    for picture in s.sampler.finish(total) {
        mux.write_video(picture)?;
    }
    let target_samples = total * spf;
    let padded = target_samples.saturating_sub(mux.audio_written());
    mux.write_silence(padded)?;
    let outcome = TranscodeOutcome {
        video_frames: mux.video_frames,
        audio_samples: mux.audio_written(),
        held_frames: total.saturating_sub(video_needed),
        padded_samples: padded,
        source_had_audio: s.audio.is_some(),
        source_frames: s.sampler.source_frames,
        interlaced_frames: s.interlaced_frames,
        decode_errors: s.decode_errors,
    };
    mux.finish()?;
    (job.progress)(job.progress_range.1);
    Ok(outcome)
}

/// When a stream starts, seconds (0 when the container does not say).
fn start_seconds(stream: &ffmpeg_next::format::stream::Stream) -> f64 {
    match stream.start_time() {
        t if t == ffmpeg_next::ffi::AV_NOPTS_VALUE => 0.0,
        t => t as f64 * rational(stream.time_base()),
    }
}

fn check_whole(decoded_s: f64, declared_s: f64) -> Result<(), Rejection> {
    if declared_s > 0.0 && decoded_s < declared_s * MIN_DECODED_SHARE {
        return Err(Rejection::Corrupt {
            detail: format!(
                "the file says it lasts {declared_s:.1} s but only {decoded_s:.1} s of video could be decoded"
            ),
        });
    }
    Ok(())
}
