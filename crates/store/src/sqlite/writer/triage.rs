//! The SQLite writer's `TriageWrites`: the shared SQL and statements of `common/triage.rs`,
//! run on the writer thread's connection (one writer: no row locks needed).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{SqliteTx, get};
use crate::common::triage as t;
use crate::triage::{AssignmentSetting, ConversationRouting, PoolMember};
use crate::{StoreResult, TriageWrites};

#[async_trait]
impl TriageWrites for SqliteTx {
    async fn routing_document(&mut self) -> StoreResult<Option<String>> {
        self.query_opt(t::ROUTING_DOCUMENT, &[], |r| get::<String>(r, "document"))
    }

    async fn put_routing_document(&mut self, document: &str, at: DateTime<Utc>) -> StoreResult<()> {
        self.run(&t::put_routing_document(document, at))?;
        Ok(())
    }

    async fn conversation_routing(&mut self, conversation_id: Uuid) -> StoreResult<Option<ConversationRouting>> {
        self.query_opt(t::CONVERSATION_ROUTING, &[&conversation_id], |r| {
            Ok(t::routing_from(get(r, "priority")?, get(r, "tags")?, get(r, "menu_state")?))
        })
    }

    async fn put_conversation_routing(
        &mut self,
        conversation_id: Uuid,
        routing: &ConversationRouting,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.run(&t::put_conversation_routing(conversation_id, routing, at))?;
        Ok(())
    }

    async fn department_name(&mut self, id: Uuid) -> StoreResult<Option<String>> {
        self.query_opt(t::DEPARTMENT_NAME, &[&id], |r| get::<String>(r, "name"))
    }

    async fn user_name(&mut self, id: Uuid) -> StoreResult<Option<String>> {
        self.query_opt(t::USER_NAME, &[&id], |r| get::<String>(r, "name"))
    }

    async fn contact_patient_statuses(&mut self, contact_id: Uuid) -> StoreResult<Vec<String>> {
        self.query_all(t::CONTACT_PATIENT_STATUSES, &[&contact_id], |r| get::<String>(r, "status"))
    }

    async fn department_pool(&mut self, department_id: Uuid) -> StoreResult<Vec<PoolMember>> {
        self.query_all(t::DEPARTMENT_POOL, &[&department_id], |r| {
            Ok(PoolMember {
                user_id: get(r, "user_id")?,
                capacity: get(r, "capacity")?,
                available: get::<Option<bool>>(r, "available")?.unwrap_or(true),
                open_assigned: get(r, "open_assigned")?,
            })
        })
    }

    async fn department_assignment_for_update(&mut self, department_id: Uuid) -> StoreResult<AssignmentSetting> {
        self.run(&t::ensure_department_assignment(department_id))?;
        self.query_opt(t::DEPARTMENT_ASSIGNMENT, &[&department_id], |r| {
            Ok(AssignmentSetting { strategy: get(r, "strategy")?, last_user_id: get(r, "last_user_id")? })
        })?
        .ok_or_else(|| crate::StoreError::Other("the assignment row vanished".into()))
    }

    async fn put_department_assignment(&mut self, department_id: Uuid, setting: &AssignmentSetting) -> StoreResult<()> {
        self.run(&t::put_department_assignment(department_id, setting))?;
        Ok(())
    }

    async fn put_department_member(&mut self, department_id: Uuid, user_id: Uuid, capacity: i64) -> StoreResult<()> {
        self.run(&t::put_department_member(department_id, user_id, capacity))?;
        Ok(())
    }

    async fn remove_department_member(&mut self, department_id: Uuid, user_id: Uuid) -> StoreResult<()> {
        self.run(&t::remove_department_member(department_id, user_id))?;
        Ok(())
    }

    async fn put_user_available(&mut self, user_id: Uuid, available: bool, at: DateTime<Utc>) -> StoreResult<()> {
        self.run(&t::put_user_available(user_id, available, at))?;
        Ok(())
    }
}
