//! The upload feature's logic between HTTP and the database: creation within limits and
//! quotas, the writer lock, receiving a chunk, the hand-off of finished uploads, termination,
//! and the periodic clean-up of expired ones.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use futures_util::StreamExt;
use gala_pipeline::storage::Db;
use gala_pipeline::Config;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::error::UploadError;
use super::protocol::{self, Checksum, Metadata};
use super::store::{self, State, UploadRow};
use super::writer::{self, Chunk, Piece, Written};
use super::{CompletedUpload, OnComplete, UploadOwner};

/// How long a writer's lock lasts without renewal: after a crash, the upload can be written
/// again this long after the last renewal (tus clients retry a 423 meanwhile).
pub const LOCK_LEASE_MS: i64 = 20_000;
/// How often a writer renews its lock while a body streams in.
const LOCK_RENEW: Duration = Duration::from_secs(5);
/// A body that sends nothing this long is treated as interrupted.
const BODY_IDLE: Duration = Duration::from_secs(60);
/// Failed hand-offs before an upload is left `failed` for an operator.
const MAX_HANDOFF_ATTEMPTS: i64 = 10;
/// Whole-file hash states kept in memory between chunks; beyond this, one is dropped and
/// recomputed from disk when its upload continues.
const HASH_CACHE_MAX: usize = 256;
/// Rows looked at per clean-up round.
const CLEANUP_BATCH: i64 = 100;

/// The current time in Unix milliseconds; tests pass their own to drive expiry.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Everything the upload routes need. Cheap to clone; embed it in the app state and expose it
/// with `FromRef`.
#[derive(Clone)]
pub struct UploadService {
    db: Db,
    config: Arc<Config>,
    on_complete: OnComplete,
    /// Time source of expiry and locks.
    clock: Clock,
    /// Whole-file sha256 states by upload id and offset, so each chunk continues the hash
    /// instead of reading the file again. Lost on restart: then the prefix is re-read once.
    hashes: Arc<Mutex<HashMap<String, (i64, Sha256)>>>,
    /// The shared media store, when there is one: committed chunks go there, so that any
    /// studio server can resume an upload ([`super::shared`]).
    shared: Option<Arc<dyn gala_pipeline::storage::MediaStore>>,
}

/// A writer's hold on an upload row. Dropped while armed (the request was cancelled), it
/// releases the lock from a spawned task, once its blocking writer has stopped touching the
/// file (so that the next writer never races a leftover one).
pub struct HeldLock {
    db: Db,
    id: String,
    token: String,
    armed: bool,
    /// Held by the blocking writer while it runs.
    busy: Arc<tokio::sync::Mutex<()>>,
}

impl HeldLock {
    async fn release(mut self) {
        self.armed = false;
        if let Err(e) = store::release_lock(&self.db, &self.id, &self.token).await {
            tracing::warn!(upload = %self.id, error = format!("{e:#}"), "cannot release a lock");
        }
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (db, id, token) = (self.db.clone(), self.id.clone(), self.token.clone());
        let busy = self.busy.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _writer_done = busy.lock().await;
                let _ = store::release_lock(&db, &id, &token).await;
            });
        }
    }
}

/// The result of asking to write at an offset.
pub enum Claim {
    Locked(HeldLock, Box<UploadRow>),
    /// Every byte is already in; the upload's length.
    AlreadyComplete(i64),
}

impl UploadService {
    pub fn new(db: Db, config: Arc<Config>, on_complete: OnComplete) -> UploadService {
        UploadService {
            db,
            config,
            on_complete,
            clock: Arc::new(gala_pipeline::now_ms),
            hashes: Arc::default(),
            shared: None,
        }
    }

    /// Shares committed chunks through `store` when other servers see it (S3).
    pub fn with_store(
        mut self,
        store: Arc<dyn gala_pipeline::storage::MediaStore>,
    ) -> UploadService {
        self.shared = store.shared().then_some(store);
        self
    }

