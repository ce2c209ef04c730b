use super::*;

fn list(words: &[(&str, WordSeverity)]) -> WatchList {
    WatchList::new(
        words
            .iter()
            .map(|(w, s)| WordEntry {
                word: w.to_string(),
                category: "test".into(),
                severity: *s,
            })
            .collect(),
    )
    .unwrap()
}

fn found(list: &WatchList, text: &str) -> Vec<(String, usize, usize)> {
    list.find("title", text, None)
        .into_iter()
        .map(|h| (h.matched, h.start, h.end))
        .collect()
}

#[test]
fn latin_words_match_whole_words_only() {
    let l = list(&[("ass", WordSeverity::Review)]);
    assert!(found(&l, "a classic passage, classy").is_empty());
    assert_eq!(found(&l, "what an ass."), vec![("ass".into(), 8, 11)]);
    assert_eq!(found(&l, "ass"), vec![("ass".into(), 0, 3)]);
}

#[test]
fn case_and_full_width_are_folded() {
    let l = list(&[
        ("drugs", WordSeverity::Reject),
        ("ｂｅｔ ３６５", WordSeverity::Review),
    ]);
    let hits = l.find(
        "description",
        "Buy ＤＲＵＧＳ here and DrUgS there; Bet　365 now",
        None,
    );
    let matched: Vec<&str> = hits.iter().map(|h| h.matched.as_str()).collect();
    assert_eq!(matched, vec!["ＤＲＵＧＳ", "DrUgS", "Bet　365"]);
    assert_eq!(hits[0].severity, WordSeverity::Reject);
    assert_eq!(hits[0].source, "description");
    assert_eq!((hits[0].start, hits[0].end), (4, 9));
}

#[test]
fn chinese_words_match_inside_text() {
    let l = list(&[
        ("赌博", WordSeverity::Reject),
        ("代开发票", WordSeverity::Review),
    ]);
    let text = "欢迎来到网络赌博平台，另有代开发票服务";
    let hits = l.find("transcript", text, Some(12_000));
    assert_eq!(hits.len(), 2);
    assert_eq!((hits[0].start, hits[0].end), (6, 8));
    assert_eq!(hits[0].matched, "赌博");
    assert_eq!(hits[0].before, "欢迎来到网络");
    assert_eq!(hits[0].at_ms, Some(12_000));
    assert_eq!(hits[1].matched, "代开发票");
    // A Chinese word next to Latin letters still matches; a Latin word next to Chinese too.
    let mixed = list(&[
        ("vpn", WordSeverity::Review),
        ("翻墙", WordSeverity::Review),
    ]);
    let m = found(&mixed, "用VPN翻墙abc");
    assert_eq!(m, vec![("VPN".into(), 1, 4), ("翻墙".into(), 4, 6)]);
}

#[test]
fn every_overlapping_match_is_reported() {
    let l = list(&[
        ("黑社会", WordSeverity::Reject),
        ("社会", WordSeverity::Review),
    ]);
    let m = found(&l, "黑社会");
    assert_eq!(m, vec![("黑社会".into(), 0, 3), ("社会".into(), 1, 3)]);
}

#[test]
fn context_is_thirty_characters_each_side_with_the_match_marked() {
    let l = list(&[("scam", WordSeverity::Review)]);
    let text = format!("{} scam {}", "a".repeat(50), "b".repeat(50));
    let hits = l.find("description", &text, None);
    assert_eq!(hits.len(), 1);
    let h = &hits[0];
    assert_eq!(h.before.chars().count(), CONTEXT_CHARS);
    assert_eq!(h.after.chars().count(), CONTEXT_CHARS);
    assert_eq!(
        h.snippet(),
        format!("{} «scam» {}", "a".repeat(29), "b".repeat(29))
    );
    assert_eq!((h.start, h.end), (51, 55));
}

#[test]
fn an_empty_list_finds_nothing() {
    let l = list(&[("  ", WordSeverity::Review)]);
    assert!(l.is_empty());
    assert!(found(&l, "anything").is_empty());
}
