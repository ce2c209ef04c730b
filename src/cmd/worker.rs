//! `gala worker`: a pool of workers taking jobs from the shared database until stopped.

use std::process::ExitCode;

use gala_pipeline::{Config, Engine};

#[derive(clap::Args)]
pub struct Args {
    /// Jobs run at once. Default: `jobs.workers` of the configuration.
    #[arg(long)]
    concurrency: Option<usize>,
    /// A name for this worker in leases and logs.
    #[arg(long, default_value = "worker")]
    name: String,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    let concurrency = args.concurrency.unwrap_or(config.jobs.workers as usize).max(1);
    let engine = Engine::open(config).await?;
    tracing::info!(concurrency, "worker pool started");
    engine.worker_pool(concurrency, &args.name).run(super::shutdown_signal()).await?;
    tracing::info!("worker pool stopped");
    Ok(ExitCode::SUCCESS)
}
