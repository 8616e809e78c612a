//! Housekeeping that keeps tables the size of the work in flight rather than of history.

use chrono::Duration;

use super::kinds::{email::SendEmail, keepalive::KeepAlive};
use crate::jobs::Env;

/// Deletes finished jobs and webhook deliveries past their retention, expired sessions,
/// OAuth states and limit counters whose window has passed, old account links, and
/// organizations whose admin never confirmed the address.
pub async fn prune(env: &Env) -> anyhow::Result<()> {
    let jobs = super::queue::prune(&env.db, env.settings.jobs.retention_days).await?;
    let sessions = sqlx::query!("DELETE FROM sessions WHERE expires_at < now()").execute(&env.db).await?;
    let throttles = crate::throttle::prune(&env.db).await?;
    let deliveries = crate::deliveries::prune(&env.db, env.settings.jobs.delivery_retention_days as i32).await?;
    sqlx::query!("DELETE FROM oauth_states WHERE expires_at < now()").execute(&env.db).await?;
    // Lever reruns deliveries of the last two weeks; a handled move is remembered well past that.
    sqlx::query!(
        "DELETE FROM stage_entries WHERE handled_at < now() - make_interval(days => $1)",
        (env.settings.jobs.delivery_retention_days * 2) as i32
    )
    .execute(&env.db)
    .await?;
    let accounts = prune_accounts(env).await?;
    tracing::info!(
        jobs,
        deliveries,
        sessions = sessions.rows_affected(),
        throttles,
        unconfirmed_organizations = accounts,
        "pruned old rows"
    );
    Ok(())
}

/// Account links a week past their expiry (until then a visit says "expired" rather than
/// "not valid"), spent email cooldowns, invitations accepted a month ago, and sign-ups
/// never confirmed within a month: nobody ever used those organizations, and the address
/// is free again. Returns how many organizations went.
async fn prune_accounts(env: &Env) -> sqlx::Result<u64> {
    sqlx::query!("DELETE FROM account_links WHERE expires_at < now() - interval '7 days'").execute(&env.db).await?;
    let cooldown = env.settings.accounts.email_cooldown_secs.max(86_400) as f64;
    sqlx::query!("DELETE FROM account_email_cooldowns WHERE sent_at < now() - make_interval(secs => $1)", cooldown)
        .execute(&env.db)
        .await?;
    sqlx::query!("DELETE FROM team_invites WHERE accepted_at < now() - interval '30 days'").execute(&env.db).await?;
    let unconfirmed = sqlx::query!(
        "DELETE FROM organizations o WHERE o.created_at < now() - interval '30 days'
           AND NOT EXISTS (SELECT 1 FROM users u WHERE u.org_id = o.id AND u.email_verified_at IS NOT NULL)"
    )
    .execute(&env.db)
    .await?;
    Ok(unconfirmed.rows_affected())
}

/// Lever connections that need looking after: idle ones are refreshed before Lever's
/// 90-day inactivity limit, and admins are warned (once) before the one-year limit.
pub async fn lever_upkeep(env: &Env) -> anyhow::Result<()> {
    let now = env.clock.now();
    let lever = &env.settings.lever;
    let idle = sqlx::query_scalar!(
        "SELECT org_id FROM lever_connections WHERE status = 'connected' AND last_refreshed_at < $1",
        now - Duration::days(lever.keepalive_days)
    )
    .fetch_all(&env.db)
    .await?;
    let mut tx = env.db.begin().await?;
    for org_id in idle {
        super::enqueue(&mut tx, &KeepAlive { org_id }, now).await?;
    }
    let expiring = sqlx::query_scalar!(
        "UPDATE lever_connections SET expiry_warned_at = now()
         WHERE status = 'connected' AND expiry_warned_at IS NULL AND authorized_at < $1
         RETURNING org_id",
        now - Duration::days(365 - lever.expiry_warning_days)
    )
    .fetch_all(&mut *tx)
    .await?;
    for org_id in expiring {
        super::enqueue(&mut tx, &SendEmail::ExpiryWarning { org_id }, now).await?;
    }
    tx.commit().await?;
    Ok(())
}
