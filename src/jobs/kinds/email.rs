//! Every email Fulcrum sends goes through this job: a failure is retried with backoff and
//! shows in the app. Each send is recorded in `emails` before and after it happens
//! (`deliver`), so a retry, or a job run again after a database crash, never repeats a
//! message a recipient got; one that may have gone is shown, not repeated.

mod deliver;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(super) use self::deliver::{Message, Undelivered, deliver};

use crate::{
    copy::{self, Explained},
    domain::invite::Contact,
    email::{
        MailError,
        templates::{self, Branding, InviteContext},
    },
    invitations::{self, CancelReason, Effect, ForEmail, InvitationStatus},
    jobs::Env,
    jobs::{
        self, Job, JobContext, JobError,
        kinds::{
            Subject, account_email,
            action_note::{Action, ActionNote},
            error_note::ErrorNote,
            follow_up,
        },
    },
    lever::{LeverError, client::Api},
};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SendEmail {
    /// The candidate's invitation, from the organization's template.
    Invite { invitation_id: Uuid },
    /// The same invitation again, sent by an admin (the `nth` time; `reopened`: it had
    /// expired); a note in Lever follows once it went out.
    InviteAgain { invitation_id: Uuid, nth: i32, reopened: bool },
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
            Self::InviteAgain { invitation_id, nth, .. } => format!("email:invite:{invitation_id}:again-{nth}"),
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
            Self::Invite { invitation_id } => invite(env, invitation_id, None, ctx.attempt >= Self::MAX_ATTEMPTS).await,
            Self::InviteAgain { invitation_id, nth, reopened } => {
                let again = Again { nth, reopened };
                invite(env, invitation_id, Some(again), ctx.attempt >= Self::MAX_ATTEMPTS).await
            }
            Self::Reminder { invitation_id } => reminder(env, invitation_id).await,
            Self::ResultReady { invitation_id } => result_ready(env, invitation_id).await,
            Self::ReconnectNeeded { org_id } => {
                let text = copy::text(&copy::ReconnectNotice { brand: &env.settings.brand });
                to_admins(env, ctx.job_id, org_id, "notice:reconnect", "Action needed: reconnect Lever", &text).await
            }
            Self::ExpiryWarning { org_id } => {
                let text = copy::text(&copy::ExpiryNotice);
                to_admins(env, ctx.job_id, org_id, "notice:expiry", "Reconnect Lever before its access expires", &text)
                    .await
            }
            Self::ConfirmEmail { link_id } | Self::PasswordReset { link_id } | Self::TeamInvite { link_id, .. } => {
                account_email::link(env, link_id).await
            }
            Self::SignupAttempt { user_id } => account_email::signup_attempt(env, ctx.job_id, user_id).await,
        }
    }
}

