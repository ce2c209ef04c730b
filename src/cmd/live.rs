//! `gala live SHOW --to rtmp://…`: the show on air to one or more destinations until its
//! running order ends (or Ctrl-C / SIGTERM ends it after the current frame); `--standby`
//! waits on another machine sharing the database and takes over when the active node's
//! heartbeat stops.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use gala_pipeline::live::asrun;
use gala_pipeline::live::session::{self, GoLive, Outcome};
use gala_pipeline::show::model::parse_utc;
use gala_pipeline::{Config, Engine};

#[derive(clap::Args)]
pub struct Args {
    /// The show's id (see the studio's /shows).
    show: i64,
    /// A destination: an RTMP address (rtmp://host/app/key), or a file path to record FLV.
    /// Repeat for several destinations; they share one encode.
    #[arg(long = "to", required = true)]
    to: Vec<String>,
    /// Start the first item at this UTC time (`YYYY-MM-DDTHH:MM[:SS]`), or `show` for the
    /// show's own start time; a countdown slate airs until then. Default: at once.
    #[arg(long)]
    at: Option<String>,
    /// Wait as a standby: take over when the show's active node stops beating.
    #[arg(long)]
    standby: bool,
    /// Names this node in the as-run log. Default: host name and process id.
    #[arg(long)]
    node: Option<String>,
}

pub async fn run(config: Config, args: Args) -> anyhow::Result<ExitCode> {
    let engine = Engine::open(config).await?;
    let start_at = match args.at.as_deref() {
        None => None,
        Some("show") => {
            let show = gala_pipeline::show::store::get(&engine.db, args.show).await?;
            Some(parse_time(&show.meta.starts_at)?)
        }
        Some(t) => Some(parse_time(t)?),
    };
    let node = args.node.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "localhost".into());
        format!("{}:{}", host.trim(), std::process::id())
    });
    let opts = GoLive {
        show_id: args.show,
        destinations: args.to,
        start_at,
        node,
    };
    let outcome = if args.standby {
        session::standby(&engine, opts, super::shutdown_signal()).await?
    } else {
        session::go_live(&engine, opts, super::shutdown_signal()).await?
    };
    print_summary(&engine, &outcome).await?;
    Ok(ExitCode::SUCCESS)
}

fn parse_time(s: &str) -> anyhow::Result<SystemTime> {
    let ms = parse_utc(s)
        .ok_or_else(|| anyhow::anyhow!("`{s}` is not a time like 2026-12-31T20:00 (UTC)"))?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

pub async fn print_summary(engine: &Engine, outcome: &Outcome) -> anyhow::Result<()> {
    let s = &outcome.status;
    if let Some((from, item, offset)) = outcome.took_over {
        println!(
            "Took over from session {from} at item {item}, {:.1} s into it.",
            offset as f64 / 1000.0
        );
    }
    println!(
        "Session {}: {}. {} frames ({:.1} s of program) in {:.1} s; {} frames late.",
        outcome.session, outcome.reason, s.frames, s.media_s, s.wall_s, s.late_frames
    );
    for d in &s.destinations {
        println!(
            "  {}: {:?}, {} reconnects, {} frames dropped, {:.1} MB sent",
            d.name,
            d.state,
            d.reconnects,
            d.dropped_frames,
            d.sent_bytes as f64 / 1e6
        );
    }
    let session = asrun::session(&engine.db, outcome.session).await?;
    if let Some(session) = session {
        let rows: Vec<_> = asrun::log(&engine.db, session.show_id)
            .await?
            .into_iter()
            .filter(|r| r.session_id == outcome.session)
            .collect();
        let replaced = rows.iter().filter(|r| r.replaced_by.is_some()).count();
        println!(
            "As-run: {} items aired, {replaced} replaced by a slate.",
            rows.len()
        );
        for r in rows.iter().filter(|r| r.replaced_by.is_some()) {
            println!(
                "  item {} ({}) from {:.1} s: {}",
                r.item_id,
                r.title,
                r.replaced_from_ms.unwrap_or(0) as f64 / 1000.0,
                r.reason.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}
