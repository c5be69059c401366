//! 첨부파일 — uploading a file's bytes, naming them in a draft, and downloading them.
//!
//! 1. `POST /api/attachments` takes the raw bytes (`Content-Type` is the file's type, from an
//!    allow-list; at most `attachment_max_bytes`), runs the scan hook if one is configured,
//!    and keeps them in the attachment store under their SHA-256, which it answers. Nothing is
//!    recorded in the log yet: content no document names is only bytes in the store.
//! 2. A draft (기안, 임시저장, 재상신) names an attachment by that hash with its file name. The
//!    command API checks the hash is in the store and takes the size from the stored bytes,
//!    not from the client; the log then records name, type, size and hash.
//! 3. `GET /api/approvals/{id}/attachments/{attachment}` answers the bytes to whoever may see
//!    the document (404 to everyone else, as for the document itself), after checking that
//!    they still hash to what the log recorded, as a download (`Content-Disposition:
//!    attachment` with a safe name, `nosniff`), never as a page the browser would render.

use crate::error::ApiError;
use crate::extract::Caller;
use crate::openapi::{Api, Doc};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::approval::{Approval, Attachment, Content};
use domain::ids::{ApprovalId, EmployeeId};
use infra::attachments::{sha256_hex, AttachmentStore};
use infra::eventlog::{streams, StreamRef};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const T: &str = "attachments";

/// File types an attachment may have: documents, images, archives and 한글 files. Anything a
/// browser would run or render as a page (HTML, SVG, scripts) is not among them.
pub const ALLOWED_TYPES: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/x-hwp",
    "application/haansofthwp",
    "application/vnd.hancom.hwp",
    "application/vnd.hancom.hwpx",
    "application/octet-stream",
];

/// At most this many attachments on a document (the domain refuses more).
const MAX_ATTACHMENTS: usize = 20;

/// Longest the scan hook may take on one file.
const SCAN_TIMEOUT: Duration = Duration::from_secs(30);

/// The default largest upload: 20 MiB.
pub const DEFAULT_MAX_BYTES: usize = 20 * 1024 * 1024;

pub fn routes(api: Api) -> Api {
    api.post(
        "/api/attachments",
        upload,
        Doc::new(
            T,
            "Upload a file's bytes (Content-Type: its type); answers its SHA-256 to name it in a draft",
        )
        .upload()
        .returns::<Uploaded>()
        .created(),
    )
    .get(
        "/api/approvals/{id}/attachments/{attachment}",
        download,
        Doc::new(T, "Download an attachment of a document the caller may see").download(),
    )
}

/// What an upload answers: name the file in a draft by `sha256`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
}

/// The media type without parameters, lowercased (`Text/Plain; charset=utf-8` → `text/plain`).
fn media_type(value: &str) -> String {
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn store(state: &AppState) -> Result<&Arc<dyn AttachmentStore>, ApiError> {
    state
        .settings
        .attachments
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("attachments_unavailable", "this instance keeps no attachments", 1))
}

fn store_failed(e: infra::attachments::AttachmentError) -> ApiError {
    tracing::error!(error = %e, "attachment store failed");
    ApiError::unavailable(
        "attachments_unavailable",
        "the attachment store is unavailable; retry",
        1,
    )
}

async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let max = state.settings.attachment_max_bytes;
    // Read as it arrives and stopped at the bound: a larger upload is never buffered whole.
    let body: Bytes = axum::body::to_bytes(body, max).await.map_err(|e| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "attachment_too_large",
            format!("an attachment is at most {max} bytes ({e})"),
        )
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(media_type)
        .unwrap_or_default();
    if !ALLOWED_TYPES.contains(&content_type.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "attachment_type_refused",
            format!("{content_type:?} is not a file type attachments may have"),
        )
        .with(json!({ "allowed": ALLOWED_TYPES })));
    }
    let store = store(&state)?;
    if let Some(command) = &state.settings.attachment_scan {
        scan(command, &body).await?;
    }
    let sha256 = store
        .put(&body, &caller.actor.id.to_string())
        .await
        .map_err(store_failed)?;
    let uploaded = Uploaded {
        sha256,
        size: body.len() as u64,
        content_type,
    };
    Ok((StatusCode::CREATED, Json(uploaded)).into_response())
}

/// Runs the scan hook with the file on its standard input: exit 0 is clean, 1 is infected
/// (as `clamdscan -` answers); anything else, or no answer in time, is a scanner that could
/// not say, and the upload is refused as unavailable rather than let through.
async fn scan(command: &[String], bytes: &[u8]) -> Result<(), ApiError> {
    use tokio::io::AsyncWriteExt;
    let unavailable = |why: String| {
        tracing::error!(%why, "attachment scan failed");
        ApiError::unavailable("scan_unavailable", "the attachment could not be scanned; retry", 5)
    };
    let (program, args) = command
        .split_first()
        .ok_or_else(|| unavailable("empty scan command".into()))?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| unavailable(format!("{program}: {e}")))?;
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            // A scanner may stop reading once it has decided: a broken pipe is not a failure.
            let _ = stdin.write_all(bytes).await;
        }
        child.wait().await
    };
    let status = tokio::time::timeout(SCAN_TIMEOUT, run)
        .await
        .map_err(|_| unavailable(format!("{program} took longer than {SCAN_TIMEOUT:?}")))?
        .map_err(|e| unavailable(format!("{program}: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "attachment_infected",
            "the scanner refused this file",
        )),
        _ => Err(unavailable(format!("{program} exited {status}"))),
    }
}

