//! Validated values an account is made of. Parsing is the only way to get one, so a handler
//! holding an `Email` knows it is well formed and within size.

use std::fmt;

/// The longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// The longest display name accepted.
pub const MAX_DISPLAY_NAME_CHARS: usize = 80;

/// A lower-cased email address: `local@domain`, no spaces or control characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// The address, or the message key of what is wrong with it.
    pub fn parse(s: &str) -> Result<Email, &'static str> {
        let s = s.trim();
        if s.chars().count() > MAX_EMAIL_CHARS {
            return Err("validation.too_long");
        }
        let valid = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !s
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "<>\"'".contains(c))
            }
            None => false,
        };
        if valid {
            Ok(Email(s.to_lowercase()))
        } else {
            Err("validation.email")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// A display name: 1 to 80 characters, no control characters. Any other text is allowed; pages
/// escape it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(s: &str) -> Result<DisplayName, &'static str> {
        let s = s.trim();
        if s.is_empty() {
            Err("validation.required")
        } else if s.chars().count() > MAX_DISPLAY_NAME_CHARS {
            Err("validation.too_long")
        } else if s.chars().any(char::is_control) {
            Err("validation.display_name")
        } else {
            Ok(DisplayName(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" A.B@Example.ORG ").unwrap().as_str(),
            "a.b@example.org"
        );
        for bad in [
            "",
            "ab",
            "a@b",
            "@b.org",
            "a@.org",
            "a b@c.org",
            "a@b.org.",
            "a@b@c.org",
            "<a>@b.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(Email::parse(&long).unwrap_err(), "validation.too_long");
    }

    #[test]
    fn display_names() {
        assert!(DisplayName::parse("<b>Zoë 张</b>").is_ok());
        assert_eq!(DisplayName::parse("  ").unwrap_err(), "validation.required");
        assert_eq!(
            DisplayName::parse(&"x".repeat(81)).unwrap_err(),
            "validation.too_long"
        );
        assert_eq!(
            DisplayName::parse("a\u{7}b").unwrap_err(),
            "validation.display_name"
        );
    }
}
