//! Duplicate and re-upload detection over many clips' [`Fingerprint`]s.
//!
//! Candidate search never scans every frame of every clip: each 64-bit frame hash is split
//! into four 16-bit bands with an exact-match table per band (multi-index hashing), so any
//! stored hash within Hamming distance 3 of a query hash shares at least one band with it (and
//! most hashes a little further away still do). Only clips with a hit within
//! [`MatchThresholds::max_hamming`] are verified: all their frames against all query frames,
//! the time offset that most matched pairs agree on, and, when both clips have audio,
//! chromaprint matching (`rusty_chromaprint::match_fingerprints`) for audio similarity and
//! offset. A trimmed copy matches (its frames are a subset), a resized or re-encoded copy
//! matches (its hashes are near), a volume-changed copy matches on pictures and on audio.
//!
//! [`DuplicateIndex::find_linear`] does the same with a scan of every stored frame: the
//! reference the index is checked and benchmarked against.

use std::collections::HashMap;

use super::fingerprint::{audio_item_seconds, chromaprint_config, Fingerprint};
pub use crate::config::MatchThresholds;

/// Number of 16-bit bands a 64-bit hash is split into.
const BANDS: usize = 4;

/// One clip found to duplicate the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub clip_id: i64,
    /// 0..1: the share of the shorter clip's sampled frames matched at one offset, blended
    /// with the audio similarity when both clips have audio.
    pub score: f64,
    /// Query frames matched to a frame of this clip at the agreed offset.
    pub matched_frames: usize,
    /// 0..1: the share of the shorter audio fingerprint inside chromaprint's matching
    /// segments; `None` when either clip has no audio.
    pub audio_similarity: Option<f64>,
    /// Their time minus query time, seconds (from audio when it matched, else from frames).
    pub offset_s: Option<f64>,
    /// (query time, their time) of the matched frames.
    pub evidence: Vec<(f64, f64)>,
}

struct Entry {
    id: i64,
    fp: Fingerprint,
}

/// In-memory index of many clips' fingerprints keyed by clip id.
pub struct DuplicateIndex {
    slots: Vec<Option<Entry>>,
    by_id: HashMap<i64, u32>,
    /// Every stored frame's hash, by global frame number (removed clips' frames stay until
    /// compaction), and the slot of the clip it belongs to.
    hashes: Vec<u64>,
    frame_slot: Vec<u32>,
    /// Per band, per 16-bit band value: the global frame numbers of the hashes holding it.
    bands: Vec<Vec<Vec<u32>>>,
    frames: usize,
    dead_frames: usize,
}

impl Default for DuplicateIndex {
    fn default() -> Self {
        Self::new()
    }
}

fn band(hash: u64, b: usize) -> usize {
    ((hash >> (16 * b)) & 0xffff) as usize
}

impl DuplicateIndex {
    pub fn new() -> Self {
        DuplicateIndex {
            slots: Vec::new(),
            by_id: HashMap::new(),
            hashes: Vec::new(),
            frame_slot: Vec::new(),
            bands: (0..BANDS).map(|_| vec![Vec::new(); 1 << 16]).collect(),
            frames: 0,
            dead_frames: 0,
        }
    }

    /// Clips in the index.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Adds (or replaces) the fingerprint of clip `id`.
    pub fn insert(&mut self, id: i64, fp: &Fingerprint) {
        self.remove(id);
        let slot = self.slots.len() as u32;
        for &(_, hash) in &fp.frame_hashes {
            let global = self.hashes.len() as u32;
            self.hashes.push(hash);
            self.frame_slot.push(slot);
            for b in 0..BANDS {
                self.bands[b][band(hash, b)].push(global);
            }
        }
        self.frames += fp.frame_hashes.len();
        self.slots.push(Some(Entry { id, fp: fp.clone() }));
        self.by_id.insert(id, slot);
    }

    /// Removes clip `id`; true when it was there. Its table entries are skipped from now on
    /// and dropped once they outnumber the live ones.
    pub fn remove(&mut self, id: i64) -> bool {
        let Some(slot) = self.by_id.remove(&id) else {
            return false;
        };
        if let Some(entry) = self.slots[slot as usize].take() {
            self.dead_frames += entry.fp.frame_hashes.len();
            self.frames -= entry.fp.frame_hashes.len();
        }
        if self.dead_frames > self.frames.max(1024) {
            self.compact();
        }
        true
    }

    /// Rebuilds the tables without removed clips.
    fn compact(&mut self) {
        let entries: Vec<Entry> = std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .collect();
        *self = Self::new();
        for e in entries {
            self.insert(e.id, &e.fp);
        }
    }

    /// Rough bytes held by the index (tables, hashes, audio).
    pub fn memory_bytes(&self) -> usize {
        let tables: usize = self
            .bands
            .iter()
            .flat_map(|b| b.iter())
            .map(|v| v.capacity() * 4 + 24)
            .sum::<usize>()
            + self.hashes.capacity() * 12;
        let clips: usize = self
            .slots
            .iter()
            .flatten()
            .map(|e| e.fp.frame_hashes.capacity() * 16 + e.fp.audio.capacity() * 4 + 64)
            .sum();
        tables + clips + self.by_id.capacity() * 16
    }

