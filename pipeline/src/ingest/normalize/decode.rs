//! Decoding side of normalize: opening guarded decoders (pixel cap, few threads) and the
//! audio chain that turns any source audio into 48 kHz stereo planar float, with gain and an
//! optional limiter. The same chain feeds the loudness meter (pass 1, re-measure, verify)
//! and the AAC encoder (pass 2), so what is measured is exactly what is encoded.

use ffmpeg_next::codec::{self, threading};
use ffmpeg_next::format::context::Input;
use ffmpeg_next::{decoder, filter, format, frame, ChannelLayout, Dictionary};

use crate::ingest::{IngestError, Rejection};

/// Decoder threads per stream: the worker runs several jobs at once.
const DECODER_THREADS: usize = 2;

pub(crate) fn open_video_decoder(
    input: &Input,
    index: usize,
    max_dimension: u32,
) -> Result<decoder::Video, IngestError> {
    let stream = input
        .stream(index)
        .ok_or_else(|| anyhow::anyhow!("video stream {index} vanished"))?;
    // Refuse absurd sizes before any decoder allocates a picture.
    // SAFETY: the parameters of a stream of `input`, valid while `input` lives.
    let (width, height) = unsafe {
        let p = &*stream.parameters().as_ptr();
        (p.width.max(0) as u32, p.height.max(0) as u32)
    };
    if width > max_dimension || height > max_dimension {
        return Err(Rejection::AbsurdDimensions {
            width,
            height,
            max: max_dimension,
        }
        .into());
    }
    let mut ctx = codec::Context::from_parameters(stream.parameters())
        .map_err(|e| anyhow::anyhow!("video decoder parameters: {e}"))?;
    ctx.set_threading(threading::Config {
        kind: threading::Type::Frame,
        count: DECODER_THREADS,
        ..Default::default()
    });
    let mut options = Dictionary::new();
    let max_pixels = u64::from(max_dimension) * u64::from(max_dimension);
    options.set("max_pixels", &max_pixels.to_string());
    let codec =
        ffmpeg_next::decoder::find(ctx.id()).ok_or_else(|| Rejection::UnsupportedCodec {
            codec: format!("{:?}", ctx.id()),
        })?;
    let opened = ctx
        .decoder()
        .open_as_with(codec, options)
        .map_err(|e| Rejection::Corrupt {
            detail: format!("the video cannot be decoded ({e})"),
        })?;
    opened
        .video()
        .map_err(|e| anyhow::anyhow!("video decoder: {e}").into())
}

pub(crate) fn open_audio_decoder(
    input: &Input,
    index: usize,
) -> Result<decoder::Audio, IngestError> {
    let stream = input
        .stream(index)
        .ok_or_else(|| anyhow::anyhow!("audio stream {index} vanished"))?;
    let ctx = codec::Context::from_parameters(stream.parameters())
        .map_err(|e| anyhow::anyhow!("audio decoder parameters: {e}"))?;
    let codec =
        ffmpeg_next::decoder::find(ctx.id()).ok_or_else(|| Rejection::UnsupportedCodec {
            codec: format!("{:?} (audio)", ctx.id()),
        })?;
    let opened = ctx
        .decoder()
        .open_as(codec)
        .map_err(|e| Rejection::Corrupt {
            detail: format!("the audio cannot be decoded ({e})"),
        })?;
    opened
        .audio()
        .map_err(|e| anyhow::anyhow!("audio decoder: {e}").into())
}

/// Gain and limiter applied by the audio chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AudioGain {
    /// Gain before the limiter, dB.
    pub pre_db: f64,
    /// Limiter ceiling, dBFS (sample peak), when a limiter is needed.
    pub limit_db: Option<f64>,
    /// Gain after the limiter, dB: the correction that lands the integrated loudness.
    pub post_db: f64,
}

