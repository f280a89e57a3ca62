//! Live events across instances: each event published here goes to the other instances
//! through the store's broadcast (PostgreSQL `NOTIFY`), and theirs are published here, so a
//! dashboard connected to instance B sees a text that instance A received. On SQLite (one
//! process) the store has no listener and this worker does nothing.

use frontdesk_services::Services;
use frontdesk_services::events::RelayedEvent;
use tokio::sync::mpsc;

use super::Shutdown;

/// Starts relaying if the store has other instances to relay to. Returns when shutting down.
pub async fn run(services: Services, mut shutdown: Shutdown) {
    let mut incoming = match services.store.listen().await {
        Ok(Some(rx)) => rx,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "could not listen for other instances' events; live views will only show this instance's");
            return;
        }
    };
    let (outgoing_tx, mut outgoing) = mpsc::unbounded_channel::<RelayedEvent>();
    services.events.relay_to(outgoing_tx);
    loop {
        tokio::select! {
            Some(event) = outgoing.recv() => {
                match serde_json::to_string(&event) {
                    Ok(payload) => {
                        if let Err(e) = services.store.broadcast(&payload).await {
                            tracing::warn!(error = %e, "could not relay an event to the other instances");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not encode an event"),
                }
            }
            payload = incoming.recv() => match payload {
                Some(payload) => match serde_json::from_str::<RelayedEvent>(&payload) {
                    Ok(relayed) => services.events.publish_relayed(relayed),
                    Err(e) => tracing::warn!(error = %e, "ignored an event from another instance that could not be read"),
                },
                None => return,
            },
            _ = shutdown.changed() => return,
        }
    }
}
