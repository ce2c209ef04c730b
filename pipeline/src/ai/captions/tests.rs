//! Tiny random-weight Whispers built here (config.json, tokenizer.json, and the weights as
//! safetensors, GGUF and CTranslate2 model.bin), loaded through [`load`] as production does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle::{DType, Device, Tensor};
use candle_transformers::models::whisper;
use rand::{Rng, SeedableRng};

use super::ct2::{self, Ct2Model, Ct2Type, Ct2Variable};
use super::*;

/// English-only (`.en`) vocabulary: 50257 text tokens, specials, 1501 timestamps.
const VOCAB_EN: usize = 51864;
/// Multilingual vocabulary.
const VOCAB_MULTI: usize = 51865;

fn tiny_config(vocab_size: usize) -> whisper::Config {
    whisper::Config {
        num_mel_bins: 80,
        max_source_positions: 1500,
        d_model: 16,
        encoder_attention_heads: 2,
        encoder_layers: 1,
        vocab_size,
        max_target_positions: 48,
        decoder_attention_heads: 2,
        decoder_layers: 1,
        suppress_tokens: vec![1, 2],
    }
}

fn config_json(c: &whisper::Config) -> serde_json::Value {
    serde_json::json!({
        "num_mel_bins": c.num_mel_bins, "max_source_positions": c.max_source_positions,
        "d_model": c.d_model, "encoder_attention_heads": c.encoder_attention_heads,
        "encoder_layers": c.encoder_layers, "vocab_size": c.vocab_size,
        "max_target_positions": c.max_target_positions,
        "decoder_attention_heads": c.decoder_attention_heads,
        "decoder_layers": c.decoder_layers, "suppress_tokens": c.suppress_tokens,
        "begin_suppress_tokens": [220]
    })
}

/// Random weights under the Hugging Face names, every tensor candle's Whisper reads.
fn random_tensors(c: &whisper::Config, seed: u64) -> HashMap<String, Tensor> {
    let varmap = candle_nn::VarMap::new();
    let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    whisper::model::Whisper::load(&vb, c.clone()).unwrap();
    let data = varmap.data().lock().unwrap();
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    names
        .into_iter()
        .map(|name| {
            let shape = data[name].shape().clone();
            let n = shape.elem_count();
            let fan_in = shape.dims().last().copied().unwrap_or(1).max(1) as f32;
            let scale = if name.ends_with("bias") {
                0.02
            } else {
                1.0 / fan_in.sqrt()
            };
            let base = if name.contains("layer_norm.weight") {
                1.0
            } else {
                0.0
            };
            let values: Vec<f32> = (0..n)
                .map(|_| base + scale * (rng.gen::<f32>() * 2.0 - 1.0))
                .collect();
            (
                name.clone(),
                Tensor::from_vec(values, shape, &Device::Cpu).unwrap(),
            )
        })
        .collect()
}

/// A tokenizer.json with a few words and the special tokens at Whisper's ids.
fn write_tokenizer(dir: &Path, vocab_size: usize) {
    use tokenizers::models::wordlevel::WordLevel;
    use tokenizers::pre_tokenizers::whitespace::Whitespace;
    use tokenizers::{AddedToken, Tokenizer};
    let multilingual = vocab_size >= VOCAB_MULTI;
    let mut vocab: HashMap<String, u32> = ["hello", "world", "good", "evening", "the", "show", "Ġ"]
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), i as u32))
        .collect();
    vocab.insert(" ".into(), 220);
    vocab.insert("[UNK]".into(), 221);
    let eot = if multilingual { 50257 } else { 50256 };
    let mut specials = vec!["<|endoftext|>", "<|startoftranscript|>"];
    let languages = ["en", "zh", "de", "es"];
    specials.extend(languages.iter().map(|l| match *l {
        "en" => "<|en|>",
        "zh" => "<|zh|>",
        "de" => "<|de|>",
        _ => "<|es|>",
    }));
    let mut ids: Vec<(String, u32)> = specials
        .iter()
        .enumerate()
        .map(|(i, s)| (s.to_string(), eot + i as u32))
        .collect();
    let translate = if multilingual { 50358 } else { 50357 };
    for (i, s) in [
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",
    ]
    .iter()
    .enumerate()
    {
        ids.push((s.to_string(), translate + i as u32));
    }
    for (s, id) in &ids {
        vocab.insert(s.clone(), *id);
    }
    let model = WordLevel::builder()
        .vocab(vocab.into_iter().collect())
        .unk_token("[UNK]".into())
        .build()
        .unwrap();
    let mut tok = Tokenizer::new(model);
    tok.with_pre_tokenizer(Some(Whitespace {}));
    let added: Vec<AddedToken> = ids
        .iter()
        .map(|(s, _)| AddedToken::from(s.clone(), true))
        .collect();
    tok.add_special_tokens(&added);
    tok.save(dir.join("tokenizer.json"), false).unwrap();
    let back = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    assert_eq!(back.token_to_id("<|notimestamps|>"), Some(translate + 5));
}

