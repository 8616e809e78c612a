//! Every email Fulcrum sends goes through this job: a failure is retried with backoff and
//! shows in the app. Each send is recorded in `emails`, and a recipient already sent this
//! message is skipped, so a retry after a partial failure does not repeat it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    copy::{self, Explained},
    email::{
        Email, MailError,
        templates::{self, Branding, InviteContext, Rendered},
    },
    invitations::{self, Effect, InvitationStatus},
    jobs::Env,
    jobs::{
        self, Job, JobContext, JobError,
        kinds::{Subject, account_email, error_note::ErrorNote, follow_up},
    },
};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SendEmail {
    /// The candidate's invitation, from the organization's template.
    Invite { invitation_id: Uuid },
    /// Before the deadline, to a candidate who has not started.
    Reminder { invitation_id: Uuid },
    /// To the organization's people when a result is in.
    ResultReady { invitation_id: Uuid },
    /// To admins: Lever access was refused.
    ReconnectNeeded { org_id: Uuid },
    /// To admins: the Lever connection reaches its one-year limit soon.
    ExpiryWarning { org_id: Uuid },
    /// To a new admin: the link that confirms their address.
    ConfirmEmail { link_id: Uuid },
    /// To someone who asked for one: a password reset link.
    PasswordReset { link_id: Uuid },
    /// To someone an admin of `org_id` invited to the team.
    TeamInvite { org_id: Uuid, link_id: Uuid },
    /// To an address that already has an account, when someone tried to sign up with it.
    SignupAttempt { user_id: Uuid },
}

impl Job for SendEmail {
    const KIND: &'static str = "send_email";
    const MAX_ATTEMPTS: i32 = 8;

    fn unique_key(&self) -> Option<String> {
        Some(match self {
            Self::Invite { invitation_id } => format!("email:invite:{invitation_id}"),
            Self::Reminder { invitation_id } => format!("email:reminder:{invitation_id}"),
            Self::ResultReady { invitation_id } => format!("email:result:{invitation_id}"),
            Self::ReconnectNeeded { org_id } => format!("email:reconnect:{org_id}"),
            Self::ExpiryWarning { org_id } => format!("email:expiry:{org_id}"),
            Self::ConfirmEmail { link_id } | Self::PasswordReset { link_id } | Self::TeamInvite { link_id, .. } => {
                format!("email:link:{link_id}")
            }
            Self::SignupAttempt { user_id } => format!("email:signup-attempt:{user_id}"),
        })
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let env = &ctx.env;
        match self {
            Self::Invite { invitation_id } => invite(env, invitation_id, ctx.attempt >= Self::MAX_ATTEMPTS).await,
            Self::Reminder { invitation_id } => reminder(env, invitation_id).await,
            Self::ResultReady { invitation_id } => result_ready(env, invitation_id).await,
            Self::ReconnectNeeded { org_id } => {
                let text = copy::text(&copy::ReconnectNotice { brand: &env.settings.brand });
                to_admins(env, org_id, "notice:reconnect", "Action needed: reconnect Lever", &text).await
            }
            Self::ExpiryWarning { org_id } => {
                let text = copy::text(&copy::ExpiryNotice);
                to_admins(env, org_id, "notice:expiry", "Reconnect Lever before its access expires", &text).await
            }
            Self::ConfirmEmail { link_id } | Self::PasswordReset { link_id } | Self::TeamInvite { link_id, .. } => {
                account_email::link(env, link_id).await
            }
            Self::SignupAttempt { user_id } => account_email::signup_attempt(env, user_id).await,
        }
    }
}

struct InviteRow {
    org_id: Uuid,
    opportunity_id: String,
    status: InvitationStatus,
    candidate_name: String,
    candidate_email: String,
    token_sealed: String,
    deadline: DateTime<Utc>,
    email_sent_at: Option<DateTime<Utc>>,
    reminder_sent_at: Option<DateTime<Utc>>,
    assessment_name: String,
    time_limit_minutes: i32,
    company: String,
    subject: Option<String>,
    body: Option<String>,
    logo_url: Option<String>,
    accent_color: Option<String>,
}

