//! Typed ids in paths: a handler takes `PathId<Uuid>` (or `PathId<i64>`) and gets a parsed
//! id, or the request ends with a 404 before the handler runs — an id that does not parse
//! names nothing, exactly as an id of another organization does. Under `/api/` the 404 is
//! the API's JSON error, elsewhere the HTML error page.

use std::str::FromStr;

use axum::{
    extract::{FromRequestParts, OriginalUri, Path},
    http::request::Parts,
    response::{IntoResponse, Response},
};

use super::error::{ApiError, AppError};

/// The one `{id}` segment of the route, parsed as `T`.
#[derive(Clone, Copy, Debug)]
pub struct PathId<T>(pub T);

impl<T: FromStr + Send, S: Send + Sync> FromRequestParts<S> for PathId<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        // Nested routers see their path without the prefix; the original says where we are.
        let path = parts.extensions.get::<OriginalUri>().map_or(parts.uri.path(), |uri| uri.0.path());
        let api = path.starts_with("/api/");
        let parsed = match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(text)) => text.parse().ok(),
            Err(_) => None,
        };
        parsed.map(PathId).ok_or_else(|| {
            if api { ApiError(AppError::NotFound).into_response() } else { AppError::NotFound.into_response() }
        })
    }
}
