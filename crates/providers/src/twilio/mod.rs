//! Twilio: webhook signatures ([`signature`]), webhook parsing ([`webhook`]) and the REST
//! client ([`client`]) that sends and reconciles messages.

pub mod client;
pub mod signature;
pub mod webhook;

pub use client::{TwilioClient, TwilioConfig, TwilioConfigError};
pub use signature::SignatureError;
pub use webhook::WebhookError;
