//! E-mail through the SMTP server of `[smtp]` (lettre, with rustls): the [`Mailer`], the
//! messages in French and English ([`messages`]), and the daily digest ([`digest`]).
//!
//! Without `[smtp]` the mailer is off: nothing is sent, and the forms that need e-mail say
//! so. A message that cannot be sent is logged and reported to the person who asked for it;
//! it never fails a request for long (each sending is bounded by `smtp.timeout_seconds`).

pub mod digest;
pub mod messages;

use lettre::message::Mailbox;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Config, ConfigError, SmtpSecurity};
use crate::store::{Invited, LinkPurpose, Store};
use crate::web::pages::Lang;

/// The instance's name, as its pages show it.
pub async fn site_name(store: &Store) -> String {
    match store.instance_settings().await {
        Ok(Some(settings)) => settings.name,
        Ok(None) => "Maillage".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "instance settings unreadable");
            "Maillage".to_owned()
        }
    }
}

/// Tells an invited person: a link to choose their password when they have none yet (a
/// new link each time), otherwise that they may now edit `pole`.
pub async fn send_invitation(
    store: &Store,
    mailer: &Mailer,
    invited: &Invited,
    pole: &str,
    langs: &[Lang],
) -> Result<(), MailError> {
    if !mailer.enabled() {
        return Err(MailError::NotConfigured);
    }
    let Some(email) = invited.user.email.as_deref() else {
        return Err(MailError::Address(String::new()));
    };
    let name = site_name(store).await;
    let url = store.url("/");
    let site = messages::Site {
        name: &name,
        url: &url,
    };
    let mail = if invited.needs_password {
        let token = crate::web::pages::session::random_token();
        store
            .create_link(
                invited.user.id,
                LinkPurpose::Invite,
                &crate::auth::hash_token(&token),
            )
            .await?;
        let link = store.url(&format!("/admin/login/invite?token={token}"));
        messages::invite(langs, &site, pole, &invited.user.username, &link)
    } else {
        let link = store.url("/admin/login");
        messages::granted(langs, &site, pole, &invited.user.username, &link)
    };
    mailer.send(email, &mail).await
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("e-mail is not configured on this instance (no [smtp] section)")]
    NotConfigured,
    #[error("`{0}` is not an e-mail address")]
    Address(String),
    #[error("cannot write the message: {0}")]
    Build(String),
    #[error("the SMTP server refused or failed: {0}")]
    Send(String),
    #[error("the SMTP server did not answer within {0} seconds")]
    Timeout(u64),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A message to send: its subject, its plain text, and for a digest the link that stops it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub body: String,
    pub unsubscribe: Option<String>,
}

/// `List-Unsubscribe` (RFC 2369): the link that stops the digest.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(
            s.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .into(),
        ))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post` (RFC 8058): the link stops the digest in one click, by a POST.
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

struct Transport {
    smtp: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout_seconds: u64,
    /// The domain of the instance, for `Message-ID`s.
    domain: String,
}

/// Sends e-mail, or nothing when `[smtp]` is absent.
pub struct Mailer {
    transport: Option<Transport>,
}

impl Mailer {
    /// The mailer of `config`: off without `[smtp]`.
    pub fn new(config: &Config) -> Result<Mailer, MailError> {
        let Some(smtp) = &config.smtp else {
            return Ok(Mailer { transport: None });
        };
        let domain = config
            .public_url()?
            .host_str()
            .unwrap_or("localhost")
            .to_owned();
        let host = smtp.host.trim().to_owned();
        let tls = |host: &str| {
            TlsParameters::new_rustls(host.to_owned()).map_err(|e| MailError::Send(e.to_string()))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
            .port(smtp.port())
            .timeout(Some(smtp.timeout()))
            .hello_name(ClientId::Domain(domain.clone()));
        builder = match smtp.security {
            SmtpSecurity::Starttls => builder.tls(Tls::Required(tls(&host)?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls(&host)?)),
            SmtpSecurity::None => builder.tls(Tls::None),
        };
        if let (Some(username), Some(password)) = (&smtp.username, smtp.password()?) {
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        let from = smtp
            .from
            .trim()
            .parse::<Mailbox>()
            .map_err(|_| MailError::Address(smtp.from.clone()))?;
        Ok(Mailer {
            transport: Some(Transport {
                smtp: builder.build(),
                from,
                timeout_seconds: smtp.timeout_seconds,
                domain,
            }),
        })
    }

    /// Whether e-mail is configured.
    pub fn enabled(&self) -> bool {
        self.transport.is_some()
    }

    /// Sends `mail` to `to`, within the configured timeout.
    pub async fn send(&self, to: &str, mail: &Mail) -> Result<(), MailError> {
        let Some(t) = &self.transport else {
            return Err(MailError::NotConfigured);
        };
        let to_box = to
            .trim()
            .parse::<Mailbox>()
            .map_err(|_| MailError::Address(to.to_owned()))?;
        let mut builder = Message::builder()
            .from(t.from.clone())
            .to(to_box)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}@{}>", uuid::Uuid::now_v7(), t.domain)))
            .header(ContentType::TEXT_PLAIN);
        if let Some(link) = &mail.unsubscribe {
            builder = builder
                .header(ListUnsubscribe(link.clone()))
                .header(ListUnsubscribePost);
        }
        let message = builder
            .body(mail.body.clone())
            .map_err(|e| MailError::Build(e.to_string()))?;
        let limit = std::time::Duration::from_secs(t.timeout_seconds);
        match tokio::time::timeout(limit, t.smtp.send(message)).await {
            Ok(Ok(_)) => {
                tracing::info!(to = %to, subject = %mail.subject, "e-mail sent");
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::warn!(to = %to, error = %e, "e-mail not sent");
                Err(MailError::Send(e.to_string()))
            }
            Err(_) => {
                tracing::warn!(to = %to, "e-mail not sent: the SMTP server did not answer in time");
                Err(MailError::Timeout(t.timeout_seconds))
            }
        }
    }
}
