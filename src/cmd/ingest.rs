//! `gala ingest FILE...`: runs the ingest chain on local files with an in-process worker pool,
//! shows a progress bar per file and prints a result table.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use gala_pipeline::ingest::clips::{self, Clip, ClipState};
use gala_pipeline::ingest::qc::Severity;
use gala_pipeline::ingest::steps;
use gala_pipeline::{Config, Engine};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

#[derive(clap::Args)]
pub struct Args {
    /// Media files to ingest.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Jobs run at once. Default: `jobs.workers` of the configuration.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Print the result as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Only store the files and queue their jobs, for `gala worker` processes to run; print
    /// the clip ids.
    #[arg(long)]
    submit_only: bool,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    let concurrency = args.concurrency.unwrap_or(config.jobs.workers as usize);
    let engine = Engine::open(config).await?;
    if args.submit_only {
        for path in &args.files {
            let id = steps::submit_file(&engine.ingest_env(), path, &display_name(path)).await?;
            println!("{id}\t{}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let done = ingest_files(&engine, &args.files, concurrency, !args.json).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        print_table(&done);
    }
    let all_ready = done.iter().all(|c| c.state == ClipState::Ready);
    Ok(if all_ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Above this many files one overall bar replaces the bar per file.
const BARS_PER_FILE_MAX: usize = 12;

/// Submits `files`, runs a worker pool until every clip is ready, rejected or failed, and
/// returns the clips in the order of `files`.
pub async fn ingest_files(
    engine: &Engine,
    files: &[PathBuf],
    concurrency: usize,
    show_progress: bool,
) -> anyhow::Result<Vec<Clip>> {
    let env = engine.ingest_env();
    let mut ids = Vec::with_capacity(files.len());
    for path in files {
        ids.push(steps::submit_file(&env, path, &display_name(path)).await?);
    }
    let mut display = Display::new(files, show_progress);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let pool = engine.worker_pool(concurrency.max(1), "ingest");
    let running = tokio::spawn(pool.run(async move {
        let _ = stop_rx.await;
    }));
    let clips = loop {
        // Two queries a round whatever the number of files, so polling never slows the workers.
        let clips = clips::get_many(&engine.db, &ids).await?;
        let progress = job_progress(engine).await?;
        display.update(&clips, &progress);
        if clips.len() == ids.len() && clips.iter().all(|c| c.state.is_final()) {
            break clips;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let _ = stop_tx.send(());
    running.await??;
    // `get_many` returns id order, which is submission order.
    Ok(clips)
}

/// Progress of every running job, by subject.
async fn job_progress(engine: &Engine) -> anyhow::Result<HashMap<String, f64>> {
    let running = engine.queue.running().await?;
    Ok(running
        .into_iter()
        .filter_map(|j| Some((j.subject?, j.progress)))
        .collect())
}

/// The progress bars: one per file, or one for all when there are many.
struct Display {
    _bars: MultiProgress,
    per_file: Vec<ProgressBar>,
    overall: Option<ProgressBar>,
}

impl Display {
    fn new(files: &[PathBuf], show: bool) -> Display {
        let bars = MultiProgress::new();
        if !show {
            bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        if files.len() > BARS_PER_FILE_MAX {
            let bar = bars.add(ProgressBar::new(files.len() as u64 * 1000));
            bar.set_style(style(
                "{prefix:>12.bold} [{bar:40}] {percent:>3}% {msg} (eta {eta})",
            ));
            bar.set_prefix(format!("{} files", files.len()));
            return Display {
                _bars: bars,
                per_file: Vec::new(),
                overall: Some(bar),
            };
        }
        let per_file = files
            .iter()
            .map(|path| {
                let bar = bars.add(ProgressBar::new(1000));
                bar.set_style(style("{prefix:>24.bold} [{bar:30}] {percent:>3}% {msg}"));
                bar.set_prefix(truncate(&display_name(path), 24));
                bar
            })
            .collect();
        Display {
            _bars: bars,
            per_file,
            overall: None,
        }
    }

    fn update(&mut self, clips: &[Clip], progress: &HashMap<String, f64>) {
        let fraction = |c: &Clip| {
            let (start, width) = stage(c.state);
            let job = progress.get(&steps::subject(c.id)).copied().unwrap_or(0.0);
            start + width * job.clamp(0.0, 1.0)
        };
        if let Some(bar) = &self.overall {
            bar.set_position(clips.iter().map(|c| (fraction(c) * 1000.0) as u64).sum());
            let count = |s: ClipState| clips.iter().filter(|c| c.state == s).count();
            bar.set_message(format!(
                "{} ready, {} rejected, {} failed",
                count(ClipState::Ready),
                count(ClipState::Rejected),
                count(ClipState::Failed)
            ));
            if clips.iter().all(|c| c.state.is_final()) {
                bar.finish();
            }
            return;
        }
        for (bar, clip) in self.per_file.iter().zip(clips) {
            if bar.is_finished() {
                continue;
            }
            bar.set_position((fraction(clip) * 1000.0) as u64);
            bar.set_message(clip.state.as_str());
            if clip.state.is_final() {
                bar.finish_with_message(clip.state.as_str());
            }
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("valid template")
        .progress_chars("=> ")
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Where each state sits on the bar, and how wide its step is.
fn stage(state: ClipState) -> (f64, f64) {
    match state {
        ClipState::Queued => (0.0, 0.0),
        ClipState::Probing => (0.0, 0.05),
        ClipState::Normalizing => (0.05, 0.65),
        ClipState::Checking => (0.70, 0.15),
        ClipState::Finishing => (0.85, 0.15),
        ClipState::Ready | ClipState::Rejected | ClipState::Failed => (1.0, 0.0),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max - 1).collect();
        format!("{head}…")
    }
}

fn lufs(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

/// One line per clip: state, duration, loudness before → after, findings, and the reason.
pub fn print_table(clips: &[Clip]) {
    println!(
        "{:<26} {:<9} {:>7} {:>15} {:<20} REASON / SUMMARY",
        "FILE", "STATE", "DUR s", "LUFS before>after", "FINDINGS (err/warn/info)"
    );
    for c in clips {
        let duration = c
            .normalize_report
            .as_ref()
            .map(|r| format!("{:.2}", r.duration_s))
            .unwrap_or_else(|| "-".into());
        let loudness = match &c.normalize_report {
            Some(r) => format!(
                "{} > {}",
                lufs(r.loudness_before.integrated_lufs),
                lufs(r.loudness_after.integrated_lufs)
            ),
            None => "-".into(),
        };
        let findings = c.qc_report.as_ref().map(|q| {
            let count = |s: Severity| q.findings.iter().filter(|f| f.severity == s).count();
            format!(
                "{}/{}/{}",
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info)
            )
        });
        let note = c.reason.clone().unwrap_or_else(|| {
            c.qc_report
                .as_ref()
                .map(|q| {
                    q.findings
                        .iter()
                        .map(|f| f.message.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default()
        });
        println!(
            "{:<26} {:<9} {:>7} {:>15} {:<20} {}",
            truncate(&c.source_name, 26),
            c.state.as_str(),
            duration,
            loudness,
            findings.unwrap_or_else(|| "-".into()),
            note
        );
    }
    let count = |s: ClipState| clips.iter().filter(|c| c.state == s).count();
    println!(
        "\n{} files: {} ready, {} rejected, {} failed",
        clips.len(),
        count(ClipState::Ready),
        count(ClipState::Rejected),
        count(ClipState::Failed)
    );
}
