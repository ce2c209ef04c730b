//! Live playout against a real RTMP server (nginx with the rtmp module, started here on a
//! loopback port, recording what it receives): the received streams are probed for
//! continuity, keyframe spacing and A/V sync; a broken item airs as a slate; one destination
//! killed and restarted mid-show resumes while the other is untouched.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::make_clip;
use common::rtmp::{continuity, packets, RtmpServer};
use gala_pipeline::config::{HouseFormat, IngestLimits, RenderConfig};
use gala_pipeline::live::{self, Event, LiveConfig, LiveStatus, Playout, Replaced};
use gala_pipeline::render::{CaptionMode, LowerThird, PlanItem, RenderPlan, Source};

fn house() -> HouseFormat {
    HouseFormat {
        width: 320,
        height: 180,
        x264_preset: "ultrafast".into(),
        ..HouseFormat::default()
    }
}

fn act(id: u64, path: &std::path::Path, seconds: i64) -> PlanItem {
    PlanItem {
        id,
        kind: "act".into(),
        title: format!("Act {id}"),
        creator: "Tester".into(),
        source: Source::Act {
            path: path.to_path_buf(),
            in_ms: 0,
            out_ms: seconds * 1000,
            lower_third: Some(LowerThird {
                title: format!("Act {id}"),
                credit: "Tester".into(),
            }),
            cues: Vec::new(),
        },
    }
}

/// A 320x180 25 fps test picture with a sine tone, `seconds` long, at `dir/name.mp4`.
fn tone_clip(dir: &std::path::Path, name: &str, seconds: u32, tone: u32) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.mp4"));
    make_clip(
        &path,
        &format!("testsrc2=size=320x180:rate=25,trim=duration={seconds}"),
        Some(&format!("sine=frequency={tone}:duration={seconds}")),
    );
    path
}

fn slate(id: u64, text: &str, ms: i64) -> PlanItem {
    PlanItem {
        id,
        kind: "slate".into(),
        title: text.into(),
        creator: String::new(),
        source: Source::Slate {
            text: text.into(),
            duration_ms: ms,
        },
    }
}

fn plan(items: Vec<PlanItem>) -> RenderPlan {
    RenderPlan {
        house: house(),
        items,
        captions: CaptionMode::Off,
        config: RenderConfig::default(),
        limits: IngestLimits::default(),
    }
}

fn fast_reconnects() -> LiveConfig {
    LiveConfig {
        reconnect_min_ms: 200,
        reconnect_max_ms: 1000,
        io_timeout_ms: 2000,
        ..LiveConfig::default()
    }
}

/// A paced playout of `plan` starting now, with quick reconnects.
fn playout(plan: RenderPlan, destinations: Vec<String>) -> Playout {
    Playout {
        plan,
        destinations,
        config: fast_reconnects(),
        start_at: None,
        resume_first_at_ms: 0,
        planned_first_ms: None,
        pace: true,
        unresolved: Vec::new(),
    }
}

/// Plays `playout` on a thread; returns its events, its last status and the wall time.
fn play(
    playout: Playout,
    during: impl FnOnce(&mpsc::Sender<live::Command>, &Arc<Mutex<LiveStatus>>),
) -> (Vec<Event>, LiveStatus, Duration) {
    let (tx, rx) = mpsc::channel();
    let status = Arc::new(Mutex::new(LiveStatus::default()));
    let s2 = status.clone();
    let started = Instant::now();
    let thread = std::thread::spawn(move || {
        let mut events = Vec::new();
        let last = live::run(playout, rx, s2, &mut |e| events.push(e)).expect("the program runs");
        (events, last)
    });
    during(&tx, &status);
    let (events, last) = thread.join().unwrap();
    (events, last, started.elapsed())
}

/// `clip` remuxed to Matroska and cut in the middle: a file that fails mid-way (an MP4 keeps
/// its index at the end, so a cut MP4 fails from the start).
fn cut_half_way(clip: &std::path::Path) -> std::path::PathBuf {
    let mkv = clip.with_extension("whole.mkv");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(clip)
        .args(["-c", "copy"])
        .arg(&mkv)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&mkv).unwrap();
    let cut = clip.with_extension("cut.mkv");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    cut
}

