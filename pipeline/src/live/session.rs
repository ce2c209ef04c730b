//! A show on air from this node: the show resolved (cards rendered, acts found), a session in
//! the database, the playout loop on its own thread, its events written to the as-run log,
//! a heartbeat with the monitor's status, and live commands taken from the database (any
//! studio server may send them). A standby resolves the same show up front, watches the
//! active session's heartbeat and, when it stops, takes over at the point of the running
//! order the clock says.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::asrun;
use super::playout::{self, Event, LiveStatus, Playout};
use super::Command;
use crate::engine::Engine;
use crate::render::show::resolve;
use crate::render::RenderPlan;
use crate::show::store;

/// What to put on air.
#[derive(Debug, Clone)]
pub struct GoLive {
    pub show_id: i64,
    /// RTMP addresses (or FLV file paths).
    pub destinations: Vec<String>,
    /// The first item starts at this time; a countdown slate airs until then.
    pub start_at: Option<SystemTime>,
    /// Names this node in the sessions (host and process).
    pub node: String,
}

/// How a session ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub session: i64,
    pub status: LiveStatus,
    pub reason: String,
    /// Set for a standby: the session it took over from and where it resumed.
    pub took_over: Option<(i64, u64, i64)>,
}

/// The show resolved for air: the plan, and the work directory holding its card segments.
struct Prepared {
    version: i64,
    plan: RenderPlan,
    unresolved: Vec<(u64, String)>,
    _work: tempfile::TempDir,
}

async fn prepare(engine: &Engine, show_id: i64) -> anyhow::Result<Prepared> {
    let show = store::get(&engine.db, show_id).await?;
    let voice = crate::voice::voice_for(&engine.config.models)
        .map_err(|e| tracing::warn!(error = %e, "no voice for the host cards; they will be silent"))
        .ok();
    let dir = engine.config.data_dir.join("live");
    std::fs::create_dir_all(&dir)?;
    let work = tempfile::Builder::new()
        .prefix(".cards-")
        .tempdir_in(&dir)?;
    let (engine2, path) = (engine.clone(), work.path().to_path_buf());
    let handle = tokio::runtime::Handle::current();
    let show2 = show.clone();
    let resolved = tokio::task::spawn_blocking(move || {
        resolve(&engine2, &handle, &show2, voice.as_deref(), &path)
    })
    .await??;
    for (item, why) in &resolved.problems {
        tracing::warn!(item, reason = %why, "item will air as a slate");
    }
    Ok(Prepared {
        version: show.version,
        plan: resolved.plan,
        unresolved: resolved.problems,
        _work: work,
    })
}

