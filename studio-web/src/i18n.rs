//! Languages: English and Simplified Chinese. The language comes from the `lang` cookie (set
//! by the switch on every page, `GET /lang/{code}`), else from the browser's Accept-Language.
//! Messages live in `templates/i18n/{en,zh-CN}.yaml`, compiled in and parsed once.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::{header, request::Parts, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use crate::state::AppState;

/// The cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    /// The BCP 47 tag, as in `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let c = code.trim().to_ascii_lowercase();
        if c == "zh" || c.starts_with("zh-cn") || c.starts_with("zh-hans") || c == "zh-sg" {
            Some(Lang::ZhCn)
        } else if c == "en" || c.starts_with("en-") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::ZhCn,
            Lang::ZhCn => Lang::En,
        }
    }

    /// The cookie's choice, else the best Accept-Language match, else English.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        let jar = CookieJar::from_headers(headers);
        if let Some(lang) = jar
            .get(LANG_COOKIE)
            .and_then(|c| Lang::from_code(c.value()))
        {
            return lang;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(best_accepted)
            .unwrap_or(Lang::En)
    }
}

/// The supported language with the highest q-value in an Accept-Language header.
fn best_accepted(header: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(lang) = Lang::from_code(tag) {
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
    }
    best.map(|(_, l)| l)
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Self::Rejection> {
        Ok(Lang::from_headers(&parts.headers))
    }
}

/// Both message catalogs.
pub struct I18n {
    en: HashMap<String, String>,
    zh_cn: HashMap<String, String>,
}

const EN_YAML: &str = include_str!("../../templates/i18n/en.yaml");
const ZH_CN_YAML: &str = include_str!("../../templates/i18n/zh-CN.yaml");

impl I18n {
    pub fn load() -> anyhow::Result<I18n> {
        Ok(I18n {
            en: serde_norway::from_str(EN_YAML)?,
            zh_cn: serde_norway::from_str(ZH_CN_YAML)?,
        })
    }

    /// The message for `key`, or the key itself when a catalog lacks it (visible, not fatal).
    pub fn get<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        let catalog = match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh_cn,
        };
        catalog.get(key).map(String::as_str).unwrap_or(key)
    }

    /// Keys in one catalog and not in the other (for the test that keeps them in step).
    pub fn missing_keys(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .en
            .keys()
            .filter(|k| !self.zh_cn.contains_key(*k))
            .chain(self.zh_cn.keys().filter(|k| !self.en.contains_key(*k)))
            .cloned()
            .collect();
        out.sort();
        out
    }
}

/// A translator bound to one language: what templates call `t` with.
#[derive(Clone)]
pub struct Tr {
    i18n: Arc<I18n>,
    pub lang: Lang,
}

impl Tr {
    pub fn new(i18n: Arc<I18n>, lang: Lang) -> Tr {
        Tr { i18n, lang }
    }

    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.i18n.get(self.lang, key)
    }
}

/// `path` when it is a local path (`/…`, not `//host` or `/\host`), safe to redirect to.
pub fn safe_local_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(path)
}

/// Percent-encodes `s` for a query string value.
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn router() -> Router<AppState> {
    Router::new().route("/lang/{code}", get(switch))
}

#[derive(Deserialize)]
struct SwitchQuery {
    next: Option<String>,
}

/// Sets the language cookie and goes back to the page (a local path only).
async fn switch(
    Path(code): Path<String>,
    Query(q): Query<SwitchQuery>,
    jar: CookieJar,
) -> Response {
    let back = q
        .next
        .as_deref()
        .and_then(safe_local_path)
        .unwrap_or("/")
        .to_string();
    let Some(lang) = Lang::from_code(&code) else {
        return Redirect::to(&back).into_response();
    };
    let cookie = Cookie::build((LANG_COOKIE, lang.code()))
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::days(365))
        .build();
    (jar.add(cookie), Redirect::to(&back)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_have_the_same_keys() {
        let i18n = I18n::load().unwrap();
        assert_eq!(i18n.missing_keys(), Vec::<String>::new());
        assert!(i18n.en.len() > 20);
    }

    #[test]
    fn accept_language_picks_the_best_supported() {
        assert_eq!(best_accepted("zh-CN,zh;q=0.9,en;q=0.8"), Some(Lang::ZhCn));
        assert_eq!(best_accepted("zh-Hans"), Some(Lang::ZhCn));
        assert_eq!(best_accepted("fr, en-GB;q=0.5, zh;q=0.4"), Some(Lang::En));
        assert_eq!(best_accepted("fr"), None);
        assert_eq!(best_accepted("zh;q=0, en;q=0.1"), Some(Lang::En));
    }

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(
            safe_local_path("/admin/accounts?x=1"),
            Some("/admin/accounts?x=1")
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
            "",
        ] {
            assert_eq!(safe_local_path(bad), None, "{bad}");
        }
    }
}