/// A draft's attachments as the store knows them: each must name, by its SHA-256, content the
/// drafter uploaded (knowing a hash from a document one could once see is not enough; a hash
/// someone else uploaded answers as if nothing were stored), and its size is the stored size,
/// whatever the client said.
pub async fn stored(state: &AppState, drafter: EmployeeId, mut content: Content) -> Result<Content, ApiError> {
    if content.attachments.is_empty() {
        return Ok(content);
    }
    // The domain's own bound, checked before any lookup.
    if content.attachments.len() > MAX_ATTACHMENTS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_attachments",
            format!("at most {MAX_ATTACHMENTS} attachments"),
        ));
    }
    let store = store(state)?;
    let drafter = drafter.to_string();
    for attachment in &mut content.attachments {
        let not_uploaded = || {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachment_not_uploaded",
                format!(
                    "attachment {:?} names no uploaded content: POST its bytes to /api/attachments and send the sha256 it answers",
                    attachment.name
                ),
            )
        };
        let sha256 = attachment.sha256.clone().ok_or_else(not_uploaded)?;
        if !store.uploaded_by(&sha256, &drafter).await.map_err(store_failed)? {
            return Err(not_uploaded());
        }
        let size = store
            .size(&sha256)
            .await
            .map_err(store_failed)?
            .ok_or_else(not_uploaded)?;
        attachment.size = size;
        attachment.content_type = media_type(&attachment.content_type);
        if !ALLOWED_TYPES.contains(&attachment.content_type.as_str()) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachment_type_refused",
                format!("{:?} is not a file type attachments may have", attachment.content_type),
            ));
        }
    }
    Ok(content)
}

/// `filename` for a Content-Disposition: printable ASCII only, quotes and backslashes
/// replaced (the fallback for old clients), and `filename*` with the UTF-8 name
/// percent-encoded (RFC 6266 / 8187), so no name can break out of the header.
pub fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, attachment)): Path<(String, String)>,
    Query(proxy): Query<super::proxy::ProxyQuery>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("no such attachment");
    let id: ApprovalId = id.parse().map(ApprovalId).map_err(|_| not_found())?;
    let loaded = state
        .service
        .load::<Approval>(&StreamRef::new(streams::APPROVAL, id.to_string()))
        .await?;
    // Whoever may not see the document learns nothing of it or its files: 404 either way. A
    // proxy (대결) names the delegation they read under, as their decisions do.
    let proxy = proxy.load(&state).await;
    let doc = loaded
        .state
        .0
        .filter(|d| super::proxy::may_read(d, &caller, proxy.as_ref()))
        .ok_or_else(not_found)?;
    let found: &Attachment = doc
        .content
        .attachments
        .iter()
        .find(|a| a.id.0.to_string() == attachment)
        .ok_or_else(not_found)?;
    let sha256 = found.sha256.as_deref().ok_or_else(not_found)?;
    let bytes = store(&state)?.get(sha256).await.map_err(store_failed)?.ok_or_else(|| {
        tracing::error!(%sha256, document = %id, "an attachment the log names is missing from the store");
        not_found()
    })?;
    if sha256_hex(&bytes) != sha256 {
        tracing::error!(%sha256, document = %id, "stored attachment content does not match its hash");
        return Err(ApiError::internal("attachment", "content does not match its hash"));
    }
    let content_type = if ALLOWED_TYPES.contains(&found.content_type.as_str()) {
        found.content_type.as_str()
    } else {
        "application/octet-stream"
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CONTENT_DISPOSITION, disposition(&found.name)),
        (header::ETAG, format!("\"{sha256}\"")),
        (header::CACHE_CONTROL, "private, max-age=0".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'".to_owned(),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_cannot_break_out_of_the_content_disposition() {
        assert_eq!(
            disposition("견적서 v2.pdf"),
            "attachment; filename=\"___ v2.pdf\"; filename*=UTF-8''%EA%B2%AC%EC%A0%81%EC%84%9C%20v2.pdf"
        );
        let hostile = disposition("a\"; filename=evil.html\r\nSet-Cookie: x=1");
        assert!(!hostile.contains('\r') && !hostile.contains('\n'), "{hostile}");
        assert!(HeaderValue::from_str(&hostile).is_ok());
        assert!(
            hostile.starts_with("attachment; filename=\"a_; filename=evil.html__Set-Cookie: x=1\""),
            "{hostile}"
        );
    }

    #[test]
    fn media_types_are_compared_without_parameters() {
        assert_eq!(media_type("Text/Plain; charset=utf-8"), "text/plain");
        assert!(!ALLOWED_TYPES.contains(&media_type("text/html").as_str()));
        assert!(!ALLOWED_TYPES.contains(&media_type("image/svg+xml").as_str()));
    }
}
