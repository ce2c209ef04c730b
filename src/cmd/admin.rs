//! `gala admin`: tasks that must not depend on the web: the first admin, and backfills.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context;
use gala_pipeline::{Config, Engine};

/// The environment variable a script can pass the new admin's password in.
const PASSWORD_VAR: &str = "GALA_ADMIN_PASSWORD";

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create an active admin account. The password is read from GALA_ADMIN_PASSWORD, else
    /// from standard input (prompted without echo on a terminal).
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Queue the energy analysis (analysis.energy: tempo, loudness dynamics, energy) for
    /// ready clips that have none, e.g. those ingested before it existed. The job is
    /// idempotent, so queueing a clip twice only measures it twice.
    Energy {
        /// Every ready clip without an energy row (required: there is no other selection).
        #[arg(long, required = true)]
        all: bool,
    },
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::CreateAdmin { email, name } => {
            let password = read_password()?;
            let engine = Engine::open(config).await?;
            let account =
                gala_studio::auth::flows::create_admin(&engine.db, &email, &name, &password)
                    .await
                    .context("cannot create the admin")?;
            println!("admin {} created (id {})", account.email, account.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Energy { all: _ } => {
            use gala_pipeline::analysis::{energy, jobs};
            let engine = Engine::open(config).await?;
            let clips = energy::record::ready_without_energy(&engine.db).await?;
            for clip in &clips {
                engine.queue.enqueue(jobs::job(jobs::ENERGY, *clip)).await?;
            }
            println!("queued {} for {} clip(s)", jobs::ENERGY, clips.len());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The password from the environment, a no-echo prompt, or the first line of stdin.
fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var(PASSWORD_VAR) {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Password for the new admin: ")
            .context("cannot read the password");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
