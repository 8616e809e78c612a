//! Housekeeping that keeps tables the size of the work in flight rather than of history.

use crate::app::AppState;

/// Deletes finished jobs, old webhook deliveries, expired sessions and stale sign-in
/// failures.
pub async fn prune(state: &AppState) -> anyhow::Result<()> {
    let jobs = super::queue::prune(&state.db, state.settings.jobs.retention_days).await?;
    let sessions = sqlx::query!("DELETE FROM sessions WHERE expires_at < now()").execute(&state.db).await?;
    let failures =
        sqlx::query!("DELETE FROM login_failures WHERE at < now() - interval '1 day'").execute(&state.db).await?;
    tracing::info!(
        jobs,
        sessions = sessions.rows_affected(),
        login_failures = failures.rows_affected(),
        "pruned old rows"
    );
    Ok(())
}
