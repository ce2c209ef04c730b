//! `gala bench writer`: prompt and generation speed and peak memory of the writer's model
//! families, on random-weight models written to a temporary directory: the tiny test shape and
//! a realistic MoE shape, each beside its dense reference (the same family with only as many
//! experts as are active per token, so the same compute per token). Random weights write
//! gibberish: the figures are speed and memory only.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use gala_pipeline::ai::writer::random::{self, Shape};
use gala_pipeline::ai::writer::Device;
use gala_pipeline::ai::writer::{load, Message, TextGenerator, WriterConfig};
use gala_pipeline::ai::{device as ai_device, Model, RunControl};
use gala_pipeline::Config;

/// What `gala bench writer` measures.
pub struct Plan {
    pub families: Vec<String>,
    pub tokens: usize,
    pub hidden: usize,
    pub layers: usize,
    pub experts: usize,
    pub skip_big: bool,
}

/// The realistic MoE shape of the plan.
fn big(plan: &Plan) -> Shape {
    Shape {
        vocab: 32000,
        hidden: plan.hidden,
        layers: plan.layers,
        heads: plan.hidden / 64,
        kv_heads: (plan.hidden / 256).max(1),
        experts: plan.experts,
        experts_per_tok: 2,
        expert_ffn: plan.hidden,
        shared_ffn: plan.hidden,
    }
}

fn dense(shape: &Shape) -> Shape {
    Shape {
        experts: shape.experts_per_tok,
        ..*shape
    }
}

/// Resets VmHWM (Linux: 5 > /proc/self/clear_refs), so that each model's peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn bench_one(
    device: &Device,
    family: &str,
    label: &str,
    shape: &Shape,
    tokens: usize,
    dir: &Path,
) -> anyhow::Result<()> {
    let path = if family == "gguf" {
        dir.join(format!("{label}.gguf"))
    } else {
        dir.join(label)
    };
    let t = Instant::now();
    let params = if family == "gguf" {
        random::write_gguf(&path, shape, random::GgmlDType::Q8_0)
    } else {
        random::write_safetensors(&path, family, shape, 1)
    }
    .map_err(anyhow::Error::msg)?;
    let write_s = t.elapsed().as_secs_f64();
    reset_peak();
    let cfg = WriterConfig {
        family: family.into(),
        path: path.clone(),
        max_tokens: tokens,
        temperature: 0.8,
        ..WriterConfig::default()
    };
    let t = Instant::now();
    let mut model = load(&cfg, device)?;
    let load_s = t.elapsed().as_secs_f64();
    let summary = model.summary();
    let messages = [
        Message::system(
            "You are the host of a live community show. Write one line introducing the next act, \
             in English, naming only the facts given. Facts: title \"Moonlight Bicycle\", by \
             \"Mei Lin\", category music; previous act \"Paper Boats\" by \"Tom\".",
        ),
        Message::user("Write the host's line."),
    ];
    let mut progress = |_: f64| {};
    let ctl = RunControl::unlimited(&mut progress);
    let g = model.generate(&messages, 1, &ctl, &mut |_| {})?;
    let s = g.stats;
    let active = active_params(family, shape);
    println!(
        "{family:<10} {label:<11} {:>9} {:>9} {:<16} {:>6} {:>9.1} {:>6} {:>9.2} {:>8.3} {:>7.1} {:>10}",
        count(params),
        count(active),
        summary.format,
        s.prompt_tokens,
        s.prompt_tok_s(),
        s.generated_tokens,
        s.gen_tok_s(),
        s.first_token_s,
        load_s,
        super::peak_rss(),
    );
    tracing::info!(write_s, "random model written");
    drop(model);
    if path.is_dir() {
        std::fs::remove_dir_all(&path)?;
    } else {
        std::fs::remove_file(&path)?;
    }
    Ok(())
}

/// A parameter count in K, M or B.
fn count(n: u64) -> String {
    match n {
        0..1_000_000 => format!("{:.1}K", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.2}B", n as f64 / 1e9),
    }
}

/// Weights used for one token: everything but the idle experts (and the embedding table, of
/// which one row is read).
fn active_params(family: &str, s: &Shape) -> u64 {
    let head_dim = s.hidden / s.heads;
    let attn = 2 * s.hidden * s.hidden + 2 * s.hidden * s.kv_heads * head_dim;
    let experts = s.experts_per_tok.min(s.experts.max(1)) * 3 * s.hidden * s.expert_ffn;
    let shared = if family == "qwen2-moe" {
        3 * s.hidden * s.shared_ffn
    } else {
        0
    };
    ((attn + experts + shared + s.hidden * s.experts) * s.layers + s.vocab * s.hidden) as u64
}

pub fn bench_writer(config: Config, plan: Plan) -> anyhow::Result<ExitCode> {
    let device = ai_device(&config.models.device)?;
    let tmp = tempfile::Builder::new()
        .prefix("gala-bench-writer")
        .tempdir()?;
    println!(
        "Random weights: speed and memory figures only (the text is gibberish). Device {}, f32 \
         safetensors / q8_0 GGUF; {} tokens generated per model (fewer when a stop token is \
         sampled). Reference: the dense model of the same family with the active expert count.",
        config.models.device, plan.tokens
    );
    println!(
        "{:<10} {:<11} {:>9} {:>9} {:<16} {:>6} {:>9} {:>6} {:>9} {:>8} {:>7} {:>10}",
        "family",
        "model",
        "params",
        "active",
        "format",
        "prompt",
        "prompt/s",
        "gen",
        "gen tok/s",
        "ttft s",
        "load s",
        "peak RSS"
    );
    let big = big(&plan);
    for family in &plan.families {
        bench_one(
            &device,
            family,
            "tiny",
            &Shape::tiny(),
            plan.tokens,
            tmp.path(),
        )?;
        if !plan.skip_big {
            bench_one(&device, family, "moe", &big, plan.tokens, tmp.path())?;
            bench_one(
                &device,
                family,
                "dense-ref",
                &dense(&big),
                plan.tokens,
                tmp.path(),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