async fn load(env: &Env, invitation_id: Uuid) -> sqlx::Result<Option<InviteRow>> {
    sqlx::query_as!(
        InviteRow,
        r#"SELECT i.org_id, i.opportunity_id, i.status AS "status: InvitationStatus", i.candidate_name, i.candidate_email, i.token_sealed, i.deadline,
                i.email_sent_at, i.reminder_sent_at, a.name AS assessment_name, a.time_limit_minutes,
                o.name AS company, t.subject AS "subject?", t.body AS "body?", t.logo_url, t.accent_color
         FROM invitations i
         JOIN assessments a ON a.id = i.assessment_id
         JOIN organizations o ON o.id = i.org_id
         LEFT JOIN email_templates t ON t.org_id = i.org_id
         WHERE i.id = $1"#,
        invitation_id
    )
    .fetch_optional(&env.db)
    .await
}

impl InviteRow {
    fn context(&self, env: &Env, id: Uuid) -> Result<InviteContext, JobError> {
        let link = invitations::link(&env.cipher, env.settings.public_url(), &self.token_sealed, id)
            .map_err(JobError::Fail)?;
        Ok(InviteContext {
            candidate_name: if self.candidate_name.is_empty() { "there".into() } else { self.candidate_name.clone() },
            assessment_name: self.assessment_name.clone(),
            company_name: self.company.clone(),
            link,
            deadline: templates::format_deadline(self.deadline),
            time_limit: format!("{} minutes", self.time_limit_minutes),
        })
    }

    fn branding(&self) -> Branding {
        Branding { logo_url: self.logo_url.clone(), accent_color: self.accent_color.clone() }
    }
}

/// Sends the invite. On the `last` attempt a failure that could still pass is explained on
/// the candidate in Lever too: until an admin retries, nobody is invited.
async fn invite(env: &Env, id: Uuid, last: bool) -> Result<(), JobError> {
    let Some(row) = load(env, id).await? else { return Ok(()) };
    if row.email_sent_at.is_some() || row.status != InvitationStatus::Invited {
        return Ok(());
    }
    let context = row.context(env, id)?;
    let subject = row.subject.as_deref().unwrap_or(templates::DEFAULT_SUBJECT);
    let body = row.body.as_deref().unwrap_or(templates::DEFAULT_BODY);
    let rendered = templates::invite(subject, body, &context, &row.branding())
        .map_err(|e| JobError::Fail(anyhow::anyhow!("the invite email template does not render: {e}")))?;
    let sent = deliver(env, row.org_id, Some(id), "invite", &row.candidate_email, &rendered).await;
    let mut tx = env.db.begin().await?;
    match &sent {
        Ok(()) => {
            invitations::mark_email_sent(&mut tx, id).await?;
            let subject = Subject { org_id: row.org_id, invitation_id: id, opportunity_id: &row.opportunity_id };
            follow_up(&mut tx, subject, &[Effect::SyncLever], env.clock.now()).await?;
        }
        Err(e @ MailError::Permanent(_)) => {
            // The mail server will never take it: the invitation cannot go ahead, and
            // Lever says so on the candidate.
            if let Some(inv) = invitations::lock(&mut tx, id).await? {
                invitations::cancel(&mut tx, &inv, &e.to_string()).await.map_err(anyhow::Error::from)?;
            }
            let Explained { why, fix } = copy::invite_refused(&row.candidate_email, &e.to_string());
            let note = ErrorNote {
                org_id: row.org_id,
                opportunity_id: row.opportunity_id.clone(),
                reference: format!("invite-{id}"),
                why,
                fix,
            };
            jobs::enqueue(&mut tx, &note, env.clock.now()).await?;
        }
        Err(e) => {
            invitations::mark_email_failed(&mut tx, id, &e.to_string()).await?;
            if last {
                let (brand, attempts) = (&env.settings.brand, SendEmail::MAX_ATTEMPTS);
                let Explained { why, fix } = copy::invite_unsent(brand, &row.candidate_email, attempts, &e.to_string());
                let note = ErrorNote {
                    org_id: row.org_id,
                    opportunity_id: row.opportunity_id.clone(),
                    reference: format!("invite-{id}-unsent"),
                    why,
                    fix,
                };
                jobs::enqueue(&mut tx, &note, env.clock.now()).await?;
            }
        }
    }
    tx.commit().await?;
    match sent {
        // Handled: the invitation is cancelled and Lever is told; retrying cannot help.
        Err(MailError::Permanent(_)) => Ok(()),
        other => other.map_err(into_job_error),
    }
}

