//! Model directories with random weights, for tests and `gala bench moderation`: `config.json`
//! as `transformers` writes it, `model.safetensors` made by building the network over a
//! `VarMap` (through the same `build_network` the loaders use, so every tensor name and shape is
//! the one a real checkpoint has), and a WordPiece `tokenizer.json` with English words and
//! Chinese characters. The scores mean nothing; shapes, labels, timing and error paths are real.

use std::collections::BTreeMap;
use std::path::Path;

use candle::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use serde_json::{json, Value};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::Tokenizer;

use super::weights::{ModelDir, WEIGHTS};
use super::{image, text};

/// English words of the fixture vocabulary.
const WORDS: &str = "the a an is are was this that it you we they he she i and or not no yes \
    hello world good bad great love hate kill stupid idiot fool show music video clip today \
    people talk sing dance stage song night friends family happy sad angry fight gun blood \
    thank thanks please welcome everyone here there now very much so what why how who";
/// Chinese characters of the fixture vocabulary (WordPiece reads Chinese one character a token).
const HANZI: &str =
    "我你他她们今天在这里说话好不是的了人大小中国歌舞台表演看很真吗讨厌恨打死笨蛋爱\
    谢欢迎家朋友晚上唱跳快乐难过生气枪血什么为怎样个";

/// Sizes of a fixture. [`Dims::tiny`] for tests, [`Dims::base`] for the bench.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dims {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    /// Vocabulary of the model; at least the fixture tokenizer's.
    pub vocab: usize,
    /// Longest text input, tokens.
    pub positions: usize,
    pub image_size: usize,
    pub patch: usize,
    /// CLIP: hidden size of the text tower and of the shared embedding.
    pub text_hidden: usize,
    pub text_heads: usize,
    pub text_intermediate: usize,
    pub projection: usize,
}

impl Dims {
    /// A few thousand parameters: builds and runs in milliseconds.
    pub fn tiny() -> Dims {
        Dims {
            hidden: 32,
            layers: 2,
            heads: 4,
            intermediate: 64,
            vocab: 0,
            positions: 64,
            image_size: 32,
            patch: 8,
            text_hidden: 32,
            text_heads: 4,
            text_intermediate: 64,
            projection: 16,
        }
    }

    /// The shapes of the base models: xlm-roberta-base for text (vocabulary 250002, 512
    /// tokens), vit-base-patch16-224 for `vit`, clip-vit-base-patch32 for `clip` (text tower 512
    /// wide, 77 tokens; pass `patch: 32`).
    pub fn base() -> Dims {
        Dims {
            hidden: 768,
            layers: 12,
            heads: 12,
            intermediate: 3072,
            vocab: 250_002,
            positions: 512,
            image_size: 224,
            patch: 16,
            text_hidden: 512,
            text_heads: 8,
            text_intermediate: 2048,
            projection: 512,
        }
    }
}

/// Writes the fixture `tokenizer.json` into `dir` and returns its vocabulary size. `[SEP]`
/// has the highest id, as CLIP's end-of-text token does (CLIP pools at the highest id).
pub fn write_tokenizer(dir: &Path) -> Result<usize, String> {
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    vocab.extend(WORDS.split_whitespace().map(String::from));
    vocab.extend(HANZI.chars().map(String::from));
    vocab.extend(".,!?;:'\"。，！？；：、".chars().map(String::from));
    let mut seen = std::collections::HashSet::new();
    vocab.retain(|w| seen.insert(w.clone()));
    vocab.push("[SEP]".into());
    let sep = (vocab.len() - 1) as u32;
    // BERT's vocab.txt, one token a line, read back by WordPiece.
    let vocab_txt = dir.join("vocab.txt");
    std::fs::write(&vocab_txt, vocab.join("\n") + "\n").map_err(|e| e.to_string())?;
    let model = WordPiece::from_file(&vocab_txt.to_string_lossy())
        .unk_token("[UNK]".into())
        .build()
        .map_err(|e| e.to_string())?;
    let mut tokenizer = Tokenizer::new(model);
    tokenizer
        .with_normalizer(Some(BertNormalizer::default()))
        .with_pre_tokenizer(Some(BertPreTokenizer))
        .with_post_processor(Some(BertProcessing::new(
            ("[SEP]".into(), sep),
            ("[CLS]".into(), 2),
        )));
    tokenizer
        .save(dir.join("tokenizer.json"), false)
        .map_err(|e| e.to_string())?;
    Ok(vocab.len())
}

fn id_maps(labels: &[&str]) -> (Value, Value) {
    let id2label: BTreeMap<String, String> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), l.to_string()))
        .collect();
    let label2id: BTreeMap<String, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.to_string(), i))
        .collect();
    (json!(id2label), json!(label2id))
}

