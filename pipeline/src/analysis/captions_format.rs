//! WebVTT and SRT for caption cues: writing both, and reading the WebVTT a reviewer edits.

use crate::ai::captions::Cue;

/// `hh:mm:ss.mmm` (WebVTT) or `hh:mm:ss,mmm` (SRT).
fn timestamp(ms: i64, separator: char) -> String {
    let ms = ms.max(0);
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// Cue text made safe for one cue: no blank lines (they end a cue), no `-->`.
fn cue_text(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.replace("-->", "->"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The cues as a WebVTT file.
pub fn to_vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n");
    for c in cues {
        out.push_str(&format!(
            "\n{} --> {}\n{}\n",
            timestamp(c.start_ms, '.'),
            timestamp(c.end_ms, '.'),
            cue_text(&c.text)
        ));
    }
    out
}

/// The cues as an SRT file (numbered from 1).
pub fn to_srt(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (i, c) in cues.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            timestamp(c.start_ms, ','),
            timestamp(c.end_ms, ','),
            cue_text(&c.text)
        ));
    }
    out
}

/// Why edited captions were refused; the message names the line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CaptionsError {
    pub line: usize,
    pub message: String,
}

/// Reads `hh:mm:ss.mmm` or `mm:ss.mmm` (a comma is accepted for the dot).
fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim().replace(',', ".");
    let (clock, millis) = s.split_once('.')?;
    if millis.len() != 3 {
        return None;
    }
    let millis: i64 = millis.parse().ok()?;
    let parts: Vec<i64> = clock
        .split(':')
        .map(|p| p.parse::<i64>().ok().filter(|v| *v >= 0))
        .collect::<Option<_>>()?;
    let (h, m, sec) = match parts[..] {
        [h, m, s] => (h, m, s),
        [m, s] => (0, m, s),
        _ => return None,
    };
    if m > 59 || sec > 59 {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1000 + millis)
}

/// Cues from WebVTT text (a header line `WEBVTT` optional; cue identifiers and settings after
/// the end time are ignored). Every cue needs text, and an end after its start.
pub fn parse_vtt(text: &str) -> Result<Vec<Cue>, CaptionsError> {
    let mut cues = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let number = i + 1;
        i += 1;
        if line.is_empty() || (number == 1 && line.starts_with("WEBVTT")) {
            continue;
        }
        let Some((start, rest)) = line.split_once("-->") else {
            // A cue identifier: the timing must follow on the next line.
            if lines.get(i).is_some_and(|l| l.contains("-->")) {
                continue;
            }
            return Err(CaptionsError {
                line: number,
                message: "expected a timing line such as 00:00:01.000 --> 00:00:03.500".into(),
            });
        };
        let end = rest.split_whitespace().next().unwrap_or("");
        let bad_time = |what: &str| CaptionsError {
            line: number,
            message: format!("the {what} time is not hh:mm:ss.mmm"),
        };
        let start_ms = parse_timestamp(start).ok_or_else(|| bad_time("start"))?;
        let end_ms = parse_timestamp(end).ok_or_else(|| bad_time("end"))?;
        if end_ms <= start_ms {
            return Err(CaptionsError {
                line: number,
                message: "the cue ends before it starts".into(),
            });
        }
        let mut text_lines = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() {
            text_lines.push(lines[i].trim());
            i += 1;
        }
        if text_lines.is_empty() {
            return Err(CaptionsError {
                line: number,
                message: "the cue has no text".into(),
            });
        }
        cues.push(Cue {
            start_ms,
            end_ms,
            text: text_lines.join("\n"),
        });
    }
    Ok(cues)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(start_ms: i64, end_ms: i64, text: &str) -> Cue {
        Cue {
            start_ms,
            end_ms,
            text: text.into(),
        }
    }

    #[test]
    fn vtt_and_srt_are_written() {
        let cues = [
            cue(1_000, 3_500, "Hello"),
            cue(3_661_001, 3_662_000, "你好\n\n世界"),
        ];
        assert_eq!(
            to_vtt(&cues),
            "WEBVTT\n\n00:00:01.000 --> 00:00:03.500\nHello\n\n01:01:01.001 --> 01:01:02.000\n你好\n世界\n"
        );
        assert_eq!(
            to_srt(&cues),
            "1\n00:00:01,000 --> 00:00:03,500\nHello\n\n2\n01:01:01,001 --> 01:01:02,000\n你好\n世界\n\n"
        );
    }

    #[test]
    fn written_vtt_reads_back() {
        let cues = vec![cue(0, 1_200, "one"), cue(61_000, 62_500, "two\nlines")];
        assert_eq!(parse_vtt(&to_vtt(&cues)).unwrap(), cues);
        let with_ids = "WEBVTT\n\nintro\n00:01.000 --> 00:02.000 align:start\nHi\n";
        assert_eq!(parse_vtt(with_ids).unwrap(), vec![cue(1_000, 2_000, "Hi")]);
    }

    #[test]
    fn bad_vtt_names_the_line() {
        let err = parse_vtt("WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nx\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(parse_vtt("00:00:01 --> 00:00:02.000\nx").is_err());
        assert!(parse_vtt("00:00:01.000 --> 00:00:02.000\n").is_err());
        assert!(parse_vtt("just text").is_err());
    }
}
