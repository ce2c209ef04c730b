use std::path::Path;

use candle::quantized::GgmlDType;
use candle::Device;

use crate::ai::writer::chat::Message;
use crate::ai::writer::generate::{Generation, TextGenerator};
use crate::ai::writer::random::{self, Shape};
use crate::ai::writer::{load, LlmModel, WriterConfig};
use crate::ai::{Model, ModelError, RunControl};

fn cfg(family: &str, path: &Path) -> WriterConfig {
    WriterConfig {
        family: family.into(),
        path: path.to_path_buf(),
        max_tokens: 24,
        temperature: 0.9,
        top_p: 0.95,
        ..WriterConfig::default()
    }
}

fn messages(text: &str) -> Vec<Message> {
    vec![Message::system("You are a host."), Message::user(text)]
}

fn generate(model: &mut LlmModel, text: &str, seed: u64) -> (Generation, Vec<String>) {
    let mut pieces = Vec::new();
    let mut progress = |_: f64| {};
    let ctl = RunControl::unlimited(&mut progress);
    let g = model
        .generate(&messages(text), seed, &ctl, &mut |p: &str| {
            pieces.push(p.to_string())
        })
        .expect("generates");
    (g, pieces)
}

/// Same seed, same tokens; the stream adds up to the text; the KV cache does not leak into the
/// next prompt; the stats add up.
fn check_generation(model: &mut LlmModel, max_tokens: usize) {
    let (a, pieces) = generate(model, "Introduce Mei Lin.", 7);
    let (other, _) = generate(model, "介绍下一个节目。", 9);
    let (b, _) = generate(model, "Introduce Mei Lin.", 7);
    assert_eq!(a.text, b.text, "same seed and prompt, same answer");
    assert_eq!(a.stats.generated_tokens, b.stats.generated_tokens);
    assert!(
        a.text.starts_with(&pieces.concat()),
        "{:?} vs {pieces:?}",
        a.text
    );
    let s = &a.stats;
    assert!(s.prompt_tokens > 10, "{s:?}");
    assert!(
        s.generated_tokens >= 1 && s.generated_tokens <= max_tokens,
        "{s:?}"
    );
    assert!(s.stopped || s.generated_tokens == max_tokens, "{s:?}");
    assert!(s.prompt_s > 0.0 && s.prompt_tok_s() > 0.0, "{s:?}");
    assert!(
        s.first_token_s > 0.0 && s.first_token_s <= s.prompt_s + s.generate_s,
        "{s:?}"
    );
    assert!(other.stats.prompt_tokens != s.prompt_tokens);
    let (c, _) = generate(model, "Introduce Mei Lin.", 8);
    let (d, _) = generate(model, "Introduce Mei Lin.", 1234);
    assert!(
        c.text != a.text || d.text != a.text,
        "other seeds sample other tokens"
    );
}

fn check_family(family: &str, shards: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny");
    let params = random::write_safetensors(&path, family, &Shape::tiny(), shards).unwrap();
    let mut model = load(&cfg(family, &path), &Device::Cpu).unwrap();
    let summary = model.summary();
    assert_eq!(summary.parameters, params);
    assert_eq!(summary.format, "safetensors f32");
    assert_eq!(summary.files.len(), shards + 1, "{:?}", summary.files);
    assert_eq!(model.name(), format!("{family}:tiny"));
    assert!(!model.uses_chatml_fallback());
    let prompt = model.prompt(&[Message::user("hi")]).unwrap();
    assert!(
        prompt.starts_with("<|im_start|>system\nYou are a host."),
        "{prompt}"
    );
    assert!(prompt.ends_with("<|im_start|>assistant\n"), "{prompt}");
    assert_eq!(model.stop_tokens().len(), 2, "<|im_end|> and <|endoftext|>");
    check_generation(&mut model, 24);
}

#[test]
fn qwen2_moe_loads_and_generates() {
    check_family("qwen2-moe", 1);
}

#[test]
fn mixtral_loads_sharded_and_generates() {
    check_family("mixtral", 3);
}

#[test]
fn qwen3_moe_loads_and_generates() {
    check_family("qwen3-moe", 2);
}

#[test]
fn mixtral_style_gguf_loads_and_generates() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tiny-moe.gguf");
    let params = random::write_gguf(&file, &Shape::tiny(), GgmlDType::Q8_0).unwrap();
    let mut model = load(&cfg("gguf", &file), &Device::Cpu).unwrap();
    let summary = model.summary();
    assert_eq!(summary.parameters, params);
    assert_eq!(summary.format, "gguf q8_0");
    assert!(summary.weight_bytes < params * 2, "quantized: {summary:?}");
    assert_eq!(model.name(), "gguf:tiny-moe");
    assert!(
        !model.uses_chatml_fallback(),
        "template from the GGUF metadata"
    );
    // The directory works as path too.
    load(&cfg("gguf", dir.path()), &Device::Cpu).unwrap();
    check_generation(&mut model, 24);
}

#[test]
fn without_a_template_chatml_is_used() {
    let dir = tempfile::tempdir().unwrap();
    random::write_safetensors(dir.path(), "qwen2-moe", &Shape::tiny(), 1).unwrap();
    std::fs::remove_file(dir.path().join("tokenizer_config.json")).unwrap();
    let model = load(&cfg("qwen2-moe", dir.path()), &Device::Cpu).unwrap();
    assert!(model.uses_chatml_fallback());
    let prompt = model.prompt(&[Message::user("hi")]).unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    );
}

fn load_error(cfg: &WriterConfig) -> String {
    match load(cfg, &Device::Cpu) {
        Err(e @ ModelError::Load { .. }) => e.to_string(),
        Err(e) => panic!("not a load error: {e}"),
        Ok(_) => panic!("loaded"),
    }
}

#[test]
fn bad_models_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(matches!(
        load(&WriterConfig::default(), &Device::Cpu),
        Err(ModelError::NotConfigured { .. })
    ));
    let e = load_error(&cfg("qwen2-moe", &d.join("nowhere")));
    assert!(e.contains("does not exist"), "{e}");
    let e = load_error(&cfg("llama-moe", d));
    assert!(e.contains("unknown family"), "{e}");

    random::write_safetensors(d, "qwen2-moe", &Shape::tiny(), 1).unwrap();
    let e = load_error(&cfg("mixtral", d));
    assert!(
        e.contains("not a mixtral config") || e.contains("do not fit"),
        "{e}"
    );
    // Weights of another shape than config.json says.
    let config = std::fs::read_to_string(d.join("config.json")).unwrap();
    std::fs::write(
        d.join("config.json"),
        config.replace("\"hidden_size\":32", "\"hidden_size\":64"),
    )
    .unwrap();
    let e = load_error(&cfg("qwen2-moe", d));
    assert!(e.contains("do not fit"), "{e}");
    std::fs::write(d.join("config.json"), config).unwrap();
    std::fs::remove_file(d.join("tokenizer.json")).unwrap();
    let e = load_error(&cfg("qwen2-moe", d));
    assert!(e.contains("tokenizer.json is missing"), "{e}");
    std::fs::write(d.join("model.safetensors"), b"not safetensors").unwrap();
    let e = load_error(&cfg("qwen2-moe", d));
    assert!(e.contains("model.safetensors"), "{e}");
    let e = load_error(&cfg("gguf", d));
    assert!(e.contains("no .gguf file"), "{e}");
    std::fs::write(d.join("x.gguf"), b"GGUF broken").unwrap();
    let e = load_error(&cfg("gguf", &d.join("x.gguf")));
    assert!(e.contains("not a GGUF file"), "{e}");
}
