//! The demo material: a few dozen varied clips made with FFmpeg's lavfi sources (sizes, frame
//! rates, aspect ratios, interlaced, rotated, loud and quiet, with and without audio, and a few
//! bad files), as a creator community would send them. `gala demo` ingests them; tests and
//! benches use the same generator.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// One demo clip: a file name and how FFmpeg makes it.
pub struct DemoClip {
    pub name: &'static str,
    /// What the clip exercises, for the demo's output.
    pub about: &'static str,
    /// Whether ingest should accept it.
    pub expect_accept: bool,
    make: Make,
}

enum Make {
    /// Arguments to `ffmpeg -y` before the output path.
    Ffmpeg(Vec<String>),
    /// Made like `Ffmpeg`, then stream-copied with extra output options: FFmpeg 5.1 writes a
    /// display matrix (`rotate=`) only when it does not re-encode.
    Remux(Vec<String>, &'static str),
    /// A hand-made file (not media, truncated...).
    Bytes(fn(&Path) -> anyhow::Result<()>),
}

fn v(src: &str, size: &str, rate: &str, secs: f64) -> String {
    // trim rather than `duration=`: not every source (life, mandelbrot) has that option.
    format!("{src}=size={size}:rate={rate},trim=duration={secs}")
}

fn tone(freq: u32, volume_db: f64, secs: f64) -> String {
    format!("sine=frequency={freq}:sample_rate=48000:duration={secs},volume={volume_db}dB")
}

/// `ffmpeg` arguments: lavfi inputs, then the rest.
fn args(inputs: &[String], rest: &str) -> Vec<String> {
    let mut a = vec!["-hide_banner".into(), "-loglevel".into(), "error".into()];
    for i in inputs {
        a.extend(["-f".into(), "lavfi".into(), "-i".into(), i.clone()]);
    }
    a.extend(rest.split_whitespace().map(String::from));
    a
}

const H264: &str = "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 128k -shortest";

fn clip(name: &'static str, about: &'static str, inputs: &[String], rest: &str) -> DemoClip {
    DemoClip {
        name,
        about,
        expect_accept: true,
        make: Make::Ffmpeg(args(inputs, rest)),
    }
}

/// A clip re-muxed with `rotate` (e.g. `-c copy -metadata:s:v:0 rotate=90`).
fn rotated(
    name: &'static str,
    about: &'static str,
    inputs: &[String],
    rotate: &'static str,
) -> DemoClip {
    DemoClip {
        name,
        about,
        expect_accept: true,
        make: Make::Remux(args(inputs, H264), rotate),
    }
}

fn bad(name: &'static str, about: &'static str, make: Make) -> DemoClip {
    DemoClip {
        name,
        about,
        expect_accept: false,
        make,
    }
}

/// The demo set. Every clip is a few seconds long so the whole demo stays quick.
pub fn clips() -> Vec<DemoClip> {
    let t = 4.0;
    let music =
        "aevalsrc=0.2*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*2*t))+0.1*sin(2*PI*330*t):s=48000:d=4";
    vec![
        clip("bars-1080p25.mp4", "HD colour bars with a tone", &[v("smptehdbars", "1920x1080", "25", t), tone(1000, -18.0, t)], H264),
        clip("testcard-720p30.mp4", "720p at 30 fps", &[v("testsrc2", "1280x720", "30", t), music.into()], H264),
        clip("phone-portrait.mp4", "9:16 phone video: pillarbox", &[v("testsrc2", "720x1280", "30", t), tone(440, -20.0, t)], H264),
        clip("square-24fps.mp4", "1:1 at 24 fps", &[v("rgbtestsrc", "600x600", "24", t), tone(523, -16.0, t)], H264),
        clip("scope-2.39.mp4", "cinemascope: letterbox", &[v("testsrc", "1280x536", "24000/1001", t), music.into()], H264),
        clip("sd-4x3-2997.mp4", "SD 4:3 at 29.97 fps", &[v("smptebars", "640x480", "30000/1001", t), tone(1000, -20.0, t)], H264),
        clip("anamorphic-sar.mp4", "720x576 with 16:9 sample aspect", &[v("testsrc2", "720x576", "25", t), tone(800, -22.0, t)], &format!("-vf setsar=64/45 {H264}")),
        clip("fast-50fps.mp4", "720p at 50 fps", &[v("testsrc2", "1280x720", "50", t), tone(660, -14.0, t)], H264),
        clip("fast-60fps.mp4", "720p at 60 fps", &[v("mandelbrot", "640x360", "60", t), music.into()], H264),
        clip("slow-15fps.mp4", "15 fps animation", &[v("life", "320x240", "15", t), tone(300, -24.0, t)], H264),
        clip("interlaced-1080i.mp4", "1080i25 top field first: deinterlace", &[v("testsrc2", "1920x1080", "50", t), tone(1000, -20.0, t)], &format!("-vf tinterlace=interleave_top,fieldorder=tff -flags +ildct+ilme -x264opts tff=1 -r 25 {H264}")),
        rotated("rotated-90.mp4", "phone clip stored sideways (display matrix 90°)", &[v("testsrc2", "640x360", "30", t), tone(440, -20.0, t)], "-c copy -metadata:s:v:0 rotate=90"),
        rotated("rotated-180.mp4", "upside-down phone clip", &[v("testsrc2", "640x360", "30", t), tone(440, -20.0, t)], "-c copy -metadata:s:v:0 rotate=180"),
        clip("loud.mp4", "very loud: gain down and true-peak limit", &[v("testsrc2", "640x360", "25", t), "anoisesrc=color=pink:amplitude=0.9:d=4:r=48000".into()], H264),
        clip("quiet.mp4", "very quiet: gain up", &[v("testsrc2", "640x360", "25", t), tone(440, -45.0, t)], H264),
        clip("no-audio.mp4", "no audio stream: silence added", &[v("testsrc2", "640x360", "25", t)], "-c:v libx264 -preset ultrafast -pix_fmt yuv420p"),
        clip("audio-longer.mp4", "audio 1 s longer than video: last frame held", &[v("testsrc2", "640x360", "25", 3.0), tone(440, -20.0, 4.0)], "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac"),
        clip("video-longer.mp4", "video 1 s longer than audio: silence padded", &[v("testsrc2", "640x360", "25", 4.0), tone(440, -20.0, 3.0)], "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac"),
        clip("black-start.mp4", "2 s of black before the picture", &[format!("color=black:size=640x360:rate=25:duration=2[b];{}[p];[b][p]concat=n=2:v=1:a=0", v("testsrc2", "640x360", "25", 3.0)), tone(440, -20.0, 5.0)], H264),
        clip("frozen-middle.mp4", "picture frozen for 3 s", &[format!("{},trim=0:1,setpts=PTS-STARTPTS,tpad=stop_mode=clone:stop_duration=3[f];{}[p];[f][p]concat=n=2:v=1:a=0", v("testsrc2", "640x360", "25", 1.0), v("testsrc2", "640x360", "25", 2.0)), tone(440, -20.0, 6.0)], H264),
        clip("silent-middle.mp4", "3 s of silence mid-clip", &[v("testsrc2", "640x360", "25", 6.0), "aevalsrc=if(between(t\\,1.5\\,4.5)\\,0\\,0.1*sin(2*PI*440*t)):s=48000:d=6".into()], H264),
        clip("clipped.mkv", "hard-clipped 16-bit audio", &[v("testsrc2", "640x360", "25", t), tone(220, 24.0, t)], "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a pcm_s16le -shortest"),
        clip("mono-44k.mp4", "mono 44.1 kHz audio", &[v("testsrc2", "640x360", "25", t), "sine=frequency=440:sample_rate=44100:duration=4".into()], &format!("{H264} -ac 1")),
        clip("surround-5.1.mkv", "5.1 audio: downmixed", &[v("testsrc2", "640x360", "25", t), "sine=frequency=440:sample_rate=48000:duration=4".into()], "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 6 -shortest"),
        clip("webm-vp9.webm", "VP9 + Opus in WebM", &[v("testsrc2", "480x270", "25", t), tone(440, -20.0, t)], "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 300k -c:a libopus -shortest"),
        clip("mpeg2.mpg", "MPEG-2 program stream", &[v("smptebars", "720x576", "25", t), tone(1000, -20.0, t)], "-c:v mpeg2video -q:v 4 -c:a mp2 -shortest"),
        clip("prores.mov", "ProRes 4:2:2 with PCM", &[v("testsrc2", "640x360", "25", t), tone(440, -20.0, t)], "-c:v prores_ks -profile:v 0 -c:a pcm_s16le -shortest"),
        clip("yuv444-10bit.mkv", "10-bit 4:4:4 H.264: converted to yuv420p", &[v("testsrc2", "640x360", "25", t), tone(440, -20.0, t)], "-c:v libx264 -preset ultrafast -pix_fmt yuv444p10le -c:a flac -shortest"),
        DemoClip { expect_accept: false, ..clip("too-short.mp4", "0.4 s: under the minimum length", &[v("testsrc2", "640x360", "25", 0.4), tone(440, -20.0, 0.4)], H264) },
        DemoClip { expect_accept: false, ..clip("audio-only.m4a", "music with no picture", &[tone(440, -20.0, t)], "-c:a aac") },
        bad("truncated.mp4", "an MP4 cut off mid-upload", Make::Bytes(truncated_mp4)),
        bad("not-media.mp4", "a text file named .mp4", Make::Bytes(|p| Ok(std::fs::write(p, "This is not a video.\n".repeat(200))?))),
    ]
}

/// Makes every demo clip in `dir`, returning the paths in the order of [`clips`].
pub fn generate(dir: &Path) -> anyhow::Result<Vec<(PathBuf, DemoClip)>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for c in clips() {
        let path = dir.join(c.name);
        if !path.exists() {
            make(&c.make, &path).with_context(|| format!("making demo clip {}", c.name))?;
        }
        out.push((path, c));
    }
    Ok(out)
}

