//! `gala bench render`: a generated program of tiny-format acts rendered by gala, against
//! `ffmpeg -f concat -c copy` of the same clips (the copy path) and against real time with
//! every frame encoded (captions burned in: the encode path).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context};
use gala_pipeline::ai::captions::Cue;
use gala_pipeline::config::HouseFormat;
use gala_pipeline::ingest::normalize;
use gala_pipeline::render::{self, CaptionMode, LowerThird, PlanItem, RenderPlan, Source};
use gala_pipeline::Config;

use super::make_clips;

/// The configured house format at 320x180: what the render and live benches play.
pub(super) fn tiny_house(config: &Config) -> HouseFormat {
    HouseFormat {
        width: 320,
        height: 180,
        ..config.house.clone()
    }
}

/// Distinct clips generated; the program repeats them.
const DISTINCT: usize = 6;

pub async fn bench_render(
    config: Config,
    minutes: f64,
    act_seconds: f64,
) -> anyhow::Result<ExitCode> {
    let dir = config.data_dir.join("bench-render");
    let house = tiny_house(&config);
    let acts = ((minutes * 60.0 / act_seconds).ceil() as usize).max(1);
    println!(
        "render bench: {acts} acts of {act_seconds} s ({minutes} min) at {}x{}@{} (x264 {})",
        house.width, house.height, house.fps, house.x264_preset
    );
    let rows = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let clips = normalized_clips(&dir, &house, &config, act_seconds)?;
        let work = tempfile::tempdir_in(&dir)?;
        let program: Vec<PathBuf> = (0..acts).map(|i| clips[i % clips.len()].clone()).collect();
        let media_s = acts as f64 * act_seconds;
        let mut rows = Vec::new();

        let t = Instant::now();
        concat_copy(&program, work.path(), &["-c", "copy"])?;
        let ffmpeg_s = t.elapsed().as_secs_f64();
        let audio_kbps = format!("{}k", house.audio_kbps);
        let t = Instant::now();
        concat_copy(
            &program,
            work.path(),
            &["-c:v", "copy", "-c:a", "aac", "-b:a", &audio_kbps],
        )?;
        let ffmpeg_aac_s = t.elapsed().as_secs_f64();

        let copy = plan(&program, &house, &config, act_seconds, CaptionMode::Off);
        let t = Instant::now();
        let r = render::render(&copy, &work.path().join("copy.mp4"), &|_| {})?;
        let ours = t.elapsed().as_secs_f64();
        rows.push(format!(
            "copy path:   gala {ours:7.2} s ({} frames copied, {} encoded)   ffmpeg concat -c copy {ffmpeg_s:6.2} s   ratio gala/ffmpeg {:.2}   {:.0}x real time",
            r.copied_frames, r.encoded_frames, ours / ffmpeg_s, media_s / ours
        ));
        rows.push(format!(
            "             ffmpeg concat -c:v copy -c:a aac (the sound encoded once, as gala does) {ffmpeg_aac_s:6.2} s   ratio gala/ffmpeg {:.2}",
            ours / ffmpeg_aac_s
        ));
        std::fs::remove_file(work.path().join("copy.mp4")).ok();

        let burn = plan(&program, &house, &config, act_seconds, CaptionMode::Burn);
        let t = Instant::now();
        let r = render::render(&burn, &work.path().join("burn.mp4"), &|_| {})?;
        let ours = t.elapsed().as_secs_f64();
        rows.push(format!(
            "encode path: gala {ours:7.2} s ({} frames encoded)   real time {media_s:.0} s   {:.1}x real time",
            r.encoded_frames,
            media_s / ours
        ));
        rows.push(format!(
            "program loudness {} LUFS, gain {:.2} dB",
            r.loudness.integrated_lufs.map(|v| format!("{v:.2}")).unwrap_or_default(),
            r.gain_db
        ));
        Ok(rows)
    })
    .await??;
    for r in rows {
        println!("  {r}");
    }
    Ok(ExitCode::SUCCESS)
}

/// A few acts normalized by gala's own ingest (so they are in the house encoding).
pub(super) fn normalized_clips(
    dir: &Path,
    house: &HouseFormat,
    config: &Config,
    seconds: f64,
) -> anyhow::Result<Vec<PathBuf>> {
    // Cached between runs: the names carry everything that shapes the files.
    let sources = make_clips(
        &dir.join(format!("sources-{seconds}s")),
        DISTINCT,
        "320x240",
        seconds,
    )?;
    sources
        .iter()
        .enumerate()
        .map(|(i, source)| {
            let out = dir.join(format!(
                "act-{i}-{seconds}s-{}x{}@{}-{}-crf{}.mp4",
                house.width, house.height, house.fps, house.x264_preset, house.crf
            ));
            if !out.exists() {
                normalize::normalize(source, &out, house, &config.limits, &|_| {})
                    .map_err(|e| anyhow::anyhow!("normalize {}: {e}", source.display()))?;
            }
            Ok(out)
        })
        .collect()
}

pub(super) fn plan(
    clips: &[PathBuf],
    house: &HouseFormat,
    config: &Config,
    seconds: f64,
    captions: CaptionMode,
) -> RenderPlan {
    let ms = (seconds * 1000.0) as i64;
    let items = clips
        .iter()
        .enumerate()
        .map(|(i, path)| PlanItem {
            id: i as u64 + 1,
            kind: "act".into(),
            title: format!("Act {}", i + 1),
            creator: "Bench 测试".into(),
            source: Source::Act {
                path: path.clone(),
                in_ms: 0,
                out_ms: ms,
                lower_third: Some(LowerThird {
                    title: format!("Act {} 节目", i + 1),
                    credit: "Bench 测试".into(),
                }),
                cues: vec![Cue {
                    start_ms: 0,
                    end_ms: ms,
                    text: "A caption over the whole act 字幕".into(),
                }],
            },
        })
        .collect();
    RenderPlan {
        house: house.clone(),
        items,
        captions,
        config: config.render.clone(),
        limits: config.limits.clone(),
    }
}

/// A list of `clips` for FFmpeg's concat demuxer, written at `list`.
pub(super) fn concat_list(clips: &[PathBuf], list: &Path) -> anyhow::Result<PathBuf> {
    let text: String = clips
        .iter()
        .map(|c| {
            format!(
                "file '{}'\n",
                std::path::absolute(c).unwrap_or(c.clone()).display()
            )
        })
        .collect();
    std::fs::write(list, text)?;
    Ok(list.to_path_buf())
}

/// The reference: the same clips joined by the concat demuxer, the pictures not re-encoded;
/// the sound copied too (`codec_args` `-c copy`) or encoded once (`-c:v copy -c:a aac`), as
/// gala's copy path does to bring the whole program to one loudness.
fn concat_copy(clips: &[PathBuf], dir: &Path, codec_args: &[&str]) -> anyhow::Result<()> {
    let list = concat_list(clips, &dir.join("list.txt"))?;
    let out = dir.join("concat.mp4");
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
        ])
        .arg(&list)
        .args(codec_args)
        .arg(&out)
        .status()
        .context("running ffmpeg")?;
    if !status.success() {
        bail!("ffmpeg concat failed");
    }
    std::fs::remove_file(out).ok();
    Ok(())
}
