//! Resumable uploads across studio servers without a shared disk: when the media store is
//! shared (S3), every committed chunk is copied there (`uploads/<id>/<from>-<to>`) before its
//! offset is committed, and a server that did not write the latest chunk itself rebuilds its
//! part file from those chunks before it writes the next one. The chunks are removed with the
//! upload's file (hand-off, termination, expiry).
//!
//! A server trusts its own part file only up to an offset it committed itself (the upload
//! service's hash cache says so): bytes past it may be an uncommitted tail, and another
//! server may have committed different bytes at the same place since.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{bail, Context};
use gala_pipeline::storage::MediaStore;

/// The scratch directory of an upload's chunks.
pub fn prefix(id: &str) -> String {
    format!("uploads/{id}/")
}

fn name(id: &str, from: u64, to: u64) -> String {
    format!("uploads/{id}/{from:020}-{to:020}")
}

/// Copies bytes `from..to` of the part file at `path` to the shared store.
pub fn share(
    store: &dyn MediaStore,
    id: &str,
    path: &Path,
    from: u64,
    to: u64,
) -> anyhow::Result<()> {
    let dir = path.parent().context("a part file has a directory")?;
    let mut staged = tempfile::NamedTempFile::new_in(dir)?;
    let mut part = File::open(path)?;
    part.seek(SeekFrom::Start(from))?;
    let copied = std::io::copy(&mut part.take(to - from), staged.as_file_mut())?;
    if copied != to - from {
        bail!(
            "the part file ends at {} before the chunk's end {to}",
            from + copied
        );
    }
    store.put_scratch(&name(id, from, to), staged.path())
}

/// Makes the part file at `path` exactly the upload's first `offset` bytes, from the chunks in
/// the shared store.
pub fn rebuild(store: &dyn MediaStore, id: &str, path: &Path, offset: u64) -> anyhow::Result<()> {
    let chunks: Vec<(u64, u64)> = store
        .list_scratch(&prefix(id))?
        .iter()
        .filter_map(|(n, size)| {
            let (a, b) = n.split_once('-')?;
            let (a, b) = (a.parse().ok()?, b.parse().ok()?);
            (b > a && b - a == *size).then_some((a, b))
        })
        .collect();
    let Some(path_of) = chain(&chunks, 0, offset) else {
        bail!("the shared store does not hold the first {offset} bytes of upload {id}");
    };
    std::fs::create_dir_all(path.parent().context("a part file has a directory")?)?;
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)?;
    for (from, to) in path_of {
        store.get_scratch(&name(id, from, to), &mut file)?;
        let at = file.stream_position()?;
        if at != to {
            bail!("chunk {from}-{to} of upload {id} ends at {at}");
        }
    }
    file.sync_all()?;
    Ok(())
}

/// Chunks that join `from` to `to` end to end (depth first; a lost writer may have left a
/// chunk that overlaps the committed ones).
fn chain(chunks: &[(u64, u64)], from: u64, to: u64) -> Option<Vec<(u64, u64)>> {
    if from == to {
        return Some(Vec::new());
    }
    for &(a, b) in chunks.iter().filter(|(a, b)| *a == from && *b <= to) {
        if let Some(mut rest) = chain(chunks, b, to) {
            rest.insert(0, (a, b));
            return Some(rest);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::chain;

    #[test]
    fn chunks_chain_end_to_end_around_a_lost_writer() {
        let chunks = [(0, 100), (100, 150), (100, 120), (120, 300), (300, 400)];
        assert_eq!(
            chain(&chunks, 0, 300),
            Some(vec![(0, 100), (100, 120), (120, 300)])
        );
        assert_eq!(chain(&chunks, 0, 150), Some(vec![(0, 100), (100, 150)]));
        assert_eq!(chain(&chunks, 0, 0), Some(vec![]));
        assert_eq!(chain(&chunks, 0, 250), None);
    }
}
