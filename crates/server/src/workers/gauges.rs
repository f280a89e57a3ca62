//! Metrics that are read from the database rather than counted as things happen.

use std::time::Duration;

use frontdesk_services::Services;

use super::Shutdown;

pub async fn run(services: Services, mut shutdown: Shutdown) {
    loop {
        match services.store.outbox_depth().await {
            Ok(depth) => metrics::gauge!("frontdesk_outbox_depth").set(depth as f64),
            Err(e) => tracing::debug!(error = %e, "could not read the outbox depth"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
