//! The signed-in home: the invitations dashboard.

use axum::response::{IntoResponse, Redirect, Response};

use super::session::MaybeUser;

pub async fn home(MaybeUser(user): MaybeUser) -> Response {
    match user {
        Some(_) => Redirect::to("/app").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

use askama::Template;
use axum::extract::State;

use super::{
    csrf::CsrfToken,
    error::AppResult,
    layout::{Chrome, render},
    session::CurrentUser,
};
use crate::app::AppState;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: Chrome,
}

pub async fn dashboard(State(state): State<AppState>, user: CurrentUser, csrf: CsrfToken) -> AppResult<Response> {
    let chrome = Chrome::new(&state, Some(&user), &csrf, "invitations").await?;
    render(&Dashboard { chrome })
}
