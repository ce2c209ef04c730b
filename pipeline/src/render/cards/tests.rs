use std::path::Path;
use std::process::Command;

use super::template::Template;
use super::*;
use crate::show::model::HostCard;
use crate::voice::EspeakVoice;

fn house() -> HouseFormat {
    crate::ingest::testmedia::house()
}

fn renderer() -> CardRenderer {
    CardRenderer::new(&CardsConfig::default()).unwrap()
}

fn ctl_render(
    r: &CardRenderer,
    spec: &CardSpec,
    voice: Option<&dyn Voice>,
    out: &Path,
) -> CardReport {
    let mut progress = |_: f64| {};
    let mut ctl = RunControl::unlimited(&mut progress);
    r.render(spec, &house(), voice, out, &mut ctl).unwrap()
}

fn run(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program).args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// (codec, value) lines of ffprobe for the streams.
fn probe_streams(file: &Path) -> String {
    let f = file.to_str().unwrap();
    String::from_utf8(run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,width,height,pix_fmt,sample_rate,channels,nb_read_frames",
            "-of",
            "compact",
            f,
        ],
    ))
    .unwrap()
}

/// Key-frame flags of every video frame.
fn key_frames(file: &Path) -> Vec<bool> {
    let text = String::from_utf8(run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "frame=key_frame",
            "-of",
            "csv=p=0",
            file.to_str().unwrap(),
        ],
    ))
    .unwrap();
    // One line per frame; anything else ffprobe prints (side data) is not a frame.
    text.lines()
        .filter_map(|l| match l.trim().split(',').next() {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => None,
        })
        .collect()
}

/// The decoded audio as interleaved stereo i16.
fn audio_of(file: &Path) -> Vec<i16> {
    let raw = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            file.to_str().unwrap(),
            "-map",
            "0:a",
            "-f",
            "s16le",
            "-",
        ],
    );
    raw.chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// The first decoded frame as RGB.
fn first_frame(file: &Path, w: u32, h: u32) -> image::RgbImage {
    let raw = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            file.to_str().unwrap(),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
    );
    image::RgbImage::from_raw(w, h, raw).expect("one frame")
}

