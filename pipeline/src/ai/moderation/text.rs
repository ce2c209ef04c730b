//! The text classifier: sequence classification of titles, descriptions and transcripts with
//! an `xlm-roberta`, `deberta-v2` or `modernbert` model from candle-transformers.
//!
//! Each field is cut into sentence-aligned chunks that fit the model's window ([`chunks`]);
//! a label's score for the field is its best chunk's score, and the excerpt is the sentence of
//! that chunk that scores highest on its own.
//!
//! [`chunks`]: super::chunks

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use candle::{DType, Device, IndexOp, Module, Tensor, D};
use candle_nn::{LayerNorm, Linear, VarBuilder};
use candle_transformers::models::{debertav2, modernbert, xlm_roberta};
use tokenizers::Tokenizer;

use super::chunks::{self, Chunk};
use super::labels::{LabelScore, Labels};
use super::weights::{run_error, ModelDir, WEIGHTS};
use super::TextModelConfig;
use crate::ai::{Flag, Model, ModelError, ModelSummary, RunControl, TextModerator};

const ROLE: &str = "text_moderation";
/// Longest excerpt kept in a flag, in characters.
const EXCERPT_CHARS: usize = 280;

/// Loads the configured text classifier for the analysis jobs.
pub fn load_text(
    cfg: &TextModelConfig,
    device: &Device,
) -> Result<Box<dyn TextModerator>, ModelError> {
    Ok(Box::new(TextClassifier::load(cfg, device)?))
}

/// The network of one family, each ending in one logit per label.
pub(super) enum Network {
    XlmRoberta(xlm_roberta::XLMRobertaForSequenceClassification),
    DebertaV2(Box<debertav2::DebertaV2SeqClassificationModel>),
    ModernBert(ModernBertClassifier),
}

/// A loaded text classifier.
pub struct TextClassifier {
    dir: ModelDir,
    network: Network,
    /// Encodes a chunk, truncated to the window.
    encoder: Tokenizer,
    /// Counts tokens of a piece of text, untruncated, without special tokens.
    counter: Tokenizer,
    labels: Labels,
    floor: f32,
    /// Tokens a chunk may hold besides the special ones.
    budget: usize,
    parameters: u64,
    stored: DType,
    device: Device,
}

