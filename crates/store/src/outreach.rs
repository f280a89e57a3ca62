//! The store's part of outreach: messages scheduled to go out later. Reads on every
//! [`crate::Store`] and writes inside every [`crate::WriteTx`] (both are supertraits of those),
//! implemented for both backends in `common/outreach.rs` and `sqlite/writer/outreach.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::model::SenderKind;

use crate::StoreResult;

/// Waiting for its time (deferrals keep it pending with a later `send_at`).
pub const SCHEDULED_PENDING: &str = "pending";
/// Queued as a message (`message_id`).
pub const SCHEDULED_SENT: &str = "sent";
/// Refused when due (opted out, no provider...): `reason` says why.
pub const SCHEDULED_FAILED: &str = "failed";
pub const SCHEDULED_CANCELLED: &str = "cancelled";

/// A person's message, sent as written when due.
pub const KIND_STAFF: &str = "staff";
/// An automated message: quiet hours and the daily/weekly caps apply.
pub const KIND_AUTOMATED: &str = "automated";

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledMessage {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub contact_id: Uuid,
    /// Sealed at rest (AAD: id + `scheduled_messages.body`).
    pub body: String,
    pub kind: String,
    pub sender: SenderKind,
    pub created_by: Option<Uuid>,
    /// When it is (next) due.
    pub send_at: DateTime<Utc>,
    /// The time first asked for.
    pub requested_at: DateTime<Utc>,
    pub status: String,
    pub reason: Option<String>,
    pub message_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A message template sent to a list of patients.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    pub id: Uuid,
    /// The practice's wording with `{patient.first_name}`-style variables.
    pub body: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Queued (as a scheduled message) or skipped with the reason.
pub const RECIPIENT_QUEUED: &str = "queued";
pub const RECIPIENT_SKIPPED: &str = "skipped";

#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastRecipient {
    pub broadcast_id: Uuid,
    pub position: i64,
    pub patient_id: Uuid,
    pub status: String,
    pub reason: Option<String>,
    pub scheduled_id: Option<Uuid>,
}

/// A recipient with its scheduled message's status and reason (when queued).
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientState {
    pub recipient: BroadcastRecipient,
    pub scheduled_status: Option<String>,
    pub scheduled_reason: Option<String>,
}

#[async_trait]
pub trait OutreachReads: Send + Sync {
    async fn broadcast_by_id(&self, id: Uuid) -> StoreResult<Option<Broadcast>>;
    /// The newest broadcasts first, at most `limit`.
    async fn list_broadcasts(&self, limit: u32) -> StoreResult<Vec<Broadcast>>;
    /// The broadcast's recipients in list order, with their scheduled messages' state.
    async fn broadcast_recipients(&self, id: Uuid) -> StoreResult<Vec<RecipientState>>;
    async fn scheduled_message(&self, id: Uuid) -> StoreResult<Option<ScheduledMessage>>;
    /// Every scheduled message of the conversation, soonest first.
    async fn conversation_scheduled(&self, conversation_id: Uuid) -> StoreResult<Vec<ScheduledMessage>>;
    /// Pending messages due at `now`, oldest first, at most `limit`.
    async fn due_scheduled(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<ScheduledMessage>>;
    /// When the contact's automated scheduled messages were sent, since `since`.
    async fn automated_sent_times(&self, contact_id: Uuid, since: DateTime<Utc>) -> StoreResult<Vec<DateTime<Utc>>>;
}

#[async_trait]
pub trait OutreachWrites: Send {
    async fn insert_broadcast(&mut self, b: &Broadcast) -> StoreResult<()>;
    async fn insert_broadcast_recipient(&mut self, r: &BroadcastRecipient) -> StoreResult<()>;
    async fn insert_scheduled(&mut self, s: &ScheduledMessage) -> StoreResult<()>;
    /// Moves a pending row due at `now` to `sent` (its `send_at` becomes `now`): `false` when
    /// it was not pending any more (another instance took it, or staff cancelled it).
    async fn claim_scheduled(&mut self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Records the outcome of a claimed row: its status, the queued message or the reason.
    async fn finish_scheduled(
        &mut self,
        id: Uuid,
        status: &str,
        message_id: Option<Uuid>,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Moves a pending row's `send_at` to `until` with the reason: `false` when not pending.
    async fn defer_scheduled(
        &mut self,
        id: Uuid,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Cancels a pending row: `false` when it was not pending.
    async fn cancel_scheduled(&mut self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
}
