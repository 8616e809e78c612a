//! One error type for every handler. Pages render it as an HTML error page, the REST API
//! (through [`ApiError`]) as `{"error": {"code", "message"}}`. Internal detail is logged
//! once, with its cause chain, and never sent to the client.
//!
//! # Which error type goes where (the rule for all of Fulcrum)
//!
//! - **Domain decisions** (`domain`) return small enums that say why something is refused
//!   (`TransitionError`, a resolution `Problem`, an invalid `EmailAddress`). No I/O error
//!   ever appears there.
//! - **A module that owns a table or talks to something outside** returns one enum whose
//!   variants are what its callers must tell apart: `invitations::Error` (refused or
//!   database), `LeverError` (sorted by what the caller should do), `MailError` (transient
//!   or permanent), `SaveError`, `NewUserError`, `ConnectError`, `OAuthError`,
//!   `DecryptError`. Where the database is the only thing that can fail, `sqlx::Error`.
//! - **Jobs** return `JobError`, which says what the queue does next (retry, fail, pause,
//!   defer); inside a job `anyhow` adds context. `From<LeverError> for JobError` is the one
//!   place that maps Lever's answers to the queue's.
//! - **Handlers** return [`AppError`] (pages) or [`ApiError`] (`/api/v1`). Every lower error
//!   converts with `From`, and that impl picks the status.
//! - **The CLI and start-up** use `anyhow` with `.context()`.
//!
//! A refusal is a variant of the error, never a result inside a result.

use askama::Template;
use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;

use crate::db::assessments::SaveError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Nothing was found at this address.")]
    NotFound,
    /// A page needs a signed-in user: pages redirect to the sign-in form, which comes back
    /// to `next` (the page asked for) after signing in.
    #[error("sign in required")]
    SignInRequired { next: Option<String> },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    /// Input that parsed but is not acceptable, with the field it is about.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The route exists, but not for this method (the answer's `Allow` header lists those
    /// it takes).
    #[error("This route does not take that method; the Allow header lists the ones it does.")]
    MethodNotAllowed,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the service is temporarily unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.to_string(), message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::SignInRequired { .. } | Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::SignInRequired { .. } | Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::BadRequest(_) => "bad_request",
            Self::Invalid { .. } => "invalid",
            Self::Conflict(_) => "conflict",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::PayloadTooLarge => "payload_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The text a client may see.
    fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "Something went wrong on our side. It has been logged.".into(),
            other => other.to_string(),
        }
    }

    fn log(&self) {
        if let Self::Internal(e) = self {
            tracing::error!(error = %format!("{e:#}"), "request failed");
        }
    }
}

/// A transition the invitation's state refuses is a 409 that says why.
impl From<crate::invitations::Error> for AppError {
    fn from(error: crate::invitations::Error) -> Self {
        match error {
            crate::invitations::Error::Refused(why) => {
                Self::Conflict(format!("{}.", crate::http::auth::capitalise(&why.to_string())))
            }
            crate::invitations::Error::Database(e) => e.into(),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&error) {
            tracing::warn!(error = %error, "database unavailable");
            Self::Unavailable
        } else {
            Self::Internal(anyhow::Error::new(error))
        }
    }
}

impl From<SaveError> for AppError {
    fn from(error: SaveError) -> Self {
        match error {
            SaveError::DuplicateName => Self::Conflict(error.to_string()),
            SaveError::Database(e) => e.into(),
            SaveError::CodesExhausted => Self::Internal(error.into()),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        if let Self::SignInRequired { next } = &self {
            return Redirect::to(&super::auth::sign_in_url(next.as_deref())).into_response();
        }
        let status = self.status();
        let message = self.public_message();
        let page = ErrorPage {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error"),
            message: &message,
        };
        match page.render() {
            Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}

/// The REST API's face of [`AppError`].
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        self.render()
    }
}

impl ApiError {
    /// The error a bare `status` stands for, for answers made below the handlers (the
    /// router's 405, a body limit's 413, the time-out's 503, a panic's 500): the API gives
    /// them its own shape. Nothing is logged: whatever caused them logged itself.
    pub fn for_status(status: StatusCode) -> Response {
        let error = match status {
            StatusCode::NOT_FOUND => AppError::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                AppError::UnsupportedMediaType("Send the body as JSON (Content-Type: application/json).".into())
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT | StatusCode::REQUEST_TIMEOUT => {
                AppError::Unavailable
            }
            StatusCode::TOO_MANY_REQUESTS => AppError::TooManyRequests("Too many requests; try again later.".into()),
            StatusCode::UNAUTHORIZED => AppError::Unauthorized("Send a valid API key.".into()),
            StatusCode::FORBIDDEN => AppError::Forbidden("This key may not do that.".into()),
            s if s.is_server_error() => AppError::Internal(anyhow::anyhow!("{s}")),
            _ => AppError::BadRequest("The request could not be read.".into()),
        };
        let mut response = Self(error).render();
        // Keep the status itself (e.g. 408 stays 408), whatever it was mapped to.
        *response.status_mut() = status;
        response
    }

    fn render(&self) -> Response {
        let error = &self.0;
        let mut body = json!({ "error": { "code": error.code(), "message": error.public_message() } });
        if let AppError::Invalid { field, .. } = error {
            body["error"]["field"] = json!(field);
        }
        (error.status(), Json(body)).into_response()
    }
}

pub type AppResult<T> = Result<T, AppError>;
pub type ApiResult<T> = Result<T, ApiError>;
