//! Random-weight model files, written in the layouts [`load`](super::load) reads: for the tests
//! (tiny shapes) and `gala bench writer` (realistic shapes). Random weights write gibberish:
//! they give speed and memory figures only.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

/// The GGUF tensor types (`Q8_0`, `Q4_0`, `F32`, …).
pub use candle::quantized::GgmlDType;

use candle::quantized::{gguf_file, QTensor};
use candle::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::{mixtral, qwen2_moe, qwen3_moe};
use serde_json::json;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

/// The chat template of the random models: ChatML with a default system message, so that
/// tests can tell it from the built-in ChatML fallback.
pub const TEMPLATE: &str = "{% if messages[0].role != 'system' %}<|im_start|>system\nYou are a host.<|im_end|>\n{% endif %}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | trim }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/// Special tokens of the random tokenizer.
pub const SPECIAL: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// The size of a random model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// At least the tokenizer's size; a larger one pads the embedding like real vocabularies.
    pub vocab: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub experts: usize,
    pub experts_per_tok: usize,
    /// Inner size of each expert.
    pub expert_ffn: usize,
    /// Inner size of Qwen2-MoE's shared expert.
    pub shared_ffn: usize,
}

impl Shape {
    /// A model of a few thousand parameters for tests.
    pub fn tiny() -> Shape {
        Shape {
            vocab: 0,
            hidden: 32,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            experts: 4,
            experts_per_tok: 2,
            expert_ffn: 32,
            shared_ffn: 32,
        }
    }
}

/// Writes `tokenizer.json` (byte-level BPE: 256 byte symbols, a few merges, the ChatML special
/// tokens) into `dir`, and returns it.
pub fn write_tokenizer(dir: &Path) -> Result<Tokenizer, String> {
    let mut alphabet: Vec<char> = ByteLevel::alphabet().into_iter().collect();
    alphabet.sort_unstable();
    let mut vocab: HashMap<String, u32> = alphabet
        .iter()
        .enumerate()
        .map(|(i, c)| (c.to_string(), i as u32))
        .collect();
    let merges: Vec<(String, String)> = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    for (a, b) in &merges {
        let next = vocab.len() as u32;
        vocab.insert(format!("{a}{b}"), next);
    }
    let bpe = BPE::builder()
        .vocab_and_merges(vocab.into_iter().collect::<Vocab>(), merges)
        .build()
        .map_err(|e| e.to_string())?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
    tokenizer.with_decoder(Some(ByteLevel::default()));
    let special: Vec<AddedToken> = SPECIAL.iter().map(|s| AddedToken::from(*s, true)).collect();
    tokenizer.add_special_tokens(&special);
    tokenizer
        .save(dir.join("tokenizer.json"), false)
        .map_err(|e| e.to_string())?;
    Ok(tokenizer)
}

fn im_end(tokenizer: &Tokenizer) -> Result<u32, String> {
    tokenizer
        .token_to_id("<|im_end|>")
        .ok_or_else(|| "the tokenizer has no <|im_end|>".to_string())
}

/// Writes `tokenizer_config.json` with [`TEMPLATE`] and `<|im_end|>` as end of turn.
pub fn write_tokenizer_config(dir: &Path) -> Result<(), String> {
    let cfg = json!({
        "chat_template": TEMPLATE,
        "eos_token": "<|im_end|>",
        "bos_token": null,
    });
    std::fs::write(dir.join("tokenizer_config.json"), cfg.to_string()).map_err(|e| e.to_string())
}

