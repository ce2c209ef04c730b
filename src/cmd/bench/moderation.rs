//! `gala bench moderation`: moderation throughput in clips per minute on this machine. Each
//! clip is a title, a description and a one-minute transcript through the text classifier, and
//! evenly sampled frames of a one-minute clip through the keyframe classifier.
//!
//! The models have random weights at the real base-model shapes (xlm-roberta-base for text,
//! vit-base-patch16-224 and clip-vit-base-patch32 for frames), built on the fly: throughput
//! depends only on the shapes, not on the weights, so the figures hold for trained checkpoints
//! of those sizes. No PyPI package ships a trained multilingual toxicity or NSFW model that
//! candle reads offline (detoxify downloads its checkpoints at run time; nudenet ships a YOLO
//! detector in ONNX), hence random weights.

use std::process::ExitCode;
use std::time::Instant;

use gala_pipeline::ai::moderation::fixtures::{self, Dims};
use gala_pipeline::ai::moderation::{ImageModelConfig, TextModelConfig};
use gala_pipeline::ai::{self, RunControl};
use gala_pipeline::Config;

use super::{make_clips, peak_rss};

/// About 150 words: a minute of speech, English and Chinese.
fn transcript() -> String {
    let lines = [
        "hello everyone and welcome to the show tonight.",
        "we are very happy to sing and dance here with all our friends and family.",
        "大家晚上好，欢迎来到我们的舞台。",
        "this song is about love and about people who talk and laugh together.",
        "thank you so much for being here, please welcome our next friends on stage now.",
        "我们今天很快乐，谢谢大家。",
        "what a great night, what a great show, thank you everyone.",
    ];
    lines
        .iter()
        .cycle()
        .take(14)
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

pub async fn bench_moderation(
    config: Config,
    clips: usize,
    frames: usize,
) -> anyhow::Result<ExitCode> {
    tokio::task::spawn_blocking(move || run(&config, clips.max(1), frames.max(1))).await?
}

fn run(config: &Config, clips: usize, frames: usize) -> anyhow::Result<ExitCode> {
    let device = ai::device(&config.models.device)?;
    let tmp = tempfile::tempdir()?;
    let started = Instant::now();
    let text_dir = tmp.path().join("xlm-roberta-base");
    fixtures::text_model(
        &text_dir,
        "xlm-roberta",
        &["neutral", "toxic"],
        &Dims::base(),
        false,
    )
    .map_err(anyhow::Error::msg)?;
    let vit_dir = tmp.path().join("vit-base");
    fixtures::image_model(&vit_dir, "vit", &["normal", "nsfw"], &Dims::base())
        .map_err(anyhow::Error::msg)?;
    let clip_dir = tmp.path().join("clip-base-patch32");
    let clip_dims = Dims {
        patch: 32,
        vocab: 49408,
        ..Dims::base()
    };
    fixtures::image_model(&clip_dir, "clip", &[], &clip_dims).map_err(anyhow::Error::msg)?;
    println!(
        "random-weight models at base shapes built in {:.1} s (throughput depends only on the shapes)",
        started.elapsed().as_secs_f64()
    );

    let text_cfg = TextModelConfig {
        family: "xlm-roberta".into(),
        path: text_dir,
        ..Default::default()
    };
    let mut text = ai::moderation::load_text(&text_cfg, &device)?;
    let image_cfg = |family: &str, path| ImageModelConfig {
        family: family.into(),
        path,
        frames,
        ..Default::default()
    };
    let mut vit = ai::moderation::load_image(&image_cfg("vit", vit_dir), &device)?;
    let mut clip = ai::moderation::load_image(&image_cfg("clip", clip_dir), &device)?;
    for model in [text.summary(), vit.summary(), clip.summary()] {
        println!(
            "  {:<16} {:<12} {:>6.1} M parameters, {:>5} MiB",
            model.role,
            model.family,
            model.parameters as f64 / 1e6,
            model.weight_bytes >> 20
        );
    }

    let media = make_clips(&tmp.path().join("clips"), 1, "1280x720", 60.0)?.remove(0);
    let transcript = transcript();
    let fields = [
        ("title", "Our band plays tonight"),
        ("description", "A song about friends and family. 我们唱歌。"),
        ("transcript", transcript.as_str()),
    ];
    let mut ignore = |_| {};
    let mut text_s = 0.0;
    let mut flags = 0;
    for _ in 0..clips {
        let t = Instant::now();
        flags += text
            .moderate(&fields, &mut RunControl::unlimited(&mut ignore))?
            .len();
        text_s += t.elapsed().as_secs_f64();
    }
    let mut image_s = Vec::new();
    for model in [&mut vit, &mut clip] {
        let t = Instant::now();
        for _ in 0..clips {
            model.moderate(&media, &mut RunControl::unlimited(&mut ignore))?;
        }
        image_s.push(t.elapsed().as_secs_f64());
    }
    let per_clip = |s: f64| s / clips as f64;
    println!(
        "text: {:.2} s a clip (title, description, {} words of transcript; {} flags from random weights)",
        per_clip(text_s),
        transcript.split_whitespace().count(),
        flags
    );
    for (name, s) in ["vit-base", "clip-base-patch32"].iter().zip(&image_s) {
        let total = per_clip(text_s + s);
        println!(
            "{name}: {:.2} s for {frames} frames of a 60 s 1280x720 clip; text + frames {:.2} s = {:.1} clips/minute",
            per_clip(*s),
            total,
            60.0 / total
        );
    }
    println!(
        "device {}, {clips} clips, peak RSS {}",
        config.models.device,
        peak_rss()
    );
    Ok(ExitCode::SUCCESS)
}
