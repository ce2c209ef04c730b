//! The engine's handles built from one [`Config`]: database, media store and job queue. The
//! CLI and the studio each open one and pass it down; nothing here is global.

use std::sync::Arc;

use crate::analysis::jobs::AnalysisEnv;
use crate::analysis::models::{ConfiguredLoader, ModelLoader, ModelSet};
use crate::config::Config;
use crate::ingest::steps::{self, IngestEnv};
use crate::jobs::remote::Dispatch;
use crate::jobs::split::{Capabilities, Compute};
use crate::jobs::{Queue, WorkerPool};
use crate::storage::db::Db;
use crate::storage::media::MediaStore;

#[derive(Clone)]
pub struct Engine {
    pub config: Arc<Config>,
    pub db: Db,
    pub store: Arc<dyn MediaStore>,
    pub queue: Queue,
}

impl Engine {
    /// Creates the data directory, connects to the database (migrating it) and opens the
    /// configured media store (`data_dir/media`, or the shared S3 bucket).
    pub async fn open(config: Config) -> anyhow::Result<Engine> {
        std::fs::create_dir_all(&config.data_dir)?;
        let db = Db::connect(&config.database_url(), config.database.max_connections).await?;
        let store_config = config.storage.clone();
        let data_dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || store_config.open(&data_dir)).await??;
        let queue = Queue::new(db.clone(), config.jobs.clone());
        Ok(Engine {
            config: Arc::new(config),
            db,
            store,
            queue,
        })
    }

    pub fn ingest_env(&self) -> IngestEnv {
        IngestEnv {
            db: self.db.clone(),
            store: self.store.clone(),
            config: self.config.clone(),
        }
    }

    /// What the analysis jobs need, with models made by `loader`.
    pub fn analysis_env(&self, loader: Arc<dyn ModelLoader>) -> AnalysisEnv {
        AnalysisEnv::new(
            self.db.clone(),
            self.store.clone(),
            self.config.clone(),
            loader,
        )
    }

    /// The studio's side of remote workers: the ledger halves of the split kinds.
    pub fn dispatch(&self) -> Dispatch {
        let mut ledgers = crate::ingest::ledger::ledgers(self.ingest_env());
        ledgers.extend(crate::analysis::jobs::ledgers(
            self.db.clone(),
            self.config.clone(),
            Arc::new(crate::analysis::dupcache::DuplicateCache::new()),
        ));
        ledgers.push(self.render_ledger());
        Dispatch::new(self.queue.clone(), ledgers)
    }

    fn render_ledger(&self) -> Arc<dyn crate::jobs::split::Ledger> {
        crate::render::job::ledger(self.db.clone(), self.store.clone(), self.config.clone())
    }

    /// A worker pool that runs every job kind this engine knows (ingest, analysis, render),
    /// `concurrency` at a time. The models are loaded by this build's [`ConfiguredLoader`].
    pub fn worker_pool(&self, concurrency: usize, name: &str) -> WorkerPool {
        self.worker_pool_with(concurrency, name, Arc::new(ConfiguredLoader))
    }

    /// [`worker_pool`](Self::worker_pool) with the models made by `loader`.
    pub fn worker_pool_with(
        &self,
        concurrency: usize,
        name: &str,
        loader: Arc<dyn ModelLoader>,
    ) -> WorkerPool {
        let mut handlers = steps::handlers(self.ingest_env());
        handlers.extend(crate::analysis::jobs::handlers(self.analysis_env(loader)));
        handlers.extend(crate::jobs::split::Local::pair(
            vec![self.render_ledger()],
            vec![crate::render::job::compute(
                self.store.clone(),
                &self.config,
            )],
        ));
        WorkerPool::new(self.queue.clone(), handlers, concurrency, name.to_string())
    }
}

/// The compute halves a remote worker runs: media through `store`, files being made under
/// `data_dir/tmp`, the models of `config` (made by the production loader, loaded on first
/// use and kept).
pub fn remote_computes(store: Arc<dyn MediaStore>, config: &Config) -> Vec<Arc<dyn Compute>> {
    let mut computes = crate::ingest::compute::computes(store.clone(), config.data_dir.join("tmp"));
    let models = ModelSet::new(Arc::new(ConfiguredLoader), config.models.clone());
    computes.extend(crate::analysis::jobs::computes(
        store.clone(),
        Arc::new(std::sync::Mutex::new(models)),
    ));
    computes.push(crate::render::job::compute(store, config));
    computes
}

/// The kinds a remote worker can compute.
pub fn remote_kinds() -> Vec<String> {
    let mut kinds: Vec<String> = crate::ingest::steps::KINDS
        .iter()
        .map(|k| k.to_string())
        .collect();
    kinds.extend(crate::analysis::jobs::SPLIT_KINDS.map(String::from));
    kinds.push(crate::render::job::KIND.to_string());
    kinds
}

/// What a worker with this configuration can run: `kinds`, the model roles it has configured,
/// and a GPU when its models run on one (`models.device` other than `cpu`).
pub fn capabilities(config: &Config, kinds: Vec<String>, slots: u32) -> Capabilities {
    Capabilities {
        kinds,
        models: config
            .models
            .sources()
            .into_iter()
            .filter(|s| s.is_configured())
            .map(|s| s.role.to_string())
            .collect(),
        gpu: !config.models.device.trim().eq_ignore_ascii_case("cpu"),
        slots,
    }
}
