//! Watched words: the words and phrases moderation looks for in titles, descriptions and
//! transcripts, matched with one Aho-Corasick automaton over every listed word.
//!
//! Matching folds case and full-width forms (`ＡＢＣ１` matches `abc1`, the ideographic space
//! matches a space). A word that starts or ends with a Latin letter or digit only matches whole
//! words there (`ass` is not found in `class`); Chinese, Japanese and Korean text has no spaces,
//! so CJK words match anywhere. Every match is returned, with character offsets into the
//! original text and a context snippet of up to [`CONTEXT_CHARS`] characters on each side.

use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};

/// Characters of context kept on each side of a match.
pub const CONTEXT_CHARS: usize = 30;

/// What a watched word asks for when found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WordSeverity {
    /// A reviewer should look.
    Review,
    /// The analysis advises rejection.
    Reject,
}

impl WordSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            WordSeverity::Review => "review",
            WordSeverity::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<WordSeverity> {
        match s {
            "review" => Some(WordSeverity::Review),
            "reject" => Some(WordSeverity::Reject),
            _ => None,
        }
    }
}

/// One listed word as the matcher needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordEntry {
    pub word: String,
    pub category: String,
    pub severity: WordSeverity,
}

/// One place a watched word was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordHit {
    /// The word as listed.
    pub word: String,
    pub category: String,
    pub severity: WordSeverity,
    /// Where: `title`, `description` or `transcript`.
    pub source: String,
    /// Character offsets of the match in the text searched (end exclusive).
    pub start: usize,
    pub end: usize,
    /// Up to [`CONTEXT_CHARS`] characters before the match, the match as written, and after.
    pub before: String,
    pub matched: String,
    pub after: String,
    /// Time of the transcript line it was found in.
    pub at_ms: Option<i64>,
}

impl WordHit {
    /// The context with the match marked: `…before «match» after…`.
    pub fn snippet(&self) -> String {
        format!("{}«{}»{}", self.before, self.matched, self.after)
    }
}

/// True for Han, kana, Hangul and the CJK punctuation blocks: scripts written without spaces.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F | 0x3040..=0x30FF | 0x3100..=0x312F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// A letter or digit of a script that separates words with spaces.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// One character folded: full-width ASCII to ASCII, the ideographic space to a space, then
/// lower case where that is a single character. One character in, one out, so character offsets
/// are the same in the folded and the original text.
fn fold(c: char) -> char {
    let c = match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    };
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// The matcher over a list of watched words.
pub struct WatchList {
    entries: Vec<WordEntry>,
    /// Per pattern: does it need a word boundary before / after?
    bounds: Vec<(bool, bool)>,
    automaton: Option<AhoCorasick>,
}

impl WatchList {
    /// A matcher for `entries`; blank words are left out.
    pub fn new(entries: Vec<WordEntry>) -> Result<WatchList, aho_corasick::BuildError> {
        let entries: Vec<WordEntry> = entries
            .into_iter()
            .filter(|e| !e.word.trim().is_empty())
            .collect();
        let patterns: Vec<String> = entries
            .iter()
            .map(|e| e.word.trim().chars().map(fold).collect())
            .collect();
        let bounds = patterns
            .iter()
            .map(|p: &String| {
                let first = p.chars().next().is_some_and(is_word_char);
                let last = p.chars().next_back().is_some_and(is_word_char);
                (first, last)
            })
            .collect();
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)?,
            )
        };
        Ok(WatchList {
            entries,
            bounds,
            automaton,
        })
    }

    /// Words listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every match in `text`, in order of position (overlapping matches included).
    pub fn find(&self, source: &str, text: &str, at_ms: Option<i64>) -> Vec<WordHit> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let original: Vec<char> = text.chars().collect();
        let folded: String = original.iter().copied().map(fold).collect();
        // Byte offset in `folded` → character index (folding may change a character's width).
        let mut char_at = vec![0usize; folded.len() + 1];
        let mut n = 0;
        for (byte, c) in folded.char_indices() {
            char_at[byte..byte + c.len_utf8()].fill(n);
            n += 1;
        }
        char_at[folded.len()] = n;
        let mut hits: Vec<WordHit> = automaton
            .find_overlapping_iter(&folded)
            .filter_map(|m| {
                let (start, end) = (char_at[m.start()], char_at[m.end()]);
                let pattern = m.pattern().as_usize();
                let (need_before, need_after) = self.bounds[pattern];
                if need_before && start > 0 && is_word_char(original[start - 1]) {
                    return None;
                }
                if need_after && end < original.len() && is_word_char(original[end]) {
                    return None;
                }
                let entry = &self.entries[pattern];
                let from = start.saturating_sub(CONTEXT_CHARS);
                let to = (end + CONTEXT_CHARS).min(original.len());
                Some(WordHit {
                    word: entry.word.clone(),
                    category: entry.category.clone(),
                    severity: entry.severity,
                    source: source.to_string(),
                    start,
                    end,
                    before: original[from..start].iter().collect(),
                    matched: original[start..end].iter().collect(),
                    after: original[end..to].iter().collect(),
                    at_ms,
                })
            })
            .collect();
        hits.sort_by_key(|h| (h.start, h.end));
        hits
    }
}

#[cfg(test)]
#[path = "watchwords_tests.rs"]
mod tests;
