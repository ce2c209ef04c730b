//! The media store of a remote worker that has no shared (S3) store: objects come from and go
//! to the studio's `/api/workers/objects/{sha256}`, streamed, through a local cache. Reads
//! are checked against the digest; the studio checks every write the same way.
//!
//! The calls block (the store trait is synchronous and is called from blocking threads), so
//! this uses reqwest's blocking client; build the store off the async threads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use gala_pipeline::storage::media::{Digest, LocalStore, MediaStore};
use reqwest::blocking::Client;
use reqwest::StatusCode;

pub struct StudioStore {
    http: Client,
    base: String,
    token: String,
    cache: LocalStore,
}

impl std::fmt::Debug for StudioStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StudioStore({})", self.base)
    }
}

impl StudioStore {
    /// A store on the studio at `base`, authenticated with the worker's token, caching under
    /// `cache`. Blocks: call it from a blocking thread.
    pub fn new(base: &str, token: &str, cache: PathBuf) -> anyhow::Result<StudioStore> {
        Ok(StudioStore {
            http: Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(None)
                .build()?,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            cache: LocalStore::new(cache)?,
        })
    }

    fn url(&self, digest: &str) -> anyhow::Result<String> {
        if !gala_pipeline::storage::media::is_digest(digest) {
            bail!("{digest:?} is not a sha256 digest");
        }
        Ok(format!("{}/api/workers/objects/{digest}", self.base))
    }

    /// The object's size at the studio, None when it has none.
    fn head(&self, digest: &str) -> anyhow::Result<Option<u64>> {
        let response = self
            .http
            .head(self.url(digest)?)
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30))
            .send()
            .with_context(|| format!("the studio at {} does not answer", self.base))?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(response.content_length()),
            s => bail!("the studio answered {s} for object {digest}"),
        }
    }

    /// Downloads `digest` into the cache, checking the bytes.
    fn download(&self, digest: &str) -> anyhow::Result<()> {
        let mut response = self
            .http
            .get(self.url(digest)?)
            .bearer_auth(&self.token)
            .send()
            .with_context(|| format!("the studio at {} does not answer", self.base))?;
        match response.status() {
            StatusCode::NOT_FOUND => bail!("the studio has no media object {digest}"),
            s if !s.is_success() => bail!("the studio answered {s} for object {digest}"),
            _ => {}
        }
        let got = self
            .cache
            .put_reader(&mut response)
            .with_context(|| format!("cannot download object {digest} from the studio"))?;
        if got != digest {
            // Cached under the digest of what arrived, which is harmless; refuse it here.
            bail!("media object {digest} from the studio is corrupt: its bytes hash to {got}");
        }
        Ok(())
    }

    /// Sends the cached object `digest` unless the studio has it already.
    fn upload(&self, digest: &str) -> anyhow::Result<()> {
        let local = self.cache.local_path(digest)?;
        let size = std::fs::metadata(&local)?.len();
        if self.head(digest)? == Some(size) {
            return Ok(());
        }
        let file = std::fs::File::open(&local)?;
        let response = self
            .http
            .put(self.url(digest)?)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_LENGTH, size)
            .body(reqwest::blocking::Body::sized(file, size))
            .send()
            .with_context(|| format!("cannot send object {digest} to the studio"))?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().unwrap_or_default();
            bail!("the studio refused object {digest}: {status} {text}");
        }
        Ok(())
    }
}

impl MediaStore for StudioStore {
    fn put_file(&self, path: &Path) -> anyhow::Result<Digest> {
        let digest = self.cache.put_file(path)?;
        self.upload(&digest)?;
        Ok(digest)
    }

    fn put_bytes(&self, bytes: &[u8]) -> anyhow::Result<Digest> {
        let digest = self.cache.put_bytes(bytes)?;
        self.upload(&digest)?;
        Ok(digest)
    }

    fn local_path(&self, digest: &str) -> anyhow::Result<PathBuf> {
        if !self.cache.exists(digest)? {
            self.download(digest)?;
        }
        self.cache.local_path(digest)
    }

    fn exists(&self, digest: &str) -> anyhow::Result<bool> {
        Ok(self.head(digest)?.is_some())
    }

    fn size(&self, digest: &str) -> anyhow::Result<u64> {
        self.head(digest)?
            .with_context(|| format!("the studio has no media object {digest}"))
    }

    fn shared(&self) -> bool {
        true
    }

    fn put_scratch(&self, _name: &str, _path: &Path) -> anyhow::Result<()> {
        bail!("a remote worker keeps no scratch files at the studio")
    }

    fn get_scratch(&self, _name: &str, _sink: &mut dyn Write) -> anyhow::Result<()> {
        bail!("a remote worker keeps no scratch files at the studio")
    }

    fn list_scratch(&self, _prefix: &str) -> anyhow::Result<Vec<(String, u64)>> {
        Ok(Vec::new())
    }

    fn remove_scratch(&self, _prefix: &str) -> anyhow::Result<()> {
        Ok(())
    }
}
