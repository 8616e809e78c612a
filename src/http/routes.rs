//! Every URL Fulcrum answers, in one place.

use axum::{
    Router,
    routing::{get, post},
};

use super::{
    api, app_pages, assessments, auth, candidate, deliveries, email_settings, health, integrations, invitations,
    jobs_page, join, lever_health, lever_settings, password, report_pdf, signup, static_files, team, team_invites,
    webhooks,
};
use crate::http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        // Operations
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/static/app.css", get(static_files::stylesheet))
        .route("/static/app.js", get(static_files::script))
        .route("/favicon.ico", get(static_files::favicon))
        // Signing in
        .route("/", get(app_pages::home))
        .route("/signup", get(signup::page).post(signup::signup))
        .route("/signup/verify/{token}", get(signup::verify))
        .route("/signup/resend", post(signup::resend))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/password/forgot", get(password::forgot_page).post(password::forgot))
        .route("/password/reset/{token}", get(password::reset_page).post(password::reset))
        .route("/join/{token}", get(join::show).post(join::accept))
        // The web app
        .route("/app", get(invitations::dashboard))
        .route("/app/invitations/{id}", get(invitations::report))
        .route("/app/invitations/{id}/resend", post(invitations::resend))
        .route("/app/invitations/{id}/extend", post(invitations::extend))
        .route("/app/invitations/{id}/cancel", post(invitations::cancel))
        .route("/app/invitations/{id}/report.pdf", get(report_pdf::download))
        .route("/app/assessments", get(assessments::list))
        .route("/app/assessments/new", get(assessments::new_page).post(assessments::create))
        .route("/app/assessments/{id}", get(assessments::edit_page).post(assessments::update))
        .route("/app/settings/team", get(team::page))
        .route("/app/settings/team/invites", post(team_invites::invite))
        .route("/app/settings/team/invites/{id}/revoke", post(team_invites::revoke))
        .route("/app/settings/team/{id}/remove", post(team::remove_member))
        .route("/app/settings/team/{id}/role", post(team::change_role))
        .route("/app/settings/api-keys", get(team::api_keys_page).post(team::create_api_key))
        .route("/app/settings/api-keys/{id}/revoke", post(team::revoke_api_key))
        .route(
            "/app/settings/integrations/lever",
            get(lever_settings::settings_page).post(lever_settings::save_settings),
        )
        .route("/app/settings/integrations/lever/webhooks", post(lever_settings::create_webhooks))
        .route("/app/settings/integrations/lever/webhook-key", post(lever_settings::regenerate_key))
        .route("/app/settings/integrations/lever/invite-waiting", post(lever_settings::invite_waiting))
        .route("/app/settings/integrations/lever/health", get(lever_health::page).post(lever_health::recheck))
        .route("/app/settings/email", get(email_settings::page).post(email_settings::save))
        .route("/app/settings/email/preview", post(email_settings::preview))
        .route("/app/deliveries", get(deliveries::page))
        .route("/app/jobs", get(jobs_page::page))
        .route("/app/jobs/{id}/retry", post(jobs_page::retry))
        // Candidates
        .route("/a", get(candidate::no_token))
        .route("/a/", get(candidate::no_token))
        .route("/a/{token}", get(candidate::show))
        .route("/a/{token}/start", post(candidate::start))
        .route("/a/{token}/submit", post(candidate::submit))
        // Lever
        .route("/integrations/lever/connect", get(integrations::connect))
        .route("/integrations/lever/callback", get(integrations::callback))
        .route("/integrations/lever/disconnect", post(integrations::disconnect))
        .route("/webhooks/lever/{key}", post(webhooks::receive))
        // REST API
        .nest("/api/v1", api::routes())
}
