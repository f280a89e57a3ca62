//! The store's part of the patient directory (editing, import matching, preferred language
//! and time zone) and of saving conversations to the chart (durable `chart_jobs`): reads on
//! every [`crate::Store`] and writes inside every [`crate::WriteTx`] (supertraits of both),
//! implemented for both backends in `common/patients.rs` and `sqlite/writer/patients.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::E164;
use frontdesk_domain::model::{Patient, PatientId};
use frontdesk_domain::patient_import::PatientExtras;

use crate::StoreResult;

/// Where a chart export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartJobStatus {
    Pending,
    Sent,
    Failed,
}

impl ChartJobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChartJobStatus::Pending => "pending",
            ChartJobStatus::Sent => "sent",
            ChartJobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ChartJobStatus> {
        match s {
            "pending" => Some(ChartJobStatus::Pending),
            "sent" => Some(ChartJobStatus::Sent),
            "failed" => Some(ChartJobStatus::Failed),
            _ => None,
        }
    }
}

/// One export of a conversation to the practice's FHIR endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartJob {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub status: ChartJobStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    /// Why the last attempt failed (no patient data: a status and the server's message).
    pub last_error: Option<String>,
    pub requested_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait PatientReads: Send + Sync {
    /// Preferred language and time zone (empty for an unknown patient).
    async fn patient_extras(&self, id: PatientId) -> StoreResult<PatientExtras>;
    /// Patients whose MRN is one of these (through the blind index).
    async fn patients_by_mrns(&self, mrns: &[String]) -> StoreResult<Vec<Patient>>;
    /// Patients whose `patient_import::match_key` (name + birth date) is one of these.
    async fn patients_by_match_keys(&self, keys: &[String]) -> StoreResult<Vec<Patient>>;
    /// Patients linked to any of these phone numbers, with the number.
    async fn patients_by_phones(&self, phones: &[E164]) -> StoreResult<Vec<(E164, Patient)>>;
    /// The phone numbers linked to the patient (through its contacts), in number order.
    async fn patient_phones(&self, id: PatientId) -> StoreResult<Vec<E164>>;
    async fn count_patients(&self) -> StoreResult<i64>;
    /// The jobs claimed under `owner` (see [`PatientWrites::claim_chart_jobs`]).
    async fn chart_jobs_leased_to(&self, owner: &str) -> StoreResult<Vec<ChartJob>>;
    /// The conversation's exports, newest first.
    async fn chart_jobs_for_conversation(&self, conversation_id: Uuid) -> StoreResult<Vec<ChartJob>>;
}

#[async_trait]
pub trait PatientWrites: Send {
    /// Overwrites the patient's details, status, indexes, language and time zone, and
    /// re-indexes its name and phone for search.
    async fn update_patient(&mut self, patient: &Patient, extras: &PatientExtras) -> StoreResult<()>;
    /// Sets the name + birth date index, language and time zone of a patient just inserted.
    async fn set_patient_extras(&mut self, patient: &Patient, extras: &PatientExtras) -> StoreResult<()>;
    async fn unlink_contact_patient(&mut self, contact_id: Uuid, patient_id: PatientId) -> StoreResult<()>;
    async fn insert_chart_job(&mut self, job: &ChartJob) -> StoreResult<()>;
    /// Overwrites status, attempts, next attempt, lease, last error and update time.
    async fn update_chart_job(&mut self, job: &ChartJob) -> StoreResult<()>;
    /// Leases up to `limit` due pending jobs (next attempt reached, no live lease) to
    /// `owner` until `lease_until`; returns how many. Concurrent claimers never lease the
    /// same job: the lease condition is re-checked on the row being updated.
    async fn claim_chart_jobs(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64>;
}