/// Pixels of `img` in the rectangle (fractions) that differ from `bg` by more than 60.
fn ink(
    img: &image::RgbImage,
    bg: impl Fn(u32) -> [u8; 3],
    x0: f32,
    x1: f32,
    y0: f32,
    y1: f32,
) -> usize {
    let (w, h) = img.dimensions();
    let mut n = 0;
    for y in (y0 * h as f32) as u32..(y1 * h as f32) as u32 {
        let b = bg(y);
        for x in (x0 * w as f32) as u32..(x1 * w as f32) as u32 {
            let p = img.get_pixel(x, y).0;
            let d: i32 = (0..3).map(|i| (p[i] as i32 - b[i] as i32).abs()).sum();
            if d > 60 {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn built_in_templates_load_and_unknown_names_list_the_known() {
    let r = renderer();
    for name in ["host", "bumper", "break", "slate"] {
        r.templates.get(name).unwrap();
    }
    let err = r.templates.get("intro").unwrap_err().to_string();
    assert!(
        err.contains("`intro`") && err.contains("bumper, host, slate"),
        "{err}"
    );
}

#[test]
fn template_errors_name_the_template_and_the_problem() {
    let cases = [
        ("background: { colour: \"#000000\" }\ntexts: []\n", "colour"),
        ("background: { color: \"red\" }\ntexts: []\n", "#rrggbb"),
        ("background: { color: \"#000000\", gradient: [\"#000000\", \"#ffffff\"] }\ntexts: []\n", "exactly one"),
        ("background: { color: \"#000000\" }\ntexts:\n  - { field: caption, size: 0.1, x: 0.5, y: 0.5, color: \"#ffffff\" }\n", "caption"),
        ("background: { color: \"#000000\" }\ntexts:\n  - { field: line, size: 0.9, x: 0.5, y: 0.5, color: \"#ffffff\" }\n", "size"),
        ("background: [\n", "line"),
    ];
    for (yaml, needle) in cases {
        let err = Template::parse("mine", "cards/mine.yaml", yaml)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`mine`") && err.contains("cards/mine.yaml"),
            "{err}"
        );
        assert!(err.contains(needle), "{needle} not in: {err}");
    }
    // The field error lists the allowed fields.
    let err = Template::parse("mine", "x", cases[3].0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("show_title"), "{err}");
}

#[test]
fn latin_wraps_per_word_and_cjk_per_character() {
    let r = renderer();
    let font = r.font();
    let px = 40.0;
    let text = "the quick brown fox jumps over the lazy dog";
    let max = font.width("the quick brown", px) + 1.0;
    let lines = font.wrap(text, px, max);
    assert!(lines.len() >= 3, "{lines:?}");
    for l in &lines {
        assert!(font.width(l, px) <= max, "{l}");
    }
    let words: Vec<&str> = lines.iter().flat_map(|l| l.split(' ')).collect();
    assert_eq!(words, text.split(' ').collect::<Vec<_>>(), "no word is cut");

    let zh = "晚上好，欢迎收看春节联欢晚会。下一个节目马上开始";
    let max = font.width("晚上好欢迎", px) + 1.0;
    let lines = font.wrap(zh, px, max);
    assert!(lines.len() >= 4, "{lines:?}");
    assert_eq!(
        lines.concat(),
        zh,
        "CJK breaks between characters, losing none"
    );
    for l in &lines {
        assert!(!l.starts_with('，') && !l.starts_with('。'), "{lines:?}");
        // Closing punctuation may hang past the edge; nothing else does.
        let body = l.trim_end_matches(['，', '。']);
        assert!(font.width(body, px) <= max, "{l}");
    }
    // A word longer than a line is cut between letters.
    let lines = font.wrap("Supercalifragilistic", px, font.width("Super", px) + 1.0);
    assert!(
        lines.len() >= 4 && lines.concat() == "Supercalifragilistic",
        "{lines:?}"
    );
}

#[test]
fn cjk_glyphs_are_drawn_not_tofu() {
    let r = renderer();
    assert!(r.font().has_glyph('你') && r.font().has_glyph('A'));
    let missing = '\u{E000}'; // private use: no glyph in Noto Sans CJK
    assert!(!r.font().has_glyph(missing));
    let (w, h) = (320, 180);
    let slate = |text: &str| {
        r.picture(
            &CardSpec {
                template: "slate".into(),
                title: text.into(),
                ..Default::default()
            },
            w,
            h,
        )
        .unwrap()
    };
    let bg = |_: u32| [0x20, 0x20, 0x20];
    let hello = slate("你好");
    let tofu = slate(&format!("{missing}{missing}"));
    let empty = slate("");
    assert_eq!(ink(&empty, bg, 0.0, 1.0, 0.0, 1.0), 0);
    let inked = ink(&hello, bg, 0.3, 0.7, 0.35, 0.65);
    // At 320x180 the title is about 13 px high: two CJK glyphs ink some 90 pixels.
    assert!(inked > 40, "glyphs drawn: {inked} pixels");
    // Two missing glyphs are the same box twice; 你 and 好 differ from it and from each other.
    let half = |img: &image::RgbImage, left: bool| -> Vec<u8> {
        let x0 = if left { 0 } else { w / 2 };
        image::imageops::crop_imm(img, x0, 0, w / 2, h)
            .to_image()
            .into_raw()
    };
    assert_ne!(half(&hello, true), half(&tofu, true));
    assert_ne!(half(&hello, false), half(&tofu, false));
    let diff: usize = hello
        .as_raw()
        .iter()
        .zip(tofu.as_raw())
        .filter(|(a, b)| a.abs_diff(**b) > 60)
        .count();
    assert!(diff > 50, "你好 looks like tofu: {diff} differing samples");
}

#[test]
fn chinese_host_card_lasts_as_long_as_its_speech() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("host.mkv");
    let r = renderer();
    let voice = EspeakVoice::new(160);
    let card = HostCard {
        line: "晚上好，欢迎来到春节联欢晚会！下一个节目是《月光》。".into(),
        language: "zh-CN".into(),
        writer: "director".into(),
        clip_id: None,
        duration_ms: 1_000,
    };
    let spec = CardSpec::for_item(&ItemKind::HostCard(card), "AI 春晚 2027").unwrap();
    let report = ctl_render(&r, &spec, Some(&voice), &out);
    let speech = report.speech_ms.unwrap();
    assert!(speech > 2_000, "{speech}");
    assert!(
        report.duration_ms >= speech + 500 && report.duration_ms < speech + 500 + 40,
        "{report:?}"
    );
    assert_eq!(report.duration_ms, report.frames as i64 * 40);
    assert_eq!(report.samples, report.frames as u64 * 1920);
    assert_eq!(report.voice.as_deref(), Some("espeak-ng"));
    assert_eq!(
        r.measure_line(&spec.line, "zh-CN", &voice).unwrap(),
        speech + 500
    );

    // The segment: H.264 yuv420p in the house size with exactly the frames, PCM with exactly
    // the samples; the first frame a keyframe, then one every GOP.
    let streams = probe_streams(&out);
    assert!(
        streams.contains("codec_name=h264")
            && streams.contains("width=320")
            && streams.contains("height=180")
            && streams.contains("pix_fmt=yuv420p"),
        "{streams}"
    );
    assert!(
        streams.contains(&format!("nb_read_frames={}", report.frames)),
        "{streams}"
    );
    assert!(
        streams.contains("codec_name=pcm_s16le")
            && streams.contains("sample_rate=48000")
            && streams.contains("channels=2"),
        "{streams}"
    );
    let keys = key_frames(&out);
    assert_eq!(keys.len(), report.frames as usize);
    let at: Vec<usize> = keys
        .iter()
        .enumerate()
        .filter(|(_, k)| **k)
        .map(|(i, _)| i)
        .collect();
    let every: Vec<usize> = (0..keys.len()).step_by(50).collect();
    assert_eq!(at, every);
    let audio = audio_of(&out);
    assert_eq!(audio.len() as u64, report.samples * 2);
    // The line is at the house loudness; silence before it for the padding.
    let floats: Vec<f32> = audio.iter().map(|&s| s as f32 / 32768.0).collect();
    let mut meter = crate::ingest::loudness::LoudnessMeter::new(2, 48_000).unwrap();
    meter.add_interleaved(&floats).unwrap();
    let l = meter.finish();
    let i = l.integrated_lufs.unwrap();
    assert!((i - -23.0).abs() <= 0.5, "card loudness {i}");
    assert!(l.true_peak_dbtp.unwrap() <= -1.0);
    assert!(
        audio[..2 * 48 * 200].iter().all(|&s| s == 0),
        "lead-in is silent"
    );

    // The picture: the line's text area is drawn over the gradient.
    let img = first_frame(&out, 320, 180);
    let t = r.templates.get("host").unwrap();
    let inked = ink(&img, |y| t.background.at(y, 180), 0.1, 0.9, 0.35, 0.7);
    assert!(inked > 300, "{inked} text pixels");
}

#[test]
fn break_card_is_silent_and_exactly_its_length() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("break.mkv");
    let spec = CardSpec::for_item(
        &ItemKind::Break {
            label: "Intermission 中场休息".into(),
            duration_ms: 2_010,
        },
        "Gala",
    )
    .unwrap();
    let voice = EspeakVoice::new(160);
    // A voice given to a card that does not speak is not used.
    let report = ctl_render(&renderer(), &spec, Some(&voice), &out);
    assert_eq!(report.frames, 51, "2010 ms rounds up to whole frames");
    assert_eq!(report.duration_ms, 2_040);
    assert_eq!(report.speech_ms, None);
    let audio = audio_of(&out);
    assert_eq!(audio.len(), 51 * 1920 * 2);
    assert!(audio.iter().all(|&s| s == 0));
    assert!(probe_streams(&out).contains("nb_read_frames=51"));
}

/// The built-in bumper strikes its chime at the house loudness, the card's length unchanged,
/// the sound faded to nothing at the end; a template without a sting stays silent.
#[test]
fn a_bumper_chimes_at_the_house_loudness() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bumper.mkv");
    let bumper = ItemKind::Bumper {
        template: String::new(),
        text: "Up next".into(),
        duration_ms: 2_000,
    };
    let spec = CardSpec::for_item(&bumper, "Gala").unwrap();
    let report = ctl_render(&renderer(), &spec, None, &out);
    assert_eq!((report.frames, report.duration_ms), (50, 2_000));
    let sting = report.sting.expect("the bumper has a sting");
    let i = sting.integrated_lufs.unwrap();
    assert!((i - -23.0).abs() <= 0.5, "sting loudness {i}");
    assert!(sting.true_peak_dbtp.unwrap() <= -1.0);
    let audio = audio_of(&out);
    assert_eq!(audio.len(), 50 * 1920 * 2);
    let floats: Vec<f32> = audio.iter().map(|&s| s as f32 / 32768.0).collect();
    let mut meter = crate::ingest::loudness::LoudnessMeter::new(2, 48_000).unwrap();
    meter.add_interleaved(&floats).unwrap();
    let measured = meter.finish().integrated_lufs.unwrap();
    assert!(
        (measured - -23.0).abs() <= 0.6,
        "segment loudness {measured}"
    );
    assert!(
        audio[audio.len() - 2..].iter().all(|&s| s.abs() <= 1),
        "faded out"
    );
    // The notes come one after another: the first 100 ms hold one note, later ones more.
    assert!(audio[..2 * 4_800].iter().any(|&s| s.abs() > 500));

    // A template without `sting:` is silent, and a bad sting is a template error.
    let slate = CardSpec::for_item(
        &ItemKind::Slate {
            text: "x".into(),
            duration_ms: 1_000,
        },
        "Gala",
    )
    .unwrap();
    let quiet = ctl_render(&renderer(), &slate, None, &dir.path().join("slate.mkv"));
    assert_eq!(quiet.sting, None);
    let err = Template::parse(
        "mine",
        "x",
        "background: { color: \"#000000\" }\ntexts: []\nsting: { notes_hz: [20000] }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("20000 Hz"), "{err}");
}

#[test]
fn a_card_without_length_or_speech_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CardSpec {
        template: "slate".into(),
        title: "x".into(),
        ..Default::default()
    };
    let mut progress = |_: f64| {};
    let mut ctl = RunControl::unlimited(&mut progress);
    let err = renderer()
        .render(&spec, &house(), None, &dir.path().join("x.mkv"), &mut ctl)
        .unwrap_err();
    assert!(matches!(err, CardError::NoLength(0)), "{err}");
}

