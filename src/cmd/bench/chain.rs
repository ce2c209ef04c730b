//! `gala bench chain`: the whole ingest chain with the configured worker pool.

use std::process::ExitCode;
use std::time::Instant;

use gala_pipeline::ingest::clips::ClipState;
use gala_pipeline::{Config, Engine};

use super::{make_clips, peak_rss};

pub async fn bench_chain(
    config: Config,
    n: usize,
    size: &str,
    seconds: f64,
) -> anyhow::Result<ExitCode> {
    let dir = config.data_dir.join("bench-chain");
    let (size_owned, d) = (size.to_string(), dir.clone());
    println!("chain bench: generating {n} clips of {seconds} s at {size} …");
    let clips =
        tokio::task::spawn_blocking(move || make_clips(&d, n, &size_owned, seconds)).await??;
    let workers = config.jobs.workers as usize;
    println!(
        "ingesting through the whole chain with {workers} workers → {}x{}@{} …",
        config.house.width, config.house.height, config.house.fps
    );
    let engine = Engine::open(config).await?;
    let t = Instant::now();
    let done = crate::cmd::ingest::ingest_files(&engine, &clips, workers, false).await?;
    let elapsed = t.elapsed().as_secs_f64();
    let ready = done.iter().filter(|c| c.state == ClipState::Ready).count();
    println!(
        "{ready}/{n} clips ready in {elapsed:.1} s: {:.1} clips per minute, {:.2}x real time",
        n as f64 * 60.0 / elapsed,
        n as f64 * seconds / elapsed
    );
    println!(
        "peak memory of this process (the worker pool): {}",
        peak_rss()
    );
    Ok(ExitCode::SUCCESS)
}
