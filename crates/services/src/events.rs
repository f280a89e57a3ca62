//! Live events for dashboards and API subscribers. Events carry ids and kinds, never patient
//! data: a subscriber fetches what it is allowed to see.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    MessageReceived,
    MessageQueued,
    MessageStatus,
    ConsentChanged,
    /// A free-text message that might revoke consent; a person should read it.
    ConsentReview,
    /// Assignment, department, status or patient link changed.
    ConversationUpdated,
    NoteAdded,
    /// A patient submitted a secure form in the conversation.
    FormSubmitted,
    /// A patient's text matched an urgent phrase: on-call staff are alerted in the app.
    UrgentMessage,
    /// A conversation waited longer than its department's response-time target: its lead
    /// is alerted.
    OverdueEscalation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub conversation_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
}

/// An event as it travels between instances: who published it, so an instance ignores its
/// own events coming back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayedEvent {
    pub origin: Uuid,
    #[serde(flatten)]
    pub event: Event,
}

/// In-process fan-out. A slow subscriber loses old events (and is told so by the channel)
/// rather than slowing down the publisher. With several instances on one PostgreSQL, a
/// relay (`server::workers::event_relay`) also forwards each event to the other instances
/// and publishes theirs here, so a dashboard on instance B sees a text received by A.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
    origin: Uuid,
    relay: Arc<OnceLock<mpsc::UnboundedSender<RelayedEvent>>>,
}

impl EventBus {
    pub fn new() -> EventBus {
        let (sender, _) = broadcast::channel(4096);
        EventBus { sender, origin: Uuid::now_v7(), relay: Arc::new(OnceLock::new()) }
    }

    /// This instance's id on the relay.
    pub fn origin(&self) -> Uuid {
        self.origin
    }

    /// Events published from now on are also handed to `relay` for the other instances.
    /// Set once, at start-up.
    pub fn relay_to(&self, relay: mpsc::UnboundedSender<RelayedEvent>) {
        let _ = self.relay.set(relay);
    }

    pub fn publish(&self, event: Event) {
        if let Some(relay) = self.relay.get() {
            let _ = relay.send(RelayedEvent { origin: self.origin, event: event.clone() });
        }
        // No subscribers is normal; nothing to do then.
        let _ = self.sender.send(event);
    }

    /// Publishes here an event that another instance relayed (never relayed again).
    pub fn publish_relayed(&self, relayed: RelayedEvent) {
        if relayed.origin != self.origin {
            let _ = self.sender.send(relayed.event);
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}
