//! The subcommands of `gala`.

pub mod admin;
pub mod bench;
pub mod config;
pub mod demo;
pub mod demo_show;
pub mod ingest;
pub mod live;
pub mod models;
pub mod models_check;
pub mod render;
pub mod script;
pub mod serve;
pub mod worker;

/// Logs to stderr; `RUST_LOG` filters. By default long-running services log at info, while
/// interactive commands log only warnings so that their progress bars stay readable.
pub fn init_tracing(json: bool, service: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if service {
        "warn,gala=info,gala_pipeline=info,gala_studio=info"
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
