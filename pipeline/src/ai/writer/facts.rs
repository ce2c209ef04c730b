//! What is known of an act, and the fact checker every host line must pass: names and titles
//! exactly as given, nothing invented, the show's language, one short plain line.

use std::fmt;

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

/// A neighbouring act, named in thanks or as a teaser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActRef {
    pub title: String,
    pub creator: String,
}

/// The facts of one act: everything a host line may name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActFacts {
    pub title: String,
    pub creator: String,
    /// The submission's category (`music`, `dance`, `短片`, …).
    pub category: String,
    /// Other people credited in the act.
    pub credits: Vec<String>,
    /// The act before, if any.
    pub prev: Option<ActRef>,
    /// The act after, if any.
    pub next: Option<ActRef>,
}

impl ActFacts {
    /// Every name, title and category the line may use.
    pub fn known(&self) -> Vec<&str> {
        let mut known = vec![
            self.title.as_str(),
            self.creator.as_str(),
            self.category.as_str(),
        ];
        known.extend(self.credits.iter().map(String::as_str));
        for r in self.prev.iter().chain(self.next.iter()) {
            known.push(&r.title);
            known.push(&r.creator);
        }
        known.retain(|k| !k.trim().is_empty());
        known
    }
}

/// The show's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Zh,
    En,
}

impl Language {
    /// `zh` or `en` (also `zh-CN`, `en-US`, …).
    pub fn parse(s: &str) -> Option<Language> {
        let s = s.trim().to_ascii_lowercase();
        match s.split(['-', '_']).next() {
            Some("zh") => Some(Language::Zh),
            Some("en") => Some(Language::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
        }
    }

    /// The other show language.
    pub fn other(self) -> Language {
        match self {
            Language::Zh => Language::En,
            Language::En => Language::Zh,
        }
    }
}

/// Why a line was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Empty,
    /// Markup, several lines, or other things a presenter cannot say.
    Markup(String),
    TooLong {
        chars: usize,
        max: usize,
    },
    WrongLanguage {
        expected: Language,
    },
    /// Neither the act's title nor its creator is named.
    ActNotNamed,
    /// A quoted or title-like span that is not a given title or name.
    InventedTitle(String),
    /// A person or place name that is not in the facts.
    InventedName(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => write!(f, "empty line"),
            Problem::Markup(m) => write!(f, "not a plain line: {m}"),
            Problem::TooLong { chars, max } => write!(f, "too long: {chars} > {max} characters"),
            Problem::WrongLanguage { expected } => {
                write!(f, "not in the show's language ({})", expected.code())
            }
            Problem::ActNotNamed => write!(f, "names neither the act's title nor its creator"),
            Problem::InventedTitle(t) => write!(f, "title not in the facts: {t}"),
            Problem::InventedName(n) => write!(f, "name not in the facts: {n}"),
        }
    }
}

/// Stands in for a known name or title once found, so that later rules skip it.
const KNOWN: char = '\u{E000}';

/// True for CJK ideographs.
pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// CJK ideographs and Latin letters in `text`.
pub fn script_counts(text: &str) -> (usize, usize) {
    let cjk = text.chars().filter(|&c| is_cjk(c)).count();
    let latin = text.chars().filter(char::is_ascii_alphabetic).count();
    (cjk, latin)
}

/// True when `text` reads as `language`: mostly CJK for zh, mostly Latin for en.
pub fn is_language(text: &str, language: Language) -> bool {
    let (cjk, latin) = script_counts(text);
    let total = (cjk + latin) as f64;
    match language {
        Language::Zh => cjk > 0 && cjk as f64 / total >= 0.7,
        Language::En => latin > 0 && latin as f64 / total >= 0.9,
    }
}

/// `text` with every known name, title and category replaced by one placeholder character
/// (longest first; Latin letters compared without case).
fn mask_known(text: &str, facts: &ActFacts) -> (String, bool) {
    let known = facts.known();
    let Ok(ac) = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(&known)
    else {
        return (text.to_string(), false);
    };
    let mut act_named = false;
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in ac.find_iter(text) {
        let k = known[m.pattern().as_usize()];
        if k == facts.title || k == facts.creator {
            act_named = true;
        }
        out.push_str(&text[last..m.start()]);
        out.push(KNOWN);
        last = m.end();
    }
    out.push_str(&text[last..]);
    (out, act_named)
}

/// The problems of a host line for the act `facts` in `language`; empty when it passes.
pub fn check_line(
    text: &str,
    facts: &ActFacts,
    language: Language,
    max_chars: usize,
) -> Vec<Problem> {
    let text = text.trim();
    if text.is_empty() {
        return vec![Problem::Empty];
    }
    let mut problems = Vec::new();
    if let Some(m) = markup(text) {
        problems.push(Problem::Markup(m));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        problems.push(Problem::TooLong {
            chars,
            max: max_chars,
        });
    }
    let (masked, act_named) = mask_known(text, facts);
    if !act_named {
        problems.push(Problem::ActNotNamed);
    }
    if !is_language(&masked, language) {
        problems.push(Problem::WrongLanguage { expected: language });
    }
    problems.extend(
        quoted_spans(&masked)
            .into_iter()
            .map(Problem::InventedTitle),
    );
    problems.extend(latin_names(&masked).into_iter().map(Problem::InventedName));
    problems.extend(cjk_names(&masked).into_iter().map(Problem::InventedName));
    problems
}

