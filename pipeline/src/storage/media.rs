//! The content-addressed media store: every object (an upload, a normalized clip, a
//! thumbnail) is named by the sha256 of its bytes. [`MediaStore`] is the interface; the
//! [`LocalStore`] keeps objects under a data directory; `storage::s3` keeps them in an
//! S3-compatible object store.
//!
//! Invariants of the local store: an object file is complete whenever it is visible (written
//! to a temporary file, fsynced, then renamed into place), is never rewritten once present,
//! and a digest that is not 64 lowercase hex characters never becomes a path.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

/// Lowercase hex sha256 of an object's bytes.
pub type Digest = String;

/// Where media objects live. Object-safe; calls are synchronous (callers run on blocking
/// threads).
pub trait MediaStore: Send + Sync {
    /// Copies a local file in (streaming, hashing as it copies), returns its digest; idempotent.
    fn put_file(&self, path: &Path) -> anyhow::Result<Digest>;
    /// Stores bytes held in memory (thumbnails, small reports); idempotent.
    fn put_bytes(&self, bytes: &[u8]) -> anyhow::Result<Digest>;
    /// A local path to read the object from (the local store returns its own file; a remote
    /// store would download to a cache). Err when missing.
    fn local_path(&self, digest: &str) -> anyhow::Result<PathBuf>;
    fn exists(&self, digest: &str) -> anyhow::Result<bool>;
    fn size(&self, digest: &str) -> anyhow::Result<u64>;

    /// Whether other nodes see what this store holds (so that scratch files are worth
    /// sharing through it).
    fn shared(&self) -> bool;
    /// Scratch files every node can read that are not media: named (`[0-9a-z/-]`), written
    /// once, read back whole, removed by prefix (a resumable upload's committed chunks).
    fn put_scratch(&self, name: &str, path: &Path) -> anyhow::Result<()>;
    /// Writes scratch file `name` into `sink`. Err when missing.
    fn get_scratch(&self, name: &str, sink: &mut dyn Write) -> anyhow::Result<()>;
    /// The names under `prefix` (relative to it) with their sizes.
    fn list_scratch(&self, prefix: &str) -> anyhow::Result<Vec<(String, u64)>>;
    /// Removes every scratch file under `prefix`.
    fn remove_scratch(&self, prefix: &str) -> anyhow::Result<()>;
}

/// Refuses a scratch name that could leave its directory.
pub(crate) fn check_scratch(name: &str) -> anyhow::Result<()> {
    let body = name.strip_suffix('/').unwrap_or(name);
    let ok = body
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'/' | b'-'))
        && !body.split('/').any(str::is_empty);
    if !ok {
        bail!(
            "not a scratch name: {:?}",
            name.chars().take(80).collect::<String>()
        );
    }
    Ok(())
}

/// The media store on the local filesystem: `root/ab/cd/abcd…`.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

/// Staging directory for objects being written; inside `root` so that the final rename stays
/// on one filesystem and is atomic.
const STAGING_DIR: &str = "tmp";

/// Copy buffer size: large enough that hashing, not syscalls, dominates.
const BUFFER_BYTES: usize = 1 << 20;

