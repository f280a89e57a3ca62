//! PostgreSQL's `DepartmentSettingsReads` / `DepartmentSettingsWrites`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;

use frontdesk_domain::model::{ConversationId, DepartmentId};

use super::{PgStore, PgTx};
use crate::StoreResult;
use crate::common::{db_err, from_ms};
use crate::department_settings::{self as d, DepartmentSettingsWrites};

d::sqlx_reads!(PgStore);

#[async_trait]
impl DepartmentSettingsWrites for PgTx {
    async fn put_department_settings(&mut self, id: DepartmentId, json: &str, at: DateTime<Utc>) -> StoreResult<()> {
        super::q::exec_statement(self.parts().0, &d::put_department_settings(id, json, at)).await.map(|_| ())
    }

    async fn department_settings_in_tx(&mut self, id: DepartmentId) -> StoreResult<Option<String>> {
        let row = sqlx::query(d::SETTINGS_BY_ID).bind(id).fetch_optional(self.parts().0).await.map_err(db_err)?;
        row.map(|r| r.try_get::<String, _>("settings").map_err(db_err)).transpose()
    }

    async fn claim_automation_mark(&mut self, key: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        Ok(super::q::exec_statement(self.parts().0, &d::claim_automation_mark(key, at)).await? == 1)
    }

    async fn flag_consent_review(
        &mut self,
        conversation_id: ConversationId,
        message_id: frontdesk_domain::model::MessageId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        super::q::exec_statement(self.parts().0, &d::flag_consent_review(conversation_id, message_id, at))
            .await
            .map(|_| ())
    }

    async fn clear_consent_review(&mut self, conversation_id: ConversationId) -> StoreResult<bool> {
        Ok(super::q::exec_statement(self.parts().0, &d::clear_consent_review(conversation_id)).await? == 1)
    }

    async fn setting_in_tx(&mut self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query(d::SETTING_BY_KEY).bind(key).fetch_optional(self.parts().0).await.map_err(db_err)?;
        row.map(|r| r.try_get::<String, _>("value").map_err(db_err)).transpose()
    }

    async fn last_staff_reply_at(&mut self, conversation_id: ConversationId) -> StoreResult<Option<DateTime<Utc>>> {
        let row =
            sqlx::query(d::LAST_STAFF_REPLY).bind(conversation_id).fetch_one(self.parts().0).await.map_err(db_err)?;
        let at: Option<i64> = row.try_get("at").map_err(db_err)?;
        at.map(|v| from_ms("messages.created_at", v)).transpose()
    }
}