fn ended_items(events: &[Event]) -> Vec<(u64, i64, Option<Replaced>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ItemEnded {
                item,
                aired_ms,
                replaced,
                ..
            } => Some((*item, *aired_ms, replaced.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn two_destinations_get_one_continuous_program_and_broken_items_air_as_slates() {
    let dir = tempfile::tempdir().unwrap();
    let good = tone_clip(dir.path(), "good", 4, 440);
    // Garbage from the first byte, and a file cut off half-way through.
    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(&garbage, vec![0x5a; 50_000]).unwrap();
    let long = tone_clip(dir.path(), "long", 8, 330);
    let truncated = cut_half_way(&long);

    let a = RtmpServer::start(&dir.path().join("a"));
    let b = RtmpServer::start(&dir.path().join("b"));
    let items = vec![
        act(1, &good, 4),
        act(2, &garbage, 3),
        act(3, &truncated, 6),
        slate(4, "Good night — 晚安", 2000),
    ];
    let playout = playout(plan(items), vec![a.url("main"), b.url("backup")]);
    let (events, last, wall) = play(playout, |_, _| {});
    assert_eq!(last.mode, "encode", "lower thirds and fades are drawn");
    let total_frames = 15 * 25;
    assert_eq!(last.frames, total_frames, "{last:?}");
    // Paced to real time: never faster than the media.
    assert!(wall.as_secs_f64() >= 15.0 - 0.2, "played in {wall:?}");
    let ended = ended_items(&events);
    assert_eq!(ended.len(), 4, "{events:?}");
    assert_eq!(ended[0].2, None, "the good act airs whole");
    let (_, aired, garbage_slate) = &ended[1];
    assert_eq!(*aired, 3000, "the garbage act keeps its length");
    let r = garbage_slate.clone().expect("garbage replaced");
    assert_eq!((r.by.as_str(), r.from_ms), ("slate", 0), "{}", r.reason);
    let (_, aired, cut_slate) = &ended[2];
    assert_eq!(*aired, 6000);
    let r = cut_slate
        .clone()
        .expect("the truncated act is replaced mid-way");
    assert!(
        r.from_ms > 1000 && r.from_ms < 5000,
        "replaced from {} ms: {}",
        r.from_ms,
        r.reason
    );

    for (server, name) in [(&a, "a"), (&b, "b")] {
        let recs = server.recordings();
        assert_eq!(
            recs.len(),
            1,
            "{name}: one publish, one recording: {recs:?}"
        );
        let c = continuity(&packets(&recs[0]));
        println!("{name}: {c:?}");
        assert_eq!(
            c.video_packets as u64, total_frames,
            "{name}: every frame arrived"
        );
        assert_eq!(c.backwards, 0, "{name}: timestamps never go back");
        assert!(c.max_video_step <= 0.041, "{name}: no video gap: {c:?}");
        assert!(c.max_audio_step <= 0.023, "{name}: no audio gap: {c:?}");
        assert!(
            c.max_key_interval <= 2.001,
            "{name}: a keyframe every 2 s: {c:?}"
        );
        assert!(
            c.end_offset.abs() <= 0.03,
            "{name}: A/V in sync at the end: {c:?}"
        );
    }
    for d in &last.destinations {
        assert_eq!((d.reconnects, d.dropped_frames), (0, 0), "{d:?}");
    }
}

#[test]
fn a_destination_restarted_mid_show_resumes_and_the_other_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let clip = tone_clip(dir.path(), "clip", 16, 440);
    let a = RtmpServer::start(&dir.path().join("a"));
    let b = Arc::new(Mutex::new(RtmpServer::start(&dir.path().join("b"))));
    let b_url = b.lock().unwrap().url("backup");
    let playout = playout(plan(vec![act(1, &clip, 16)]), vec![a.url("main"), b_url]);
    let b2 = b.clone();
    let mut restarted_at = 0.0;
    let mut down_s = 0.0;
    let (events, last, _) = play(playout, |_, status| {
        let media = || status.lock().unwrap().media_s;
        while media() < 4.0 {
            std::thread::sleep(Duration::from_millis(50));
        }
        b2.lock().unwrap().kill();
        let killed = Instant::now();
        while media() < 7.0 {
            std::thread::sleep(Duration::from_millis(50));
        }
        b2.lock().unwrap().restart();
        restarted_at = media();
        down_s = killed.elapsed().as_secs_f64();
    });
    let b = b.lock().unwrap();

    // The untouched destination: one recording, every frame, continuous.
    let recs = a.recordings();
    assert_eq!(recs.len(), 1, "{recs:?}");
    let c = continuity(&packets(&recs[0]));
    assert_eq!(c.video_packets, 400, "{c:?}");
    assert_eq!(c.backwards, 0);
    assert!(c.max_video_step <= 0.041, "{c:?}");
    let stats_a = last
        .destinations
        .iter()
        .find(|d| d.name.contains(&a.port.to_string()))
        .unwrap();
    assert_eq!(
        (stats_a.reconnects, stats_a.dropped_frames),
        (0, 0),
        "{stats_a:?}"
    );

    // The restarted one: its stream resumed in a second recording, continuous in itself.
    let recs = b.recordings();
    assert_eq!(recs.len(), 2, "before and after the restart: {recs:?}");
    let before = continuity(&packets(&recs[0]));
    let after = continuity(&packets(&recs[1]));
    println!("restart at {restarted_at:.1} s; before: {before:?}\nafter: {after:?}");
    assert!(before.video_packets >= 80, "{before:?}");
    assert_eq!(after.backwards, 0, "{after:?}");
    assert!(after.max_video_step <= 0.041, "{after:?}");
    // It came back within a few seconds of the server's return and ran to the end.
    let resumed_frames = after.video_packets as f64 / 25.0;
    assert!(
        resumed_frames >= 16.0 - restarted_at - 3.0,
        "resumed for {resumed_frames:.1} s after a restart at {restarted_at:.1} s"
    );
    let stats_b = last
        .destinations
        .iter()
        .find(|d| d.name.contains(&b.port.to_string()))
        .unwrap();
    assert!(stats_b.reconnects >= 1, "{stats_b:?}");
    assert!(stats_b.dropped_frames > 0, "{stats_b:?}");
    let outage = stats_b.last_outage_ms.expect("the outage was measured");
    println!(
        "destination B: {} reconnects, outage {outage} ms, of which the server was down {:.0} ms: \
         back {:.0} ms after the server's restart",
        stats_b.reconnects,
        down_s * 1000.0,
        outage as f64 - down_s * 1000.0
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::DestinationDropped { .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::DestinationBack { .. })));
}

/// Waits until `cond` holds for the status (at most 60 s).
fn wait_status(status: &Arc<Mutex<LiveStatus>>, what: &str, cond: impl Fn(&LiveStatus) -> bool) {
    let start = Instant::now();
    while !cond(&status.lock().unwrap()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn on_air(s: &LiveStatus) -> Option<(u64, f64)> {
    s.on_air.as_ref().map(|o| (o.item, o.elapsed_s))
}

#[test]
fn live_control_counts_down_takes_next_inserts_holds_extends_and_skips() {
    let dir = tempfile::tempdir().unwrap();
    let clip = tone_clip(dir.path(), "clip", 8, 440);
    let server = RtmpServer::start(&dir.path().join("a"));
    let start_at = std::time::SystemTime::now() + Duration::from_secs(2);
    let playout = Playout {
        plan: plan(vec![
            act(1, &clip, 8),
            slate(2, "Two", 3000),
            slate(3, "Three", 3000),
        ]),
        destinations: vec![server.url("main")],
        config: fast_reconnects(),
        start_at: Some(start_at),
        resume_first_at_ms: 0,
        planned_first_ms: None,
        pace: true,
        unresolved: Vec::new(),
    };
    let (events, last, _) = play(playout, |tx, status| {
        wait_status(status, "the countdown", |s| s.phase == "countdown");
        wait_status(status, "act 1 at 1 s", |s| {
            on_air(s).is_some_and(|(i, t)| i == 1 && t >= 1.0)
        });
        tx.send(live::Command::Insert {
            kind: "slate".into(),
            text: "Breaking news".into(),
            duration_ms: 1000,
        })
        .unwrap();
        wait_status(status, "act 1 at 2 s", |s| {
            on_air(s).is_some_and(|(i, t)| i == 1 && t >= 2.0)
        });
        tx.send(live::Command::TakeNext).unwrap();
        wait_status(status, "item 2 at 1 s", |s| {
            on_air(s).is_some_and(|(i, t)| i == 2 && t >= 1.0)
        });
        tx.send(live::Command::Hold { freeze: true }).unwrap();
        wait_status(status, "the hold", |s| s.phase == "hold");
        std::thread::sleep(Duration::from_millis(1000));
        tx.send(live::Command::Resume).unwrap();
        tx.send(live::Command::Extend { ms: 1000 }).unwrap();
        tx.send(live::Command::Skip { item: 3 }).unwrap();
    });
    let started = events
        .iter()
        .find_map(|e| match e {
            Event::ProgramStarted { at_ms } => Some(*at_ms),
            _ => None,
        })
        .unwrap();
    let scheduled = start_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(started >= scheduled, "the first item waits for its time");
    let ended = ended_items(&events);
    let ids: Vec<u64> = ended.iter().map(|e| e.0).collect();
    assert_eq!(
        ids.len(),
        3,
        "act cut, inserted slate, item 2; item 3 skipped: {events:?}"
    );
    assert_eq!((ids[0], ids[2]), (1, 2), "{events:?}");
    assert!(live::is_inserted(ids[1]), "{events:?}");
    assert!(
        (1900..=2600).contains(&ended[0].1),
        "act taken out after ~2 s: {ended:?}"
    );
    assert_eq!(ended[1].1, 1000, "the inserted slate");
    assert_eq!(
        ended[2].1, 4000,
        "item 2 extended by 1 s (the hold is not counted)"
    );
    let notes: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::ItemEnded { note: Some(n), .. } => Some(n.clone()),
            _ => None,
        })
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with("taken out at")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("extended by")),
        "{notes:?}"
    );
    // What went out: countdown + 2 s + 1 s + 4 s + ~1 s of hold, continuous.
    let recs = server.recordings();
    let c = continuity(&packets(&recs[0]));
    assert_eq!(c.video_packets as u64, last.frames, "{c:?}");
    assert_eq!(c.backwards, 0);
    assert!(c.max_video_step <= 0.041, "{c:?}");
}

