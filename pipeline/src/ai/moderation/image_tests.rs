//! The keyframe classifier end to end: tiny random-weight `vit`, `clip` and `chinese-clip`
//! models built into a temporary directory, frames from a lavfi clip.

use std::path::Path;

use candle::Device;
use image::{Rgb, RgbImage};

use super::fixtures::{self, Dims};
use super::image::{default_prompts, load_image, ImageClassifier};
use super::{ImageModelConfig, Prompt};
use crate::ai::{Model, ModelError, RunControl};
use crate::ingest::testmedia;

const VIT_LABELS: [&str; 3] = ["normal", "nsfw", "violence"];

fn build(dir: &Path, family: &str) -> ImageModelConfig {
    fixtures::image_model(dir, family, &VIT_LABELS, &Dims::tiny()).unwrap();
    ImageModelConfig {
        family: family.into(),
        path: dir.to_path_buf(),
        ..Default::default()
    }
}

fn pictures() -> Vec<RgbImage> {
    vec![
        RgbImage::from_fn(64, 48, |x, y| Rgb([(x * 4) as u8, (y * 5) as u8, 90])),
        RgbImage::from_fn(40, 90, |x, _| Rgb([200, (x * 6) as u8, 30])),
        RgbImage::from_pixel(32, 32, Rgb([10, 10, 10])),
    ]
}

#[test]
fn every_family_classifies_pictures_deterministically() {
    for family in ["vit", "clip", "chinese-clip"] {
        let tmp = tempfile::tempdir().unwrap();
        let model = ImageClassifier::load(&build(tmp.path(), family), &Device::Cpu).unwrap();
        let expected: Vec<String> = if family == "vit" {
            VIT_LABELS.map(String::from).to_vec()
        } else {
            vec![
                "violence",
                "nudity",
                "weapon",
                "drugs",
                "hate_symbol",
                "normal",
            ]
            .into_iter()
            .map(String::from)
            .collect()
        };
        assert_eq!(model.labels(), expected, "{family}");
        let rows = model.classify_frames(&pictures()).unwrap();
        assert_eq!(rows.len(), 3);
        for row in &rows {
            assert_eq!(row.len(), expected.len());
            let sum: f32 = row.iter().map(|s| s.score).sum();
            assert!((sum - 1.0).abs() < 1e-4, "{family}: {row:?}");
            let flagged: Vec<bool> = row.iter().map(|s| s.flag).collect();
            assert_eq!(
                flagged.iter().filter(|f| !**f).count(),
                1,
                "{family}: one harmless label"
            );
        }
        assert_ne!(
            rows[0], rows[1],
            "{family}: different pictures, same scores"
        );
        assert_eq!(
            rows,
            model.classify_frames(&pictures()).unwrap(),
            "{family}"
        );
        let summary = model.summary();
        assert!(summary.parameters > 1000 && summary.weight_bytes == summary.parameters * 4);
        assert!(summary
            .files
            .iter()
            .any(|f| f.ends_with("preprocessor_config.json")));
    }
}

#[test]
fn frames_are_sampled_evenly_through_a_clip_and_flagged_with_their_time() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = testmedia::clip(tmp.path(), "clip.mp4", "160x90", "25", 4.0, None);
    for family in ["vit", "clip", "chinese-clip"] {
        let dir = tmp.path().join(family);
        let cfg = ImageModelConfig {
            frames: 4,
            report_floor: 0.0,
            ..build(&dir, family)
        };
        let mut moderator = load_image(&cfg, &Device::Cpu).unwrap();
        let mut progress = Vec::new();
        let mut record = |p: f64| progress.push(p);
        let flags = moderator
            .moderate(&clip, &mut RunControl::unlimited(&mut record))
            .unwrap();
        let flagged_labels = if family == "vit" { 2 } else { 5 };
        assert_eq!(flags.len(), 4 * flagged_labels, "{family}: {flags:?}");
        let mut times: Vec<i64> = flags.iter().filter_map(|f| f.at_ms).collect();
        times.dedup();
        assert_eq!(times.len(), 4, "{family}: {times:?}");
        for (t, middle) in times.iter().zip([500, 1500, 2500, 3500]) {
            // The picture at or after the point, give or take a frame of the 25 fps clip.
            assert!(
                (t - middle).abs() <= 100,
                "{family}: frame at {t} ms, not near {middle}"
            );
        }
        for flag in &flags {
            assert_eq!(flag.source, "frame");
            assert!(flag.label != "normal");
            let t = flag.at_ms.unwrap();
            assert_eq!(
                flag.excerpt,
                format!("frame at {}", super::frames::clock(t))
            );
        }
        assert_eq!(progress.last(), Some(&1.0));
    }
}

