//! The submission's fields as validated values. [`SubmissionInput`] is what a form or the API
//! sends; [`SubmissionInput::validate`] turns it into a [`Submission`]'s editable part or a map
//! of field → message key (shown next to each field, or answered as 422 by the API).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldErrors;

pub const TITLE_MAX: usize = 120;
pub const DESCRIPTION_MAX: usize = 4000;
pub const NAME_MAX: usize = 80;
pub const MAX_PEOPLE: usize = 30;
pub const MAX_TOOLS: usize = 30;

/// What kind of act a submission is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Music,
    MusicVideo,
    DigitalHuman,
    Dance,
    SketchComedy,
    FolkHeritage,
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Music,
        Category::MusicVideo,
        Category::DigitalHuman,
        Category::Dance,
        Category::SketchComedy,
        Category::FolkHeritage,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Music => "music",
            Category::MusicVideo => "music_video",
            Category::DigitalHuman => "digital_human",
            Category::Dance => "dance",
            Category::SketchComedy => "sketch_comedy",
            Category::FolkHeritage => "folk_heritage",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    /// The catalog key of its label.
    pub fn label_key(self) -> String {
        format!("category.{}", self.as_str())
    }
}

/// The spoken languages a submission may declare (BCP-47), and "none" for no speech.
pub const LANGUAGES: [&str; 14] = [
    "zh-CN", "zh-TW", "yue", "en", "ja", "ko", "es", "fr", "de", "pt", "ru", "ar", "hi", "none",
];

/// A title: 1 to [`TITLE_MAX`] characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(s: &str) -> Result<Title, &'static str> {
        let t = s.trim();
        if t.is_empty() {
            Err("validation.required")
        } else if t.chars().count() > TITLE_MAX {
            Err("validation.title_long")
        } else {
            Ok(Title(t.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One credited person and what they did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Person {
    pub name: String,
    #[serde(default)]
    pub role: String,
}

/// The people and the AI tools behind a submission (stored as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Credits {
    pub people: Vec<Person>,
    #[serde(default)]
    pub ai_tools: Vec<String>,
}

impl Credits {
    /// Trimmed; empty entries dropped; at least one person; every name and tool bounded.
    fn validate(&self) -> Result<Credits, &'static str> {
        let people: Vec<Person> = self
            .people
            .iter()
            .map(|p| Person {
                name: p.name.trim().to_string(),
                role: p.role.trim().to_string(),
            })
            .filter(|p| !p.name.is_empty() || !p.role.is_empty())
            .collect();
        let ai_tools: Vec<String> = self
            .ai_tools
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if people.is_empty() {
            return Err("validation.credits_person");
        }
        if people.iter().any(|p| p.name.is_empty()) {
            return Err("validation.credits_name");
        }
        let long = |s: &String| s.chars().count() > NAME_MAX;
        if people.len() > MAX_PEOPLE
            || ai_tools.len() > MAX_TOOLS
            || people.iter().any(|p| long(&p.name) || long(&p.role))
            || ai_tools.iter().any(long)
        {
            return Err("validation.credits_long");
        }
        Ok(Credits { people, ai_tools })
    }

    /// The form's text: one person a line, "name: role".
    pub fn people_text(&self) -> String {
        let line = |p: &Person| {
            if p.role.is_empty() {
                p.name.clone()
            } else {
                format!("{}: {}", p.name, p.role)
            }
        };
        self.people.iter().map(line).collect::<Vec<_>>().join("\n")
    }

    /// Parses the form's two fields (people a line each, tools separated by commas).
    pub fn from_text(people: &str, tools: &str) -> Credits {
        let people = people
            .lines()
            .map(|l| match l.split_once(':') {
                Some((name, role)) => Person {
                    name: name.into(),
                    role: role.into(),
                },
                None => Person {
                    name: l.into(),
                    role: String::new(),
                },
            })
            .collect();
        let ai_tools = tools.split([',', '，']).map(str::to_string).collect();
        Credits { people, ai_tools }
    }
}

/// What a creator sends to create or edit a submission (the page's form and the API's JSON).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SubmissionInput {
    /// music, music_video, digital_human, dance, sketch_comedy, folk_heritage or other.
    pub category: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub credits: Credits,
    /// BCP-47 (zh-CN, en, …) or "none" for no speech.
    pub language: String,
    /// The creator holds the rights to everything in the clip.
    #[serde(default)]
    pub rights_confirmed: bool,
    /// Everyone who appears or is imitated in the clip agreed.
    #[serde(default)]
    pub consent_confirmed: bool,
}

/// A submission's editable fields, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSubmission {
    pub category: Category,
    pub title: Title,
    pub description: String,
    pub credits: Credits,
    pub language: String,
}

impl SubmissionInput {
    /// Every field checked; all errors at once, keyed by field name.
    pub fn validate(&self) -> Result<ValidSubmission, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut err = |field: &str, key: &str| {
            errors.insert(field.to_string(), key.to_string());
        };
        let category = Category::parse(&self.category);
        if category.is_none() {
            err("category", "validation.category");
        }
        let title = Title::parse(&self.title).map_err(|k| err("title", k)).ok();
        let description = self.description.trim().to_string();
        if description.chars().count() > DESCRIPTION_MAX {
            err("description", "validation.description_long");
        }
        let credits = self.credits.validate().map_err(|k| err("credits", k)).ok();
        let language = self.language.trim().to_string();
        if !LANGUAGES.contains(&language.as_str()) {
            err("language", "validation.language");
        }
        if !self.rights_confirmed {
            err("rights_confirmed", "validation.rights");
        }
        if !self.consent_confirmed {
            err("consent_confirmed", "validation.consent");
        }
        match (category, title, credits) {
            (Some(category), Some(title), Some(credits)) if errors.is_empty() => {
                Ok(ValidSubmission {
                    category,
                    title,
                    description,
                    credits,
                    language,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> SubmissionInput {
        SubmissionInput {
            category: "dance".into(),
            title: "  Moon dance ".into(),
            description: "A dance.".into(),
            credits: Credits::from_text("Li Wei: choreography\n\n", "Sora, Suno"),
            language: "zh-CN".into(),
            rights_confirmed: true,
            consent_confirmed: true,
        }
    }

    #[test]
    fn a_good_submission_is_trimmed() {
        let v = good().validate().unwrap();
        assert_eq!(v.title.as_str(), "Moon dance");
        assert_eq!(v.credits.people.len(), 1);
        assert_eq!(v.credits.people[0].role, "choreography");
        assert_eq!(v.credits.ai_tools, vec!["Sora", "Suno"]);
    }

    #[test]
    fn every_field_has_its_error() {
        let bad = SubmissionInput {
            category: "opera".into(),
            title: "x".repeat(TITLE_MAX + 1),
            description: "y".repeat(DESCRIPTION_MAX + 1),
            credits: Credits::default(),
            language: "klingon".into(),
            rights_confirmed: false,
            consent_confirmed: false,
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "category",
                "consent_confirmed",
                "credits",
                "description",
                "language",
                "rights_confirmed",
                "title"
            ]
        );
        assert_eq!(Title::parse("   "), Err("validation.required"));
        assert!(Title::parse(&"é".repeat(TITLE_MAX)).is_ok());
    }
}
