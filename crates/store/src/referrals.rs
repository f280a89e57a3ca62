//! The store's part of referrals: reads on every [`crate::Store`] and writes inside every
//! [`crate::WriteTx`] (supertraits of both), implemented in `common/referrals.rs` and
//! `sqlite/writer/referrals.rs`. Source, reason and close note are sealed together
//! (AAD: referral id + `referrals.details`); statuses and times are in the clear.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::referrals::{Referral, ReferralEvent, ReferralStatus};

use crate::StoreResult;

#[async_trait]
pub trait ReferralReads: Send + Sync {
    async fn referral_by_id(&self, id: Uuid) -> StoreResult<Option<Referral>>;
    /// Every referral, newest first (a practice has hundreds, not millions).
    async fn referrals(&self) -> StoreResult<Vec<Referral>>;
    /// Referrals whose `next_action_at` is at or before `now`, oldest first.
    async fn referrals_due(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Referral>>;
    /// The referral's status history, oldest first.
    async fn referral_events(&self, id: Uuid) -> StoreResult<Vec<ReferralEvent>>;
    /// Every status change in `[start, end)` (the report's funnel).
    async fn referral_events_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> StoreResult<Vec<ReferralEvent>>;
}

#[async_trait]
pub trait ReferralWrites: Send {
    async fn insert_referral(&mut self, r: &Referral) -> StoreResult<()>;
    /// Overwrites status, details, conversation, times and follow-up count, only when the
    /// stored row's `updated_at` is still `previous` (nobody changed it since it was read).
    /// `false` when it was changed (nothing written).
    async fn update_referral(&mut self, r: &Referral, previous: DateTime<Utc>) -> StoreResult<bool>;
    /// Records that the referral reached a status (once per status: a repeat is ignored).
    async fn insert_referral_event(&mut self, e: &ReferralEvent) -> StoreResult<()>;
    /// The patient replied in `conversation_id`: every `contacted` referral of that
    /// conversation moves to `replied` (history included, nothing more to send). Returns
    /// how many moved.
    async fn referral_replied(&mut self, conversation_id: Uuid, at: DateTime<Utc>) -> StoreResult<u64>;
}

/// Shorthand used by the services for a status that was reached.
pub fn event(referral_id: Uuid, status: ReferralStatus, at: DateTime<Utc>, actor: Option<Uuid>) -> ReferralEvent {
    ReferralEvent { referral_id, status, at, actor }
}
