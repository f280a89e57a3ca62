//! SMS providers behind [`SmsProvider`], plus each provider's webhook verification and parsing.
//!
//! Outbound: the dispatcher calls [`SmsProvider::send`] and classifies the answer with
//! [`SendError`]. Inbound: web handlers verify and parse webhooks with the provider's module
//! (`twilio::signature`, `twilio::webhook`; `telnyx::signature`, `telnyx::webhook`;
//! `bandwidth::webhook`) into [`InboundSms`] and [`StatusReport`], which
//! the services layer consumes without knowing which provider sent them.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::model::{MediaRef, ProviderKind};
use frontdesk_domain::{E164, MessageStatus};

pub mod bandwidth;
pub mod errors;
mod http;
pub mod simulator;
pub mod telnyx;
pub mod twilio;

/// A text to hand to a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundSms {
    /// Our message id; providers that allow it carry it back in status callbacks.
    pub message_id: Uuid,
    pub from: E164,
    pub to: E164,
    pub body: String,
    pub media_urls: Vec<String>,
    /// Twilio Messaging Service to send through instead of `from`, when configured.
    pub messaging_service_sid: Option<String>,
    /// Where the provider should report delivery statuses.
    pub status_callback: Option<String>,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq)]
pub struct SendAccepted {
    pub provider_message_id: String,
    pub status: MessageStatus,
    pub segments: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// Not processed and safe to try again (network error, timeout before a response, 429, 5xx).
    #[error("temporary provider error {code:?}: {message}")]
    Transient { code: Option<String>, message: String, retry_after: Option<Duration> },
    /// The provider refused the message for good; `message` is a sentence a person understands.
    #[error("provider refused the message ({code}): {message}")]
    Permanent { code: String, message: String },
    /// The recipient has opted out at the provider (Twilio 21610, Telnyx 40300).
    #[error("the recipient has opted out ({code})")]
    OptedOut { code: String, message: String },
    /// The request may or may not have reached the provider (a timeout after sending):
    /// repeating it blindly could send the text twice. Reconcile with [`SmsProvider::lookup`].
    #[error("the provider did not answer; the message may or may not have been sent: {message}")]
    Unknown { message: String },
}

/// The answer to "did this message reach the provider?", used after a crash or a lost response.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(SendAccepted),
    NotFound,
    /// The provider cannot be asked; a person must check.
    Unsupported,
}

#[async_trait]
pub trait SmsProvider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// Hands one message to the provider.
    async fn send(&self, sms: &OutboundSms) -> Result<SendAccepted, SendError>;

    /// Looks for `sms` among the messages the provider accepted since `since`.
    async fn lookup(&self, sms: &OutboundSms, since: DateTime<Utc>) -> Result<Lookup, SendError>;
}

/// A patient's text as any provider delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundSms {
    pub provider: ProviderKind,
    pub provider_message_id: String,
    pub from: E164,
    pub to: E164,
    pub body: String,
    pub media: Vec<MediaRef>,
    /// The provider already handled an opt-out keyword (Twilio Advanced Opt-Out `OptOutType`):
    /// update consent, but send no confirmation of our own.
    pub provider_opt_out: Option<ProviderOptOut>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderOptOut {
    Stop,
    Start,
    Help,
}

/// A delivery status reported by a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub provider: ProviderKind,
    pub provider_message_id: String,
    pub status: MessageStatus,
    pub error_code: Option<String>,
    /// Our message id, when the provider echoed it back (our StatusCallback URL carries it).
    pub message_id: Option<Uuid>,
}
