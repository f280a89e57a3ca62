//! The store's part of department hours and automatic replies: reads on every
//! [`crate::Store`] and writes inside every [`crate::WriteTx`] (both are supertraits of
//! those), implemented in `sqlite/department_settings.rs`, `sqlite/writer/department_settings.rs`
//! and `postgres/department_settings.rs` with the statements below.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use frontdesk_domain::model::{ConversationId, DepartmentId};

use crate::StoreResult;
use crate::common::ms;
use crate::common::statement::{Param, Statement};

/// An open conversation whose patient waits for the practice, for overdue checks.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingConversation {
    pub id: ConversationId,
    pub department_id: Option<DepartmentId>,
    /// The default department of the number the patient texted.
    pub number_department_id: Option<DepartmentId>,
    pub waiting_since: DateTime<Utc>,
}

#[async_trait]
pub trait DepartmentSettingsReads: Send + Sync {
    /// The department's settings document (JSON), if saved.
    async fn department_settings(&self, id: DepartmentId) -> StoreResult<Option<String>>;
    /// Every saved settings document.
    async fn all_department_settings(&self) -> StoreResult<Vec<(DepartmentId, String)>>;
    /// Open conversations waiting for a reply since before `before`, the most recent waits
    /// first (at most `limit`: older waits were looked at by earlier runs).
    async fn waiting_conversations(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<WaitingConversation>>;
    /// Conversations with a text that may revoke consent, not yet decided by staff.
    async fn open_consent_reviews(&self) -> StoreResult<Vec<ConversationId>>;
}

#[async_trait]
pub trait DepartmentSettingsWrites: Send {
    /// Inserts or replaces the department's settings document.
    async fn put_department_settings(&mut self, id: DepartmentId, json: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// The settings document, read inside the transaction.
    async fn department_settings_in_tx(&mut self, id: DepartmentId) -> StoreResult<Option<String>>;
    /// Records `key`: `true` the first time, `false` when it was already recorded.
    async fn claim_automation_mark(&mut self, key: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Flags a text that may revoke consent (replacing an earlier flag of the conversation).
    async fn flag_consent_review(
        &mut self,
        conversation_id: ConversationId,
        message_id: frontdesk_domain::model::MessageId,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Removes the conversation's flag; `false` when there was none.
    async fn clear_consent_review(&mut self, conversation_id: ConversationId) -> StoreResult<bool>;
    /// A practice setting (the `settings` table), read inside the transaction.
    async fn setting_in_tx(&mut self, key: &str) -> StoreResult<Option<String>>;
    /// When staff (a person or the API) last sent a message in the conversation.
    async fn last_staff_reply_at(&mut self, conversation_id: ConversationId) -> StoreResult<Option<DateTime<Utc>>>;
}

fn st(sql: &'static str, params: Vec<Param>) -> Statement {
    Statement { sql: Cow::Borrowed(sql), params }
}

pub(crate) fn put_department_settings(id: DepartmentId, json: &str, at: DateTime<Utc>) -> Statement {
    st(
        "INSERT INTO department_settings (department_id, settings, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (department_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        vec![Param::Uuid(id), Param::Text(json.to_owned()), Param::Int(ms(at))],
    )
}

pub(crate) fn claim_automation_mark(key: &str, at: DateTime<Utc>) -> Statement {
    st(
        "INSERT INTO automation_marks (key, at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        vec![Param::Text(key.to_owned()), Param::Int(ms(at))],
    )
}

pub(crate) fn flag_consent_review(
    conversation_id: ConversationId,
    message_id: frontdesk_domain::model::MessageId,
    at: DateTime<Utc>,
) -> Statement {
    st(
        "INSERT INTO consent_reviews (conversation_id, message_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (conversation_id) DO UPDATE SET message_id = excluded.message_id, created_at = excluded.created_at",
        vec![Param::Uuid(conversation_id), Param::Uuid(message_id), Param::Int(ms(at))],
    )
}

pub(crate) fn clear_consent_review(conversation_id: ConversationId) -> Statement {
    st("DELETE FROM consent_reviews WHERE conversation_id = $1", vec![Param::Uuid(conversation_id)])
}

pub(crate) const OPEN_REVIEWS: &str = "SELECT conversation_id FROM consent_reviews ORDER BY created_at";
pub(crate) const SETTINGS_BY_ID: &str = "SELECT settings FROM department_settings WHERE department_id = $1";
pub(crate) const SETTING_BY_KEY: &str = "SELECT value FROM settings WHERE key = $1";
pub(crate) const ALL_SETTINGS: &str = "SELECT department_id, settings FROM department_settings";
pub(crate) const LAST_STAFF_REPLY: &str = "SELECT MAX(created_at) AS at FROM messages \
     WHERE conversation_id = $1 AND direction = 'outbound' AND sender IN ('staff', 'api')";
pub(crate) const WAITING: &str = "SELECT c.id, c.department_id, n.default_department_id, c.waiting_since \
     FROM conversations c JOIN threads t ON t.id = c.thread_id JOIN practice_numbers n ON n.id = t.number_id \
     WHERE c.status = 'open' AND c.waiting_since IS NOT NULL AND c.waiting_since < $1 \
     ORDER BY c.waiting_since DESC LIMIT $2";

/// The sqlx reads, for a store type with `reader()`; expanded in each backend's module.
macro_rules! sqlx_reads {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::department_settings::DepartmentSettingsReads for $store {
            async fn department_settings(
                &self,
                id: frontdesk_domain::model::DepartmentId,
            ) -> crate::StoreResult<Option<String>> {
                use sqlx::Row as _;
                let row = sqlx::query(crate::department_settings::SETTINGS_BY_ID)
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(crate::common::db_err)?;
                row.map(|r| r.try_get::<String, _>("settings").map_err(crate::common::db_err)).transpose()
            }

            async fn all_department_settings(
                &self,
            ) -> crate::StoreResult<Vec<(frontdesk_domain::model::DepartmentId, String)>> {
                use sqlx::Row as _;
                let rows = sqlx::query(crate::department_settings::ALL_SETTINGS)
                    .fetch_all(self.reader())
                    .await
                    .map_err(crate::common::db_err)?;
                rows.into_iter()
                    .map(|r| {
                        Ok((
                            r.try_get("department_id").map_err(crate::common::db_err)?,
                            r.try_get("settings").map_err(crate::common::db_err)?,
                        ))
                    })
                    .collect()
            }

            async fn open_consent_reviews(&self) -> crate::StoreResult<Vec<frontdesk_domain::model::ConversationId>> {
                use sqlx::Row as _;
                let rows = sqlx::query(crate::department_settings::OPEN_REVIEWS)
                    .fetch_all(self.reader())
                    .await
                    .map_err(crate::common::db_err)?;
                rows.into_iter().map(|r| r.try_get("conversation_id").map_err(crate::common::db_err)).collect()
            }

            async fn waiting_conversations(
                &self,
                before: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> crate::StoreResult<Vec<crate::department_settings::WaitingConversation>> {
                use sqlx::Row as _;
                let rows = sqlx::query(crate::department_settings::WAITING)
                    .bind(crate::common::ms(before))
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await
                    .map_err(crate::common::db_err)?;
                rows.into_iter()
                    .map(|r| {
                        let since: i64 = r.try_get("waiting_since").map_err(crate::common::db_err)?;
                        Ok(crate::department_settings::WaitingConversation {
                            id: r.try_get("id").map_err(crate::common::db_err)?,
                            department_id: r.try_get("department_id").map_err(crate::common::db_err)?,
                            number_department_id: r.try_get("default_department_id").map_err(crate::common::db_err)?,
                            waiting_since: crate::common::from_ms("conversations.waiting_since", since)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use sqlx_reads;
