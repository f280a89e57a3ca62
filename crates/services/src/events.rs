//! Live events for dashboards and API subscribers. Events carry ids and kinds, never patient
//! data: a subscriber fetches what it is allowed to see.

use serde::Serialize;
use tokio::sync::broadcast;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub kind: EventKind,
    pub conversation_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
}

/// In-process fan-out. A slow subscriber loses old events (and is told so by the channel)
/// rather than slowing down the publisher.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl EventBus {
    pub fn new() -> EventBus {
        let (sender, _) = broadcast::channel(4096);
        EventBus { sender }
    }

    pub fn publish(&self, event: Event) {
        // No subscribers is normal; nothing to do then.
        let _ = self.sender.send(event);
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
