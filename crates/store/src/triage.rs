//! The store's part of triage and assignment: reads on every [`crate::Store`] and, inside every
//! [`crate::WriteTx`], the reads a routing decision needs plus the writes (both traits are
//! supertraits of those), implemented for both backends in `common/triage.rs` and
//! `sqlite/writer/triage.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::StoreResult;

/// A conversation's routing state. A conversation without a row is `normal`, untagged, and
/// has not been sent the menu.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConversationRouting {
    /// `normal` or `high`.
    pub priority: String,
    pub tags: Vec<String>,
    /// `none`, `sent` (the menu went out; the next text is the answer) or `done`.
    pub menu_state: String,
}

/// One member of a department, as assignment sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolMember {
    pub user_id: Uuid,
    /// Most open conversations assigned to them at once.
    pub capacity: i64,
    /// Their own availability toggle (on unless they turned it off).
    pub available: bool,
    /// Conversations assigned to them that are not closed, in every department.
    pub open_assigned: i64,
}

/// A department's assignment strategy (`round_robin` or `least_busy`) and round-robin cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentSetting {
    pub strategy: String,
    pub last_user_id: Option<Uuid>,
}

#[async_trait]
pub trait TriageReads: Send + Sync {
    /// The routing rules and menu as stored (JSON), if ever saved.
    async fn routing_document(&self) -> StoreResult<Option<String>>;
    async fn conversation_routing(&self, conversation_id: Uuid) -> StoreResult<Option<ConversationRouting>>;
    /// The department's members (enabled accounts), ordered by user id.
    async fn department_pool(&self, department_id: Uuid) -> StoreResult<Vec<PoolMember>>;
    async fn department_assignment(&self, department_id: Uuid) -> StoreResult<Option<AssignmentSetting>>;
    /// On unless the person turned it off.
    async fn user_available(&self, user_id: Uuid) -> StoreResult<bool>;
}

#[async_trait]
pub trait TriageWrites: Send {
    async fn routing_document(&mut self) -> StoreResult<Option<String>>;
    async fn put_routing_document(&mut self, document: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn conversation_routing(&mut self, conversation_id: Uuid) -> StoreResult<Option<ConversationRouting>>;
    async fn put_conversation_routing(
        &mut self,
        conversation_id: Uuid,
        routing: &ConversationRouting,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// A department's name and a user's name, for the reasons written in conversations.
    async fn department_name(&mut self, department_id: Uuid) -> StoreResult<Option<String>>;
    async fn user_name(&mut self, user_id: Uuid) -> StoreResult<Option<String>>;
    /// The statuses (`patient`, `prospective`) of the patient records the contact is linked to.
    async fn contact_patient_statuses(&mut self, contact_id: Uuid) -> StoreResult<Vec<String>>;
    async fn department_pool(&mut self, department_id: Uuid) -> StoreResult<Vec<PoolMember>>;
    /// The department's setting, locked for the rest of the transaction (PostgreSQL), so two
    /// concurrent assignments in one department take turns. Creates the default
    /// (`round_robin`) row when there is none.
    async fn department_assignment_for_update(&mut self, department_id: Uuid) -> StoreResult<AssignmentSetting>;
    async fn put_department_assignment(&mut self, department_id: Uuid, setting: &AssignmentSetting) -> StoreResult<()>;
    async fn put_department_member(&mut self, department_id: Uuid, user_id: Uuid, capacity: i64) -> StoreResult<()>;
    async fn remove_department_member(&mut self, department_id: Uuid, user_id: Uuid) -> StoreResult<()>;
    async fn put_user_available(&mut self, user_id: Uuid, available: bool, at: DateTime<Utc>) -> StoreResult<()>;
}
