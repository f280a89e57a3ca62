//! Structured logs. Message bodies are never logged and phone numbers only masked
//! (`E164`'s Display and Debug mask them); this module only chooses the format.

use tracing_subscriber::EnvFilter;

pub fn init(format: &str) {
    let filter = EnvFilter::try_from_env("FRONTDESK_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    // A second init (tests start several apps in one process) is harmless; ignore it.
    let _ = if format == "json" { builder.json().try_init() } else { builder.try_init() };
}
