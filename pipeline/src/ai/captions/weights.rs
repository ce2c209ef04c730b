//! Finding and loading Whisper weights: the Hugging Face layout (`model.safetensors`), one
//! `.gguf` file, or the CTranslate2 layout (`model.bin`), each with `config.json` and a
//! tokenizer (`tokenizer.json`, or CTranslate2's `vocabulary.txt`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::whisper::{self, model, quantized_model};
use serde_json::Value;

use super::ct2;

/// Either kind of candle Whisper.
pub enum Net {
    Full(model::Whisper),
    Quantized(quantized_model::Whisper),
}

impl Net {
    /// Encoder output for a (1, n_mels, 3000) mel window.
    pub fn encode(&mut self, mel: &Tensor) -> candle::Result<Tensor> {
        match self {
            Net::Full(m) => m.encoder.forward(mel, true),
            Net::Quantized(m) => m.encoder.forward(mel, true),
        }
    }

    /// Logits (1, seq, vocab) of the tokens given the encoder output.
    pub fn logits(
        &mut self,
        tokens: &Tensor,
        audio: &Tensor,
        flush: bool,
    ) -> candle::Result<Tensor> {
        match self {
            Net::Full(m) => {
                let h = m.decoder.forward(tokens, audio, flush)?;
                m.decoder.final_linear(&h)
            }
            Net::Quantized(m) => {
                let h = m.decoder.forward(tokens, audio, flush)?;
                m.decoder.final_linear(&h)
            }
        }
    }

    pub fn config(&self) -> &whisper::Config {
        match self {
            Net::Full(m) => &m.config,
            Net::Quantized(m) => &m.config,
        }
    }
}

/// A loaded network and what `summary()` reports of it.
pub struct Loaded {
    pub net: Net,
    /// `safetensors f32`, `gguf q4_0`, `ctranslate2 f16`, …
    pub format: String,
    pub parameters: u64,
    pub weight_bytes: u64,
    pub files: Vec<PathBuf>,
    /// Token ids suppressed at every step and at the first step (from config.json).
    pub suppress: Vec<u32>,
    pub suppress_begin: Vec<u32>,
}

/// The weight layouts found in a model directory.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    Safetensors(PathBuf),
    Gguf(PathBuf),
    Ct2(PathBuf),
}

/// Which layout `dir` holds (a file path counts as its directory with that one weight file).
pub fn detect(dir: &Path) -> Result<Layout, String> {
    if dir.is_file() {
        return match dir.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => Ok(Layout::Safetensors(dir.into())),
            Some("gguf") => Ok(Layout::Gguf(dir.into())),
            Some("bin") => Ok(Layout::Ct2(dir.into())),
            _ => Err(format!(
                "{} is not a .safetensors, .gguf or model.bin file",
                dir.display()
            )),
        };
    }
    if !dir.is_dir() {
        return Err("the directory does not exist".into());
    }
    let st = dir.join("model.safetensors");
    if st.is_file() {
        return Ok(Layout::Safetensors(st));
    }
    let bin = dir.join("model.bin");
    if bin.is_file() {
        return Ok(Layout::Ct2(bin));
    }
    let mut ggufs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
        .collect();
    ggufs.sort();
    match ggufs.len() {
        0 => Err("no model.safetensors, model.bin or .gguf file in the directory".into()),
        1 => Ok(Layout::Gguf(ggufs.remove(0))),
        n => Err(format!("{n} .gguf files in the directory; keep one")),
    }
}

/// Loads the network of `layout`; `config_json` is the parsed config.json of the directory.
pub fn load(layout: &Layout, config_json: &Value, device: &Device) -> Result<Loaded, String> {
    let (suppress, suppress_begin) = suppress_lists(config_json);
    let mut loaded = match layout {
        Layout::Safetensors(path) => {
            let tensors = candle::safetensors::load(path, device).map_err(|e| e.to_string())?;
            let dtype = tensors
                .get("model.decoder.embed_tokens.weight")
                .map(|t| format!("{:?}", t.dtype()).to_lowercase())
                .ok_or("model.decoder.embed_tokens.weight is missing: not a Whisper checkpoint")?;
            let config = hf_config(config_json)?;
            full(
                tensors,
                config,
                format!("safetensors {dtype}"),
                path,
                device,
            )?
        }
        Layout::Ct2(path) => {
            let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
            let parsed = ct2::parse(&bytes)?;
            drop(bytes);
            let dtype = parsed
                .get("decoder/embeddings/weight")
                .map(|v| format!("{:?}", v.dtype).to_lowercase())
                .ok_or("decoder/embeddings/weight is missing: not a Whisper model")?;
            let config = match hf_config(config_json) {
                Ok(c) => c,
                Err(_) => ct2_config(&parsed)?,
            };
            let tensors = ct2::whisper_tensors(&parsed, device)?;
            full(
                tensors,
                config,
                format!("ctranslate2 {dtype}"),
                path,
                device,
            )?
        }
        Layout::Gguf(path) => gguf(path, config_json, device)?,
    };
    if loaded.suppress.is_empty() {
        loaded.suppress = suppress;
    }
    loaded.suppress_begin = suppress_begin;
    Ok(loaded)
}

