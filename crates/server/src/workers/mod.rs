//! Background work, each a loop that stops when the shutdown signal flips:
//! - [`dispatcher`]: hands queued messages to providers, within each sender's rate limit;
//! - [`gauges`]: refreshes metrics read from the database (queue depth).

pub mod dispatcher;
pub mod gauges;

/// `true` once the server is shutting down.
pub type Shutdown = tokio::sync::watch::Receiver<bool>;
