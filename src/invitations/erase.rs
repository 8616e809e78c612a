//! Erasing a candidate who was deleted or anonymized in Lever.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// The candidate was deleted or anonymized in Lever: their name, email address and answers
/// go from every table of Fulcrum's that held them (the address also from the delivery log,
/// sent-mail records and job errors), the anonymous result (assessment, score, dates)
/// stays, and the opportunity is marked so that nothing more is written to it in Lever.
/// Call after cancelling what is open. Returns what was erased: the queue's own records
/// (job errors) are the caller's to scrub of the same words.
pub async fn erase(
    conn: &mut PgConnection,
    org_id: Uuid,
    opportunity_id: &str,
    why: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Erased> {
    sqlx::query!(
        "INSERT INTO erased_opportunities (org_id, opportunity_id, erased_at, why) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
        org_id,
        opportunity_id,
        now,
        why,
    )
    .execute(&mut *conn)
    .await?;
    let people = sqlx::query!(
        "SELECT DISTINCT candidate_email, candidate_name FROM invitations
         WHERE org_id = $1 AND opportunity_id = $2 AND erased_at IS NULL",
        org_id,
        opportunity_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    // Every piece of free text that may quote the candidate: an address or a name.
    let words: Vec<String> = people
        .iter()
        .flat_map(|p| [p.candidate_email.clone(), p.candidate_name.clone()])
        .filter(|w| w.trim().len() >= 3)
        .collect();
    sqlx::query!(
        "UPDATE emails e SET to_address = '', subject = '', error = NULL, send_key = NULL
         FROM invitations i WHERE e.invitation_id = i.id AND i.org_id = $1 AND i.opportunity_id = $2",
        org_id,
        opportunity_id,
    )
    .execute(&mut *conn)
    .await?;
    for word in &words {
        crate::deliveries::erase_word(conn, org_id, opportunity_id, word).await?;
        sqlx::query!(
            "UPDATE invitations SET failure_reason = replace(failure_reason, $3, '(erased)'),
                                    cancel_detail = replace(cancel_detail, $3, '(erased)')
             WHERE org_id = $1 AND opportunity_id = $2
               AND (strpos(failure_reason, $3) > 0 OR strpos(cancel_detail, $3) > 0)",
            org_id,
            opportunity_id,
            word,
        )
        .execute(&mut *conn)
        .await?;
    }
    let erased = sqlx::query!(
        "UPDATE invitations SET candidate_name = '', candidate_email = '', answers = NULL, email_error = NULL,
                                erased_at = $3
         WHERE org_id = $1 AND opportunity_id = $2 AND erased_at IS NULL",
        org_id,
        opportunity_id,
        now,
    )
    .execute(&mut *conn)
    .await?;
    Ok(Erased { invitations: erased.rows_affected(), words })
}

/// What [`erase`] removed.
pub struct Erased {
    pub invitations: u64,
    /// The candidate's address and name, as they may still be quoted elsewhere.
    pub words: Vec<String>,
}
