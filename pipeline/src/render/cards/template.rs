//! Card templates: YAML files (`assets/cards/<name>.yaml`) that say how a card looks: a
//! background (a colour or a vertical gradient), text blocks (which field, size as a fraction
//! of the frame height, position, colour, width and wrapping) and an optional logo image.
//! The four built-in templates (`host`, `bumper`, `break`, `slate`) are compiled in; a
//! configured directory may override them or add more.
//!
//! ```yaml
//! background: { gradient: ["#1b1040", "#5a1036"] }   # or { color: "#101020" }
//! logo: { file: logo.png, x: 0.92, y: 0.1, height: 0.08 }  # centre x, y; fractions
//! texts:
//!   - { field: line, size: 0.075, x: 0.5, y: 0.5, align: center, color: "#ffffff",
//!       max_width: 0.8, max_lines: 4 }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::CardError;

/// The built-in templates, by name.
pub const BUILT_IN: [(&str, &str); 4] = [
    ("host", include_str!("../../../../assets/cards/host.yaml")),
    (
        "bumper",
        include_str!("../../../../assets/cards/bumper.yaml"),
    ),
    ("break", include_str!("../../../../assets/cards/break.yaml")),
    ("slate", include_str!("../../../../assets/cards/slate.yaml")),
];

/// An sRGB colour, written `#rrggbb` in templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Color(pub [u8; 3]);

impl TryFrom<String> for Color {
    type Error = String;

    fn try_from(s: String) -> Result<Color, String> {
        let hex = s.trim().trim_start_matches('#');
        let ok = hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit());
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
        if ok {
            Ok(Color([byte(0), byte(2), byte(4)]))
        } else {
            Err(format!("`{s}` is not a colour (write #rrggbb)"))
        }
    }
}

/// What fills the frame behind the text: `color` or `gradient`, exactly one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Background {
    /// One colour.
    #[serde(default)]
    pub color: Option<Color>,
    /// A vertical gradient from the top colour to the bottom one.
    #[serde(default)]
    pub gradient: Option<[Color; 2]>,
}

impl Background {
    /// The colour of row `y` of `height` rows.
    pub fn at(&self, y: u32, height: u32) -> [u8; 3] {
        match (&self.gradient, &self.color) {
            (Some([top, bottom]), _) => {
                let t = y as f32 / height.saturating_sub(1).max(1) as f32;
                std::array::from_fn(|i| {
                    (top.0[i] as f32 + (bottom.0[i] as f32 - top.0[i] as f32) * t).round() as u8
                })
            }
            (None, Some(c)) => c.0,
            (None, None) => [0, 0, 0],
        }
    }
}

/// Which value of the card a text block shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The host's line.
    Line,
    /// The main text of a bumper or slate.
    Title,
    /// The label of a break.
    Label,
    /// The show's title.
    ShowTitle,
}

/// Horizontal alignment of a text block at its `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    Left,
    #[default]
    Center,
    Right,
}

/// One block of text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBlock {
    pub field: Field,
    /// Font size (em height) as a fraction of the frame height, 0 < size <= 0.5.
    pub size: f32,
    /// Anchor: `x` is the left edge, centre or right edge (by `align`), fraction of the width.
    pub x: f32,
    /// Vertical centre of the block, fraction of the height.
    pub y: f32,
    #[serde(default)]
    pub align: Align,
    pub color: Color,
    /// Widest line, fraction of the frame width; longer text wraps (per word in Latin
    /// scripts, per character in CJK). Default 0.9.
    #[serde(default = "default_max_width")]
    pub max_width: f32,
    /// Most lines; text that does not fit is drawn smaller (down to half size), then cut
    /// with an ellipsis. Default 3.
    #[serde(default = "default_max_lines")]
    pub max_lines: usize,
}

fn default_max_width() -> f32 {
    0.9
}

fn default_max_lines() -> usize {
    3
}

/// A logo image drawn over the background.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logo {
    /// PNG file, relative to the templates directory.
    pub file: PathBuf,
    /// Centre of the logo, fractions of the width and height.
    pub x: f32,
    pub y: f32,
    /// Height of the logo, fraction of the frame height (the width follows the image).
    pub height: f32,
}

/// One card template.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub background: Background,
    #[serde(default)]
    pub logo: Option<Logo>,
    pub texts: Vec<TextBlock>,
    /// A chime under the picture (bumpers): none by default.
    #[serde(default)]
    pub sting: Option<super::sting::Sting>,
}

impl Template {
    /// Parses and checks a template; `name` and `origin` go into the error.
    pub fn parse(name: &str, origin: &str, yaml: &str) -> Result<Template, CardError> {
        let bad = |message: String| CardError::Template {
            name: name.into(),
            origin: origin.into(),
            message,
        };
        let t: Template = serde_norway::from_str(yaml).map_err(|e| bad(e.to_string()))?;
        if t.background.color.is_some() == t.background.gradient.is_some() {
            return Err(bad(
                "background needs exactly one of color or gradient".into()
            ));
        }
        for (i, b) in t.texts.iter().enumerate() {
            let within = |v: f32| (0.0..=1.0).contains(&v);
            if !(b.size > 0.0 && b.size <= 0.5) {
                return Err(bad(format!(
                    "texts[{i}].size must be in (0, 0.5], not {}",
                    b.size
                )));
            }
            if !within(b.x) || !within(b.y) {
                return Err(bad(format!("texts[{i}]: x and y must be in [0, 1]")));
            }
            if !(b.max_width > 0.0 && b.max_width <= 1.0) || b.max_lines == 0 {
                return Err(bad(format!(
                    "texts[{i}]: max_width must be in (0, 1] and max_lines at least 1"
                )));
            }
        }
        if let Some(s) = &t.sting {
            s.check().map_err(bad)?;
        }
        if let Some(l) = &t.logo {
            if !(l.height > 0.0 && l.height <= 1.0) {
                return Err(bad("logo.height must be in (0, 1]".into()));
            }
        }
        Ok(t)
    }
}

/// The templates a renderer knows, with the directory their logos are read from.
#[derive(Debug, Clone)]
pub struct Templates {
    pub by_name: BTreeMap<String, Template>,
    /// Where logo files are found (the configured directory); `None`: built-ins only.
    pub dir: Option<PathBuf>,
}

impl Templates {
    /// The built-in templates, then every `*.yaml` of `dir` (when given) over them.
    pub fn load(dir: Option<&Path>) -> Result<Templates, CardError> {
        let mut by_name = BTreeMap::new();
        for (name, yaml) in BUILT_IN {
            by_name.insert(name.to_string(), Template::parse(name, "built-in", yaml)?);
        }
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).map_err(|e| CardError::Template {
                name: "*".into(),
                origin: dir.display().to_string(),
                message: format!("cannot read the templates directory: {e}"),
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                    continue;
                }
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                let origin = path.display().to_string();
                let yaml = std::fs::read_to_string(&path).map_err(|e| CardError::Template {
                    name: name.clone(),
                    origin: origin.clone(),
                    message: e.to_string(),
                })?;
                by_name.insert(name.clone(), Template::parse(&name, &origin, &yaml)?);
            }
        }
        Ok(Templates {
            by_name,
            dir: dir.map(Path::to_path_buf),
        })
    }

    /// The template called `name`.
    pub fn get(&self, name: &str) -> Result<&Template, CardError> {
        self.by_name
            .get(name)
            .ok_or_else(|| CardError::UnknownTemplate {
                name: name.into(),
                known: self.by_name.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }
}
