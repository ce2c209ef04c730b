//! The keyframe classifier: a `vit` image classifier with its own labels, or zero-shot `clip` /
//! `chinese-clip` choosing between configured prompts (the prompt embeddings are computed once
//! at load, so a frame costs one pass of the vision tower).

use std::path::Path;

use candle::{Device, Tensor, D};
use candle_nn::VarBuilder;
use candle_transformers::models::{chinese_clip, clip, vit};
use image::RgbImage;

use super::frames::{self, Preprocess};
use super::labels::{LabelScore, Labels};
use super::text::check_model_type;
use super::weights::{run_error, ModelDir, WEIGHTS};
use super::{clip_config, ImageModelConfig, Prompt};
use crate::ai::{Flag, FrameModerator, Model, ModelError, ModelSummary, RunControl};
use crate::config::IngestLimits;

const ROLE: &str = "image_moderation";

/// Loads the configured keyframe classifier for the analysis jobs.
pub fn load_image(
    cfg: &ImageModelConfig,
    device: &Device,
) -> Result<Box<dyn FrameModerator>, ModelError> {
    Ok(Box::new(ImageClassifier::load(cfg, device)?))
}

/// The prompts used when none are configured: English for `clip`, Chinese for `chinese-clip`.
/// Five kinds of harm, and four ordinary scenes for the model to choose instead.
pub fn default_prompts(family: &str) -> Vec<Prompt> {
    let english = [
        ("violence", "a photo of violence, blood or gore", true),
        ("nudity", "a photo of nudity or sexual content", true),
        ("weapon", "a photo of a gun or another weapon", true),
        ("drugs", "a photo of drugs or drug use", true),
        (
            "hate_symbol",
            "a photo of a hate symbol or extremist flag",
            true,
        ),
        ("normal", "a normal photo of everyday life", false),
        (
            "normal",
            "a photo of people talking or performing on a stage",
            false,
        ),
        (
            "normal",
            "a photo of a landscape, a street or a building",
            false,
        ),
        ("normal", "a screenshot with text or graphics", false),
    ];
    let chinese = [
        "暴力、流血或血腥的画面",
        "裸露或色情的画面",
        "枪支或其他武器的照片",
        "毒品或吸毒的画面",
        "仇恨标志或极端主义旗帜的图片",
        "日常生活的普通照片",
        "人们在舞台上交谈或表演的照片",
        "风景、街道或建筑的照片",
        "带有文字或图形的截图",
    ];
    english
        .iter()
        .zip(chinese)
        .map(|(&(label, en, flag), zh)| Prompt {
            label: label.into(),
            text: if family == "chinese-clip" { zh } else { en }.into(),
            flag,
        })
        .collect()
}

/// The network of one family.
pub(super) enum Backbone {
    Vit(Box<vit::Model>),
    Clip(Box<clip::ClipModel>),
    ChineseClip(Box<chinese_clip::ChineseClipModel>),
}

/// A built network and what loading needs to know about it.
pub(super) struct Built {
    pub backbone: Backbone,
    /// Side of the square pictures the vision tower reads.
    pub image_size: usize,
    /// CLIP: longest prompt in tokens, and the temperature used when the weights hold none.
    pub text_positions: usize,
    pub logit_scale_init: f32,
}

/// Zero-shot CLIP: the prompts' unit embeddings `(prompts, dim)`, the temperature, and which
/// label each prompt stands for.
struct ZeroShot {
    prompts: Tensor,
    scale: f64,
    label_of: Vec<usize>,
}

/// A loaded keyframe classifier.
pub struct ImageClassifier {
    dir: ModelDir,
    backbone: Backbone,
    zero_shot: Option<ZeroShot>,
    labels: Labels,
    preprocess: Preprocess,
    frames: usize,
    floor: f32,
    limits: IngestLimits,
    parameters: u64,
    stored: candle::DType,
    device: Device,
}

