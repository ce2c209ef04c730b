//! `gala bench chain`: the whole ingest chain with the configured worker pool; with
//! `--remote`, as many clips again (of their own) through a remote worker over the studio's
//! HTTP API, side by side.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use gala_pipeline::ingest::clips::{self, ClipState};
use gala_pipeline::ingest::steps;
use gala_pipeline::{Config, Engine};

use super::{make_clips, peak_rss};

pub async fn bench_chain(
    config: Config,
    n: usize,
    size: &str,
    seconds: f64,
    remote: bool,
) -> anyhow::Result<ExitCode> {
    let dir = config.data_dir.join("bench-chain");
    let (size_owned, d) = (size.to_string(), dir.clone());
    // The remote run gets clips of its own (other tones), so that no output is in the store
    // already.
    let made = if remote { 2 * n } else { n };
    println!("chain bench: generating {made} clips of {seconds} s at {size} …");
    let mut clips =
        tokio::task::spawn_blocking(move || make_clips(&d, made, &size_owned, seconds)).await??;
    let remote_clips = clips.split_off(n);
    let workers = config.jobs.workers as usize;
    println!(
        "ingesting through the whole chain with {workers} workers → {}x{}@{} …",
        config.house.width, config.house.height, config.house.fps
    );
    let engine = Engine::open(config.clone()).await?;
    let t = Instant::now();
    let done = crate::cmd::ingest::ingest_files(&engine, &clips, workers, false).await?;
    let local = t.elapsed().as_secs_f64();
    let ready = done.iter().filter(|c| c.state == ClipState::Ready).count();
    report("local worker pool (database)", ready, n, seconds, local);
    println!(
        "peak memory of this process (the worker pool): {}",
        peak_rss()
    );
    if remote {
        let (ready, elapsed) = remote_run(config, &remote_clips, workers).await?;
        report("remote worker (HTTP API)", ready, n, seconds, elapsed);
        println!("remote / local time: {:.2}", elapsed / local);
    }
    Ok(ExitCode::SUCCESS)
}

fn report(what: &str, ready: usize, n: usize, seconds: f64, elapsed: f64) {
    println!(
        "{what}: {ready}/{n} clips ready in {elapsed:.1} s: {:.1} clips per minute, {:.2}x real time",
        n as f64 * 60.0 / elapsed,
        n as f64 * seconds / elapsed
    );
}

/// The clips through a studio on 127.0.0.1 (`bench::studio`, on the same database) and one
/// remote worker with `slots` slots and its own data directory. Objects go through the
/// studio unless the configuration has an S3 store.
async fn remote_run(
    mut config: Config,
    files: &[PathBuf],
    slots: usize,
) -> anyhow::Result<(usize, f64)> {
    let token = format!("bench-{}", std::process::id());
    config.studio.worker_token = token.clone();
    let studio = super::studio::start(config.clone(), Some(config.data_dir.clone()), 0).await?;
    let mut worker_config = config.clone();
    worker_config.data_dir = config.data_dir.join("bench-remote-worker");
    worker_config.database.url = "postgres://nobody@127.0.0.1:1/none".into();
    let opts = gala_studio::workers::RemoteOptions {
        studio: studio.base.clone(),
        token,
        name: "bench".into(),
        slots: slots.max(1) as u32,
        drain: Duration::from_secs(10),
    };
    println!(
        "remote worker ({slots} slots) → studio at {} …",
        studio.base
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(gala_studio::workers::run(worker_config, opts, async {
        stopped.await.ok();
    }));
    let t = Instant::now();
    let engine = &studio.state.engine;
    let env = engine.ingest_env();
    let mut ids = Vec::with_capacity(files.len());
    for (i, path) in files.iter().enumerate() {
        ids.push(steps::submit_file(&env, path, &format!("remote-{i}")).await?);
    }
    let done = loop {
        let clips = clips::get_many(&engine.db, &ids).await?;
        if clips.len() == ids.len() && clips.iter().all(|c| c.state.is_final()) {
            break clips;
        }
        if worker.is_finished() {
            anyhow::bail!("the remote worker stopped: {:?}", worker.await?);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let elapsed = t.elapsed().as_secs_f64();
    let _ = stop.send(());
    worker.await??;
    studio.stop().await?;
    let ready = done.iter().filter(|c| c.state == ClipState::Ready).count();
    Ok((ready, elapsed))
}
