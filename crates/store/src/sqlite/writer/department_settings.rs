//! The SQLite writer's `DepartmentSettingsWrites`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use frontdesk_domain::model::{ConversationId, DepartmentId};

use super::{SqliteTx, get};
use crate::StoreResult;
use crate::common::from_ms;
use crate::department_settings::{self as d, DepartmentSettingsWrites};

#[async_trait]
impl DepartmentSettingsWrites for SqliteTx {
    async fn put_department_settings(&mut self, id: DepartmentId, json: &str, at: DateTime<Utc>) -> StoreResult<()> {
        self.run(&d::put_department_settings(id, json, at)).map(|_| ())
    }

    async fn department_settings_in_tx(&mut self, id: DepartmentId) -> StoreResult<Option<String>> {
        self.query_opt(d::SETTINGS_BY_ID, &[&id], |r| get(r, "settings"))
    }

    async fn claim_automation_mark(&mut self, key: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        Ok(self.run(&d::claim_automation_mark(key, at))? == 1)
    }

    async fn flag_consent_review(
        &mut self,
        conversation_id: ConversationId,
        message_id: frontdesk_domain::model::MessageId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.run(&d::flag_consent_review(conversation_id, message_id, at)).map(|_| ())
    }

    async fn clear_consent_review(&mut self, conversation_id: ConversationId) -> StoreResult<bool> {
        Ok(self.run(&d::clear_consent_review(conversation_id))? == 1)
    }

    async fn setting_in_tx(&mut self, key: &str) -> StoreResult<Option<String>> {
        self.query_opt(d::SETTING_BY_KEY, &[&key], |r| get(r, "value"))
    }

    async fn last_staff_reply_at(&mut self, conversation_id: ConversationId) -> StoreResult<Option<DateTime<Utc>>> {
        let at: Option<Option<i64>> = self.query_opt(d::LAST_STAFF_REPLY, &[&conversation_id], |r| get(r, "at"))?;
        at.flatten().map(|v| from_ms("messages.created_at", v)).transpose()
    }
}