    /// Runs `f` with the shared store on a blocking thread; nothing without one.
    async fn with_shared(
        &self,
        f: impl FnOnce(&dyn gala_pipeline::storage::MediaStore) -> anyhow::Result<()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Some(store) = self.shared.clone() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || f(store.as_ref())).await?
    }

    /// Replaces the clock (tests drive expiry with it).
    pub fn with_clock(mut self, clock: Clock) -> UploadService {
        self.clock = clock;
        self
    }

    /// Where upload files live: `data_dir/uploads`.
    pub fn upload_dir(&self) -> PathBuf {
        self.config.data_dir.join("uploads")
    }

    /// The file of an upload. `id` has been checked to be 32 hex digits.
    pub(crate) fn part_path(&self, id: &str) -> PathBuf {
        self.upload_dir().join(format!("{id}.part"))
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Creates an upload of `length` bytes after checking the size, the declared type and the
    /// owner's quotas; its file exists, empty, when this returns.
    pub(crate) async fn create(
        &self,
        owner: UploadOwner,
        length: i64,
        metadata: &Metadata,
    ) -> Result<UploadRow, UploadError> {
        let limits = &self.config.uploads;
        let filetype = metadata.filetype();
        self.check_file(length, filetype.as_deref())?;
        self.check_quota(owner, length).await?;
        let id = format!("{:032x}", rand::random::<u128>());
        let filename = metadata.filename();
        let json = serde_json::to_string(&metadata.0).context("metadata to JSON")?;
        let now = self.now();
        let expires_at = now + (limits.expiry_h as i64).saturating_mul(3_600_000);
        let new = store::NewUpload {
            id: &id,
            owner_id: owner.user_id,
            length,
            filename: filename.as_deref(),
            filetype: filetype.as_deref(),
            metadata: &json,
            now,
            expires_at,
        };
        let quota_files = limits.quota_files.min(i64::MAX as u64) as i64;
        let quota_bytes = limits.quota_bytes.min(i64::MAX as u64) as i64;
        if !store::insert_within_quota(&self.db, &new, quota_files, quota_bytes).await? {
            // Another creation of the same user got in between the check and the insert.
            self.check_quota(owner, length).await?;
            return Err(UploadError::TooLarge(
                "Your upload quota is used up.".into(),
            ));
        }
        self.create_file(&id).await?;
        let row = store::find_owned(&self.db, &id, owner.user_id).await?;
        Ok(row.context("a new upload vanished")?)
    }

    /// The size and declared type of a new upload against the limits.
    fn check_file(&self, length: i64, filetype: Option<&str>) -> Result<(), UploadError> {
        let limits = &self.config.uploads;
        if length == 0 {
            return Err(UploadError::bad("The file is empty."));
        }
        if length as u64 > limits.max_bytes {
            let message = protocol::too_large_message(length as u64, limits.max_bytes);
            return Err(UploadError::TooLarge(message));
        }
        protocol::check_type(&limits.allowed_types, filetype)
    }

    async fn check_quota(&self, owner: UploadOwner, length: i64) -> Result<(), UploadError> {
        let limits = &self.config.uploads;
        let (count, used) = store::usage(&self.db, owner.user_id).await?;
        if count as u64 >= limits.quota_files {
            let message = protocol::quota_files_message(count as u64, limits.quota_files);
            return Err(UploadError::TooLarge(message));
        }
        if used as u64 + length as u64 > limits.quota_bytes {
            let message =
                protocol::quota_bytes_message(length as u64, used as u64, limits.quota_bytes);
            return Err(UploadError::TooLarge(message));
        }
        Ok(())
    }

    async fn create_file(&self, id: &str) -> anyhow::Result<()> {
        let dir = self.upload_dir();
        tokio::fs::create_dir_all(&dir)
            .await
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path = self.part_path(id);
        tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(())
    }

    /// The owner's upload, or 404 (missing or someone else's) / 410 (expired, terminated).
    pub(crate) async fn find(
        &self,
        id: &str,
        owner: UploadOwner,
    ) -> Result<UploadRow, UploadError> {
        let row = store::find_owned(&self.db, id, owner.user_id).await?;
        let row = row.ok_or(UploadError::NotFound)?;
        match row.state {
            State::Expired | State::Terminated => Err(UploadError::Gone),
            State::Receiving if row.expires_at <= self.now() => Err(UploadError::Gone),
            _ => Ok(row),
        }
    }

    /// Takes the writer lock of the owner's upload at the client's `offset`.
    pub(crate) async fn lock(
        &self,
        id: &str,
        owner: UploadOwner,
        offset: i64,
    ) -> Result<Claim, UploadError> {
        let token = format!("{:032x}", rand::random::<u128>());
        let now = self.now();
        let until = now + LOCK_LEASE_MS;
        let got =
            store::lock_at_offset(&self.db, id, owner.user_id, offset, &token, now, until).await?;
        let row = store::find_owned(&self.db, id, owner.user_id).await?;
        if got {
            let lock = HeldLock {
                db: self.db.clone(),
                id: id.to_string(),
                token,
                armed: true,
                busy: Arc::default(),
            };
            let row = row.context("a locked upload vanished")?;
            return Ok(Claim::Locked(lock, Box::new(row)));
        }
        match self.refusal(row.as_ref(), offset) {
            UploadError::Complete if row.as_ref().is_some_and(|r| r.length == offset) => {
                Ok(Claim::AlreadyComplete(offset))
            }
            refusal => Err(refusal),
        }
    }

    /// Why a write at `offset` was refused.
    fn refusal(&self, row: Option<&UploadRow>, offset: i64) -> UploadError {
        let Some(row) = row else {
            return UploadError::NotFound;
        };
        match row.state {
            State::Expired | State::Terminated => UploadError::Gone,
            State::Receiving if row.expires_at <= self.now() => UploadError::Gone,
            State::Completing | State::Finished | State::Failed => UploadError::Complete,
            State::Receiving if row.offset != offset => UploadError::OffsetMismatch {
                expected: row.offset,
                got: offset,
            },
            State::Receiving => UploadError::Locked,
        }
    }

    /// Lets go of a lock without writing (a request refused after locking).
    pub(crate) async fn unlock(&self, lock: HeldLock) {
        lock.release().await;
    }

    /// Streams one chunk into the locked upload and commits it; hands the upload off when it
    /// is complete. Returns the new offset.
    pub(crate) async fn receive(
        &self,
        lock: HeldLock,
        upload: &UploadRow,
        body: Body,
        checksum: Option<Checksum>,
    ) -> Result<i64, UploadError> {
        match self.write_and_commit(&lock, upload, body, checksum).await {
            Ok(Committed::Partial(offset)) => {
                lock.disarm();
                Ok(offset)
            }
            Ok(Committed::Complete(sha256)) => {
                let token = lock.token.clone();
                lock.disarm();
                self.hand_off(upload, &token, sha256).await;
                Ok(upload.length)
            }
            Err(e) => {
                lock.release().await;
                Err(e)
            }
        }
    }

    async fn write_and_commit(
        &self,
        lock: &HeldLock,
        upload: &UploadRow,
        body: Body,
        checksum: Option<Checksum>,
    ) -> Result<Committed, UploadError> {
        let prefix_hash = self.take_hash(&upload.id, upload.offset);
        if prefix_hash.is_none() && upload.offset > 0 {
            // Another server may have written the latest chunk: rebuild from the shared store.
            let (id, path, offset) = (
                upload.id.clone(),
                self.part_path(&upload.id),
                upload.offset as u64,
            );
            let rebuild =
                self.with_shared(move |store| super::shared::rebuild(store, &id, &path, offset));
            self.holding(lock, rebuild).await?;
        }
        let chunk = Chunk {
            path: self.part_path(&upload.id),
            offset: upload.offset as u64,
            prefix_hash,
            checksum,
        };
        let (tx, rx) = mpsc::channel(16);
        let busy = lock.busy.clone().try_lock_owned().ok();
        let writer = tokio::task::spawn_blocking(move || {
            let _busy = busy;
            writer::write_chunk(chunk, rx)
        });
        let room = (upload.length - upload.offset) as u64;
        let pumped = self.pump(body, tx, room, lock).await;
        let written = writer.await.context("the chunk writer panicked")?;
        let written = written.with_context(|| format!("upload {}", upload.id))?;
        pumped?;
        match written {
            Written::ChecksumMismatch => Err(UploadError::ChecksumMismatch),
            Written::Discarded => Err(UploadError::bad(
                "The chunk was interrupted before its checksum could be verified; it was discarded.",
            )),
            Written::Kept { bytes, file_hash } => {
                let (id, path) = (upload.id.clone(), self.part_path(&upload.id));
                let (from, to) = (upload.offset as u64, upload.offset as u64 + bytes);
                let share = self.with_shared(move |store| super::shared::share(store, &id, &path, from, to));
                self.holding(lock, share).await?;
                self.commit(lock, upload, bytes, file_hash).await
            }
        }
    }

    /// Moves the body into the writer's channel, renewing the lock as it goes. Ok when the
    /// body ended or was interrupted (the writer keeps what arrived); an error when the chunk
    /// must be thrown away.
    async fn pump(
        &self,
        body: Body,
        tx: mpsc::Sender<Piece>,
        room: u64,
        lock: &HeldLock,
    ) -> Result<(), UploadError> {
        let mut stream = body.into_data_stream();
        let mut received = 0u64;
        let mut renew = tokio::time::interval_at(Instant::now() + LOCK_RENEW, LOCK_RENEW);
        let idle = tokio::time::sleep(BODY_IDLE);
        tokio::pin!(idle);
        loop {
            let next = tokio::select! {
                _ = renew.tick() => {
                    self.renew(lock, &tx).await?;
                    continue;
                }
                _ = &mut idle => return Ok(()),
                next = stream.next() => next,
            };
            let data = match next {
                None => {
                    let _ = tx.send(Piece::End).await;
                    return Ok(());
                }
                Some(Err(e)) => {
                    tracing::debug!(upload = %lock.id, error = %e, "upload body interrupted");
                    return Ok(());
                }
                Some(Ok(data)) => data,
            };
            received += data.len() as u64;
            if received > room {
                let _ = tx.send(Piece::Abort).await;
                return Err(UploadError::TooLarge(format!(
                    "This chunk goes past the end of the upload ({room} bytes were left); it was discarded."
                )));
            }
            idle.as_mut().reset(Instant::now() + BODY_IDLE);
            // The writer may be slow (hashing a long prefix after a restart): keep the lock.
            let permit = loop {
                tokio::select! {
                    permit = tx.reserve() => break permit,
                    _ = renew.tick() => self.renew(lock, &tx).await?,
                }
            };
            match permit {
                Ok(permit) => permit.send(Piece::Data(data)),
                Err(_) => return Ok(()), // the writer stopped; its own error says why
            }
        }
    }

    /// Extends the writer's lock; when it was lost, tells the writer to throw the chunk away.
    async fn renew(&self, lock: &HeldLock, tx: &mpsc::Sender<Piece>) -> Result<(), UploadError> {
        let kept = self.renew_lock(lock).await;
        if kept.is_err() {
            let _ = tx.send(Piece::Abort).await;
        }
        kept
    }

    /// Extends the writer's lock; `Gone` when it was lost.
    async fn renew_lock(&self, lock: &HeldLock) -> Result<(), UploadError> {
        let until = self.now() + LOCK_LEASE_MS;
        if store::renew_lock(&self.db, &lock.id, &lock.token, until).await? {
            Ok(())
        } else {
            Err(UploadError::Gone)
        }
    }

    /// Waits for `work` on the shared store (rebuilding or sharing the part file, as long as
    /// the store takes) while renewing the writer's lock, so that no other server can take
    /// the upload meanwhile.
    async fn holding(
        &self,
        lock: &HeldLock,
        work: impl Future<Output = anyhow::Result<()>>,
    ) -> Result<(), UploadError> {
        let mut renew = tokio::time::interval_at(Instant::now() + LOCK_RENEW, LOCK_RENEW);
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return Ok(done?),
                _ = renew.tick() => self.renew_lock(lock).await?,
            }
        }
    }

    async fn commit(
        &self,
        lock: &HeldLock,
        upload: &UploadRow,
        bytes: u64,
        file_hash: Sha256,
    ) -> Result<Committed, UploadError> {
        let to = upload.offset + bytes as i64;
        let now = self.now();
        let (id, token, from) = (&upload.id, &lock.token, upload.offset);
        if to == upload.length {
            let sha256 = hex::encode(file_hash.finalize());
            let at = store::Write {
                id,
                token,
                from,
                to,
                now,
            };
            if store::commit_complete(&self.db, &at, &sha256, now + LOCK_LEASE_MS).await? {
                gala_pipeline::metrics::upload_bytes(bytes);
                return Ok(Committed::Complete(sha256));
            }
        } else if store::commit_offset(&self.db, id, token, from, to, now).await? {
            self.put_hash(id, to, file_hash);
            gala_pipeline::metrics::upload_bytes(bytes);
            return Ok(Committed::Partial(to));
        }
        // The lock was taken away meanwhile (terminated, or expired and cleaned up).
        let row = store::find_owned(&self.db, id, upload.owner_id).await?;
        Err(self.refusal(row.as_ref(), from))
    }

    /// Calls `on_complete` for an upload this caller holds in `completing`, then marks it
    /// finished (and removes its file) or records the failure for a retry.
    async fn hand_off(&self, upload: &UploadRow, token: &str, sha256: String) {
        self.forget_hash(&upload.id);
        let path = self.part_path(&upload.id);
        let whole = std::fs::metadata(&path).is_ok_and(|m| m.len() == upload.length as u64);
        if !whole {
            // A retried hand-off on a server that did not receive the last chunk.
            let (id, length) = (upload.id.clone(), upload.length as u64);
            let rebuilt = self
                .with_shared(move |store| super::shared::rebuild(store, &id, &path, length))
                .await;
            if let Err(e) = rebuilt {
                tracing::error!(upload = %upload.id, error = format!("{e:#}"), "cannot rebuild a finished upload for its hand-off");
            }
        }
        let metadata: Metadata = serde_json::from_str(&upload.metadata)
            .map(Metadata)
            .unwrap_or_default();
        let done = CompletedUpload {
            id: upload.id.clone(),
            owner: UploadOwner {
                user_id: upload.owner_id,
            },
            path: self.part_path(&upload.id),
            size: upload.length as u64,
            sha256,
            filename: upload.filename.clone(),
            filetype: upload.filetype.clone(),
            metadata: metadata.decoded(),
        };
        let result = self.call_on_complete(done, token).await;
        let now = self.now();
        let id = &upload.id;
        let recorded = match result {
            Ok(()) => match store::mark_finished(&self.db, id, token, now).await {
                Ok(true) => self.remove_file(id).await,
                Ok(false) => Err(anyhow::anyhow!("the hand-off lock was lost")),
                Err(e) => Err(e),
            },
            Err(e) => {
                let reason = format!("{e:#}");
                tracing::error!(upload = %id, error = reason, "handing a finished upload on failed; it will be retried");
                store::mark_handoff_failed(&self.db, id, token, &reason, MAX_HANDOFF_ATTEMPTS, now)
                    .await
            }
        };
        if let Err(e) = recorded {
            tracing::error!(upload = %id, error = format!("{e:#}"), "cannot record an upload hand-off");
        }
    }

    /// Runs `on_complete`, renewing the hand-off lock meanwhile so that a slow receiver
    /// (copying gigabytes into the media store) is not offered the same upload twice.
    async fn call_on_complete(&self, done: CompletedUpload, token: &str) -> anyhow::Result<()> {
        let id = done.id.clone();
        let call = (self.on_complete)(done);
        tokio::pin!(call);
        let mut renew = tokio::time::interval_at(Instant::now() + LOCK_RENEW, LOCK_RENEW);
        loop {
            tokio::select! {
                result = &mut call => return result,
                _ = renew.tick() => {
                    let until = self.now() + LOCK_LEASE_MS;
                    if let Err(e) = store::renew_lock(&self.db, &id, token, until).await {
                        tracing::warn!(upload = %id, error = format!("{e:#}"), "cannot renew a hand-off lock");
                    }
                }
            }
        }
    }

    /// Offers again every finished upload whose hand-off failed or was cut short by a crash.
    /// Returns how many were offered.
    pub async fn retry_handoffs(&self) -> anyhow::Result<u64> {
        let now = self.now();
        let mut offered = 0;
        for row in store::stalled_handoffs(&self.db, now, CLEANUP_BATCH).await? {
            let token = format!("{:032x}", rand::random::<u128>());
            let until = now + LOCK_LEASE_MS;
            if !store::claim_handoff(&self.db, &row.id, &token, now, until).await? {
                continue;
            }
            let Some(sha256) = row.sha256.clone() else {
                continue;
            };
            self.hand_off(&row, &token, sha256).await;
            offered += 1;
        }
        Ok(offered)
    }

    /// Terminates the owner's unfinished upload and deletes its bytes.
    pub(crate) async fn terminate(&self, id: &str, owner: UploadOwner) -> Result<(), UploadError> {
        if store::terminate(&self.db, id, owner.user_id, self.now()).await? {
            self.forget_hash(id);
            self.remove_file(id).await?;
            return Ok(());
        }
        let row = self.find(id, owner).await?;
        match row.state {
            State::Receiving => Err(UploadError::Gone), // expired, not yet cleaned up
            _ => Err(UploadError::Complete),
        }
    }

    /// Marks uploads unfinished past their expiry as expired and deletes their files, then
    /// deletes files no live upload owns. Returns how many uploads expired.
    pub async fn cleanup_expired(&self) -> anyhow::Result<u64> {
        let now = self.now();
        let mut expired = 0;
        loop {
            let ids = store::expired_ids(&self.db, now, CLEANUP_BATCH).await?;
            let mut progressed = false;
            for id in &ids {
                if store::mark_expired(&self.db, id, now).await? {
                    self.forget_hash(id);
                    self.remove_file(id).await?;
                    expired += 1;
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        self.sweep_orphans().await?;
        Ok(expired)
    }

    /// Deletes upload files whose upload is gone, finished or expired (left by a crash
    /// between the row's update and the file's removal).
    async fn sweep_orphans(&self) -> anyhow::Result<()> {
        let mut dir = match tokio::fs::read_dir(self.upload_dir()).await {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).context("cannot list the upload directory"),
        };
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".part")) else {
                continue;
            };
            let live = matches!(
                store::state_of(&self.db, id).await?,
                Some(State::Receiving | State::Completing | State::Failed)
            );
            if !live {
                self.remove_file(id).await?;
            }
        }
        Ok(())
    }

    /// Runs [`Self::cleanup_expired`] and [`Self::retry_handoffs`] every
    /// `uploads.cleanup_every_s` until `shutdown` completes.
    pub fn spawn_cleanup(
        &self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let svc = self.clone();
        let every = Duration::from_secs(self.config.uploads.cleanup_every_s.max(1));
        tokio::spawn(async move {
            tokio::pin!(shutdown);
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tick.tick() => svc.maintain().await,
                }
            }
        })
    }

    async fn maintain(&self) {
        match self.cleanup_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired uploads cleaned up"),
            Err(e) => tracing::error!(error = format!("{e:#}"), "upload clean-up failed"),
        }
        if let Err(e) = self.retry_handoffs().await {
            tracing::error!(error = format!("{e:#}"), "retrying upload hand-offs failed");
        }
    }

    async fn remove_file(&self, id: &str) -> anyhow::Result<()> {
        let prefix = super::shared::prefix(id);
        self.with_shared(move |store| store.remove_scratch(&prefix))
            .await?;
        let path = self.part_path(id);
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        }
    }

    fn take_hash(&self, id: &str, offset: i64) -> Option<Sha256> {
        let mut hashes = self.hashes.lock().ok()?;
        match hashes.remove(id) {
            Some((at, hash)) if at == offset => Some(hash),
            _ => None,
        }
    }

    fn put_hash(&self, id: &str, offset: i64, hash: Sha256) {
        if let Ok(mut hashes) = self.hashes.lock() {
            if hashes.len() >= HASH_CACHE_MAX {
                let victim = hashes.keys().next().cloned();
                if let Some(victim) = victim {
                    hashes.remove(&victim);
                }
            }
            hashes.insert(id.to_string(), (offset, hash));
        }
    }

    fn forget_hash(&self, id: &str) {
        if let Ok(mut hashes) = self.hashes.lock() {
            hashes.remove(id);
        }
    }
}

/// What a committed chunk did.
enum Committed {
    Partial(i64),
    /// The upload is complete; the whole file's sha256.
    Complete(String),
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