fn markup(text: &str) -> Option<String> {
    if text.contains('\n') {
        return Some("more than one line".into());
    }
    for bad in [
        "<", ">", "`", "**", "##", "[", "]", "{", "}", "|", "http", "\\", "\u{FFFD}",
    ] {
        if text.contains(bad) {
            return Some(format!("contains {bad:?}"));
        }
    }
    if text.chars().any(|c| c.is_control()) {
        return Some("control characters".into());
    }
    None
}

/// Quoted spans (“…”, "…", 《…》, 「…」, ‘…’, «…») that are not exactly a known string.
fn quoted_spans(masked: &str) -> Vec<String> {
    let pairs = [
        ('“', '”'),
        ('"', '"'),
        ('《', '》'),
        ('「', '」'),
        ('『', '』'),
        ('‘', '’'),
        ('«', '»'),
    ];
    let mut found = Vec::new();
    for (open, close) in pairs {
        let mut rest = masked;
        while let Some(start) = rest.find(open) {
            let after = &rest[start + open.len_utf8()..];
            let Some(end) = after.find(close) else { break };
            let inner = &after[..end];
            let bare: String = inner
                .chars()
                .filter(|c| !c.is_whitespace() && !is_punct(*c))
                .collect();
            if !bare.is_empty() && bare.chars().any(|c| c != KNOWN) {
                found.push(inner.replace(KNOWN, "…"));
            }
            rest = &after[end + close.len_utf8()..];
        }
    }
    found
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() || "，。！？、：；…—".contains(c)
}

/// Words a line may capitalize in a run without naming anyone.
const COMMON: &[&str] = &[
    "A",
    "An",
    "And",
    "Are",
    "Be",
    "Big",
    "Coming",
    "Enjoy",
    "Everyone",
    "Folks",
    "For",
    "Friends",
    "Gentlemen",
    "Give",
    "Hands",
    "Here",
    "It",
    "Its",
    "Ladies",
    "Let",
    "Lets",
    "Next",
    "Now",
    "Our",
    "Please",
    "So",
    "Stay",
    "Thank",
    "Thanks",
    "That",
    "The",
    "This",
    "Tonight",
    "Up",
    "We",
    "Welcome",
    "What",
    "With",
    "You",
    "Your",
    "I",
    "OK",
];

/// Runs of two or more capitalized Latin words (person or place names) outside the facts.
fn latin_names(masked: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, found: &mut Vec<String>| {
        if run.len() >= 2 && run.iter().any(|w| !COMMON.contains(w)) {
            found.push(run.join(" "));
        }
        run.clear();
    };
    for raw in masked.split(|c: char| c.is_whitespace() || c == KNOWN) {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'');
        let word = word.trim_end_matches("'s").trim_matches('\'');
        let capitalized = word.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && word
                .chars()
                .all(|c| c.is_alphabetic() || c == '-' || c == '\'');
        if capitalized {
            run.push(word);
        } else {
            flush(&mut run, &mut found);
        }
        // Punctuation after a word ends the run ("Thanks, Mei").
        if capitalized && raw.ends_with(|c: char| c.is_ascii_punctuation() && c != '\'') {
            flush(&mut run, &mut found);
        }
    }
    flush(&mut run, &mut found);
    found
}

/// Words after which Chinese names a person or place.
const CJK_INTRO: &[&str] = &["有请", "欢迎", "来自", "感谢", "谢谢", "掌声送给"];
/// What may follow those words without naming anyone.
const CJK_COMMON: &[&str] = &[
    "大家",
    "各位",
    "您",
    "你们",
    "观众",
    "回来",
    "收看",
    "来到",
    "下一",
    "我们",
    "朋友",
    "这位",
    "这",
    "接下来",
    "今晚",
    "精彩",
    "带来",
    "的",
    "上",
    "他",
    "她",
];
/// Titles after a Chinese name.
const CJK_TITLES: &[&str] = &["老师", "先生", "女士", "同学", "教授", "小姐"];

/// CJK names outside the facts: the words right after 有请/欢迎/来自/…, or before 老师/先生/….
fn cjk_names(masked: &str) -> Vec<String> {
    let mut found = Vec::new();
    for intro in CJK_INTRO {
        for (i, _) in masked.match_indices(intro) {
            let after = &masked[i + intro.len()..];
            if CJK_COMMON.iter().any(|c| after.starts_with(c)) {
                continue;
            }
            let name: String = after.chars().take_while(|&c| is_cjk(c)).take(4).collect();
            if name.chars().count() >= 2 {
                found.push(name);
            }
        }
    }
    for title in CJK_TITLES {
        for (i, _) in masked.match_indices(title) {
            if masked[i + title.len()..].starts_with('们') {
                continue;
            }
            let before: Vec<char> = masked[..i]
                .chars()
                .rev()
                .take_while(|&c| is_cjk(c))
                .take(3)
                .collect();
            if before.len() >= 2 {
                found.push(before.into_iter().rev().collect());
            }
        }
    }
    found
}