impl AudioGain {
    pub(crate) const UNITY: AudioGain = AudioGain {
        pre_db: 0.0,
        limit_db: None,
        post_db: 0.0,
    };
}

/// Source audio → `rate` (48 kHz in the house format) stereo fltp, gain, limiter.
pub(crate) struct AudioChain {
    graph: filter::Graph,
    /// Samples fed so far: the chain's own clock, so source timestamp gaps do not matter.
    fed: i64,
}

impl AudioChain {
    pub(crate) fn new(
        decoder: &decoder::Audio,
        rate: u32,
        gain: AudioGain,
    ) -> Result<AudioChain, IngestError> {
        let in_rate = decoder.rate().max(1);
        let layout = decoder.channel_layout();
        let mask = if layout.bits() != 0 {
            layout.bits()
        } else {
            ChannelLayout::default(i32::from(decoder.channels().max(1))).bits()
        };
        let args = format!(
            "time_base=1/{in_rate}:sample_rate={in_rate}:sample_fmt={}:channel_layout=0x{mask:x}",
            decoder.format().name()
        );
        let mut spec = format!(
            "aresample={rate},aformat=sample_fmts=fltp:channel_layouts=stereo,volume={:.4}dB",
            gain.pre_db
        );
        if let Some(limit) = gain.limit_db {
            // level=0: no auto make-up gain; the post gain is ours to choose.
            let linear = 10f64.powf(limit / 20.0);
            spec.push_str(&format!(
                ",alimiter=limit={linear:.6}:attack=5:release=50:level=0:latency=1"
            ));
        }
        if gain.post_db != 0.0 {
            spec.push_str(&format!(",volume={:.4}dB", gain.post_db));
        }
        let graph = build_audio_graph(&args, &spec, rate)
            .map_err(|e| anyhow::anyhow!("audio filter graph `{spec}`: {e}"))?;
        Ok(AudioChain { graph, fed: 0 })
    }

    /// Feeds one decoded frame.
    pub(crate) fn push(&mut self, frame: &mut frame::Audio) -> Result<(), IngestError> {
        frame.set_pts(Some(self.fed));
        self.fed += frame.samples() as i64;
        self.input()?
            .source()
            .add(frame)
            .map_err(|e| anyhow::anyhow!("audio filter input: {e}").into())
    }

    pub(crate) fn finish(&mut self) -> Result<(), IngestError> {
        self.input()?
            .source()
            .flush()
            .map_err(|e| anyhow::anyhow!("audio filter flush: {e}").into())
    }

    /// The next processed frame, if one is ready.
    pub(crate) fn pull(&mut self) -> Option<frame::Audio> {
        let mut out = frame::Audio::empty();
        let mut sink = self.graph.get("out")?;
        sink.sink().frame(&mut out).ok().map(|_| out)
    }

    fn input(&mut self) -> Result<filter::Context, IngestError> {
        self.graph
            .get("in")
            .ok_or_else(|| anyhow::anyhow!("audio graph has no input").into())
    }
}

fn build_audio_graph(
    args: &str,
    spec: &str,
    rate: u32,
) -> Result<filter::Graph, ffmpeg_next::Error> {
    let mut graph = filter::Graph::new();
    let abuffer = filter::find("abuffer").ok_or(ffmpeg_next::Error::FilterNotFound)?;
    let sink = filter::find("abuffersink").ok_or(ffmpeg_next::Error::FilterNotFound)?;
    graph.add(&abuffer, "in", args)?;
    graph.add(&sink, "out", "")?;
    {
        let mut out = graph.get("out").ok_or(ffmpeg_next::Error::FilterNotFound)?;
        out.set_sample_format(format::Sample::F32(format::sample::Type::Planar));
        out.set_sample_rate(rate);
        out.set_channel_layout(ChannelLayout::STEREO);
    }
    graph.output("in", 0)?.input("out", 0)?.parse(spec)?;
    graph.validate()?;
    Ok(graph)
}
