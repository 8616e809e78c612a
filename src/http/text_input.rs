//! One place where text enters: every request's path, query string and body pass through
//! [`refuse_nul`] before any handler. PostgreSQL text cannot hold a NUL character, and no
//! field of Fulcrum's has a use for one, so a request carrying one — raw, as `%00`, or as
//! `\u0000` in JSON — is refused with 400 and a clear message, and nothing happens.
//! Without this, a NUL reaching a query would surface as a 500.

use axum::{
    body::Body,
    extract::Request,
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{
    MAX_BODY_BYTES,
    error::{ApiError, AppError},
};

const MESSAGE: &str = "The request contains a NUL character (%00 or \\u0000), which no field accepts.";

pub async fn refuse_nul(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    if has_nul_percent_encoded(path.as_bytes())
        || parts.uri.query().is_some_and(|q| has_nul_percent_encoded(q.as_bytes()))
    {
        return refusal(&path, AppError::BadRequest(MESSAGE.into()));
    }
    // Bodies larger than any route accepts are left to the route's own limit (413).
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return refusal(&path, AppError::PayloadTooLarge),
    };
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let nul = if is_form { has_nul_percent_encoded(&bytes) } else { has_nul_in_json(&bytes) };
    if nul {
        return refusal(&path, AppError::BadRequest(MESSAGE.into()));
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// In the shape the route answers errors in.
fn refusal(path: &str, error: AppError) -> Response {
    if path.starts_with("/api/") {
        ApiError(error).into_response()
    } else if path.starts_with("/webhooks/") {
        super::webhooks::answer(error.status(), &error.to_string())
    } else {
        error.into_response()
    }
}

/// A raw NUL, or `%00` (which decodes to NUL wherever it stands: `%` is not a hex digit,
/// so it cannot belong to an escape before it).
fn has_nul_percent_encoded(bytes: &[u8]) -> bool {
    bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00")
}

/// A raw NUL, or the JSON escape `\u0000` (and not `\\u0000`, an escaped backslash before
/// plain text). Outside strings JSON has no backslashes, so no parsing is needed.
fn has_nul_in_json(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return true;
    }
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| b == b'\\') {
        let escape = &rest[at + 1..];
        if escape.len() >= 5 && escape[0] == b'u' && &escape[1..5] == b"0000" {
            return true;
        }
        rest = escape.get(1..).unwrap_or_default();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_however_it_is_written() {
        assert!(has_nul_percent_encoded(b"email=%00"));
        assert!(has_nul_percent_encoded(b"a=x%%00"));
        assert!(!has_nul_percent_encoded(b"a=%2500&b=100%"));
        assert!(has_nul_in_json(br#"{"token":"\u0000"}"#));
        assert!(has_nul_in_json(b"{\"a\":\"x\0\"}"));
        assert!(!has_nul_in_json(br#"{"a":"\\u0000","b":"\u00e9\"\\"}"#));
        assert!(!has_nul_in_json(br#"{"a":"\"}"#));
    }
}
