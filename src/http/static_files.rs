//! The stylesheet and the small script, compiled into the binary so it runs from anywhere.

use axum::{http::header, response::IntoResponse};

const CACHE: &str = "public, max-age=3600";

pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, CACHE)],
        include_str!("../../static/app.css"),
    )
}

pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, CACHE)],
        include_str!("../../static/app.js"),
    )
}

/// Browsers ask for `/favicon.ico` on their own; an SVG answers it.
pub async fn favicon() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, CACHE)],
        include_str!("../../static/favicon.svg"),
    )
}
