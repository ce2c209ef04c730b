//! `gala serve`: the studio web server, on the embedded defaults (SQLite and local media under
//! `data_dir`) unless configured otherwise, with an in-process worker pool so that uploads are
//! ingested with nothing else to start. Stops gracefully on Ctrl-C or SIGTERM.

use std::process::ExitCode;

use anyhow::Context;
use gala_pipeline::{Config, Engine};
use gala_studio::AppState;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on. Default: `studio.listen` of the configuration.
    #[arg(long)]
    listen: Option<String>,
    /// Jobs this process runs beside serving. Default: `jobs.workers`; 0 when separate
    /// `gala worker` processes do the work.
    #[arg(long)]
    workers: Option<usize>,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    let listen = args.listen.unwrap_or_else(|| config.studio.listen.clone());
    let workers = args.workers.unwrap_or(config.jobs.workers as usize);
    let engine = Engine::open(config).await?;
    let state = AppState::new(engine.clone()).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, workers, "studio listening");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let pool = (workers > 0).then(|| {
        tokio::spawn(
            engine
                .worker_pool(workers, "studio")
                .run(stopped(stop_rx.clone())),
        )
    });
    tokio::spawn(async move {
        super::shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    gala_studio::serve(listener, state, stopped(stop_rx)).await?;
    if let Some(pool) = pool {
        pool.await??;
    }
    tracing::info!("studio stopped");
    Ok(ExitCode::SUCCESS)
}
