//! The patient directory and chart jobs in the store: write statements (bound by either
//! driver) and the reads, expanded per backend by `define_backend!` like `forms.rs`.
//! Language and time zone are plain columns (not PHI on their own); the name + birth date
//! match key is kept only as a blind index (`patient.match`), like the MRN.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::model::Patient;
use frontdesk_domain::patient_import::{PatientExtras, match_key};

use super::statement::{Param, Statement, patient_tokens};
use super::{ms, opt_ms, seal_patient};
use crate::patients::{ChartJob, ChartJobStatus};
use crate::vault::Vault;
use crate::{StoreError, StoreResult};

/// Blind-index purpose for name + birth date lookups.
pub(crate) const MATCH_INDEX: &str = "patient.match";

fn st(sql: &'static str, params: Vec<Param>) -> Statement {
    Statement { sql: Cow::Borrowed(sql), params }
}

pub(crate) fn match_index(vault: &Vault, p: &Patient) -> Option<String> {
    match_key(&p.first_name, &p.last_name, p.birth_date).map(|k| vault.blind_index(MATCH_INDEX, &k))
}

pub(crate) fn update_patient(vault: &Vault, p: &Patient, x: &PatientExtras) -> Statement {
    let (details, mrn_index) = seal_patient(vault, p);
    st(
        "UPDATE patients SET details = $2, status = $3, mrn_index = $4, match_index = $5, language = $6, \
         time_zone = $7 WHERE id = $1",
        vec![
            Param::Uuid(p.id),
            Param::Bytes(details),
            Param::Text(p.status.as_str().into()),
            Param::OptText(mrn_index),
            Param::OptText(match_index(vault, p)),
            Param::OptText(x.language.clone()),
            Param::OptText(x.time_zone.clone()),
        ],
    )
}

pub(crate) fn set_patient_extras(vault: &Vault, p: &Patient, x: &PatientExtras) -> Statement {
    st(
        "UPDATE patients SET match_index = $2, language = $3, time_zone = $4 WHERE id = $1",
        vec![
            Param::Uuid(p.id),
            Param::OptText(match_index(vault, p)),
            Param::OptText(x.language.clone()),
            Param::OptText(x.time_zone.clone()),
        ],
    )
}

pub(crate) fn clear_patient_terms(id: Uuid) -> Statement {
    st("DELETE FROM patient_terms WHERE patient_id = $1", vec![Param::Uuid(id)])
}

pub(crate) fn tokens(vault: &Vault, p: &Patient) -> Vec<String> {
    patient_tokens(vault, p)
}

pub(crate) fn unlink_contact_patient(contact_id: Uuid, patient_id: Uuid) -> Statement {
    st(
        "DELETE FROM contact_patients WHERE contact_id = $1 AND patient_id = $2",
        vec![Param::Uuid(contact_id), Param::Uuid(patient_id)],
    )
}

pub(crate) fn insert_chart_job(j: &ChartJob) -> Statement {
    st(
        "INSERT INTO chart_jobs (id, conversation_id, status, attempts, next_attempt_at, lease_owner, lease_until, \
         last_error, requested_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(j.id),
            Param::Uuid(j.conversation_id),
            Param::Text(j.status.as_str().into()),
            Param::Int(j.attempts),
            Param::Int(ms(j.next_attempt_at)),
            Param::OptText(j.lease_owner.clone()),
            Param::OptInt(opt_ms(j.lease_until)),
            Param::OptText(j.last_error.clone()),
            Param::OptUuid(j.requested_by),
            Param::Int(ms(j.created_at)),
            Param::Int(ms(j.updated_at)),
        ],
    )
}

pub(crate) fn update_chart_job(j: &ChartJob) -> Statement {
    st(
        "UPDATE chart_jobs SET status = $2, attempts = $3, next_attempt_at = $4, lease_owner = $5, lease_until = $6, \
         last_error = $7, updated_at = $8 WHERE id = $1",
        vec![
            Param::Uuid(j.id),
            Param::Text(j.status.as_str().into()),
            Param::Int(j.attempts),
            Param::Int(ms(j.next_attempt_at)),
            Param::OptText(j.lease_owner.clone()),
            Param::OptInt(opt_ms(j.lease_until)),
            Param::OptText(j.last_error.clone()),
            Param::Int(ms(j.updated_at)),
        ],
    )
}

/// The outer `WHERE` repeats the lease condition: PostgreSQL re-checks it on the row it is
/// about to update, so a job leased by a concurrent claimer in the meantime is skipped.
pub(crate) fn claim_chart_jobs(owner: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> Statement {
    st(
        "UPDATE chart_jobs SET lease_owner = $1, lease_until = $2 \
         WHERE status = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3) \
         AND id IN (SELECT id FROM chart_jobs WHERE status = 'pending' AND next_attempt_at <= $3 \
         AND (lease_until IS NULL OR lease_until <= $3) ORDER BY next_attempt_at, id LIMIT $4)",
        vec![Param::Text(owner.into()), Param::Int(ms(lease_until)), Param::Int(ms(now)), Param::Int(i64::from(limit))],
    )
}

pub(crate) fn parse_chart_status(s: &str) -> StoreResult<ChartJobStatus> {
    ChartJobStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("chart_jobs.status: unknown {s:?}")))
}

