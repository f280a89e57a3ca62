//! The Frontdesk server: configuration, the web layer, the background workers, and [`app`],
//! which assembles them over the services. The `frontdesk` binary (crates/cli) is a thin
//! command line over this crate.

pub mod app;
pub mod config;
pub mod keys;
pub mod logging;
pub mod web;
pub mod workers;

pub use app::App;
pub use config::Settings;
