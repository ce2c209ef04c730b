//! Writing one chunk to an upload's file, on a blocking thread: the request body arrives
//! through a channel, each piece is written and hashed (the chunk's own checksum and the whole
//! file's sha256), and the file is fsynced before the caller commits the new offset. A chunk
//! that fails its checksum, or is aborted, is cut off again: the file ends at the old offset.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bytes::Bytes;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::protocol::{Checksum, ChecksumAlgorithm};

/// What the request side sends the writer.
#[derive(Debug)]
pub enum Piece {
    Data(Bytes),
    /// The body ended normally.
    End,
    /// Throw the chunk away (too long, lock lost).
    Abort,
}

/// What became of a chunk.
pub enum Written {
    /// `bytes` were written and fsynced; `file_hash` now covers the file up to the new end.
    Kept { bytes: u64, file_hash: Sha256 },
    /// The chunk failed its checksum.
    ChecksumMismatch,
    /// The chunk was aborted, or interrupted while a checksum was expected; nothing was kept.
    Discarded,
}

/// One chunk's job: the file, where the committed bytes end, and what to check.
pub struct Chunk {
    pub path: PathBuf,
    pub offset: u64,
    /// The hash of the first `offset` bytes, when this server still has it; otherwise the
    /// prefix is hashed again from disk (after a restart, or on another server).
    pub prefix_hash: Option<Sha256>,
    pub checksum: Option<Checksum>,
}

enum ChunkHasher {
    Sha256(Sha256),
    Sha1(Sha1),
}

impl ChunkHasher {
    fn new(algorithm: ChecksumAlgorithm) -> ChunkHasher {
        match algorithm {
            ChecksumAlgorithm::Sha256 => ChunkHasher::Sha256(Sha256::new()),
            ChecksumAlgorithm::Sha1 => ChunkHasher::Sha1(Sha1::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            ChunkHasher::Sha256(h) => h.update(data),
            ChunkHasher::Sha1(h) => h.update(data),
        }
    }

    fn finalize(self) -> Vec<u8> {
        match self {
            ChunkHasher::Sha256(h) => h.finalize().to_vec(),
            ChunkHasher::Sha1(h) => h.finalize().to_vec(),
        }
    }
}

/// Runs on a blocking thread until the channel says End/Abort or closes (the request side
/// was interrupted or dropped: the bytes that arrived are kept unless a checksum was due).
pub fn write_chunk(chunk: Chunk, mut rx: mpsc::Receiver<Piece>) -> anyhow::Result<Written> {
    let mut file = open_at(&chunk.path, chunk.offset)?;
    let mut file_hash = match chunk.prefix_hash {
        Some(h) => h,
        None => hash_prefix(&mut file, chunk.offset)?,
    };
    file.seek(SeekFrom::Start(chunk.offset))?;
    let mut chunk_hash = chunk
        .checksum
        .as_ref()
        .map(|c| ChunkHasher::new(c.algorithm));
    let mut bytes = 0u64;
    let ended = loop {
        match rx.blocking_recv() {
            Some(Piece::Data(data)) => {
                file.write_all(&data)
                    .with_context(|| format!("cannot write to {}", chunk.path.display()))?;
                file_hash.update(&data);
                if let Some(h) = chunk_hash.as_mut() {
                    h.update(&data);
                }
                bytes += data.len() as u64;
            }
            Some(Piece::End) => break true,
            Some(Piece::Abort) => return discard(&file, chunk.offset, Written::Discarded),
            None => break false,
        }
    };
    if let (Some(expected), Some(hasher)) = (&chunk.checksum, chunk_hash) {
        if !ended {
            return discard(&file, chunk.offset, Written::Discarded);
        }
        if hasher.finalize() != expected.digest {
            return discard(&file, chunk.offset, Written::ChecksumMismatch);
        }
    }
    file.sync_data()
        .with_context(|| format!("cannot fsync {}", chunk.path.display()))?;
    Ok(Written::Kept { bytes, file_hash })
}

/// Opens the file and cuts it to `offset`, the committed end: anything past it is the rest
/// of a chunk whose offset was never committed (a crash between write and commit).
fn open_at(path: &Path, offset: u64) -> anyhow::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(offset == 0)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata()?.len();
    if len < offset {
        bail!(
            "{} has {len} bytes but the database says {offset} were received",
            path.display()
        );
    }
    if len > offset {
        file.set_len(offset)?;
        file.sync_data()?;
    }
    Ok(file)
}

fn hash_prefix(file: &mut File, offset: u64) -> anyhow::Result<Sha256> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut rest = offset;
    let mut buf = vec![0u8; 256 * 1024];
    while rest > 0 {
        let want = buf.len().min(rest as usize);
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            bail!("the upload file ended before its committed offset");
        }
        hasher.update(&buf[..n]);
        rest -= n as u64;
    }
    Ok(hasher)
}

fn discard(file: &File, offset: u64, outcome: Written) -> anyhow::Result<Written> {
    file.set_len(offset)?;
    file.sync_data()?;
    Ok(outcome)
}
