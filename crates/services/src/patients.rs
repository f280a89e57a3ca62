//! The patient directory (minimal for now: create, list, get).

use chrono::NaiveDate;
use frontdesk_domain::E164;
use frontdesk_domain::model::{Patient, PatientStatus, new_id};

use crate::audit::{self, Actor};
use crate::{ServiceError, Services};

#[derive(Debug, Clone, Default)]
pub struct NewPatient {
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub mrn: Option<String>,
    pub phone: Option<String>,
    pub status: Option<PatientStatus>,
}

impl Services {
    pub async fn create_patient(
        &self,
        input: NewPatient,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<Patient, ServiceError> {
        let first_name = input.first_name.trim().to_string();
        let last_name = input.last_name.trim().to_string();
        if first_name.is_empty() {
            return Err(ServiceError::invalid("first_name", "is required"));
        }
        if last_name.is_empty() {
            return Err(ServiceError::invalid("last_name", "is required"));
        }
        let today = crate::now().date_naive();
        let birth_date = match input.birth_date.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => {
                let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
                    ServiceError::invalid("birth_date", format!("{raw:?} is not a date like 1984-07-31"))
                })?;
                if date > today {
                    return Err(ServiceError::invalid("birth_date", "is in the future"));
                }
                Some(date)
            }
        };
        let phone = match input.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => Some(
                E164::parse(raw, self.settings().default_region)
                    .map_err(|e| ServiceError::invalid("phone", e.to_string()))?,
            ),
        };
        let mrn = input.mrn.map(|m| m.trim().to_string()).filter(|m| !m.is_empty());
        let now = crate::now();
        let patient = Patient {
            id: new_id(),
            first_name,
            last_name,
            birth_date,
            mrn,
            phone,
            status: input.status.unwrap_or(PatientStatus::Patient),
            created_at: now,
        };
        let stored = patient.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_patient(&stored).await?;
                if let Some(phone) = &stored.phone {
                    let contact = tx.upsert_contact(phone, now).await?;
                    tx.link_contact_patient(contact.id, stored.id).await?;
                }
                tx.insert_audit(&audit::entry(
                    &actor,
                    "patient.create",
                    Some(format!("patient:{}", stored.id)),
                    ip,
                    now,
                ))
                .await
            })
        })
        .await?;
        Ok(patient)
    }
}
