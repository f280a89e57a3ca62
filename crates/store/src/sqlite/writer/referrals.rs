//! The SQLite writer's `ReferralWrites`: the shared statements of `common/referrals.rs`, run
//! on the writer thread's connection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::referrals::{Referral, ReferralEvent};

use super::SqliteTx;
use crate::common::referrals as rf;
use crate::{ReferralWrites, StoreResult};

#[async_trait]
impl ReferralWrites for SqliteTx {
    async fn insert_referral(&mut self, r: &Referral) -> StoreResult<()> {
        let statement = rf::insert_referral(&self.vault, r)?;
        crate::common::forms::one(self.run(&statement)? as u64, "a referral with this id")
    }

    async fn update_referral(&mut self, r: &Referral, previous: DateTime<Utc>) -> StoreResult<bool> {
        let statement = rf::update_referral(&self.vault, r, previous)?;
        Ok(self.run(&statement)? == 1)
    }

    async fn insert_referral_event(&mut self, e: &ReferralEvent) -> StoreResult<()> {
        self.run(&rf::insert_event(e))?;
        Ok(())
    }

    async fn referral_replied(&mut self, conversation_id: Uuid, at: DateTime<Utc>) -> StoreResult<u64> {
        let [history, moved] = rf::replied(conversation_id, at);
        self.run(&history)?;
        Ok(self.run(&moved)? as u64)
    }
}
