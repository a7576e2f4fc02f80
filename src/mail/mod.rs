//! Outgoing mail: each message is a tera template triple (subject, text body, HTML body)
//! sent as multipart/alternative through one of three transports: SMTP in production,
//! `.eml` files in an outbox folder in development, and memory in tests.
//!
//! This module renders and sends; it does not decide who gets mail or when.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::stub::AsyncStubTransport;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;

use crate::templates::Templates;

/// Where mail goes.
#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
    Memory(AsyncStubTransport),
}

/// Renders and sends Satchel's mails.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    templates: Arc<Templates>,
}

/// A sent message as a test sees it: envelope recipient and the raw RFC 5322 text.
#[derive(Debug, Clone)]
pub struct CapturedMail {
    pub to: Vec<String>,
    pub raw: String,
}

impl Mailer {
    /// An SMTP mailer for `smtp://` or `smtps://` URLs (credentials may be in the URL).
    pub fn smtp(url: &str, from: &str, templates: Arc<Templates>) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SMTP_URL could not be used")?
            .build();
        Mailer::new(Transport::Smtp(transport), from, templates)
    }

    /// A development mailer that writes each message as an `.eml` file under `dir`.
    pub fn outbox(dir: PathBuf, from: &str, templates: Arc<Templates>) -> anyhow::Result<Mailer> {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create the outbox {}", dir.display()))?;
        let transport = AsyncFileTransport::<Tokio1Executor>::new(&dir);
        Mailer::new(Transport::Outbox(transport, dir), from, templates)
    }

    /// A mailer that keeps every message in memory, for tests.
    pub fn memory(from: &str, templates: Arc<Templates>) -> anyhow::Result<Mailer> {
        Mailer::new(
            Transport::Memory(AsyncStubTransport::new_ok()),
            from,
            templates,
        )
    }

    fn new(transport: Transport, from: &str, templates: Arc<Templates>) -> anyhow::Result<Mailer> {
        let from = from
            .parse()
            .context("the sender address is not a mailbox")?;
        Ok(Mailer {
            transport,
            from,
            templates,
        })
    }

    /// Renders `mail/<template>.{subject.txt,txt,html}` with `context` and sends it to `to`.
    pub async fn send(
        &self,
        to: &str,
        template: &str,
        context: &impl Serialize,
    ) -> anyhow::Result<()> {
        let message = self.render(to, template, context)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .context("the SMTP server refused the mail")?;
                tracing::info!(mail.template = template, "mail sent over SMTP");
            }
            Transport::Outbox(files, dir) => {
                let id = files
                    .send(message)
                    .await
                    .context("could not write to the outbox")?;
                let path = dir.join(format!("{id}.eml"));
                tracing::info!(mail.template = template, mail.path = %path.display(),
                    "mail written to the outbox");
            }
            Transport::Memory(stub) => {
                stub.send(message)
                    .await
                    .context("the memory mailer failed")?;
            }
        }
        Ok(())
    }

    fn render(
        &self,
        to: &str,
        template: &str,
        context: &impl Serialize,
    ) -> anyhow::Result<Message> {
        let context = tera::Context::from_serialize(context).context("bad mail context")?;
        let part = |suffix: &str| {
            self.templates
                .render(&format!("mail/{template}.{suffix}"), &context)
                .with_context(|| format!("could not render mail/{template}.{suffix}"))
        };
        let subject = part("subject.txt")?;
        let to: Mailbox = to.parse().context("the recipient is not a mailbox")?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject.trim())
            .multipart(MultiPart::alternative_plain_html(
                part("txt")?,
                part("html")?,
            ))
            .context("could not build the mail")
    }

    /// Every message the memory transport has taken, oldest first (empty otherwise).
    pub async fn captured(&self) -> Vec<CapturedMail> {
        let Transport::Memory(stub) = &self.transport else {
            return Vec::new();
        };
        let to_strings = |env: &lettre::address::Envelope| {
            env.to().iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        stub.messages()
            .await
            .into_iter()
            .map(|(envelope, raw)| CapturedMail {
                to: to_strings(&envelope),
                raw,
            })
            .collect()
    }
}