/// The reads, expanded inside each backend's `q` module (they use its row helpers).
macro_rules! patient_reads {
    () => {
        fn map_chart_job(r: &DbRow) -> StoreResult<crate::patients::ChartJob> {
            Ok(crate::patients::ChartJob {
                id: get(r, "", "id")?,
                conversation_id: get(r, "", "conversation_id")?,
                status: crate::common::patients::parse_chart_status(&get::<String>(r, "", "status")?)?,
                attempts: get(r, "", "attempts")?,
                next_attempt_at: ts(r, "", "next_attempt_at")?,
                lease_owner: get(r, "", "lease_owner")?,
                lease_until: opt_ts(r, "", "lease_until")?,
                last_error: get(r, "", "last_error")?,
                requested_by: get(r, "", "requested_by")?,
                created_at: ts(r, "", "created_at")?,
                updated_at: ts(r, "", "updated_at")?,
            })
        }

        pub(crate) async fn patient_extras<'e, E>(
            ex: E,
            id: Uuid,
        ) -> StoreResult<frontdesk_domain::patient_import::PatientExtras>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query("SELECT language, time_zone FROM patients WHERE id = $1")
                .bind(id)
                .fetch_optional(ex)
                .await
                .map_err(db_err)?;
            Ok(match row {
                None => Default::default(),
                Some(r) => frontdesk_domain::patient_import::PatientExtras {
                    language: get(&r, "", "language")?,
                    time_zone: get(&r, "", "time_zone")?,
                },
            })
        }

        /// Patients whose `column` (a blind index) is one of `values`.
        pub(crate) async fn patients_by_index<'e, E>(
            ex: E,
            vault: &Vault,
            column: &'static str,
            values: Vec<String>,
        ) -> StoreResult<Vec<Patient>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            if values.is_empty() {
                return Ok(Vec::new());
            }
            let mut b = sqlx::QueryBuilder::<Db>::new("SELECT id, details, status, created_at FROM patients WHERE ");
            b.push(column);
            b.push(" IN (");
            let mut sep = b.separated(", ");
            for v in values {
                sep.push_bind(v);
            }
            b.push(") ORDER BY created_at, id");
            let rows = b.build().fetch_all(ex).await.map_err(db_err)?;
            all(rows, |r| map_patient(r, vault))
        }

        pub(crate) async fn patients_by_phones<'e, E>(
            ex: E,
            vault: &Vault,
            phones: &[E164],
        ) -> StoreResult<Vec<(E164, Patient)>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            if phones.is_empty() {
                return Ok(Vec::new());
            }
            let mut b = sqlx::QueryBuilder::<Db>::new(
                "SELECT c.phone AS link_phone, p.id, p.details, p.status, p.created_at FROM contacts c \
                 JOIN contact_patients cp ON cp.contact_id = c.id JOIN patients p ON p.id = cp.patient_id \
                 WHERE c.phone IN (",
            );
            let mut sep = b.separated(", ");
            for ph in phones {
                sep.push_bind(ph.as_str().to_owned());
            }
            b.push(") ORDER BY p.created_at, p.id");
            let rows = b.build().fetch_all(ex).await.map_err(db_err)?;
            all(rows, |r| {
                Ok((parse_e164("contacts.phone", &get::<String>(r, "", "link_phone")?)?, map_patient(r, vault)?))
            })
        }

        pub(crate) async fn patient_phones<'e, E>(ex: E, id: Uuid) -> StoreResult<Vec<E164>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(
                "SELECT c.phone FROM contacts c JOIN contact_patients cp ON cp.contact_id = c.id \
                 WHERE cp.patient_id = $1 ORDER BY c.phone",
            )
            .bind(id)
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| parse_e164("contacts.phone", &get::<String>(r, "", "phone")?))
        }

        pub(crate) async fn count_patients<'e, E>(ex: E) -> StoreResult<i64>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM patients").fetch_one(ex).await.map_err(db_err)?;
            get(&row, "", "n")
        }

        pub(crate) async fn chart_jobs_where<'e, E>(
            ex: E,
            by_owner: bool,
            owner: Option<String>,
            conversation: Option<Uuid>,
        ) -> StoreResult<Vec<crate::patients::ChartJob>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let sql = if by_owner {
                "SELECT id, conversation_id, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, \
                 requested_by, created_at, updated_at FROM chart_jobs WHERE lease_owner = $1 AND status = 'pending' \
                 ORDER BY next_attempt_at, id"
            } else {
                "SELECT id, conversation_id, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, \
                 requested_by, created_at, updated_at FROM chart_jobs WHERE conversation_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT 20"
            };
            let q = sqlx::query(sql);
            let q = match (owner, conversation) {
                (Some(o), _) => q.bind(o),
                (None, c) => q.bind(c),
            };
            let rows = q.fetch_all(ex).await.map_err(db_err)?;
            all(rows, map_chart_job)
        }
    };
}

