//! What lists and checks read of the `invitations` table.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{CancelKind, Invitation, InvitationStatus, candidate_label};
use crate::domain::{invite::Standing, problem::Earlier};

/// Which invitations a list shows; every field optional.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub status: Option<InvitationStatus>,
    pub opportunity_id: Option<&'a str>,
    pub assessment_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only invitations after this one (created_at, id) in the list's order: the next page.
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

/// The organization's invitations matching `filter`, newest first.
pub async fn list(
    conn: &mut PgConnection,
    org_id: Uuid,
    filter: &Filter<'_>,
    limit: i64,
) -> sqlx::Result<Vec<Invitation>> {
    sqlx::query_as(select_invitation!(
        "WHERE i.org_id = $1 AND ($2::text IS NULL OR i.status = $2) AND ($3::text IS NULL OR i.opportunity_id = $3)
           AND ($4::uuid IS NULL OR i.assessment_id = $4) AND ($5::timestamptz IS NULL OR i.created_at >= $5)
           AND ($6::timestamptz IS NULL OR i.created_at < $6)
           AND ($8::timestamptz IS NULL OR (i.created_at, i.id) < ($8, $9::uuid))
         ORDER BY i.created_at DESC, i.id DESC LIMIT $7"
    ))
    .bind(org_id)
    .bind(filter.status)
    .bind(filter.opportunity_id)
    .bind(filter.assessment_id)
    .bind(filter.from)
    .bind(filter.until)
    .bind(limit)
    .bind(filter.after.map(|(at, _)| at))
    .bind(filter.after.map(|(_, id)| id))
    .fetch_all(conn)
    .await
}

/// An invitation named for a list: which one, whose, and how pages call the candidate.
pub struct Named {
    pub id: Uuid,
    pub opportunity_id: String,
    pub who: String,
}

/// The organization's invitations with one of `ids`, or of one of `opportunity_ids`,
/// newest first.
pub async fn named(
    conn: &mut PgConnection,
    org_id: Uuid,
    ids: &[Uuid],
    opportunity_ids: &[String],
) -> sqlx::Result<Vec<Named>> {
    let rows = sqlx::query!(
        "SELECT id, opportunity_id, candidate_name, candidate_email
         FROM invitations WHERE org_id = $1 AND (id = ANY($2) OR opportunity_id = ANY($3))
         ORDER BY created_at DESC",
        org_id,
        ids,
        opportunity_ids,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Named {
            who: candidate_label(&r.candidate_name, &r.candidate_email).to_string(),
            id: r.id,
            opportunity_id: r.opportunity_id,
        })
        .collect())
}

/// The opportunity's newest invitation to each assessment that is open or completed: what
/// stands in the way of inviting again.
pub async fn standing(conn: &mut PgConnection, org_id: Uuid, opportunity_id: &str) -> sqlx::Result<Vec<Standing>> {
    let rows = sqlx::query!(
        "SELECT DISTINCT ON (i.assessment_id) i.assessment_id, a.name, i.stage_entered_at, i.created_at, i.deadline,
                i.completed_at
         FROM invitations i JOIN assessments a ON a.id = i.assessment_id
         WHERE i.org_id = $1 AND i.opportunity_id = $2 AND i.status IN ('invited', 'started', 'completed')
         ORDER BY i.assessment_id, i.created_at DESC",
        org_id,
        opportunity_id,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Standing {
            assessment_id: r.assessment_id,
            stage_entered_at: r.stage_entered_at,
            earlier: Earlier {
                assessment: r.name,
                sent: r.created_at,
                deadline: r.deadline,
                completed: r.completed_at,
            },
        })
        .collect())
}

/// Whether the candidate was deleted or anonymized in Lever (erased, or an invitation of
/// the opportunity cancelled for it): nothing more is written to the opportunity.
pub async fn removed_in_lever(conn: &mut PgConnection, org_id: Uuid, opportunity_id: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM erased_opportunities WHERE org_id = $1 AND opportunity_id = $2)
               OR EXISTS (SELECT 1 FROM invitations
                          WHERE org_id = $1 AND opportunity_id = $2 AND cancel_reason = 'removed') AS "removed!""#,
        org_id,
        opportunity_id
    )
    .fetch_one(conn)
    .await
}

