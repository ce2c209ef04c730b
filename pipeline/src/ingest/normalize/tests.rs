//! Normalize tests, picture side: sources of many shapes, each output checked independently
//! with the `ffprobe`/`ffmpeg` CLI (codec, profile, size, rate, keyframes, exact A/V length,
//! letterbox bars, rotation). The checks are shared with [`super::tests_audio`].

use std::path::Path;
use std::process::Command;

use super::*;
use crate::ingest::testmedia::{clip, ffmpeg, house, limits, no_progress};

fn cli(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().expect("cli runs");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn ffprobe(path: &Path, args: &[&str]) -> String {
    let p = path.to_str().unwrap();
    let mut all = vec!["-v", "error"];
    all.extend_from_slice(args);
    all.push(p);
    cli("ffprobe", &all)
}

/// Video packet flags in decode order ("K_" for keyframes).
fn keyframe_positions(path: &Path) -> (usize, Vec<usize>) {
    let text = ffprobe(
        path,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
        ],
    );
    let flags: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let keys = flags
        .iter()
        .enumerate()
        .filter(|(_, f)| f.starts_with('K'))
        .map(|(i, _)| i);
    (flags.len(), keys.collect())
}

/// Decoded audio samples per channel, counted from raw PCM.
fn decoded_samples(path: &Path) -> u64 {
    let out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-i",
            path.to_str().unwrap(),
            "-map",
            "0:a:0",
            "-f",
            "s16le",
            "-",
        ])
        .output()
        .unwrap();
    out.stdout.len() as u64 / 4
}

/// Integrated loudness and true peak by FFmpeg's own ebur128 filter.
fn ebur128(path: &Path) -> (f64, f64) {
    let text = cli(
        "ffmpeg",
        &[
            "-nostats",
            "-i",
            path.to_str().unwrap(),
            "-map",
            "0:a:0",
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
    );
    let summary = &text[text.rfind("Summary:").expect("ebur128 summary")..];
    let value = |key: &str| -> f64 {
        let line = summary
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (value("I:"), value("Peak:"))
}

/// Average luma of a rectangle of the frame at `t` seconds (gray8 raw).
fn luma(path: &Path, t: f64, x: u32, y: u32, w: u32, h: u32) -> f64 {
    let out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-ss",
            &t.to_string(),
            "-i",
            path.to_str().unwrap(),
        ])
        .args([
            "-frames:v",
            "1",
            "-vf",
            &format!("crop={w}:{h}:{x}:{y},format=gray"),
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .unwrap();
    assert!(!out.stdout.is_empty());
    out.stdout.iter().map(|v| f64::from(*v)).sum::<f64>() / out.stdout.len() as f64
}

/// Everything every normalized file must be.
fn assert_house(path: &Path, report: &NormalizeReport) {
    let h = house();
    let v = report.output.video.as_ref().unwrap();
    let a = report.output.audio.as_ref().unwrap();
    assert_eq!((v.codec.as_str(), v.width, v.height), ("h264", 320, 180));
    assert_eq!(v.pix_fmt, "yuv420p");
    assert!((v.frame_rate - 25.0).abs() < 1e-6, "{}", v.frame_rate);
    assert_eq!(
        (a.codec.as_str(), a.sample_rate, a.channels),
        ("aac", 48000, 2)
    );
    let profile = ffprobe(
        path,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=profile",
            "-of",
            "csv=p=0",
        ],
    );
    assert_eq!(profile.trim(), "High");
    let (frames, keys) = keyframe_positions(path);
    assert_eq!(frames as u64, report.video_frames);
    let gop = h.gop_frames() as usize;
    let expected: Vec<usize> = (0..frames).step_by(gop).collect();
    assert_eq!(keys, expected, "keyframes every {gop} frames");
    assert_eq!(report.audio_samples, report.video_frames * 1920);
    // The container says exactly; a decoder that ignores the end trim of the edit list
    // adds at most the rest of the last AAC frame.
    let durations = ffprobe(
        path,
        &["-show_entries", "stream=duration", "-of", "csv=p=0"],
    );
    let d: Vec<f64> = durations
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let seconds = report.video_frames as f64 / 25.0;
    assert_eq!(d.len(), 2);
    assert!(
        (d[0] - seconds).abs() < 1e-6 && (d[1] - seconds).abs() < 1e-6,
        "{d:?} vs {seconds}"
    );
    let decoded = decoded_samples(path);
    assert!(
        decoded >= report.audio_samples && decoded < report.audio_samples + 1024,
        "{decoded}"
    );
}

pub(super) fn assert_loudness(path: &Path) {
    let (i, tp) = ebur128(path);
    assert!((i - -23.0).abs() <= 0.5, "integrated {i}");
    assert!(tp <= -1.0, "true peak {tp}");
}

#[test]
fn pillarboxes_a_4_3_source_at_30_fps() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "in.mp4", "640x480", "30", 3.0, Some(0.1));
    let out = dir.path().join("out.mp4");
    let report = normalize(&src, &out, &house(), &limits(), no_progress()).unwrap();
    assert_house(&out, &report);
    assert_loudness(&out);
    assert_eq!(report.video_frames, 75);
    assert!((report.source_frame_rate - 30.0).abs() < 0.01);
    assert!(!report.deinterlaced && report.rotated_deg == 0 && report.held_frames == 0);
    // 4:3 in 16:9 at 180 px high: the picture is 240 wide, bars of 40 each side.
    assert!(luma(&out, 1.0, 0, 0, 36, 180) < 20.0, "left bar black");
    assert!(luma(&out, 1.0, 284, 0, 36, 180) < 20.0, "right bar black");
    assert!(
        luma(&out, 1.0, 60, 20, 200, 140) > 40.0,
        "picture not black"
    );
}

