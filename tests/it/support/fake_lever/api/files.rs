//! Files on an opportunity (`files:write:admin`, which also opens reading): multipart
//! uploads with the one field `file`, at most 30 MB, `perform_as` required; listed back as
//! the documented bare array. The bytes are kept so tests can read what was uploaded.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::super::state::{Shared, StoredFile, new_id, now_ms};
use super::{ApiError, ApiResult, Ctx, acting_user, one, with_account};

/// Lever's documented upload limit.
pub(in super::super) const MAX_FILE_BYTES: usize = 30 * 1024 * 1024;

pub(super) async fn upload(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    ctx.require("files:write:admin")?;
    if ctx.param("perform_as").is_none() {
        return Err(ApiError::bad_request("perform_as is required"));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (name, bytes) = parse_multipart(content_type, ctx.body())?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "Files are limited to 30 MB",
        ));
    }
    with_account(&shared, &ctx, |acct| {
        let user = acting_user(acct, &ctx)?;
        if acct.opportunity(&id).is_none() {
            return Err(ApiError::not_found("Opportunity", &id));
        }
        let file = StoredFile { id: new_id(), name, bytes, uploaded_at: now_ms(), uploaded_by: user };
        let answer = file.to_json(&id);
        acct.files.entry(id.clone()).or_default().push(file);
        one(StatusCode::OK, answer)
    })
}

pub(super) async fn list(
    State(shared): State<Shared>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    ctx.require("files:write:admin")?;
    with_account(&shared, &ctx, |acct| {
        if acct.opportunity(&id).is_none() {
            return Err(ApiError::not_found("Opportunity", &id));
        }
        let files: Vec<Value> = acct.files.get(&id).into_iter().flatten().map(|f| f.to_json(&id)).collect();
        // The documented example is a bare array, without `data`.
        Ok(Json(Value::Array(files)).into_response())
    })
}

impl StoredFile {
    fn to_json(&self, opportunity: &str) -> Value {
        let ext = self.name.rsplit_once('.').map(|(_, e)| e.to_lowercase()).unwrap_or_default();
        json!({
            "id": self.id,
            "downloadUrl": format!("https://hire.lever.co/candidates/{opportunity}/files/{}/download", self.id),
            "ext": ext,
            "name": self.name,
            "uploadedAt": self.uploaded_at.to_string(),
            "status": "processed",
            "size": self.bytes.len().to_string(),
        })
    }
}

/// The `file` part of a multipart/form-data body: its file name and bytes.
fn parse_multipart(content_type: &str, body: &[u8]) -> Result<(String, Vec<u8>), ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("Invalid multipart body: {why}"));
    let (kind, params) = content_type.split_once(';').ok_or_else(|| bad("not multipart/form-data"))?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(bad("not multipart/form-data"));
    }
    let boundary = params
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .ok_or_else(|| bad("no boundary"))?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = split(body, &delimiter).into_iter().skip(1);
    let mut found = None;
    for part in parts.by_ref() {
        if part.starts_with(b"--") {
            break;
        }
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let end = find(part, b"\r\n\r\n").ok_or_else(|| bad("a part without headers"))?;
        let head = String::from_utf8_lossy(&part[..end]).to_string();
        let content = &part[end + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let disposition = head.lines().find(|l| l.to_lowercase().starts_with("content-disposition")).unwrap_or("");
        if param(disposition, "name").as_deref() == Some("file") {
            let name = param(disposition, "filename").ok_or_else(|| bad("the file part has no filename"))?;
            found = Some((name, content.to_vec()));
        }
    }
    found.ok_or_else(|| bad("no field named file"))
}

fn param(header: &str, name: &str) -> Option<String> {
    header.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"').to_string())
    })
}

fn split<'a>(body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, delimiter) {
        parts.push(&rest[..at]);
        rest = &rest[at + delimiter.len()..];
    }
    parts.push(rest);
    parts
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
