//! The text classifier end to end: tiny random-weight models of every family, built into a
//! temporary directory and loaded through `load_text` / `TextClassifier::load`.

use std::path::Path;
use std::time::{Duration, Instant};

use candle::Device;

use super::chunks;
use super::fixtures::{self, Dims};
use super::text::{load_text, TextClassifier};
use super::TextModelConfig;
use crate::ai::{ModelError, RunControl};

const FAMILIES: [&str; 3] = ["xlm-roberta", "deberta-v2", "modernbert"];
const LABELS: [&str; 3] = ["neutral", "toxic", "insult"];

fn build(dir: &Path, family: &str, multi_label: bool) -> TextModelConfig {
    fixtures::text_model(dir, family, &LABELS, &Dims::tiny(), multi_label).unwrap();
    TextModelConfig {
        family: family.into(),
        path: dir.to_path_buf(),
        ..Default::default()
    }
}

fn load(cfg: &TextModelConfig) -> TextClassifier {
    TextClassifier::load(cfg, &Device::Cpu).unwrap()
}

fn transcript() -> String {
    let english = [
        "hello everyone and welcome to the show.",
        "we sing and dance today!",
        "you are a stupid fool.",
        "thank you very much.",
    ];
    let chinese = [
        "大家晚上好。",
        "我们今天很快乐！",
        "你这个笨蛋真讨厌。",
        "谢谢大家。",
    ];
    (0..12)
        .map(|i| format!("{} {}", english[i % 4], chinese[i % 4]))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_family_scores_english_and_chinese_deterministically() {
    for family in FAMILIES {
        let tmp = tempfile::tempdir().unwrap();
        let model = load(&build(tmp.path(), family, false));
        assert_eq!(model.labels(), LABELS, "{family}");
        let english = model.classify("you are a stupid idiot.").unwrap();
        let chinese = model.classify("你这个笨蛋真讨厌。").unwrap();
        assert_eq!(english.len(), 3);
        for scores in [&english, &chinese] {
            let sum: f32 = scores.iter().map(|s| s.score).sum();
            assert!((sum - 1.0).abs() < 1e-4, "{family}: softmax sums to {sum}");
            assert!(scores.iter().all(|s| s.score.is_finite() && s.score > 0.0));
        }
        assert_eq!(
            english.iter().map(|s| s.flag).collect::<Vec<_>>(),
            [false, true, true]
        );
        assert_eq!(
            english,
            model.classify("you are a stupid idiot.").unwrap(),
            "{family}"
        );
        assert_ne!(english, chinese, "{family}: different texts, same scores");
    }
}

#[test]
fn chinese_is_read_character_by_character_not_as_unknown_words() {
    let tmp = tempfile::tempdir().unwrap();
    let model = load(&build(tmp.path(), "xlm-roberta", false));
    let tokenizer = tokenizers::Tokenizer::from_file(tmp.path().join("tokenizer.json")).unwrap();
    let encoding = tokenizer.encode("你这个笨蛋真讨厌。", false).unwrap();
    assert_eq!(
        encoding.get_tokens().len(),
        9,
        "{:?}",
        encoding.get_tokens()
    );
    assert!(
        !encoding.get_tokens().contains(&"[UNK]".to_string()),
        "{:?}",
        encoding.get_tokens()
    );
    assert!(model.chunks("你这个笨蛋真讨厌。").unwrap().len() == 1);
}

#[test]
fn moderate_reports_harmful_labels_per_field_above_the_floor() {
    for family in FAMILIES {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = TextModelConfig {
            report_floor: 0.0,
            ..build(tmp.path(), family, false)
        };
        let mut moderator = load_text(&cfg, &Device::Cpu).unwrap();
        let fields = [
            ("title", "a great show"),
            ("description", "你好，今天唱歌。"),
            ("transcript", ""),
        ];
        let mut progress = Vec::new();
        let mut record = |p: f64| progress.push(p);
        let flags = moderator
            .moderate(&fields, &mut RunControl::unlimited(&mut record))
            .unwrap();
        // Floor 0: every harmful label of every non-empty field, never "neutral".
        assert_eq!(flags.len(), 4, "{family}: {flags:?}");
        for flag in &flags {
            assert!(flag.label == "toxic" || flag.label == "insult");
            assert!(flag.source == "title" || flag.source == "description");
            let field = fields.iter().find(|f| f.0 == flag.source).unwrap().1;
            assert!(field.contains(&flag.excerpt), "{flag:?}");
            assert!(flag.at_ms.is_none());
        }
        assert_eq!(progress.last(), Some(&1.0));
        assert!(progress.windows(2).all(|w| w[0] <= w[1]));

        // An unreachable floor reports nothing; flag_labels narrows what is reported.
        let strict = TextModelConfig {
            report_floor: 1.01,
            ..cfg.clone()
        };
        let mut none = load_text(&strict, &Device::Cpu).unwrap();
        assert!(none
            .moderate(&fields, &mut RunControl::unlimited(&mut |_| {}))
            .unwrap()
            .is_empty());
        let only = TextModelConfig {
            flag_labels: vec!["insult".into()],
            ..cfg
        };
        let mut only = load_text(&only, &Device::Cpu).unwrap();
        let flags = only
            .moderate(&fields, &mut RunControl::unlimited(&mut |_| {}))
            .unwrap();
        assert!(
            flags.len() == 2 && flags.iter().all(|f| f.label == "insult"),
            "{flags:?}"
        );
    }
}

#[test]
fn a_long_bilingual_transcript_is_chunked_and_the_best_sentence_quoted() {
    for family in FAMILIES {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = TextModelConfig {
            report_floor: 0.0,
            ..build(tmp.path(), family, false)
        };
        let model = load(&cfg);
        let text = transcript();
        let chunks = model.chunks(&text).unwrap();
        assert!(chunks.len() >= 3, "{family}: {} chunks", chunks.len());
        let tokenizer =
            tokenizers::Tokenizer::from_file(tmp.path().join("tokenizer.json")).unwrap();
        for chunk in &chunks {
            let n = tokenizer
                .encode(&text[chunk.range.clone()], true)
                .unwrap()
                .len();
            assert!(
                n <= Dims::tiny().positions,
                "{family}: a chunk of {n} tokens"
            );
        }
        let mut moderator: Box<dyn crate::ai::TextModerator> = Box::new(load(&cfg));
        let flags = moderator
            .moderate(
                &[("transcript", &text)],
                &mut RunControl::unlimited(&mut |_| {}),
            )
            .unwrap();
        assert_eq!(flags.len(), 2, "{flags:?}");
        let sentences: Vec<&str> = chunks::sentences(&text)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        for flag in flags {
            // The excerpt is one whole sentence; the score is the best chunk's.
            assert!(
                sentences.contains(&flag.excerpt.as_str()),
                "{family}: {:?}",
                flag.excerpt
            );
            let l = LABELS.iter().position(|l| *l == flag.label).unwrap();
            let best = chunks
                .iter()
                .map(|c| model.classify(&text[c.range.clone()]).unwrap()[l].score)
                .fold(f32::MIN, f32::max);
            assert!(
                (flag.score - best).abs() < 1e-5,
                "{family}: {} vs {best}",
                flag.score
            );
        }
    }
}

#[test]
fn multi_label_models_score_each_label_on_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let model = load(&build(tmp.path(), "modernbert", true));
    let scores = model.classify("hello world").unwrap();
    let sum: f32 = scores.iter().map(|s| s.score).sum();
    assert!(scores.iter().all(|s| s.score > 0.0 && s.score < 1.0));
    assert!(
        (sum - 1.0).abs() > 1e-3,
        "sigmoid scores summing to one: {scores:?}"
    );
}

