//! `gala models pull`: fetches a role's `hf_repo` from the Hugging Face Hub (or the mirror
//! named by `HF_ENDPOINT`) into the local cache (`HF_HOME`), and copies it into the role's
//! `path` when one is set. The only place that downloads; nothing else ever does.

use std::path::{Path, PathBuf};

use hf_hub::api::tokio::ApiBuilder;

use super::registry::ModelSource;
use super::ModelError;

/// What one pull fetched.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub repo: String,
    /// The files (name in the repository, size in bytes).
    pub files: Vec<(String, u64)>,
    /// Where the model now is: the role's `path`, or the cache snapshot.
    pub into: PathBuf,
}

/// The files of a repository a model needs: configuration and tokenizer files, safetensors
/// weights (PyTorch `.bin` only in the CTranslate2 layout, which has no safetensors), GGUF
/// files (only the one `path` names, when it names one), vocabularies.
pub fn wanted_files(siblings: &[String], path: &Path) -> Vec<String> {
    let has_safetensors = siblings.iter().any(|f| f.ends_with(".safetensors"));
    let gguf_named = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.ends_with(".gguf"));
    siblings
        .iter()
        .filter(|f| !f.contains('/'))
        .filter(|f| {
            let f = f.as_str();
            if f.ends_with(".gguf") {
                return gguf_named.is_none_or(|n| n == f);
            }
            f.ends_with(".json") && !f.starts_with('.')
                || f.ends_with(".safetensors")
                || f.starts_with("vocabulary.")
                || f == "tokenizer.model"
                || (f == "model.bin" && !has_safetensors)
        })
        .cloned()
        .collect()
}

/// Downloads the role's repository (files already in the cache are not fetched again).
pub async fn pull(source: &ModelSource) -> Result<Pulled, ModelError> {
    if source.hf_repo.is_empty() {
        return Err(source.load_error("hf_repo is not set: nothing to pull".into()));
    }
    let err = |e: hf_hub::api::tokio::ApiError| source.load_error(format!("pull failed: {e}"));
    let api = ApiBuilder::from_env()
        .with_progress(false)
        .build()
        .map_err(err)?;
    let repo = api.model(source.hf_repo.clone());
    let info = repo.info().await.map_err(err)?;
    let names: Vec<String> = info.siblings.into_iter().map(|s| s.rfilename).collect();
    let wanted = wanted_files(&names, &source.path);
    if wanted.is_empty() {
        return Err(source.load_error(format!(
            "{} has no model files (found: {})",
            source.hf_repo,
            names.join(", ")
        )));
    }
    let mut files = Vec::new();
    let mut snapshot = PathBuf::new();
    for name in &wanted {
        let cached = repo.get(name).await.map_err(err)?;
        let len = std::fs::metadata(&cached).map(|m| m.len()).unwrap_or(0);
        snapshot = cached.parent().map(Path::to_path_buf).unwrap_or_default();
        files.push((name.clone(), len));
    }
    let into = if source.path.as_os_str().is_empty() {
        snapshot
    } else {
        copy_into(source, &snapshot, &wanted)?
    };
    Ok(Pulled {
        repo: source.hf_repo.clone(),
        files,
        into,
    })
}

/// Copies the pulled files from the cache snapshot into the role's `path` (a directory, or the
/// directory of the one `.gguf` file it names).
fn copy_into(
    source: &ModelSource,
    snapshot: &Path,
    names: &[String],
) -> Result<PathBuf, ModelError> {
    let dir = if source.path.extension().is_some_and(|e| e == "gguf") {
        source
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    } else {
        source.path.clone()
    };
    let io = |e: std::io::Error| source.load_error(format!("copying into {}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(io)?;
    for name in names {
        let to = dir.join(name);
        let part = dir.join(format!(".{name}.part"));
        std::fs::copy(snapshot.join(name), &part).map_err(io)?;
        std::fs::rename(&part, &to).map_err(io)?;
    }
    Ok(source.path.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn safetensors_repositories_skip_pytorch_and_onnx_weights() {
        let got = wanted_files(
            &names(&[
                "config.json",
                "model.safetensors",
                "pytorch_model.bin",
                "onnx/model.onnx",
                "tokenizer.json",
                "README.md",
                ".gitattributes",
            ]),
            Path::new("models/x"),
        );
        assert_eq!(
            got,
            names(&["config.json", "model.safetensors", "tokenizer.json"])
        );
    }

    #[test]
    fn ctranslate2_layout_keeps_model_bin_and_vocabulary() {
        let got = wanted_files(
            &names(&[
                "config.json",
                "model.bin",
                "vocabulary.txt",
                "tokenizer.json",
            ]),
            Path::new(""),
        );
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn only_the_named_gguf_file_is_fetched() {
        let got = wanted_files(
            &names(&["a.Q4_0.gguf", "a.Q8_0.gguf", "config.json"]),
            Path::new("models/a.Q8_0.gguf"),
        );
        assert_eq!(got, names(&["a.Q8_0.gguf", "config.json"]));
    }
}
