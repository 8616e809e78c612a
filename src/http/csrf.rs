//! CSRF protection for HTML forms: a random token in an HttpOnly, SameSite=Strict cookie
//! that every form repeats in a hidden `csrf_token` field (double submit). Another site
//! can make a browser send the cookie's owner's requests, but cannot read the cookie to
//! fill in the field.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
    middleware::Next,
    response::Response,
};
use serde::{Deserialize, de::DeserializeOwned};

use super::{cookies, error::AppError};
use crate::{crypto, http::AppState};

/// The CSRF token for this request, for pages to put in their forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// Makes sure every visitor has a CSRF cookie, minting one on the first request.
pub async fn ensure_cookie(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    // Machine endpoints (webhooks, the API, health checks) have no forms.
    let path = request.uri().path();
    if ["/webhooks/", "/api/", "/healthz", "/readyz", "/static/"].iter().any(|p| path.starts_with(p)) {
        return next.run(request).await;
    }
    let existing = cookies::get(request.headers(), cookies::CSRF).map(str::to_string);
    let minted = existing.is_none();
    let token = existing.unwrap_or_else(|| crypto::random_token(24));
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(request).await;
    if minted {
        let cookie = cookies::set(cookies::CSRF, &token, 60 * 60 * 24 * 30, "Strict", state.settings.secure_cookies());
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("CSRF middleware is not installed")))
    }
}

/// For forms whose only field is the CSRF token (sign out, delete buttons).
#[derive(Deserialize)]
pub struct NoFields {}

/// A URL-encoded form whose `csrf_token` field matched the visitor's CSRF cookie.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct TokenField {
    #[serde(default)]
    csrf_token: String,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let cookie = cookies::get(request.headers(), cookies::CSRF).map(str::to_string);
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(AppError::BadRequest("Expected a submitted form.".into()));
        }
        let body = axum::body::Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::BadRequest("The form could not be read.".into())
            }
        })?;
        let field: TokenField = serde_html_form::from_bytes(&body)
            .map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
        let valid = cookie.is_some_and(|c| crypto::constant_time_eq(c.as_bytes(), field.csrf_token.as_bytes()));
        if !valid {
            return Err(AppError::Forbidden(
                "This form has expired or did not come from Fulcrum. Reload the page and try again.".into(),
            ));
        }
        let value = serde_html_form::from_bytes(&body)
            .map_err(|e| AppError::BadRequest(format!("The form is incomplete or malformed: {e}.")))?;
        Ok(Self(value))
    }
}