#[test]
fn summary_counts_every_parameter_read() {
    let tmp = tempfile::tempdir().unwrap();
    let model = load(&build(tmp.path(), "xlm-roberta", false));
    let summary = crate::ai::Model::summary(&model);
    let d = Dims::tiny();
    let (h, i, n) = (d.hidden, d.intermediate, LABELS.len());
    let vocab = fixtures::write_tokenizer(tempfile::tempdir().unwrap().path()).unwrap();
    // Embeddings (words, positions, one token type, layer norm); per layer attention (4
    // linear), two layer norms, the feed-forward pair; the classification head.
    let embeddings = vocab * h + (d.positions + 1) * h + h + 2 * h;
    let layer = 4 * (h * h + h) + 2 * 2 * h + (h * i + i) + (i * h + h);
    let head = (h * h + h) + (h * n + n);
    assert_eq!(
        summary.parameters as usize,
        embeddings + d.layers * layer + head
    );
    assert_eq!(summary.weight_bytes, summary.parameters * 4);
    assert_eq!(summary.role, "text_moderation");
    assert_eq!(summary.format, "safetensors f32");
    assert_eq!(summary.files.len(), 3);
}

#[test]
fn the_time_budget_stops_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut moderator = load_text(&build(tmp.path(), "xlm-roberta", false), &Device::Cpu).unwrap();
    let mut progress = |_| {};
    let mut ctl = RunControl {
        deadline: Some(Instant::now() - Duration::from_secs(1)),
        budget_s: 5,
        progress: &mut progress,
    };
    let err = moderator
        .moderate(&[("title", "hello")], &mut ctl)
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Budget { budget_s: 5, .. }),
        "{err}"
    );
}

