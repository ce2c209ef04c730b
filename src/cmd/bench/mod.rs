//! `gala bench`: throughput figures, each printed side by side with a reference doing the same
//! work in the same run (the ffmpeg command line, a plain file copy). Benchmarks, not tests: the
//! machine is shared and noisy, so read the ratios, not the absolute times.
//!
//! - [`normalize`], [`chain`]: the ingest engine;
//! - [`duplicates`]: duplicate lookups in the fingerprint index against a full scan;
//! - [`upload`], [`load`]: the studio web, started in-process on 127.0.0.1:0 ([`studio`]);
//! - [`writer`]: the script writer's model families on random weights (speed and memory);
//! - [`captions`]: Whisper on candle against faster-whisper;
//! - [`render`]: the program render against `ffmpeg -f concat -c copy` and real time;
//! - [`planner`]: the running-order planner against a plain greedy fill of the same pool;
//! - [`moderation`]: text and keyframe classifiers in clips per minute (random weights at base
//!   shapes).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gala_pipeline::{demo, Config};

mod captions;
mod chain;
mod duplicates;
mod live;
mod load;
mod moderation;
mod normalize;
mod planner;
mod render;
mod servers;
mod studio;
mod upload;
mod writer;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Normalize N clips with gala and with `ffmpeg` (same x264 preset and CRF, two-pass
    /// loudnorm I=-23:TP=-1), one clip at a time, and compare wall time.
    Normalize {
        #[arg(long, default_value_t = 6)]
        clips: usize,
        /// Source size of the generated clips.
        #[arg(long, default_value = "1280x720")]
        size: String,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Ingest N short clips through the whole chain (probe, normalize, QC, thumbnails, proxy)
    /// with the configured worker count; report clips per minute and peak memory.
    Chain {
        #[arg(long, default_value_t = 300)]
        clips: usize,
        #[arg(long, default_value = "640x360")]
        size: String,
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Also run the same clips through a remote worker (`gala worker --studio` in this
        /// process, over HTTP to a studio on 127.0.0.1) and compare.
        #[arg(long)]
        remote: bool,
    },
    /// Upload one generated file to the studio over tus (PATCH chunks) and compare with copying
    /// the same file on the same disk (copy + fsync).
    Upload {
        #[arg(long, default_value_t = 256)]
        size_mb: u64,
        #[arg(long, default_value_t = 8)]
        chunk_mb: u64,
        /// Data directory of the studio (default: a temporary one inside the configured one).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Many creators at once: log in, create a submission, upload a small file, poll its
    /// status; latencies per request kind, errors, throughput and peak memory.
    Load {
        #[arg(long, default_value_t = 3000)]
        creators: usize,
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
        #[arg(long, default_value_t = 64)]
        file_kb: usize,
        #[arg(long, default_value_t = 3)]
        polls: usize,
        /// Data directory of the studio (default: a temporary one inside the configured one).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Studio servers as separate `gala serve` processes sharing the configured database
        /// and media store (each creator's requests spread over them); 0: one in this process.
        #[arg(long, default_value_t = 0)]
        processes: usize,
    },
    /// Duplicate lookups in an index of N synthetic fingerprints (2–5-minute clips) plus real
    /// ones, at two sizes, against a brute-force scan of every stored frame.
    Duplicates {
        #[arg(long, default_value_t = 3000)]
        clips: usize,
        #[arg(long, default_value_t = 30000)]
        clips2: usize,
        /// Index lookups timed per query kind and size.
        #[arg(long, default_value_t = 200)]
        reps: usize,
        /// Brute-force scans timed per query kind and size.
        #[arg(long, default_value_t = 3)]
        scan_reps: usize,
    },
    /// The script writer's LLM families on random weights (tiny and a realistic MoE shape, each
    /// beside its dense reference): prompt and generation tokens/s, time to first token, peak
    /// memory. Speed figures only: random weights write gibberish.
    Writer {
        /// Families: qwen2-moe, qwen3-moe, mixtral, gguf (comma-separated).
        #[arg(
            long,
            default_value = "qwen2-moe,qwen3-moe,mixtral,gguf",
            value_delimiter = ','
        )]
        families: Vec<String>,
        /// Tokens generated per model.
        #[arg(long, default_value_t = 32)]
        tokens: usize,
        /// Hidden size of the realistic shape (expert inner size the same; 64-wide heads).
        #[arg(long, default_value_t = 1024)]
        hidden: usize,
        #[arg(long, default_value_t = 8)]
        layers: usize,
        /// Experts per layer of the realistic shape (2 active per token).
        #[arg(long, default_value_t = 16)]
        experts: usize,
        /// Only the tiny models.
        #[arg(long)]
        skip_big: bool,
    },
    /// Transcribe N seconds of espeak-ng speech with Whisper on candle and, in the same run,
    /// with faster-whisper (PyPI, CTranslate2) from the same model directory; × real time.
    Captions {
        /// Model directory (default: tiny.en from scripts/install-test-tools.sh).
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        /// Virtual environment with faster-whisper installed.
        #[arg(long, default_value = "target/bench-tools/faster-whisper")]
        reference: PathBuf,
    },
    /// Moderation throughput in clips per minute: title, description and a one-minute
    /// transcript through an xlm-roberta-base text classifier, frames of a one-minute clip
    /// through vit-base and clip-vit-base-patch32 (random weights at those shapes).
    Moderation {
        #[arg(long, default_value_t = 3)]
        clips: usize,
        /// Frames sampled from each clip.
        #[arg(long, default_value_t = 8)]
        frames: usize,
    },
    /// Render a generated program of 320x180 acts: the copy path (lower thirds and fades
    /// encoded, the rest stream-copied) against `ffmpeg -f concat -c copy` of the same clips,
    /// and the encode path (captions burned in, every frame encoded) against real time.
    Render {
        #[arg(long, default_value_t = 60.0)]
        minutes: f64,
        /// Length of each act.
        #[arg(long, default_value_t = 60.0)]
        act_seconds: f64,
    },
    /// Live playout of a generated program of 320x180 acts into FLV: pacing and CPU per
    /// channel of paced runs (encode path, copy path) beside `ffmpeg -re … -f flv` (encoding
    /// and copying), and the A/V offset at the end of a long program played unpaced.
    Live {
        /// Length of the paced run of the encode path (pacing, CPU).
        #[arg(long, default_value_t = 2.0)]
        paced_minutes: f64,
        /// Length of the ffmpeg references and of the paced copy-path run (CPU).
        #[arg(long, default_value_t = 2.0)]
        reference_minutes: f64,
        /// Length of the unpaced program whose A/V offset is measured at the end.
        #[arg(long, default_value_t = 60.0)]
        unpaced_minutes: f64,
        #[arg(long, default_value_t = 60.0)]
        act_seconds: f64,
    },
    /// The running-order planner on random pools of each size for a 4 h 30 min show: median
    /// time per plan and its over/under, beside a plain greedy fill (by score, first fit).
    Planner {
        #[arg(long, default_value = "300,3000,30000", value_delimiter = ',')]
        sizes: Vec<usize>,
        /// Plans timed per size (the median is printed).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Normalize {
            clips,
            size,
            seconds,
        } => normalize::bench_normalize(config, clips, &size, seconds).await,
        What::Chain {
            clips,
            size,
            seconds,
            remote,
        } => chain::bench_chain(config, clips, &size, seconds, remote).await,
        What::Upload {
            size_mb,
            chunk_mb,
            data_dir,
        } => upload::bench_upload(config, data_dir, size_mb, chunk_mb).await,
        What::Load {
            creators,
            concurrency,
            file_kb,
            polls,
            data_dir,
            processes,
        } => {
            let plan = load::Plan {
                processes,
                creators,
                concurrency: concurrency.clamp(1, 200),
                file_bytes: file_kb * 1024,
                polls,
            };
            load::bench_load(config, data_dir, plan).await
        }
        What::Duplicates {
            clips,
            clips2,
            reps,
            scan_reps,
        } => {
            let sizes = vec![clips.max(1), clips2.max(1)];
            duplicates::bench_duplicates(config, sizes, reps.max(1), scan_reps.max(1)).await
        }
        What::Writer {
            families,
            tokens,
            hidden,
            layers,
            experts,
            skip_big,
        } => {
            let plan = writer::Plan {
                families,
                tokens: tokens.max(1),
                hidden: hidden.max(64) / 64 * 64,
                layers: layers.max(1),
                experts: experts.max(2),
                skip_big,
            };
            tokio::task::spawn_blocking(move || writer::bench_writer(config, plan)).await?
        }
        What::Captions {
            model,
            seconds,
            reference,
        } => captions::bench_captions(config, model, seconds.max(1.0), reference).await,
        What::Planner { sizes, runs } => {
            tokio::task::spawn_blocking(move || planner::bench_planner(config, sizes, runs.max(1)))
                .await?
        }
        What::Moderation { clips, frames } => {
            moderation::bench_moderation(config, clips, frames).await
        }
        What::Render {
            minutes,
            act_seconds,
        } => render::bench_render(config, minutes.max(0.1), act_seconds.max(1.0)).await,
        What::Live {
            paced_minutes,
            reference_minutes,
            unpaced_minutes,
            act_seconds,
        } => {
            let minutes = live::Minutes {
                paced: paced_minutes.max(0.1),
                reference: reference_minutes.max(0.1),
                unpaced: unpaced_minutes.max(0.1),
            };
            live::bench_live(config, minutes, act_seconds.max(1.0)).await
        }
    }
}

/// Makes `n` distinct clips (a different tone each) of `size` and `seconds` in `dir`.
pub fn make_clips(dir: &Path, n: usize, size: &str, seconds: f64) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    (0..n)
        .map(|i| {
            let path = dir.join(format!("bench-{i:04}.mp4"));
            if !path.exists() {
                let args: Vec<String> = format!(
                    "-hide_banner -loglevel error -f lavfi -i testsrc2=size={size}:rate=30,trim=duration={seconds} \
                     -f lavfi -i sine=frequency={}:sample_rate=44100:duration={seconds},volume=-{}dB \
                     -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest",
                    200 + 7 * i,
                    10 + i % 25
                )
                .split_whitespace()
                .map(String::from)
                .collect();
                demo::ffmpeg(&args, &path)?;
            }
            Ok(path)
        })
        .collect()
}

/// VmHWM of this process, from /proc.
pub fn peak_rss() -> String {
    peak_rss_of("self")
}

/// The peak resident memory (VmHWM) of process `pid` (`self`: this one), as /proc writes it.
pub fn peak_rss_of(pid: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
