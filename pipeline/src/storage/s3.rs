//! The media store on an S3-compatible object store (the `object_store` crate): the shared
//! store of the multi-node mode, where studio servers and workers on other hosts see the same
//! objects. Objects keep their content address: `<prefix>media/ab/cd/<sha256>`.
//!
//! A local cache ([`LocalStore`] under `storage.cache_dir`) holds what this node put or read:
//! a put copies the file into the cache while hashing it and uploads from there (multipart
//! for large files, streaming, never whole in memory); a read downloads into the cache once,
//! checking the bytes against the digest, so a corrupt or truncated object is an error, never
//! a wrong file. `exists` and `size` ask the object store: the cache alone proves nothing.
//!
//! The trait is synchronous (callers run on blocking threads); the store drives its requests
//! on a small runtime of its own, so it works from any thread.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path as Key;
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt;

use super::media::{check_digest, check_scratch, Digest, LocalStore, MediaStore};

/// `storage.s3`: where the shared store is and how to sign in to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// The service's address, `http://127.0.0.1:9000` or `https://s3.example.org`. Empty: AWS
    /// itself (by region).
    pub endpoint: String,
    /// The bucket; it must exist.
    pub bucket: String,
    /// Default `us-east-1`.
    pub region: String,
    /// Credentials; set them through the environment
    /// (`GALA__STORAGE__S3__SECRET_ACCESS_KEY`), not in the file.
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Prepended to every key, for a bucket shared with other data. Default empty.
    pub prefix: String,
    /// Parts of large uploads, MiB (at least 5, S3's smallest part). Default 16.
    pub part_mib: u32,
    /// Longest a single request may take, seconds. Default 300.
    pub timeout_s: u64,
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            endpoint: String::new(),
            bucket: String::new(),
            region: "us-east-1".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            prefix: String::new(),
            part_mib: 16,
            timeout_s: 300,
        }
    }
}

/// The media store on S3 with a local read cache.
pub struct S3Store {
    remote: Arc<dyn ObjectStore>,
    cache: LocalStore,
    prefix: String,
    part_bytes: usize,
    runtime: Option<tokio::runtime::Runtime>,
    /// Where the store is, for messages.
    pub location: String,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Store({})", self.location)
    }
}

impl S3Store {
    /// Connects to the bucket of `cfg` (checking that it answers) with its cache at `cache`.
    pub fn open(cfg: &S3Config, cache: PathBuf) -> anyhow::Result<S3Store> {
        if cfg.bucket.is_empty() {
            bail!("storage.s3.bucket is empty: the S3 store needs a bucket");
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_access_key_id(&cfg.access_key_id)
            .with_secret_access_key(&cfg.secret_access_key)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(Duration::from_secs(cfg.timeout_s.max(1)))
                    .with_connect_timeout(Duration::from_secs(10))
                    .with_allow_http(cfg.endpoint.starts_with("http://")),
            )
            .with_retry(RetryConfig {
                max_retries: 5,
                retry_timeout: Duration::from_secs(120),
                ..RetryConfig::default()
            });
        if !cfg.endpoint.is_empty() {
            builder = builder
                .with_endpoint(cfg.endpoint.trim_end_matches('/'))
                .with_virtual_hosted_style_request(false);
        }
        let remote: Arc<dyn ObjectStore> = Arc::new(
            builder
                .build()
                .context("the S3 settings (storage.s3) are not usable")?,
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gala-s3")
            .enable_all()
            .build()
            .context("cannot start the object store's runtime")?;
        let location = format!(
            "s3 bucket {} at {}",
            cfg.bucket,
            if cfg.endpoint.is_empty() {
                "AWS"
            } else {
                &cfg.endpoint
            }
        );
        let store = S3Store {
            remote,
            cache: LocalStore::new(cache)?,
            prefix: cfg.prefix.clone(),
            part_bytes: (cfg.part_mib.max(5) as usize) << 20,
            runtime: Some(runtime),
            location,
        };
        store.check()?;
        Ok(store)
    }

    /// Lists one key of the bucket: the credentials and the bucket work.
    fn check(&self) -> anyhow::Result<()> {
        let remote = self.remote.clone();
        let prefix = Key::from(format!("{}media", self.prefix));
        self.run(async move {
            let mut list = remote.list(Some(&prefix));
            if let Some(first) = list.next().await {
                first?;
            }
            Ok(())
        })
        .with_context(|| format!("the {} does not answer", self.location))
    }

    fn key(&self, digest: &str) -> anyhow::Result<Key> {
        check_digest(digest)?;
        Ok(Key::from(format!(
            "{}media/{}/{}/{digest}",
            self.prefix,
            &digest[0..2],
            &digest[2..4]
        )))
    }

    /// Runs `fut` on the store's runtime and waits for it, from any thread.
    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = anyhow::Result<T>> + Send + 'static,
    ) -> anyhow::Result<T> {
        let runtime = self
            .runtime
            .as_ref()
            .context("the object store is closed")?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().context("the object store's runtime stopped")?
    }

