//! Queries of the `assessments` table. Every one is scoped by organization: an id from
//! another organization finds nothing.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, types::Json};
use uuid::Uuid;

use crate::domain::{
    assessment::{AssessmentCode, AssessmentInput, Question, ValidAssessment},
    resolution::Candidate,
};

/// An assessment as stored, right answers included: for admins and the runner, never for
/// candidates as is.
#[derive(Clone, Debug)]
pub struct Assessment {
    pub id: Uuid,
    pub name: String,
    pub code: String,
    pub pass_mark: i32,
    pub time_limit_minutes: i32,
    pub expires_after_days: i32,
    pub active: bool,
    pub instructions: String,
    pub questions: Json<Vec<Question>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Assessment {
    /// Every editable field, as the base a partial update is laid over.
    pub fn to_input(&self) -> AssessmentInput {
        AssessmentInput {
            name: Some(self.name.clone()),
            pass_mark: Some(self.pass_mark.into()),
            time_limit_minutes: Some(self.time_limit_minutes.into()),
            expires_after_days: Some(self.expires_after_days.into()),
            active: Some(self.active),
            instructions: Some(self.instructions.clone()),
            questions: Some(self.questions.0.clone()),
        }
    }
}

/// What tag resolution needs to pick an assessment by name tag or code tag, and the
/// invitation it leads to needs for its deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssessmentRef {
    pub id: Uuid,
    pub name: String,
    pub code: String,
    pub active: bool,
    pub expires_after_days: i32,
}

impl AssessmentRef {
    pub fn candidate(&self) -> Candidate<'_> {
        Candidate { id: self.id, name: &self.name, code: &self.code, active: self.active }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Another assessment of the organization has the same name, ignoring case and spacing.
    #[error(
        "Another assessment already has this name (names are compared ignoring case and spacing). Choose another name."
    )]
    DuplicateName,
    #[error("no free assessment code after {CODE_ATTEMPTS} draws")]
    CodesExhausted,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl SaveError {
    fn from_write(error: sqlx::Error) -> Self {
        match crate::db::unique_violation(&error) {
            Some("assessments_name_key") => Self::DuplicateName,
            _ => Self::Database(error),
        }
    }
}

/// Draws of a fresh code before giving up. A draw costs one insert that does nothing, and
/// even with seven codes in ten taken, fifty draws all colliding is a one-in-fifty-million
/// event: giving up means the codes are nearly used up.
const CODE_ATTEMPTS: usize = 50;

pub async fn list(conn: &mut PgConnection, org_id: Uuid) -> Result<Vec<Assessment>, sqlx::Error> {
    sqlx::query_as!(
        Assessment,
        r#"SELECT id, name, code, pass_mark, time_limit_minutes, expires_after_days, active, instructions,
                  questions AS "questions: Json<Vec<Question>>", created_at, updated_at
           FROM assessments WHERE org_id = $1 ORDER BY name_key"#,
        org_id
    )
    .fetch_all(conn)
    .await
}

/// Up to `limit` of the organization's assessments by name, after the one whose normalised
/// name is `after`; each with that name, for the next page's cursor.
pub async fn page(
    conn: &mut PgConnection,
    org_id: Uuid,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, Assessment)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, name, code, pass_mark, time_limit_minutes, expires_after_days, active, instructions,
                  questions AS "questions: Json<Vec<Question>>", created_at, updated_at, name_key AS "name_key!"
           FROM assessments WHERE org_id = $1 AND ($2::text IS NULL OR name_key > $2)
           ORDER BY name_key LIMIT $3"#,
        org_id,
        after,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let assessment = Assessment {
                id: r.id,
                name: r.name,
                code: r.code,
                pass_mark: r.pass_mark,
                time_limit_minutes: r.time_limit_minutes,
                expires_after_days: r.expires_after_days,
                active: r.active,
                instructions: r.instructions,
                questions: r.questions,
                created_at: r.created_at,
                updated_at: r.updated_at,
            };
            (r.name_key, assessment)
        })
        .collect())
}

