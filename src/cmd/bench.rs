//! `gala bench`: throughput figures, printed side by side with the ffmpeg command line doing
//! the same work in the same run. Benchmarks, not tests: the machine is shared and noisy, so
//! read the ratios, not the absolute times.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context};
use gala_pipeline::config::HouseFormat;
use gala_pipeline::ingest::clips::ClipState;
use gala_pipeline::ingest::normalize;
use gala_pipeline::{demo, Config, Engine};

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
    },
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Normalize { clips, size, seconds } => bench_normalize(config, clips, &size, seconds).await,
        What::Chain { clips, size, seconds } => bench_chain(config, clips, &size, seconds).await,
    }
}

/// Makes `n` distinct clips (a different tone each) of `size` and `seconds` in `dir`.
fn make_clips(dir: &Path, n: usize, size: &str, seconds: f64) -> anyhow::Result<Vec<PathBuf>> {
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

async fn bench_normalize(config: Config, n: usize, size: &str, seconds: f64) -> anyhow::Result<ExitCode> {
    let dir = config.data_dir.join("bench-normalize");
    let house = config.house.clone();
    let limits = config.limits.clone();
    println!("normalize bench: {n} clips of {seconds} s at {size} → {}x{}@{} (x264 {} crf {})", house.width, house.height, house.fps, house.x264_preset, house.crf);
    let size = size.to_string();
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<(f64, f64, Vec<String>)> {
        let clips = make_clips(&dir, n, &size, seconds)?;
        let out = tempfile::tempdir_in(&dir)?;
        let (mut ours, mut theirs, mut rows) = (0.0, 0.0, Vec::new());
        for (i, clip) in clips.iter().enumerate() {
            let t = Instant::now();
            let r = normalize::normalize(clip, &out.path().join(format!("gala-{i}.mp4")), &house, &limits, &|_| {})
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let a = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let ff_out = out.path().join(format!("ffmpeg-{i}.mp4"));
            ffmpeg_normalize(clip, &ff_out, &house)?;
            let b = t.elapsed().as_secs_f64();
            ours += a;
            theirs += b;
            rows.push(format!(
                "{:<16} gala {a:6.2} s ({} LUFS)   ffmpeg {b:6.2} s   ratio {:.2}",
                clip.file_name().unwrap_or_default().to_string_lossy(),
                r.loudness_after.integrated_lufs.map(|v| format!("{v:.2}")).unwrap_or_default(),
                b / a
            ));
        }
        Ok((ours, theirs, rows))
    })
    .await??;
    let (ours, theirs, rows) = report;
    for r in rows {
        println!("  {r}");
    }
    let media = n as f64 * seconds;
    println!("total: gala {ours:.2} s ({:.1}x real time), ffmpeg {theirs:.2} s ({:.1}x real time)", media / ours, media / theirs);
    println!("speed ratio gala/ffmpeg: {:.2} (above 1 means gala is faster)", theirs / ours);
    Ok(ExitCode::SUCCESS)
}

/// The ffmpeg CLI doing what `normalize` does: two-pass loudnorm to I=-23 TP=-1, letterbox to
/// the house size, 25 fps, x264 High with a closed GOP, AAC 48 kHz stereo.
fn ffmpeg_normalize(input: &Path, output: &Path, house: &HouseFormat) -> anyhow::Result<()> {
    let target = format!("I={}:TP={}:LRA=20", house.loudness_target, house.true_peak_max);
    let pass1 = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(input)
        .args(["-af", &format!("loudnorm={target}:print_format=json"), "-f", "null", "-"])
        .output()?;
    let stderr = String::from_utf8_lossy(&pass1.stderr);
    let json_start = stderr.rfind('{').context("loudnorm printed no measurement")?;
    let m: serde_json::Value = serde_json::from_str(&stderr[json_start..]).context("parsing loudnorm JSON")?;
    let get = |k: &str| m[k].as_str().unwrap_or("0").to_string();
    let af = format!(
        "loudnorm={target}:measured_I={}:measured_TP={}:measured_LRA={}:measured_thresh={}:offset={}:linear=true,aresample={}",
        get("input_i"), get("input_tp"), get("input_lra"), get("input_thresh"), get("target_offset"), house.audio_sample_rate
    );
    let (w, h) = (house.width, house.height);
    let vf = format!("scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={},format=yuv420p", house.fps);
    let gop = house.gop_frames().to_string();
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(input)
        .args(["-vf", &vf, "-af", &af])
        .args(["-c:v", "libx264", "-preset", &house.x264_preset, "-crf", &house.crf.to_string(), "-profile:v", "high"])
        .args(["-g", &gop, "-keyint_min", &gop, "-sc_threshold", "0", "-flags", "+cgop"])
        .args(["-maxrate", &format!("{}k", house.video_max_kbps), "-bufsize", &format!("{}k", house.video_max_kbps * 2)])
        .args(["-c:a", "aac", "-b:a", &format!("{}k", house.audio_kbps), "-ac", "2", "-movflags", "+faststart"])
        .arg(output)
        .status()?;
    if !status.success() {
        bail!("ffmpeg reference encode failed");
    }
    Ok(())
}

async fn bench_chain(config: Config, n: usize, size: &str, seconds: f64) -> anyhow::Result<ExitCode> {
    let dir = config.data_dir.join("bench-chain");
    let (size_owned, d) = (size.to_string(), dir.clone());
    println!("chain bench: generating {n} clips of {seconds} s at {size} …");
    let clips = tokio::task::spawn_blocking(move || make_clips(&d, n, &size_owned, seconds)).await??;
    let workers = config.jobs.workers as usize;
    println!(
        "ingesting through the whole chain with {workers} workers → {}x{}@{} …",
        config.house.width, config.house.height, config.house.fps
    );
    let engine = Engine::open(config).await?;
    let t = Instant::now();
    let done = super::ingest::ingest_files(&engine, &clips, workers, false).await?;
    let elapsed = t.elapsed().as_secs_f64();
    let ready = done.iter().filter(|c| c.state == ClipState::Ready).count();
    println!("{ready}/{n} clips ready in {elapsed:.1} s: {:.1} clips per minute, {:.2}x real time", n as f64 * 60.0 / elapsed, n as f64 * seconds / elapsed);
    println!("peak memory of this process (the worker pool): {}", peak_rss());
    Ok(ExitCode::SUCCESS)
}

/// VmHWM of this process, from /proc.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l["VmHWM:".len()..].trim().to_string()))
        .unwrap_or_else(|| "unknown".into())
}
