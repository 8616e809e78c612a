//! The emails about someone's account, sent by [`super::email::SendEmail`]: a link to
//! confirm an address, reset a password or join a team, and the notice to an address that
//! someone tried to sign up with although it already has an account.

use uuid::Uuid;

use super::email::{Message, deliver, into_job_error};
use crate::{
    accounts::{self, Purpose},
    copy,
    email::templates::{self, Branding},
    jobs::{Env, JobError},
};

/// Emails the link `link_id`, unless it was used, replaced, expired or already sent.
pub(super) async fn link(env: &Env, link_id: Uuid) -> Result<(), JobError> {
    let mut conn = env.db.acquire().await?;
    let Some(unsent) = accounts::unsent(&mut conn, link_id, env.clock.now()).await? else { return Ok(()) };
    // A secret sealed under a key Fulcrum no longer holds cannot be sent, however often tried.
    let url = unsent.url(&env.cipher, env.settings.public_url()).map_err(|e| JobError::Fail(e.into()))?;
    let brand = &env.settings.brand;
    let deadline = templates::format_deadline(unsent.link.expires_at);
    let (org_id, to, kind, mail) = match (unsent.link.purpose, unsent.link.user_id, unsent.link.invite_id) {
        (Purpose::VerifyEmail, Some(user_id), _) => {
            let Some(user) = user(env, user_id).await? else { return Ok(()) };
            let copy = copy::ConfirmEmail { brand, organization: &user.organization, deadline: &deadline };
            (user.org_id, user.email, "confirm_email", copy.mail())
        }
        (Purpose::ResetPassword, Some(user_id), _) => {
            let Some(user) = user(env, user_id).await? else { return Ok(()) };
            (user.org_id, user.email, "password_reset", copy::PasswordReset { brand, deadline: &deadline }.mail())
        }
        (Purpose::JoinTeam, _, Some(invite_id)) => {
            let invite = sqlx::query!(
                "SELECT i.org_id, i.email, i.role, o.name AS organization,
                        coalesce(nullif(u.name, ''), u.email, '') AS \"inviter!\"
                 FROM team_invites i
                 JOIN organizations o ON o.id = i.org_id
                 LEFT JOIN users u ON u.id = i.invited_by
                 WHERE i.id = $1 AND i.accepted_at IS NULL",
                invite_id
            )
            .fetch_optional(&env.db)
            .await?;
            let Some(invite) = invite else { return Ok(()) };
            let inviter =
                if invite.inviter.is_empty() { format!("An admin of {}", invite.organization) } else { invite.inviter };
            let copy = copy::TeamInvite {
                brand,
                organization: &invite.organization,
                inviter: &inviter,
                admin: invite.role == "admin",
                deadline: &deadline,
            };
            (invite.org_id, invite.email, "team_invite", copy.mail())
        }
        (purpose, ..) => return Err(JobError::Fail(anyhow::anyhow!("a {purpose} link without its owner"))),
    };
    let rendered = templates::notice(&mail.subject, &mail.text, Some((&url, &mail.button)), &Branding::default());
    let message = Message { org_id, invitation_id: None, kind, scope: link_id.to_string(), to: &to };
    deliver(env, &message, &rendered).await.map_err(into_job_error)?;
    accounts::mark_sent(&mut conn, link_id).await?;
    Ok(())
}

/// Tells the account with this address that someone tried to sign up with it.
pub(super) async fn signup_attempt(env: &Env, job_id: i64, user_id: Uuid) -> Result<(), JobError> {
    let Some(user) = user(env, user_id).await? else { return Ok(()) };
    let public_url = env.settings.public_url();
    let forgot_url = format!("{public_url}/password/forgot");
    let mail = copy::SignupAttempt { brand: &env.settings.brand, forgot_url: &forgot_url }.mail();
    let login_url = format!("{public_url}/login");
    let rendered = templates::notice(&mail.subject, &mail.text, Some((&login_url, &mail.button)), &Branding::default());
    // Each attempt is its own message (scoped by the job that sends it).
    let message = Message {
        org_id: user.org_id,
        invitation_id: None,
        kind: "signup_attempt",
        scope: format!("job:{job_id}"),
        to: &user.email,
    };
    deliver(env, &message, &rendered).await.map_err(into_job_error)
}

struct User {
    org_id: Uuid,
    email: String,
    organization: String,
}

async fn user(env: &Env, user_id: Uuid) -> sqlx::Result<Option<User>> {
    sqlx::query_as!(
        User,
        "SELECT u.org_id, u.email, o.name AS organization FROM users u JOIN organizations o ON o.id = u.org_id
         WHERE u.id = $1",
        user_id
    )
    .fetch_optional(&env.db)
    .await
}