/// Puts the show on air until the running order ends or `stop` resolves (then the show ends
/// after the current frame). Refuses when the show is already on air from a live node.
pub async fn go_live(
    engine: &Engine,
    opts: GoLive,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<Outcome> {
    if let Some(active) = live_session(engine, opts.show_id).await? {
        anyhow::bail!(
            "show {} is already on air from {} (session {}); stop it first or start this node with --standby",
            opts.show_id,
            active.node,
            active.id
        );
    }
    let prepared = prepare(engine, opts.show_id).await?;
    let names = names(&opts.destinations);
    let session = asrun::start_session(
        &engine.db,
        opts.show_id,
        prepared.version,
        &opts.node,
        &names,
        None,
    )
    .await?;
    let playout = Playout {
        plan: prepared.plan.clone(),
        destinations: with_preview(engine, opts.show_id, &opts.destinations),
        config: engine.config.live.clone(),
        start_at: opts.start_at,
        resume_first_at_ms: 0,
        planned_first_ms: None,
        pace: true,
        unresolved: prepared.unresolved.clone(),
    };
    let outcome = air(
        engine,
        (opts.show_id, prepared.version),
        session,
        playout,
        stop,
    )
    .await;
    drop(prepared);
    outcome
}

/// Waits as a standby for the show's active session to stop beating, then takes over at the
/// point the clock says. Returns when the show ends (or `stop` resolves).
pub async fn standby(
    engine: &Engine,
    opts: GoLive,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<Outcome> {
    let prepared = prepare(engine, opts.show_id).await?;
    let cfg = engine.config.live.clone();
    tokio::pin!(stop);
    tracing::info!(
        show = opts.show_id,
        "standby: watching the active node's heartbeat"
    );
    let (old, resume) = loop {
        tokio::select! {
            _ = &mut stop => anyhow::bail!("the standby was stopped before any takeover"),
            _ = tokio::time::sleep(Duration::from_millis(cfg.heartbeat_ms.max(100) / 2)) => {}
        }
        let Some(active) = latest_on_air(engine, opts.show_id).await? else {
            continue;
        };
        let now = crate::now_ms();
        if now - active.heartbeat_at < cfg.takeover_after_ms as i64 {
            continue;
        }
        // Where the show is now by the clock, from the as-run log of the stopped session.
        let position = asrun::on_air(&engine.db, active.id).await?;
        if !asrun::claim_stale(
            &engine.db,
            active.id,
            now - cfg.takeover_after_ms as i64,
            &opts.node,
        )
        .await?
        {
            continue; // another standby won, or the node came back
        }
        break (active, position);
    };
    let mut plan = prepared.plan.clone();
    let now = crate::now_ms();
    let resume = match &resume {
        Some(line) => resume_point(&mut plan, line, now),
        None => Resume {
            item: plan.items.first().map_or(0, |i| i.id),
            offset_ms: 0,
            planned_ms: None,
        },
    };
    let (first_item, offset) = (resume.item, resume.offset_ms);
    tracing::warn!(
        from_session = old.id,
        item = first_item,
        offset_ms = offset,
        "standby taking over"
    );
    let session = asrun::start_session(
        &engine.db,
        opts.show_id,
        prepared.version,
        &opts.node,
        &names(&opts.destinations),
        Some(old.id),
    )
    .await?;
    let playout = Playout {
        plan,
        destinations: with_preview(engine, opts.show_id, &opts.destinations),
        config: cfg,
        start_at: None,
        resume_first_at_ms: offset,
        planned_first_ms: resume.planned_ms,
        pace: true,
        unresolved: prepared.unresolved.clone(),
    };
    let mut outcome = air(
        engine,
        (opts.show_id, prepared.version),
        session,
        playout,
        stop,
    )
    .await?;
    outcome.took_over = Some((old.id, first_item, offset));
    drop(prepared);
    Ok(outcome)
}

/// Drops from `plan` what already aired by the clock: the items before the one on air in
/// `line`, and whole items the clock has passed since. Returns the item to start with, how
/// far into it, and its planned start on the original schedule.
fn resume_point(plan: &mut RenderPlan, line: &asrun::AsRun, now: i64) -> Resume {
    let house = plan.house.clone();
    let length = |item: &crate::render::PlanItem| {
        (item.frames(&house) * 1000 / u64::from(house.fps.max(1))) as i64
    };
    let Some(pos) = plan.items.iter().position(|i| i.id as i64 == line.item_id) else {
        return Resume {
            item: plan.items.first().map_or(0, |i| i.id),
            offset_ms: 0,
            planned_ms: None,
        };
    };
    // An item whose end was recorded has aired: start after it, the clock counting from its end.
    let (mut index, mut offset, mut planned) = match line.actual_ms {
        Some(ms) => (
            pos + 1,
            now - (line.actual_start + ms),
            line.planned_start + line.planned_ms,
        ),
        None => (pos, now - line.actual_start, line.planned_start),
    };
    while let Some(item) = plan.items.get(index) {
        let len = length(item);
        if offset < len {
            break;
        }
        offset -= len;
        planned += len;
        index += 1;
    }
    plan.items.drain(..index.min(plan.items.len()));
    Resume {
        item: plan.items.first().map_or(0, |i| i.id),
        offset_ms: offset.max(0),
        planned_ms: Some(planned),
    }
}

/// Where a standby starts.
struct Resume {
    item: u64,
    offset_ms: i64,
    planned_ms: Option<i64>,
}

/// The destinations, plus the studio's HLS preview when configured (an old preview is removed).
fn with_preview(engine: &Engine, show_id: i64, destinations: &[String]) -> Vec<String> {
    let mut all = destinations.to_vec();
    if engine.config.live.preview {
        let dir = super::preview_dir(&engine.config.data_dir, show_id);
        let _ = std::fs::remove_dir_all(&dir);
        all.push(format!(
            "{}{}",
            super::output::HLS_PREFIX,
            dir.join("index.m3u8").display()
        ));
    }
    all
}

/// Runs the loop on its own thread; writes events, heartbeats and takes commands until it ends.
async fn air(
    engine: &Engine,
    (show_id, version): (i64, i64),
    session: i64,
    playout: Playout,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<Outcome> {
    let (command_tx, command_rx) = mpsc::channel::<Command>();
    let (event_tx, mut event_rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let status = Arc::new(Mutex::new(LiveStatus::default()));
    let status2 = status.clone();
    let mut looped = tokio::task::spawn_blocking(move || {
        let mut send = |e: Event| {
            let _ = event_tx.send(e);
        };
        playout::run(playout, command_rx, status2, &mut send)
    });
    let beat = Duration::from_millis(engine.config.live.heartbeat_ms.max(100));
    let mut ticker = tokio::time::interval(beat);
    tokio::pin!(stop);
    let mut stopped = false;
    let mut reason = None;
    // Edits during the show: the new version is resolved beside the loop, then its order
    // replaces what is not yet on air. Each version's card files live until the show ends.
    let mut known_version = version;
    let mut resolving: Option<tokio::task::JoinHandle<anyhow::Result<Prepared>>> = None;
    let mut versions_on_air: Vec<Prepared> = Vec::new();
    let result = loop {
        tokio::select! {
            done = &mut looped => break done,
            Some(event) = event_rx.recv() => {
                if let Event::ProgramEnded { reason: r, .. } = &event {
                    reason = Some(r.clone());
                }
                if let Err(e) = asrun::record(&engine.db, session, show_id, &event).await {
                    tracing::error!(error = %e, ?event, "as-run log write failed");
                }
            }
            _ = ticker.tick() => {
                let snapshot = status.lock().unwrap_or_else(|p| p.into_inner()).clone();
                if let Err(e) = asrun::heartbeat(&engine.db, session, &snapshot).await {
                    tracing::warn!(error = %e, "heartbeat not written");
                }
                match asrun::take_commands(&engine.db, session).await {
                    Ok(commands) => for c in commands { let _ = command_tx.send(c); },
                    Err(e) => tracing::warn!(error = %e, "live commands not read"),
                }
                if resolving.as_ref().is_some_and(|h| h.is_finished()) {
                    match resolving.take().expect("checked").await {
                        Ok(Ok(p)) => {
                            tracing::info!(version = p.version, "the edited running order goes on air");
                            let _ = command_tx.send(Command::Reorder {
                                items: p.plan.items.clone(),
                                unresolved: p.unresolved.clone(),
                            });
                            versions_on_air.push(p);
                        }
                        Ok(Err(e)) => tracing::error!(error = %e, "the edited running order cannot be resolved; the old one plays on"),
                        Err(e) => tracing::error!(error = %e, "resolving the edited running order panicked"),
                    }
                }
                if resolving.is_none() {
                    match current_version(engine, show_id).await {
                        Ok(v) if v > known_version => {
                            known_version = v;
                            let engine = engine.clone();
                            resolving = Some(tokio::spawn(async move { prepare(&engine, show_id).await }));
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "the show's version not read"),
                    }
                }
            }
            _ = &mut stop, if !stopped => {
                stopped = true;
                let _ = command_tx.send(Command::End);
            }
        }
    };
    // Events still queued after the loop ended.
    while let Ok(event) = event_rx.try_recv() {
        if let Event::ProgramEnded { reason: r, .. } = &event {
            reason = Some(r.clone());
        }
        if let Err(e) = asrun::record(&engine.db, session, show_id, &event).await {
            tracing::error!(error = %e, "as-run log write failed");
        }
    }
    let status_now = status.lock().unwrap_or_else(|p| p.into_inner()).clone();
    asrun::heartbeat(&engine.db, session, &status_now).await?;
    drop(versions_on_air);
    match result {
        Ok(Ok(last)) => {
            let reason = reason.unwrap_or_else(|| "ended".into());
            asrun::end_session(&engine.db, session, "ended", &reason).await?;
            Ok(Outcome {
                session,
                status: last,
                reason,
                took_over: None,
            })
        }
        Ok(Err(e)) => {
            asrun::end_session(&engine.db, session, "failed", &e.to_string()).await?;
            Err(e.into())
        }
        Err(join) => {
            asrun::end_session(&engine.db, session, "failed", "the playout thread panicked")
                .await?;
            Err(anyhow::anyhow!("the playout thread panicked: {join}"))
        }
    }
}

async fn current_version(engine: &Engine, show_id: i64) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT version FROM shows WHERE id = $1")
            .bind(show_id)
            .fetch_one(&engine.db.pool)
            .await?,
    )
}

fn names(destinations: &[String]) -> Vec<String> {
    destinations
        .iter()
        .map(|d| super::output::public_name(d))
        .collect()
}

/// The show's session on air with a fresh heartbeat, if any.
async fn live_session(engine: &Engine, show_id: i64) -> anyhow::Result<Option<asrun::Session>> {
    let fresh = crate::now_ms() - engine.config.live.takeover_after_ms as i64;
    Ok(latest_on_air(engine, show_id)
        .await?
        .filter(|s| s.heartbeat_at >= fresh))
}

async fn latest_on_air(engine: &Engine, show_id: i64) -> anyhow::Result<Option<asrun::Session>> {
    Ok(asrun::sessions(&engine.db, show_id)
        .await?
        .into_iter()
        .find(|s| s.state == "on_air"))
}
