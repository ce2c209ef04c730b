//! Whisper's tokenizer and the ids of its special tokens.

use std::path::Path;

use tokenizers::Tokenizer;

/// The special token ids the decoder needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Specials {
    pub eot: u32,
    pub sot: u32,
    pub transcribe: Option<u32>,
    pub translate: Option<u32>,
    pub sot_prev: Option<u32>,
    pub sot_lm: Option<u32>,
    pub no_speech: Option<u32>,
    pub no_timestamps: u32,
    /// `<|0.00|>`: the first timestamp token; the next ones step by 20 ms.
    pub timestamp_begin: u32,
    /// Language codes and their tokens (`en` → `<|en|>`), in id order.
    pub languages: Vec<(String, u32)>,
    /// `" "` alone, suppressed as the first text token.
    pub blank: Vec<u32>,
}

/// Reads `tokenizer.json`, or CTranslate2's `vocabulary.txt` (one byte-level token per line, in
/// id order) when there is none.
pub fn load_tokenizer(dir: &Path) -> Result<Tokenizer, String> {
    let json = dir.join("tokenizer.json");
    if json.is_file() {
        return Tokenizer::from_file(&json).map_err(|e| format!("{}: {e}", json.display()));
    }
    let vocab = dir.join("vocabulary.txt");
    if vocab.is_file() {
        let text = std::fs::read_to_string(&vocab).map_err(|e| e.to_string())?;
        return from_vocabulary(&text).map_err(|e| format!("{}: {e}", vocab.display()));
    }
    Err("neither tokenizer.json nor vocabulary.txt is in the directory".into())
}

/// A byte-level BPE tokenizer from a vocabulary listing (no merges: enough to decode).
pub fn from_vocabulary(text: &str) -> Result<Tokenizer, String> {
    let mut vocab = serde_json::Map::new();
    let mut added = Vec::new();
    for (id, token) in text.lines().enumerate() {
        if token.starts_with("<|") && token.ends_with("|>") {
            added.push(serde_json::json!({
                "id": id, "content": token, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true
            }));
        }
        vocab.insert(token.to_string(), serde_json::json!(id));
    }
    let byte_level = serde_json::json!({
        "type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true
    });
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": byte_level, "post_processor": null,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": false, "byte_fallback": false, "vocab": vocab, "merges": []}
    });
    json.to_string()
        .parse::<Tokenizer>()
        .map_err(|e| e.to_string())
}

impl Specials {
    /// The special tokens of `tok`; an error names the first one missing.
    pub fn of(tok: &Tokenizer) -> Result<Specials, String> {
        let id = |s: &str| tok.token_to_id(s);
        let need = |s: &str| id(s).ok_or_else(|| format!("the tokenizer has no {s} token"));
        let no_timestamps = need("<|notimestamps|>")?;
        let mut languages: Vec<(String, u32)> = tok
            .get_added_vocabulary()
            .get_vocab()
            .iter()
            .filter_map(|(content, &id)| {
                let code = content.strip_prefix("<|")?.strip_suffix("|>")?;
                let is_code =
                    (2..=3).contains(&code.len()) && code.chars().all(|c| c.is_ascii_lowercase());
                is_code.then(|| (code.to_string(), id))
            })
            .collect();
        languages.sort_by_key(|(_, id)| *id);
        let blank = tok
            .encode(" ", false)
            .map(|e| e.get_ids().to_vec())
            .ok()
            .filter(|ids| ids.len() == 1)
            .or_else(|| id("Ġ").map(|i| vec![i]))
            .unwrap_or_default();
        Ok(Specials {
            eot: need("<|endoftext|>")?,
            sot: need("<|startoftranscript|>")?,
            transcribe: id("<|transcribe|>"),
            translate: id("<|translate|>"),
            sot_prev: id("<|startofprev|>"),
            sot_lm: id("<|startoflm|>"),
            no_speech: id("<|nospeech|>").or_else(|| id("<|nocaptions|>")),
            no_timestamps,
            timestamp_begin: no_timestamps + 1,
            languages,
            blank,
        })
    }

    /// The language token of an ISO 639-1 code (`en`, `zh`), if the model knows it.
    pub fn language(&self, code: &str) -> Option<u32> {
        let code = code.trim().to_ascii_lowercase();
        let code = code.split(['-', '_']).next().unwrap_or_default();
        self.languages
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, id)| *id)
    }

    /// Tokens never sampled while transcribing: the task and control tokens.
    pub fn control(&self) -> Vec<u32> {
        [
            self.transcribe,
            self.translate,
            Some(self.sot),
            self.sot_prev,
            self.sot_lm,
            self.no_speech,
            Some(self.no_timestamps),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}
