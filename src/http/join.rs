//! `/join/{token}`: the invitee's side of a team invitation. The page names the
//! organization and the role; the invitee chooses a password and is signed in as a new
//! user of that organization. An address that already has an account cannot join a second
//! organization: the page says so instead of offering the form.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    auth::{refusal, signed_in},
    csrf::{CsrfForm, CsrfToken},
    error::{AppError, AppResult},
    layout::{Chrome, render},
    links::{self, Opened},
    path_id::PathId,
};
use crate::{
    accounts::{self, Found, LinkToken, Purpose},
    domain::email::EmailAddress,
    http::AppState,
    orgs::{self, NewUser, NewUserError, Role, Verification},
};

/// The invitation behind a valid link.
struct Invite {
    id: Uuid,
    org_id: Uuid,
    organization: String,
    email: String,
    name: String,
    role: String,
    /// The address has an account already (in this organization or another).
    has_account: bool,
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    chrome: Chrome,
    invite: Invite,
    name: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// The invitation a link stands for, if the link is valid.
async fn invite_of(state: &AppState, token: &LinkToken) -> AppResult<Opened<Invite>> {
    let mut conn = state.db.acquire().await?;
    let found = accounts::find(&mut conn, token.as_str(), Purpose::JoinTeam, state.clock.now()).await?;
    let invite = match &found {
        Found::Valid(accounts::Link { invite_id: Some(id), .. }) => {
            sqlx::query_as!(
                Invite,
                r#"SELECT i.id, i.org_id, o.name AS organization, i.email, i.name, i.role,
                      EXISTS (SELECT 1 FROM users u WHERE lower(u.email) = lower(i.email)) AS "has_account!"
               FROM team_invites i JOIN organizations o ON o.id = i.org_id
               WHERE i.id = $1 AND i.accepted_at IS NULL"#,
                id
            )
            .fetch_optional(&mut *conn)
            .await?
        }
        _ => None,
    };
    Ok(Opened::new(found, invite))
}

async fn join_page(
    state: &AppState,
    csrf: &CsrfToken,
    invite: Invite,
    name: String,
    error: Option<String>,
) -> AppResult<Response> {
    let status = match (&error, invite.has_account) {
        (_, true) => StatusCode::CONFLICT,
        (Some(_), false) => StatusCode::UNPROCESSABLE_ENTITY,
        (None, false) => StatusCode::OK,
    };
    let chrome = Chrome::new(state, None, csrf, "login").await?;
    Ok((status, render(&JoinPage { chrome, invite, name, error })?).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    csrf: CsrfToken,
    PathId(token): PathId<LinkToken>,
) -> AppResult<Response> {
    match invite_of(&state, &token).await? {
        Opened::Valid(invite) => {
            let name = invite.name.clone();
            join_page(&state, &csrf, invite, name, None).await
        }
        Opened::NotValid(found) => links::link_problem(&state, &csrf, Purpose::JoinTeam, &found).await,
    }
}

pub async fn accept(
    State(state): State<AppState>,
    csrf: CsrfToken,
    PathId(token): PathId<LinkToken>,
    CsrfForm(form): CsrfForm<JoinForm>,
) -> AppResult<Response> {
    let mut invite = match invite_of(&state, &token).await? {
        Opened::Valid(invite) => invite,
        Opened::NotValid(found) => return links::link_problem(&state, &csrf, Purpose::JoinTeam, &found).await,
    };
    let name = form.name.trim().to_string();
    if invite.has_account {
        return join_page(&state, &csrf, invite, name, None).await;
    }
    let checked = if name.chars().count() > 200 {
        Err(NewUserError::Invalid("the name must be at most 200 characters"))
    } else {
        orgs::check_password(&form.password)
    };
    if let Err(refused) = checked {
        let (_, message) = refusal(refused)?;
        return join_page(&state, &csrf, invite, name, Some(message)).await;
    }
    let hash = links::hash_password(&form.password).await?;
    let email = EmailAddress::parse(&invite.email).map_err(|why| anyhow::anyhow!("a stored invite address: {why}"))?;
    let role = Role::parse(&invite.role).unwrap_or(Role::Member);

    let mut tx = state.db.begin().await?;
    let found = accounts::use_up(&mut tx, token.as_str(), Purpose::JoinTeam, state.clock.now()).await?;
    if !matches!(found, Found::Valid(_)) {
        // Accepted by a request that came in at the same moment.
        return links::link_problem(&state, &csrf, Purpose::JoinTeam, &found).await;
    }
    let user = NewUser { email: &email, name: &name, password_hash: &hash, role, verification: Verification::Verified };
    let user_id = match orgs::create_user(&mut tx, invite.org_id, &user).await {
        Ok(id) => id,
        Err(NewUserError::EmailTaken) => {
            // An account was made for the address since the page was shown.
            drop(tx);
            invite.has_account = true;
            return join_page(&state, &csrf, invite, name, None).await;
        }
        Err(NewUserError::Database(e)) => return Err(e.into()),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    sqlx::query!("UPDATE team_invites SET accepted_at = now() WHERE id = $1", invite.id).execute(&mut *tx).await?;
    tx.commit().await?;
    tracing::info!(org_id = %invite.org_id, %user_id, "invitation accepted");
    signed_in(&state, user_id, invite.org_id, "/app").await
}
