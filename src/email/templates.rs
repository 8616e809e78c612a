//! The invite email, from each organization's editable template, and Fulcrum's own
//! notices. Templates are rendered by minijinja with unknown placeholders refused; the
//! HTML part is built from the rendered text with everything escaped, so neither a
//! template nor a candidate's name can inject markup.
//!
//! Anyone can sign up and write a template, so what one may cost is bounded: a template
//! may use the placeholders, `{% if %}`, `{% for %}` and a few text filters, but nothing
//! that builds text or lists (`~`, `+`, `*`, `{% set %}`, macros), which could grow memory
//! without bound in a few lines; rendering runs on at most [`MAX_INSTRUCTIONS`] steps of
//! the engine and stops at [`MAX_OUTPUT_BYTES`]; and it happens off the async threads, at
//! most [`RENDER_SLOTS`] at once ([`off_thread`]). Checking on save, the preview and the
//! invite job all render the same way.

use std::io;

use minijinja::{Environment, ErrorKind, UndefinedBehavior, machinery::Token};
use serde::Serialize;
use tokio::sync::Semaphore;

/// Steps of the template engine one rendering may take: the default template takes about
/// a hundred, a loop over every letter of the link a few thousand.
pub const MAX_INSTRUCTIONS: u64 = 50_000;
/// The longest subject or body a template may produce.
pub const MAX_OUTPUT_BYTES: usize = 100 * 1024;
/// Renderings running at once in this process; more wait their turn.
pub const RENDER_SLOTS: usize = 2;
/// The statements a template may use.
const STATEMENTS: &[&str] = &["if", "elif", "else", "endif", "for", "endfor"];

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
            deadline: format_deadline(chrono::Utc::now() + chrono::Duration::days(7)),
            time_limit: "60 minutes".into(),
        }
    }
}

/// How deadlines read in emails.
pub fn format_deadline(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %B %Y, %H:%M UTC").to_string()
}

/// Browsers send a textarea's lines ending in CR LF; templates are kept with LF alone, so
/// paragraphs (blank lines) and the link on a line of its own are found whoever typed them.
pub fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
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

/// An engine with only what templates may use: no functions (such as `range`), the text
/// filters below, and a bounded number of steps.
fn environment<'source>() -> Environment<'source> {
    use minijinja::{filters, tests};
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(MAX_INSTRUCTIONS));
    env.add_filter("upper", filters::upper);
    env.add_filter("lower", filters::lower);
    env.add_filter("title", filters::title);
    env.add_filter("capitalize", filters::capitalize);
    env.add_filter("trim", filters::trim);
    env.add_filter("default", filters::default);
    env.add_test("defined", tests::is_defined);
    env.add_test("undefined", tests::is_undefined);
    env
}

/// Runs `work` (rendering organizations' templates) on a blocking thread, at most
/// [`RENDER_SLOTS`] at once, so a costly template never holds up the threads that answer
/// requests.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    static SLOTS: Semaphore = Semaphore::const_new(RENDER_SLOTS);
    let _slot = SLOTS.acquire().await.expect("the rendering slots are never closed");
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Refuses what a template may not use, before the engine runs it. Syntax errors are left
/// to the engine, which explains them better.
fn check_language(template: &str) -> Result<(), String> {
    let tokens = minijinja::machinery::tokenize(template, false, Default::default(), Default::default());
    let mut statement_starts = false;
    for token in tokens {
        let Ok((token, _)) = token else { return Ok(()) };
        match token {
            Token::Ident(word) if statement_starts && !STATEMENTS.contains(&word) => {
                return Err(format!(
                    "{{% {word} %}} is not available in email templates; use {{% if %}} and {{% for %}}"
                ));
            }
            Token::Ident("recursive") => return Err("recursive loops are not available in email templates".into()),
            Token::Tilde | Token::Plus | Token::Mul | Token::Pow => {
                return Err(format!(
                    "{token} is not available in email templates: they fill in placeholders but do not \
                     build text; write the text out instead"
                ));
            }
            _ => {}
        }
        statement_starts = matches!(token, Token::BlockStart);
    }
    Ok(())
}

/// Collects output up to a limit, then refuses more (which stops the engine).
struct Capped {
    text: Vec<u8>,
    overflowed: bool,
}

