//! `gala models`: what the `models` section configures, per role.
//!
//! - `list`: family, where the files are (a path, or the Hugging Face cache snapshot of
//!   `hf_repo`) and their sizes; loads nothing.
//! - `check`: loads each configured model, reports its parameters, memory and load time, and
//!   runs one small inference. Exits 1 when a configured model fails.
//! - `pull`: fetches `hf_repo` (from the Hub, or the mirror in `HF_ENDPOINT`) when a network
//!   exists. Nothing else downloads.

use std::process::ExitCode;

use gala_pipeline::ai::{pull, registry::ModelSource};
use gala_pipeline::Config;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Show each role's model and files.
    List,
    /// Load each configured model and run a small inference.
    Check {
        /// Only this role (captions, text_moderation, image_moderation, writer).
        role: Option<String>,
    },
    /// Fetch each role's hf_repo into the local cache (and into its path when set).
    Pull {
        /// Only this role.
        role: Option<String>,
    },
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    let sources = config.models.sources();
    match args.what {
        What::List => {
            list(&sources);
            Ok(ExitCode::SUCCESS)
        }
        What::Check { role } => {
            let chosen = select(&sources, role.as_deref())?;
            super::models_check::run(&config, &chosen).await
        }
        What::Pull { role } => {
            let chosen = select(&sources, role.as_deref())?;
            let mut failed = false;
            for source in chosen.iter().filter(|s| !s.hf_repo.is_empty()) {
                println!("{}: pulling {} …", source.role, source.hf_repo);
                match pull::pull(source).await {
                    Ok(p) => {
                        for (name, len) in &p.files {
                            println!("  {name:<40} {}", human_bytes(*len));
                        }
                        println!("  → {}", p.into.display());
                    }
                    Err(e) => {
                        failed = true;
                        println!("  failed: {e}");
                    }
                }
            }
            if chosen.iter().all(|s| s.hf_repo.is_empty()) {
                println!("no role has an hf_repo: nothing to pull");
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// The sources of all roles, or of the one named.
fn select(sources: &[ModelSource], role: Option<&str>) -> anyhow::Result<Vec<ModelSource>> {
    match role {
        None => Ok(sources.to_vec()),
        Some(r) => {
            let found: Vec<_> = sources.iter().filter(|s| s.role == r).cloned().collect();
            if found.is_empty() {
                let roles: Vec<_> = sources.iter().map(|s| s.role).collect();
                anyhow::bail!("no role {r:?}; the roles are {}", roles.join(", "));
            }
            Ok(found)
        }
    }
}

fn list(sources: &[ModelSource]) {
    for s in sources {
        if !s.is_configured() {
            println!("{:<17} not configured", s.role);
            continue;
        }
        let place = if s.path.as_os_str().is_empty() {
            format!("hf:{}", s.hf_repo)
        } else {
            s.path.display().to_string()
        };
        println!("{:<17} {:<12} {place}", s.role, s.family);
        match s.files() {
            Ok(files) => {
                for (path, len) in files {
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                    println!(
                        "{:<17}   {:<40} {}",
                        "",
                        name.unwrap_or_default(),
                        human_bytes(len)
                    );
                }
            }
            Err(e) => println!("{:<17}   {e}", ""),
        }
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
