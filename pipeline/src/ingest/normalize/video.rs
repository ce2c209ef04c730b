//! Video side of normalize: the libavfilter graph (deinterlace, rotate, fit inside the frame
//! with letterbox/pillarbox honouring the sample aspect, yuv420p) and the constant-frame-rate
//! sampler that turns the source's timestamps into a frame counter.

use ffmpeg_next::{decoder, ffi, filter, format, frame, Rational};

use crate::ingest::IngestError;

/// What the video graph does to the picture.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PictureSpec {
    pub width: u32,
    pub height: u32,
    /// `Some("tff" | "bff")` to deinterlace every picture, `Some("auto")` for only those
    /// flagged interlaced, `None` to leave pictures alone.
    pub deinterlace: Option<&'static str>,
    /// Clockwise rotation to apply: 0, 90, 180, 270.
    pub rotate_deg: i32,
}

pub(crate) struct VideoGraph {
    graph: filter::Graph,
    /// Seconds per tick of the frames that come out.
    out_tick: f64,
}

impl VideoGraph {
    pub(crate) fn new(
        decoder: &decoder::Video,
        time_base: Rational,
        spec: &PictureSpec,
    ) -> Result<VideoGraph, IngestError> {
        let sar = decoder.aspect_ratio();
        let (sn, sd) = if sar.numerator() > 0 && sar.denominator() > 0 {
            (sar.numerator(), sar.denominator())
        } else {
            (1, 1)
        };
        let pix: ffi::AVPixelFormat = decoder.format().into();
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={sn}/{sd}",
            decoder.width(),
            decoder.height(),
            pix as i32,
            time_base.numerator(),
            time_base.denominator().max(1),
        );
        let chain = filter_chain(spec);
        let mut graph =
            build(&args, &chain).map_err(|e| anyhow::anyhow!("video graph `{chain}`: {e}"))?;
        let out_tick = graph
            .get("out")
            .map(|mut o| crate::ingest::probe::rational(o.sink().time_base()))
            .unwrap_or(0.0);
        Ok(VideoGraph { graph, out_tick })
    }

    pub(crate) fn push(&mut self, frame: &frame::Video) -> Result<(), IngestError> {
        let mut input = self
            .graph
            .get("in")
            .ok_or_else(|| anyhow::anyhow!("video graph has no input"))?;
        input
            .source()
            .add(frame)
            .map_err(|e| anyhow::anyhow!("video filter input: {e}").into())
    }

    pub(crate) fn finish(&mut self) -> Result<(), IngestError> {
        let mut input = self
            .graph
            .get("in")
            .ok_or_else(|| anyhow::anyhow!("video graph has no input"))?;
        input
            .source()
            .flush()
            .map_err(|e| anyhow::anyhow!("video filter flush: {e}").into())
    }

    /// The next filtered picture and its time in seconds, if one is ready.
    pub(crate) fn pull(&mut self) -> Option<(frame::Video, Option<f64>)> {
        let mut out = frame::Video::empty();
        let mut sink = self.graph.get("out")?;
        sink.sink().frame(&mut out).ok()?;
        let t = out.pts().map(|p| p as f64 * self.out_tick);
        Some((out, t))
    }
}

/// The filter chain text for `spec`.
pub(crate) fn filter_chain(spec: &PictureSpec) -> String {
    let mut parts: Vec<String> = Vec::new();
    match spec.deinterlace {
        // Not declared interlaced: only pictures the decoder flags as interlaced are touched.
        Some("auto") => parts.push("yadif=mode=send_frame:parity=auto:deint=interlaced".into()),
        Some(parity) => parts.push(format!("yadif=mode=send_frame:parity={parity}:deint=all")),
        None => {}
    }
    match spec.rotate_deg {
        90 => parts.push("transpose=clock".into()),
        180 => parts.push("hflip,vflip".into()),
        270 => parts.push("transpose=cclock".into()),
        _ => {}
    }
    // Make pixels square first so the fit below keeps the true display shape.
    parts.push(
        "scale=w='trunc(iw*max(1\\,sar)/2)*2':h='trunc(ih*max(1\\,1/sar)/2)*2',setsar=1".into(),
    );
    let (w, h) = (spec.width, spec.height);
    parts.push(format!(
        "scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,\
         pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p"
    ));
    parts.join(",")
}

