//! The SQLite writer's `FrontDoorWrites`: the shared statements of `common/front_door.rs`, run
//! on the writer thread's connection.

use async_trait::async_trait;
use uuid::Uuid;

use frontdesk_domain::front_door::ConversationSource;

use super::SqliteTx;
use crate::common::front_door as fd;
use crate::front_door::PolicyVersion;
use crate::{FrontDoorWrites, StoreResult};

#[async_trait]
impl FrontDoorWrites for SqliteTx {
    async fn insert_sms_policy(&mut self, v: &PolicyVersion) -> StoreResult<()> {
        let statement = fd::insert_sms_policy(v)?;
        fd::inserted(self.run(&statement)? as u64)
    }

    async fn set_conversation_origin(
        &mut self,
        id: Uuid,
        source: ConversationSource,
        reason_key: Option<&str>,
    ) -> StoreResult<()> {
        let n = self.run(&fd::set_conversation_origin(id, source, reason_key))?;
        crate::common::one_row(n as u64, "conversation", id)
    }
}
