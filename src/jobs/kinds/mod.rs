//! One module per job kind, and [`follow_up`]: the jobs that carry out an invitation
//! transition's effects.

mod account_email;
pub mod action_note;
pub mod close;
pub mod delivery;
pub mod email;
pub mod error_note;
pub mod keepalive;
pub mod lever_setup;
pub mod lifecycle;
pub mod noop;
pub mod report_file;
pub mod sweep;
pub mod sync;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    invitations::{Effect, Invitation},
    jobs::{enqueue, enqueue_at},
};

/// Which invitation a transition was about.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub org_id: Uuid,
    pub invitation_id: Uuid,
    pub opportunity_id: &'a str,
}

impl<'a> From<&'a Invitation> for Subject<'a> {
    fn from(inv: &'a Invitation) -> Self {
        Self { org_id: inv.org_id, invitation_id: inv.id, opportunity_id: &inv.opportunity_id }
    }
}

/// Queues the jobs that carry out `effects`, in the caller's transaction (the one that
/// made the transition).
pub async fn follow_up(
    conn: &mut PgConnection,
    subject: Subject<'_>,
    effects: &[Effect],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let invitation_id = subject.invitation_id;
    for effect in effects {
        match *effect {
            Effect::SendInvite => {
                enqueue(conn, &email::SendEmail::Invite { invitation_id }, now).await?;
            }
            Effect::SendInviteAgain { nth, reopened } => {
                enqueue(conn, &email::SendEmail::InviteAgain { invitation_id, nth, reopened }, now).await?;
            }
            Effect::NoteExtended { nth, from, to } => {
                let action = action_note::Action::Extended { nth, from, to };
                enqueue(conn, &action_note::ActionNote { org_id: subject.org_id, invitation_id, action }, now).await?;
            }
            Effect::RemindAt(at) => {
                enqueue_at(conn, &email::SendEmail::Reminder { invitation_id }, at).await?;
            }
            Effect::CloseAt(at) => {
                enqueue_at(conn, &close::CloseInvitation { invitation_id }, at).await?;
            }
            Effect::SyncLever => {
                let sync = sync::SyncOpportunity {
                    org_id: subject.org_id,
                    opportunity_id: subject.opportunity_id.to_string(),
                };
                enqueue(conn, &sync, now).await?;
            }
            Effect::NotifyRecruiters => {
                enqueue(conn, &email::SendEmail::ResultReady { invitation_id }, now).await?;
            }
            Effect::AttachReport => {
                enqueue(conn, &report_file::AttachReport { org_id: subject.org_id, invitation_id }, now).await?;
            }
        }
    }
    Ok(())
}
