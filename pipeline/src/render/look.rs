//! How a show looks beyond its media: the fonts and the card templates (with their logos)
//! configured on the studio. A remote render gets them as objects of the media store, named in
//! a [`Look`], so that a worker draws the same cards and lower thirds as the studio would. The
//! defaults (built-in templates, Noto Sans CJK found by `fc-match`) travel as nothing at all.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cards::CardsConfig;
use crate::config::RenderConfig;
use crate::storage::media::MediaStore;

/// At most this many template files travel (yaml and logos).
const MAX_FILES: usize = 256;
/// Templates directories deeper than this are not walked.
const MAX_DEPTH: usize = 4;

/// The render and cards settings with their files as objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Look {
    /// The render settings; a configured font is a name in `files`.
    pub render: RenderConfig,
    /// The cards settings; a configured font and templates directory are names in `files`.
    pub cards: CardsConfig,
    /// Each file by its path under the receiver's directory, with its digest.
    pub files: BTreeMap<String, String>,
}

/// Puts the configured fonts and templates into `store` and names them. Blocking.
pub fn pack(
    store: &dyn MediaStore,
    render: &RenderConfig,
    cards: &CardsConfig,
) -> anyhow::Result<Look> {
    let mut look = Look {
        render: render.clone(),
        cards: cards.clone(),
        files: BTreeMap::new(),
    };
    if let Some(name) = put_font(store, &render.font, "render", &mut look.files)? {
        look.render.font = name;
    }
    if let Some(name) = put_font(store, &cards.font, "cards", &mut look.files)? {
        look.cards.font = name;
    }
    if !cards.templates.as_os_str().is_empty() {
        let mut found = Vec::new();
        walk(&cards.templates, Path::new(""), 0, &mut found)?;
        for rel in found {
            let digest = store.put_file(&cards.templates.join(&rel))?;
            let name = Path::new("templates").join(&rel);
            look.files
                .insert(name.to_string_lossy().into_owned(), digest);
        }
        look.cards.templates = PathBuf::from("templates");
    }
    Ok(look)
}

/// Fetches the files of `look` into `dir` and returns the settings pointing at them. Blocking.
/// A name that would leave `dir` is refused.
pub fn unpack(
    store: &dyn MediaStore,
    look: &Look,
    dir: &Path,
) -> anyhow::Result<(RenderConfig, CardsConfig)> {
    for (name, digest) in &look.files {
        let rel = Path::new(name);
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            anyhow::bail!("the look names a file outside its directory: {name}");
        }
        let dest = dir.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(store.local_path(digest)?, &dest)?;
    }
    let inside = |p: &Path| {
        if p.as_os_str().is_empty() {
            PathBuf::new()
        } else {
            dir.join(p)
        }
    };
    let mut render = look.render.clone();
    render.font = inside(&render.font);
    let mut cards = look.cards.clone();
    cards.font = inside(&cards.font);
    cards.templates = inside(&cards.templates);
    Ok((render, cards))
}

/// Puts a configured font (none when `path` is empty) and returns its name.
fn put_font(
    store: &dyn MediaStore,
    path: &Path,
    what: &str,
    files: &mut BTreeMap<String, String>,
) -> anyhow::Result<Option<PathBuf>> {
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    let digest = store
        .put_file(path)
        .map_err(|e| e.context(format!("the {what} font {}", path.display())))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("ttf");
    let name = format!("fonts/{what}.{ext}");
    files.insert(name.clone(), digest);
    Ok(Some(PathBuf::from(name)))
}

/// The regular files under `root/rel`, as paths relative to `root`.
fn walk(root: &Path, rel: &Path, depth: usize, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let dir = root.join(rel);
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        anyhow::anyhow!("cannot read the templates directory {}: {e}", dir.display())
    })?;
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = rel.join(entry.file_name());
        if kind.is_file() {
            if found.len() == MAX_FILES {
                anyhow::bail!("the templates directory holds more than {MAX_FILES} files");
            }
            found.push(path);
        } else if kind.is_dir() && depth < MAX_DEPTH {
            walk(root, &path, depth + 1, found)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::media::LocalStore;

    #[test]
    fn configured_files_travel_and_defaults_do_not() {
        let studio = tempfile::tempdir().unwrap();
        let store = LocalStore::new(studio.path().join("media")).unwrap();

        let plain = pack(&store, &RenderConfig::default(), &CardsConfig::default()).unwrap();
        assert!(plain.files.is_empty());
        let dest = tempfile::tempdir().unwrap();
        let (render, cards) = unpack(&store, &plain, dest.path()).unwrap();
        assert_eq!(render, RenderConfig::default());
        assert_eq!(cards, CardsConfig::default());

        let templates = studio.path().join("templates");
        std::fs::create_dir_all(templates.join("logos")).unwrap();
        std::fs::write(templates.join("promo.yaml"), "texts: []\n").unwrap();
        std::fs::write(templates.join("logos/a.png"), b"not really a png").unwrap();
        let font = studio.path().join("House.otf");
        std::fs::write(&font, b"font bytes").unwrap();
        let cards = CardsConfig {
            templates: templates.clone(),
            font: font.clone(),
            ..CardsConfig::default()
        };
        let look = pack(&store, &RenderConfig::default(), &cards).unwrap();
        let names: Vec<&str> = look.files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "fonts/cards.otf",
                "templates/logos/a.png",
                "templates/promo.yaml"
            ]
        );
        // The look crosses as JSON, and the receiver gets the same bytes.
        let look: Look = serde_json::from_value(serde_json::to_value(&look).unwrap()).unwrap();
        let (render, got) = unpack(&store, &look, dest.path()).unwrap();
        assert_eq!(render.font, PathBuf::new());
        assert_eq!(got.font, dest.path().join("fonts/cards.otf"));
        assert_eq!(std::fs::read(&got.font).unwrap(), b"font bytes");
        assert_eq!(got.templates, dest.path().join("templates"));
        assert_eq!(
            std::fs::read(got.templates.join("logos/a.png")).unwrap(),
            b"not really a png"
        );
    }

    #[test]
    fn a_name_leaving_the_directory_is_refused() {
        let studio = tempfile::tempdir().unwrap();
        let store = LocalStore::new(studio.path().join("media")).unwrap();
        let digest = store.put_bytes(b"x").unwrap();
        for name in ["../evil.yaml", "/etc/evil.yaml", "templates/../../evil"] {
            let look = Look {
                render: RenderConfig::default(),
                cards: CardsConfig::default(),
                files: BTreeMap::from([(name.to_string(), digest.clone())]),
            };
            let err = unpack(&store, &look, &studio.path().join("in")).unwrap_err();
            assert!(err.to_string().contains("outside"), "{name}: {err}");
        }
    }
}
