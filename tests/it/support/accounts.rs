//! Accounts the way people make them: signing up and following the confirmation link from
//! the SMTP sink, and reading the links in account emails.

use std::time::Duration;

use super::{TestApp, browser::Browser, eventually, org::PASSWORD, smtp::ReceivedMail};

impl TestApp {
    /// The first message to `to` among those after the first `skip`, waiting for it.
    pub async fn mail_to(&self, to: &str, skip: usize) -> ReceivedMail {
        let find = || {
            let messages = self.smtp.messages();
            messages.into_iter().skip(skip).find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
        };
        eventually(&format!("a message to {to}"), Duration::from_secs(15), || async { find().is_some() }).await;
        find().unwrap()
    }

    /// Signs up through `/signup` with [`PASSWORD`] and follows the link in the
    /// confirmation email; returns the browser, signed in as the new admin.
    pub async fn sign_up(&self, organization: &str, email: &str) -> Browser {
        let browser = self.browser();
        let before = self.smtp.messages().len();
        let page = browser
            .post_form("/signup", &[("organization", organization), ("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let link = link_in(&self.mail_to(email, before).await, "/signup/verify/");
        let confirmed = browser.get(&link).await;
        assert_eq!((confirmed.status, confirmed.location.as_deref()), (303, Some("/app")), "{}", confirmed.body);
        browser
    }
}

/// The link to `path` (e.g. `/password/reset/`) in a message's text part.
pub fn link_in(mail: &ReceivedMail, path: &str) -> String {
    let text = mail.text.as_deref().expect("a text part");
    let at = text.find(path).unwrap_or_else(|| panic!("no {path} link in {mail:?}"));
    let from = text[..at].rfind("http").expect("an absolute link");
    text[from..].split_whitespace().next().unwrap().to_string()
}
