//! `gala`: the one binary. Each subcommand lives in `cmd/`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gala_pipeline::Config;

mod cmd;

#[derive(Parser)]
#[command(
    name = "gala",
    version,
    about = "Production system for crowdsourced AI variety shows"
)]
struct Cli {
    /// Configuration file. Default: ./gala.yaml when present, else built-in defaults.
    #[arg(long, short, global = true, env = "GALA_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest local files: probe, validate, normalize, QC, thumbnails and proxy, with progress;
    /// prints a result per file. Exits non-zero when a file was rejected or failed.
    Ingest(cmd::ingest::Args),
    /// Run a pool of workers that take jobs from the database until stopped (Ctrl-C, SIGTERM).
    Worker(cmd::worker::Args),
    /// Generate varied demo clips with FFmpeg's lavfi sources and ingest them: the end-to-end demo.
    Demo(cmd::demo::Args),
    /// Print the configuration in force (file + environment), or check it.
    Config(cmd::config::Args),
    /// Measure throughput against the ffmpeg command line (figures, side by side).
    Bench(cmd::bench::Args),
    /// Run the studio web server (creator portal, review, admin, JSON API) until stopped.
    Serve(cmd::serve::Args),
    /// The local AI models of each role: list them, check that they load and run, pull them.
    Models(cmd::models::Args),
    /// Account administration from the command line (the first admin).
    Admin(cmd::admin::Args),
    /// Write the host's lines for acts (a JSON file or one act on the command line) with the
    /// configured writer model, checked against the facts; deterministic lines otherwise.
    Script(cmd::script::Args),
    /// Render a show's running order into the master file (MP4 with chapters and captions),
    /// with the rundown as CSV, JSON and OpenTimelineIO beside it.
    Render(cmd::render::Args),
    /// Play a show live to one or more RTMP destinations (one encode), with reconnects, live
    /// control from the studio, the as-run log, and a standby that takes over.
    Live(cmd::live::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cmd::init_tracing(
        cli.log_json,
        matches!(
            cli.command,
            Command::Worker(_) | Command::Serve(_) | Command::Live(_)
        ),
    );
    let config = match load_config(cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gala: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Ingest(a) => cmd::ingest::run(config, a).await,
            Command::Worker(a) => cmd::worker::run(config, a).await,
            Command::Demo(a) => cmd::demo::run(config, a).await,
            Command::Config(a) => cmd::config::run(config, a),
            Command::Bench(a) => cmd::bench::run(config, a).await,
            Command::Serve(a) => cmd::serve::run(config, a).await,
            Command::Admin(a) => cmd::admin::run(config, a).await,
            Command::Models(a) => cmd::models::run(config, a).await,
            Command::Script(a) => cmd::script::run(config, a).await,
            Command::Render(a) => cmd::render::run(config, a).await,
            Command::Live(a) => cmd::live::run(config, a).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gala: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(path: Option<PathBuf>) -> Result<Config, gala_pipeline::config::ConfigError> {
    let explicit = path.is_some();
    let path = path.unwrap_or_else(|| PathBuf::from("gala.yaml"));
    Config::load(Some(&path), explicit, std::env::vars())
}