pub async fn find(conn: &mut PgConnection, org_id: Uuid, id: Uuid) -> Result<Option<Assessment>, sqlx::Error> {
    sqlx::query_as!(
        Assessment,
        r#"SELECT id, name, code, pass_mark, time_limit_minutes, expires_after_days, active, instructions,
                  questions AS "questions: Json<Vec<Question>>", created_at, updated_at
           FROM assessments WHERE id = $1 AND org_id = $2"#,
        id,
        org_id
    )
    .fetch_optional(conn)
    .await
}

/// Locks the assessment, if there is one, until the caller's transaction ends: a
/// read-modify-write (a partial update) then cannot undo a concurrent one.
pub async fn lock(conn: &mut PgConnection, org_id: Uuid, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT id FROM assessments WHERE id = $1 AND org_id = $2 FOR UPDATE", id, org_id)
        .fetch_optional(conn)
        .await?;
    Ok(())
}

/// The organization's assessments, active or not, for matching Lever tags: resolution
/// tells "inactive" apart from "unknown".
pub async fn for_resolution(conn: &mut PgConnection, org_id: Uuid) -> Result<Vec<AssessmentRef>, sqlx::Error> {
    sqlx::query_as!(
        AssessmentRef,
        "SELECT id, name, code, active, expires_after_days FROM assessments WHERE org_id = $1 ORDER BY name_key",
        org_id
    )
    .fetch_all(conn)
    .await
}

/// Stores a new assessment under a freshly drawn code.
pub async fn insert(conn: &mut PgConnection, org_id: Uuid, new: &ValidAssessment) -> Result<Assessment, SaveError> {
    for _ in 0..CODE_ATTEMPTS {
        let code = AssessmentCode::random();
        // A taken code inserts nothing (rather than failing), which keeps the caller's
        // transaction usable for the next draw.
        let inserted = sqlx::query_as!(
            Assessment,
            r#"INSERT INTO assessments
                   (org_id, name, code, pass_mark, time_limit_minutes, expires_after_days, active, instructions,
                    questions)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (code) DO NOTHING
               RETURNING id, name, code, pass_mark, time_limit_minutes, expires_after_days, active, instructions,
                         questions AS "questions: Json<Vec<Question>>", created_at, updated_at"#,
            org_id,
            new.name().as_str(),
            code.as_str(),
            new.pass_mark(),
            new.time_limit_minutes(),
            new.expires_after_days(),
            new.active(),
            new.instructions(),
            Json(new.questions().as_slice()) as _,
        )
        .fetch_optional(&mut *conn)
        .await
        .map_err(SaveError::from_write)?;
        if let Some(assessment) = inserted {
            return Ok(assessment);
        }
    }
    Err(SaveError::CodesExhausted)
}

/// Replaces every editable field; the code never changes. `None` when there is no such
/// assessment in the organization.
pub async fn update(
    conn: &mut PgConnection,
    org_id: Uuid,
    id: Uuid,
    changed: &ValidAssessment,
) -> Result<Option<Assessment>, SaveError> {
    sqlx::query_as!(
        Assessment,
        r#"UPDATE assessments
           SET name = $3, pass_mark = $4, time_limit_minutes = $5, expires_after_days = $6, active = $7,
               instructions = $8, questions = $9
           WHERE id = $1 AND org_id = $2
           RETURNING id, name, code, pass_mark, time_limit_minutes, expires_after_days, active, instructions,
                     questions AS "questions: Json<Vec<Question>>", created_at, updated_at"#,
        id,
        org_id,
        changed.name().as_str(),
        changed.pass_mark(),
        changed.time_limit_minutes(),
        changed.expires_after_days(),
        changed.active(),
        changed.instructions(),
        Json(changed.questions().as_slice()) as _,
    )
    .fetch_optional(conn)
    .await
    .map_err(SaveError::from_write)
}