fn config_json(family: &str, s: &Shape, eos: u32) -> Result<serde_json::Value, String> {
    let head_dim = s.hidden / s.heads;
    let common = json!({
        "vocab_size": s.vocab, "hidden_size": s.hidden, "num_hidden_layers": s.layers,
        "num_attention_heads": s.heads, "num_key_value_heads": s.kv_heads,
        "hidden_act": "silu", "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "num_experts_per_tok": s.experts_per_tok,
        "eos_token_id": eos,
    });
    let extra = match family {
        "qwen2-moe" => json!({
            "intermediate_size": s.expert_ffn, "sliding_window": 4096, "max_window_layers": s.layers,
            "tie_word_embeddings": false, "use_sliding_window": false, "decoder_sparse_step": 1,
            "moe_intermediate_size": s.expert_ffn, "shared_expert_intermediate_size": s.shared_ffn,
            "num_experts": s.experts, "norm_topk_prob": false,
        }),
        "qwen3-moe" => json!({
            "intermediate_size": s.expert_ffn, "head_dim": head_dim, "attention_bias": false,
            "sliding_window": null, "max_window_layers": s.layers, "tie_word_embeddings": false,
            "use_sliding_window": false, "decoder_sparse_step": 1,
            "moe_intermediate_size": s.expert_ffn, "num_experts": s.experts, "norm_topk_prob": true,
        }),
        "mixtral" => json!({
            "intermediate_size": s.expert_ffn, "sliding_window": 4096,
            "num_local_experts": s.experts,
        }),
        other => return Err(format!("no random {other} model")),
    };
    let mut out = common;
    if let (Some(o), Some(e)) = (out.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    Ok(out)
}

/// Writes a random `family` model (`qwen2-moe`, `qwen3-moe`, `mixtral`) into `dir`:
/// config.json, the weights (sharded with an index when `shards` > 1), tokenizer.json and
/// tokenizer_config.json. `shape.vocab` 0 takes the tokenizer's size. Returns the parameters.
pub fn write_safetensors(
    dir: &Path,
    family: &str,
    shape: &Shape,
    shards: usize,
) -> Result<u64, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let tokenizer = write_tokenizer(dir)?;
    write_tokenizer_config(dir)?;
    let mut shape = *shape;
    shape.vocab = shape.vocab.max(tokenizer.get_vocab_size(true));
    let config = config_json(family, &shape, im_end(&tokenizer)?)?;
    std::fs::write(dir.join("config.json"), config.to_string()).map_err(|e| e.to_string())?;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let err = |e: candle::Error| e.to_string();
    let cfg_err = |e: serde_json::Error| e.to_string();
    match family {
        "qwen2-moe" => {
            let c: qwen2_moe::Config = serde_json::from_value(config).map_err(cfg_err)?;
            drop(qwen2_moe::Model::new(&c, vb).map_err(err)?);
        }
        "qwen3-moe" => {
            let c: qwen3_moe::Config = serde_json::from_value(config).map_err(cfg_err)?;
            drop(qwen3_moe::ModelForCausalLM::new(&c, vb).map_err(err)?);
        }
        _ => {
            let mut v = config;
            if let Some(o) = v.as_object_mut() {
                o.insert("use_flash_attn".into(), json!(false));
            }
            let c: mixtral::Config = serde_json::from_value(v).map_err(cfg_err)?;
            drop(mixtral::Model::new(&c, vb).map_err(err)?);
        }
    }
    let data = varmap.data().lock().map_err(|e| e.to_string())?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let parameters = data.values().map(|v| v.elem_count() as u64).sum();
    let shards = shards.max(1);
    let per = names.len().div_ceil(shards);
    let mut weight_map = serde_json::Map::new();
    for (i, chunk) in names.chunks(per.max(1)).enumerate() {
        let file = if shards == 1 {
            "model.safetensors".to_string()
        } else {
            format!("model-{:05}-of-{shards:05}.safetensors", i + 1)
        };
        let tensors: HashMap<String, Tensor> = chunk
            .iter()
            .map(|n| ((*n).clone(), data[*n].as_tensor().clone()))
            .collect();
        candle::safetensors::save(&tensors, dir.join(&file)).map_err(err)?;
        for n in chunk {
            weight_map.insert((*n).clone(), json!(file));
        }
    }
    if shards > 1 {
        let index = json!({ "metadata": {}, "weight_map": weight_map });
        std::fs::write(dir.join("model.safetensors.index.json"), index.to_string())
            .map_err(|e| e.to_string())?;
    }
    Ok(parameters)
}

