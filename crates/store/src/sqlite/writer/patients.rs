//! The SQLite writer's `PatientWrites`: the shared statements of `common/patients.rs`, run on
//! the writer thread's connection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::model::Patient;
use frontdesk_domain::patient_import::PatientExtras;

use super::SqliteTx;
use crate::common::patients as pt;
use crate::common::statement;
use crate::patients::ChartJob;
use crate::{PatientWrites, StoreResult};

#[async_trait]
impl PatientWrites for SqliteTx {
    async fn update_patient(&mut self, p: &Patient, x: &PatientExtras) -> StoreResult<()> {
        crate::common::one_row(self.run(&pt::update_patient(&self.vault, p, x))? as u64, "patient", p.id)?;
        self.run(&pt::clear_patient_terms(p.id))?;
        self.insert_tokens(statement::INSERT_PATIENT_TERM, p.id, &pt::tokens(&self.vault, p))
    }

    async fn set_patient_extras(&mut self, p: &Patient, x: &PatientExtras) -> StoreResult<()> {
        crate::common::one_row(self.run(&pt::set_patient_extras(&self.vault, p, x))? as u64, "patient", p.id)
    }

    async fn unlink_contact_patient(&mut self, contact_id: Uuid, patient_id: Uuid) -> StoreResult<()> {
        self.run(&pt::unlink_contact_patient(contact_id, patient_id))?;
        Ok(())
    }

    async fn insert_chart_job(&mut self, j: &ChartJob) -> StoreResult<()> {
        crate::common::forms::one(self.run(&pt::insert_chart_job(j))? as u64, "a chart job with this id")
    }

    async fn update_chart_job(&mut self, j: &ChartJob) -> StoreResult<()> {
        crate::common::one_row(self.run(&pt::update_chart_job(j))? as u64, "chart job", j.id)
    }

    async fn claim_chart_jobs(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64> {
        Ok(self.run(&pt::claim_chart_jobs(owner, now, lease_until, limit))? as u64)
    }
}