/// A model directory with config.json and tokenizer.json; the weights are added by the caller.
fn model_dir(vocab_size: usize) -> (tempfile::TempDir, whisper::Config, HashMap<String, Tensor>) {
    let dir = tempfile::tempdir().unwrap();
    let c = tiny_config(vocab_size);
    std::fs::write(dir.path().join("config.json"), config_json(&c).to_string()).unwrap();
    write_tokenizer(dir.path(), vocab_size);
    let tensors = random_tensors(&c, 7);
    (dir, c, tensors)
}

fn write_gguf(path: &Path, tensors: &HashMap<String, Tensor>) {
    use candle::quantized::{gguf_file, GgmlDType, QTensor};
    let q: Vec<(String, QTensor)> = tensors
        .iter()
        .map(|(n, t)| (n.clone(), QTensor::quantize(t, GgmlDType::F32).unwrap()))
        .collect();
    let refs: Vec<(&str, &QTensor)> = q.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &[], &refs).unwrap();
}

fn f32_bytes(t: &Tensor) -> Vec<u8> {
    let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn var(t: &Tensor) -> Ct2Variable {
    Ct2Variable {
        shape: t.dims().to_vec(),
        dtype: Ct2Type::F32,
        data: f32_bytes(t),
    }
}

/// The same weights in CTranslate2's Whisper layout (fused q/k/v, k/v; gamma/beta names).
fn to_ct2(c: &whisper::Config, t: &HashMap<String, Tensor>) -> Ct2Model {
    let mut v = HashMap::new();
    let get = |n: &str| t[n].clone();
    let zeros = Tensor::zeros(c.d_model, DType::F32, &Device::Cpu).unwrap();
    for side in ["encoder", "decoder"] {
        let h = format!("model.{side}");
        v.insert(
            format!("{side}/layer_norm/gamma"),
            var(&get(&format!("{h}.layer_norm.weight"))),
        );
        v.insert(
            format!("{side}/layer_norm/beta"),
            var(&get(&format!("{h}.layer_norm.bias"))),
        );
        let heads = if side == "encoder" {
            c.encoder_attention_heads
        } else {
            c.decoder_attention_heads
        };
        v.insert(
            format!("{side}/num_heads"),
            Ct2Variable {
                shape: vec![],
                dtype: Ct2Type::I16,
                data: (heads as i16).to_le_bytes().to_vec(),
            },
        );
        let layers = if side == "encoder" {
            c.encoder_layers
        } else {
            c.decoder_layers
        };
        for i in 0..layers {
            let (p, l) = (format!("{side}/layer_{i}"), format!("{h}.layers.{i}"));
            let mut put = |ct: &str, hf: &str| {
                v.insert(format!("{p}/{ct}"), var(&get(&format!("{l}.{hf}"))));
            };
            put(
                "self_attention/layer_norm/gamma",
                "self_attn_layer_norm.weight",
            );
            put(
                "self_attention/layer_norm/beta",
                "self_attn_layer_norm.bias",
            );
            put(
                "self_attention/linear_1/weight",
                "self_attn.out_proj.weight",
            );
            put("self_attention/linear_1/bias", "self_attn.out_proj.bias");
            put("ffn/layer_norm/gamma", "final_layer_norm.weight");
            put("ffn/layer_norm/beta", "final_layer_norm.bias");
            put("ffn/linear_0/weight", "fc1.weight");
            put("ffn/linear_0/bias", "fc1.bias");
            put("ffn/linear_1/weight", "fc2.weight");
            put("ffn/linear_1/bias", "fc2.bias");
            if side == "decoder" {
                put(
                    "attention/layer_norm/gamma",
                    "encoder_attn_layer_norm.weight",
                );
                put("attention/layer_norm/beta", "encoder_attn_layer_norm.bias");
                put("attention/linear_0/weight", "encoder_attn.q_proj.weight");
                put("attention/linear_0/bias", "encoder_attn.q_proj.bias");
                put("attention/linear_2/weight", "encoder_attn.out_proj.weight");
                put("attention/linear_2/bias", "encoder_attn.out_proj.bias");
            }
            let fused = |a: &str, parts: &[&str]| {
                let w: Vec<Tensor> = parts
                    .iter()
                    .map(|x| get(&format!("{l}.{a}.{x}.weight")))
                    .collect();
                let b: Vec<Tensor> = parts
                    .iter()
                    .map(|x| {
                        if *x == "k_proj" {
                            zeros.clone()
                        } else {
                            get(&format!("{l}.{a}.{x}.bias"))
                        }
                    })
                    .collect();
                (Tensor::cat(&w, 0).unwrap(), Tensor::cat(&b, 0).unwrap())
            };
            let (w, b) = fused("self_attn", &["q_proj", "k_proj", "v_proj"]);
            v.insert(format!("{p}/self_attention/linear_0/weight"), var(&w));
            v.insert(format!("{p}/self_attention/linear_0/bias"), var(&b));
            if side == "decoder" {
                let (w, b) = fused("encoder_attn", &["k_proj", "v_proj"]);
                v.insert(format!("{p}/attention/linear_1/weight"), var(&w));
                v.insert(format!("{p}/attention/linear_1/bias"), var(&b));
            }
        }
    }
    for conv in ["conv1", "conv2"] {
        for x in ["weight", "bias"] {
            v.insert(
                format!("encoder/{conv}/{x}"),
                var(&get(&format!("model.encoder.{conv}.{x}"))),
            );
        }
    }
    let sinusoid = Tensor::zeros(
        (c.max_source_positions, c.d_model),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    v.insert(
        "encoder/position_encodings/encodings".into(),
        var(&sinusoid),
    );
    v.insert(
        "decoder/position_encodings/encodings".into(),
        var(&get("model.decoder.embed_positions.weight")),
    );
    v.insert(
        "decoder/embeddings/weight".into(),
        var(&get("model.decoder.embed_tokens.weight")),
    );
    let aliases = HashMap::from([(
        "decoder/projection/weight".to_string(),
        "decoder/embeddings/weight".to_string(),
    )]);
    Ct2Model {
        version: 6,
        spec: "WhisperSpec".into(),
        revision: 3,
        variables: v,
        aliases,
    }
}

/// 35 s of a tone with a pause, as a WAV file (crosses the 30-s window).
fn media(dir: &Path) -> PathBuf {
    let path = dir.join("tone.wav");
    let rate = 22_050;
    let samples: Vec<f32> = (0..35 * rate)
        .map(|i| {
            let t = i as f32 / rate as f32;
            if (10.0..12.0).contains(&t) {
                0.0
            } else {
                0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
            }
        })
        .collect();
    write_wav(&path, &samples, rate as u32);
    path
}

/// A mono 16-bit PCM WAV file.
pub(super) fn write_wav(path: &Path, samples: &[f32], rate: u32) {
    let data: Vec<u8> = samples
        .iter()
        .flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())
        .collect();
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    std::fs::write(path, out).unwrap();
}

fn config_for(path: &Path) -> CaptionsConfig {
    CaptionsConfig {
        family: "whisper".into(),
        path: path.to_path_buf(),
        ..CaptionsConfig::default()
    }
}

/// Transcribes `media` and returns the transcript and the progress values seen.
fn run(
    model: &mut dyn SpeechToText,
    media: &Path,
    language: Option<&str>,
) -> (Transcript, Vec<f64>) {
    let mut seen = Vec::new();
    let mut progress = |f: f64| seen.push(f);
    let mut ctl = RunControl::unlimited(&mut progress);
    let t = model.transcribe(media, language, &mut ctl).unwrap();
    (t, seen)
}

fn check_cues(t: &Transcript) {
    for c in &t.cues {
        assert!(
            0 <= c.start_ms && c.start_ms <= c.end_ms && c.end_ms <= 35_000,
            "{c:?}"
        );
        assert!(!c.text.trim().is_empty());
    }
    assert!(
        t.cues.windows(2).all(|w| w[0].start_ms <= w[1].start_ms),
        "{:?}",
        t.cues
    );
}

#[test]
fn safetensors_gguf_and_ct2_load_and_agree_over_two_windows() {
    let (dir, c, tensors) = model_dir(VOCAB_EN);
    candle::safetensors::save(&tensors, dir.path().join("model.safetensors")).unwrap();
    let audio = media(dir.path());
    let mut st = load(&config_for(dir.path()), &Device::Cpu).unwrap();
    let s = st.summary();
    let params: u64 = tensors.values().map(|t| t.elem_count() as u64).sum();
    assert_eq!((s.role, s.format.as_str()), ("captions", "safetensors f32"));
    assert_eq!((s.parameters, s.weight_bytes), (params, params * 4));
    assert_eq!(s.files.len(), 3, "{:?}", s.files);
    let (first, progress) = run(st.as_mut(), &audio, None);
    check_cues(&first);
    assert_eq!(first.language, "en", "a .en model is English only");
    assert_eq!(first.model, "whisper model.safetensors");
    assert!(progress.len() >= 3, "two windows and the end: {progress:?}");
    assert!(progress.iter().any(|&p| p > 0.0 && p < 1.0), "{progress:?}");
    assert_eq!(progress.last(), Some(&1.0));
    // Deterministic: the same model and file give the same transcript.
    assert_eq!(run(st.as_mut(), &audio, None).0, first);

    // The same weights as a GGUF file.
    let gdir = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("config.json"),
        gdir.path().join("config.json"),
    )
    .unwrap();
    std::fs::copy(
        dir.path().join("tokenizer.json"),
        gdir.path().join("tokenizer.json"),
    )
    .unwrap();
    write_gguf(&gdir.path().join("whisper-tiny.gguf"), &tensors);
    let mut gg = load(&config_for(gdir.path()), &Device::Cpu).unwrap();
    assert_eq!(gg.summary().format, "gguf f32");
    assert_eq!(gg.summary().parameters, params);
    let (g, _) = run(gg.as_mut(), &audio, None);
    check_cues(&g);
    assert_eq!(g.cues, first.cues, "GGUF f32 decodes as the safetensors do");

    // The same weights in the CTranslate2 layout, with a CTranslate2 config.json (no dims).
    let cdir = tempfile::tempdir().unwrap();
    std::fs::write(
        cdir.path().join("config.json"),
        r#"{"suppress_ids": [1, 2], "suppress_ids_begin": [220]}"#,
    )
    .unwrap();
    std::fs::copy(
        dir.path().join("tokenizer.json"),
        cdir.path().join("tokenizer.json"),
    )
    .unwrap();
    std::fs::write(
        cdir.path().join("model.bin"),
        ct2::write(&to_ct2(&c, &tensors)),
    )
    .unwrap();
    let mut cm = load(&config_for(cdir.path()), &Device::Cpu).unwrap();
    assert_eq!(cm.summary().format, "ctranslate2 f32");
    let (ct, _) = run(cm.as_mut(), &audio, None);
    assert_eq!(
        ct.cues, first.cues,
        "CTranslate2 names map onto the same network"
    );
}

