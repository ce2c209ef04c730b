//! Mail: password reset links sent over SMTP (lettre) when `studio.smtp.host` is set. The mail
//! is bilingual (English and Chinese) since the studio does not know which the reader prefers.

use gala_pipeline::config::{SmtpConfig, SmtpSecurity};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The mailer of `cfg`, or None when no mail server is configured.
    pub fn from_config(cfg: &SmtpConfig) -> anyhow::Result<Option<Mailer>> {
        if !cfg.is_configured() {
            return Ok(None);
        }
        let builder = match cfg.security {
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)?,
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
            }
        };
        let mut builder = builder.port(cfg.port);
        if !cfg.username.is_empty() {
            builder =
                builder.credentials(Credentials::new(cfg.username.clone(), cfg.password.clone()));
        }
        let from = cfg.from.parse().map_err(|e| {
            anyhow::anyhow!("studio.smtp.from {:?} is not a mail address: {e}", cfg.from)
        })?;
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
        }))
    }

    /// Sends the reset `link` to `to`.
    pub async fn send_reset_link(
        &self,
        to: &str,
        name: &str,
        link: &str,
        ttl_min: u64,
    ) -> anyhow::Result<()> {
        let body = format!(
            "Hello {name},\n\nTo choose a new password for Gala Studio, open this link within {ttl_min} minutes:\n\n{link}\n\n\
             If you did not ask for this, ignore this mail: your password stays as it is.\n\n\
             ——\n\n{name}，你好：\n\n请在 {ttl_min} 分钟内打开以下链接，为 Gala 工作室设置新密码：\n\n{link}\n\n\
             如果这不是你本人的请求，请忽略本邮件，你的密码不会改变。\n"
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(Some(name.to_string()), to.parse()?))
            .subject("Gala Studio: reset your password / 重设密码")
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        self.transport.send(message).await?;
        Ok(())
    }
}
