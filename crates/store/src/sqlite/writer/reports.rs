//! The SQLite writer's `ReportWrites`: the shared statement of `common/reports.rs`, run on
//! the writer thread's connection.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::SqliteTx;
use crate::reports::StoredDay;
use crate::{ReportWrites, StoreResult};

#[async_trait]
impl ReportWrites for SqliteTx {
    async fn put_report_day(&mut self, d: &StoredDay) -> StoreResult<()> {
        self.run(&crate::common::reports::put_report_day(d)?)?;
        Ok(())
    }

    async fn delete_report_days(&mut self, from: NaiveDate, to: NaiveDate) -> StoreResult<u64> {
        Ok(self.run(&crate::common::reports::delete_report_days(from, to))? as u64)
    }
}