impl ImageClassifier {
    /// Loads `model.safetensors`, `config.json`, `preprocessor_config.json` when present, and
    /// for CLIP `tokenizer.json`, from `cfg.path`.
    pub fn load(cfg: &ImageModelConfig, device: &Device) -> Result<ImageClassifier, ModelError> {
        if cfg.family.is_empty() {
            return Err(ModelError::NotConfigured { role: ROLE });
        }
        let dir = ModelDir::new(ROLE, &cfg.family, &cfg.path);
        let expected: &[&str] = match cfg.family.as_str() {
            "vit" => &["vit"],
            "clip" => &["clip"],
            "chinese-clip" => &["chinese_clip"],
            other => {
                return Err(dir.error(format!(
                    "unknown family {other:?}: vit, clip or chinese-clip"
                )))
            }
        };
        let config = dir.config_json()?;
        check_model_type(&dir, &config, expected)?;
        let weights = dir.weights(device)?;
        let vit_labels = if cfg.family == "vit" {
            Some(Labels::from_config(&config, &cfg.flag_labels).map_err(|e| dir.error(e))?)
        } else {
            None
        };
        let n_labels = vit_labels.as_ref().map_or(0, |l| l.names.len());
        let built = build_network(&dir, &config, n_labels, weights.vb.clone())?;
        let (labels, zero_shot) = match vit_labels {
            Some(labels) => (labels, None),
            None => {
                let prompts = if cfg.prompts.is_empty() {
                    default_prompts(&cfg.family)
                } else {
                    cfg.prompts.clone()
                };
                let (labels, label_of) = prompt_labels(&prompts).map_err(|e| dir.error(e))?;
                let tokenizer = dir.tokenizer()?;
                let texts: Vec<&str> = prompts.iter().map(|p| p.text.as_str()).collect();
                let ids = clip_config::encode(&tokenizer, &texts, built.text_positions)
                    .map_err(|e| dir.error(e))?;
                let embeddings =
                    clip_config::prompt_embeddings(&ids, device, |ids| match &built.backbone {
                        Backbone::Clip(m) => m.get_text_features(ids),
                        Backbone::ChineseClip(m) => m.get_text_features(ids, None, None),
                        Backbone::Vit(_) => candle::bail!("a ViT has no text tower"),
                    });
                let scale = clip_config::logit_scale(&weights.vb, built.logit_scale_init);
                let zero_shot = ZeroShot {
                    prompts: dir.build(embeddings)?,
                    scale: dir.build(scale)?,
                    label_of,
                };
                (labels, Some(zero_shot))
            }
        };
        let image_size = built.image_size as u32;
        let clip_like = cfg.family != "vit";
        let preprocess = match dir.path.join("preprocessor_config.json") {
            p if p.is_file() => {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| dir.error(format!("preprocessor_config.json: {e}")))?;
                let json: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| dir.error(format!("preprocessor_config.json: {e}")))?;
                Preprocess::from_json(&json, clip_like, image_size).map_err(|e| dir.error(e))?
            }
            _ => Preprocess::defaults(clip_like, image_size),
        };
        if preprocess.output_size() != Some((image_size, image_size)) {
            return Err(dir.error(format!(
                "preprocessor_config.json makes {:?} pictures, the model reads {image_size}x{image_size}",
                preprocess.output_size()
            )));
        }
        Ok(ImageClassifier {
            dir,
            backbone: built.backbone,
            zero_shot,
            labels,
            preprocess,
            frames: cfg.frames.max(1),
            floor: cfg.report_floor,
            limits: IngestLimits::default(),
            parameters: weights.parameters,
            stored: weights.stored,
            device: device.clone(),
        })
    }

    /// Decodes under these limits instead of the ingest defaults.
    pub fn set_limits(&mut self, limits: IngestLimits) {
        self.limits = limits;
    }

    /// The labels scored, in order (for CLIP, the distinct prompt labels).
    pub fn labels(&self) -> &[String] {
        &self.labels.names
    }

    /// Scores of every label for each picture, in the order given.
    pub fn classify_frames(&self, images: &[RgbImage]) -> Result<Vec<Vec<LabelScore>>, ModelError> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        self.scores(images).map_err(|e| run_error(ROLE, e))
    }

    fn scores(&self, images: &[RgbImage]) -> candle::Result<Vec<Vec<LabelScore>>> {
        let pixels = self.preprocess.tensor(images, &self.device)?;
        let features = match &self.backbone {
            Backbone::Vit(model) => return self.labels.scores(&model.forward(&pixels)?),
            Backbone::Clip(model) => model.get_image_features(&pixels)?,
            Backbone::ChineseClip(model) => model.get_image_features(&pixels)?,
        };
        let Some(ZeroShot {
            prompts,
            scale,
            label_of,
        }) = &self.zero_shot
        else {
            candle::bail!("a CLIP model without prompts");
        };
        let features = clip::div_l2_norm(&features)?;
        let logits = (features.matmul(&prompts.t()?)? * *scale)?;
        let per_prompt = candle_nn::ops::softmax(&logits, D::Minus1)?.to_vec2::<f32>()?;
        // Prompts sharing a label add up: several phrasings of "normal" are one choice.
        Ok(per_prompt
            .iter()
            .map(|row| {
                let mut sums = vec![0f32; self.labels.names.len()];
                for (p, &l) in label_of.iter().enumerate() {
                    sums[l] += row[p];
                }
                self.labels.named(&sums)
            })
            .collect())
    }
}