impl io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.text.len() + bytes.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("the output limit is reached"));
        }
        self.text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn render(template: &str, context: &InviteContext) -> Result<String, String> {
    check_language(template)?;
    let unreadable = |e: minijinja::Error| {
        let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
        format!("it cannot be read as a template ({}{detail}). The placeholders are {}", e.kind(), placeholder_list())
    };
    let env = environment();
    let compiled = env.template_from_str(template).map_err(unreadable)?;
    let mut out = Capped { text: Vec::new(), overflowed: false };
    match compiled.render_captured_to(context, &mut out) {
        Ok(_) => String::from_utf8(out.text).map_err(|_| "it does not produce valid text".to_string()),
        Err(_) if out.overflowed => {
            Err(format!("it makes an email longer than {} KB; shorten it", MAX_OUTPUT_BYTES / 1024))
        }
        Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(format!(
            "it takes too much work to fill in (more than {MAX_INSTRUCTIONS} steps): loop over fewer things"
        )),
        Err(e) => Err(unreadable(e)),
    }
}

fn placeholder_list() -> String {
    PLACEHOLDERS.iter().map(|p| format!("{{{{{p}}}}}")).collect::<Vec<_>>().join(", ")
}

/// `{{ name }}` placeholders in `template` that are not Fulcrum's, each with the one it
/// was probably meant to be.
fn unknown_placeholders(template: &str) -> Vec<(String, Option<&'static str>)> {
    let mut unknown = Vec::new();
    for piece in template.split("{{").skip(1) {
        let Some((inner, _)) = piece.split_once("}}") else { continue };
        let name = inner.trim();
        let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain || PLACEHOLDERS.contains(&name) || unknown.iter().any(|(n, _)| n == name) {
            continue;
        }
        let near = PLACEHOLDERS.iter().copied().min_by_key(|p| strsim::levenshtein(p, name));
        let near = near.filter(|p| strsim::levenshtein(p, name) <= 3);
        unknown.push((name.to_string(), near));
    }
    unknown
}

/// Checks a template before it is saved: it must render with every placeholder known.
/// Every problem is reported, each with the field it is about.
pub fn check(subject: &str, body: &str) -> Vec<(&'static str, String)> {
    let sample = InviteContext::sample("Acme");
    let mut problems = Vec::new();
    for (field, template, max) in [("subject", subject, 200), ("body", body, 20_000)] {
        if template.trim().is_empty() || template.chars().count() > max {
            problems.push((field, format!("the {field} must be 1 to {max} characters")));
            continue;
        }
        let unknown = unknown_placeholders(template);
        for (name, near) in &unknown {
            let hint = match near {
                Some(p) => format!("did you mean {{{{{p}}}}}?"),
                None => format!("the placeholders are {}", placeholder_list()),
            };
            problems.push((field, format!("{{{{{name}}}}} is not a placeholder; {hint}")));
        }
        if !unknown.is_empty() {
            continue;
        }
        match render(template, &sample) {
            Err(e) => problems.push((field, e)),
            Ok(text) if field == "body" && !text.contains(&sample.link) => {
                problems.push(("body", "the body must include {{link}}: it is how the candidate starts".into()))
            }
            Ok(_) => {}
        }
    }
    problems
}

pub fn invite(subject: &str, body: &str, context: &InviteContext, branding: &Branding) -> Result<Rendered, String> {
    let subject = render(subject, context)?.replace(['\r', '\n'], " ").trim().to_string();
    let text = render(&normalize_newlines(body), context)?;
    let html = html_from_text(&subject, &text, Some((&context.link, "Open the assessment")), branding);
    Ok(Rendered { subject, text, html })
}

