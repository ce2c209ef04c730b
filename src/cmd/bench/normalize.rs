//! `gala bench normalize`: gala's normalize against the ffmpeg command line, clip by clip.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context};
use gala_pipeline::config::HouseFormat;
use gala_pipeline::ingest::normalize;
use gala_pipeline::Config;

use super::make_clips;

pub async fn bench_normalize(
    config: Config,
    n: usize,
    size: &str,
    seconds: f64,
) -> anyhow::Result<ExitCode> {
    let dir = config.data_dir.join("bench-normalize");
    let house = config.house.clone();
    let limits = config.limits.clone();
    println!(
        "normalize bench: {n} clips of {seconds} s at {size} → {}x{}@{} (x264 {} crf {})",
        house.width, house.height, house.fps, house.x264_preset, house.crf
    );
    let size = size.to_string();
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<(f64, f64, Vec<String>)> {
        let clips = make_clips(&dir, n, &size, seconds)?;
        let out = tempfile::tempdir_in(&dir)?;
        let (mut ours, mut theirs, mut rows) = (0.0, 0.0, Vec::new());
        for (i, clip) in clips.iter().enumerate() {
            let t = Instant::now();
            let r = normalize::normalize(
                clip,
                &out.path().join(format!("gala-{i}.mp4")),
                &house,
                &limits,
                &|_| {},
            )
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
                r.loudness_after
                    .integrated_lufs
                    .map(|v| format!("{v:.2}"))
                    .unwrap_or_default(),
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
    println!(
        "total: gala {ours:.2} s ({:.1}x real time), ffmpeg {theirs:.2} s ({:.1}x real time)",
        media / ours,
        media / theirs
    );
    println!(
        "speed ratio gala/ffmpeg: {:.2} (above 1 means gala is faster)",
        theirs / ours
    );
    Ok(ExitCode::SUCCESS)
}

/// The ffmpeg CLI doing what `normalize` does: two-pass loudnorm to I=-23 TP=-1 (the first
/// pass decodes the whole file, as the usual recipe does), letterbox to the house size, 25 fps,
/// x264 High with a closed GOP, AAC 48 kHz stereo.
fn ffmpeg_normalize(input: &Path, output: &Path, house: &HouseFormat) -> anyhow::Result<()> {
    let target = format!(
        "I={}:TP={}:LRA=20",
        house.loudness_target, house.true_peak_max
    );
    let pass1 = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(input)
        .args([
            "-af",
            &format!("loudnorm={target}:print_format=json"),
            "-f",
            "null",
            "-",
        ])
        .output()?;
    let stderr = String::from_utf8_lossy(&pass1.stderr);
    let json_start = stderr
        .rfind('{')
        .context("loudnorm printed no measurement")?;
    let m: serde_json::Value =
        serde_json::from_str(&stderr[json_start..]).context("parsing loudnorm JSON")?;
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
        // Two encoder threads, like gala's (its worker runs jobs side by side).
        .args([
            "-threads",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            &house.x264_preset,
            "-crf",
            &house.crf.to_string(),
            "-profile:v",
            "high",
        ])
        .args([
            "-g",
            &gop,
            "-keyint_min",
            &gop,
            "-sc_threshold",
            "0",
            "-flags",
            "+cgop",
        ])
        .args([
            "-maxrate",
            &format!("{}k", house.video_max_kbps),
            "-bufsize",
            &format!("{}k", house.video_max_kbps * 2),
        ])
        .args([
            "-c:a",
            "aac",
            "-b:a",
            &format!("{}k", house.audio_kbps),
            "-ac",
            "2",
            "-movflags",
            "+faststart",
        ])
        .arg(output)
        .status()?;
    if !status.success() {
        bail!("ffmpeg reference encode failed");
    }
    Ok(())
}
