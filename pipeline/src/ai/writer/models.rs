//! Loading the writer's LLM: Mixture-of-Experts families of candle-transformers from
//! safetensors (one file or shards listed in `model.safetensors.index.json`), or a
//! Mixtral-style GGUF through the quantized llama model.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use candle::quantized::gguf_file;
use candle::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{mixtral, quantized_llama, qwen2_moe, qwen3_moe};
use serde_json::Value;
use tokenizers::Tokenizer;

use super::chat::{template_source, token_content, ChatTemplate, Message};
use super::generate::{run_loop, Forward, Generation, Sampler, TextGenerator};
use super::WriterConfig;
use crate::ai::{Model, ModelError, ModelSummary, RunControl};

/// The families [`load`] reads.
pub const FAMILIES: [&str; 4] = ["qwen2-moe", "qwen3-moe", "mixtral", "gguf"];

/// A loaded LLM with its tokenizer, chat template and stop tokens.
pub struct LlmModel {
    backend: Backend,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stop: Vec<u32>,
    sampler: Sampler,
    device: Device,
    summary: ModelSummary,
    name: String,
}

enum Backend {
    Qwen2Moe(Box<qwen2_moe::Model>),
    Qwen3Moe(Box<qwen3_moe::ModelForCausalLM>),
    /// candle's Mixtral has no way to empty its KV cache: a fresh clone (tensors are shared)
    /// replaces the used one.
    Mixtral {
        fresh: Box<mixtral::Model>,
        live: Box<mixtral::Model>,
    },
    Gguf(Box<quantized_llama::ModelWeights>),
}

impl Forward for Backend {
    fn forward(&mut self, ids: &Tensor, pos: usize) -> candle::Result<Tensor> {
        match self {
            Backend::Qwen2Moe(m) => m.forward(ids, pos),
            Backend::Qwen3Moe(m) => m.forward(ids, pos),
            Backend::Mixtral { live, .. } => live.forward(ids, pos),
            Backend::Gguf(m) => m.forward(ids, pos),
        }
    }

    fn reset(&mut self) {
        match self {
            Backend::Qwen2Moe(m) => m.clear_kv_cache(),
            Backend::Qwen3Moe(m) => m.clear_kv_cache(),
            Backend::Mixtral { fresh, live } => *live = fresh.clone(),
            Backend::Gguf(m) => m.clear_kv_cache(),
        }
    }
}

impl LlmModel {
    /// The rendered prompt for `messages` (the chat template, or ChatML).
    pub fn prompt(&self, messages: &[Message]) -> Result<String, ModelError> {
        self.template
            .render(messages)
            .map_err(|reason| ModelError::Run {
                role: "writer",
                reason,
            })
    }

    /// The token ids that end an answer.
    pub fn stop_tokens(&self) -> &[u32] {
        &self.stop
    }

    /// True when the model had no chat template and ChatML is used.
    pub fn uses_chatml_fallback(&self) -> bool {
        self.template.is_fallback
    }
}

impl Model for LlmModel {
    fn summary(&self) -> ModelSummary {
        self.summary.clone()
    }
}

