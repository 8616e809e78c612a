//! The invite email template (admins): subject and body with placeholders, logo and accent
//! colour, a text preview on the page and the HTML version on its own page.

use askama::Template;
use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    auth::capitalise,
    csrf::{CsrfForm, CsrfToken},
    error::AppResult,
    layout::{Chrome, render},
    session::{AdminUser, CurrentUser},
};
use crate::{
    email::templates::{self, Branding, InviteContext, PLACEHOLDERS},
    http::AppState,
};

#[derive(Template)]
#[template(path = "email_settings.html")]
struct EmailPage {
    chrome: Chrome,
    form: EmailForm,
    preview_subject: String,
    preview_text: String,
    placeholders: Vec<String>,
    errors: Vec<String>,
    notice: Option<String>,
}

#[derive(Deserialize, Clone, Default)]
pub struct EmailForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    logo_url: String,
    #[serde(default)]
    accent_color: String,
    #[serde(default)]
    reset: Option<String>,
}

impl EmailForm {
    fn branding(&self) -> Branding {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        Branding { logo_url: some(&self.logo_url), accent_color: some(&self.accent_color) }
    }

    /// Every problem with the form, each naming its field.
    async fn problems(&self) -> Vec<String> {
        let (subject, body) = (self.subject.clone(), self.body.clone());
        let mut problems: Vec<String> = templates::off_thread(move || templates::check(&subject, &body))
            .await
            .into_iter()
            .map(|(field, e)| capitalise(&format!("{field}: {e}")))
            .collect();
        let branding = self.branding();
        if branding.logo_url.as_deref().is_some_and(|u| !templates::valid_logo_url(u)) {
            problems.push("Logo URL: it must be an https:// (or http://) address of an image.".into());
        }
        if branding.accent_color.as_deref().is_some_and(|c| !templates::valid_color(c)) {
            problems.push("Accent colour: use a hex colour such as #2855c8.".into());
        }
        problems
    }

    /// The template filled in with sample values, off the request threads.
    async fn sample(&self, company: &str) -> Result<templates::Rendered, String> {
        let (subject, body, branding) = (self.subject.clone(), self.body.clone(), self.branding());
        let sample = InviteContext::sample(company);
        templates::off_thread(move || templates::invite(&subject, &body, &sample, &branding)).await
    }
}

async fn current(state: &AppState, user: &CurrentUser) -> sqlx::Result<EmailForm> {
    let row = sqlx::query!(
        "SELECT subject, body, logo_url, accent_color FROM email_templates WHERE org_id = $1",
        user.org_id
    )
    .fetch_optional(&state.db)
    .await?;
    Ok(match row {
        Some(r) => EmailForm {
            subject: r.subject,
            body: r.body,
            logo_url: r.logo_url.unwrap_or_default(),
            accent_color: r.accent_color.unwrap_or_default(),
            reset: None,
        },
        None => EmailForm {
            subject: templates::DEFAULT_SUBJECT.into(),
            body: templates::DEFAULT_BODY.into(),
            ..Default::default()
        },
    })
}

async fn show(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    form: EmailForm,
    status: StatusCode,
    errors: Vec<String>,
    notice: Option<String>,
) -> AppResult<Response> {
    let (preview_subject, preview_text) = match form.sample(&user.org_name).await {
        Ok(r) => (r.subject, r.text),
        Err(_) => (String::new(), String::new()),
    };
    let chrome = Chrome::new(state, Some(user), csrf, "email").await?;
    let placeholders = PLACEHOLDERS.iter().map(|p| format!("{{{{{p}}}}}")).collect();
    let page = EmailPage { chrome, form, preview_subject, preview_text, placeholders, errors, notice };
    Ok((status, render(&page)?).into_response())
}

pub async fn page(State(state): State<AppState>, AdminUser(user): AdminUser, csrf: CsrfToken) -> AppResult<Response> {
    let form = current(&state, &user).await?;
    show(&state, &user, &csrf, form, StatusCode::OK, Vec::new(), None).await
}

pub async fn save(
    State(state): State<AppState>,
    AdminUser(user): AdminUser,
    csrf: CsrfToken,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> AppResult<Response> {
    if form.reset.is_some() {
        sqlx::query!("DELETE FROM email_templates WHERE org_id = $1", user.org_id).execute(&state.db).await?;
        let form = current(&state, &user).await?;
        let notice = Some("Back to the default template.".into());
        return show(&state, &user, &csrf, form, StatusCode::OK, Vec::new(), notice).await;
    }
    let mut form = form;
    form.subject = form.subject.trim().to_string();
    form.body = templates::normalize_newlines(&form.body);
    let problems = form.problems().await;
    if !problems.is_empty() {
        return show(&state, &user, &csrf, form, StatusCode::UNPROCESSABLE_ENTITY, problems, None).await;
    }
    let branding = form.branding();
    sqlx::query!(
        "INSERT INTO email_templates (org_id, subject, body, logo_url, accent_color) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (org_id) DO UPDATE SET subject = $2, body = $3, logo_url = $4, accent_color = $5",
        user.org_id,
        form.subject,
        form.body,
        branding.logo_url,
        branding.accent_color,
    )
    .execute(&state.db)
    .await?;
    let form = current(&state, &user).await?;
    let notice = Some("Saved. New invitations use this template.".into());
    show(&state, &user, &csrf, form, StatusCode::OK, Vec::new(), notice).await
}

/// The HTML version of the (unsaved) template with sample values, as its own document.
pub async fn preview(AdminUser(user): AdminUser, CsrfForm(form): CsrfForm<EmailForm>) -> AppResult<Response> {
    let html = match form.sample(&user.org_name).await {
        Ok(r) => r.html,
        Err(e) => format!("<p>This template does not render: {}</p>", e.replace('<', "&lt;")),
    };
    let mut response = Html(html).into_response();
    // Email HTML carries inline styles; nothing else is allowed to run here.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'"),
    );
    Ok(response)
}
