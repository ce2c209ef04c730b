//! Random-weight Parler-TTS model directories in the layout [`super::parler::load`] reads:
//! `config.json`, `model.safetensors`, `tokenizer.json`. The text encoder and the audio-token
//! decoder are tiny; the DAC codec's shapes are fixed by candle's implementation (about 60 M
//! parameters). Random weights speak noise: the tests check shapes, rates and plumbing.

use std::collections::HashMap;
use std::path::Path;

use candle::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::parler_tts;
use serde_json::json;

/// Codebook entries of the tiny codec (the released models have 1024).
pub const CODEBOOK_SIZE: usize = 64;
/// Codebooks of the tiny model (the released models have 9).
pub const CODEBOOKS: usize = 4;

/// The config.json of a tiny model with a prompt vocabulary of `vocab` tokens. The decoder's
/// vocabulary is the codebook plus pad and start, as in the released models.
pub fn tiny_config(vocab: usize) -> serde_json::Value {
    let pad = CODEBOOK_SIZE;
    let start = CODEBOOK_SIZE + 1;
    json!({
        "decoder_start_token_id": start,
        "pad_token_id": pad,
        "vocab_size": vocab,
        "decoder": {
            "vocab_size": CODEBOOK_SIZE + 2, "max_position_embeddings": 512,
            "num_hidden_layers": 2, "ffn_dim": 32, "num_attention_heads": 2,
            "num_key_value_heads": 2, "num_cross_attention_key_value_heads": 2,
            "activation_function": "gelu", "hidden_size": 16, "scale_embedding": false,
            "num_codebooks": CODEBOOKS, "pad_token_id": pad, "bos_token_id": start,
            "eos_token_id": pad, "tie_word_embeddings": false, "rope_embeddings": false,
            "rope_theta": 10000.0
        },
        "text_encoder": {
            "vocab_size": vocab, "d_model": 24, "d_kv": 8, "d_ff": 32, "num_layers": 1,
            "num_heads": 3, "relative_attention_num_buckets": 8,
            "relative_attention_max_distance": 32, "dropout_rate": 0.0,
            "layer_norm_epsilon": 1e-6, "initializer_factor": 1.0,
            "feed_forward_proj": "relu", "is_encoder_decoder": true, "pad_token_id": 0,
            "eos_token_id": 1, "decoder_start_token_id": 0
        },
        "audio_encoder": {
            "num_codebooks": CODEBOOKS, "model_bitrate": 8, "codebook_size": CODEBOOK_SIZE,
            "latent_dim": 16, "frame_rate": 86, "sampling_rate": 44100
        }
    })
}

/// Writes a random tiny Parler-TTS model into `dir`; returns its parameter count.
pub fn write_tiny(dir: &Path) -> Result<u64, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let tokenizer = crate::ai::writer::random::write_tokenizer(dir)?;
    let config = tiny_config(tokenizer.get_vocab_size(true));
    std::fs::write(dir.join("config.json"), config.to_string()).map_err(|e| e.to_string())?;
    let cfg: parler_tts::Config = serde_json::from_value(config).map_err(|e| e.to_string())?;
    let err = |e: candle::Error| e.to_string();
    let mut varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    drop(parler_tts::Model::new(&cfg, vb).map_err(err)?);
    // The snake activations divide by alpha: a trained codec has them near 1.
    let alphas: Vec<(String, Vec<usize>)> = {
        let data = varmap.data().lock().map_err(|e| e.to_string())?;
        data.iter()
            .filter(|(n, _)| n.ends_with(".alpha"))
            .map(|(n, v)| (n.clone(), v.as_tensor().dims().to_vec()))
            .collect()
    };
    for (name, dims) in alphas {
        let ones = Tensor::ones(dims, DType::F32, &Device::Cpu).map_err(err)?;
        varmap.set_one(&name, ones).map_err(err)?;
    }
    // Weight-normalized convolutions divide by the norm of `weight_v`, which the VarMap
    // starts at zero: give them random directions and unit gains, as a trained codec has.
    let normed: Vec<(String, Vec<usize>)> = {
        let data = varmap.data().lock().map_err(|e| e.to_string())?;
        data.iter()
            .filter(|(n, _)| n.ends_with(".weight_v") || n.ends_with(".weight_g"))
            .map(|(n, v)| (n.clone(), v.as_tensor().dims().to_vec()))
            .collect()
    };
    for (name, dims) in normed {
        let value = if name.ends_with(".weight_v") {
            Tensor::randn(0f32, 1f32, dims, &Device::Cpu).map_err(err)?
        } else {
            Tensor::ones(dims, DType::F32, &Device::Cpu).map_err(err)?
        };
        varmap.set_one(&name, value).map_err(err)?;
    }
    let data = varmap.data().lock().map_err(|e| e.to_string())?;
    let parameters = data.values().map(|v| v.elem_count() as u64).sum();
    let tensors: HashMap<String, Tensor> = data
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect();
    candle::safetensors::save(&tensors, dir.join("model.safetensors")).map_err(err)?;
    Ok(parameters)
}
