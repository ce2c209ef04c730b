//! Cutting a long text (a transcript) into pieces a classifier can read: sentences first
//! (`.`, `!`, `?`, line breaks, and the full-width `。！？；` of Chinese, which has no spaces),
//! a sentence longer than the model's window cut into overlapping token windows, then
//! sentences packed into chunks of at most `budget` tokens, each chunk repeating the last short
//! sentence of the one before so that nothing said across a boundary is lost.

use std::ops::Range;

/// Characters that end a sentence wherever they stand.
const HARD_ENDS: &[char] = &['。', '！', '？', '；', '!', '?', ';', '…', '\n'];
/// Characters that end a sentence only before white space or the end (`3.14` stays whole).
const SOFT_ENDS: &[char] = &['.', '．'];
/// Closing marks kept with the sentence they close.
const CLOSERS: &[char] = &['"', '\'', '”', '’', '」', '』', ')', '）', '】'];

/// One chunk: a slice of the original text and the sentences (or sentence pieces) in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Byte range of the chunk in the text.
    pub range: Range<usize>,
    /// Byte ranges of its sentences, in order, inside `range`.
    pub sentences: Vec<Range<usize>>,
}

/// Byte ranges of the sentences of `text`, trimmed, empty ones left out.
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let ends = HARD_ENDS.contains(&c)
            || (SOFT_ENDS.contains(&c)
                && chars
                    .peek()
                    .is_none_or(|(_, n)| n.is_whitespace() || CLOSERS.contains(n)));
        if !ends {
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, n)) = chars.peek() {
            if CLOSERS.contains(&n) || HARD_ENDS.contains(&n) && n != '\n' {
                end = j + n.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        push_trimmed(text, start..end, &mut out);
        start = end;
    }
    push_trimmed(text, start..text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let slice = &text[range.clone()];
    let lead = slice.len() - slice.trim_start().len();
    let trail = slice.len() - slice.trim_end().len();
    if lead + trail < slice.len() {
        out.push(range.start + lead..range.end - trail);
    }
}

/// Plans the chunks of `text` for a window of `budget` tokens (special tokens not counted).
/// `offsets` tokenizes a piece of text without special tokens and returns each token's byte
/// range within that piece.
pub fn plan<E>(
    text: &str,
    budget: usize,
    mut offsets: impl FnMut(&str) -> Result<Vec<(usize, usize)>, E>,
) -> Result<Vec<Chunk>, E> {
    let budget = budget.max(2);
    let mut pieces: Vec<(Range<usize>, usize)> = Vec::new();
    for sentence in sentences(text) {
        let piece_len = sentence.len();
        // Offsets outside the piece (some tokenizers give special pieces none) are dropped.
        let tokens: Vec<(usize, usize)> = offsets(&text[sentence.clone()])?
            .into_iter()
            .filter(|&(s, e)| s < e && e <= piece_len)
            .collect();
        if tokens.len() <= budget {
            pieces.push((sentence, tokens.len().max(1)));
            continue;
        }
        // Too long for one window: overlapping windows of tokens, an eighth shared.
        let stride = budget - budget / 8;
        let mut first = 0;
        loop {
            let last = (first + budget).min(tokens.len());
            let range = sentence.start + tokens[first].0..sentence.start + tokens[last - 1].1;
            pieces.push((range, last - first));
            if last == tokens.len() {
                break;
            }
            first += stride;
        }
    }
    Ok(pack(&pieces, budget))
}

/// Packs pieces (range, tokens) greedily into chunks of at most `budget` tokens; a new chunk
/// starts with the previous chunk's last piece when that piece is short (half the
/// budget at most) and both fit.
fn pack(pieces: &[(Range<usize>, usize)], budget: usize) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut used = 0;
    for (i, (_, tokens)) in pieces.iter().enumerate() {
        if !current.is_empty() && used + tokens > budget {
            chunks.push(chunk_of(pieces, &current));
            let carried = current.last().copied().filter(|&last| {
                let carry = pieces[last].1;
                carry <= budget / 2 && carry + tokens <= budget
            });
            current.clear();
            used = 0;
            if let Some(last) = carried {
                current.push(last);
                used = pieces[last].1;
            }
        }
        current.push(i);
        used += tokens;
    }
    if !current.is_empty() {
        chunks.push(chunk_of(pieces, &current));
    }
    chunks
}

fn chunk_of(pieces: &[(Range<usize>, usize)], members: &[usize]) -> Chunk {
    let sentences: Vec<Range<usize>> = members.iter().map(|&i| pieces[i].0.clone()).collect();
    let start = sentences.iter().map(|r| r.start).min().unwrap_or(0);
    let end = sentences.iter().map(|r| r.end).max().unwrap_or(0);
    Chunk {
        range: start..end,
        sentences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One token per word, and per character for CJK text (as WordPiece and Unigram do).
    fn words(piece: &str) -> Result<Vec<(usize, usize)>, ()> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in piece.char_indices() {
            let cjk = ('\u{4e00}'..='\u{9fff}').contains(&c);
            if c.is_whitespace() || cjk {
                if let Some(s) = start.take() {
                    out.push((s, i));
                }
                if cjk {
                    out.push((i, i + c.len_utf8()));
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            out.push((s, piece.len()));
        }
        Ok(out)
    }

    fn texts<'a>(text: &'a str, ranges: &[Range<usize>]) -> Vec<&'a str> {
        ranges.iter().map(|r| &text[r.clone()]).collect()
    }

    #[test]
    fn sentences_end_at_latin_and_chinese_marks() {
        let text = "Hello there. Pi is 3.14! Is it? \"Yes.\" 你好。今天很好！真的吗？\nlast line";
        assert_eq!(
            texts(text, &sentences(text)),
            [
                "Hello there.",
                "Pi is 3.14!",
                "Is it?",
                "\"Yes.\"",
                "你好。",
                "今天很好！",
                "真的吗？",
                "last line"
            ]
        );
        assert!(sentences("  \n ").is_empty());
    }

    #[test]
    fn short_texts_are_one_chunk() {
        let text = "One sentence. Two sentences.";
        let chunks = plan(text, 50, words).unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(&text[chunks[0].range.clone()], text);
        assert_eq!(chunks[0].sentences.len(), 2);
    }

    #[test]
    fn long_texts_pack_sentences_with_overlap() {
        let text = "a b c. d e f. g h i. j k l. m n o.";
        let chunks = plan(text, 7, words).unwrap();
        let got: Vec<&str> = chunks.iter().map(|c| &text[c.range.clone()]).collect();
        // Three words a sentence, at most seven a chunk: two sentences each, and each chunk
        // but the first starts with the last sentence of the one before.
        assert_eq!(
            got,
            [
                "a b c. d e f.",
                "d e f. g h i.",
                "g h i. j k l.",
                "j k l. m n o."
            ]
        );
    }

    #[test]
    fn chinese_without_punctuation_is_cut_into_overlapping_windows() {
        let text: String = "我们今天在这里说话".repeat(4);
        let chunks = plan(&text, 10, words).unwrap();
        assert!(chunks.len() >= 4, "{chunks:?}");
        for chunk in &chunks {
            assert!(text[chunk.range.clone()].chars().count() <= 10);
        }
        // Consecutive windows share characters, and together they cover the whole text.
        assert!(chunks.windows(2).all(|w| w[1].range.start < w[0].range.end));
        assert_eq!(chunks[0].range.start, 0);
        assert_eq!(chunks.last().unwrap().range.end, text.len());
    }
}
