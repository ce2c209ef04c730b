//! The deterministic writer: varied host lines from templates in Chinese and English, chosen by
//! a hash of the act, naming only the facts. The default when no model is configured and the
//! fallback when the model's lines fail the checker.

use super::facts::{check_line, ActFacts, Language};

/// Who wrote a line of this writer.
pub const NAME: &str = "deterministic";

const ZH_PREV: &[&str] = &[
    "感谢{prev_creator}带来的《{prev_title}》。",
    "刚才是{prev_creator}的《{prev_title}》，谢谢！",
    "《{prev_title}》真精彩，谢谢{prev_creator}。",
];
const ZH_MAIN: &[&str] = &[
    "接下来请欣赏{creator}的{category}作品《{title}》。",
    "下面是{creator}带来的《{title}》。",
    "让我们一起来看{creator}的《{title}》。",
    "掌声送给{creator}，作品《{title}》！",
    "下一个节目：{creator}的{category}《{title}》。",
];
const ZH_CREDITS: &[&str] = &["参与者还有{credits}。", "一同出演的有{credits}。"];
const ZH_NEXT: &[&str] = &[
    "之后还有{next_creator}的《{next_title}》。",
    "稍后是《{next_title}》。",
];

const EN_PREV: &[&str] = &[
    "Thank you, {prev_creator}, for “{prev_title}”.",
    "That was “{prev_title}” by {prev_creator}.",
    "What a moment from {prev_creator}.",
];
const EN_MAIN: &[&str] = &[
    "Next up: “{title}”, a {category} piece by {creator}.",
    "Please welcome {creator} with “{title}”.",
    "Here is {creator} with “{title}”.",
    "Coming up now, “{title}” from {creator}.",
    "Let's enjoy “{title}”, by {creator}.",
];
const EN_CREDITS: &[&str] = &["With {credits}.", "Also featuring {credits}."];
const EN_NEXT: &[&str] = &[
    "After that, “{next_title}” by {next_creator}.",
    "Stay for “{next_title}” later.",
];

/// FNV-1a over the act's facts and the language: the same act gets the same line.
fn seed(facts: &ActFacts, language: Language) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        facts.title.as_str(),
        facts.creator.as_str(),
        facts.category.as_str(),
        language.code(),
    ] {
        for b in part.as_bytes().iter().chain([0u8].iter()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn fill(template: &str, facts: &ActFacts, language: Language) -> String {
    let sep = match language {
        Language::Zh => "、",
        Language::En => ", ",
    };
    let fallback_category = match language {
        Language::Zh => "",
        Language::En => "new",
    };
    let category = if facts.category.trim().is_empty() {
        fallback_category
    } else {
        facts.category.as_str()
    };
    let mut s = template
        .replace("{title}", &facts.title)
        .replace("{creator}", &facts.creator)
        .replace("{category}", category)
        .replace("{credits}", &facts.credits.join(sep));
    if let Some(p) = &facts.prev {
        s = s
            .replace("{prev_title}", &p.title)
            .replace("{prev_creator}", &p.creator);
    }
    if let Some(n) = &facts.next {
        s = s
            .replace("{next_title}", &n.title)
            .replace("{next_creator}", &n.creator);
    }
    s
}

fn pick<'a>(list: &'a [&'a str], h: u64, salt: u64) -> &'a str {
    let i = (h.rotate_left(salt as u32 * 13) % list.len() as u64) as usize;
    list[i]
}

/// Candidate lines, the seeded choice with every optional part first, shorter ones after.
fn candidates(facts: &ActFacts, language: Language) -> Vec<String> {
    let (prev, main, credits, next) = match language {
        Language::Zh => (ZH_PREV, ZH_MAIN, ZH_CREDITS, ZH_NEXT),
        Language::En => (EN_PREV, EN_MAIN, EN_CREDITS, EN_NEXT),
    };
    let h = seed(facts, language);
    let joiner = match language {
        Language::Zh => "",
        Language::En => " ",
    };
    let has_prev = facts
        .prev
        .as_ref()
        .is_some_and(|p| !p.title.is_empty() && !p.creator.is_empty());
    let has_next = facts
        .next
        .as_ref()
        .is_some_and(|n| !n.title.is_empty() && !n.creator.is_empty());
    let has_credits = !facts.credits.is_empty();
    let mut out = Vec::new();
    // Every main template in turn, starting at the seeded one; for each, the optional parts
    // from all to none.
    for k in 0..main.len() {
        let m = main[(h as usize + k) % main.len()];
        for (use_prev, use_credits, use_next) in [
            (true, true, true),
            (true, false, true),
            (true, false, false),
            (false, true, false),
            (false, false, true),
            (false, false, false),
        ] {
            let mut parts = Vec::new();
            if use_prev && has_prev {
                parts.push(pick(prev, h, 1));
            }
            parts.push(m);
            if use_credits && has_credits {
                parts.push(pick(credits, h, 2));
            }
            if use_next && has_next {
                parts.push(pick(next, h, 3));
            }
            out.push(fill(&parts.join(joiner), facts, language));
        }
    }
    out
}

/// A line for the act that passes [`check_line`], or (when even the shortest template cannot,
/// for example for a title longer than `max_chars`) the shortest candidate.
pub fn write(facts: &ActFacts, language: Language, max_chars: usize) -> String {
    let all = candidates(facts, language);
    if let Some(ok) = all
        .iter()
        .find(|c| check_line(c, facts, language, max_chars).is_empty())
    {
        return ok.clone();
    }
    all.into_iter()
        .min_by_key(|c| c.chars().count())
        .unwrap_or_default()
}