impl ForEmail {
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

/// An admin's resend: which one, and whether it reopened the invitation.
#[derive(Clone, Copy)]
struct Again {
    nth: i32,
    reopened: bool,
}

/// Sends the invite (`again`: an admin's resend). On the `last` attempt a failure that
/// could still pass is explained on the candidate in Lever too: until an admin retries,
/// nobody is invited.
async fn invite(env: &Env, id: Uuid, again: Option<Again>, last: bool) -> Result<(), JobError> {
    let Some(row) = invitations::for_email(&env.db, id).await? else { return Ok(()) };
    let first_sent = again.is_none() && row.email_sent_at.is_some();
    if first_sent || row.status != InvitationStatus::Invited {
        return Ok(());
    }
    if again.is_some()
        && let Some(why) = contact_refused(env, row.org_id, &row.opportunity_id).await?
    {
        let why = format!("not sent again: {why}");
        invitations::mark_email_failed(&mut *env.db.acquire().await?, id, &why).await?;
        return Ok(());
    }
    // Each send is its own message (a resend is not the first one sent again).
    let scope = match again {
        None => id.to_string(),
        Some(Again { nth, .. }) => format!("{id}/again-{nth}"),
    };
    let context = row.context(env, id)?;
    let subject = row.subject.clone().unwrap_or_else(|| templates::DEFAULT_SUBJECT.into());
    let body = row.body.clone().unwrap_or_else(|| templates::DEFAULT_BODY.into());
    let branding = row.branding();
    let rendered = templates::off_thread(move || templates::invite(&subject, &body, &context, &branding))
        .await
        .map_err(|e| JobError::Fail(anyhow::anyhow!("the invite email template does not render: {e}")))?;
    let message =
        Message { org_id: row.org_id, invitation_id: Some(id), kind: "invite", scope, to: &row.candidate_email };
    let sent = deliver(env, &message, &rendered).await;
    let reference = match again {
        None => format!("invite-{id}"),
        Some(Again { nth, .. }) => format!("invite-{id}-again-{nth}"),
    };
    if let Err(e @ (Undelivered::InProgress(_) | Undelivered::Database(_))) = sent {
        return Err(into_job_error(e));
    }
    let mut tx = env.db.begin().await?;
    match &sent {
        Ok(()) => {
            invitations::mark_email_sent(&mut tx, id).await?;
            let subject = Subject { org_id: row.org_id, invitation_id: id, opportunity_id: &row.opportunity_id };
            follow_up(&mut tx, subject, &[Effect::SyncLever], env.clock.now()).await?;
            if let Some(Again { nth, reopened }) = again {
                let action = Action::Resent { nth, reopened, deadline: row.deadline };
                jobs::enqueue(&mut tx, &ActionNote { org_id: row.org_id, invitation_id: id, action }, env.clock.now())
                    .await?;
            }
        }
        Err(Undelivered::Mail(e @ MailError::Permanent(_))) => {
            // The mail server will never take it: the invitation cannot go ahead, and
            // Lever says so on the candidate.
            if let Some(inv) = invitations::lock(&mut tx, id).await? {
                let reason = CancelReason::EmailRefused { error: e.to_string() };
                let now = env.clock.now();
                invitations::cancel(&mut tx, &inv, &reason, now).await.map_err(anyhow::Error::from)?;
            }
            let Explained { why, fix } = copy::invite_refused(&row.candidate_email, &e.to_string());
            let note = ErrorNote {
                org_id: row.org_id,
                opportunity_id: row.opportunity_id.clone(),
                reference: reference.clone(),
                why,
                fix,
            };
            jobs::enqueue(&mut tx, &note, env.clock.now()).await?;
        }
        // Shown on the dashboard beside the invitation; the failed job offers Retry.
        Err(Undelivered::Uncertain(why)) => invitations::mark_email_failed(&mut tx, id, why).await?,
        Err(Undelivered::Mail(e)) => {
            invitations::mark_email_failed(&mut tx, id, &e.to_string()).await?;
            if last {
                let (brand, attempts) = (&env.settings.brand, SendEmail::MAX_ATTEMPTS);
                let Explained { why, fix } = copy::invite_unsent(brand, &row.candidate_email, attempts, &e.to_string());
                let note = ErrorNote {
                    org_id: row.org_id,
                    opportunity_id: row.opportunity_id.clone(),
                    reference: format!("{reference}-unsent"),
                    why,
                    fix,
                };
                jobs::enqueue(&mut tx, &note, env.clock.now()).await?;
            }
        }
        Err(Undelivered::InProgress(_) | Undelivered::Database(_)) => unreachable!("returned above"),
    }
    tx.commit().await?;
    match sent {
        // Handled: the invitation is cancelled and Lever is told; retrying cannot help.
        Err(Undelivered::Mail(MailError::Permanent(_))) => Ok(()),
        other => other.map_err(into_job_error),
    }
}

async fn reminder(env: &Env, id: Uuid) -> Result<(), JobError> {
    let Some(row) = invitations::for_email(&env.db, id).await? else { return Ok(()) };
    if row.status != InvitationStatus::Invited || row.email_sent_at.is_none() || row.reminder_sent_at.is_some() {
        return Ok(());
    }
    // An extended deadline moves the reminder with it; the job scheduled for the old one
    // waits for the new time.
    let due = row.deadline - chrono::Duration::hours(env.settings.email.reminder_hours_before_deadline);
    let now = env.clock.now();
    if now < due {
        let wait = (due - now).to_std().unwrap_or_default();
        return Err(JobError::Defer(wait, "the reminder is not due yet (the deadline was extended)".into()));
    }
    if let Some(why) = contact_refused(env, row.org_id, &row.opportunity_id).await? {
        let why = format!("no reminder sent: {why}");
        invitations::mark_email_failed(&mut *env.db.acquire().await?, id, &why).await?;
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
    let message = Message {
        org_id: row.org_id,
        invitation_id: Some(id),
        kind: "reminder",
        // One reminder per round: a reopened invitation is reminded again.
        scope: if row.reopens == 0 { id.to_string() } else { format!("{id}/round-{}", row.reopens + 1) },
        to: &row.candidate_email,
    };
    deliver(env, &message, &rendered).await.map_err(into_job_error)?;
    invitations::mark_reminded(&mut *env.db.acquire().await?, id).await?;
    Ok(())
}

/// Why Lever no longer allows emailing the candidate, if it does not. Consent can be
/// withdrawn, or run out, after the invite went out, so a reminder and an admin's resend
/// ask Lever again first; while Lever cannot be asked, they wait.
async fn contact_refused(env: &Env, org_id: Uuid, opportunity_id: &str) -> Result<Option<String>, JobError> {
    let mut api = Api::for_org(&env.lever, org_id).await?;
    let opportunity = match api.opportunity(opportunity_id).await {
        Ok(opportunity) => opportunity,
        Err(LeverError::NotFound(_)) => return Ok(Some("the candidate is no longer in Lever".into())),
        Err(e) => return Err(e.into()),
    };
    Ok(match opportunity.contact(env.clock.now()) {
        Contact::Allowed => None,
        Contact::NotAllowed => Some("Lever says this candidate may not be contacted".into()),
        Contact::Expired(_) => Some("the candidate's consent to be contacted has run out in Lever".into()),
    })
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
        let message =
            Message { org_id: row.org_id, invitation_id: Some(id), kind: "result", scope: id.to_string(), to: &to };
        deliver(env, &message, &rendered).await.map_err(into_job_error)?;
    }
    Ok(())
}

async fn to_admins(
    env: &Env,
    job_id: i64,
    org_id: Uuid,
    kind: &str,
    subject: &str,
    text: &str,
) -> Result<(), JobError> {
    let link = format!("{}/app/settings/integrations/lever", env.settings.public_url());
    let rendered = templates::notice(subject, text, Some((&link, "Open the Lever settings")), &Branding::default());
    let admins =
        sqlx::query_scalar!("SELECT email FROM users WHERE org_id = $1 AND role = 'admin' ORDER BY created_at", org_id)
            .fetch_all(&env.db)
            .await?;
    for to in admins {
        let message = Message { org_id, invitation_id: None, kind, scope: format!("job-{job_id}"), to: &to };
        deliver(env, &message, &rendered).await.map_err(into_job_error)?;
    }
    Ok(())
}

pub(super) fn into_job_error(e: Undelivered) -> JobError {
    match e {
        Undelivered::Mail(e @ MailError::Transient(_)) => JobError::Retry(e.into()),
        Undelivered::Mail(e @ MailError::Permanent(_)) => JobError::Fail(e.into()),
        Undelivered::InProgress(after) => {
            JobError::Defer(after, "an earlier attempt is sending this email; waiting for its answer".into())
        }
        Undelivered::Uncertain(why) => JobError::Fail(anyhow::anyhow!(why)),
        Undelivered::Database(e) => e.into(),
    }
}
