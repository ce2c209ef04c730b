//! The tus 1.0 wire format: header names, parsing of the request headers this server reads,
//! and the human-readable size messages. No I/O here.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::error::UploadError;

pub const TUS_VERSION: &str = "1.0.0";
pub const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
pub const TUS_CHECKSUM_ALGORITHMS: &str = "sha256,sha1";
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// Longest file name kept (as display text), in characters.
pub const FILENAME_MAX_CHARS: usize = 255;
/// Most key-value pairs one `Upload-Metadata` header may carry.
const METADATA_MAX_PAIRS: usize = 32;
/// Longest checksum header: an algorithm name and a base64 digest.
const CHECKSUM_HEADER_MAX: usize = 128;

/// A header as text, or None when absent; a header that is not visible ASCII is a bad request.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, UploadError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| UploadError::bad(format!("{name} is not plain text."))),
    }
}

/// A non-negative integer header such as `Upload-Length` or `Upload-Offset`.
pub fn int_header(headers: &HeaderMap, name: &str) -> Result<Option<i64>, UploadError> {
    let Some(text) = header(headers, name)? else {
        return Ok(None);
    };
    match text.parse::<i64>() {
        Ok(n) if n >= 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
        _ => Err(UploadError::bad(format!(
            "{name} must be a non-negative whole number."
        ))),
    }
}

/// Whether the request's `Content-Type` is tus's `application/offset+octet-stream`.
pub fn is_offset_stream(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM))
}

/// `Upload-Metadata`, checked but still in its wire form: key → base64 value ("" when the key
/// came without a value). Kept as sent so that HEAD can echo it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata(pub BTreeMap<String, String>);

impl Metadata {
    pub fn parse(text: &str, max_bytes: u64) -> Result<Metadata, UploadError> {
        if text.len() as u64 > max_bytes {
            return Err(UploadError::HeaderTooLarge(format!(
                "Upload-Metadata is {} bytes; the largest allowed is {max_bytes} bytes.",
                text.len()
            )));
        }
        let mut pairs = BTreeMap::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once(' ').unwrap_or((item, ""));
            let value = value.trim();
            let key_ok = key.bytes().all(|b| b.is_ascii_graphic() && b != b',');
            if !key_ok || BASE64.decode(value).is_err() {
                return Err(UploadError::bad(
                    "Upload-Metadata must be `key base64value` pairs separated by commas.",
                ));
            }
            if pairs.insert(key.to_string(), value.to_string()).is_some() {
                return Err(UploadError::bad(format!(
                    "Upload-Metadata names {key} twice."
                )));
            }
        }
        if pairs.len() > METADATA_MAX_PAIRS {
            return Err(UploadError::HeaderTooLarge(format!(
                "Upload-Metadata has {} keys; the most allowed is {METADATA_MAX_PAIRS}.",
                pairs.len()
            )));
        }
        Ok(Metadata(pairs))
    }

    /// The header value to echo on HEAD.
    pub fn to_header(&self) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k} {v}")
                }
            })
            .collect();
        items.join(",")
    }

    /// Decoded values as text (invalid UTF-8 replaced), for the application.
    pub fn decoded(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(k, v)| {
                let bytes = BASE64.decode(v).unwrap_or_default();
                (k.clone(), String::from_utf8_lossy(&bytes).into_owned())
            })
            .collect()
    }

    /// The client's file name as display text: control characters dropped, length-limited.
    /// It is never used to build a path.
    pub fn filename(&self) -> Option<String> {
        let raw = self.decoded().remove("filename")?;
        let clean: String = raw
            .chars()
            .filter(|c| !c.is_control())
            .take(FILENAME_MAX_CHARS)
            .collect();
        Some(clean).filter(|s| !s.trim().is_empty())
    }

    /// The MIME type the client declared (`filetype`, or `type` as some clients send it).
    pub fn filetype(&self) -> Option<String> {
        let decoded = self.decoded();
        let raw = decoded.get("filetype").or_else(|| decoded.get("type"))?;
        let essence = raw
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        Some(essence).filter(|s| !s.is_empty() && s.len() <= 127)
    }
}

/// Whether a declared type is allowed; `allowed` empty means any type.
pub fn check_type(allowed: &[String], filetype: Option<&str>) -> Result<(), UploadError> {
    if allowed.is_empty() {
        return Ok(());
    }
    let list = allowed.join(", ");
    let Some(ty) = filetype else {
        return Err(UploadError::UnsupportedMediaType(format!(
            "Say what kind of file this is (filetype metadata); allowed: {list}."
        )));
    };
    let matches = |pattern: &String| match pattern.strip_suffix("/*") {
        Some(family) => ty
            .split_once('/')
            .is_some_and(|(f, _)| f.eq_ignore_ascii_case(family)),
        None => pattern.eq_ignore_ascii_case(ty),
    };
    if allowed.iter().any(matches) {
        Ok(())
    } else {
        Err(UploadError::UnsupportedMediaType(format!(
            "Files of type {ty} are not accepted; allowed: {list}."
        )))
    }
}

/// A digest algorithm of the checksum extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumAlgorithm {
    Sha256,
    Sha1,
}

/// `Upload-Checksum: <algorithm> <base64 digest>` of one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: ChecksumAlgorithm,
    pub digest: Vec<u8>,
}

