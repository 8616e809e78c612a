//! Inviting teammates (admins only): Fulcrum emails a single-use link that expires, and
//! the invitee chooses a password (`join`). Inviting the same address again replaces the
//! link; an admin can withdraw an invitation not yet accepted.
//!
//! An address belongs to one account across all organizations. Whether an address outside
//! the team already has an account is not the admin's to learn: the invitation goes out
//! the same way, and the link tells its reader why it cannot be accepted.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::Duration;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    auth::capitalise,
    csrf::{CsrfForm, CsrfToken, NoFields},
    error::{AppError, AppResult},
    layout::render,
    path_id::PathId,
    session::AdminUser,
    team::team_page,
};
use crate::{
    accounts::{self, Owner, Purpose},
    domain::email::EmailAddress,
    http::AppState,
    jobs::{self, kinds::email::SendEmail},
    orgs::Role,
};

#[derive(Deserialize, Default)]
pub struct InviteForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
}

/// Why an invitation was not sent: for the admin, or a failure of Fulcrum's.
enum Refused {
    Invalid(String),
    OnTheTeam(String),
    Failed(AppError),
}

impl From<sqlx::Error> for Refused {
    fn from(error: sqlx::Error) -> Self {
        Self::Failed(error.into())
    }
}

pub async fn invite(
    State(state): State<AppState>,
    admin: AdminUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> AppResult<Response> {
    let (status, message) = match send(&state, &admin, &form).await {
        Ok(()) => return Ok(Redirect::to("/app/settings/team?done=invited").into_response()),
        Err(Refused::Invalid(message)) => (StatusCode::UNPROCESSABLE_ENTITY, message),
        Err(Refused::OnTheTeam(message)) => (StatusCode::CONFLICT, message),
        Err(Refused::Failed(error)) => return Err(error),
    };
    let page = team_page(&state, &admin, &csrf, Some(message), None, form).await?;
    Ok((status, render(&page)?).into_response())
}

async fn send(state: &AppState, admin: &AdminUser, form: &InviteForm) -> Result<(), Refused> {
    let email = EmailAddress::parse(&form.email).map_err(|why| Refused::Invalid(capitalise(why)))?;
    let role = Role::parse(&form.role).ok_or_else(|| Refused::Invalid("Choose a role: admin or member.".into()))?;
    let name = form.name.trim();
    if name.chars().count() > 200 {
        return Err(Refused::Invalid("The name must be at most 200 characters.".into()));
    }
    let org_id = admin.0.org_id;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // The team is on this very page: saying so reveals nothing.
    let on_team = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 AND lower(email) = lower($2)) AS "on_team!""#,
        org_id,
        email.as_str()
    )
    .fetch_one(&mut *tx)
    .await?;
    if on_team {
        return Err(Refused::OnTheTeam(format!("{email} is on the team already.")));
    }
    let invite_id = sqlx::query_scalar!(
        "INSERT INTO team_invites (org_id, email, name, role, invited_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (org_id, lower(email)) DO UPDATE
             SET email = EXCLUDED.email, name = EXCLUDED.name, role = EXCLUDED.role,
                 invited_by = EXCLUDED.invited_by, accepted_at = NULL
         RETURNING id",
        org_id,
        email.as_str(),
        name,
        role.as_str(),
        admin.0.id,
    )
    .fetch_one(&mut *tx)
    .await?;
    let lifetime = Duration::days(state.settings.accounts.invite_link_days);
    let owner = Owner::Invite(invite_id);
    let link_id = accounts::issue(&mut tx, &state.cipher, Purpose::JoinTeam, owner, lifetime, now).await?;
    jobs::enqueue(&mut tx, &SendEmail::TeamInvite { org_id, link_id }, now).await?;
    tx.commit().await?;
    tracing::info!(%org_id, %invite_id, "teammate invited");
    Ok(())
}

/// Withdraws an invitation not accepted yet: its link stops working at once.
pub async fn revoke(
    State(state): State<AppState>,
    admin: AdminUser,
    PathId(id): PathId<Uuid>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let revoked = sqlx::query!(
        "DELETE FROM team_invites WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL",
        id,
        admin.0.org_id
    )
    .execute(&state.db)
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/app/settings/team?done=revoked").into_response())
}
