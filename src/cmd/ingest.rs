//! `gala ingest FILE...`: runs the ingest chain on local files with an in-process worker pool,
//! shows a progress bar per file and prints a result table.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use gala_pipeline::ingest::clips::{self, Clip, ClipState};
use gala_pipeline::ingest::qc::Severity;
use gala_pipeline::ingest::steps;
use gala_pipeline::jobs::JobState;
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
    Ok(if all_ready { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Submits `files`, runs a worker pool until every clip is ready, rejected or failed, and
/// returns the clips in the order of `files`.
pub async fn ingest_files(
    engine: &Engine,
    files: &[PathBuf],
    concurrency: usize,
    show_progress: bool,
) -> anyhow::Result<Vec<Clip>> {
    let env = engine.ingest_env();
    let bars = MultiProgress::new();
    if !show_progress {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut tracked = Vec::new();
    for path in files {
        let id = steps::submit_file(&env, path, &display_name(path)).await?;
        tracked.push((id, bars.add(new_bar(path))));
    }
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let pool = engine.worker_pool(concurrency.max(1), "ingest");
    let running = tokio::spawn(pool.run(async move {
        let _ = stop_rx.await;
    }));
    let clips = loop {
        let mut all_final = true;
        let mut clips = Vec::new();
        for (id, bar) in &tracked {
            let clip = clips::get(&engine.db, *id).await?.ok_or_else(|| anyhow::anyhow!("clip {id} vanished"))?;
            let job_progress = current_job_progress(engine, *id).await?;
            update_bar(bar, &clip, job_progress);
            all_final &= clip.state.is_final();
            clips.push(clip);
        }
        if all_final {
            break clips;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = stop_tx.send(());
    running.await??;
    Ok(clips)
}

/// The progress of the clip's running job, if any.
async fn current_job_progress(engine: &Engine, clip_id: i64) -> anyhow::Result<f64> {
    let jobs = engine.queue.list_by_subject(&steps::subject(clip_id)).await?;
    Ok(jobs.iter().filter(|j| j.state == JobState::Running).map(|j| j.progress).fold(0.0, f64::max))
}

fn display_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

fn new_bar(path: &Path) -> ProgressBar {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>24.bold} [{bar:30}] {percent:>3}% {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(truncate(&display_name(path), 24));
    bar
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

fn update_bar(bar: &ProgressBar, clip: &Clip, job_progress: f64) {
    if bar.is_finished() {
        return;
    }
    let (start, width) = stage(clip.state);
    bar.set_position(((start + width * job_progress.clamp(0.0, 1.0)) * 1000.0) as u64);
    bar.set_message(clip.state.as_str());
    if clip.state.is_final() {
        bar.finish_with_message(clip.state.as_str());
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
        let duration = c.normalize_report.as_ref().map(|r| format!("{:.2}", r.duration_s)).unwrap_or_else(|| "-".into());
        let loudness = match &c.normalize_report {
            Some(r) => format!("{} > {}", lufs(r.loudness_before.integrated_lufs), lufs(r.loudness_after.integrated_lufs)),
            None => "-".into(),
        };
        let findings = c.qc_report.as_ref().map(|q| {
            let count = |s: Severity| q.findings.iter().filter(|f| f.severity == s).count();
            format!("{}/{}/{}", count(Severity::Error), count(Severity::Warning), count(Severity::Info))
        });
        let note = c.reason.clone().unwrap_or_else(|| {
            c.qc_report.as_ref().map(|q| q.findings.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ")).unwrap_or_default()
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