impl TextClassifier {
    /// Loads `model.safetensors`, `config.json` and `tokenizer.json` from `cfg.path`.
    pub fn load(cfg: &TextModelConfig, device: &Device) -> Result<TextClassifier, ModelError> {
        if cfg.family.is_empty() {
            return Err(ModelError::NotConfigured { role: ROLE });
        }
        let dir = ModelDir::new(ROLE, &cfg.family, &cfg.path);
        let expected: &[&str] = match cfg.family.as_str() {
            "xlm-roberta" => &["xlm-roberta", "roberta"],
            "deberta-v2" => &["deberta-v2"],
            "modernbert" => &["modernbert"],
            other => {
                return Err(dir.error(format!(
                    "unknown family {other:?}: xlm-roberta, deberta-v2 or modernbert"
                )))
            }
        };
        let config = dir.config_json()?;
        check_model_type(&dir, &config, expected)?;
        let labels = Labels::from_config(&config, &cfg.flag_labels).map_err(|e| dir.error(e))?;
        let counter = dir.tokenizer()?;
        let weights = dir.weights(device)?;
        let (network, window) =
            build_network(&dir, &config, labels.names.len(), weights.vb.clone())?;
        let max_tokens = cfg.max_tokens.min(window).max(8);
        let specials = counter
            .get_post_processor()
            .map(|p| tokenizers::PostProcessor::added_tokens(p, false))
            .unwrap_or(0);
        let mut encoder = counter.clone();
        encoder
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| dir.error(format!("tokenizer.json: {e}")))?;
        encoder.with_padding(None);
        let mut counter = counter;
        counter
            .with_truncation(None)
            .map_err(|e| dir.error(format!("tokenizer.json: {e}")))?;
        Ok(TextClassifier {
            dir,
            network,
            encoder,
            counter,
            labels,
            floor: cfg.report_floor,
            budget: max_tokens.saturating_sub(specials).max(1),
            parameters: weights.parameters,
            stored: weights.stored,
            device: device.clone(),
        })
    }

    /// The model's labels, in output order.
    pub fn labels(&self) -> &[String] {
        &self.labels.names
    }

    /// The most tokens one chunk holds, special tokens not counted.
    pub fn chunk_tokens(&self) -> usize {
        self.budget
    }

    /// Scores of every label for one text (truncated to the model's window).
    pub fn classify(&self, text: &str) -> Result<Vec<LabelScore>, ModelError> {
        let encoding = self
            .encoder
            .encode(text, true)
            .map_err(|e| run_error(ROLE, e))?;
        let logits = self
            .forward(encoding.get_ids())
            .map_err(|e| run_error(ROLE, e))?;
        let mut rows = self
            .labels
            .scores(&logits)
            .map_err(|e| run_error(ROLE, e))?;
        rows.pop()
            .ok_or_else(|| run_error(ROLE, "the model returned no scores"))
    }

    /// The chunks a field is read in.
    pub fn chunks(&self, text: &str) -> Result<Vec<Chunk>, ModelError> {
        chunks::plan(text, self.budget, |piece| {
            self.counter
                .encode(piece, false)
                .map(|e| e.get_offsets().to_vec())
                .map_err(|e| run_error(ROLE, e))
        })
    }

    fn forward(&self, ids: &[u32]) -> candle::Result<Tensor> {
        let ids = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let mask = ids.ones_like()?;
        match &self.network {
            Network::XlmRoberta(n) => n.forward(&ids, &mask, &ids.zeros_like()?),
            Network::DebertaV2(n) => n.forward(&ids, None, Some(mask)),
            Network::ModernBert(n) => n.forward(&ids, &mask),
        }
    }

    /// Flags of one field from its chunks' scores.
    fn field_flags(
        &self,
        source: &str,
        text: &str,
        chunks: &[Chunk],
        scores: &[Vec<LabelScore>],
    ) -> Result<Vec<Flag>, ModelError> {
        let mut flags = Vec::new();
        let mut sentence_scores: HashMap<(usize, usize), Vec<LabelScore>> = HashMap::new();
        for (l, name) in self.labels.names.iter().enumerate() {
            if !self.labels.flag[l] {
                continue;
            }
            let Some((best, score)) = scores
                .iter()
                .enumerate()
                .map(|(c, s)| (c, s[l].score))
                .max_by(|a, b| a.1.total_cmp(&b.1))
            else {
                continue;
            };
            if score < self.floor {
                continue;
            }
            let chunk = &chunks[best];
            let mut excerpt = chunk.range.clone();
            if chunk.sentences.len() > 1 {
                let mut top = f32::MIN;
                for (s, range) in chunk.sentences.iter().enumerate() {
                    let scores = match sentence_scores.entry((best, s)) {
                        Entry::Occupied(e) => e.into_mut(),
                        Entry::Vacant(e) => e.insert(self.classify(&text[range.clone()])?),
                    };
                    let own = scores[l].score;
                    if own > top {
                        top = own;
                        excerpt = range.clone();
                    }
                }
            }
            flags.push(Flag {
                source: source.to_string(),
                label: name.clone(),
                score,
                excerpt: shorten(&text[excerpt]),
                at_ms: None,
            });
        }
        flags.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(flags)
    }
}

impl Model for TextClassifier {
    fn summary(&self) -> ModelSummary {
        self.dir.summary(
            self.parameters,
            self.stored,
            &[WEIGHTS, "config.json", "tokenizer.json"],
        )
    }
}

impl TextModerator for TextClassifier {
    fn moderate(
        &mut self,
        fields: &[(&str, &str)],
        ctl: &mut RunControl,
    ) -> Result<Vec<Flag>, ModelError> {
        let planned = fields
            .iter()
            .map(|(_, text)| self.chunks(text))
            .collect::<Result<Vec<_>, _>>()?;
        let total = planned.iter().map(Vec::len).sum::<usize>().max(1);
        let mut done = 0;
        let mut flags = Vec::new();
        for ((source, text), chunks) in fields.iter().zip(&planned) {
            let mut scores = Vec::with_capacity(chunks.len());
            for chunk in chunks {
                ctl.check(ROLE)?;
                scores.push(self.classify(&text[chunk.range.clone()])?);
                done += 1;
                (ctl.progress)(done as f64 / total as f64);
            }
            flags.extend(self.field_flags(source, text, chunks, &scores)?);
        }
        (ctl.progress)(1.0);
        Ok(flags)
    }
}

