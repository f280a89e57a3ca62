//! Telnyx Messaging v2: webhook signatures ([`signature`], Ed25519 over `timestamp|body`),
//! webhook parsing ([`webhook`]) and the REST client ([`client`]) that sends messages.

pub mod client;
pub mod signature;
pub mod webhook;

pub use client::{TelnyxClient, TelnyxConfig, TelnyxConfigError};
pub use signature::{PublicKey, SignatureError};
pub use webhook::TelnyxEvent;