impl Model for ImageClassifier {
    fn summary(&self) -> ModelSummary {
        let files = [
            WEIGHTS,
            "config.json",
            "preprocessor_config.json",
            "tokenizer.json",
        ];
        self.dir.summary(self.parameters, self.stored, &files)
    }
}

impl FrameModerator for ImageClassifier {
    fn moderate(&mut self, media: &Path, ctl: &mut RunControl) -> Result<Vec<Flag>, ModelError> {
        ctl.check(ROLE)?;
        let side = self.preprocess.decode_side();
        let frames = frames::sample(media, self.frames, side, &self.limits)
            .map_err(|e| run_error(ROLE, format!("{}: {e}", media.display())))?;
        (ctl.progress)(0.2);
        let mut flags = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            ctl.check(ROLE)?;
            let scores = self.classify_frames(std::slice::from_ref(&frame.image))?;
            for s in scores
                .iter()
                .flatten()
                .filter(|s| s.flag && s.score >= self.floor)
            {
                flags.push(Flag {
                    source: "frame".into(),
                    label: s.label.clone(),
                    score: s.score,
                    excerpt: format!("frame at {}", frames::clock(frame.at_ms)),
                    at_ms: Some(frame.at_ms),
                });
            }
            (ctl.progress)(0.2 + 0.8 * (i + 1) as f64 / frames.len() as f64);
        }
        (ctl.progress)(1.0);
        Ok(flags)
    }
}

/// The network of `dir.family` over `vb`; `labels` is the number of ViT outputs. The fixtures
/// build random weights through this same function.
pub(super) fn build_network(
    dir: &ModelDir,
    config: &serde_json::Value,
    labels: usize,
    vb: VarBuilder,
) -> Result<Built, ModelError> {
    match dir.family.as_str() {
        "vit" => {
            let c: vit::Config = dir.parse("config.json", vit_defaults(config.clone()))?;
            Ok(Built {
                backbone: Backbone::Vit(Box::new(dir.build(vit::Model::new(&c, labels, vb))?)),
                image_size: c.image_size,
                text_positions: 0,
                logit_scale_init: 0.0,
            })
        }
        "clip" => {
            let c = clip_config::clip(config).map_err(|e| dir.error(e))?;
            Ok(Built {
                backbone: Backbone::Clip(Box::new(dir.build(clip::ClipModel::new(vb, &c))?)),
                image_size: c.image_size,
                text_positions: c.text_config.max_position_embeddings,
                logit_scale_init: c.logit_scale_init_value,
            })
        }
        "chinese-clip" => {
            let c = clip_config::chinese_clip(config).map_err(|e| dir.error(e))?;
            let model = dir.build(chinese_clip::ChineseClipModel::new(vb, &c))?;
            Ok(Built {
                backbone: Backbone::ChineseClip(Box::new(model)),
                image_size: c.image_size,
                text_positions: c.text_config.max_position_embeddings,
                logit_scale_init: c.logit_scale_init_value,
            })
        }
        other => Err(dir.error(format!("unknown family {other:?}"))),
    }
}

/// The distinct labels of the prompts (flagged when any of its prompts is), and each prompt's
/// label index.
fn prompt_labels(prompts: &[Prompt]) -> Result<(Labels, Vec<usize>), String> {
    if prompts.len() < 2 {
        return Err("zero-shot classification needs at least two prompts".into());
    }
    let mut names: Vec<String> = Vec::new();
    let mut flag: Vec<bool> = Vec::new();
    let mut label_of = Vec::with_capacity(prompts.len());
    for p in prompts {
        let i = match names.iter().position(|n| *n == p.label) {
            Some(i) => i,
            None => {
                names.push(p.label.clone());
                flag.push(false);
                names.len() - 1
            }
        };
        flag[i] |= p.flag;
        label_of.push(i);
    }
    let labels = Labels {
        names,
        flag,
        multi_label: false,
    };
    Ok((labels, label_of))
}

/// ViT configurations may leave out what equals the `transformers` defaults.
fn vit_defaults(mut config: serde_json::Value) -> serde_json::Value {
    if let Some(map) = config.as_object_mut() {
        map.entry("qkv_bias").or_insert(serde_json::json!(true));
        map.entry("num_channels").or_insert(serde_json::json!(3));
        map.entry("layer_norm_eps")
            .or_insert(serde_json::json!(1e-12));
        map.entry("hidden_act").or_insert(serde_json::json!("gelu"));
    }
    config
}