/// A notice of Fulcrum's own (reminder, result, connection trouble): plain text with an
/// optional link (its address and the label of its button), in the same frame.
pub fn notice(subject: &str, text: &str, link: Option<(&str, &str)>, branding: &Branding) -> Rendered {
    let mut full = text.trim_end().to_string();
    if let Some((link, _)) = link {
        full.push_str("\n\n");
        full.push_str(link);
    }
    let html = html_from_text(subject, &full, link, branding);
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

fn html_from_text(title: &str, text: &str, link: Option<(&str, &str)>, branding: &Branding) -> String {
    let accent = branding.accent_color.as_deref().filter(|c| valid_color(c)).unwrap_or("#2855c8");
    let text = normalize_newlines(text);
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"margin:0;padding:24px;background:#f7f8fa;\
         font-family:Arial,Helvetica,sans-serif;color:#1d2330;line-height:1.5\">\
         <div style=\"max-width:560px;margin:0 auto;background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:24px\">",
        escape(title)
    );
    if let Some(logo) = branding.logo_url.as_deref().filter(|u| valid_logo_url(u)) {
        html.push_str(&format!("<p><img src=\"{}\" alt=\"\" style=\"max-height:48px\"></p>", escape(logo)));
    }
    for paragraph in text.split("\n\n") {
        let trimmed = paragraph.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some((_, label)) = link.filter(|(l, _)| trimmed == *l) {
            let href = escape(trimmed);
            html.push_str(&format!(
                "<p><a href=\"{href}\" style=\"display:inline-block;background:{accent};color:#fff;padding:10px 18px;\
                 border-radius:6px;text-decoration:none;font-weight:bold\">{label}</a></p>\
                 <p style=\"font-size:13px;color:#5d6575\">Or paste this link into your browser: {href}</p>"
            ));
        } else {
            // The link inside running text is still a link.
            let linked = |line: &str| match link {
                Some((l, _)) => {
                    let href = escape(l);
                    escape(line).replace(&href, &format!("<a href=\"{href}\" style=\"color:{accent}\">{href}</a>"))
                }
                None => escape(line),
            };
            let lines: Vec<String> = trimmed.lines().map(linked).collect();
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
        assert!(r.html.contains("<title>Acme: your Backend Engineer assessment</title>"));
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
        assert_eq!(check("Hi {{name}}", DEFAULT_BODY)[0].0, "subject");
        let problems = check("Hi", "{{candidate_nme}} {{link}}");
        assert!(problems[0].1.starts_with("{{candidate_nme}} is not a placeholder; did you mean {{candidate_name}}?"));
        assert!(check("Hi", "No link here")[0].1.contains("{{link}}"));
        assert!(!check("Hi", "{% for x in %}").is_empty());
        assert!(check(DEFAULT_SUBJECT, DEFAULT_BODY).is_empty());
    }

    #[test]
    fn every_problem_is_reported() {
        let problems = check("{{compnay_name}}", "{{candidate_nmae}} {{lnk}}");
        let fields: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["subject", "body", "body"], "{problems:?}");
    }

    #[test]
    fn lines_typed_in_a_browser_keep_their_paragraphs_and_button() {
        let ctx = InviteContext::sample("Acme");
        let r = invite("Hi", &DEFAULT_BODY.replace('\n', "\r\n"), &ctx, &Branding::default()).unwrap();
        assert!(r.html.contains(">Open the assessment</a>"), "{}", r.html);
        assert!(!r.text.contains('\r'));
    }

    #[test]
    fn a_link_in_running_text_is_a_link() {
        let ctx = InviteContext::sample("Acme");
        let r = invite("Hi", "Start here: {{link}} today.", &ctx, &Branding::default()).unwrap();
        assert!(r.html.contains("<a href=\"https://fulcrum.example/a/sample-link\""), "{}", r.html);
    }

    #[test]
    fn subjects_stay_on_one_line() {
        let mut ctx = InviteContext::sample("Acme");
        ctx.company_name = "Evil\r\nBcc: x@y.z".into();
        let r = invite("{{company_name}}", "{{link}}", &ctx, &Branding::default()).unwrap();
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
    }

    #[test]
    fn costly_templates_are_refused_with_a_reason() {
        let ctx = InviteContext::sample("Acme");
        let body = |t: &str| invite("Hi", t, &ctx, &Branding::default()).err().unwrap_or_default();
        let loops = "{% for a in link %}{% for b in link %}{% for c in link %}x{% endfor %}{% endfor %}{% endfor %}";
        assert!(body(&format!("{loops}{{{{link}}}}")).contains("too much work"));
        let wide =
            format!("{{% for a in link %}}{{% for b in link %}}{}{{% endfor %}}{{% endfor %}}", "{{link}}".repeat(20));
        assert!(body(&wide).contains("longer than 100 KB"), "{}", body(&wide));
        for (template, says) in [
            ("{{ 'x' * 100000000 }}", "`*` is not available"),
            ("{{ link ~ link }}", "`~` is not available"),
            ("{% set a = link %}{{ a }}", "{% set %} is not available"),
            ("{% macro m() %}{% endmacro %}{{link}}", "{% macro %} is not available"),
            ("{% for i in range(3) %}{% endfor %}{{link}}", "unknown function"),
        ] {
            assert!(body(template).contains(says), "{template}: {}", body(template));
        }
        let fine = "{% if candidate_name is defined %}Hi {{ candidate_name|upper }}{% endif %}\n\n{{link}}";
        assert!(invite("Hi", fine, &ctx, &Branding::default()).is_ok());
        assert!(check(DEFAULT_SUBJECT, fine).is_empty());
    }

    #[test]
    fn branding_is_checked() {
        assert!(valid_color("#fff") && valid_color("#12ab9F"));
        assert!(!valid_color("red") && !valid_color("#12345") && !valid_color("#zzz"));
        assert!(valid_logo_url("https://acme.test/logo.png"));
        assert!(!valid_logo_url("javascript:alert(1)"));
    }
}
