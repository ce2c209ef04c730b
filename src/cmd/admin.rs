//! `gala admin`: tasks that must not depend on the web: the first admin, backfills, failed
//! jobs run again, a submission ingested again, and a consistent backup and its restore.

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
    /// Give failed jobs a fresh start (queued now, attempts reset): every failed job, or those
    /// of one kind, or the ones named.
    RerunFailed {
        /// Only jobs of this kind (`ingest.normalize`, `render.show`, ...).
        #[arg(long)]
        kind: Option<String>,
        /// Only these jobs.
        #[arg(long = "job")]
        jobs: Vec<i64>,
    },
    /// Run the ingest chain of a clip again from its original upload (after a fix, or for a
    /// new house format).
    Reingest {
        /// The submission whose version to ingest again.
        #[arg(long, conflicts_with = "clip", required_unless_present = "clip")]
        submission: Option<i64>,
        /// Its version number; default the latest.
        #[arg(long, requires = "submission")]
        version: Option<i64>,
        /// A clip by id instead.
        #[arg(long)]
        clip: Option<i64>,
    },
    /// Write a consistent backup of the database and every media object it names into a new
    /// directory (SQLite VACUUM INTO or pg_dump first, then the objects, each checked).
    Backup { dir: std::path::PathBuf },
    /// Restore a backup into the configured database and media store (studio and workers
    /// stopped).
    Restore {
        dir: std::path::PathBuf,
        /// Replace a database that already holds data.
        #[arg(long)]
        replace: bool,
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
        Command::RerunFailed { kind, jobs } => {
            let engine = Engine::open(config).await?;
            let failed = engine.queue.failed(kind.as_deref()).await?;
            let mut queued = 0;
            for job in failed
                .iter()
                .filter(|j| jobs.is_empty() || jobs.contains(&j.id))
            {
                if engine.queue.requeue_failed(job.id).await? {
                    println!("job {} ({}) queued again", job.id, job.kind);
                    queued += 1;
                }
            }
            for id in jobs
                .iter()
                .filter(|id| !failed.iter().any(|j| j.id == **id))
            {
                println!(
                    "job {id} is not a failed job{}",
                    kind.as_deref()
                        .map(|k| format!(" of kind {k}"))
                        .unwrap_or_default()
                );
            }
            println!("{queued} failed job(s) queued again");
            Ok(ExitCode::SUCCESS)
        }
        Command::Reingest {
            submission,
            version,
            clip,
        } => {
            use gala_pipeline::ingest::steps;
            let engine = Engine::open(config).await?;
            let clip = match (clip, submission) {
                (Some(c), _) => c,
                (None, Some(s)) => steps::clip_of_submission(&engine.db, s, version).await?,
                (None, None) => unreachable!("clap requires one"),
            };
            let job = steps::reingest(&engine.ingest_env(), clip).await?;
            println!("clip {clip} queued for ingest again (job {job})");
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { dir } => {
            let engine = Engine::open(config).await?;
            let m = gala_pipeline::backup::backup(&engine, &dir).await?;
            println!(
                "backup written to {}: the {} database ({}), {} media object(s), {} bytes",
                dir.display(),
                m.backend,
                m.database,
                m.objects,
                m.bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { dir, replace } => {
            let r = gala_pipeline::backup::restore(&config, &dir, replace).await?;
            println!(
                "restored the {} database of {} and {} media object(s); start the studio and workers again",
                r.manifest.backend, r.manifest.taken_at, r.objects
            );
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