/// Of the opportunities of `moves` (opportunity, stage, entered at), those that have any
/// invitation of the organization.
pub async fn opportunities_invited(
    conn: &mut PgConnection,
    org_id: Uuid,
    moves: &[(String, String, i64)],
) -> sqlx::Result<Vec<String>> {
    let ids: Vec<String> = moves.iter().map(|(o, _, _)| o.clone()).collect();
    sqlx::query_scalar!(
        "SELECT DISTINCT opportunity_id FROM invitations WHERE org_id = $1 AND opportunity_id = ANY($2)",
        org_id,
        &ids,
    )
    .fetch_all(conn)
    .await
}

/// An opportunity Fulcrum holds invitations for (not erased), and whether one is open.
pub struct Held {
    pub id: String,
    pub open: bool,
}

/// The organization's opportunities with invitations whose candidate was not erased.
pub async fn held_opportunities(db: &PgPool, org_id: Uuid) -> sqlx::Result<Vec<Held>> {
    let rows = sqlx::query!(
        r#"SELECT opportunity_id, bool_or(status IN ('invited', 'started')) AS "open!"
           FROM invitations WHERE org_id = $1 AND erased_at IS NULL
           GROUP BY opportunity_id"#,
        org_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| Held { id: r.opportunity_id, open: r.open }).collect())
}

/// What Lever shows: invitations whose email went out (before that, Lever has nothing to
/// show), and those cancelled for a reason Lever shows (see `CancelReason::shows_in_lever`;
/// a refused email shows as an error instead).
pub async fn shown_in_lever(db: &PgPool, org_id: Uuid, opportunity_id: &str) -> sqlx::Result<Vec<InLever>> {
    sqlx::query_as!(
        InLever,
        r#"SELECT i.id, i.status AS "status: InvitationStatus", i.passed, i.score, i.failure_reason, i.deadline, i.completed_at, i.updated_at,
                  i.candidate_name, i.candidate_email, i.perform_as, i.email_sent_at, i.reopens,
                  i.cancel_reason AS "cancel_reason: CancelKind", i.cancel_detail,
                  a.name AS assessment_name, a.pass_mark
           FROM invitations i JOIN assessments a ON a.id = i.assessment_id
           WHERE i.org_id = $1 AND i.opportunity_id = $2
             AND CASE WHEN i.status = 'cancelled' THEN i.cancel_reason IN ('admin', 'hired', 'archived')
                      ELSE i.email_sent_at IS NOT NULL END
           ORDER BY i.created_at"#,
        org_id,
        opportunity_id
    )
    .fetch_all(db)
    .await
}

/// An invitation as the Lever sync shows it.
pub struct InLever {
    pub id: Uuid,
    pub status: InvitationStatus,
    pub passed: Option<bool>,
    pub score: Option<i32>,
    pub failure_reason: Option<String>,
    pub deadline: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub candidate_name: String,
    pub candidate_email: String,
    pub perform_as: Option<String>,
    pub email_sent_at: Option<DateTime<Utc>>,
    /// How many times it reopened after expiring: each round has its own result.
    pub reopens: i32,
    pub cancel_reason: Option<CancelKind>,
    pub cancel_detail: Option<String>,
    pub assessment_name: String,
    pub pass_mark: i32,
}

/// What [`for_email`] reads.
pub struct ForEmail {
    pub org_id: Uuid,
    pub opportunity_id: String,
    pub status: InvitationStatus,
    pub candidate_name: String,
    pub candidate_email: String,
    pub token_sealed: String,
    pub deadline: DateTime<Utc>,
    pub email_sent_at: Option<DateTime<Utc>>,
    pub reminder_sent_at: Option<DateTime<Utc>>,
    pub reopens: i32,
    pub assessment_name: String,
    pub time_limit_minutes: i32,
    pub company: String,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
}

/// An invitation with what its emails need: the assessment, the organization's name and
/// its email template.
pub async fn for_email(db: &PgPool, invitation_id: Uuid) -> sqlx::Result<Option<ForEmail>> {
    sqlx::query_as!(
        ForEmail,
        r#"SELECT i.org_id, i.opportunity_id, i.status AS "status: InvitationStatus", i.candidate_name, i.candidate_email, i.token_sealed, i.deadline,
                i.email_sent_at, i.reminder_sent_at, i.reopens, a.name AS assessment_name, a.time_limit_minutes,
                o.name AS company, t.subject AS "subject?", t.body AS "body?", t.logo_url, t.accent_color
         FROM invitations i
         JOIN assessments a ON a.id = i.assessment_id
         JOIN organizations o ON o.id = i.org_id
         LEFT JOIN email_templates t ON t.org_id = i.org_id
         WHERE i.id = $1"#,
        invitation_id
    )
    .fetch_optional(db)
    .await
}
