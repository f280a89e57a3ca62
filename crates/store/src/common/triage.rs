//! Triage and assignment in the store: SQL shared by both backends, write statements (bound by
//! either driver), and the sqlx implementations (`triage_sqlx!`, expanded in `sqlite.rs` and
//! `postgres.rs`). Nothing here is patient data: rules, priorities, tags and membership.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ms;
use super::statement::{Param, Statement};
use crate::triage::{AssignmentSetting, ConversationRouting};

fn st(sql: &'static str, params: Vec<Param>) -> Statement {
    Statement { sql: Cow::Borrowed(sql), params }
}

pub(crate) const ROUTING_DOCUMENT: &str = "SELECT document FROM routing_config WHERE id = 1";
pub(crate) const CONVERSATION_ROUTING: &str =
    "SELECT priority, tags, menu_state FROM conversation_routing WHERE conversation_id = $1";
pub(crate) const DEPARTMENT_POOL: &str = "SELECT m.user_id, m.capacity, a.available, \
     (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = m.user_id AND c.status <> 'closed') AS open_assigned \
     FROM department_members m JOIN users u ON u.id = m.user_id \
     LEFT JOIN user_availability a ON a.user_id = m.user_id \
     WHERE m.department_id = $1 AND u.disabled = FALSE ORDER BY m.user_id";
pub(crate) const DEPARTMENT_ASSIGNMENT: &str =
    "SELECT strategy, last_user_id FROM department_assignment WHERE department_id = $1";
pub(crate) const DEPARTMENT_ASSIGNMENT_FOR_UPDATE: &str =
    "SELECT strategy, last_user_id FROM department_assignment WHERE department_id = $1 FOR UPDATE";
pub(crate) const USER_AVAILABLE: &str = "SELECT available FROM user_availability WHERE user_id = $1";
pub(crate) const DEPARTMENT_NAME: &str = "SELECT name FROM departments WHERE id = $1";
pub(crate) const USER_NAME: &str = "SELECT name FROM users WHERE id = $1";
pub(crate) const CONTACT_PATIENT_STATUSES: &str = "SELECT p.status FROM contact_patients cp \
     JOIN patients p ON p.id = cp.patient_id WHERE cp.contact_id = $1 ORDER BY p.id";

pub(crate) fn put_routing_document(document: &str, at: DateTime<Utc>) -> Statement {
    st(
        "INSERT INTO routing_config (id, document, updated_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
        vec![Param::Text(document.to_string()), Param::Int(ms(at))],
    )
}

pub(crate) fn put_conversation_routing(id: Uuid, r: &ConversationRouting, at: DateTime<Utc>) -> Statement {
    st(
        "INSERT INTO conversation_routing (conversation_id, priority, tags, menu_state, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (conversation_id) DO UPDATE SET priority = excluded.priority, \
         tags = excluded.tags, menu_state = excluded.menu_state, updated_at = excluded.updated_at",
        vec![
            Param::Uuid(id),
            Param::Text(r.priority.clone()),
            Param::Text(r.tags.join(",")),
            Param::Text(r.menu_state.clone()),
            Param::Int(ms(at)),
        ],
    )
}

/// Creates the default assignment row if missing (so it can be locked).
pub(crate) fn ensure_department_assignment(department_id: Uuid) -> Statement {
    st(
        "INSERT INTO department_assignment (department_id, strategy, last_user_id) VALUES ($1, 'round_robin', NULL) \
         ON CONFLICT DO NOTHING",
        vec![Param::Uuid(department_id)],
    )
}

pub(crate) fn put_department_assignment(department_id: Uuid, s: &AssignmentSetting) -> Statement {
    st(
        "INSERT INTO department_assignment (department_id, strategy, last_user_id) VALUES ($1, $2, $3) \
         ON CONFLICT (department_id) DO UPDATE SET strategy = excluded.strategy, last_user_id = excluded.last_user_id",
        vec![Param::Uuid(department_id), Param::Text(s.strategy.clone()), Param::OptUuid(s.last_user_id)],
    )
}

pub(crate) fn put_department_member(department_id: Uuid, user_id: Uuid, capacity: i64) -> Statement {
    st(
        "INSERT INTO department_members (department_id, user_id, capacity) VALUES ($1, $2, $3) \
         ON CONFLICT (department_id, user_id) DO UPDATE SET capacity = excluded.capacity",
        vec![Param::Uuid(department_id), Param::Uuid(user_id), Param::Int(capacity)],
    )
}

pub(crate) fn remove_department_member(department_id: Uuid, user_id: Uuid) -> Statement {
    st(
        "DELETE FROM department_members WHERE department_id = $1 AND user_id = $2",
        vec![Param::Uuid(department_id), Param::Uuid(user_id)],
    )
}

