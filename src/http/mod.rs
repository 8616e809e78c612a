//! The HTTP side: routes, extractors, errors, and one module per page family or API
//! resource. Handlers decide and write rows (and jobs) — they never call Lever directly.

pub mod api;
mod app_pages;
mod assessments;
mod auth;
mod candidate;
pub mod client;
pub mod cookies;
pub mod csrf;
mod deliveries;
mod email_settings;
pub mod error;
mod health;
pub mod intake;
mod integrations;
mod invitation_actions;
mod invitations;
mod jobs_page;
mod join;
mod layout;
mod lever_health;
mod lever_settings;
mod links;
pub mod metrics;
mod password;
pub mod path_id;
mod report_pdf;
mod routes;
pub mod session;
mod signup;
mod state;
mod static_files;
mod team;
mod team_invites;
mod text_input;
pub mod webhooks;

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request},
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

const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The whole application: routes plus the middleware every request passes through.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.settings.server.request_timeout_secs);
    routes::routes()
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), csrf::ensure_cookie))
        .layer(middleware::from_fn(text_input::refuse_nul))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(log_answer)
                        .on_body_chunk(())
                        .on_eos(())
                        // 5xx answers are in the line above; their causes are logged where
                        // they happen.
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                // Outside the panic catcher and the time-out, so their answers are JSON too.
                .layer(middleware::from_fn(api::json_errors))
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
                ))
                // Production is served over https (behind a TLS proxy): browsers are told
                // never to use plain http for it.
                .option_layer(state.settings.is_production().then(|| {
                    SetResponseHeaderLayer::overriding(
                        header::STRICT_TRANSPORT_SECURITY,
                        HeaderValue::from_static(HSTS),
                    )
                })),
        )
        .with_state(state)
}

/// The span every request runs in: method, route and request id. The route is the pattern
/// that matched (`/webhooks/lever/{key}`, `/a/{token}`), never the path itself, so webhook
/// keys, candidate tokens and query strings (OAuth codes) stay out of the logs; a request no
/// route matched is `unmatched`.
fn request_span(request: &Request) -> tracing::Span {
    let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route = %route, request_id = %id)
}

/// One INFO line per request, when its answer is ready (in the request's span).
fn log_answer<B>(response: &axum::http::Response<B>, latency: Duration, _: &tracing::Span) {
    let latency_ms = (latency.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    tracing::info!(status = response.status().as_u16(), latency_ms, "answered");
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
