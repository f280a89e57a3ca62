//! Reopens snoozed conversations when their time comes, so they return to the inbox.

use std::time::Duration;

use frontdesk_services::Services;

use super::Shutdown;

pub async fn run(services: Services, mut shutdown: Shutdown) {
    loop {
        if let Err(e) = services.wake_snoozed().await {
            tracing::warn!(error = %e, "could not reopen snoozed conversations");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(20)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
