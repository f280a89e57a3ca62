//! The SQLite writer's `OutreachWrites`: the shared statements of `common/outreach.rs`, run on
//! the writer thread's connection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::SqliteTx;
use crate::common::outreach as o;
use crate::outreach::ScheduledMessage;
use crate::{OutreachWrites, StoreResult};

#[async_trait]
impl OutreachWrites for SqliteTx {
    async fn insert_broadcast(&mut self, b: &crate::outreach::Broadcast) -> StoreResult<()> {
        o::inserted(self.run(&o::insert_broadcast(b))? as u64)
    }

    async fn insert_broadcast_recipient(&mut self, r: &crate::outreach::BroadcastRecipient) -> StoreResult<()> {
        o::inserted(self.run(&o::insert_broadcast_recipient(r))? as u64)
    }

    async fn insert_scheduled(&mut self, s: &ScheduledMessage) -> StoreResult<()> {
        let statement = o::insert_scheduled(&self.vault, s);
        o::inserted(self.run(&statement)? as u64)
    }

    async fn claim_scheduled(&mut self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        Ok(self.run(&o::claim_scheduled(id, now))? == 1)
    }

    async fn finish_scheduled(
        &mut self,
        id: Uuid,
        status: &str,
        message_id: Option<Uuid>,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let n = self.run(&o::finish_scheduled(id, status, message_id, reason, now))?;
        crate::common::one_row(n as u64, "scheduled message", id)
    }

    async fn defer_scheduled(
        &mut self,
        id: Uuid,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(self.run(&o::defer_scheduled(id, until, reason, now))? == 1)
    }

    async fn cancel_scheduled(&mut self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        Ok(self.run(&o::cancel_scheduled(id, now))? == 1)
    }
}
