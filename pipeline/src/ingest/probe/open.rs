//! Opening inputs for demuxing under a [`Budget`]: the I/O interrupt stops a stalled
//! demuxer, and stream analysis decodes with a pixel cap and a single thread, so a hostile
//! header cannot make `avformat_find_stream_info` allocate a giant picture. A file that
//! cannot be opened is told apart: damaged (a known container) or not media at all.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

use ffmpeg_next::format::context::Input;
use ffmpeg_next::{ffi, Dictionary};

use crate::ingest::{init_ffmpeg, Budget, IngestError, Rejection};

/// Opens a media file for demuxing with an I/O interrupt tied to `budget`, so that a file
/// that stalls the demuxer stops when the budget is spent.
pub(crate) fn open_input(path: &Path, budget: Budget) -> Result<Input, IngestError> {
    open_input_limited(path, budget, u32::MAX)
}

pub(super) fn open_input_limited(
    path: &Path,
    budget: Budget,
    max_dimension: u32,
) -> Result<Input, IngestError> {
    init_ffmpeg();
    match open_raw(path, budget, max_dimension) {
        Ok(input) => Ok(input),
        Err(e) => {
            // Interrupted by the budget rather than refused by the demuxer?
            budget.check()?;
            Err(open_failure(path, e, max_dimension).into())
        }
    }
}

/// Like `ffmpeg_next::format::input_with_interrupt_and_dictionary`, but with decoder options
/// for the stream analysis (which ffmpeg-next does not pass).
fn open_raw(path: &Path, budget: Budget, max_dimension: u32) -> Result<Input, ffmpeg_next::Error> {
    let c_path =
        CString::new(path.as_os_str().as_bytes()).map_err(|_| ffmpeg_next::Error::InvalidData)?;
    let mut format_options = Dictionary::new();
    // Bounded stream analysis: a hostile file cannot make it read forever.
    format_options.set("probesize", "20000000");
    format_options.set("analyzeduration", "20000000");
    let max_pixels = (u64::from(max_dimension) * u64::from(max_dimension)).min(i32::MAX as u64);
    // SAFETY: the sequence of libavformat calls that input_with_interrupt_and_dictionary
    // makes; every pointer is checked, freed on failure, and owned by `Input` on success.
    unsafe {
        let mut ps = ffi::avformat_alloc_context();
        if ps.is_null() {
            return Err(ffmpeg_next::Error::Other { errno: ffi::ENOMEM });
        }
        let interrupt = ffmpeg_next::util::interrupt::new(Box::new(move || budget.expired()));
        (*ps).interrupt_callback = interrupt.interrupt;
        let mut opts = format_options.disown();
        let opened = ffi::avformat_open_input(&mut ps, c_path.as_ptr(), ptr::null(), &mut opts);
        Dictionary::own(opts);
        if opened != 0 {
            return Err(ffmpeg_next::Error::from(opened));
        }
        let mut per_stream: Vec<*mut ffi::AVDictionary> = (0..(*ps).nb_streams)
            .map(|_| {
                let mut d = Dictionary::new();
                d.set("max_pixels", &max_pixels.to_string());
                d.set("threads", "1");
                d.disown()
            })
            .collect();
        let found = ffi::avformat_find_stream_info(ps, per_stream.as_mut_ptr());
        for d in per_stream {
            drop(Dictionary::own(d));
        }
        if found < 0 {
            ffi::avformat_close_input(&mut ps);
            return Err(ffmpeg_next::Error::from(found));
        }
        Ok(Input::wrap_with_interrupt(ps, interrupt.guard))
    }
}

/// Why a file could not be opened: a known container that fails is damaged, anything else
/// is not media.
fn open_failure(path: &Path, error: ffmpeg_next::Error, max_dimension: u32) -> Rejection {
    let mut head = [0u8; 64];
    let read = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    if let Some((width, height)) = y4m_size(&head[..read]) {
        if width > max_dimension || height > max_dimension {
            // FFmpeg refuses such a header outright; say what is wrong with it.
            return Rejection::AbsurdDimensions {
                width,
                height,
                max: max_dimension,
            };
        }
    }
    let known = match &head[..read] {
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Some("an MP4/MOV file"),
        [_, _, _, _, b'm', b'd', b'a', b't', ..] => Some("an MP4/MOV file"),
        [0x1a, 0x45, 0xdf, 0xa3, ..] => Some("a Matroska/WebM file"),
        [b'R', b'I', b'F', b'F', ..] => Some("an AVI/WAV file"),
        _ => None,
    };
    match known {
        Some(kind) => Rejection::Corrupt {
            detail: format!(
                "it looks like {kind} but cannot be opened ({error}); the upload may be cut short"
            ),
        },
        None => Rejection::NotMedia {
            detail: error.to_string(),
        },
    }
}

/// The declared picture size of a YUV4MPEG2 stream header.
fn y4m_size(head: &[u8]) -> Option<(u32, u32)> {
    let line = head.strip_prefix(b"YUV4MPEG2 ")?;
    let line = String::from_utf8_lossy(line.split(|b| *b == b'\n').next()?).into_owned();
    let field = |tag: char| {
        line.split(' ')
            .find_map(|f| f.strip_prefix(tag))
            .and_then(|v| v.parse::<u32>().ok())
    };
    Some((field('W')?, field('H')?))
}
