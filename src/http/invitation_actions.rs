//! What an admin does to an invitation after it went out — send it again, extend its
//! deadline, cancel it — in one place for the report page's buttons and the API. Each is a
//! transition of the invitation, made and followed up (emails, the close job, Lever) in one
//! transaction; a state that does not allow it is a 409 that says why.

use chrono::Duration;
use uuid::Uuid;

use super::error::{AppError, AppResult};
use crate::{
    http::AppState,
    invitations::{self, CancelReason},
    jobs::kinds::follow_up,
};

/// Days a deadline may be extended by at once.
pub const EXTEND_DAYS: std::ops::RangeInclusive<i64> = 1..=30;

pub enum Action {
    /// Send the invite again (an expired invitation reopens with a new deadline).
    Resend,
    /// Move the deadline this many days later.
    Extend { days: i64 },
    /// Cancel it; `by` names who (an admin, an API key) in Lever's note and on the report.
    Cancel { by: String },
}

impl Action {
    /// An extension checked against [`EXTEND_DAYS`] (a 422 naming `days` otherwise).
    pub fn extend(days: i64) -> AppResult<Self> {
        if !EXTEND_DAYS.contains(&days) {
            let (min, max) = (EXTEND_DAYS.start(), EXTEND_DAYS.end());
            return Err(AppError::invalid("days", format!("days must be a whole number from {min} to {max}")));
        }
        Ok(Self::Extend { days })
    }
}

/// Does `action` to the organization's invitation `id`.
pub async fn apply(state: &AppState, org_id: Uuid, id: Uuid, action: Action) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let inv = invitations::lock(&mut tx, id).await?.filter(|i| i.org_id == org_id).ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let remind_hours = state.settings.email.reminder_hours_before_deadline;
    let effects = match action {
        Action::Resend => invitations::resend(&mut tx, &inv, remind_hours, now).await,
        Action::Extend { days } => invitations::extend(&mut tx, &inv, Duration::days(days), remind_hours, now).await,
        Action::Cancel { by } => invitations::cancel(&mut tx, &inv, &CancelReason::Admin { by }, now).await,
    }?;
    follow_up(&mut tx, (&inv).into(), &effects, now).await?;
    tx.commit().await?;
    Ok(())
}

/// How an admin is named in Lever's note: their name and address, or the address alone.
pub async fn admin_name(state: &AppState, user_id: Uuid, email: &str) -> AppResult<String> {
    let name = sqlx::query_scalar!("SELECT name FROM users WHERE id = $1", user_id).fetch_optional(&state.db).await?;
    Ok(match name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) {
        Some(name) => format!("{name} ({email})"),
        None => email.to_string(),
    })
}

/// How an API key is named in Lever's note.
pub async fn api_key_name(state: &AppState, key_id: Uuid) -> AppResult<String> {
    let name = sqlx::query_scalar!("SELECT name FROM api_keys WHERE id = $1", key_id).fetch_optional(&state.db).await?;
    Ok(format!("the API key \"{}\"", name.unwrap_or_default()))
}
