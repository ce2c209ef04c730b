//! Ingest: turns an uploaded file into a house-format clip with a technical report.
//!
//! The chain is probe → normalize → QC → thumbnails and proxy, each step a durable job
//! ([`steps`]). The media functions here take paths and return reports; they never touch the
//! database, so they can run in any worker. Every decode runs under a [`Budget`] so that a
//! hostile file cannot hang a worker.
//!
//! - [`probe`], [`validate`]: what a file is, and whether it may be ingested at all.
//! - [`normalize`]: the house-format transcode with loudness measured, applied and verified.
//! - [`decode`]: a small budgeted reader for analysis; [`qc`] and [`thumbs`] use it.
//! - [`loudness`]: EBU R 128 measurement; [`proxy`]: the browser preview.
//! - [`clips`]: clip records in the database; [`steps`]: the chain as job handlers.

pub mod clips;
pub mod compute;
pub mod decode;
pub mod ledger;
pub mod loudness;
pub mod normalize;
pub mod probe;
pub mod proxy;
pub mod qc;
pub mod steps;
#[cfg(test)]
pub(crate) mod testmedia;
pub mod thumbs;
pub mod validate;

use std::sync::Once;
use std::time::{Duration, Instant};

use crate::config::IngestLimits;

/// Why a file is refused. The text is shown to the creator, so it says what is wrong in
/// plain words and, where it helps, what would be accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Rejection {
    #[error("The file is empty (0 bytes).")]
    Empty,
    #[error("This is not a video or audio file that can be read ({detail}).")]
    NotMedia { detail: String },
    #[error("The file is damaged or incomplete: {detail}. Please export it again and re-upload.")]
    Corrupt { detail: String },
    #[error("The file has no video stream. Please upload a video, not only audio or an image.")]
    NoVideo,
    #[error("This is a still image ({format}), not a video. Please upload a video clip.")]
    StillImage { format: String },
    #[error("The video is {seconds:.1} s long; the shortest allowed is {min:.1} s.")]
    TooShort { seconds: f64, min: f64 },
    #[error("The video is {seconds:.1} s long; the longest allowed is {max:.1} s.")]
    TooLong { seconds: f64, max: f64 },
    #[error("The file is {bytes} bytes; the largest allowed is {max} bytes.")]
    TooLarge { bytes: u64, max: u64 },
    #[error("The picture size {width}x{height} is not plausible; the largest allowed side is {max} pixels.")]
    AbsurdDimensions { width: u32, height: u32, max: u32 },
    #[error("The file has {count} streams; at most {max} are allowed.")]
    TooManyStreams { count: u32, max: u32 },
    #[error("The video codec {codec} is not supported.")]
    UnsupportedCodec { codec: String },
    #[error("Reading the file took longer than {seconds} s, the limit for a clip of this length; it may be damaged.")]
    TooSlow { seconds: u64 },
}

/// The outcome of a media step that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file is at fault: final, shown to the creator, never retried.
    #[error("{0}")]
    Rejected(#[from] Rejection),
    /// Our side or the machine failed (disk full, encoder missing, a bug): worth a retry.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A time budget for one decode. Checked from decode loops and from FFmpeg's I/O interrupt
/// callback, so a file that stalls the demuxer is stopped too.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    started: Instant,
    limit: Duration,
}

impl Budget {
    pub fn new(limit: Duration) -> Budget {
        Budget {
            started: Instant::now(),
            limit,
        }
    }

    /// The budget for probing any file.
    pub fn for_probe(limits: &IngestLimits) -> Budget {
        Budget::new(Duration::from_secs(limits.probe_timeout_s))
    }

    /// The budget for decoding `media_seconds` of media.
    pub fn for_media(limits: &IngestLimits, media_seconds: f64) -> Budget {
        let secs = limits.probe_timeout_s as f64
            + limits.decode_seconds_per_media_second * media_seconds.max(0.0);
        Budget::new(Duration::from_secs_f64(secs))
    }

    pub fn expired(&self) -> bool {
        self.started.elapsed() > self.limit
    }

    /// `Err(TooSlow)` once the budget is spent.
    pub fn check(&self) -> Result<(), Rejection> {
        if self.expired() {
            Err(Rejection::TooSlow {
                seconds: self.limit.as_secs(),
            })
        } else {
            Ok(())
        }
    }
}

/// Reports progress of a step as a fraction 0..=1.
pub type Progress<'a> = &'a (dyn Fn(f64) + Send + Sync);

/// Reads the next packet of `input` into a new `Packet`: `av_read_frame` does not release the
/// buffer of a packet it overwrites, so a reused packet leaks every one read before it.
/// `Ok(None)` at the end of the file; damaged data is `Err(Error::InvalidData)`.
pub(crate) fn next_packet(
    input: &mut ffmpeg_next::format::context::Input,
) -> Result<Option<ffmpeg_next::Packet>, ffmpeg_next::Error> {
    let mut packet = ffmpeg_next::Packet::empty();
    match packet.read(input) {
        Ok(()) => Ok(Some(packet)),
        Err(ffmpeg_next::Error::Eof) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Initialises FFmpeg once per process and silences its own logging.
pub fn init_ffmpeg() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        ffmpeg_next::init().expect("FFmpeg initialises");
        // Quiet: every failure reaches the user as a Rejection or an error with its reason.
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Quiet);
    });
}