pub(crate) fn put_user_available(user_id: Uuid, available: bool, at: DateTime<Utc>) -> Statement {
    st(
        "INSERT INTO user_availability (user_id, available, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET available = excluded.available, updated_at = excluded.updated_at",
        vec![Param::Uuid(user_id), Param::Bool(available), Param::Int(ms(at))],
    )
}

pub(crate) fn routing_from(priority: String, tags: String, menu_state: String) -> ConversationRouting {
    ConversationRouting {
        priority,
        tags: tags.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect(),
        menu_state,
    }
}

/// `TriageReads` for a backend's store and, with a transaction type, `TriageWrites` for it.
macro_rules! triage_sqlx {
    (db: $db:ty, store: $store:ty $(, tx: $tx:ty)?) => {
        mod triage_q {
            use sqlx::Row as _;
            use uuid::Uuid;

            use crate::common::triage as t;
            use crate::triage::{AssignmentSetting, ConversationRouting, PoolMember};
            use crate::{StoreError, StoreResult};

            fn db_err(e: sqlx::Error) -> StoreError {
                crate::common::db_err(e)
            }

            fn corrupt(e: sqlx::Error) -> StoreError {
                StoreError::Corrupt(e.to_string())
            }

            pub(crate) async fn routing_document<'e, E>(ex: E) -> StoreResult<Option<String>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let row = sqlx::query(t::ROUTING_DOCUMENT).fetch_optional(ex).await.map_err(db_err)?;
                row.map(|r| r.try_get::<String, _>("document").map_err(corrupt)).transpose()
            }

            pub(crate) async fn conversation_routing<'e, E>(ex: E, id: Uuid) -> StoreResult<Option<ConversationRouting>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let row = sqlx::query(t::CONVERSATION_ROUTING).bind(id).fetch_optional(ex).await.map_err(db_err)?;
                row.map(|r| {
                    Ok(t::routing_from(
                        r.try_get("priority").map_err(corrupt)?,
                        r.try_get("tags").map_err(corrupt)?,
                        r.try_get("menu_state").map_err(corrupt)?,
                    ))
                })
                .transpose()
            }

            pub(crate) async fn department_pool<'e, E>(ex: E, department_id: Uuid) -> StoreResult<Vec<PoolMember>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let rows = sqlx::query(t::DEPARTMENT_POOL).bind(department_id).fetch_all(ex).await.map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(PoolMember {
                            user_id: r.try_get("user_id").map_err(corrupt)?,
                            capacity: r.try_get("capacity").map_err(corrupt)?,
                            available: r.try_get::<Option<bool>, _>("available").map_err(corrupt)?.unwrap_or(true),
                            open_assigned: r.try_get("open_assigned").map_err(corrupt)?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn department_assignment<'e, E>(
                ex: E,
                sql: &'static str,
                department_id: Uuid,
            ) -> StoreResult<Option<AssignmentSetting>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let row = sqlx::query(sql)
                    .bind(department_id)
                    .fetch_optional(ex)
                    .await
                    .map_err(db_err)?;
                row.map(|r| {
                    Ok(AssignmentSetting {
                        strategy: r.try_get("strategy").map_err(corrupt)?,
                        last_user_id: r.try_get("last_user_id").map_err(corrupt)?,
                    })
                })
                .transpose()
            }

            pub(crate) async fn user_available<'e, E>(ex: E, user_id: Uuid) -> StoreResult<bool>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let row = sqlx::query(t::USER_AVAILABLE).bind(user_id).fetch_optional(ex).await.map_err(db_err)?;
                Ok(row.map(|r| r.try_get::<bool, _>("available").map_err(corrupt)).transpose()?.unwrap_or(true))
            }

            #[allow(dead_code)]
            pub(crate) async fn name<'e, E>(ex: E, sql: &'static str, id: Uuid) -> StoreResult<Option<String>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let row = sqlx::query(sql).bind(id).fetch_optional(ex).await.map_err(db_err)?;
                row.map(|r| r.try_get::<String, _>("name").map_err(corrupt)).transpose()
            }

            #[allow(dead_code)]
            pub(crate) async fn contact_patient_statuses<'e, E>(ex: E, contact_id: Uuid) -> StoreResult<Vec<String>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let rows = sqlx::query(t::CONTACT_PATIENT_STATUSES).bind(contact_id).fetch_all(ex).await.map_err(db_err)?;
                rows.iter().map(|r| r.try_get::<String, _>("status").map_err(corrupt)).collect()
            }
        }

        #[async_trait::async_trait]
        impl crate::TriageReads for $store {
            async fn routing_document(&self) -> crate::StoreResult<Option<String>> {
                triage_q::routing_document(self.reader()).await
            }

            async fn conversation_routing(
                &self,
                conversation_id: uuid::Uuid,
            ) -> crate::StoreResult<Option<crate::triage::ConversationRouting>> {
                triage_q::conversation_routing(self.reader(), conversation_id).await
            }

            async fn department_pool(
                &self,
                department_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<crate::triage::PoolMember>> {
                triage_q::department_pool(self.reader(), department_id).await
            }

            async fn department_assignment(
                &self,
                department_id: uuid::Uuid,
            ) -> crate::StoreResult<Option<crate::triage::AssignmentSetting>> {
                triage_q::department_assignment(self.reader(), crate::common::triage::DEPARTMENT_ASSIGNMENT, department_id)
                    .await
            }

            async fn user_available(&self, user_id: uuid::Uuid) -> crate::StoreResult<bool> {
                triage_q::user_available(self.reader(), user_id).await
            }
        }

        $(
        #[async_trait::async_trait]
        impl crate::TriageWrites for $tx {
            async fn routing_document(&mut self) -> crate::StoreResult<Option<String>> {
                triage_q::routing_document(&mut *self.parts().0).await
            }

            async fn put_routing_document(
                &mut self,
                document: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<()> {
                q::exec_statement(self.parts().0, &crate::common::triage::put_routing_document(document, at)).await?;
                Ok(())
            }

            async fn conversation_routing(
                &mut self,
                conversation_id: uuid::Uuid,
            ) -> crate::StoreResult<Option<crate::triage::ConversationRouting>> {
                triage_q::conversation_routing(&mut *self.parts().0, conversation_id).await
            }

            async fn put_conversation_routing(
                &mut self,
                conversation_id: uuid::Uuid,
                routing: &crate::triage::ConversationRouting,
                at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<()> {
                let s = crate::common::triage::put_conversation_routing(conversation_id, routing, at);
                q::exec_statement(self.parts().0, &s).await?;
                Ok(())
            }

            async fn department_name(&mut self, id: uuid::Uuid) -> crate::StoreResult<Option<String>> {
                triage_q::name(&mut *self.parts().0, crate::common::triage::DEPARTMENT_NAME, id).await
            }

            async fn user_name(&mut self, id: uuid::Uuid) -> crate::StoreResult<Option<String>> {
                triage_q::name(&mut *self.parts().0, crate::common::triage::USER_NAME, id).await
            }

            async fn contact_patient_statuses(&mut self, contact_id: uuid::Uuid) -> crate::StoreResult<Vec<String>> {
                triage_q::contact_patient_statuses(&mut *self.parts().0, contact_id).await
            }

            async fn department_pool(
                &mut self,
                department_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<crate::triage::PoolMember>> {
                triage_q::department_pool(&mut *self.parts().0, department_id).await
            }

            async fn department_assignment_for_update(
                &mut self,
                department_id: uuid::Uuid,
            ) -> crate::StoreResult<crate::triage::AssignmentSetting> {
                let ensure = crate::common::triage::ensure_department_assignment(department_id);
                q::exec_statement(&mut *self.parts().0, &ensure).await?;
                let sql = crate::common::triage::DEPARTMENT_ASSIGNMENT_FOR_UPDATE;
                triage_q::department_assignment(&mut *self.parts().0, sql, department_id)
                    .await?
                    .ok_or_else(|| crate::StoreError::Other("the assignment row vanished".into()))
            }

            async fn put_department_assignment(
                &mut self,
                department_id: uuid::Uuid,
                setting: &crate::triage::AssignmentSetting,
            ) -> crate::StoreResult<()> {
                let s = crate::common::triage::put_department_assignment(department_id, setting);
                q::exec_statement(self.parts().0, &s).await?;
                Ok(())
            }

            async fn put_department_member(
                &mut self,
                department_id: uuid::Uuid,
                user_id: uuid::Uuid,
                capacity: i64,
            ) -> crate::StoreResult<()> {
                let s = crate::common::triage::put_department_member(department_id, user_id, capacity);
                q::exec_statement(self.parts().0, &s).await?;
                Ok(())
            }

            async fn remove_department_member(
                &mut self,
                department_id: uuid::Uuid,
                user_id: uuid::Uuid,
            ) -> crate::StoreResult<()> {
                let s = crate::common::triage::remove_department_member(department_id, user_id);
                q::exec_statement(self.parts().0, &s).await?;
                Ok(())
            }

            async fn put_user_available(
                &mut self,
                user_id: uuid::Uuid,
                available: bool,
                at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<()> {
                let s = crate::common::triage::put_user_available(user_id, available, at);
                q::exec_statement(self.parts().0, &s).await?;
                Ok(())
            }
        }
        )?
    };
}

pub(crate) use triage_sqlx;
