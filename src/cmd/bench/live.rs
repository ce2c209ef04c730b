//! `gala bench live`: live playout of a generated program of tiny-format acts, measured
//! three ways: the pacing (media time written against wall-clock time) and the CPU of a paced
//! run with graphics (every frame encoded) and of one without (pictures stream-copied),
//! beside `ffmpeg -re … -f flv` of the same clips (encoding, and copying) in the same run; and
//! the A/V offset at the end of a long program played unpaced (as fast as it encodes).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use gala_pipeline::config::HouseFormat;
use gala_pipeline::live::{self, LiveStatus, Playout};
use gala_pipeline::render::CaptionMode;
use gala_pipeline::Config;

use super::render::{concat_list, normalized_clips, plan, tiny_house};

/// How long each run lasts.
pub struct Minutes {
    /// The paced encode run (pacing and CPU).
    pub paced: f64,
    /// The ffmpeg references and the paced copy run (CPU).
    pub reference: f64,
    /// The unpaced program whose A/V offset is measured.
    pub unpaced: f64,
}

pub async fn bench_live(
    config: Config,
    minutes: Minutes,
    act_seconds: f64,
) -> anyhow::Result<ExitCode> {
    let dir = config.data_dir.join("bench-render");
    let house = tiny_house(&config);
    println!(
        "live bench: acts of {act_seconds} s at {}x{}@{} (x264 {}, keyframe every {} s)",
        house.width, house.height, house.fps, house.x264_preset, house.gop_seconds
    );
    let rows = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let clips = normalized_clips(&dir, &house, &config, act_seconds)?;
        let work = tempfile::tempdir_in(&dir)?;
        let program = |minutes: f64| -> Vec<PathBuf> {
            let acts = ((minutes * 60.0 / act_seconds).ceil() as usize).max(1);
            (0..acts).map(|i| clips[i % clips.len()].clone()).collect()
        };
        let mut rows = Vec::new();

        // Paced, encode path: pacing and CPU per channel.
        let paced = program(minutes.paced);
        let out = work.path().join("paced.flv");
        let cpu0 = cpu_seconds(false);
        let run = play(&config, &house, &paced, act_seconds, &out, (true, true))?;
        let ours_cpu = cpu_seconds(false) - cpu0;
        rows.push(format!(
            "pacing ({:.0} s paced): media − wall time: mean {:+.1} ms, worst {:+.1} ms, at the end {:+.1} ms; {} frames late",
            run.status.media_s,
            run.mean_error_s * 1000.0,
            run.worst_error_s * 1000.0,
            (run.status.media_s - run.status.wall_s) * 1000.0,
            run.status.late_frames
        ));
        let paced_media = run.status.media_s.max(1e-6);
        let short = program(minutes.reference);
        let media = short.len() as f64 * act_seconds;
        let list = concat_list(&short, &work.path().join("live-list.txt"))?;
        let reference = |copy: bool| -> anyhow::Result<f64> {
            let c0 = cpu_seconds(true);
            ffmpeg_re(&list, &house, copy, &work.path().join("ref.flv"), media)?;
            Ok(cpu_seconds(true) - c0)
        };
        let ref_encode = reference(false)?;
        let ref_copy = reference(true)?;
        let (ours_pct, ref_pct) = (100.0 * ours_cpu / paced_media, 100.0 * ref_encode / media);
        rows.push(format!(
            "CPU per channel, encode: gala {ours_pct:.1} % of a core ({ours_cpu:.1} s for {paced_media:.0} s)   ffmpeg -re … -c:v libx264 -f flv {ref_pct:.1} % ({media:.0} s)   ratio {:.2}",
            ours_pct / ref_pct.max(1e-6)
        ));
        // Paced, copy path: the same program without graphics, pictures stream-copied.
        let out = work.path().join("copy.flv");
        let cpu0 = cpu_seconds(false);
        let run = play(&config, &house, &short, act_seconds, &out, (true, false))?;
        let copy_cpu = cpu_seconds(false) - cpu0;
        rows.push(format!(
            "CPU per channel, copy ({} mode): gala {:.1} % of a core ({copy_cpu:.1} s for {:.0} s)   ffmpeg -re … -c copy -f flv {:.1} %   ratio {:.2}",
            run.status.mode,
            100.0 * copy_cpu / run.status.media_s,
            run.status.media_s,
            100.0 * ref_copy / media,
            copy_cpu / ref_copy.max(1e-6)
        ));

        // Unpaced long program: the A/V offset at its end.
        let long = program(minutes.unpaced);
        let out = work.path().join("long.flv");
        let t = Instant::now();
        let run = play(&config, &house, &long, act_seconds, &out, (false, true))?;
        let took = t.elapsed().as_secs_f64();
        let (video_end, audio_end) = stream_ends(&out)?;
        rows.push(format!(
            "A/V after {:.0} s of program (unpaced, {:.1} s, {:.1}x real time): video ends {video_end:.3} s, audio {audio_end:.3} s, offset {:+.1} ms; {} frames, {} samples sent",
            run.status.media_s,
            took,
            run.status.media_s / took,
            (video_end - audio_end) * 1000.0,
            run.status.frames,
            run.samples
        ));
        Ok(rows)
    })
    .await??;
    for r in rows {
        println!("  {r}");
    }
    Ok(ExitCode::SUCCESS)
}

