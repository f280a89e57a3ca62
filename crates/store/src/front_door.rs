//! The store's part of the front door: SMS policy versions and how each conversation began.
//! Reads on every [`crate::Store`] and writes inside every [`crate::WriteTx`] (both are
//! supertraits of those), implemented for both backends in `common/front_door.rs` and
//! `sqlite/writer/front_door.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use frontdesk_domain::front_door::{ConversationSource, SmsPolicy};
use frontdesk_domain::model::{ConversationId, UserId};

use crate::StoreResult;

/// One saved version of the practice's SMS policy. Versions are never changed or deleted: a
/// consent event's evidence names the version the patient agreed to.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyVersion {
    pub version: i64,
    pub policy: SmsPolicy,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<UserId>,
}

#[async_trait]
pub trait FrontDoorReads: Send + Sync {
    /// The newest policy version, if any was saved.
    async fn latest_sms_policy(&self) -> StoreResult<Option<PolicyVersion>>;
    async fn sms_policy_version(&self, version: i64) -> StoreResult<Option<PolicyVersion>>;
    /// How the conversation began and the reason chosen on the form (if any).
    async fn conversation_origin(
        &self,
        id: ConversationId,
    ) -> StoreResult<Option<(ConversationSource, Option<String>)>>;
    /// Conversations opened in `[from, to)`, counted by source.
    async fn count_conversations_by_source(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(ConversationSource, i64)>>;
}

#[async_trait]
pub trait FrontDoorWrites: Send {
    /// A version that already exists is a `Conflict` (two admins saving at once).
    async fn insert_sms_policy(&mut self, version: &PolicyVersion) -> StoreResult<()>;
    /// Records how the conversation began (and the form's reason key).
    async fn set_conversation_origin(
        &mut self,
        id: ConversationId,
        source: ConversationSource,
        reason_key: Option<&str>,
    ) -> StoreResult<()>;
}
