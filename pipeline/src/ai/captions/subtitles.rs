//! WebVTT and SubRip: writing cues out, and reading the captions a person uploads or edits.

use super::Cue;

/// Why a caption file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubtitleError {
    #[error("a WebVTT file starts with WEBVTT")]
    NotWebVtt,
    #[error("line {line}: bad timing line {text:?} (want 00:00:01.000 --> 00:00:02.500)")]
    BadTiming { line: usize, text: String },
    #[error("line {line}: the cue ends before it starts")]
    Backwards { line: usize },
}

/// WebVTT text of the cues.
pub fn to_vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n");
    for cue in cues {
        out.push_str(&format!(
            "\n{} --> {}\n{}\n",
            stamp(cue.start_ms, '.'),
            stamp(cue.end_ms, '.'),
            clean(&cue.text)
        ));
    }
    out
}

/// SubRip text of the cues, numbered from 1.
pub fn to_srt(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (i, cue) in cues.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n",
            i + 1,
            stamp(cue.start_ms, ','),
            stamp(cue.end_ms, ','),
            clean(&cue.text)
        ));
    }
    out
}

/// Cues of a WebVTT file (NOTE, STYLE and REGION blocks and cue settings are ignored).
pub fn parse_vtt(text: &str) -> Result<Vec<Cue>, SubtitleError> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default();
    if !(first == "WEBVTT" || first.starts_with("WEBVTT ") || first.starts_with("WEBVTT\t")) {
        return Err(SubtitleError::NotWebVtt);
    }
    parse_blocks(text, true)
}

/// Cues of a SubRip file.
pub fn parse_srt(text: &str) -> Result<Vec<Cue>, SubtitleError> {
    parse_blocks(text.trim_start_matches('\u{feff}'), false)
}

/// Blocks are separated by blank lines; a cue block has a timing line, optionally after an
/// identifier line, and then its text.
fn parse_blocks(text: &str, vtt: bool) -> Result<Vec<Cue>, SubtitleError> {
    let mut cues = Vec::new();
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && !lines[i].trim().is_empty() {
            i += 1;
        }
        let block = &lines[start..i];
        let Some(t) = block.iter().position(|l| l.contains("-->")) else {
            // WEBVTT header, NOTE, STYLE, REGION, or a stray number: no cue.
            let known = block[0].starts_with("WEBVTT")
                || ["NOTE", "STYLE", "REGION"]
                    .iter()
                    .any(|k| block[0].starts_with(k));
            if vtt && !known && start > 0 {
                return Err(SubtitleError::BadTiming {
                    line: start + 1,
                    text: block[0].into(),
                });
            }
            continue;
        };
        if t > 1 || (vtt && block[0].starts_with("NOTE")) {
            return Err(SubtitleError::BadTiming {
                line: start + t + 1,
                text: block[t].into(),
            });
        }
        let line = start + t + 1;
        let bad = || SubtitleError::BadTiming {
            line,
            text: block[t].into(),
        };
        let (a, b) = block[t].split_once("-->").ok_or_else(bad)?;
        let start_ms = parse_stamp(a.trim()).ok_or_else(bad)?;
        let end = b.split_whitespace().next().ok_or_else(bad)?;
        let end_ms = parse_stamp(end).ok_or_else(bad)?;
        if end_ms < start_ms {
            return Err(SubtitleError::Backwards { line });
        }
        cues.push(Cue {
            start_ms,
            end_ms,
            text: block[t + 1..].join("\n"),
        });
    }
    Ok(cues)
}

/// `hh:mm:ss.mmm` (or `,` for SubRip); hours may be left out in WebVTT.
fn parse_stamp(s: &str) -> Option<i64> {
    let (clock, millis) = s.split_once(['.', ','])?;
    if millis.len() != 3 || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<i64> = clock
        .split(':')
        .map(|p| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    let (h, m, sec) = match parts.as_slice() {
        [h, m, s] => (*h, *m, *s),
        [m, s] => (0, *m, *s),
        _ => return None,
    };
    if m >= 60 || sec >= 60 {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1000 + millis.parse::<i64>().ok()?)
}

fn stamp(ms: i64, sep: char) -> String {
    let ms = ms.max(0);
    let (h, m, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{f:03}")
}

/// Cue text without blank lines (a blank line would end the cue) or the `-->` arrow.
fn clean(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("\n").replace("-->", "->")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cues() -> Vec<Cue> {
        vec![
            Cue {
                start_ms: 1_250,
                end_ms: 3_000,
                text: "Good evening.".into(),
            },
            Cue {
                start_ms: 3_723_004,
                end_ms: 3_725_000,
                text: "Two\nlines".into(),
            },
        ]
    }

    #[test]
    fn vtt_round_trips() {
        let vtt = to_vtt(&cues());
        assert!(vtt.starts_with("WEBVTT\n\n00:00:01.250 --> 00:00:03.000\nGood evening.\n"));
        assert!(vtt.contains("01:02:03.004 --> 01:02:05.000\nTwo\nlines\n"));
        assert_eq!(parse_vtt(&vtt).unwrap(), cues());
    }

    #[test]
    fn srt_round_trips() {
        let srt = to_srt(&cues());
        assert!(srt.starts_with("1\n00:00:01,250 --> 00:00:03,000\nGood evening.\n\n2\n"));
        assert_eq!(parse_srt(&srt).unwrap(), cues());
        assert_eq!(parse_srt(&srt.replace('\n', "\r\n")).unwrap(), cues());
    }

    #[test]
    fn hand_written_vtt_with_ids_notes_and_settings() {
        let text = "\u{feff}WEBVTT - edited\n\nNOTE checked by Ana\n\nintro\n00:01.000 --> 00:02.500 align:start\nHello\n";
        let got = parse_vtt(text).unwrap();
        assert_eq!(
            got,
            vec![Cue {
                start_ms: 1000,
                end_ms: 2500,
                text: "Hello".into()
            }]
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_line() {
        assert_eq!(
            parse_vtt("1\n00:00:01,000 --> 00:00:02,000\nx"),
            Err(SubtitleError::NotWebVtt)
        );
        let err = parse_srt("1\n00:00:01.5 --> 00:00:02,000\nx\n").unwrap_err();
        assert!(
            matches!(err, SubtitleError::BadTiming { line: 2, .. }),
            "{err}"
        );
        let err = parse_srt("1\n00:00:03,000 --> 00:00:02,000\nx\n").unwrap_err();
        assert_eq!(err, SubtitleError::Backwards { line: 2 });
        let err = parse_vtt("WEBVTT\n\n00:00:01.000 --> 00:01:99.000\nx\n").unwrap_err();
        assert!(
            matches!(err, SubtitleError::BadTiming { line: 3, .. }),
            "{err}"
        );
    }
}