pub(super) fn run(src: &Path, dir: &Path) -> (std::path::PathBuf, NormalizeReport) {
    let out = dir.join("out.mp4");
    let report = normalize(src, &out, &house(), &limits(), no_progress()).unwrap();
    assert_house(&out, &report);
    (out, report)
}

#[test]
fn square_source_at_23_976_fps_keeps_every_second() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(
        dir.path(),
        "in.mp4",
        "400x400",
        "24000/1001",
        4.0,
        Some(0.1),
    );
    let (out, report) = run(&src, dir.path());
    assert_loudness(&out);
    assert!((report.source_frame_rate - 23.976).abs() < 0.01);
    // 96 source frames of 1001/24000 s last 4.004 s: 100.1 frames at 25 fps, rounded up.
    assert_eq!(report.video_frames, 101);
    // 400x400 in 320x180: a 180x180 picture with 70-pixel bars.
    assert!(luma(&out, 2.0, 0, 0, 66, 180) < 20.0);
    assert!(luma(&out, 2.0, 254, 0, 66, 180) < 20.0);
    assert!(luma(&out, 2.0, 80, 10, 160, 160) > 40.0);
}

#[test]
fn fifty_fps_source_halves_the_frames() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "in.mp4", "320x180", "50", 2.0, Some(0.1));
    let (_, report) = run(&src, dir.path());
    assert_eq!(report.video_frames, 50);
    assert_eq!(report.source_frames, 100);
    assert_eq!(report.held_frames, 0);
}

#[test]
fn interlaced_source_is_deinterlaced() {
    let dir = tempfile::tempdir().unwrap();
    let src = ffmpeg(
        dir.path(),
        "in.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=50:duration=3",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=3",
            "-vf",
            "tinterlace=interleave_top,fieldorder=tff",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-flags",
            "+ildct+ilme",
            "-x264opts",
            "tff=1",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
    );
    let info = crate::ingest::probe::probe(&src, &limits()).unwrap();
    assert_eq!(info.video.as_ref().unwrap().field_order, "tff");
    let (out, report) = run(&src, dir.path());
    assert!(report.deinterlaced);
    assert_eq!(report.video_frames, 75);
    assert_loudness(&out);
}

#[test]
fn rotated_source_stands_upright_in_a_pillarbox() {
    let dir = tempfile::tempdir().unwrap();
    let flat = clip(dir.path(), "flat.mp4", "320x180", "25", 2.0, Some(0.1));
    let src = ffmpeg(
        dir.path(),
        "rotated.mp4",
        &[
            "-i",
            flat.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v",
            "rotate=90",
        ],
    );
    // FFmpeg 5.1 stores the `rotate=90` tag as a display matrix of 90° counter-clockwise
    // (ffprobe: "rotation=90"), which players, FFmpeg's autorotation included, apply as a
    // 270° clockwise turn.
    let info = crate::ingest::probe::probe(&src, &limits()).unwrap();
    assert_eq!(info.video.as_ref().unwrap().rotation_deg, 270);
    let (out, report) = run(&src, dir.path());
    assert_eq!(report.rotated_deg, 270);
    // Portrait 180x320 fitted to 180 high: about 102 wide in the middle, bars each side.
    assert!(luma(&out, 1.0, 0, 0, 100, 180) < 20.0, "left bar");
    assert!(luma(&out, 1.0, 220, 0, 100, 180) < 20.0, "right bar");
    assert!(luma(&out, 1.0, 120, 20, 80, 140) > 40.0, "picture");
    // Turned the way players turn it: compare with FFmpeg's own autorotation.
    let fit = "scale=320:180:force_original_aspect_ratio=decrease,pad=320:180:(ow-iw)/2:(oh-ih)/2";
    let reference = gray_frame(&src, 1.0, fit);
    let ours = gray_frame(&out, 1.0, "null");
    let diff = mean_abs_diff(&reference, &ours);
    let upside_down = gray_frame(&src, 1.0, &format!("hflip,vflip,{fit}"));
    // (Turned the other way, the picture would be upside down relative to the reference.)
    let other = mean_abs_diff(&upside_down, &ours);
    assert!(diff < 20.0 && diff * 3.0 < other, "{diff} vs {other}");
}

fn gray_frame(path: &Path, t: f64, filter: &str) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-ss",
            &t.to_string(),
            "-i",
            path.to_str().unwrap(),
        ])
        .args([
            "-frames:v",
            "1",
            "-vf",
            &format!("{filter},format=gray"),
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .unwrap();
    out.stdout
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn anamorphic_source_honours_its_pixel_aspect() {
    let dir = tempfile::tempdir().unwrap();
    // 480x360 stored, pixels 4:3 wide: displayed 640x360, i.e. 16:9 — it fills the frame.
    let src = ffmpeg(
        dir.path(),
        "in.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=480x360:rate=25:duration=2,setsar=4/3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let info = crate::ingest::probe::probe(&src, &limits()).unwrap();
    assert_eq!(info.video.as_ref().unwrap().sample_aspect, (4, 3));
    let (out, _) = run(&src, dir.path());
    // No bars: the left and right edges carry picture.
    assert!(luma(&out, 1.0, 0, 20, 8, 140) > 20.0, "left edge");
    assert!(luma(&out, 1.0, 312, 20, 8, 140) > 20.0, "right edge");
}