#[test]
fn multilingual_model_uses_the_given_language_or_detects_one() {
    let (dir, _, tensors) = model_dir(VOCAB_MULTI);
    candle::safetensors::save(&tensors, dir.path().join("model.safetensors")).unwrap();
    let audio = media(dir.path());
    let mut m = load(&config_for(dir.path()), &Device::Cpu).unwrap();
    let (zh, _) = run(m.as_mut(), &audio, Some("zh"));
    assert_eq!(zh.language, "zh");
    check_cues(&zh);
    let (auto, _) = run(m.as_mut(), &audio, None);
    assert!(
        ["en", "zh", "de", "es"].contains(&auto.language.as_str()),
        "{}",
        auto.language
    );
}

#[test]
fn bad_model_directories_are_clear_errors() {
    let err = |cfg: &CaptionsConfig| {
        load(cfg, &Device::Cpu)
            .err()
            .expect("must fail")
            .to_string()
    };
    assert!(matches!(
        load(&CaptionsConfig::default(), &Device::Cpu),
        Err(ModelError::NotConfigured { .. })
    ));
    let (dir, c, tensors) = model_dir(VOCAB_EN);
    let e = err(&config_for(dir.path()));
    assert!(
        e.contains("no model.safetensors, model.bin or .gguf"),
        "{e}"
    );
    let mut cfg = config_for(dir.path());
    cfg.family = "llama".into();
    assert!(err(&cfg).contains("unknown family"));
    assert!(err(&config_for(&dir.path().join("missing"))).contains("does not exist"));
    // Wrong shapes: the config says 32 wide, the weights are 16.
    candle::safetensors::save(&tensors, dir.path().join("model.safetensors")).unwrap();
    let mut wide = config_json(&c);
    wide["d_model"] = 32.into();
    std::fs::write(dir.path().join("config.json"), wide.to_string()).unwrap();
    let e = err(&config_for(dir.path()));
    assert!(e.contains("shape"), "{e}");
    std::fs::remove_file(dir.path().join("config.json")).unwrap();
    assert!(err(&config_for(dir.path())).contains("config.json"));
    // A model.bin that is not CTranslate2.
    let bin = tempfile::tempdir().unwrap();
    std::fs::write(bin.path().join("model.bin"), b"PK\x03\x04 not a model").unwrap();
    std::fs::write(bin.path().join("config.json"), "{}").unwrap();
    std::fs::copy(
        dir.path().join("tokenizer.json"),
        bin.path().join("tokenizer.json"),
    )
    .unwrap();
    let e = err(&config_for(bin.path()));
    assert!(e.contains("binary version"), "{e}");
}