#[test]
fn configured_templates_add_logos_and_override_built_ins() {
    let dir = tempfile::tempdir().unwrap();
    let logo = image::RgbaImage::from_pixel(20, 10, image::Rgba([255, 0, 0, 255]));
    logo.save(dir.path().join("logo.png")).unwrap();
    std::fs::write(
        dir.path().join("bumper.yaml"),
        "background: { color: \"#000000\" }\nlogo: { file: logo.png, x: 0.5, y: 0.5, height: 0.2 }\ntexts: []\n",
    )
    .unwrap();
    let cfg = CardsConfig {
        templates: dir.path().into(),
        ..Default::default()
    };
    let r = CardRenderer::new(&cfg).unwrap();
    let spec = CardSpec {
        template: "bumper".into(),
        title: "Next".into(),
        ..Default::default()
    };
    let img = r.picture(&spec, 320, 180).unwrap();
    assert_eq!(img.get_pixel(160, 90).0, [255, 0, 0]);
    assert_eq!(img.get_pixel(10, 10).0, [0, 0, 0]);
    // The logo is 36 px high and 72 wide (the image's aspect).
    assert_eq!(img.get_pixel(160 - 30, 90).0, [255, 0, 0]);
    assert_eq!(img.get_pixel(160 - 40, 90).0, [0, 0, 0]);
    // The other built-ins are still there.
    r.templates.get("host").unwrap();
}

#[test]
fn items_map_to_cards() {
    let bumper = ItemKind::Bumper {
        template: String::new(),
        text: "Up next".into(),
        duration_ms: 3_000,
    };
    let spec = CardSpec::for_item(&bumper, "Show").unwrap();
    assert_eq!(
        (spec.template.as_str(), spec.title.as_str(), spec.speak),
        ("bumper", "Up next", false)
    );
    let slate = ItemKind::Slate {
        text: "Technical difficulties".into(),
        duration_ms: 5_000,
    };
    let spec = CardSpec::for_item(&slate, "Show").unwrap();
    assert_eq!((spec.template.as_str(), spec.duration_ms), ("slate", 5_000));
}
