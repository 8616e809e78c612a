//! The signed-in home: the invitations dashboard.

use axum::response::{IntoResponse, Redirect, Response};

use super::session::MaybeUser;

pub async fn home(MaybeUser(user): MaybeUser) -> Response {
    match user {
        Some(_) => Redirect::to("/app").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}