#[test]
fn ct2_reader_parses_what_the_format_holds() {
    let rows = Tensor::new(&[[0.5f32, -1.0, 0.25], [2.0, 0.0, -2.0]], &Device::Cpu).unwrap();
    // int8 rows with one scale per row (CTranslate2: q = round(w * 127 / max|w|)).
    let scales = [127.0f32, 63.5];
    let q: Vec<u8> = [[64i8, -127, 32], [127, 0, -127]]
        .iter()
        .flatten()
        .map(|&x| x as u8)
        .collect();
    let mut variables = HashMap::from([
        ("w".to_string(), var(&rows)),
        (
            "q/weight".to_string(),
            Ct2Variable {
                shape: vec![2, 3],
                dtype: Ct2Type::I8,
                data: q,
            },
        ),
        (
            "q/weight_scale".to_string(),
            Ct2Variable {
                shape: vec![2],
                dtype: Ct2Type::F32,
                data: scales.iter().flat_map(|s| s.to_le_bytes()).collect(),
            },
        ),
        (
            "heads".to_string(),
            Ct2Variable {
                shape: vec![],
                dtype: Ct2Type::I16,
                data: 6i16.to_le_bytes().to_vec(),
            },
        ),
    ]);
    let half: Vec<u8> = [1.5f32, -0.5]
        .iter()
        .flat_map(|x| half_bits(*x).to_le_bytes())
        .collect();
    variables.insert(
        "h".into(),
        Ct2Variable {
            shape: vec![2],
            dtype: Ct2Type::F16,
            data: half,
        },
    );
    let model = Ct2Model {
        version: 6,
        spec: "WhisperSpec".into(),
        revision: 3,
        variables,
        aliases: HashMap::from([("alias".to_string(), "w".to_string())]),
    };
    let bytes = ct2::write(&model);
    let back = ct2::parse(&bytes).unwrap();
    assert_eq!(back, model);
    let dev = Device::Cpu;
    assert_eq!(
        back.tensor("alias", &dev)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap(),
        rows.to_vec2::<f32>().unwrap()
    );
    assert_eq!(
        back.tensor("h", &dev).unwrap().to_vec1::<f32>().unwrap(),
        vec![1.5, -0.5]
    );
    assert_eq!(back.scalar("heads"), Some(6));
    let deq = back
        .tensor("q/weight", &dev)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let want = rows.to_vec2::<f32>().unwrap();
    for (a, b) in deq.iter().flatten().zip(want.iter().flatten()) {
        assert!((a - b).abs() < 0.01, "{deq:?} vs {want:?}");
    }
    // Truncated and damaged files are errors, not panics.
    for cut in [3, 10, bytes.len() / 2, bytes.len() - 3] {
        assert!(ct2::parse(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut bad_type = bytes.clone();
    let at = bytes.windows(2).position(|w| w == b"h\0").unwrap() + 2 + 1 + 4;
    bad_type[at] = 9;
    assert!(ct2::parse(&bad_type)
        .unwrap_err()
        .contains("unknown data type"));
    let mut no_scale = back.clone();
    no_scale.variables.remove("q/weight_scale");
    assert!(no_scale
        .tensor("q/weight", &dev)
        .unwrap_err()
        .contains("scale"));
}

/// f32 → IEEE half bits for values exactly representable (the test's own).
fn half_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
    let mant = ((b >> 13) & 0x3ff) as u16;
    sign | ((exp as u16) << 10) | mant
}

#[test]
fn the_budget_stops_a_run() {
    let (dir, _, tensors) = model_dir(VOCAB_EN);
    candle::safetensors::save(&tensors, dir.path().join("model.safetensors")).unwrap();
    let audio = media(dir.path());
    let mut m = load(&config_for(dir.path()), &Device::Cpu).unwrap();
    let mut progress = |_: f64| {};
    let mut ctl = RunControl {
        deadline: Some(std::time::Instant::now()),
        budget_s: 3,
        progress: &mut progress,
    };
    std::thread::sleep(std::time::Duration::from_millis(5));
    let e = m.transcribe(&audio, None, &mut ctl).unwrap_err();
    assert!(matches!(e, ModelError::Budget { budget_s: 3, .. }), "{e}");
}