/// `config.json` of a text classifier of `family` (`xlm-roberta`, `deberta-v2`, `modernbert`).
pub fn text_config(family: &str, labels: &[&str], d: &Dims, multi_label: bool) -> Value {
    let (id2label, label2id) = id_maps(labels);
    let mut c = json!({
        "vocab_size": d.vocab, "hidden_size": d.hidden, "num_hidden_layers": d.layers,
        "num_attention_heads": d.heads, "intermediate_size": d.intermediate,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "pad_token_id": 0, "id2label": id2label, "label2id": label2id,
        "problem_type": if multi_label { "multi_label_classification" } else { "single_label_classification" },
    });
    let extra = match family {
        "xlm-roberta" => json!({
            "model_type": "xlm-roberta", "architectures": ["XLMRobertaForSequenceClassification"],
            "layer_norm_eps": 1e-5, "position_embedding_type": "absolute",
            "max_position_embeddings": d.positions + 1, "type_vocab_size": 1,
        }),
        "deberta-v2" => json!({
            "model_type": "deberta-v2", "architectures": ["DebertaV2ForSequenceClassification"],
            "layer_norm_eps": 1e-7, "max_position_embeddings": d.positions, "type_vocab_size": 0,
            "initializer_range": 0.02, "relative_attention": true, "max_relative_positions": -1,
            "position_biased_input": false, "pos_att_type": ["p2c", "c2p"],
            "position_buckets": if d.positions > 256 { 256 } else { 32 },
            "share_att_key": true, "norm_rel_ebd": "layer_norm",
        }),
        _ => json!({
            "model_type": "modernbert", "architectures": ["ModernBertForSequenceClassification"],
            "layer_norm_eps": 1e-5, "max_position_embeddings": d.positions,
            "global_attn_every_n_layers": 3, "global_rope_theta": 160000.0,
            "local_attention": if d.positions > 256 { 128 } else { 16 },
            "local_rope_theta": 10000.0, "classifier_pooling": "cls",
            "classifier_activation": "gelu", "classifier_bias": false,
        }),
    };
    merge(&mut c, extra);
    c
}

/// `config.json` of a keyframe classifier of `family` (`vit`, `clip`, `chinese-clip`);
/// `labels` only for `vit`.
pub fn image_config(family: &str, labels: &[&str], d: &Dims) -> Value {
    let vision = json!({
        "hidden_size": d.hidden, "intermediate_size": d.intermediate,
        "num_hidden_layers": d.layers, "num_attention_heads": d.heads, "num_channels": 3,
        "image_size": d.image_size, "patch_size": d.patch, "hidden_act": "quick_gelu",
        "layer_norm_eps": 1e-5, "projection_dim": d.projection,
    });
    match family {
        "vit" => {
            let (id2label, label2id) = id_maps(labels);
            let mut c = vision;
            merge(
                &mut c,
                json!({
                    "model_type": "vit", "architectures": ["ViTForImageClassification"],
                    "hidden_act": "gelu", "layer_norm_eps": 1e-12, "qkv_bias": true,
                    "id2label": id2label, "label2id": label2id,
                }),
            );
            c
        }
        "clip" => json!({
            "model_type": "clip", "projection_dim": d.projection, "logit_scale_init_value": 2.6592,
            "text_config": {
                "vocab_size": d.vocab, "hidden_size": d.text_hidden,
                "intermediate_size": d.text_intermediate, "num_hidden_layers": d.layers,
                "num_attention_heads": d.text_heads, "max_position_embeddings": 77,
                "hidden_act": "quick_gelu", "projection_dim": d.projection,
            },
            "vision_config": vision,
        }),
        _ => json!({
            "model_type": "chinese_clip", "projection_dim": d.projection,
            "logit_scale_init_value": 2.6592,
            "text_config": {
                "vocab_size": d.vocab, "hidden_size": d.text_hidden,
                "intermediate_size": d.text_intermediate, "num_hidden_layers": d.layers,
                "num_attention_heads": d.text_heads, "max_position_embeddings": d.positions,
                "hidden_act": "gelu", "type_vocab_size": 2,
            },
            "vision_config": vision,
        }),
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

/// Writes a random-weight text classifier into `dir`: config, weights and tokenizer.
pub fn text_model(
    dir: &Path,
    family: &str,
    labels: &[&str],
    dims: &Dims,
    multi_label: bool,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let words = write_tokenizer(dir)?;
    let dims = Dims {
        vocab: dims.vocab.max(words),
        ..*dims
    };
    let config = text_config(family, labels, &dims, multi_label);
    write_json(&dir.join("config.json"), &config)?;
    let model_dir = ModelDir::new("text_moderation", family, dir);
    save_random(dir, |vb| {
        text::build_network(&model_dir, &config, labels.len(), vb).map(|_| ())
    })
}

/// Writes a random-weight keyframe classifier into `dir`; a tokenizer for the CLIP families,
/// and `preprocessor_config.json` as `transformers` writes it.
pub fn image_model(dir: &Path, family: &str, labels: &[&str], dims: &Dims) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut dims = *dims;
    if family != "vit" {
        dims.vocab = dims.vocab.max(write_tokenizer(dir)?);
    }
    let config = image_config(family, labels, &dims);
    write_json(&dir.join("config.json"), &config)?;
    let side = dims.image_size;
    let preprocessor = if family == "vit" {
        json!({"do_resize": true, "size": {"height": side, "width": side}, "resample": 2,
               "do_normalize": true, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]})
    } else {
        json!({"do_resize": true, "size": {"shortest_edge": side}, "resample": 3,
               "do_center_crop": true, "crop_size": {"height": side, "width": side},
               "image_mean": [0.48145466, 0.4578275, 0.40821073],
               "image_std": [0.26862954, 0.26130258, 0.27577711]})
    };
    write_json(&dir.join("preprocessor_config.json"), &preprocessor)?;
    let model_dir = ModelDir::new("image_moderation", family, dir);
    let n = if family == "vit" { labels.len() } else { 0 };
    save_random(dir, |vb| {
        image::build_network(&model_dir, &config, n, vb).map(|_| ())
    })
}

fn write_json(path: &Path, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Builds a network over a fresh `VarMap` (random initial weights) and saves every variable.
fn save_random(
    dir: &Path,
    build: impl FnOnce(VarBuilder<'static>) -> Result<(), crate::ai::ModelError>,
) -> Result<(), String> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    build(vb).map_err(|e| e.to_string())?;
    varmap.save(dir.join(WEIGHTS)).map_err(|e| e.to_string())
}
