//! The duplicate index of a worker process: loaded from `clip_fingerprints` on first use, then
//! kept current by reading only the rows added since (row ids only grow: a re-fingerprinted
//! clip gets a new row), so a search stays an index lookup however many clips there are.

use std::collections::HashMap;

use tokio::sync::Mutex;

use super::duplicates::{DuplicateIndex, Match, MatchThresholds};
use super::fingerprint::Fingerprint;
use super::store;
use crate::storage::db::Db;

/// Rows re-read below the highest id seen: on PostgreSQL a row with a lower id can commit
/// after a higher one was read.
const REREAD_ROWS: i64 = 64;

/// A [`DuplicateIndex`] shared by the jobs of one worker process.
#[derive(Default)]
pub struct DuplicateCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    index: DuplicateIndex,
    /// The fingerprint row each indexed clip came from.
    rows: HashMap<i64, i64>,
    last_row: i64,
}

impl State {
    fn add(&mut self, row: i64, clip_id: i64, fp: &Fingerprint) {
        if self.rows.get(&clip_id) == Some(&row) {
            return;
        }
        self.index.insert(clip_id, fp);
        self.rows.insert(clip_id, row);
        self.last_row = self.last_row.max(row);
    }
}

impl DuplicateCache {
    pub fn new() -> DuplicateCache {
        DuplicateCache::default()
    }

    /// Reads the fingerprints stored since the last call into the index.
    async fn refresh(&self, db: &Db, state: &mut State) -> anyhow::Result<()> {
        let after = (state.last_row - REREAD_ROWS).max(0);
        for (row, clip_id, fp) in store::fingerprints_after(db, after).await? {
            state.add(row, clip_id, &fp);
        }
        Ok(())
    }

    /// Clips in the index (after the last refresh).
    pub async fn len(&self) -> usize {
        self.state.lock().await.index.len()
    }

    /// True when the index holds no clip (after the last refresh).
    pub async fn is_empty(&self) -> bool {
        self.state.lock().await.index.is_empty()
    }

    /// The other clips that `fp` (the stored fingerprint of `clip_id`) duplicates, best first.
    pub async fn find(
        &self,
        db: &Db,
        clip_id: i64,
        fp: &Fingerprint,
        thresholds: &MatchThresholds,
    ) -> anyhow::Result<Vec<Match>> {
        let mut state = self.state.lock().await;
        self.refresh(db, &mut state).await?;
        let mut found = state.index.find(fp, thresholds);
        found.retain(|m| m.clip_id != clip_id);
        Ok(found)
    }
}
