//! Line breaking for every text the render draws (cards, slates, lower thirds, captions):
//! per word in Latin scripts, per character in CJK, never starting a line with closing
//! punctuation. Widths come from the caller (a font at a size).

/// Whether `c` is written without spaces between words (CJK ideographs, kana, Hangul, and
/// full-width forms): such text may break before any character.
pub fn breaks_anywhere(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FFF      // CJK radicals, Kangxi
        | 0x3000..=0x303F    // CJK symbols and punctuation
        | 0x3040..=0x30FF    // kana
        | 0x3100..=0x31FF    // bopomofo, kana extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0xFF00..=0xFFEF    // full-width forms
        | 0x20000..=0x3FFFF) // extensions B and later
}

/// Punctuation that must not start a line (it stays with the character before it).
fn closes(c: char) -> bool {
    "，。、；：！？）」』》〉】〕…·,.;:!?)]}%".contains(c)
}

/// The units a line may break between: a CJK character (with any closing punctuation after
/// it), or a Latin word with the spaces after it.
fn units(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if closes(c) && word.is_empty() {
            match out.last_mut() {
                Some(last) => last.push(c),
                None => out.push(c.to_string()),
            }
        } else if breaks_anywhere(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_whitespace() {
            word.push(' ');
            out.push(std::mem::take(&mut word));
        } else {
            if word.ends_with(' ') {
                out.push(std::mem::take(&mut word));
            }
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out.retain(|u| !u.is_empty());
    out
}

/// `text` wrapped into lines no wider than `max_px` as `width` measures them. A Latin word
/// wider than a line is broken between characters; empty paragraphs are dropped.
pub fn lines(text: &str, max_px: f32, width: impl Fn(&str) -> f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for unit in units(paragraph.trim()) {
            let candidate = format!("{line}{unit}");
            if line.is_empty() || width(candidate.trim_end()) <= max_px {
                line = candidate;
            } else {
                lines.push(line.trim_end().to_string());
                line = unit;
            }
            // One unit alone too wide: cut it by characters.
            while width(line.trim_end()) > max_px && line.chars().count() > 1 {
                let mut head = String::new();
                for c in line.chars() {
                    if !head.is_empty() && width(&format!("{head}{c}")) > max_px {
                        break;
                    }
                    head.push(c);
                }
                let rest = line[head.len()..].to_string();
                lines.push(head);
                line = rest;
            }
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_string());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::lines;

    /// One unit of width per character.
    fn mono(t: &str) -> f32 {
        t.chars().count() as f32
    }

    #[test]
    fn latin_breaks_between_words_and_cuts_a_word_too_long() {
        assert_eq!(
            lines("the quick brown fox", 10.0, mono),
            ["the quick", "brown fox"]
        );
        assert_eq!(
            lines("abcdefghij klm", 4.0, mono),
            ["abcd", "efgh", "ij", "klm"]
        );
    }

    #[test]
    fn cjk_breaks_anywhere_but_never_before_closing_punctuation() {
        let got = lines("晚上好，欢迎收看。", 3.0, mono);
        assert_eq!(got.concat(), "晚上好，欢迎收看。");
        assert!(got.iter().all(|l| !l.starts_with(['，', '。'])), "{got:?}");
        assert_eq!(lines("你好 world", 5.0, mono), ["你好", "world"]);
    }

    #[test]
    fn newlines_start_paragraphs_and_empty_ones_are_dropped() {
        assert_eq!(lines("one\n\ntwo  ", 20.0, mono), ["one", "two"]);
        assert!(lines("   ", 20.0, mono).is_empty());
    }
}