fn load_error(cfg: &TextModelConfig) -> String {
    match TextClassifier::load(cfg, &Device::Cpu) {
        Ok(_) => panic!("{cfg:?} loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_model_directories_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = build(tmp.path(), "deberta-v2", false);
    let with = |f: &dyn Fn(&mut TextModelConfig)| {
        let mut c = cfg.clone();
        f(&mut c);
        load_error(&c)
    };
    assert!(matches!(
        TextClassifier::load(&TextModelConfig::default(), &Device::Cpu),
        Err(ModelError::NotConfigured {
            role: "text_moderation"
        })
    ));
    let err = with(&|c| c.family = "xlm-roberta".into());
    assert!(
        err.contains("describes a \"deberta-v2\" model, not xlm-roberta"),
        "{err}"
    );
    let err = with(&|c| c.family = "bert".into());
    assert!(err.contains("unknown family \"bert\""), "{err}");
    let err = with(&|c| c.path = tmp.path().join("nowhere"));
    assert!(err.contains("does not exist"), "{err}");
    let err = with(&|c| c.flag_labels = vec!["spam".into()]);
    assert!(
        err.contains("\"spam\" is not one of the model's labels"),
        "{err}"
    );

    let edit = |name: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let other = tempfile::tempdir().unwrap();
        let c = build(other.path(), "xlm-roberta", false);
        let path = other.path().join(name);
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        f(&mut json);
        std::fs::write(&path, json.to_string()).unwrap();
        load_error(&c)
    };
    let err = edit("config.json", &|j| {
        j.as_object_mut().unwrap().remove("id2label");
    });
    assert!(err.contains("no id2label"), "{err}");
    let err = edit("config.json", &|j| j["hidden_size"] = 48.into());
    assert!(
        err.contains("model.safetensors does not fit config.json"),
        "{err}"
    );
    assert!(
        err.contains("text_moderation") && err.contains("xlm-roberta"),
        "{err}"
    );

    std::fs::remove_file(tmp.path().join("tokenizer.json")).unwrap();
    let err = load_error(&cfg);
    assert!(err.contains("tokenizer.json is missing"), "{err}");
    std::fs::write(tmp.path().join("model.safetensors"), b"not safetensors").unwrap();
    fixtures::write_tokenizer(tmp.path()).unwrap();
    let err = load_error(&cfg);
    assert!(err.contains("model.safetensors"), "{err}");
}