impl TextGenerator for LlmModel {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn generate(
        &mut self,
        messages: &[Message],
        seed: u64,
        ctl: &RunControl,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Generation, ModelError> {
        let prompt = self.prompt(messages)?;
        run_loop(
            &mut self.backend,
            &self.tokenizer,
            &self.device,
            &prompt,
            &self.stop,
            &self.sampler,
            seed,
            ctl,
            on_token,
        )
    }
}

/// Loads the configured writer model on `device` (f32 on the CPU, bf16 on CUDA).
pub fn load(cfg: &WriterConfig, device: &Device) -> Result<LlmModel, ModelError> {
    let family = cfg.family.trim();
    if family.is_empty() {
        return Err(ModelError::NotConfigured { role: "writer" });
    }
    let fail = |reason: String| ModelError::Load {
        role: "writer",
        family: family.to_string(),
        path: cfg.path.display().to_string(),
        reason,
    };
    if !FAMILIES.contains(&family) {
        return Err(fail(format!(
            "unknown family; expected one of {FAMILIES:?}"
        )));
    }
    if !cfg.path.exists() {
        return Err(fail("the path does not exist".into()));
    }
    let sampler = Sampler {
        temperature: cfg.temperature,
        top_p: cfg.top_p,
        repeat_penalty: cfg.repeat_penalty,
        repeat_last_n: cfg.repeat_last_n,
        max_tokens: cfg.max_tokens,
    };
    let parts = if family == "gguf" {
        load_gguf(&cfg.path, device)
    } else {
        load_safetensors(family, &cfg.path, device)
    }
    .map_err(fail)?;
    let name_of = |p: &Path| {
        let stem = if family == "gguf" {
            p.file_stem()
        } else {
            p.file_name()
        };
        stem.map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    Ok(LlmModel {
        backend: parts.backend,
        tokenizer: parts.tokenizer,
        template: parts.template,
        stop: parts.stop,
        sampler,
        device: device.clone(),
        name: format!("{family}:{}", name_of(&parts.model_path)),
        summary: ModelSummary {
            role: "writer",
            family: family.to_string(),
            format: parts.format,
            parameters: parts.parameters,
            weight_bytes: parts.weight_bytes,
            files: parts.files,
        },
    })
}

struct Parts {
    backend: Backend,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stop: Vec<u32>,
    format: String,
    parameters: u64,
    weight_bytes: u64,
    files: Vec<PathBuf>,
    model_path: PathBuf,
}

fn read_json(path: &Path) -> Result<Option<Value>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn load_tokenizer(dir: &Path) -> Result<Tokenizer, String> {
    let path = dir.join("tokenizer.json");
    if !path.exists() {
        return Err(format!("{} is missing", path.display()));
    }
    Tokenizer::from_file(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The safetensors files: the shards of `model.safetensors.index.json`, `model.safetensors`, or
/// every `.safetensors` file of the directory.
fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if let Some(index) = read_json(&dir.join("model.safetensors.index.json"))? {
        let map = index
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or("model.safetensors.index.json has no weight_map")?;
        let names: BTreeSet<&str> = map.values().filter_map(Value::as_str).collect();
        return Ok(names.into_iter().map(|n| dir.join(n)).collect());
    }
    let single = dir.join("model.safetensors");
    if single.exists() {
        return Ok(vec![single]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err("no .safetensors file in the directory".into());
    }
    Ok(files)
}

fn load_safetensors(family: &str, dir: &Path, device: &Device) -> Result<Parts, String> {
    if !dir.is_dir() {
        return Err(format!("{family} expects a directory"));
    }
    let config = read_json(&dir.join("config.json"))?.ok_or("config.json is missing")?;
    let files = safetensors_files(dir)?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for file in &files {
        let part = candle::safetensors::load(file, &Device::Cpu)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        tensors.extend(part);
    }
    let parameters: u64 = tensors.values().map(|t| t.elem_count() as u64).sum();
    let file_dtype = tensors
        .values()
        .next()
        .map(|t| t.dtype())
        .ok_or("the safetensors files hold no tensor")?;
    let dtype = if device.is_cpu() {
        DType::F32
    } else {
        DType::BF16
    };
    let vb = VarBuilder::from_tensors(tensors, dtype, device);
    let bad = |e: candle::Error| format!("weights do not fit config.json: {e}");
    let cfg_err = |e: serde_json::Error| format!("config.json is not a {family} config: {e}");
    let backend = match family {
        "qwen2-moe" => {
            let c: qwen2_moe::Config = serde_json::from_value(config.clone()).map_err(cfg_err)?;
            Backend::Qwen2Moe(Box::new(qwen2_moe::Model::new(&c, vb).map_err(bad)?))
        }
        "qwen3-moe" => {
            let c: qwen3_moe::Config = serde_json::from_value(config.clone()).map_err(cfg_err)?;
            Backend::Qwen3Moe(Box::new(
                qwen3_moe::ModelForCausalLM::new(&c, vb).map_err(bad)?,
            ))
        }
        _ => {
            let mut value = config.clone();
            if let Some(o) = value.as_object_mut() {
                o.entry("use_flash_attn").or_insert(Value::Bool(false));
            }
            let c: mixtral::Config = serde_json::from_value(value).map_err(cfg_err)?;
            let model = Box::new(mixtral::Model::new(&c, vb).map_err(bad)?);
            Backend::Mixtral {
                fresh: model.clone(),
                live: model,
            }
        }
    };
    let tokenizer = load_tokenizer(dir)?;
    let tok_cfg = read_json(&dir.join("tokenizer_config.json"))?.unwrap_or(Value::Null);
    let bos = token_content(tok_cfg.get("bos_token")).unwrap_or_default();
    let eos = token_content(tok_cfg.get("eos_token")).unwrap_or_default();
    let template = ChatTemplate::new(template_source(tok_cfg.get("chat_template")), &bos, &eos)?;
    let generation = read_json(&dir.join("generation_config.json"))?.unwrap_or(Value::Null);
    let mut stop = ids_of(generation.get("eos_token_id"));
    stop.extend(ids_of(config.get("eos_token_id")));
    stop.extend(tokenizer.token_to_id(&eos));
    let mut all_files = files;
    all_files.push(dir.join("tokenizer.json"));
    Ok(Parts {
        stop: with_chat_stops(stop, &tokenizer),
        backend,
        tokenizer,
        template,
        format: format!("safetensors {}", format!("{file_dtype:?}").to_lowercase()),
        parameters,
        weight_bytes: parameters * dtype.size_in_bytes() as u64,
        files: all_files,
        model_path: dir.to_path_buf(),
    })
}

fn ids_of(value: Option<&Value>) -> Vec<u32> {
    match value {
        Some(Value::Number(n)) => n.as_u64().map(|n| n as u32).into_iter().collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_u64().map(|n| n as u32))
            .collect(),
        _ => Vec::new(),
    }
}

/// Adds the end-of-turn tokens of the common chat formats that the vocabulary has.
fn with_chat_stops(mut stop: Vec<u32>, tokenizer: &Tokenizer) -> Vec<u32> {
    for t in [
        "<|im_end|>",
        "<|endoftext|>",
        "</s>",
        "<|eot_id|>",
        "<|end|>",
    ] {
        stop.extend(tokenizer.token_to_id(t));
    }
    stop.sort_unstable();
    stop.dedup();
    stop
}

/// The `.gguf` file: `path` itself or the only one in the directory `path`.
fn gguf_file(path: &Path) -> Result<PathBuf, String> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let found: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err("no .gguf file in the directory".into()),
        _ => Err("more than one .gguf file in the directory; name one".into()),
    }
}

fn load_gguf(path: &Path, device: &Device) -> Result<Parts, String> {
    let file_path = gguf_file(path)?;
    let mut file = File::open(&file_path).map_err(|e| format!("{}: {e}", file_path.display()))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| format!("{}: not a GGUF file: {e}", file_path.display()))?;
    let md_str = |k: &str| {
        content
            .metadata
            .get(k)
            .and_then(|v| v.to_string().ok())
            .cloned()
    };
    let md_u32 = |k: &str| content.metadata.get(k).and_then(|v| v.to_u32().ok());
    let arch = md_str("general.architecture").unwrap_or_default();
    if arch != "llama" {
        return Err(format!(
            "general.architecture is {arch:?}; the gguf family reads llama/Mixtral-style files"
        ));
    }
    let mut parameters = 0u64;
    let mut weight_bytes = 0u64;
    let mut dtypes: HashMap<String, u64> = HashMap::new();
    for info in content.tensor_infos.values() {
        let n = info.shape.elem_count() as u64;
        parameters += n;
        weight_bytes +=
            n / info.ggml_dtype.block_size() as u64 * info.ggml_dtype.type_size() as u64;
        *dtypes
            .entry(format!("{:?}", info.ggml_dtype).to_lowercase())
            .or_default() += n;
    }
    let main_dtype = dtypes
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(d, _)| d)
        .unwrap_or_default();
    let template_src = md_str("tokenizer.chat_template");
    let eos_id = md_u32("tokenizer.ggml.eos_token_id");
    let dir = file_path.parent().unwrap_or(Path::new("."));
    let tokenizer = load_tokenizer(dir)?;
    let eos = eos_id
        .and_then(|id| tokenizer.id_to_token(id))
        .unwrap_or_default();
    let bos = md_u32("tokenizer.ggml.bos_token_id")
        .and_then(|id| tokenizer.id_to_token(id))
        .unwrap_or_default();
    let template = ChatTemplate::new(template_src, &bos, &eos)?;
    let weights = quantized_llama::ModelWeights::from_gguf(content, &mut file, device)
        .map_err(|e| format!("{}: {e}", file_path.display()))?;
    Ok(Parts {
        backend: Backend::Gguf(Box::new(weights)),
        stop: with_chat_stops(eos_id.into_iter().collect(), &tokenizer),
        tokenizer,
        template,
        format: format!("gguf {main_dtype}"),
        parameters,
        weight_bytes,
        files: vec![file_path.clone(), dir.join("tokenizer.json")],
        model_path: file_path,
    })
}
