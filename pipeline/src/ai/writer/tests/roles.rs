use candle::Device;

use super::Scripted;
use crate::ai::captions::Cue;
use crate::ai::writer::facts::{check_line, ActFacts, Language};
use crate::ai::writer::random::{self, Shape};
use crate::ai::writer::{load, HostWriter, PolicyModel, TranslatorModel, WriterConfig};
use crate::ai::{PolicyJudge, RunControl, Translator};

fn facts() -> ActFacts {
    ActFacts {
        title: "Moonlight Bicycle".into(),
        creator: "Mei Lin".into(),
        category: "music".into(),
        ..ActFacts::default()
    }
}

#[test]
fn a_failed_line_is_written_again_then_accepted() {
    let script = Scripted::new(&[
        "Please welcome Mei Lin, straight from New York!",
        "Here is Mei Lin with “Moonlight Bicycle”.",
    ]);
    let mut writer = HostWriter::new(&WriterConfig::default(), Some(Box::new(script)));
    let mut streamed = String::new();
    let line = writer.write_line(&facts(), Language::En, &mut |p| streamed.push_str(p));
    assert_eq!(line.text, "Here is Mei Lin with “Moonlight Bicycle”.");
    assert_eq!(line.writer, "scripted");
    assert_eq!(line.attempts, 2);
    assert_eq!(
        line.problems,
        vec!["attempt 1: name not in the facts: New York"]
    );
    assert!(streamed.contains("New York") && streamed.ends_with("Bicycle”."));
}

#[test]
fn after_the_last_failed_attempt_the_deterministic_writer_takes_over() {
    let script = Scripted::new(&["<b>Mei Lin</b>", "", "Mei Lin sings “Yesterday”."]);
    let mut writer = HostWriter::new(&WriterConfig::default(), Some(Box::new(script)));
    let line = writer.write_line(&facts(), Language::En, &mut |_| {});
    assert_eq!(line.writer, "deterministic");
    assert_eq!(line.attempts, 3);
    assert_eq!(line.problems.len(), 3, "{:?}", line.problems);
    assert_eq!(check_line(&line.text, &facts(), Language::En, 120), vec![]);
    // No model: deterministic without attempts.
    let mut plain = HostWriter::new(&WriterConfig::default(), None);
    let zh = plain.write_line(&facts(), Language::Zh, &mut |_| {});
    assert_eq!((zh.writer.as_str(), zh.attempts), ("deterministic", 0));
    assert_eq!(check_line(&zh.text, &facts(), Language::Zh, 120), vec![]);
}

#[test]
fn random_model_output_fails_the_checker_and_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    random::write_safetensors(dir.path(), "qwen2-moe", &Shape::tiny(), 1).unwrap();
    let cfg = WriterConfig {
        family: "qwen2-moe".into(),
        path: dir.path().to_path_buf(),
        max_tokens: 16,
        ..WriterConfig::default()
    };
    let model = load(&cfg, &Device::Cpu).unwrap();
    let mut writer = HostWriter::new(&cfg, Some(Box::new(model)));
    let mut pieces = 0;
    let line = writer.write_line(&facts(), Language::Zh, &mut |_| pieces += 1);
    assert_eq!(line.writer, "deterministic", "{line:?}");
    assert_eq!(line.attempts, 3);
    assert_eq!(line.generations.len(), 3);
    assert!(line.problems.len() >= 3);
    assert!(pieces > 0, "the attempts were streamed");
    assert_eq!(check_line(&line.text, &facts(), Language::Zh, 120), vec![]);
}

fn cues() -> Vec<Cue> {
    vec![
        Cue {
            start_ms: 0,
            end_ms: 1500,
            text: "大家好".into(),
        },
        Cue {
            start_ms: 1500,
            end_ms: 4000,
            text: "欢迎收看".into(),
        },
    ]
}

#[test]
fn malformed_subtitles_are_rejected_and_asked_again() {
    let script = Scripted::new(&[
        "1: Hello everyone",                           // 2 missing
        "1: Hello everyone\n2: Welcome\n3: extra",     // 3 not asked for
        "1: 大家好\n2: Welcome",                       // wrong language
        "Sure! Here you go:\n1: Hi\n2: Welcome",       // chatter
        "1: Hello everyone\n\n2: Thanks for watching", // good
    ]);
    let cfg = WriterConfig {
        attempts: 5,
        ..WriterConfig::default()
    };
    let mut tr = TranslatorModel::new(&cfg, Box::new(script));
    let mut done = 0.0;
    let mut progress = |f: f64| done = f;
    let mut ctl = RunControl::unlimited(&mut progress);
    let out = tr.translate(&cues(), "zh", "en", &mut ctl).unwrap();
    assert_eq!(
        out[0],
        Cue {
            start_ms: 0,
            end_ms: 1500,
            text: "Hello everyone".into()
        }
    );
    assert_eq!(
        out[1],
        Cue {
            start_ms: 1500,
            end_ms: 4000,
            text: "Thanks for watching".into()
        }
    );
    assert_eq!(done, 1.0);

    let script = Scripted::new(&["1: a", "1: b", "1: c"]);
    let mut tr = TranslatorModel::new(&WriterConfig::default(), Box::new(script));
    let mut progress = |_: f64| {};
    let mut ctl = RunControl::unlimited(&mut progress);
    let e = tr
        .translate(&cues(), "zh", "en", &mut ctl)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("after 3 attempts") && e.contains("number 2 is missing"),
        "{e}"
    );
}

#[test]
fn malformed_policy_verdicts_are_rejected_and_asked_again() {
    let script = Scripted::new(&[
        "I think it is fine",
        "unsafe\nS99: 1",
        "unsafe\nS2: 9",
        "unsafe",
        "safe\nS1: 1",
        "unsafe\nS2: 3\ns7: 1, 3",
    ]);
    let cfg = WriterConfig {
        attempts: 6,
        ..WriterConfig::default()
    };
    let mut judge = PolicyModel::new(&cfg, Box::new(script));
    let mut progress = |_: f64| {};
    let mut ctl = RunControl::unlimited(&mut progress);
    let fields = [
        ("title", "我的电话 13800000000"),
        ("transcript", "大家好\n外地人都滚出去"),
    ];
    let flags = judge.judge(&fields, &mut ctl).unwrap();
    assert_eq!(flags.len(), 2);
    assert_eq!(flags[0].label, "S2 Hate");
    assert_eq!(flags[0].excerpt, "[transcript] 外地人都滚出去");
    assert_eq!(flags[1].label, "S7 Privacy");
    assert_eq!(
        flags[1].excerpt,
        "[title] 我的电话 13800000000 / [transcript] 外地人都滚出去"
    );
    assert_eq!(flags[0].source, "policy");

    let mut judge = PolicyModel::new(&cfg, Box::new(Scripted::new(&["Safe."])));
    assert_eq!(judge.judge(&fields, &mut ctl).unwrap(), vec![]);
    let mut judge = PolicyModel::new(
        &WriterConfig::default(),
        Box::new(Scripted::new(&["x", "y", "z"])),
    );
    let e = judge.judge(&fields, &mut ctl).unwrap_err().to_string();
    assert!(
        e.contains("no valid policy verdict after 3 attempts"),
        "{e}"
    );
}