#[test]
fn configured_prompts_replace_the_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let prompt = |label: &str, text: &str, flag| Prompt {
        label: label.into(),
        text: text.into(),
        flag,
    };
    let cfg = ImageModelConfig {
        prompts: vec![
            prompt("fight", "people fight with blood", true),
            prompt("calm", "people sing on a stage", false),
            prompt("calm", "a happy family", false),
        ],
        ..build(tmp.path(), "clip")
    };
    let model = ImageClassifier::load(&cfg, &Device::Cpu).unwrap();
    assert_eq!(model.labels(), ["fight", "calm"]);
    let rows = model.classify_frames(&pictures()).unwrap();
    assert!(rows
        .iter()
        .all(|r| (r[0].score + r[1].score - 1.0).abs() < 1e-4 && r[0].flag && !r[1].flag));
    assert!(default_prompts("chinese-clip")
        .iter()
        .all(|p| !p.text.is_ascii()));
    assert!(default_prompts("clip").iter().all(|p| p.text.is_ascii()));
}

fn load_error(cfg: &ImageModelConfig) -> String {
    match ImageClassifier::load(cfg, &Device::Cpu) {
        Ok(_) => panic!("{cfg:?} loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_model_directories_and_media_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let vit = build(&tmp.path().join("vit"), "vit");
    let clip = build(&tmp.path().join("clip"), "clip");
    assert!(matches!(
        ImageClassifier::load(&ImageModelConfig::default(), &Device::Cpu),
        Err(ModelError::NotConfigured {
            role: "image_moderation"
        })
    ));
    let err = load_error(&ImageModelConfig {
        family: "clip".into(),
        ..vit.clone()
    });
    assert!(err.contains("describes a \"vit\" model, not clip"), "{err}");
    let err = load_error(&ImageModelConfig {
        family: "resnet".into(),
        ..vit.clone()
    });
    assert!(err.contains("unknown family \"resnet\""), "{err}");
    let one = vec![Prompt {
        label: "x".into(),
        text: "a photo".into(),
        flag: true,
    }];
    let err = load_error(&ImageModelConfig {
        prompts: one,
        ..clip.clone()
    });
    assert!(err.contains("at least two prompts"), "{err}");

    // Without preprocessor_config.json the family defaults apply; a crop the model cannot
    // read is refused.
    std::fs::remove_file(vit.path.join("preprocessor_config.json")).unwrap();
    ImageClassifier::load(&vit, &Device::Cpu).unwrap();
    std::fs::write(vit.path.join("preprocessor_config.json"), r#"{"size": 48}"#).unwrap();
    let err = load_error(&vit);
    assert!(err.contains("the model reads 32x32"), "{err}");
    std::fs::remove_file(vit.path.join("preprocessor_config.json")).unwrap();

    let config = vit.path.join("config.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("id2label");
    std::fs::write(&config, json.to_string()).unwrap();
    assert!(load_error(&vit).contains("no id2label"));

    std::fs::remove_file(clip.path.join("tokenizer.json")).unwrap();
    assert!(load_error(&clip).contains("tokenizer.json is missing"));
    std::fs::remove_file(clip.path.join("model.safetensors")).unwrap();
    assert!(load_error(&clip).contains("model.safetensors is missing"));

    // A file without video cannot be moderated by frames.
    let ok = build(&tmp.path().join("ok"), "vit");
    let mut moderator = load_image(&ok, &Device::Cpu).unwrap();
    let audio = testmedia::ffmpeg(tmp.path(), "tone.m4a", &["-f", "lavfi", "-i", "sine=d=2"]);
    let err = moderator
        .moderate(&audio, &mut RunControl::unlimited(&mut |_| {}))
        .unwrap_err();
    assert!(matches!(err, ModelError::Run { .. }), "{err}");
    assert!(err.to_string().contains("tone.m4a"), "{err}");
}