fn make(how: &Make, path: &Path) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!(
        "part.{}",
        path.extension().unwrap_or_default().to_string_lossy()
    ));
    match how {
        Make::Ffmpeg(a) => ffmpeg(a, &tmp)?,
        Make::Remux(a, remux) => {
            let plain = path.with_extension("plain.mp4");
            ffmpeg(a, &plain)?;
            let copy: Vec<String> = ["-hide_banner", "-loglevel", "error", "-i"]
                .into_iter()
                .map(String::from)
                .chain([plain.to_string_lossy().into_owned()])
                .chain(remux.split_whitespace().map(String::from))
                .collect();
            ffmpeg(&copy, &tmp)?;
            std::fs::remove_file(&plain)?;
        }
        Make::Bytes(f) => f(&tmp)?,
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Runs `ffmpeg -y ARGS OUTPUT`.
pub fn ffmpeg(args: &[String], output: &Path) -> anyhow::Result<()> {
    let result = Command::new("ffmpeg")
        .arg("-y")
        .args(args)
        .arg(output)
        .output()
        .context("running ffmpeg (is it installed? scripts/install-debian-deps.sh)")?;
    if !result.status.success() {
        bail!(
            "ffmpeg failed: {}",
            String::from_utf8_lossy(&result.stderr).trim()
        );
    }
    Ok(())
}

/// An MP4 whose index (moov) sits at the end, cut in half: what an interrupted copy leaves.
fn truncated_mp4(path: &Path) -> anyhow::Result<()> {
    let full = path.with_extension("full.mp4");
    ffmpeg(
        &args(
            &[v("testsrc2", "640x360", "25", 4.0), tone(440, -20.0, 4.0)],
            H264,
        ),
        &full,
    )?;
    let bytes = std::fs::read(&full)?;
    std::fs::write(path, &bytes[..bytes.len() / 2])?;
    std::fs::remove_file(&full)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_demo_clip_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let keep = std::env::var_os("GALA_KEEP_DEMO");
        let at = keep
            .as_ref()
            .map(std::path::PathBuf::from)
            .unwrap_or(dir.path().to_path_buf());
        let made = super::generate(&at).unwrap();
        assert!(made.len() >= 30, "a few dozen clips");
        for (path, clip) in &made {
            let len = std::fs::metadata(path).unwrap().len();
            assert!(len > 1000, "{} is only {len} bytes", clip.name);
        }
    }
}