struct Run {
    status: LiveStatus,
    mean_error_s: f64,
    worst_error_s: f64,
    samples: i64,
}

/// Plays the clips as one program into an FLV file, sampling the pacing every 100 ms;
/// `graphics` off lets the pictures be stream-copied.
fn play(
    config: &Config,
    house: &HouseFormat,
    clips: &[PathBuf],
    act_seconds: f64,
    out: &Path,
    (pace, graphics): (bool, bool),
) -> anyhow::Result<Run> {
    let mut render_plan = plan(clips, house, config, act_seconds, CaptionMode::Off);
    render_plan.house = house.clone();
    if !graphics {
        render_plan.config.lower_third_s = 0;
        render_plan.config.transition_ms = 0;
    }
    let playout = Playout {
        plan: render_plan,
        destinations: vec![out.display().to_string()],
        config: config.live.clone(),
        start_at: None,
        resume_first_at_ms: 0,
        planned_first_ms: None,
        pace,
        unresolved: Vec::new(),
    };
    let (_tx, rx) = mpsc::channel();
    let status = Arc::new(Mutex::new(LiveStatus::default()));
    let s2 = status.clone();
    let samples = Arc::new(Mutex::new(0i64));
    let samples2 = samples.clone();
    let thread = std::thread::spawn(move || {
        live::run(playout, rx, s2, &mut |e| {
            if let live::Event::ProgramEnded { samples, .. } = e {
                *samples2.lock().unwrap() = samples;
            }
        })
    });
    let (mut sum, mut n, mut worst) = (0.0, 0u64, 0.0f64);
    while !thread.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
        let s = status.lock().unwrap().clone();
        if s.wall_s > 1.0 && s.phase == "on_air" {
            let e = s.media_s - s.wall_s;
            sum += e;
            n += 1;
            if e.abs() > worst.abs() {
                worst = e;
            }
        }
    }
    let status = thread
        .join()
        .map_err(|_| anyhow::anyhow!("the playout panicked"))??;
    let samples = *samples.lock().unwrap();
    Ok(Run {
        status,
        mean_error_s: if n > 0 { sum / n as f64 } else { 0.0 },
        worst_error_s: worst,
        samples,
    })
}

/// User + system CPU seconds of this process, or of its waited-for children.
fn cpu_seconds(children: bool) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // utime, stime, cutime, cstime are fields 14..17 (1-based): 11..14 after the state.
    let (a, b) = if children { (13, 14) } else { (11, 12) };
    let ticks = 100.0; // USER_HZ on Linux
    (f.get(a).copied().unwrap_or(0.0) + f.get(b).copied().unwrap_or(0.0)) / ticks
}

/// The reference: `ffmpeg -re` of the same program into FLV, encoding (house x264 settings,
/// keyframe every GOP) or copying, cut at the same media length.
fn ffmpeg_re(
    list: &Path,
    house: &HouseFormat,
    copy: bool,
    out: &Path,
    seconds: f64,
) -> anyhow::Result<()> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-re",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
    ])
    .arg(list)
    .args(["-t", &format!("{seconds:.3}")]);
    if copy {
        cmd.args(["-c", "copy"]);
    } else {
        let g = house.gop_frames().to_string();
        cmd.args([
            "-c:v",
            "libx264",
            "-preset",
            &house.x264_preset,
            "-crf",
            &house.crf.to_string(),
            "-g",
            &g,
            "-keyint_min",
            &g,
            "-sc_threshold",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            &format!("{}k", house.audio_kbps),
        ]);
    }
    let status = cmd.args(["-f", "flv"]).arg(out).status()?;
    anyhow::ensure!(status.success(), "ffmpeg -re failed ({status})");
    Ok(())
}

/// Where the video and the audio of a file end (seconds), from its packets.
fn stream_ends(path: &Path) -> anyhow::Result<(f64, f64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=codec_type,pts_time,duration_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()?;
    let (mut video, mut audio) = (0.0f64, 0.0f64);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 3 {
            continue;
        }
        let end = f[1].parse::<f64>().unwrap_or(0.0) + f[2].parse::<f64>().unwrap_or(0.0);
        match f[0] {
            "video" => video = video.max(end),
            "audio" => audio = audio.max(end),
            _ => {}
        }
    }
    Ok((video, audio))
}