impl LocalStore {
    /// Opens (creating when missing) a store rooted at `root`.
    pub fn new(root: PathBuf) -> anyhow::Result<Self> {
        let staging = root.join(STAGING_DIR);
        std::fs::create_dir_all(&staging)
            .with_context(|| format!("cannot create the media directory {}", staging.display()))?;
        Ok(LocalStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where an object with this digest lives (whether or not it exists).
    pub fn object_path(&self, digest: &str) -> anyhow::Result<PathBuf> {
        check_digest(digest)?;
        Ok(self
            .root
            .join(&digest[0..2])
            .join(&digest[2..4])
            .join(digest))
    }

    /// Streams `reader` into a staging file while hashing it, then moves it into place.
    pub fn put_reader(&self, reader: &mut dyn Read) -> anyhow::Result<Digest> {
        let mut staged = self.staging_file()?;
        let digest = copy_hashing(reader, staged.as_file_mut())?;
        staged
            .as_file()
            .sync_all()
            .context("cannot flush a media object to disk")?;
        self.publish(staged, &digest)?;
        Ok(digest)
    }

    /// A new, empty file in the store's staging directory, to be [`LocalStore::publish`]ed.
    pub(crate) fn staging_file(&self) -> anyhow::Result<NamedTempFile> {
        NamedTempFile::new_in(self.root.join(STAGING_DIR))
            .context("cannot create a temporary file in the media store")
    }

    /// Renames a complete staging file to its final name unless that object already exists
    /// (another put of the same content won the race: same bytes, nothing to do).
    pub(crate) fn publish(&self, staged: NamedTempFile, digest: &str) -> anyhow::Result<()> {
        let target = self.object_path(digest)?;
        if target.exists() {
            return Ok(());
        }
        let dir = target.parent().context("object path has a parent")?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the media directory {}", dir.display()))?;
        match staged.persist_noclobber(&target) {
            Ok(_) => {}
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
            Err(e) => {
                return Err(e.error)
                    .with_context(|| format!("cannot store media object {}", target.display()))
            }
        }
        // Make the new directory entry itself durable.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl MediaStore for LocalStore {
    fn put_file(&self, path: &Path) -> anyhow::Result<Digest> {
        let mut file =
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        self.put_reader(&mut file)
            .with_context(|| format!("cannot store {}", path.display()))
    }

    fn put_bytes(&self, bytes: &[u8]) -> anyhow::Result<Digest> {
        let mut reader = bytes;
        self.put_reader(&mut reader)
    }

    fn local_path(&self, digest: &str) -> anyhow::Result<PathBuf> {
        let path = self.object_path(digest)?;
        if !path.is_file() {
            bail!("media object {digest} is missing from the store");
        }
        Ok(path)
    }

    fn exists(&self, digest: &str) -> anyhow::Result<bool> {
        Ok(self.object_path(digest)?.is_file())
    }

    fn size(&self, digest: &str) -> anyhow::Result<u64> {
        let path = self.local_path(digest)?;
        let meta = std::fs::metadata(&path)
            .with_context(|| format!("cannot read the size of media object {digest}"))?;
        Ok(meta.len())
    }

    fn shared(&self) -> bool {
        false
    }

    fn put_scratch(&self, name: &str, path: &Path) -> anyhow::Result<()> {
        check_scratch(name)?;
        let target = self.root.join(SCRATCH_DIR).join(name);
        std::fs::create_dir_all(target.parent().context("a scratch name has a parent")?)?;
        let staged = self.staging_file()?;
        std::fs::copy(path, staged.path())?;
        staged.as_file().sync_all()?;
        staged.persist(&target).map_err(|e| e.error)?;
        Ok(())
    }

    fn get_scratch(&self, name: &str, sink: &mut dyn Write) -> anyhow::Result<()> {
        check_scratch(name)?;
        let mut file = File::open(self.root.join(SCRATCH_DIR).join(name))
            .with_context(|| format!("scratch file {name} is missing"))?;
        std::io::copy(&mut file, sink)?;
        Ok(())
    }

    fn list_scratch(&self, prefix: &str) -> anyhow::Result<Vec<(String, u64)>> {
        check_scratch(prefix)?;
        let dir = self.root.join(SCRATCH_DIR).join(prefix);
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries {
                let e = e?;
                if e.file_type()?.is_file() {
                    out.push((
                        e.file_name().to_string_lossy().into_owned(),
                        e.metadata()?.len(),
                    ));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove_scratch(&self, prefix: &str) -> anyhow::Result<()> {
        check_scratch(prefix)?;
        match std::fs::remove_dir_all(self.root.join(SCRATCH_DIR).join(prefix)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// Where a local store keeps scratch files.
const SCRATCH_DIR: &str = "scratch";

/// The sha256 of a file, read in a streaming fashion.
pub fn sha256_file(path: &Path) -> anyhow::Result<Digest> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    copy_hashing(&mut file, &mut std::io::sink())
        .with_context(|| format!("cannot read {}", path.display()))
}

/// Whether `s` is a digest: exactly 64 lowercase hex characters.
pub fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(crate) fn check_digest(digest: &str) -> anyhow::Result<()> {
    if !is_digest(digest) {
        // Truncated and escaped: the text may come from anywhere.
        let shown: String = digest.chars().take(80).collect();
        bail!("not a media digest (64 lowercase hex characters): {shown:?}");
    }
    Ok(())
}

/// Copies everything from `reader` to `writer`, returning the sha256 of the bytes.
fn copy_hashing(reader: &mut dyn Read, writer: &mut dyn Write) -> anyhow::Result<Digest> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUFFER_BYTES];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("read failed"),
        };
        hasher.update(&buf[..n]);
        writer.write_all(&buf[..n]).context("write failed")?;
    }
    writer.flush().context("write failed")?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("media")).unwrap();
        (dir, store)
    }

    fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Random bytes spanning several copy buffers.
    fn random_bytes(len: usize) -> Vec<u8> {
        (0..len).map(|_| rand::random::<u8>()).collect()
    }

    #[test]
    fn put_then_read_back() {
        let (dir, store) = store();
        let bytes = random_bytes(3 * BUFFER_BYTES + 17);
        let src = write_file(dir.path(), "a.bin", &bytes);
        let digest = store.put_file(&src).unwrap();
        assert!(is_digest(&digest));
        assert!(store.exists(&digest).unwrap());
        assert_eq!(store.size(&digest).unwrap(), bytes.len() as u64);
        let path = store.local_path(&digest).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        assert!(path.starts_with(store.root().join(&digest[..2]).join(&digest[2..4])));
        assert_eq!(sha256_file(&path).unwrap(), digest);
    }

    #[test]
    fn digest_equals_sha256sum() {
        let (dir, store) = store();
        let src = write_file(dir.path(), "b.bin", &random_bytes(100_000));
        let digest = store.put_file(&src).unwrap();
        let out = std::process::Command::new("sha256sum")
            .arg(&src)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.split_whitespace().next().unwrap(), digest);
        // The well-known digest of the empty string.
        assert_eq!(
            store.put_bytes(b"").unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn put_is_idempotent_and_does_not_rewrite() {
        let (dir, store) = store();
        let src = write_file(dir.path(), "c.bin", b"same bytes");
        let first = store.put_file(&src).unwrap();
        let path = store.local_path(&first).unwrap();
        let before = std::fs::metadata(&path).unwrap();
        let second = store.put_bytes(b"same bytes").unwrap();
        assert_eq!(first, second);
        let after = std::fs::metadata(&path).unwrap();
        assert_eq!(before.modified().unwrap(), after.modified().unwrap());
        use std::os::unix::fs::MetadataExt;
        assert_eq!(before.ino(), after.ino(), "the object was rewritten");
        // No staging leftovers.
        let staged = std::fs::read_dir(store.root().join(STAGING_DIR)).unwrap();
        assert_eq!(staged.count(), 0);
    }

    #[test]
    fn bad_digests_are_rejected() {
        let (_dir, store) = store();
        let upper = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        for bad in [
            "../etc/passwd",
            "",
            "abc",
            upper,
            &"g".repeat(64),
            &format!("{}/..", "a".repeat(61)),
            &"a".repeat(65),
        ] {
            assert!(store.local_path(bad).is_err(), "{bad}");
            assert!(store.exists(bad).is_err(), "{bad}");
            assert!(store.size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_object_is_an_error() {
        let (_dir, store) = store();
        let digest = "0".repeat(64);
        assert!(!store.exists(&digest).unwrap());
        assert!(store.local_path(&digest).is_err());
        assert!(store.size(&digest).is_err());
    }

    #[test]
    fn concurrent_puts_of_the_same_file_are_safe() {
        let (dir, store) = store();
        let bytes = random_bytes(2 * BUFFER_BYTES + 5);
        let src = write_file(dir.path(), "d.bin", &bytes);
        let store: Arc<dyn MediaStore> = Arc::new(store);
        let digests: Vec<Digest> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let store = store.clone();
                    let src = src.clone();
                    s.spawn(move || store.put_file(&src).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(digests.iter().all(|d| *d == digests[0]));
        let path = store.local_path(&digests[0]).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), bytes);
    }

    #[test]
    fn scratch_files_are_named_listed_read_and_removed_by_prefix() {
        let (dir, store) = store();
        let src = write_file(dir.path(), "chunk", b"first bytes");
        store.put_scratch("uploads/ab12/000-011", &src).unwrap();
        store.put_scratch("uploads/ab12/011-020", &src).unwrap();
        assert_eq!(
            store.list_scratch("uploads/ab12/").unwrap(),
            [("000-011".to_string(), 11), ("011-020".to_string(), 11)]
        );
        let mut back = Vec::new();
        store
            .get_scratch("uploads/ab12/000-011", &mut back)
            .unwrap();
        assert_eq!(back, b"first bytes");
        store.remove_scratch("uploads/ab12/").unwrap();
        assert!(store.list_scratch("uploads/ab12/").unwrap().is_empty());
        assert!(store
            .get_scratch("uploads/ab12/000-011", &mut Vec::new())
            .is_err());
        for bad in ["../x", "a//b", "/abs", "UP", "a/./b", ""] {
            assert!(store.put_scratch(bad, &src).is_err(), "{bad}");
        }
        assert!(!store.shared());
    }

    #[test]
    fn missing_source_is_an_error() {
        let (dir, store) = store();
        assert!(store.put_file(&dir.path().join("nope")).is_err());
    }
}