    /// Clips that duplicate `query`, best first.
    pub fn find(&self, query: &Fingerprint, t: &MatchThresholds) -> Vec<Match> {
        let mut candidates: Vec<u32> = Vec::new();
        let mut seen = vec![false; self.slots.len()];
        for &(_, hash) in &query.frame_hashes {
            for b in 0..BANDS {
                for &global in &self.bands[b][band(hash, b)] {
                    if (self.hashes[global as usize] ^ hash).count_ones() > t.max_hamming {
                        continue;
                    }
                    let slot = self.frame_slot[global as usize];
                    if !seen[slot as usize] && self.slots[slot as usize].is_some() {
                        seen[slot as usize] = true;
                        candidates.push(slot);
                    }
                }
            }
        }
        self.verify(query, candidates, t)
    }

    /// [`find`](Self::find) by comparing the query with every stored frame: the reference.
    pub fn find_linear(&self, query: &Fingerprint, t: &MatchThresholds) -> Vec<Match> {
        let mut candidates = Vec::new();
        for (slot, entry) in self.slots.iter().enumerate() {
            let Some(entry) = entry else { continue };
            let hit = entry.fp.frame_hashes.iter().any(|&(_, theirs)| {
                query
                    .frame_hashes
                    .iter()
                    .any(|&(_, ours)| (theirs ^ ours).count_ones() <= t.max_hamming)
            });
            if hit {
                candidates.push(slot as u32);
            }
        }
        self.verify(query, candidates, t)
    }

    fn verify(&self, query: &Fingerprint, candidates: Vec<u32>, t: &MatchThresholds) -> Vec<Match> {
        let mut out: Vec<Match> = candidates
            .into_iter()
            .filter_map(|slot| self.slots[slot as usize].as_ref())
            .filter_map(|entry| compare(query, entry.id, &entry.fp, t))
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.clip_id.cmp(&b.clip_id)));
        out
    }
}

impl FromIterator<(i64, Fingerprint)> for DuplicateIndex {
    fn from_iter<I: IntoIterator<Item = (i64, Fingerprint)>>(iter: I) -> Self {
        let mut index = DuplicateIndex::new();
        for (id, fp) in iter {
            index.insert(id, &fp);
        }
        index
    }
}

/// Verifies one candidate: frames at the agreed offset, then audio.
fn compare(
    query: &Fingerprint,
    id: i64,
    theirs: &Fingerprint,
    t: &MatchThresholds,
) -> Option<Match> {
    let q = &query.frame_hashes;
    let th = &theirs.frame_hashes;
    if q.is_empty() || th.is_empty() {
        return None;
    }
    // Every near pair, and a histogram of their time differences in half-second steps, each
    // pair weighted by its closeness (still pictures match at many offsets, the right one
    // matches closest).
    let mut pairs: Vec<(usize, usize, u32)> = Vec::new();
    let mut histogram: HashMap<i64, u64> = HashMap::new();
    for (i, &(qt, qh)) in q.iter().enumerate() {
        for (j, &(tt, thh)) in th.iter().enumerate() {
            let d = (qh ^ thh).count_ones();
            if d <= t.max_hamming {
                pairs.push((i, j, d));
                let weight = u64::from(t.max_hamming + 1 - d).pow(2);
                *histogram
                    .entry(((tt - qt) * 2.0).round() as i64)
                    .or_default() += weight;
            }
        }
    }
    // The offset the pairs agree on most (ties broken by its neighbours).
    let votes = |k: i64| -> u64 {
        (k - 1..=k + 1)
            .map(|x| histogram.get(&x).copied().unwrap_or(0))
            .sum()
    };
    let best = histogram
        .keys()
        .copied()
        .max_by_key(|&k| (histogram[&k], votes(k), -k.abs()))?;
    let offset = best as f64 / 2.0;
    // Per query frame, its nearest partner at that offset; each of their frames used once.
    let mut chosen: HashMap<usize, (usize, u32)> = HashMap::new();
    for &(i, j, d) in &pairs {
        if ((th[j].0 - q[i].0) - offset).abs() > 0.3 {
            continue;
        }
        let e = chosen.entry(i).or_insert((j, d));
        if d < e.1 {
            *e = (j, d);
        }
    }
    let mut evidence: Vec<(usize, usize)> = chosen.into_iter().map(|(i, (j, _))| (i, j)).collect();
    evidence.sort_unstable();
    evidence.dedup_by_key(|p| p.1);
    let matched = evidence.len();
    let frame_score = (matched as f64 / q.len().min(th.len()) as f64).min(1.0);

    let mut audio_similarity = None;
    let mut audio_offset = None;
    if !query.audio.is_empty() && !theirs.audio.is_empty() {
        let config = chromaprint_config();
        let segments = rusty_chromaprint::match_fingerprints(&query.audio, &theirs.audio, &config)
            .unwrap_or_default();
        let covered: usize = segments.iter().map(|s| s.items_count).sum();
        let shorter = query.audio.len().min(theirs.audio.len()).max(1);
        audio_similarity = Some((covered as f64 / shorter as f64).min(1.0));
        audio_offset = segments
            .iter()
            .max_by_key(|s| s.items_count)
            .map(|s| (s.offset2 as f64 - s.offset1 as f64) * audio_item_seconds());
    }
    let score = match audio_similarity {
        Some(a) => (2.0 * frame_score + a) / 3.0,
        None => frame_score,
    };
    let min_frames = t.min_matched_frames.min(q.len().min(th.len()));
    if matched < min_frames.max(1) || score < t.min_score {
        return None;
    }
    Some(Match {
        clip_id: id,
        score,
        matched_frames: matched,
        audio_similarity,
        offset_s: audio_offset.or(Some(offset)),
        evidence: evidence
            .into_iter()
            .map(|(i, j)| (q[i].0, th[j].0))
            .collect(),
    })
}

#[cfg(test)]
#[path = "duplicates_tests.rs"]
mod tests;
