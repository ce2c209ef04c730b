//! `gala config`: shows the configuration in force. Loading it already checked every key.

use std::process::ExitCode;

use gala_pipeline::Config;

#[derive(clap::Args)]
pub struct Args {
    /// Only check the configuration; print nothing when it is valid.
    #[arg(long)]
    check: bool,
}

pub fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    if !args.check {
        print!("{}", config.to_yaml());
    }
    Ok(ExitCode::SUCCESS)
}
