//! CLIP and Chinese-CLIP as `transformers` writes them: `config.json` with `text_config` and
//! `vision_config` (fields equal to the defaults may be left out), read into candle's config
//! types; and the prompt embeddings of zero-shot classification.

use candle::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{chinese_clip, clip};
use serde::Deserialize;
use serde_json::Value;

/// `text_config` of CLIP (defaults of `transformers`' `CLIPTextConfig`).
#[derive(Deserialize)]
#[serde(default)]
struct ClipText {
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    max_position_embeddings: usize,
    hidden_act: String,
    projection_dim: Option<usize>,
}

impl Default for ClipText {
    fn default() -> Self {
        ClipText {
            vocab_size: 49408,
            hidden_size: 512,
            intermediate_size: 2048,
            num_hidden_layers: 12,
            num_attention_heads: 8,
            max_position_embeddings: 77,
            hidden_act: "quick_gelu".into(),
            projection_dim: None,
        }
    }
}

/// `vision_config` of CLIP and Chinese-CLIP (defaults of `CLIPVisionConfig`).
#[derive(Deserialize)]
#[serde(default)]
struct Vision {
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_channels: usize,
    image_size: usize,
    patch_size: usize,
    hidden_act: String,
    layer_norm_eps: f64,
    projection_dim: Option<usize>,
}

impl Default for Vision {
    fn default() -> Self {
        Vision {
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            num_channels: 3,
            image_size: 224,
            patch_size: 32,
            hidden_act: "quick_gelu".into(),
            layer_norm_eps: 1e-5,
            projection_dim: None,
        }
    }
}

/// `text_config` of Chinese-CLIP, a BERT (defaults of `ChineseCLIPTextConfig`).
#[derive(Deserialize)]
#[serde(default)]
struct BertText {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    hidden_act: String,
    max_position_embeddings: usize,
    type_vocab_size: usize,
    layer_norm_eps: f64,
    pad_token_id: usize,
    position_embedding_type: String,
}

impl Default for BertText {
    fn default() -> Self {
        BertText {
            vocab_size: 30522,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            hidden_act: "gelu".into(),
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            position_embedding_type: "absolute".into(),
        }
    }
}

/// The top level shared by both.
#[derive(Deserialize)]
#[serde(default)]
struct Top<T> {
    text_config: T,
    vision_config: Vision,
    projection_dim: usize,
    logit_scale_init_value: f32,
}

impl<T: Default> Default for Top<T> {
    fn default() -> Self {
        Top {
            text_config: T::default(),
            vision_config: Vision::default(),
            projection_dim: 512,
            logit_scale_init_value: 2.6592,
        }
    }
}

fn top<T: for<'de> Deserialize<'de> + Default>(config: &Value) -> Result<Top<T>, String> {
    for key in ["text_config", "vision_config"] {
        if !config.get(key).is_some_and(Value::is_object) {
            return Err(format!("config.json has no {key}"));
        }
    }
    serde_json::from_value(config.clone()).map_err(|e| format!("config.json: {e}"))
}

fn chinese_activation(name: &str) -> Result<chinese_clip::Activation, String> {
    match name {
        "quick_gelu" | "gelu" | "gelu_new" | "relu" => Ok(name.to_string().into()),
        other => Err(format!("activation {other:?} is not supported")),
    }
}

/// candle's CLIP configuration from `config.json`.
pub fn clip(config: &Value) -> Result<clip::ClipConfig, String> {
    let top: Top<ClipText> = top(config)?;
    let (t, v) = (top.text_config, top.vision_config);
    for act in [&t.hidden_act, &v.hidden_act] {
        if act != "quick_gelu" {
            return Err(format!(
                "activation {act:?} is not supported by candle's CLIP (quick_gelu)"
            ));
        }
    }
    let text_config = clip::text_model::ClipTextConfig {
        vocab_size: t.vocab_size,
        embed_dim: t.hidden_size,
        activation: clip::text_model::Activation::QuickGelu,
        intermediate_size: t.intermediate_size,
        max_position_embeddings: t.max_position_embeddings,
        pad_with: None,
        num_hidden_layers: t.num_hidden_layers,
        num_attention_heads: t.num_attention_heads,
        projection_dim: t.projection_dim.unwrap_or(top.projection_dim),
    };
    let vision_config = clip::vision_model::ClipVisionConfig {
        embed_dim: v.hidden_size,
        activation: clip::text_model::Activation::QuickGelu,
        intermediate_size: v.intermediate_size,
        num_hidden_layers: v.num_hidden_layers,
        num_attention_heads: v.num_attention_heads,
        projection_dim: v.projection_dim.unwrap_or(top.projection_dim),
        num_channels: v.num_channels,
        image_size: v.image_size,
        patch_size: v.patch_size,
    };
    Ok(clip::ClipConfig {
        text_config,
        vision_config,
        logit_scale_init_value: top.logit_scale_init_value,
        image_size: v.image_size,
    })
}

