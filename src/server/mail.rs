//! Sending e-mail with lettre: over SMTP when `DRIPFEED_SMTP_URL` is set,
//! otherwise into `<data_dir>/outbox/` as `.eml` files (logged), so a
//! self-hosted instance without a mail server loses nothing.

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::PathBuf;

/// Sends e-mail and counts what was sent and what failed (for the health
/// page and the alerts).
pub struct Mailer {
    pub transport: MailTransport,
    stats: std::sync::Arc<crate::server::ops::stats::OpsStats>,
}

pub enum MailTransport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Outbox {
        dir: PathBuf,
        transport: AsyncFileTransport<Tokio1Executor>,
        from: Mailbox,
    },
}

impl Mailer {
    pub fn from_settings(
        settings: &crate::server::config::Settings,
        stats: std::sync::Arc<crate::server::ops::stats::OpsStats>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            transport: MailTransport::from_settings(settings)?,
            stats,
        })
    }
}

impl MailTransport {
    fn from_settings(settings: &crate::server::config::Settings) -> anyhow::Result<Self> {
        let from: Mailbox = settings.mail_from.parse().with_context(|| {
            format!(
                "DRIPFEED_MAIL_FROM is not an address: {}",
                settings.mail_from
            )
        })?;
        match &settings.smtp_url {
            Some(url) => Ok(MailTransport::Smtp {
                // The URL may carry a password: never in an error message.
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|_| {
                        anyhow::anyhow!("DRIPFEED_SMTP_URL is not a valid smtp:// or smtps:// URL")
                    })?
                    .build(),
                from,
            }),
            None => {
                let dir = settings.data_dir.join("outbox");
                Ok(MailTransport::Outbox {
                    transport: AsyncFileTransport::<Tokio1Executor>::new(&dir),
                    dir,
                    from,
                })
            }
        }
    }
}

impl Mailer {
    /// Sends a plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> anyhow::Result<()> {
        let message = self
            .builder(to, subject)?
            .body(body.to_owned())
            .context("building the e-mail")?;
        self.deliver(message).await
    }

    /// Sends a message with a plain-text part and an HTML part saying the same.
    pub async fn send_with_html(
        &self,
        to: &str,
        subject: &str,
        text: &str,
        html: &str,
    ) -> anyhow::Result<()> {
        let message = self
            .builder(to, subject)?
            .multipart(MultiPart::alternative_plain_html(
                text.to_owned(),
                html.to_owned(),
            ))
            .context("building the e-mail")?;
        self.deliver(message).await
    }

    fn builder(&self, to: &str, subject: &str) -> anyhow::Result<lettre::message::MessageBuilder> {
        let to: Mailbox = to
            .parse()
            .with_context(|| format!("not an e-mail address: {to}"))?;
        let from = match &self.transport {
            MailTransport::Smtp { from, .. } | MailTransport::Outbox { from, .. } => from.clone(),
        };
        Ok(Message::builder().from(from).to(to).subject(subject))
    }

    async fn deliver(&self, message: Message) -> anyhow::Result<()> {
        let sent = self.deliver_once(message).await;
        self.stats.mail(chrono::Utc::now(), sent.is_ok());
        sent
    }

    async fn deliver_once(&self, message: Message) -> anyhow::Result<()> {
        match &self.transport {
            MailTransport::Smtp { transport, .. } => {
                transport
                    .send(message)
                    .await
                    .context("sending the e-mail over SMTP")?;
            }
            MailTransport::Outbox { transport, dir, .. } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .with_context(|| format!("creating {}", dir.display()))?;
                let id = transport
                    .send(message)
                    .await
                    .context("writing the e-mail to the outbox")?;
                tracing::info!(outbox = %dir.display(), id = %id, "no SMTP configured: e-mail written to the outbox");
            }
        }
        Ok(())
    }
}