/// Writes a random Mixtral-style GGUF (`general.architecture` llama, `llama.expert_count`
/// experts; 0 experts: a dense llama) with tensors of `dtype`, plus tokenizer.json beside it.
/// Returns the parameters.
pub fn write_gguf(path: &Path, shape: &Shape, dtype: GgmlDType) -> Result<u64, String> {
    let dir = path.parent().ok_or("no directory")?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let tokenizer = write_tokenizer(dir)?;
    let vocab = shape.vocab.max(tokenizer.get_vocab_size(true));
    let im_end = im_end(&tokenizer)?;
    let s = shape;
    let head_dim = s.hidden / s.heads;
    let kv = s.kv_heads * head_dim;
    let err = |e: candle::Error| e.to_string();
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut parameters = 0u64;
    let mut add = |name: String, dims: &[usize], norm: bool| -> Result<(), String> {
        let t = if norm {
            Tensor::ones(dims, DType::F32, &Device::Cpu)
        } else {
            Tensor::randn(0f32, 0.05, dims, &Device::Cpu)
        }
        .map_err(err)?;
        parameters += t.elem_count() as u64;
        let q_dtype = if norm { GgmlDType::F32 } else { dtype };
        tensors.push((name, QTensor::quantize(&t, q_dtype).map_err(err)?));
        Ok(())
    };
    add("token_embd.weight".into(), &[vocab, s.hidden], false)?;
    add("output_norm.weight".into(), &[s.hidden], true)?;
    add("output.weight".into(), &[vocab, s.hidden], false)?;
    for l in 0..s.layers {
        let p = format!("blk.{l}");
        add(format!("{p}.attn_q.weight"), &[s.hidden, s.hidden], false)?;
        add(format!("{p}.attn_k.weight"), &[kv, s.hidden], false)?;
        add(format!("{p}.attn_v.weight"), &[kv, s.hidden], false)?;
        add(
            format!("{p}.attn_output.weight"),
            &[s.hidden, s.hidden],
            false,
        )?;
        add(format!("{p}.attn_norm.weight"), &[s.hidden], true)?;
        add(format!("{p}.ffn_norm.weight"), &[s.hidden], true)?;
        if s.experts <= 1 {
            add(
                format!("{p}.ffn_gate.weight"),
                &[s.expert_ffn, s.hidden],
                false,
            )?;
            add(
                format!("{p}.ffn_up.weight"),
                &[s.expert_ffn, s.hidden],
                false,
            )?;
            add(
                format!("{p}.ffn_down.weight"),
                &[s.hidden, s.expert_ffn],
                false,
            )?;
        } else {
            add(
                format!("{p}.ffn_gate_inp.weight"),
                &[s.experts, s.hidden],
                false,
            )?;
            for e in 0..s.experts {
                add(
                    format!("{p}.ffn_gate.{e}.weight"),
                    &[s.expert_ffn, s.hidden],
                    false,
                )?;
                add(
                    format!("{p}.ffn_up.{e}.weight"),
                    &[s.expert_ffn, s.hidden],
                    false,
                )?;
                add(
                    format!("{p}.ffn_down.{e}.weight"),
                    &[s.hidden, s.expert_ffn],
                    false,
                )?;
            }
        }
    }
    use gguf_file::Value as V;
    let metadata: Vec<(&str, V)> = vec![
        ("general.architecture", V::String("llama".into())),
        ("llama.expert_count", V::U32(s.experts as u32)),
        ("llama.expert_used_count", V::U32(s.experts_per_tok as u32)),
        ("llama.attention.head_count", V::U32(s.heads as u32)),
        ("llama.attention.head_count_kv", V::U32(s.kv_heads as u32)),
        ("llama.block_count", V::U32(s.layers as u32)),
        ("llama.embedding_length", V::U32(s.hidden as u32)),
        ("llama.rope.dimension_count", V::U32(head_dim as u32)),
        ("llama.attention.layer_norm_rms_epsilon", V::F32(1e-6)),
        ("llama.rope.freq_base", V::F32(1e6)),
        ("tokenizer.chat_template", V::String(TEMPLATE.into())),
        ("tokenizer.ggml.eos_token_id", V::U32(im_end)),
    ];
    let md: Vec<(&str, &V)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut file = File::create(path).map_err(|e| e.to_string())?;
    gguf_file::write(&mut file, &md, &ts).map_err(err)?;
    Ok(parameters)
}
