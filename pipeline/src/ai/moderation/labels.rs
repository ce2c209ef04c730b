//! Labels of a classifier: names from `config.json` `id2label`, which of them count as harmful,
//! and how logits become scores (softmax, or sigmoid for multi-label models).

use candle::{Tensor, D};
use serde::Serialize;

/// One label and its score (0..=1) for one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
    /// Whether this label is reported when its score reaches the floor.
    pub flag: bool,
}

/// Normalised names of labels that mean "nothing to report". Compared after lower-casing and
/// dropping everything but letters and digits, so `Non-Toxic`, `not_toxic` and `LABEL_0` match.
const HARMLESS: &[&str] = &[
    "safe",
    "sfw",
    "neutral",
    "normal",
    "nontoxic",
    "nottoxic",
    "label0",
    "ok",
    "clean",
    "benign",
    "none",
    "nothate",
    "nonhate",
    "nohate",
    "notoffensive",
    "nonoffensive",
    "harmless",
    "appropriate",
    "acceptable",
];

/// Whether a label names the harmless class. `LABEL_0` counts as harmless because binary
/// moderation models without label names put "not harmful" first.
pub fn is_harmless(label: &str) -> bool {
    let key: String = label
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    HARMLESS.contains(&key.as_str())
}

/// The label set of a classifier and how its logits are read.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// Label names in output order.
    pub names: Vec<String>,
    /// Whether each label is reported.
    pub flag: Vec<bool>,
    /// Sigmoid per label (`problem_type: multi_label_classification`, or a single output);
    /// otherwise softmax over the labels.
    pub multi_label: bool,
}

impl Labels {
    /// Reads `id2label` and `problem_type` from a parsed `config.json`. `flag_labels` empty:
    /// every label but the harmless ones is reported.
    pub fn from_config(
        config: &serde_json::Value,
        flag_labels: &[String],
    ) -> Result<Labels, String> {
        let map = config
            .get("id2label")
            .and_then(|v| v.as_object())
            .filter(|m| !m.is_empty())
            .ok_or("config.json has no id2label: the label names are unknown")?;
        let mut pairs = Vec::with_capacity(map.len());
        for (id, name) in map {
            let id: usize = id
                .parse()
                .map_err(|_| format!("id2label key {id:?} is not a number"))?;
            let name = name
                .as_str()
                .ok_or_else(|| format!("id2label[{id}] is not a string"))?;
            pairs.push((id, name.to_string()));
        }
        pairs.sort();
        if pairs.iter().enumerate().any(|(i, (id, _))| i != *id) {
            return Err("id2label ids must be 0..n without gaps".into());
        }
        let names: Vec<String> = pairs.into_iter().map(|(_, n)| n).collect();
        for wanted in flag_labels {
            if !names.contains(wanted) {
                return Err(format!(
                    "flag label {wanted:?} is not one of the model's labels {names:?}"
                ));
            }
        }
        let flag = names
            .iter()
            .map(|n| {
                if flag_labels.is_empty() {
                    !is_harmless(n)
                } else {
                    flag_labels.contains(n)
                }
            })
            .collect();
        let problem = config.get("problem_type").and_then(|v| v.as_str());
        let multi_label = problem == Some("multi_label_classification") || names.len() == 1;
        Ok(Labels {
            names,
            flag,
            multi_label,
        })
    }

    /// Scores of a `(batch, labels)` logits tensor, one row per input.
    pub fn scores(&self, logits: &Tensor) -> candle::Result<Vec<Vec<LabelScore>>> {
        let probs = if self.multi_label {
            candle_nn::ops::sigmoid(logits)?
        } else {
            candle_nn::ops::softmax(logits, D::Minus1)?
        };
        let rows = probs.to_dtype(candle::DType::F32)?.to_vec2::<f32>()?;
        Ok(rows.into_iter().map(|row| self.named(&row)).collect())
    }

    /// Pairs one row of probabilities with the label names.
    pub fn named(&self, row: &[f32]) -> Vec<LabelScore> {
        self.names
            .iter()
            .zip(&self.flag)
            .zip(row)
            .map(|((label, flag), score)| LabelScore {
                label: label.clone(),
                score: *score,
                flag: *flag,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmless_names_are_recognised_in_any_spelling() {
        for name in [
            "safe",
            "Non-Toxic",
            "not_toxic",
            "LABEL_0",
            "NEUTRAL",
            "normal",
        ] {
            assert!(is_harmless(name), "{name}");
        }
        for name in ["toxic", "LABEL_1", "nsfw", "hate", "severe_toxic", "unsafe"] {
            assert!(!is_harmless(name), "{name}");
        }
    }

    #[test]
    fn labels_come_in_id_order_and_flags_follow_the_configuration() {
        let config = serde_json::json!({"id2label": {"1": "toxic", "0": "neutral", "2": "hate"}});
        let labels = Labels::from_config(&config, &[]).unwrap();
        assert_eq!(labels.names, ["neutral", "toxic", "hate"]);
        assert_eq!(labels.flag, [false, true, true]);
        assert!(!labels.multi_label);
        let only_hate = Labels::from_config(&config, &["hate".into()]).unwrap();
        assert_eq!(only_hate.flag, [false, false, true]);
        let err = Labels::from_config(&config, &["spam".into()]).unwrap_err();
        assert!(err.contains("spam"), "{err}");
        let err = Labels::from_config(&serde_json::json!({}), &[]).unwrap_err();
        assert!(err.contains("id2label"), "{err}");
    }

    #[test]
    fn multi_label_models_use_a_sigmoid_per_label() {
        let config = serde_json::json!({
            "id2label": {"0": "toxic", "1": "threat"},
            "problem_type": "multi_label_classification"
        });
        let labels = Labels::from_config(&config, &[]).unwrap();
        let logits = Tensor::new(&[[0f32, 0.0]], &candle::Device::Cpu).unwrap();
        let scores = labels.scores(&logits).unwrap();
        assert!((scores[0][0].score - 0.5).abs() < 1e-6);
        assert!((scores[0][1].score - 0.5).abs() < 1e-6);
        let softmax = Labels {
            multi_label: false,
            ..labels
        };
        let logits = Tensor::new(&[[0f32, 2f32.ln()]], &candle::Device::Cpu).unwrap();
        let scores = softmax.scores(&logits).unwrap();
        assert!((scores[0][1].score - 2.0 / 3.0).abs() < 1e-6);
    }
}