fn full(
    tensors: HashMap<String, Tensor>,
    config: whisper::Config,
    format: String,
    path: &Path,
    device: &Device,
) -> Result<Loaded, String> {
    let parameters: u64 = tensors.values().map(|t| t.elem_count() as u64).sum();
    let suppress = config.suppress_tokens.clone();
    let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
    let net = model::Whisper::load(&vb, config).map_err(|e| e.to_string())?;
    Ok(Loaded {
        net: Net::Full(net),
        format,
        parameters,
        weight_bytes: parameters * 4,
        files: vec![path.to_path_buf()],
        suppress,
        suppress_begin: Vec::new(),
    })
}

fn gguf(path: &Path, config_json: &Value, device: &Device) -> Result<Loaded, String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let content = candle::quantized::gguf_file::Content::read(&mut file)
        .map_err(|e| format!("not a GGUF file: {e}"))?;
    let mut parameters = 0u64;
    let mut weight_bytes = 0u64;
    for info in content.tensor_infos.values() {
        let n = info.shape.elem_count() as u64;
        parameters += n;
        weight_bytes +=
            n * info.ggml_dtype.type_size() as u64 / info.ggml_dtype.block_size() as u64;
    }
    let dtype = content
        .tensor_infos
        .get("model.decoder.layers.0.fc1.weight")
        .map(|i| format!("{:?}", i.ggml_dtype).to_lowercase())
        .ok_or("model.decoder.layers.0.fc1.weight is missing: not a Whisper GGUF")?;
    let config = hf_config(config_json)?;
    let suppress = config.suppress_tokens.clone();
    let vb = quantized_model::VarBuilder::from_gguf(path, device).map_err(|e| e.to_string())?;
    let net = quantized_model::Whisper::load(&vb, config).map_err(|e| e.to_string())?;
    Ok(Loaded {
        net: Net::Quantized(net),
        format: format!("gguf {dtype}"),
        parameters,
        weight_bytes,
        files: vec![path.to_path_buf()],
        suppress,
        suppress_begin: Vec::new(),
    })
}

/// The Hugging Face Whisper config (`d_model`, `encoder_layers`, …).
fn hf_config(json: &Value) -> Result<whisper::Config, String> {
    serde_json::from_value(json.clone()).map_err(|e| format!("config.json: {e}"))
}

/// Dimensions inferred from the tensors of a CTranslate2 model (its config.json has none).
fn ct2_config(m: &ct2::Ct2Model) -> Result<whisper::Config, String> {
    let shape = |name: &str| {
        m.get(name)
            .map(|v| v.shape.clone())
            .ok_or_else(|| format!("variable {name} is missing"))
    };
    let conv1 = shape("encoder/conv1/weight")?;
    let (d_model, num_mel_bins) = match conv1.as_slice() {
        [d, mels, 3] => (*d, *mels),
        other => return Err(format!("encoder/conv1/weight has shape {other:?}")),
    };
    let heads = |side: &str| {
        m.scalar(&format!("{side}/num_heads"))
            .map_or(d_model / 64, |h| h as usize)
            .max(1)
    };
    Ok(whisper::Config {
        num_mel_bins,
        max_source_positions: shape("encoder/position_encodings/encodings")?[0],
        d_model,
        encoder_attention_heads: heads("encoder"),
        encoder_layers: ct2::layer_count(m, "encoder"),
        vocab_size: shape("decoder/embeddings/weight")?[0],
        max_target_positions: shape("decoder/position_encodings/encodings")?[0],
        decoder_attention_heads: heads("decoder"),
        decoder_layers: ct2::layer_count(m, "decoder"),
        suppress_tokens: Vec::new(),
    })
}

/// Suppressed tokens from config.json: Hugging Face `suppress_tokens` /
/// `begin_suppress_tokens`, or CTranslate2 `suppress_ids` / `suppress_ids_begin`.
fn suppress_lists(json: &Value) -> (Vec<u32>, Vec<u32>) {
    let ids = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| json.get(*k).and_then(Value::as_array))
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().map(|x| x as u32))
                    .collect()
            })
            .unwrap_or_default()
    };
    (
        ids(&["suppress_tokens", "suppress_ids"]),
        ids(&["begin_suppress_tokens", "suppress_ids_begin"]),
    )
}
