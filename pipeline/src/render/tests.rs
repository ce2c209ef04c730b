//! A generated show of a few seconds rendered and checked by probing the master.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::ingest::decode::{for_each, AudioRequest, DecodeOptions, Decoded};
use crate::ingest::loudness::LoudnessMeter;
use crate::ingest::normalize::normalize;
use crate::ingest::testmedia::{clip, house, limits, no_progress};

fn ffprobe(path: &Path, args: &[&str]) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Presentation times (seconds) of the decoded video frames, in order.
fn video_times(path: &Path) -> Vec<f64> {
    ffprobe(
        path,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=best_effort_timestamp_time",
            "-of",
            "csv=p=0",
        ],
    )
    .lines()
    .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
    .collect()
}

/// Decoded audio samples per channel.
fn audio_samples(path: &Path) -> u64 {
    ffprobe(
        path,
        &[
            "-select_streams",
            "a:0",
            "-show_entries",
            "frame=nb_samples",
            "-of",
            "csv=p=0",
        ],
    )
    .lines()
    .filter_map(|l| l.trim().trim_end_matches(',').parse::<u64>().ok())
    .sum()
}

fn normalized(dir: &Path, name: &str, seconds: f64) -> PathBuf {
    let source = clip(
        dir,
        &format!("{name}-src.mp4"),
        "320x240",
        "30",
        seconds,
        Some(0.3),
    );
    let out = dir.join(format!("{name}.mp4"));
    normalize(&source, &out, &house(), &limits(), no_progress()).expect("normalizes");
    out
}

fn act(id: u64, path: &Path, in_ms: i64, out_ms: i64, cues: Vec<Cue>) -> PlanItem {
    PlanItem {
        id,
        kind: "act".into(),
        title: format!("Act {id}"),
        creator: "Li Wei 李伟".into(),
        source: Source::Act {
            path: path.to_path_buf(),
            in_ms,
            out_ms,
            lower_third: Some(LowerThird {
                title: format!("Act {id} 节目"),
                credit: "Li Wei 李伟".into(),
            }),
            cues,
        },
    }
}

fn plan(items: Vec<PlanItem>, captions: CaptionMode) -> RenderPlan {
    RenderPlan {
        house: house(),
        items,
        captions,
        config: RenderConfig {
            lower_third_s: 2,
            ..RenderConfig::default()
        },
        limits: limits(),
    }
}

#[test]
fn segment_files_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let font = text::Font::find(Path::new(""), 0).expect("Noto Sans CJK is installed");
    let segment = render_slate(
        &dir.path().join("s.mkv"),
        &house(),
        &font,
        "幕间 Interval",
        37,
    )
    .expect("slate renders");
    assert_eq!(segment.frames, 37);
    let times = video_times(&segment.path);
    assert_eq!(times.len(), 37);
    assert_eq!(audio_samples(&segment.path), 37 * 1920);
    let keys = ffprobe(
        &segment.path,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
        ],
    );
    assert!(
        keys.lines().next().unwrap().starts_with('K'),
        "first frame is a keyframe"
    );
}

