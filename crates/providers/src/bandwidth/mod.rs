//! Bandwidth Messaging v2: callback authentication and parsing ([`webhook`]; JSON arrays
//! behind HTTP Basic credentials, no signature scheme) and the REST client ([`client`]).

pub mod client;
pub mod webhook;

pub use client::{BandwidthClient, BandwidthConfig, BandwidthConfigError};
pub use webhook::{BandwidthEvent, CallbackCredentials};