fn build(args: &str, chain: &str) -> Result<filter::Graph, ffmpeg_next::Error> {
    let mut graph = filter::Graph::new();
    let buffer = filter::find("buffer").ok_or(ffmpeg_next::Error::FilterNotFound)?;
    let sink = filter::find("buffersink").ok_or(ffmpeg_next::Error::FilterNotFound)?;
    graph.add(&buffer, "in", args)?;
    graph.add(&sink, "out", "")?;
    if let Some(mut out) = graph.get("out") {
        out.set_pixel_format(format::Pixel::YUV420P);
    }
    graph.output("in", 0)?.input("out", 0)?.parse(chain)?;
    graph.validate()?;
    Ok(graph)
}

/// Turns source pictures with timestamps into a constant-rate sequence: output frame k (at
/// k / fps) shows the latest source picture whose time is ≤ k / fps. The last decided frame
/// is held back one step so that, at the end, it can show the very last source picture —
/// the last frame is never dropped.
pub(crate) struct CfrSampler {
    fps: f64,
    origin: Option<f64>,
    /// The latest source picture, its time from the origin, and whether any output shows it.
    current: Option<(frame::Video, f64, bool)>,
    /// Output frame `next_k - 1`, decided but not yet handed out.
    queued: Option<frame::Video>,
    next_k: u64,
    /// Source pictures seen, and the time of the last one.
    pub source_frames: u64,
    pub last_time: f64,
}

/// Tolerance for timestamps that land a hair after a frame boundary.
const EPS: f64 = 1e-6;

impl CfrSampler {
    pub(crate) fn new(fps: u32) -> CfrSampler {
        CfrSampler {
            fps: f64::from(fps),
            origin: None,
            current: None,
            queued: None,
            next_k: 0,
            source_frames: 0,
            last_time: 0.0,
        }
    }

    /// Adds a source picture at `time` seconds (`None`: one frame after the previous one);
    /// returns output frames now final, in order.
    pub(crate) fn push(
        &mut self,
        picture: frame::Video,
        time: Option<f64>,
        source_frame_s: f64,
    ) -> Vec<frame::Video> {
        let origin = *self.origin.get_or_insert(time.unwrap_or(0.0));
        let t = match time {
            Some(t) => t - origin,
            None if self.source_frames == 0 => 0.0,
            None => self.last_time + source_frame_s,
        };
        self.source_frames += 1;
        let mut out = Vec::new();
        if let Some(prev_t) = self.current.as_ref().map(|c| c.1) {
            if t <= prev_t {
                // Out-of-order or repeated timestamp: keep the newer picture in its place.
                self.current = Some((picture, prev_t, false));
                return out;
            }
        }
        while self.current.is_some() && (self.next_k as f64) / self.fps < t - EPS {
            self.decide(&mut out);
        }
        self.last_time = t;
        self.current = Some((picture, t, false));
        out
    }

    /// Emits frames up to `total` and returns the rest of the sequence.
    pub(crate) fn finish(&mut self, total: u64) -> Vec<frame::Video> {
        let mut out = Vec::new();
        while self.current.is_some() && self.next_k < total {
            self.decide(&mut out);
        }
        if let Some((last, _, shown)) = self.current.take() {
            if !shown && self.queued.is_some() {
                self.queued = Some(last);
            }
        }
        out.extend(self.queued.take());
        out
    }

    fn decide(&mut self, out: &mut Vec<frame::Video>) {
        let Some((picture, _, shown)) = self.current.as_mut() else {
            return;
        };
        *shown = true;
        let next = picture.clone();
        if let Some(ready) = self.queued.replace(next) {
            out.push(ready);
        }
        self.next_k += 1;
    }
}
