//! The SQLite writer's audit chain, legal holds and purges: the shared statements of
//! `common/audit.rs`, run on the writer thread's connection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::ToSql;
use uuid::Uuid;

use frontdesk_domain::model::AuditEvent;

use super::{SqliteTx, inserted, sql_err};
use crate::audit::{AuditWrites, GENESIS_HASH, LegalHold, PurgeKind};
use crate::common::audit as a;
use crate::{StoreError, StoreResult};

impl SqliteTx {
    /// Appends one entry to the chain after the head (created on first use).
    pub(super) fn append_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let head = self
            .query_opt(a::LOCK_HEAD, &[&GENESIS_HASH], |r| {
                Ok((r.get::<_, i64>(0).map_err(sql_err)?, r.get::<_, String>(1).map_err(sql_err)?))
            })?
            .ok_or_else(|| StoreError::Other("the audit head could not be read".into()))?;
        let statements = a::append(&self.vault, head, std::slice::from_ref(event));
        let last = statements.len() - 1;
        for (i, s) in statements.iter().enumerate() {
            let n = self.run(s)?;
            if i < last {
                inserted(n, "an audit event with this id")?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AuditWrites for SqliteTx {
    async fn set_legal_hold(&mut self, hold: &LegalHold) -> StoreResult<()> {
        self.run(&a::set_legal_hold(hold))?;
        Ok(())
    }

    async fn clear_legal_hold(&mut self, patient_id: Uuid) -> StoreResult<bool> {
        Ok(self.run(&a::clear_legal_hold(patient_id))? > 0)
    }

    async fn purge_before(&mut self, kind: PurgeKind, cutoff: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        let cutoff = a::cutoff_ms(cutoff);
        let limit = i64::from(limit);
        let params: [&dyn ToSql; 2] = [&cutoff, &limit];
        let ids: Vec<Uuid> = self.query_all(a::purge_candidates(kind), &params, |r| r.get(0).map_err(sql_err))?;
        if ids.is_empty() {
            return Ok(0);
        }
        let mut last = 0;
        for s in a::purge_statements(kind, &ids) {
            last = self.run(&s)?;
        }
        Ok(last as u64)
    }
}
