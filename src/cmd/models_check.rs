//! `gala models check`: loads each configured model through the same loaders the workers use,
//! reports parameters, weight memory, load time and the process's resident memory, and runs
//! one small inference per role.

use std::process::ExitCode;
use std::time::Instant;

use gala_pipeline::ai::registry::{self, ModelSource};
use gala_pipeline::ai::writer::{ActFacts, ActRef, HostWriter, Language};
use gala_pipeline::ai::{Model, ModelError, ModelSummary, RunControl};
use gala_pipeline::Config;

use super::models::human_bytes;

pub async fn run(config: &Config, sources: &[ModelSource]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for source in sources {
        if !source.is_configured() {
            println!("{:<17} not configured", source.role);
            continue;
        }
        let config = config.clone();
        let role = source.role;
        let rss_before = rss_kib();
        let started = Instant::now();
        let outcome = tokio::task::spawn_blocking(move || check(&config, role)).await?;
        match outcome {
            Ok((summary, load_s, smoke)) => {
                println!(
                    "{:<17} {} ({}) ok: {} parameters, weights {}, loaded in {load_s:.2} s, \
                     resident +{}",
                    role,
                    summary.family,
                    summary.format,
                    summary.parameters,
                    human_bytes(summary.weight_bytes),
                    human_bytes(rss_kib().saturating_sub(rss_before) * 1024),
                );
                println!("{:<17}   smoke: {smoke}", "");
            }
            Err(e) => {
                failed = true;
                println!(
                    "{role:<17} FAILED after {:.2} s: {e}",
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Loads one role and runs its smoke inference: (summary, load seconds, what the inference did).
fn check(config: &Config, role: &str) -> Result<(ModelSummary, f64, String), ModelError> {
    let models = &config.models;
    let started = Instant::now();
    let mut progress = |_: f64| {};
    match role {
        "captions" => {
            let mut model = registry::load_captions(models)?;
            let load_s = started.elapsed().as_secs_f64();
            let dir = tempfile::tempdir().map_err(|e| run_error(role, e))?;
            let wav = dir.path().join("smoke.wav");
            write_tone(&wav).map_err(|e| run_error(role, e))?;
            let t = Instant::now();
            let mut ctl = RunControl::unlimited(&mut progress);
            let transcript = model.transcribe(&wav, None, &mut ctl)?;
            let smoke = format!(
                "3 s of a 440 Hz tone → {} cue(s), language {}, in {:.2} s",
                transcript.cues.len(),
                transcript.language,
                t.elapsed().as_secs_f64()
            );
            Ok((model.summary(), load_s, smoke))
        }
        "text_moderation" => {
            let mut model = registry::load_text_moderation(models)?;
            let load_s = started.elapsed().as_secs_f64();
            let t = Instant::now();
            let mut ctl = RunControl::unlimited(&mut progress);
            let flags = model.moderate(
                &[
                    ("title", "Good evening and welcome to the show!"),
                    ("description", "晚上好，欢迎收看今晚的节目。"),
                ],
                &mut ctl,
            )?;
            let smoke = format!(
                "an English and a Chinese greeting → {} flag(s) in {:.2} s",
                flags.len(),
                t.elapsed().as_secs_f64()
            );
            Ok((model.summary(), load_s, smoke))
        }
        "image_moderation" => {
            let model = registry::load_image_classifier(models)?;
            let load_s = started.elapsed().as_secs_f64();
            let frame = image::RgbImage::from_fn(320, 180, |x, y| {
                image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
            });
            let t = Instant::now();
            let scores = model.classify_frames(&[frame])?;
            let top = scores
                .first()
                .and_then(|s| {
                    s.iter()
                        .max_by(|a, b| a.score.total_cmp(&b.score))
                        .map(|l| format!("{} {:.2}", l.label, l.score))
                })
                .unwrap_or_default();
            let smoke = format!(
                "a gradient frame → top label {top} in {:.2} s",
                t.elapsed().as_secs_f64()
            );
            Ok((model.summary(), load_s, smoke))
        }
        "writer" => {
            let model = registry::load_writer(models)?;
            let load_s = started.elapsed().as_secs_f64();
            let summary = model.summary();
            let mut writer = HostWriter::new(&models.writer, Some(Box::new(model)));
            let facts = ActFacts {
                title: "Moonlight Sonata in Pixels".into(),
                creator: "Lin Mei".into(),
                category: "animation".into(),
                credits: vec!["Lin Mei".into()],
                prev: None,
                next: Some(ActRef {
                    title: "Robot Tango".into(),
                    creator: "Sam Ortiz".into(),
                }),
            };
            let line = writer.write_line(&facts, Language::En, &mut |_| {});
            let tok_s = line
                .generations
                .last()
                .map(|g| format!("{:.1} tok/s", g.gen_tok_s()))
                .unwrap_or_else(|| "no generation".into());
            let smoke = format!(
                "host line by {} after {} attempt(s), {tok_s}: {}",
                line.writer, line.attempts, line.text
            );
            Ok((summary, load_s, smoke))
        }
        "voice" => {
            use gala_pipeline::voice::Voice;
            let model = registry::load_voice(models)?;
            let load_s = started.elapsed().as_secs_f64();
            let t = Instant::now();
            let mut ctl = RunControl::unlimited(&mut progress);
            let speech = model
                .speak("Good evening, and welcome.", "en", &mut ctl)
                .map_err(|e| run_error(role, e))?;
            let smoke = format!(
                "\"Good evening, and welcome.\" → {} ms of speech at {} Hz in {:.2} s",
                speech.duration_ms(),
                speech.rate,
                t.elapsed().as_secs_f64()
            );
            Ok((model.summary(), load_s, smoke))
        }
        other => Err(ModelError::Run {
            role: "models",
            reason: format!("unknown role {other}"),
        }),
    }
}

fn run_error(role: &str, e: impl std::fmt::Display) -> ModelError {
    ModelError::Run {
        role: if role == "captions" {
            "captions"
        } else {
            "models"
        },
        reason: e.to_string(),
    }
}

/// Three seconds of a 440 Hz tone at 16 kHz, for the captions smoke inference.
fn write_tone(path: &std::path::Path) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for i in 0..48_000 {
        let t = i as f32 / 16_000.0;
        w.write_sample(((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16)?;
    }
    w.finalize()
}

/// The process's resident memory in KiB (Linux), 0 elsewhere.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
