//! Background work, each a loop that stops when the shutdown signal flips:
//! - [`dispatcher`]: hands queued messages to providers, within each sender's rate limit;
//! - [`gauges`]: refreshes metrics read from the database (queue depth);
//! - [`snooze`]: reopens snoozed conversations when their time comes.

pub mod dispatcher;
pub mod gauges;
pub mod snooze;

/// `true` once the server is shutting down.
pub type Shutdown = tokio::sync::watch::Receiver<bool>;
