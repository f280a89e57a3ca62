//! The store's part of reports: one practice-local day's facts (no bodies, nothing opened)
//! and the stored day rollups. Reads on every [`crate::Store`], the rollup write inside every
//! [`crate::WriteTx`] (supertraits of both), implemented in `common/reports.rs` and
//! `sqlite/writer/reports.rs`.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use frontdesk_domain::reports::{DayFacts, DayRollup};

use crate::StoreResult;

/// A rollup as kept in `report_days`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDay {
    pub day: NaiveDate,
    /// The IANA zone the day was cut in; a rollup for another zone is stale.
    pub time_zone: String,
    pub computed_at: DateTime<Utc>,
    pub rollup: DayRollup,
}

#[async_trait]
pub trait ReportReads: Send + Sync {
    /// The facts of the day `[start, end)` (UTC bounds of the practice-local `day`): its
    /// messages, the conversations they (or the day's openings, closings and forms) belong
    /// to, SMS consent revocations, and form requests sent or submitted.
    async fn report_day_facts(&self, day: NaiveDate, start: DateTime<Utc>, end: DateTime<Utc>)
    -> StoreResult<DayFacts>;
    /// Stored rollups of the days in `[from, to]`, oldest first. A row whose JSON no longer
    /// reads is left out (it is recomputed).
    async fn report_days(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<StoredDay>>;
}

#[async_trait]
pub trait ReportWrites: Send {
    /// Inserts or replaces the day's rollup.
    async fn put_report_day(&mut self, day: &StoredDay) -> StoreResult<()>;
    /// Forgets the stored rollups of `[from, to]` (they are recomputed on next use); returns
    /// how many there were.
    async fn delete_report_days(&mut self, from: NaiveDate, to: NaiveDate) -> StoreResult<u64>;
}
