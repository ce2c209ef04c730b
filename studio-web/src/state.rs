//! What every handler shares: the engine (database, store, queue, configuration), the message
//! catalogs and the key that signs logged-out CSRF cookies. Built once by whoever starts the
//! studio and passed down; there are no globals.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRef;
use gala_pipeline::Engine;

use crate::i18n::I18n;
use crate::upload::UploadService;

#[derive(Clone)]
pub struct AppState {
    /// Database, media store, job queue and the configuration (`engine.config`).
    pub engine: Engine,
    /// The English and Chinese message catalogs, parsed once.
    pub i18n: Arc<I18n>,
    /// Signs the double-submit CSRF cookie of logged-out forms; shared by all studio servers
    /// through the database so that any of them accepts another's forms.
    pub csrf_key: Arc<[u8; 32]>,
    /// The static files served under `/assets`.
    pub assets_dir: PathBuf,
    /// Resumable uploads; a finished one becomes a submission's version
    /// ([`crate::submissions::handoff`]).
    pub uploads: UploadService,
    /// Sends reset links when `studio.smtp` is configured.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
    /// Password hashing, a few at a time.
    pub hasher: Arc<crate::auth::password::Hasher>,
    /// Shows this server is putting on air (resolving before their session exists), so that a
    /// second "Go live" does not start a second playout.
    pub live_starting: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
    /// The host's voice, loaded on the first host line a director writes (to measure it).
    pub host_voice: Arc<tokio::sync::OnceCell<HostVoice>>,
    /// Remote workers' leases: the ledger halves of the split job kinds.
    pub dispatch: Arc<gala_pipeline::jobs::remote::Dispatch>,
}

/// The configured voice, or why there is none (a card then keeps the length it was given).
pub type HostVoice = Result<Arc<dyn gala_pipeline::voice::Voice>, String>;

impl FromRef<AppState> for UploadService {
    fn from_ref(state: &AppState) -> UploadService {
        state.uploads.clone()
    }
}

impl AppState {
    /// Builds the state for `engine`: loads (or makes, on first start) the shared keys.
    pub async fn new(engine: Engine) -> anyhow::Result<AppState> {
        let csrf_key = crate::auth::csrf::load_or_create_key(&engine.db).await?;
        let uploads = UploadService::new(
            engine.db.clone(),
            engine.config.clone(),
            crate::submissions::handoff(&engine),
        )
        .with_store(engine.store.clone());
        let dispatch = Arc::new(engine.dispatch());
        let mailer = crate::mail::Mailer::from_config(&engine.config.studio.smtp)?.map(Arc::new);
        Ok(AppState {
            hasher: Arc::default(),
            mailer,
            uploads,
            engine,
            i18n: Arc::new(I18n::load()?),
            csrf_key: Arc::new(csrf_key),
            assets_dir: default_assets_dir(),
            live_starting: Arc::default(),
            host_voice: Arc::default(),
            dispatch,
        })
    }

    pub fn config(&self) -> &gala_pipeline::config::StudioConfig {
        &self.engine.config.studio
    }

    /// The host's voice (`models.voice`, else espeak-ng), loaded once off the async threads.
    pub async fn host_voice(&self) -> HostVoice {
        let models = self.engine.config.models.clone();
        self.host_voice
            .get_or_init(|| async move {
                let loaded = tokio::task::spawn_blocking(move || {
                    gala_pipeline::voice::voice_for(&models).map(Arc::from)
                })
                .await;
                match loaded {
                    Ok(Ok(voice)) => Ok(voice),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            })
            .await
            .clone()
    }
}

/// The repository's `assets/` when running from a build tree, else `assets` in the working
/// directory.
fn default_assets_dir() -> PathBuf {
    let built = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets"));
    if built.is_dir() {
        built
    } else {
        PathBuf::from("assets")
    }
}
