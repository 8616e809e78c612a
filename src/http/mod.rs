//! The HTTP side: routes, extractors, errors, and one module per page family or API
//! resource. Handlers decide and write rows (and jobs) — they never call Lever directly.

pub mod api;
mod app_pages;
mod assessments;
mod auth;
mod candidate;
pub mod cookies;
pub mod csrf;
mod deliveries;
mod email_settings;
pub mod error;
mod health;
pub mod intake;
mod integrations;
mod invitations;
mod jobs_page;
mod join;
mod layout;
mod links;
mod password;
pub mod path_id;
mod routes;
pub mod session;
mod signup;
mod state;
mod static_files;
mod team;
mod team_invites;
pub mod webhooks;

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
};
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use error::AppError;
pub use state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Form and API bodies above this are refused with 413 (webhooks have their own limit).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

const CSP: &str = "default-src 'self'; img-src 'self' https: data:; style-src 'self'; \
                   script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
                   object-src 'none'";

/// The whole application: routes plus the middleware every request passes through.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.settings.server.request_timeout_secs);
    routes::routes()
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), csrf::ensure_cookie))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
                    let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    let path = loggable_path(request.uri().path());
                    tracing::info_span!("request", method = %request.method(), path = %path, request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(|_| {
                    AppError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
                }))
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CSP),
                ))
                .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                ))
                // Pages carry personal data and one-time secrets: no shared or back-button caches.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                )),
        )
        .with_state(state)
}

/// The request path as logs may show it: no query string (OAuth codes and state travel
/// there), and the secret in webhook URLs, candidate links and account links masked.
fn loggable_path(path: &str) -> String {
    for secret_after in ["/webhooks/lever/", "/a/", "/signup/verify/", "/password/reset/", "/join/"] {
        if let Some(rest) = path.strip_prefix(secret_after) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return format!("{secret_after}…{tail}");
        }
    }
    path.to_string()
}

async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        error::ApiError(AppError::NotFound).into_response()
    } else {
        AppError::NotFound.into_response()
    }
}

/// Serves until `shutdown` fires, then stops accepting and lets requests in flight finish.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_in_paths_stay_out_of_logs() {
        assert_eq!(super::loggable_path("/webhooks/lever/abc123"), "/webhooks/lever/…");
        assert_eq!(super::loggable_path("/a/tok/submit"), "/a/…/submit");
        assert_eq!(super::loggable_path("/password/reset/tok"), "/password/reset/…");
        assert_eq!(super::loggable_path("/signup/verify/tok"), "/signup/verify/…");
        assert_eq!(super::loggable_path("/join/tok"), "/join/…");
        assert_eq!(super::loggable_path("/app/invitations"), "/app/invitations");
    }
}