#[test]
fn a_show_renders_to_the_frame_with_copies_slates_and_chapters() {
    let dir = tempfile::tempdir().unwrap();
    let a = normalized(dir.path(), "a", 8.0);
    let b = normalized(dir.path(), "b", 6.0);
    // Truncated half-way: opens (faststart index) but the media ends early.
    let truncated = dir.path().join("truncated.mp4");
    let bytes = std::fs::read(&a).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(&garbage, vec![0x5a; 50_000]).unwrap();
    let cues = vec![
        Cue {
            start_ms: 500,
            end_ms: 2000,
            text: "Hello 你好".into(),
        },
        Cue {
            start_ms: 3000,
            end_ms: 4000,
            text: "second".into(),
        },
    ];
    let items = vec![
        act(1, &a, 0, 8000, cues),
        PlanItem {
            id: 2,
            kind: "slate".into(),
            title: "Interval".into(),
            creator: String::new(),
            source: Source::Slate {
                text: "休息一下 Back soon".into(),
                duration_ms: 2000,
            },
        },
        act(3, &b, 1000, 5000, Vec::new()),
        act(4, &truncated, 0, 8000, Vec::new()),
        act(5, &garbage, 0, 3000, Vec::new()),
    ];
    let plan = plan(items, CaptionMode::Track);
    let out = dir.path().join("master.mp4");
    let seen = std::sync::Mutex::new(Vec::new());
    let report = render(&plan, &out, &|p| seen.lock().unwrap().push(p)).expect("renders");
    let expected: u64 = 200 + 50 + 100 + 200 + 75;
    assert_eq!(report.frames, expected);
    assert_eq!(
        report.items.iter().map(|i| i.frames).collect::<Vec<_>>(),
        [200, 50, 100, 200, 75]
    );
    // Act 1: lower third over the first GOP, fade-out in the last: two GOPs copied.
    assert_eq!(
        report.items[0].copied_frames, 100,
        "{:?}",
        report.items[0].stretches
    );
    assert!(report.items[0].replaced.is_none());
    let cut = report.items[3]
        .replaced
        .as_ref()
        .expect("truncated act replaced");
    assert!(cut.from_frame > 0 && cut.from_frame < 200, "{cut:?}");
    let whole = report.items[4].replaced.as_ref().expect("garbage replaced");
    assert_eq!(whole.from_frame, 0);
    assert_eq!(report.copied_frames + report.encoded_frames, expected);
    assert_eq!(seen.lock().unwrap().last().unwrap().frames_done, expected);

    // The master: frames, timestamps, audio length, chapters, captions, loudness.
    let times = video_times(&out);
    assert_eq!(times.len() as u64, expected);
    for pair in times.windows(2) {
        let step = pair[1] - pair[0];
        assert!(step > 0.0 && step < 0.041, "pts step {step} at {}", pair[0]);
    }
    let samples = audio_samples(&out);
    assert!(
        samples.abs_diff(expected * 1920) <= 1024,
        "{samples} audio samples"
    );
    assert_eq!(report.audio_samples, expected * 1920);
    let chapters = ffprobe(
        &out,
        &["-show_entries", "chapter=start_time", "-of", "csv=p=0"],
    );
    assert_eq!(chapters.lines().count(), 5, "{chapters}");
    let codecs = ffprobe(
        &out,
        &["-show_entries", "stream=codec_name", "-of", "csv=p=0"],
    );
    assert!(
        codecs.contains("h264") && codecs.contains("aac") && codecs.contains("mov_text"),
        "{codecs}"
    );
    let srt = std::fs::read_to_string(report.srt.as_ref().unwrap()).unwrap();
    assert!(
        srt.contains("00:00:00,500 --> 00:00:02,000") && srt.contains("你好"),
        "{srt}"
    );
    let mut meter = LoudnessMeter::new(2, 48000).unwrap();
    let opts = DecodeOptions {
        audio: Some(AudioRequest::Stereo { rate: 48000 }),
        ..Default::default()
    };
    for_each(&out, &opts, &limits(), |d| {
        if let Decoded::Audio { samples, .. } = d {
            meter.add_interleaved(&samples).unwrap();
        }
        Ok(())
    })
    .unwrap();
    let lufs = meter.finish().integrated_lufs.unwrap();
    assert!(
        (lufs + 23.0).abs() <= 0.5 + 0.2,
        "program at {lufs} LUFS ({report:?})"
    );

    export::write_all(&out, &plan, &report).unwrap();
    let otio: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("master.otio")).unwrap())
            .unwrap();
    assert_eq!(
        otio["tracks"]["children"][0]["children"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let csv = std::fs::read_to_string(dir.path().join("master.rundown.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6);
    assert!(csv.contains("00:00:10:00"), "{csv}");
}

#[test]
fn burned_captions_encode_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let a = normalized(dir.path(), "a", 5.0);
    let cues = vec![Cue {
        start_ms: 0,
        end_ms: 4000,
        text: "字幕 caption".into(),
    }];
    let plan = plan(vec![act(1, &a, 0, 5000, cues)], CaptionMode::Burn);
    let out = dir.path().join("burned.mp4");
    let report = render(&plan, &out, &|_| {}).expect("renders");
    assert_eq!(report.frames, 125);
    assert_eq!(report.copied_frames, 0);
    assert_eq!(report.encoded_frames, 125);
    assert!(report.srt.is_none());
    assert_eq!(video_times(&out).len(), 125);
}