/// The network of `dir.family` over `vb`, and the longest input it reads in tokens. The
/// fixtures build random weights through this same function.
pub(super) fn build_network(
    dir: &ModelDir,
    config: &serde_json::Value,
    labels: usize,
    vb: VarBuilder,
) -> Result<(Network, usize), ModelError> {
    match dir.family.as_str() {
        "xlm-roberta" => {
            let c: xlm_roberta::Config = dir.parse("config.json", config.clone())?;
            // Positions start after the padding id, as in RoBERTa.
            let window = c
                .max_position_embeddings
                .saturating_sub(c.pad_token_id as usize + 1);
            let n = xlm_roberta::XLMRobertaForSequenceClassification::new(labels, &c, vb);
            Ok((Network::XlmRoberta(dir.build(n)?), window))
        }
        "deberta-v2" => {
            let c: debertav2::Config =
                dir.parse("config.json", deberta_defaults(config.clone()))?;
            let n = debertav2::DebertaV2SeqClassificationModel::load(vb.pp("deberta"), &c, None);
            Ok((
                Network::DebertaV2(Box::new(dir.build(n)?)),
                c.max_position_embeddings,
            ))
        }
        "modernbert" => {
            let c: modernbert::Config = dir.parse("config.json", config.clone())?;
            let n = ModernBertClassifier::load(vb, &c, config, labels).map_err(|e| dir.error(e))?;
            Ok((Network::ModernBert(n), c.max_position_embeddings))
        }
        other => Err(dir.error(format!("unknown family {other:?}"))),
    }
}

/// Fails when `config.json` names another architecture than the family configured.
pub(super) fn check_model_type(
    dir: &ModelDir,
    config: &serde_json::Value,
    expected: &[&str],
) -> Result<(), ModelError> {
    match config.get("model_type").and_then(|v| v.as_str()) {
        Some(found) if !expected.contains(&found) => Err(dir.error(format!(
            "config.json describes a {found:?} model, not {}",
            dir.family
        ))),
        _ => Ok(()),
    }
}

/// DeBERTa configurations leave the pooler settings out when they equal the defaults of
/// `transformers`; candle needs them written.
fn deberta_defaults(mut config: serde_json::Value) -> serde_json::Value {
    if let Some(map) = config.as_object_mut() {
        let hidden = map
            .get("hidden_size")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        map.entry("pooler_hidden_size").or_insert(hidden);
        map.entry("pooler_dropout")
            .or_insert(serde_json::json!(0.0));
        map.entry("pooler_hidden_act")
            .or_insert(serde_json::json!("gelu"));
    }
    config
}

/// ModernBERT sequence classification with the logits exposed: candle's own class ends in a
/// softmax, which rules out the sigmoid of multi-label models. Same weights and layout as
/// `transformers`: backbone, `head.dense` + GELU + `head.norm`, then `classifier`.
pub(super) struct ModernBertClassifier {
    model: modernbert::ModernBert,
    dense: Linear,
    norm: LayerNorm,
    classifier: Linear,
    mean_pooling: bool,
}

impl ModernBertClassifier {
    fn load(
        vb: VarBuilder,
        c: &modernbert::Config,
        raw: &serde_json::Value,
        labels: usize,
    ) -> Result<Self, String> {
        let text = |key: &str, default: &str| {
            raw.get(key)
                .and_then(|v| v.as_str())
                .unwrap_or(default)
                .to_string()
        };
        let activation = text("classifier_activation", "gelu");
        if activation != "gelu" {
            return Err(format!(
                "classifier_activation {activation:?} is not supported (gelu)"
            ));
        }
        let mean_pooling = match text("classifier_pooling", "cls").as_str() {
            "cls" => false,
            "mean" => true,
            other => return Err(format!("classifier_pooling {other:?} is not cls or mean")),
        };
        let bias = raw
            .get("classifier_bias")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let h = c.hidden_size;
        let build = || -> candle::Result<Self> {
            let dense = if bias {
                candle_nn::linear(h, h, vb.pp("head.dense"))?
            } else {
                candle_nn::linear_no_bias(h, h, vb.pp("head.dense"))?
            };
            Ok(Self {
                model: modernbert::ModernBert::load(vb.clone(), c)?,
                dense,
                norm: candle_nn::layer_norm_no_bias(h, c.layer_norm_eps, vb.pp("head.norm"))?,
                classifier: candle_nn::linear(h, labels, vb.pp("classifier"))?,
                mean_pooling,
            })
        };
        build().map_err(|e| format!("{WEIGHTS} does not fit config.json: {e}"))
    }

    fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle::Result<Tensor> {
        let hidden = self.model.forward(ids, mask)?;
        let pooled = if self.mean_pooling {
            let mask = mask.unsqueeze(D::Minus1)?.to_dtype(DType::F32)?;
            hidden
                .broadcast_mul(&mask)?
                .sum(1)?
                .broadcast_div(&mask.sum(1)?)?
        } else {
            hidden.i((.., 0, ..))?.contiguous()?
        };
        let x = self.dense.forward(&pooled)?.gelu_erf()?;
        self.classifier.forward(&self.norm.forward(&x)?)
    }
}

/// The excerpt as stored: at most [`EXCERPT_CHARS`] characters, an ellipsis when cut.
fn shorten(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= EXCERPT_CHARS {
        return text.to_string();
    }
    let mut out: String = text.chars().take(EXCERPT_CHARS - 1).collect();
    out.push('…');
    out
}