impl Checksum {
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Checksum>, UploadError> {
        let Some(text) = header(headers, "upload-checksum")? else {
            return Ok(None);
        };
        if text.len() > CHECKSUM_HEADER_MAX {
            return Err(UploadError::HeaderTooLarge(
                "Upload-Checksum is too long.".into(),
            ));
        }
        let (name, value) = text.split_once(' ').unwrap_or((text, ""));
        let (algorithm, size) = match name.to_ascii_lowercase().as_str() {
            "sha256" => (ChecksumAlgorithm::Sha256, 32),
            "sha1" => (ChecksumAlgorithm::Sha1, 20),
            _ => {
                return Err(UploadError::bad(format!(
                    "Unsupported checksum algorithm; use one of {TUS_CHECKSUM_ALGORITHMS}."
                )))
            }
        };
        match BASE64.decode(value.trim()) {
            Ok(digest) if digest.len() == size => Ok(Some(Checksum { algorithm, digest })),
            _ => Err(UploadError::bad(
                "Upload-Checksum's digest is not valid base64 of the right length.",
            )),
        }
    }
}

/// An RFC 7231 date (`Upload-Expires`) for a time in Unix milliseconds.
pub fn http_date(ms: i64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

/// A size for people: "3.2 GB", "512.0 KB", "17 bytes" (units of 1024, as file managers show).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The 413 message for a file over the largest size allowed.
pub fn too_large_message(size: u64, max: u64) -> String {
    format!(
        "This file is {}; the largest allowed is {} ({} too large).",
        human_bytes(size),
        human_bytes(max),
        human_bytes(size.saturating_sub(max))
    )
}

/// The 413 message for a file that does not fit in what is left of the byte quota.
pub fn quota_bytes_message(size: u64, used: u64, quota: u64) -> String {
    format!(
        "This file is {}, but your uploads already use {} of your {} quota ({} over the quota).",
        human_bytes(size),
        human_bytes(used),
        human_bytes(quota),
        human_bytes((used + size).saturating_sub(quota))
    )
}

/// The 413 message for a user who holds as many uploads as allowed.
pub fn quota_files_message(count: u64, quota: u64) -> String {
    format!(
        "You already have {count} uploads; the most allowed is {quota} (1 upload over the quota). \
         Cancel unfinished uploads or wait until older ones are cleaned up."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trip_and_display_name() {
        let m = Metadata::parse(
            "filename Li4vLi4vZXRjL3Bhc3N3ZA==,filetype dmlkZW8vbXA0,flag",
            4096,
        )
        .unwrap();
        assert_eq!(m.filename().as_deref(), Some("../../etc/passwd"));
        assert_eq!(m.filetype().as_deref(), Some("video/mp4"));
        assert_eq!(Metadata::parse(&m.to_header(), 4096).unwrap(), m);
    }

    #[test]
    fn metadata_rejects_bad_base64_duplicates_and_oversize() {
        assert!(matches!(
            Metadata::parse("a !!!", 4096),
            Err(UploadError::BadRequest(_))
        ));
        assert!(matches!(
            Metadata::parse("a YQ==,a YQ==", 4096),
            Err(UploadError::BadRequest(_))
        ));
        let big = format!("a {}", "QUFB".repeat(2000));
        assert!(matches!(
            Metadata::parse(&big, 4096),
            Err(UploadError::HeaderTooLarge(_))
        ));
    }

    #[test]
    fn filename_is_cleaned_and_limited() {
        let long = "é".repeat(400) + "\n\u{7}";
        let m = Metadata::parse(&format!("filename {}", BASE64.encode(&long)), 4096).unwrap();
        let name = m.filename().unwrap();
        assert_eq!(name.chars().count(), FILENAME_MAX_CHARS);
        assert!(!name.contains('\n'));
    }

    #[test]
    fn types_match_families_and_exact_names() {
        let allowed = vec!["video/*".to_string(), "image/png".to_string()];
        assert!(check_type(&allowed, Some("video/mp4")).is_ok());
        assert!(check_type(&allowed, Some("image/png")).is_ok());
        assert!(check_type(&allowed, Some("image/jpeg")).is_err());
        assert!(check_type(&allowed, None).is_err());
        assert!(check_type(&[], None).is_ok());
    }

    #[test]
    fn size_messages_name_the_limit_and_the_excess() {
        let gb = 1u64 << 30;
        assert_eq!(
            too_large_message(3 * gb + gb / 5, 2 * gb),
            "This file is 3.2 GB; the largest allowed is 2.0 GB (1.2 GB too large)."
        );
        assert_eq!(human_bytes(17), "17 bytes");
    }

    #[test]
    fn checksum_header_is_parsed() {
        let mut h = HeaderMap::new();
        h.insert(
            "upload-checksum",
            format!("sha256 {}", BASE64.encode([0u8; 32]))
                .parse()
                .unwrap(),
        );
        assert_eq!(
            Checksum::from_headers(&h).unwrap().unwrap().algorithm,
            ChecksumAlgorithm::Sha256
        );
        h.insert("upload-checksum", "md5 AAAA".parse().unwrap());
        assert!(Checksum::from_headers(&h).is_err());
    }
}
