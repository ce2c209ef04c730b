//! `gala ingest` and `gala demo` end to end: real files through the real chain.

mod common;

use common::{text, Sandbox};

#[test]
fn a_good_clip_is_ready_and_a_bad_file_is_refused_with_a_reason() {
    let sb = Sandbox::new();
    let good = sb.clip(
        "good.mp4",
        "testsrc2=size=640x480:rate=30,trim=duration=3",
        Some("sine=frequency=440:duration=3"),
    );
    let bad = sb.path("notes.mp4");
    std::fs::write(&bad, "these are my notes, not a video").unwrap();

    let out = sb
        .gala()
        .arg("ingest")
        .arg("--json")
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a refused file makes the exit status non-zero: {}",
        text(&out)
    );
    let clips: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let (g, b) = (&clips[0], &clips[1]);
    assert_eq!(g["state"], "ready", "{g:#}");
    assert_eq!(g["normalize_report"]["output"]["video"]["width"], 320);
    let after = g["normalize_report"]["loudness_after"]["integrated_lufs"]
        .as_f64()
        .unwrap();
    assert!((after + 23.0).abs() <= 0.5, "loudness after {after}");
    for artifact in [
        "poster_sha256",
        "sheet_sha256",
        "waveform_sha256",
        "proxy_sha256",
    ] {
        assert!(g[artifact].is_string(), "{artifact} missing: {g:#}");
    }
    assert_eq!(b["state"], "rejected");
    let reason = b["reason"].as_str().unwrap();
    assert!(reason.contains("not a video or audio file"), "{reason}");
}

#[test]
fn the_table_names_each_file_and_its_outcome() {
    let sb = Sandbox::new();
    let good = sb.clip(
        "clip.mp4",
        "testsrc2=size=320x240:rate=25,trim=duration=2",
        None,
    );
    let out = sb.gala().arg("ingest").arg(&good).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("clip.mp4") && table.contains("ready"),
        "{table}"
    );
    assert!(
        table.contains("1 files: 1 ready, 0 rejected, 0 failed"),
        "{table}"
    );
}

#[test]
fn the_demo_ends_with_every_clip_as_expected() {
    let sb = Sandbox::new();
    let out = sb.gala().args(["demo"]).output().unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("Demo OK"), "{all}");
    assert!(
        all.contains("truncated.mp4") && all.contains("rejected"),
        "{all}"
    );
    // It ends with a planned show rendered to a master whose length is the planned frames.
    assert!(all.contains("clips accepted as submissions"), "{all}");
    assert!(
        all.contains("Planned show") && all.contains("within the tolerance"),
        "{all}"
    );
    let master = sb.path("data/renders/demo-show.mp4");
    let frames_line = all
        .lines()
        .find(|l| l.starts_with("Rendered version"))
        .unwrap_or_else(|| panic!("no render summary: {all}"));
    let frames: u64 = frames_line
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{frames_line}"));
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_packets"])
        .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(&master)
        .output()
        .unwrap();
    let probed: u64 = String::from_utf8_lossy(&probe.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert_eq!(probed, frames, "the master holds the planned frames");
    for side in ["rundown.csv", "rundown.json", "otio"] {
        assert!(
            master.with_extension(side).exists(),
            "{side} beside the master"
        );
    }
}