/// The `PatientReads` impl for a backend's store and (PostgreSQL) the `PatientWrites` impl
/// for its transaction, expanded by `define_backend!`.
macro_rules! patient_backend {
    (store: $store:ty, writes: none) => {
        crate::common::patients::patient_reads_impl!($store);
    };
    (store: $store:ty, writes: sqlx (conn: $conn:ty, tx: $tx:ty)) => {
        crate::common::patients::patient_reads_impl!($store);

        #[async_trait::async_trait]
        impl crate::PatientWrites for $tx {
            async fn update_patient(
                &mut self,
                p: &frontdesk_domain::model::Patient,
                x: &frontdesk_domain::patient_import::PatientExtras,
            ) -> crate::StoreResult<()> {
                use crate::common::patients as pt;
                let (c, v) = self.parts();
                let n = q::exec_statement(&mut *c, &pt::update_patient(v, p, x)).await?;
                crate::common::one_row(n, "patient", p.id)?;
                q::exec_statement(&mut *c, &pt::clear_patient_terms(p.id)).await?;
                let tokens = pt::tokens(v, p);
                if let Some(terms) =
                    crate::common::statement::tokens_insert("patient_terms (term, patient_id)", p.id, tokens)
                {
                    q::exec_statement(c, &terms).await?;
                }
                Ok(())
            }

            async fn set_patient_extras(
                &mut self,
                p: &frontdesk_domain::model::Patient,
                x: &frontdesk_domain::patient_import::PatientExtras,
            ) -> crate::StoreResult<()> {
                let (c, v) = self.parts();
                let n = q::exec_statement(c, &crate::common::patients::set_patient_extras(v, p, x)).await?;
                crate::common::one_row(n, "patient", p.id)
            }

            async fn unlink_contact_patient(
                &mut self,
                contact_id: uuid::Uuid,
                patient_id: uuid::Uuid,
            ) -> crate::StoreResult<()> {
                let s = crate::common::patients::unlink_contact_patient(contact_id, patient_id);
                q::exec_statement(self.parts().0, &s).await?;
                Ok(())
            }

            async fn insert_chart_job(&mut self, j: &crate::patients::ChartJob) -> crate::StoreResult<()> {
                let n = q::exec_statement(self.parts().0, &crate::common::patients::insert_chart_job(j)).await?;
                crate::common::forms::one(n, "a chart job with this id")
            }

            async fn update_chart_job(&mut self, j: &crate::patients::ChartJob) -> crate::StoreResult<()> {
                let n = q::exec_statement(self.parts().0, &crate::common::patients::update_chart_job(j)).await?;
                crate::common::one_row(n, "chart job", j.id)
            }

            async fn claim_chart_jobs(
                &mut self,
                owner: &str,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> crate::StoreResult<u64> {
                let s = crate::common::patients::claim_chart_jobs(owner, now, lease_until, limit);
                q::exec_statement(self.parts().0, &s).await
            }
        }
    };
}

macro_rules! patient_reads_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::PatientReads for $store {
            async fn patient_extras(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<frontdesk_domain::patient_import::PatientExtras> {
                q::patient_extras(self.reader(), id).await
            }

            async fn patients_by_mrns(
                &self,
                mrns: &[String],
            ) -> crate::StoreResult<Vec<frontdesk_domain::model::Patient>> {
                let v = self.vault();
                let values = mrns.iter().map(|m| v.blind_index(crate::common::MRN_INDEX, m)).collect();
                q::patients_by_index(self.reader(), v, "mrn_index", values).await
            }

            async fn patients_by_match_keys(
                &self,
                keys: &[String],
            ) -> crate::StoreResult<Vec<frontdesk_domain::model::Patient>> {
                let v = self.vault();
                let values = keys.iter().map(|k| v.blind_index(crate::common::patients::MATCH_INDEX, k)).collect();
                q::patients_by_index(self.reader(), v, "match_index", values).await
            }

            async fn patients_by_phones(
                &self,
                phones: &[frontdesk_domain::E164],
            ) -> crate::StoreResult<Vec<(frontdesk_domain::E164, frontdesk_domain::model::Patient)>> {
                q::patients_by_phones(self.reader(), self.vault(), phones).await
            }

            async fn patient_phones(&self, id: uuid::Uuid) -> crate::StoreResult<Vec<frontdesk_domain::E164>> {
                q::patient_phones(self.reader(), id).await
            }

            async fn count_patients(&self) -> crate::StoreResult<i64> {
                q::count_patients(self.reader()).await
            }

            async fn chart_jobs_leased_to(&self, owner: &str) -> crate::StoreResult<Vec<crate::patients::ChartJob>> {
                q::chart_jobs_where(self.reader(), true, Some(owner.to_owned()), None).await
            }

            async fn chart_jobs_for_conversation(
                &self,
                conversation_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<crate::patients::ChartJob>> {
                q::chart_jobs_where(self.reader(), false, None, Some(conversation_id)).await
            }
        }
    };
}

pub(crate) use {patient_backend, patient_reads, patient_reads_impl};
