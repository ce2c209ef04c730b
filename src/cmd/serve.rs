//! `gala serve`: the studio web server, on the embedded defaults (SQLite and local media under
//! `data_dir`) unless configured otherwise. Stops gracefully on Ctrl-C or SIGTERM.

use std::process::ExitCode;

use anyhow::Context;
use gala_pipeline::{Config, Engine};
use gala_studio::AppState;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on. Default: `studio.listen` of the configuration.
    #[arg(long)]
    listen: Option<String>,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    let listen = args.listen.unwrap_or_else(|| config.studio.listen.clone());
    let engine = Engine::open(config).await?;
    let state = AppState::new(engine).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, "studio listening");
    gala_studio::serve(listener, state, super::shutdown_signal()).await?;
    tracing::info!("studio stopped");
    Ok(ExitCode::SUCCESS)
}
