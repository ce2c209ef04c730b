//! Remote workers over the studio's HTTP API, like PeerTube's remote runners: a worker on
//! another machine (a rented GPU, say) registers with the studio's worker token, says what it
//! can run, leases only jobs it can run, heartbeats, delivers outputs and hands unfinished jobs
//! back when it stops. It needs no database credentials and no shared disk: objects go through
//! the shared S3 store when it has one, else through the studio ([`store::StudioStore`]).
//!
//! - [`api`]: the studio's routes (`/api/workers/…`), over `jobs::remote::Dispatch`;
//! - [`registry`]: the `workers` table;
//! - [`client`]: the worker's side of the API ([`client::HttpStudio`]);
//! - [`store`]: the media store through the studio;
//! - [`run`]: `gala worker --studio URL`.

pub mod api;
pub mod client;
pub mod registry;
pub mod store;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use gala_pipeline::config::Config;
use gala_pipeline::jobs::remote::{RemotePool, RemoteTiming};
use gala_pipeline::storage::media::MediaStore;
use tower_http::limit::RequestBodyLimitLayer;

use crate::state::AppState;

/// The workers' routes. JSON bodies are small; objects bring their own limit.
pub fn router(max_body: usize) -> Router<AppState> {
    let calls = Router::new()
        .route("/api/workers/register", post(api::register))
        .route("/api/workers/lease", post(api::lease))
        .route("/api/workers/jobs/{id}/heartbeat", post(api::heartbeat))
        .route("/api/workers/jobs/{id}/complete", post(api::complete))
        .route("/api/workers/jobs/{id}/fail", post(api::fail))
        .route("/api/workers/jobs/{id}/release", post(api::release))
        .route("/api/workers/stopped", post(api::stopped))
        .layer(RequestBodyLimitLayer::new(max_body));
    let objects = Router::new().route(
        "/api/workers/objects/{digest}",
        get(api::get_object).put(api::put_object),
    );
    calls.merge(objects)
}

/// How `gala worker --studio` runs.
#[derive(Clone)]
pub struct RemoteOptions {
    pub studio: String,
    pub token: String,
    pub name: String,
    pub slots: u32,
    /// How long running jobs may finish after SIGTERM before they are handed back.
    pub drain: Duration,
}

/// Registers with the studio and runs the compute halves it will lease until `shutdown`;
/// then drains and tells the studio it stopped.
pub async fn run(
    config: Config,
    opts: RemoteOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let kinds: Vec<String> = gala_pipeline::engine::remote_kinds();
    let caps = gala_pipeline::engine::capabilities(&config, kinds, opts.slots);
    let (studio, registered) =
        client::HttpStudio::register(&opts.studio, &opts.token, &opts.name, &caps).await?;
    tracing::info!(
        worker_id = registered.worker_id,
        kinds = ?registered.kinds,
        "registered with the studio"
    );
    if registered.kinds.is_empty() {
        anyhow::bail!("the studio has no jobs this worker can run (capabilities {caps:?})");
    }
    let store = open_store(&config, &studio).await?;
    let computes = gala_pipeline::engine::remote_computes(store, &config);
    let jobs = &config.jobs;
    let timing = RemoteTiming {
        // The studio's lease decides how often to renew it.
        heartbeat_every: Duration::from_secs(
            registered
                .heartbeat_s
                .clamp(1, registered.lease_s.max(2) / 2),
        ),
        poll: Duration::from_millis(jobs.poll_ms.max(50)),
        grace: opts.drain,
        deliver_for: Duration::from_secs(registered.lease_s.max(10) * 4),
    };
    let pool = RemotePool::new(
        Arc::new(studio.clone()),
        computes,
        opts.slots,
        &opts.name,
        timing,
        &jobs.limits,
    );
    pool.run(shutdown).await?;
    if let Err(e) = studio.stopped().await {
        tracing::warn!("cannot tell the studio this worker stopped: {e:#}");
    }
    Ok(())
}

/// The shared S3 store when this worker is configured with one, else the studio's objects.
async fn open_store(
    config: &Config,
    studio: &client::HttpStudio,
) -> anyhow::Result<Arc<dyn MediaStore>> {
    let (config, base, token) = (
        config.clone(),
        studio.base().to_string(),
        studio.token().to_string(),
    );
    tokio::task::spawn_blocking(move || -> anyhow::Result<Arc<dyn MediaStore>> {
        if config.storage.kind == "s3" {
            return config.storage.open(&config.data_dir);
        }
        let cache = config.data_dir.join("cache");
        Ok(Arc::new(store::StudioStore::new(&base, &token, cache)?))
    })
    .await?
}
