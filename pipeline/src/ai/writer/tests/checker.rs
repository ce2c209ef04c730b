use crate::ai::writer::deterministic;
use crate::ai::writer::facts::{check_line, ActFacts, ActRef, Language, Problem};

fn facts() -> ActFacts {
    ActFacts {
        title: "Moonlight Bicycle".into(),
        creator: "Mei Lin".into(),
        category: "music".into(),
        credits: vec!["Zhang Wei".into()],
        prev: Some(ActRef {
            title: "Paper Boats".into(),
            creator: "Tom Hardy Jr".into(),
        }),
        next: Some(ActRef {
            title: "夜市".into(),
            creator: "王芳".into(),
        }),
    }
}

#[test]
fn a_line_naming_only_the_facts_passes() {
    let f = facts();
    let ok = "Please welcome Mei Lin with “Moonlight Bicycle”, joined by Zhang Wei.";
    assert_eq!(check_line(ok, &f, Language::En, 120), vec![]);
    let zh = "谢谢Tom Hardy Jr，接下来是Mei Lin的《Moonlight Bicycle》！";
    assert_eq!(check_line(zh, &f, Language::Zh, 120), vec![]);
}

#[test]
fn invented_names_and_titles_are_rejected() {
    let f = facts();
    let p = check_line(
        "Please welcome Mei Lin, all the way from New York!",
        &f,
        Language::En,
        120,
    );
    assert!(
        p.contains(&Problem::InventedName("New York".into())),
        "{p:?}"
    );
    let p = check_line(
        "Here is Mei Lin with “Moonlight Sonata”.",
        &f,
        Language::En,
        120,
    );
    assert!(
        p.iter()
            .any(|x| matches!(x, Problem::InventedTitle(t) if t.contains("Sonata"))),
        "{p:?}"
    );
    let p = check_line(
        "下面有请李娜带来《Moonlight Bicycle》。",
        &f,
        Language::Zh,
        120,
    );
    assert!(
        p.iter()
            .any(|x| matches!(x, Problem::InventedName(n) if n.starts_with("李娜"))),
        "{p:?}"
    );
    let p = check_line(
        "下面是陈静老师的《Moonlight Bicycle》。",
        &f,
        Language::Zh,
        120,
    );
    assert!(
        p.iter()
            .any(|x| matches!(x, Problem::InventedName(n) if n.contains("陈静"))),
        "{p:?}"
    );
    let p = check_line("下面是Mei Lin的《月光单车》。", &f, Language::Zh, 120);
    assert!(
        p.contains(&Problem::InventedTitle("月光单车".into())),
        "{p:?}"
    );
}

#[test]
fn length_language_markup_and_the_act_itself_are_checked() {
    let f = facts();
    let long = format!(
        "Here is Mei Lin with “Moonlight Bicycle”{}",
        ", yes".repeat(30)
    );
    assert!(check_line(&long, &f, Language::En, 120)
        .iter()
        .any(|p| matches!(p, Problem::TooLong { .. })));
    let p = check_line(
        "Here is Mei Lin with “Moonlight Bicycle”.",
        &f,
        Language::Zh,
        120,
    );
    assert!(
        p.contains(&Problem::WrongLanguage {
            expected: Language::Zh
        }),
        "{p:?}"
    );
    let p = check_line(
        "接下来是Mei Lin的精彩表演，请大家欣赏。",
        &f,
        Language::En,
        120,
    );
    assert!(
        p.contains(&Problem::WrongLanguage {
            expected: Language::En
        }),
        "{p:?}"
    );
    let p = check_line("**Mei Lin** performs <b>now</b>", &f, Language::En, 120);
    assert!(p.iter().any(|p| matches!(p, Problem::Markup(_))), "{p:?}");
    assert_eq!(
        check_line("  ", &f, Language::En, 120),
        vec![Problem::Empty]
    );
    let p = check_line(
        "Please give a warm welcome to our next act.",
        &f,
        Language::En,
        120,
    );
    assert_eq!(p, vec![Problem::ActNotNamed]);
}

#[test]
fn deterministic_lines_pass_the_checker_and_vary() {
    let mut lines = std::collections::BTreeSet::new();
    for i in 0..40 {
        let mut f = facts();
        f.title = format!("Song {i}");
        f.creator = ["Mei Lin", "李雷", "DJ Ko", "韩梅梅"][i % 4].into();
        if i % 3 == 0 {
            f.prev = None;
            f.credits.clear();
        }
        if i % 5 == 0 {
            f.next = None;
            f.category.clear();
        }
        for lang in [Language::Zh, Language::En] {
            let line = deterministic::write(&f, lang, 120);
            assert_eq!(check_line(&line, &f, lang, 120), vec![], "{line}");
            assert_eq!(
                line,
                deterministic::write(&f, lang, 120),
                "seeded by the act"
            );
            let shape: String = line.replace(&f.title, "T").replace(&f.creator, "C");
            lines.insert(shape);
        }
    }
    assert!(lines.len() >= 8, "templates vary: {lines:?}");
}
