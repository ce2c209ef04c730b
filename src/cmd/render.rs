//! `gala render SHOW`: the show's current running order rendered into a master file, with a
//! progress bar and ETA, the rundown (CSV, JSON, OpenTimelineIO) beside it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use gala_pipeline::render::show::{render_show, ShowRender};
use gala_pipeline::render::{Eta, Progress};
use gala_pipeline::{Config, Engine};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(clap::Args)]
pub struct Args {
    /// The show's id (see the studio's /shows).
    show: i64,
    /// The master file. Default: `data_dir/renders/show-<id>.mp4`.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    let out = args.out.unwrap_or_else(|| {
        config
            .data_dir
            .join("renders")
            .join(format!("show-{}.mp4", args.show))
    });
    let engine = Engine::open(config).await?;
    let done = render_with_bar(&engine, args.show, &out).await?;
    print_summary(&done, &out);
    Ok(ExitCode::SUCCESS)
}

/// Renders with a progress bar (frames, ETA) on the terminal.
pub async fn render_with_bar(
    engine: &Engine,
    show: i64,
    out: &std::path::Path,
) -> anyhow::Result<ShowRender> {
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} frames  {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    let eta = Eta::start();
    let b = bar.clone();
    let progress = Arc::new(move |p: Progress| {
        b.set_length(p.frames_total);
        b.set_position(p.frames_done);
        if let Some(left) = eta.left(p) {
            b.set_message(format!("ETA {}s", left.as_secs()));
        }
    });
    let done = render_show(engine, show, out, progress).await;
    bar.finish_and_clear();
    done
}

pub fn print_summary(done: &ShowRender, out: &std::path::Path) {
    let r = &done.report;
    let seconds = r.frames as f64 / f64::from(r.fps);
    println!(
        "Rendered version {} to {}: {} frames ({:.2} s), {} chapters, {:.1} s to render.",
        done.version,
        out.display(),
        r.frames,
        seconds,
        r.chapters,
        r.elapsed_s
    );
    println!(
        "Video: {} frames stream-copied, {} encoded. Audio: {} measured, gain {:+.1} dB.",
        r.copied_frames,
        r.encoded_frames,
        r.loudness
            .integrated_lufs
            .map_or("silence".to_string(), |l| format!("{l:.1} LUFS")),
        r.gain_db
    );
    for item in &r.items {
        let how: Vec<String> = item
            .stretches
            .iter()
            .map(|s| format!("{}{}", if s.copied { "copy " } else { "encode " }, s.frames))
            .collect();
        println!(
            "  {:>4} {:<9} {:<40} {:>6} frames  [{}]",
            item.id,
            item.kind,
            item.title.chars().take(40).collect::<String>(),
            item.frames,
            how.join(", ")
        );
        if let Some(rep) = &item.replaced {
            println!(
                "       REPLACED by a slate from frame {}: {}",
                rep.from_frame, rep.reason
            );
        }
    }
    for (id, problem) in &done.problems {
        println!("  item {id}: {problem}");
    }
    for c in &done.card_lengths {
        println!(
            "  host card {} lasts {} ms as spoken (planned {} ms)",
            c.item, c.rendered_ms, c.planned_ms
        );
    }
    match &done.lengths_saved {
        Some(Ok(v)) => println!("The show took over the spoken card lengths as version {v}."),
        Some(Err(e)) => println!("The show was not updated with the spoken card lengths: {e}"),
        None => {}
    }
}
