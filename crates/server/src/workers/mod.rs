//! Background work, each a loop that stops when the shutdown signal flips:
//! - [`dispatcher`]: hands queued messages to providers, within each sender's rate limit;
//! - [`gauges`]: refreshes metrics read from the database (queue depth);
//! - [`snooze`]: the scheduler (one instance at a time): reopens snoozed conversations;
//! - [`event_relay`]: live events to and from other instances on the same PostgreSQL;
//! - [`chart_sync`]: conversations saved to the chart (FHIR endpoint), when `[chart]` is set.

pub mod chart_sync;
pub mod dispatcher;
pub mod event_relay;
pub mod gauges;
pub mod snooze;

/// `true` once the server is shutting down.
pub type Shutdown = tokio::sync::watch::Receiver<bool>;
