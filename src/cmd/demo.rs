//! `gala demo`: the end-to-end demo. Generates the demo clips and ingests them, checks that
//! every clip ended as expected (good clips ready, bad files rejected with a reason), then
//! accepts the good ones as submissions, plans a show from them and renders it.

use std::path::PathBuf;
use std::process::ExitCode;

use gala_pipeline::ingest::clips::ClipState;
use gala_pipeline::{demo, Config, Engine};

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the demo clips. Default: `data_dir/demo-clips`.
    #[arg(long)]
    clips_dir: Option<PathBuf>,
    /// Jobs run at once. Default: `jobs.workers` of the configuration.
    #[arg(long)]
    concurrency: Option<usize>,
    /// At the end, play the rendered show live to this RTMP address (repeat for several).
    #[arg(long = "live")]
    live: Vec<String>,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    let dir = args
        .clips_dir
        .unwrap_or_else(|| config.data_dir.join("demo-clips"));
    let concurrency = args.concurrency.unwrap_or(config.jobs.workers as usize);
    println!("Generating demo clips in {} …", dir.display());
    let made = tokio::task::spawn_blocking(move || demo::generate(&dir)).await??;
    println!(
        "Ingesting {} clips into {} (house format {}x{} @ {} fps) …",
        made.len(),
        config.data_dir.display(),
        config.house.width,
        config.house.height,
        config.house.fps
    );
    let engine = Engine::open(config).await?;
    let paths: Vec<PathBuf> = made.iter().map(|(p, _)| p.clone()).collect();
    let done = super::ingest::ingest_files(&engine, &paths, concurrency, true).await?;
    super::ingest::print_table(&done);

    let mut surprises = 0;
    for ((_, clip), result) in made.iter().zip(&done) {
        let accepted = result.state == ClipState::Ready;
        if accepted != clip.expect_accept {
            surprises += 1;
            println!(
                "UNEXPECTED: {} ({}) ended {} — {}",
                clip.name,
                clip.about,
                result.state.as_str(),
                result.reason.as_deref().unwrap_or("")
            );
        }
    }
    if surprises == 0 {
        println!("Every good clip is ready in the house format, every bad file was refused with a reason.");
        let clips: Vec<_> = made.into_iter().map(|(_, c)| c).collect();
        let accepted = super::demo_show::seed_accepted(&engine, &clips, &done).await?;
        println!("{accepted} clips accepted as submissions of 5 demo creators.");
        let show = super::demo_show::plan_and_render(&engine).await?;
        if !args.live.is_empty() {
            println!(
                "Playing show {show} live to {} destination(s) …",
                args.live.len()
            );
            let opts = gala_pipeline::live::session::GoLive {
                show_id: show,
                destinations: args.live.clone(),
                start_at: None,
                node: format!("demo:{}", std::process::id()),
            };
            let outcome =
                gala_pipeline::live::session::go_live(&engine, opts, super::shutdown_signal())
                    .await?;
            super::live::print_summary(&engine, &outcome).await?;
        }
        println!(
            "Demo OK. See the show on the director's timeline: gala serve, then log in as {} / {}.",
            super::demo_show::DIRECTOR_EMAIL,
            super::demo_show::DIRECTOR_PASSWORD
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("Demo found {surprises} unexpected outcome(s).");
        Ok(ExitCode::FAILURE)
    }
}
