//! The tus routes: header parsing and responses. The work is in [`UploadService`].

use axum::body::Body;
use axum::extract::{OriginalUri, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::UploadError;
use super::protocol::{self, Checksum, Metadata};
use super::service::{Claim, UploadService};
use super::store::{State as UploadState, UploadRow};
use super::UploadOwner;

/// Every response says which tus version this is; every request but OPTIONS must speak it.
pub async fn tus_version(request: Request, next: Next) -> Response {
    let version = request.headers().get("tus-resumable");
    let speaks_ours = version.is_some_and(|v| v.as_bytes() == protocol::TUS_VERSION.as_bytes());
    let mut response = if request.method() == Method::OPTIONS || speaks_ours {
        next.run(request).await
    } else {
        UploadError::UnsupportedVersion.into_response()
    };
    response.headers_mut().insert(
        "tus-resumable",
        HeaderValue::from_static(protocol::TUS_VERSION),
    );
    response
}

/// `OPTIONS /files`: what this server supports.
pub async fn options(State(svc): State<UploadService>) -> Response {
    let max = svc.config().uploads.max_bytes.to_string();
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        "tus-version",
        HeaderValue::from_static(protocol::TUS_VERSION),
    );
    headers.insert(
        "tus-extension",
        HeaderValue::from_static(protocol::TUS_EXTENSIONS),
    );
    headers.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static(protocol::TUS_CHECKSUM_ALGORITHMS),
    );
    set(headers, "tus-max-size", max);
    response
}

/// `POST /files`: creation, and creation-with-upload when the body is a first chunk.
pub async fn create(
    State(svc): State<UploadService>,
    owner: UploadOwner,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, UploadError> {
    if protocol::header(&headers, "upload-defer-length")?.is_some() {
        return Err(UploadError::bad(
            "Upload-Defer-Length is not supported; send Upload-Length.",
        ));
    }
    let length = protocol::int_header(&headers, "upload-length")?
        .ok_or_else(|| UploadError::bad("Upload-Length is required."))?;
    let with_upload = protocol::is_offset_stream(&headers);
    let content_length = protocol::int_header(&headers, "content-length")?.unwrap_or(0);
    if !with_upload && content_length > 0 {
        return Err(UploadError::UnsupportedMediaType(format!(
            "A first chunk must be sent as {}.",
            protocol::OFFSET_OCTET_STREAM
        )));
    }
    let checksum = Checksum::from_headers(&headers)?;
    let max_metadata = svc.config().uploads.max_metadata_bytes;
    let metadata = match protocol::header(&headers, "upload-metadata")? {
        Some(text) => Metadata::parse(text, max_metadata)?,
        None => Metadata::default(),
    };
    let upload = svc.create(owner, length, &metadata).await?;
    let offset = if with_upload {
        first_chunk(&svc, owner, &upload, body, checksum).await
    } else {
        0
    };
    let location = format!("{}/{}", uri.path().trim_end_matches('/'), upload.id);
    let mut response = StatusCode::CREATED.into_response();
    let out = response.headers_mut();
    set(out, header::LOCATION.as_str(), location);
    set(out, "upload-offset", offset.to_string());
    if offset < upload.length {
        set(
            out,
            "upload-expires",
            protocol::http_date(upload.expires_at),
        );
    }
    Ok(response)
}

/// The body of a creation-with-upload request. The upload exists whatever happens here, so
/// a failed chunk is logged and the client learns the offset and resumes with PATCH.
async fn first_chunk(
    svc: &UploadService,
    owner: UploadOwner,
    upload: &UploadRow,
    body: Body,
    checksum: Option<Checksum>,
) -> i64 {
    let received = match svc.lock(&upload.id, owner, 0).await {
        Ok(Claim::Locked(lock, row)) => svc.receive(lock, &row, body, checksum).await,
        Ok(Claim::AlreadyComplete(length)) => Ok(length),
        Err(e) => Err(e),
    };
    received.unwrap_or_else(|e| {
        let status = e.status();
        if let UploadError::Internal(e) = e {
            tracing::error!(upload = %upload.id, error = format!("{e:#}"), "first chunk failed");
        } else {
            tracing::debug!(upload = %upload.id, %status, "first chunk refused");
        }
        0
    })
}

/// `HEAD /files/{id}`: where the upload stands.
pub async fn head(
    State(svc): State<UploadService>,
    owner: UploadOwner,
    Path(id): Path<String>,
) -> Result<Response, UploadError> {
    let upload = svc.find(checked_id(&id)?, owner).await?;
    let receiving = upload.state == UploadState::Receiving;
    let offset = if receiving {
        upload.offset
    } else {
        upload.length
    };
    let mut response = StatusCode::OK.into_response();
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set(out, "upload-offset", offset.to_string());
    set(out, "upload-length", upload.length.to_string());
    if receiving {
        set(
            out,
            "upload-expires",
            protocol::http_date(upload.expires_at),
        );
    }
    let metadata: Metadata = serde_json::from_str(&upload.metadata)
        .map(Metadata)
        .unwrap_or_default();
    if !metadata.0.is_empty() {
        set(out, "upload-metadata", metadata.to_header());
    }
    Ok(response)
}

/// `PATCH /files/{id}`: append a chunk at `Upload-Offset`.
pub async fn patch(
    State(svc): State<UploadService>,
    owner: UploadOwner,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, UploadError> {
    let id = checked_id(&id)?;
    if !protocol::is_offset_stream(&headers) {
        return Err(UploadError::UnsupportedMediaType(format!(
            "Chunks must be sent as {}.",
            protocol::OFFSET_OCTET_STREAM
        )));
    }
    let offset = protocol::int_header(&headers, "upload-offset")?
        .ok_or_else(|| UploadError::bad("Upload-Offset is required."))?;
    let checksum = Checksum::from_headers(&headers)?;
    let content_length = protocol::int_header(&headers, "content-length")?;
    let (lock, upload) = match svc.lock(id, owner, offset).await? {
        Claim::Locked(lock, upload) => (lock, upload),
        Claim::AlreadyComplete(length) if content_length.unwrap_or(0) == 0 => {
            return Ok(patched(length, None));
        }
        Claim::AlreadyComplete(_) => return Err(UploadError::Complete),
    };
    if let Some(n) = content_length.filter(|n| offset + n > upload.length) {
        svc.unlock(lock).await;
        return Err(UploadError::TooLarge(format!(
            "This chunk of {n} bytes goes past the end of the upload ({} bytes are left).",
            upload.length - offset
        )));
    }
    let new_offset = svc.receive(lock, &upload, body, checksum).await?;
    let expires = (new_offset < upload.length).then_some(upload.expires_at);
    Ok(patched(new_offset, expires))
}

fn patched(offset: i64, expires_at: Option<i64>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    set(out, "upload-offset", offset.to_string());
    if let Some(at) = expires_at {
        set(out, "upload-expires", protocol::http_date(at));
    }
    response
}

/// `DELETE /files/{id}`: termination.
pub async fn terminate(
    State(svc): State<UploadService>,
    owner: UploadOwner,
    Path(id): Path<String>,
) -> Result<StatusCode, UploadError> {
    svc.terminate(checked_id(&id)?, owner).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Upload ids are 32 lowercase hex digits; anything else cannot exist (and never reaches the
/// database or a path).
fn checked_id(id: &str) -> Result<&str, UploadError> {
    let ok = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(id)
    } else {
        Err(UploadError::NotFound)
    }
}

fn set(headers: &mut HeaderMap, name: &str, value: String) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(&value),
    ) {
        headers.insert(name, value);
    }
}
