//! `gala worker`: a pool of workers taking jobs until stopped (SIGTERM or Ctrl-C drains:
//! no new jobs; running ones finish or, after the grace period, are handed back).
//!
//! - With the database (the default): every job kind, straight from the shared queue.
//! - With `--studio URL` (a remote worker): the compute halves of the split kinds, leased
//!   over the studio's API with its worker token (`--token` or `GALA_WORKER_TOKEN`); no
//!   database credentials, and objects go through the shared S3 store when this worker's
//!   configuration has one, else through the studio.

use std::process::ExitCode;
use std::time::Duration;

use gala_pipeline::{Config, Engine};

#[derive(clap::Args)]
pub struct Args {
    /// Jobs run at once. Default: `jobs.workers` of the configuration.
    #[arg(long)]
    concurrency: Option<usize>,
    /// A name for this worker in leases and logs.
    #[arg(long, default_value = "worker")]
    name: String,
    /// Work for the studio at this address over its API instead of the database.
    #[arg(long)]
    studio: Option<String>,
    /// The studio's worker token (`studio.worker_token` there).
    #[arg(long, env = "GALA_WORKER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Seconds running jobs may take to finish after SIGTERM before they are handed back.
    /// Default: `jobs.lease_s`.
    #[arg(long)]
    drain_s: Option<u64>,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    let concurrency = args
        .concurrency
        .unwrap_or(config.jobs.workers as usize)
        .max(1);
    let drain = Duration::from_secs(args.drain_s.unwrap_or(config.jobs.lease_s));
    if let Some(studio) = args.studio {
        let Some(token) = args.token.filter(|t| !t.is_empty()) else {
            anyhow::bail!(
                "a remote worker needs the studio's worker token: --token or GALA_WORKER_TOKEN"
            );
        };
        let opts = gala_studio::workers::RemoteOptions {
            studio,
            token,
            name: args.name,
            slots: concurrency as u32,
            drain,
        };
        gala_studio::workers::run(config, opts, super::shutdown_signal()).await?;
        tracing::info!("remote worker stopped");
        return Ok(ExitCode::SUCCESS);
    }
    let engine = Engine::open(config).await?;
    tracing::info!(concurrency, "worker pool started");
    engine
        .worker_pool(concurrency, &args.name)
        .with_grace(drain)
        .run(super::shutdown_signal())
        .await?;
    tracing::info!("worker pool stopped");
    Ok(ExitCode::SUCCESS)
}