    /// The object's size on the store, None when it is not there.
    fn head(&self, digest: &str) -> anyhow::Result<Option<u64>> {
        let (remote, key) = (self.remote.clone(), self.key(digest)?);
        self.run(async move {
            match remote.head(&key).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .with_context(|| format!("cannot ask the {} for object {digest}", self.location))
    }

    /// Uploads the cached object `digest` unless the store has it already.
    fn upload(&self, digest: &str) -> anyhow::Result<()> {
        let local = self.cache.local_path(digest)?;
        if let Some(size) = self.head(digest)? {
            if size == std::fs::metadata(&local)?.len() {
                return Ok(());
            }
            // A different length under a content address: a broken earlier write; replace it.
            tracing::warn!(digest, size, "replacing a damaged object in the store");
        }
        self.send_file(local, self.key(digest)?)
            .with_context(|| format!("cannot upload object {digest} to the {}", self.location))
    }

    /// Uploads the file at `local` under `key`: one request up to a part, multipart above.
    fn send_file(&self, local: PathBuf, key: Key) -> anyhow::Result<()> {
        let (remote, part) = (self.remote.clone(), self.part_bytes);
        let size = std::fs::metadata(&local)?.len();
        self.run(async move {
            if size <= part as u64 {
                // One request; the buffer is the file's size (a multipart writer's first block
                // would be a whole part, for a thumbnail).
                let bytes = tokio::fs::read(&local).await?;
                remote.put(&key, bytes.into()).await?;
                return Ok(());
            }
            let mut file = tokio::fs::File::open(&local).await?;
            let mut writer = BufWriter::with_capacity(remote, key, part);
            match tokio::io::copy(&mut file, &mut writer).await {
                Ok(_) => writer.shutdown().await?,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e.into());
                }
            }
            Ok(())
        })
    }

    fn scratch_key(&self, name: &str) -> anyhow::Result<Key> {
        check_scratch(name)?;
        Ok(Key::from(format!("{}scratch/{name}", self.prefix)))
    }

    /// Streams the object under `key` into `sink` on the calling thread, the store's runtime
    /// reading it a few chunks ahead.
    fn fetch(&self, key: Key, sink: &mut dyn Write) -> anyhow::Result<()> {
        let runtime = self
            .runtime
            .as_ref()
            .context("the object store is closed")?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<anyhow::Result<bytes::Bytes>>(4);
        let remote = self.remote.clone();
        runtime.spawn(async move {
            let mut stream = match remote.get(&key).await {
                Ok(got) => got.into_stream(),
                Err(e) => {
                    let _ = tx.send(Err(e.into()));
                    return;
                }
            };
            while let Some(chunk) = stream.next().await {
                // A closed channel: the reader gave up (its sink failed).
                if tx.send(chunk.map_err(Into::into)).is_err() {
                    return;
                }
            }
        });
        for chunk in rx {
            sink.write_all(&chunk?)?;
        }
        Ok(())
    }

    /// Downloads `digest` into the cache, checking its bytes against the digest.
    fn download(&self, digest: &str) -> anyhow::Result<()> {
        let mut staged = self.cache.staging_file()?;
        let mut sink = Hashing {
            inner: staged.as_file_mut(),
            hasher: Sha256::new(),
        };
        if let Err(e) = self.fetch(self.key(digest)?, &mut sink) {
            if let Some(object_store::Error::NotFound { .. }) = e.downcast_ref() {
                bail!(
                    "media object {digest} is missing from the {}",
                    self.location
                );
            }
            return Err(e.context(format!(
                "cannot download object {digest} from the {}",
                self.location
            )));
        }
        let got = hex::encode(sink.hasher.finalize());
        if got != digest {
            bail!(
                "media object {digest} in the {} is corrupt: its bytes hash to {got}",
                self.location
            );
        }
        staged.as_file().sync_all()?;
        self.cache.publish(staged, digest)
    }
}

/// Writes through to `inner`, hashing what passes.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl MediaStore for S3Store {
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
        self.head(digest)?.with_context(|| {
            format!(
                "media object {digest} is missing from the {}",
                self.location
            )
        })
    }
    fn shared(&self) -> bool {
        true
    }

    fn put_scratch(&self, name: &str, path: &Path) -> anyhow::Result<()> {
        self.send_file(path.to_path_buf(), self.scratch_key(name)?)
            .with_context(|| format!("cannot upload scratch file {name} to the {}", self.location))
    }

    fn get_scratch(&self, name: &str, sink: &mut dyn Write) -> anyhow::Result<()> {
        self.fetch(self.scratch_key(name)?, sink)
            .with_context(|| format!("cannot read scratch file {name} from the {}", self.location))
    }

    fn list_scratch(&self, prefix: &str) -> anyhow::Result<Vec<(String, u64)>> {
        let (remote, key) = (self.remote.clone(), self.scratch_key(prefix)?);
        let base = format!("{}/", key.as_ref().trim_end_matches('/'));
        let mut found = self.run(async move {
            let mut out = Vec::new();
            let mut list = remote.list(Some(&key));
            while let Some(meta) = list.next().await {
                let meta = meta?;
                if let Some(rest) = meta.location.as_ref().strip_prefix(base.as_str()) {
                    out.push((rest.to_string(), meta.size));
                }
            }
            Ok(out)
        })?;
        found.sort();
        Ok(found)
    }

    fn remove_scratch(&self, prefix: &str) -> anyhow::Result<()> {
        let base = format!("{}/", prefix.trim_end_matches('/'));
        let keys: Vec<Key> = self
            .list_scratch(prefix)?
            .iter()
            .map(|(n, _)| self.scratch_key(&format!("{base}{n}")))
            .collect::<anyhow::Result<_>>()?;
        let remote = self.remote.clone();
        self.run(async move {
            for key in keys {
                match remote.delete(&key).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        })
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        // Never blocks, so the store may be dropped inside an async task.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