/// A clip normalized to the house format (what ingest stores), so it can be stream-copied.
fn house_clip(dir: &std::path::Path, name: &str, seconds: u32, tone: u32) -> std::path::PathBuf {
    let source = tone_clip(dir, &format!("{name}-source"), seconds, tone);
    let out = dir.join(format!("{name}.mp4"));
    gala_pipeline::ingest::normalize::normalize(
        &source,
        &out,
        &house(),
        &IngestLimits::default(),
        &|_| {},
    )
    .unwrap();
    out
}

#[test]
fn house_format_items_without_graphics_are_stream_copied() {
    let dir = tempfile::tempdir().unwrap();
    let one = house_clip(dir.path(), "one", 4, 440);
    let two = house_clip(dir.path(), "two", 4, 550);
    let long = house_clip(dir.path(), "long", 8, 330);
    let cut = cut_half_way(&long);

    let server = RtmpServer::start(&dir.path().join("a"));
    let mut trimmed = act(3, &two, 4);
    if let Source::Act { in_ms, .. } = &mut trimmed.source {
        *in_ms = 2000; // on a GOP boundary: copyable
    }
    let items = vec![
        act(1, &one, 4),
        slate(2, "Between", 2000),
        trimmed,
        act(4, &cut, 8),
    ];
    let mut copy_plan = plan(items);
    copy_plan.config.lower_third_s = 0;
    copy_plan.config.transition_ms = 0;
    let playout = playout(copy_plan, vec![server.url("main")]);
    let (events, last, wall) = play(playout, |_, _| {});
    assert_eq!(last.mode, "copy", "{}", last.mode_reason);
    // Acts 1 and 3 whole (100 + 50 frames) and act 4 up to its cut; the slates encoded.
    assert!(last.copied_frames >= 150 + 50, "{last:?}");
    assert!(
        last.copied_audio_packets >= 150 * 1920 / 1024,
        "the AAC packets are copied: {last:?}"
    );
    let total = (4 + 2 + 2 + 8) * 25;
    assert!(wall.as_secs_f64() >= 16.0 - 0.3, "paced: {wall:?}");
    assert_eq!(last.frames, total, "{last:?}");
    let ended = ended_items(&events);
    assert_eq!(
        ended.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    let cut_slate = ended[3]
        .2
        .clone()
        .expect("the cut file is replaced mid-way");
    assert!(
        cut_slate.from_ms > 1000 && cut_slate.from_ms < 7000,
        "{cut_slate:?}"
    );

    let recs = server.recordings();
    let c = continuity(&packets(&recs[0]));
    println!("copy mode: {c:?}");
    assert_eq!(c.backwards, 0, "{c:?}");
    assert_eq!(
        c.video_packets as u64, total,
        "every frame, copied or encoded: {c:?}"
    );
    assert!(c.max_video_step <= 0.041, "no gap at the joins: {c:?}");
    assert!(c.max_audio_step <= 0.023, "{c:?}");
    assert!(c.max_key_interval <= 2.001, "{c:?}");
    assert!(
        c.end_offset.abs() <= 0.012,
        "A/V within half an AAC packet at the end: {c:?}"
    );
}
