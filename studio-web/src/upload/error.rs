//! The upload feature's one error type and its one mapping onto HTTP. Messages are plain text
//! meant for the person uploading; internal failures are logged with their context and
//! answered with a generic message. The lead maps this onto the app's `WebError` later.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::protocol::TUS_VERSION;

/// tus's own status for "the chunk does not match its checksum" (checksum extension).
const CHECKSUM_MISMATCH: u16 = 460;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("Sign in to upload.")]
    Unauthorized,
    #[error("This server speaks tus 1.0.0 only.")]
    UnsupportedVersion,
    /// Also the answer for another user's upload, so that ids cannot be probed.
    #[error("No such upload.")]
    NotFound,
    #[error("This upload has expired or was cancelled.")]
    Gone,
    #[error("The upload is at byte {expected}, not {got}.")]
    OffsetMismatch { expected: i64, got: i64 },
    #[error("This upload is complete and can no longer be changed.")]
    Complete,
    #[error("Another request is writing to this upload; try again shortly.")]
    Locked,
    /// Creation over the maximum size or a quota, or a chunk past `Upload-Length`.
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    HeaderTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("The chunk does not match its Upload-Checksum; it was discarded.")]
    ChecksumMismatch,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl UploadError {
    pub fn status(&self) -> StatusCode {
        match self {
            UploadError::Unauthorized => StatusCode::UNAUTHORIZED,
            UploadError::UnsupportedVersion => StatusCode::PRECONDITION_FAILED,
            UploadError::NotFound => StatusCode::NOT_FOUND,
            UploadError::Gone => StatusCode::GONE,
            UploadError::OffsetMismatch { .. } | UploadError::Complete => StatusCode::CONFLICT,
            UploadError::Locked => StatusCode::LOCKED,
            UploadError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::BadRequest(_) => StatusCode::BAD_REQUEST,
            UploadError::HeaderTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            UploadError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UploadError::ChecksumMismatch => {
                StatusCode::from_u16(CHECKSUM_MISMATCH).expect("460 is a valid status")
            }
            UploadError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn bad(message: impl Into<String>) -> UploadError {
        UploadError::BadRequest(message.into())
    }
}

impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        if let UploadError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "upload request failed");
        }
        let mut response = (self.status(), format!("{self}\n")).into_response();
        if matches!(self, UploadError::UnsupportedVersion) {
            response
                .headers_mut()
                .insert("tus-version", HeaderValue::from_static(TUS_VERSION));
        }
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}
