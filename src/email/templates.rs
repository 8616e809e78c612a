//! The invite email, from each organization's editable template, and Fulcrum's own
//! notices. Templates are rendered by minijinja with unknown placeholders refused; the
//! HTML part is built from the rendered text with everything escaped, so neither a
//! template nor a candidate's name can inject markup.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

pub const DEFAULT_SUBJECT: &str = "{{company_name}}: your {{assessment_name}} assessment";
pub const DEFAULT_BODY: &str = "Hello {{candidate_name}},

Thank you for your interest in {{company_name}}. The next step is the {{assessment_name}} assessment.

It takes at most {{time_limit}}. Your link is valid until {{deadline}}:

{{link}}

Good luck!
{{company_name}}";

pub const PLACEHOLDERS: &[&str] =
    &["candidate_name", "assessment_name", "company_name", "link", "deadline", "time_limit"];

/// What the placeholders stand for.
#[derive(Clone, Debug, Serialize)]
pub struct InviteContext {
    pub candidate_name: String,
    pub assessment_name: String,
    pub company_name: String,
    pub link: String,
    pub deadline: String,
    pub time_limit: String,
}

impl InviteContext {
    /// Made-up values for previews and for checking a template before it is saved.
    pub fn sample(company: &str) -> Self {
        Self {
            candidate_name: "Ada Lovelace".into(),
            assessment_name: "Backend Engineer".into(),
            company_name: company.into(),
            link: "https://fulcrum.example/a/sample-link".into(),
            deadline: "1 December 2026, 17:00 UTC".into(),
            time_limit: "60 minutes".into(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Branding {
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

fn render(template: &str, context: &InviteContext) -> Result<String, String> {
    environment().render_str(template, context).map_err(|e| {
        let detail = e.detail().map(|d| format!(" ({d})")).unwrap_or_default();
        format!("{}{detail}. The placeholders are {}.", e.kind(), placeholder_list())
    })
}

fn placeholder_list() -> String {
    PLACEHOLDERS.iter().map(|p| format!("{{{{{p}}}}}")).collect::<Vec<_>>().join(", ")
}

/// Checks a template before it is saved: it must render with every placeholder known.
pub fn check(subject: &str, body: &str) -> Result<(), (&'static str, String)> {
    let sample = InviteContext::sample("Acme");
    if subject.trim().is_empty() || subject.chars().count() > 200 {
        return Err(("subject", "the subject must be 1 to 200 characters".into()));
    }
    if body.trim().is_empty() || body.chars().count() > 20_000 {
        return Err(("body", "the body must be 1 to 20,000 characters".into()));
    }
    render(subject, &sample).map_err(|e| ("subject", e))?;
    let text = render(body, &sample).map_err(|e| ("body", e))?;
    if !text.contains(&sample.link) {
        return Err(("body", "the body must include {{link}}: it is how the candidate starts".into()));
    }
    Ok(())
}

pub fn invite(subject: &str, body: &str, context: &InviteContext, branding: &Branding) -> Result<Rendered, String> {
    let subject = render(subject, context)?.replace(['\r', '\n'], " ").trim().to_string();
    let text = render(body, context)?;
    let html = html_from_text(&text, Some(&context.link), branding);
    Ok(Rendered { subject, text, html })
}

/// A notice of Fulcrum's own (reminder, result, connection trouble): plain text with an
/// optional link, in the same frame.
pub fn notice(subject: &str, text: &str, link: Option<&str>, branding: &Branding) -> Rendered {
    let mut full = text.trim_end().to_string();
    if let Some(link) = link {
        full.push_str("\n\n");
        full.push_str(link);
    }
    let html = html_from_text(&full, link, branding);
    Rendered { subject: subject.to_string(), text: full, html }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// An accent colour is `#rgb` or `#rrggbb`; anything else falls back to Fulcrum's blue.
pub fn valid_color(color: &str) -> bool {
    let hex = color.strip_prefix('#').unwrap_or("");
    matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit())
}

pub fn valid_logo_url(url: &str) -> bool {
    is_http_url(url, 500)
}

/// An absolute http(s) URL of at most `max_len` bytes.
pub fn is_http_url(url: &str, max_len: usize) -> bool {
    url.len() <= max_len && reqwest::Url::parse(url).is_ok_and(|u| u.scheme() == "https" || u.scheme() == "http")
}

fn html_from_text(text: &str, link: Option<&str>, branding: &Branding) -> String {
    let accent = branding.accent_color.as_deref().filter(|c| valid_color(c)).unwrap_or("#2855c8");
    let mut html = String::from(
        "<!doctype html><html><body style=\"margin:0;padding:24px;background:#f7f8fa;\
         font-family:Arial,Helvetica,sans-serif;color:#1d2330;line-height:1.5\">\
         <div style=\"max-width:560px;margin:0 auto;background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:24px\">",
    );
    if let Some(logo) = branding.logo_url.as_deref().filter(|u| valid_logo_url(u)) {
        html.push_str(&format!("<p><img src=\"{}\" alt=\"\" style=\"max-height:48px\"></p>", escape(logo)));
    }
    for paragraph in text.split("\n\n") {
        let trimmed = paragraph.trim();
        if trimmed.is_empty() {
            continue;
        }
        if link.is_some_and(|l| trimmed == l) {
            let href = escape(trimmed);
            html.push_str(&format!(
                "<p><a href=\"{href}\" style=\"display:inline-block;background:{accent};color:#fff;padding:10px 18px;\
                 border-radius:6px;text-decoration:none;font-weight:bold\">Open the assessment</a></p>\
                 <p style=\"font-size:13px;color:#5d6575\">Or paste this link into your browser: {href}</p>"
            ));
        } else {
            let lines: Vec<String> = trimmed.lines().map(escape).collect();
            html.push_str(&format!("<p>{}</p>", lines.join("<br>")));
        }
    }
    html.push_str("</div></body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_template_renders_every_placeholder() {
        let ctx = InviteContext::sample("Acme");
        let r = invite(DEFAULT_SUBJECT, DEFAULT_BODY, &ctx, &Branding::default()).unwrap();
        assert_eq!(r.subject, "Acme: your Backend Engineer assessment");
        for value in [&ctx.candidate_name, &ctx.link, &ctx.deadline, &ctx.time_limit] {
            assert!(r.text.contains(value.as_str()), "{value}");
        }
        assert!(r.html.contains("href=\"https://fulcrum.example/a/sample-link\""));
        assert!(check(DEFAULT_SUBJECT, DEFAULT_BODY).is_ok());
    }

    #[test]
    fn values_and_templates_cannot_inject_markup() {
        let mut ctx = InviteContext::sample("Acme");
        ctx.candidate_name = "<script>alert(1)</script>".into();
        let r = invite("Hi", "<b>Hello</b> {{candidate_name}}\n\n{{link}}", &ctx, &Branding::default()).unwrap();
        assert!(!r.html.contains("<script>") && !r.html.contains("<b>"));
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(r.text.contains("<script>"), "the text part is plain text");
    }

    #[test]
    fn unknown_placeholders_and_missing_links_are_refused() {
        assert_eq!(check("Hi {{name}}", DEFAULT_BODY).unwrap_err().0, "subject");
        assert!(check("Hi", "{{candidate_nme}} {{link}}").unwrap_err().1.contains("{{candidate_name}}"));
        assert!(check("Hi", "No link here").unwrap_err().1.contains("{{link}}"));
        assert!(check("Hi", "{% for x in %}").is_err());
    }

    #[test]
    fn subjects_stay_on_one_line() {
        let mut ctx = InviteContext::sample("Acme");
        ctx.company_name = "Evil\r\nBcc: x@y.z".into();
        let r = invite("{{company_name}}", "{{link}}", &ctx, &Branding::default()).unwrap();
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
    }

    #[test]
    fn branding_is_checked() {
        assert!(valid_color("#fff") && valid_color("#12ab9F"));
        assert!(!valid_color("red") && !valid_color("#12345") && !valid_color("#zzz"));
        assert!(valid_logo_url("https://acme.test/logo.png"));
        assert!(!valid_logo_url("javascript:alert(1)"));
    }
}
