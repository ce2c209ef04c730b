//! `gala script`: the host's lines for a running order of acts, written by the configured
//! writer model (`models.writer`) and checked against each act's facts, or by the
//! deterministic writer. Model tokens stream to stderr as they come; each accepted line goes to
//! stdout with the writer that wrote it and the speed of the model.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use gala_pipeline::ai::writer::{
    load, ActFacts, ActRef, HostWriter, Language, TextGenerator, WriterConfig,
};
use gala_pipeline::Config;

#[derive(clap::Args)]
pub struct Args {
    /// JSON file: a list of acts in running order, each {title, creator, category, credits}.
    /// The previous and next acts are taken from the order.
    #[arg(long, conflicts_with_all = ["title", "creator"])]
    acts: Option<PathBuf>,
    /// One act on the command line: its title ...
    #[arg(long, requires = "creator")]
    title: Option<String>,
    /// ... its creator ...
    #[arg(long)]
    creator: Option<String>,
    /// ... its category ...
    #[arg(long, default_value = "")]
    category: String,
    /// ... and others credited (repeatable).
    #[arg(long = "credit")]
    credits: Vec<String>,
    /// The show's language: zh or en.
    #[arg(long, default_value = "zh")]
    lang: String,
    /// Ignore the configured model: deterministic lines only.
    #[arg(long)]
    deterministic: bool,
}

/// The acts with their neighbours filled in from the order.
fn running_order(mut acts: Vec<ActFacts>) -> Vec<ActFacts> {
    let refs: Vec<ActRef> = acts
        .iter()
        .map(|a| ActRef {
            title: a.title.clone(),
            creator: a.creator.clone(),
        })
        .collect();
    for (i, act) in acts.iter_mut().enumerate() {
        if act.prev.is_none() && i > 0 {
            act.prev = Some(refs[i - 1].clone());
        }
        if act.next.is_none() {
            act.next = refs.get(i + 1).cloned();
        }
    }
    acts
}

fn read_acts(args: &Args) -> anyhow::Result<Vec<ActFacts>> {
    if let Some(path) = &args.acts {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let acts: Vec<ActFacts> = serde_json::from_str(&text)
            .with_context(|| format!("{}: a JSON list of acts", path.display()))?;
        return Ok(running_order(acts));
    }
    match (&args.title, &args.creator) {
        (Some(title), Some(creator)) => Ok(vec![ActFacts {
            title: title.clone(),
            creator: creator.clone(),
            category: args.category.clone(),
            credits: args.credits.clone(),
            prev: None,
            next: None,
        }]),
        _ => anyhow::bail!("give --acts FILE or --title and --creator"),
    }
}

fn write_all(
    cfg: &WriterConfig,
    device: &str,
    acts: &[ActFacts],
    lang: Language,
    model: bool,
) -> anyhow::Result<()> {
    let generator: Option<Box<dyn TextGenerator>> = if model && !cfg.family.is_empty() {
        let device = gala_pipeline::ai::device(device)?;
        eprintln!("loading {} from {} …", cfg.family, cfg.path.display());
        Some(Box::new(load(cfg, &device)?))
    } else {
        None
    };
    let mut writer = HostWriter::new(cfg, generator);
    eprintln!("writer: {}", writer.name());
    for (i, act) in acts.iter().enumerate() {
        let mut stream = |piece: &str| {
            eprint!("{piece}");
            let _ = std::io::stderr().flush();
        };
        let line = writer.write_line(act, lang, &mut stream);
        if line.attempts > 0 {
            eprintln!();
        }
        for p in &line.problems {
            eprintln!("  rejected: {p}");
        }
        let speed = match line.generations.last() {
            Some(s) => format!(
                "; {} prompt tokens at {:.1}/s, {} generated at {:.1} tok/s, first token {:.2} s",
                s.prompt_tokens,
                s.prompt_tok_s(),
                s.generated_tokens,
                s.gen_tok_s(),
                s.first_token_s
            ),
            None => String::new(),
        };
        println!("{}. {}", i + 1, line.text);
        println!(
            "   [{} after {} model attempt(s){speed}]",
            line.writer, line.attempts
        );
    }
    Ok(())
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    let lang = Language::parse(&args.lang).context("--lang is zh or en")?;
    let acts = read_acts(&args)?;
    let cfg = config.models.writer.clone();
    let device = config.models.device.clone();
    let model = !args.deterministic;
    tokio::task::spawn_blocking(move || write_all(&cfg, &device, &acts, lang, model)).await??;
    Ok(ExitCode::SUCCESS)
}