/// candle's Chinese-CLIP configuration from `config.json`.
pub fn chinese_clip(config: &Value) -> Result<chinese_clip::ChineseClipConfig, String> {
    let top: Top<BertText> = top(config)?;
    let (t, v) = (top.text_config, top.vision_config);
    if t.position_embedding_type != "absolute" {
        return Err(format!(
            "position_embedding_type {:?} is not supported (absolute)",
            t.position_embedding_type
        ));
    }
    let text_config = chinese_clip::text_model::ChineseClipTextConfig {
        vocab_size: t.vocab_size,
        hidden_size: t.hidden_size,
        num_hidden_layers: t.num_hidden_layers,
        num_attention_heads: t.num_attention_heads,
        intermediate_size: t.intermediate_size,
        hidden_act: chinese_activation(&t.hidden_act)?,
        max_position_embeddings: t.max_position_embeddings,
        type_vocab_size: t.type_vocab_size,
        layer_norm_eps: t.layer_norm_eps,
        pad_token_id: t.pad_token_id,
        position_embedding_type: chinese_clip::text_model::PositionEmbeddingType::Absolute,
        ..Default::default()
    };
    let vision_config = chinese_clip::vision_model::ChineseClipVisionConfig {
        hidden_size: v.hidden_size,
        intermediate_size: v.intermediate_size,
        projection_dim: v.projection_dim.unwrap_or(top.projection_dim),
        num_hidden_layers: v.num_hidden_layers,
        num_attention_heads: v.num_attention_heads,
        num_channels: v.num_channels,
        image_size: v.image_size,
        patch_size: v.patch_size,
        hidden_act: chinese_activation(&v.hidden_act)?,
        layer_norm_eps: v.layer_norm_eps,
        ..Default::default()
    };
    Ok(chinese_clip::ChineseClipConfig {
        text_config,
        vision_config,
        projection_dim: top.projection_dim,
        logit_scale_init_value: top.logit_scale_init_value,
        image_size: v.image_size,
    })
}

/// Token ids of each prompt, at most `max_len` (the last token, CLIP's end of text, kept).
pub fn encode(
    tokenizer: &tokenizers::Tokenizer,
    texts: &[&str],
    max_len: usize,
) -> Result<Vec<Vec<u32>>, String> {
    texts
        .iter()
        .map(|text| {
            let mut ids = tokenizer
                .encode(*text, true)
                .map_err(|e| format!("tokenizer.json: {e}"))?
                .get_ids()
                .to_vec();
            if ids.is_empty() {
                return Err(format!("prompt {text:?} has no tokens"));
            }
            if ids.len() > max_len {
                let last = ids[ids.len() - 1];
                ids.truncate(max_len.saturating_sub(1));
                ids.push(last);
            }
            Ok(ids)
        })
        .collect()
}

/// Unit-length text embeddings of the prompts, `(prompts, dim)`.
pub fn prompt_embeddings(
    ids: &[Vec<u32>],
    device: &Device,
    embed: impl Fn(&Tensor) -> candle::Result<Tensor>,
) -> candle::Result<Tensor> {
    let rows = ids
        .iter()
        .map(|ids| embed(&Tensor::new(ids.as_slice(), device)?.unsqueeze(0)?))
        .collect::<candle::Result<Vec<_>>>()?;
    clip::div_l2_norm(&Tensor::cat(&rows, 0)?)
}

/// `exp(logit_scale)`: the learned temperature, or the configured initial one.
pub fn logit_scale(vb: &VarBuilder, init: f32) -> candle::Result<f64> {
    let raw = if vb.contains_tensor("logit_scale") {
        let t = vb.get_unchecked("logit_scale")?.to_dtype(DType::F32)?;
        t.flatten_all()?
            .to_vec1::<f32>()?
            .first()
            .copied()
            .unwrap_or(init)
    } else {
        init
    };
    Ok((raw as f64).exp())
}
