//! Outgoing mail: SMTP (`SMTP_URL`) or, when unset, `.eml` files under
//! `{data_dir}/outbox/` for development. Sending happens in jobs, so a failure is retried
//! by the queue and shows in the app.

pub mod templates;

use anyhow::Context;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};

use crate::config::Settings;

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox { transport: AsyncFileTransport<Tokio1Executor>, dir: std::path::PathBuf },
}

/// A message ready to send: both parts already rendered.
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server may take it later (4xx, connection trouble).
    #[error("sending failed for now: {0}")]
    Transient(String),
    /// It will not go (5xx, a malformed address).
    #[error("the message was refused: {0}")]
    Permanent(String),
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let url = settings.email.smtp_url.expose();
        if url.is_empty() {
            let dir = settings.database.data_dir.join("outbox");
            return Ok(Self::Outbox { transport: AsyncFileTransport::new(&dir), dir });
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SMTP_URL is not a valid smtp:// or smtps:// URL")?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        Ok(Self::Smtp(transport))
    }

    pub async fn send(&self, from: &str, email: &Email) -> Result<(), MailError> {
        let from: Mailbox = from.parse().map_err(|e| MailError::Permanent(format!("FULCRUM_EMAIL_FROM: {e}")))?;
        let to: Mailbox =
            email.to.parse().map_err(|e| MailError::Permanent(format!("recipient {:?}: {e}", email.to)))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(&email.subject)
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| MailError::Permanent(e.to_string()))?;
        match self {
            Self::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| {
                if e.is_permanent() { MailError::Permanent(e.to_string()) } else { MailError::Transient(e.to_string()) }
            }),
            Self::Outbox { transport, dir } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| MailError::Transient(format!("{}: {e}", dir.display())))?;
                transport.send(message).await.map(drop).map_err(|e| MailError::Transient(e.to_string()))
            }
        }
    }
}