async fn reminder(env: &Env, id: Uuid) -> Result<(), JobError> {
    let Some(row) = load(env, id).await? else { return Ok(()) };
    if row.status != InvitationStatus::Invited || row.email_sent_at.is_none() || row.reminder_sent_at.is_some() {
        return Ok(());
    }
    let context = row.context(env, id)?;
    let text = copy::text(&copy::Reminder {
        name: &context.candidate_name,
        company: &context.company_name,
        assessment: &context.assessment_name,
        deadline: &context.deadline,
        time_limit: &context.time_limit,
    });
    let subject = format!("Reminder: your {} assessment expires soon", context.assessment_name);
    let rendered = templates::notice(&subject, &text, Some((&context.link, "Open the assessment")), &row.branding());
    deliver(env, row.org_id, Some(id), "reminder", &row.candidate_email, &rendered).await.map_err(into_job_error)?;
    invitations::mark_reminded(&mut *env.db.acquire().await?, id).await?;
    Ok(())
}

async fn result_ready(env: &Env, id: Uuid) -> Result<(), JobError> {
    let row = sqlx::query!(
        "SELECT i.org_id, i.candidate_name, i.candidate_email, i.score, i.passed, a.name AS assessment_name
         FROM invitations i JOIN assessments a ON a.id = i.assessment_id WHERE i.id = $1 AND i.status = 'completed'",
        id
    )
    .fetch_optional(&env.db)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let who = invitations::candidate_label(&row.candidate_name, &row.candidate_email);
    let verdict = if row.passed == Some(true) { "passed" } else { "did not pass" };
    let subject = format!("{who} {verdict} the {} assessment", row.assessment_name);
    let text = copy::text(&copy::ResultReady {
        who,
        assessment: &row.assessment_name,
        verdict,
        score: row.score.unwrap_or(0),
    });
    let report = invitations::report_url(env.settings.public_url(), id);
    let rendered = templates::notice(&subject, &text, Some((&report, "Open the report")), &Branding::default());
    let people = sqlx::query_scalar!("SELECT email FROM users WHERE org_id = $1 ORDER BY created_at", row.org_id)
        .fetch_all(&env.db)
        .await?;
    for to in people {
        deliver(env, row.org_id, Some(id), "result", &to, &rendered).await.map_err(into_job_error)?;
    }
    Ok(())
}

async fn to_admins(env: &Env, org_id: Uuid, kind: &str, subject: &str, text: &str) -> Result<(), JobError> {
    let link = format!("{}/app/settings/integrations/lever", env.settings.public_url());
    let rendered = templates::notice(subject, text, Some((&link, "Open the Lever settings")), &Branding::default());
    let admins =
        sqlx::query_scalar!("SELECT email FROM users WHERE org_id = $1 AND role = 'admin' ORDER BY created_at", org_id)
            .fetch_all(&env.db)
            .await?;
    for to in admins {
        deliver(env, org_id, None, kind, &to, &rendered).await.map_err(into_job_error)?;
    }
    Ok(())
}

/// Sends one message unless this recipient already got it, and records the attempt.
pub(super) async fn deliver(
    env: &Env,
    org_id: Uuid,
    invitation_id: Option<Uuid>,
    kind: &str,
    to: &str,
    rendered: &Rendered,
) -> Result<(), MailError> {
    let record = |status: &'static str, error: Option<String>| async move {
        let stored = sqlx::query!(
            "INSERT INTO emails (org_id, invitation_id, kind, to_address, subject, status, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            org_id,
            invitation_id,
            kind,
            to,
            rendered.subject,
            status,
            error,
        )
        .execute(&env.db)
        .await;
        stored.map(drop).map_err(|e| MailError::Transient(format!("recording the email: {e}")))
    };
    if let Some(invitation_id) = invitation_id {
        let already = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM emails WHERE invitation_id = $1 AND kind = $2 AND to_address = $3
                              AND status = 'sent') AS "sent!""#,
            invitation_id,
            kind,
            to
        )
        .fetch_one(&env.db)
        .await
        .map_err(|e| MailError::Transient(e.to_string()))?;
        if already {
            return Ok(());
        }
    }
    let email = Email {
        to: to.into(),
        subject: rendered.subject.clone(),
        text: rendered.text.clone(),
        html: rendered.html.clone(),
    };
    match env.mailer.send(&env.settings.email.from, &email).await {
        Ok(()) => {
            env.metrics.email("sent");
            record("sent", None).await
        }
        Err(e) => {
            env.metrics.email("failed");
            record("failed", Some(e.to_string())).await?;
            Err(e)
        }
    }
}

pub(super) fn into_job_error(e: MailError) -> JobError {
    match e {
        MailError::Transient(_) => JobError::Retry(e.into()),
        MailError::Permanent(_) => JobError::Fail(e.into()),
    }
}
