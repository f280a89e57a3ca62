//! The patient directory: create, edit, view (audited `patient.view`), list and search.
//! Patients reach phones through contacts (`contact_patients`); several patients linked to
//! one phone (a family) are shown explicitly on each of their pages.

use chrono::NaiveDate;
use frontdesk_domain::E164;
use frontdesk_domain::model::{Patient, PatientId, PatientStatus, new_id};
use frontdesk_domain::patient_import::{PatientExtras, check_language};
use frontdesk_domain::search::query_terms;
use frontdesk_store::ConversationSummary;

use crate::audit::{self, Actor};
use crate::inbox::StaffContext;
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

/// Every editable field of a patient, as typed (the dashboard's form).
#[derive(Debug, Clone, Default)]
pub struct PatientInput {
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub mrn: String,
    /// Phone numbers, one per line or separated by commas; the first is the one texts go to.
    pub phones: String,
    /// `patient` or `prospective`.
    pub status: String,
    /// A language code such as `en` or `es`.
    pub language: String,
    /// An IANA time zone such as `America/Chicago`.
    pub time_zone: String,
}

/// Validated input.
struct Checked {
    first_name: String,
    last_name: String,
    birth_date: Option<NaiveDate>,
    mrn: Option<String>,
    phones: Vec<E164>,
    status: PatientStatus,
    extras: PatientExtras,
}

/// Another patient who shares one of this patient's phones (a family).
#[derive(Debug, Clone)]
pub struct SharedPhone {
    pub phone: E164,
    pub others: Vec<Patient>,
}

/// What the patient page shows.
#[derive(Debug, Clone)]
pub struct PatientPage {
    pub patient: Patient,
    pub extras: PatientExtras,
    pub phones: Vec<E164>,
    pub shared: Vec<SharedPhone>,
    /// Conversations about this patient the viewer may see, newest first.
    pub conversations: Vec<ConversationSummary>,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Services {
    fn check_patient(&self, input: &PatientInput) -> Result<Checked, ServiceError> {
        let first_name = input.first_name.trim().to_string();
        let last_name = input.last_name.trim().to_string();
        if first_name.is_empty() {
            return Err(ServiceError::invalid("first_name", "is required"));
        }
        if last_name.is_empty() {
            return Err(ServiceError::invalid("last_name", "is required"));
        }
        for (field, v) in [("first_name", &first_name), ("last_name", &last_name)] {
            if v.chars().count() > 100 {
                return Err(ServiceError::invalid(field, "is longer than 100 characters"));
            }
        }
        let today = crate::now().date_naive();
        let birth_date = match opt(&input.birth_date) {
            None => None,
            Some(raw) => {
                let date = NaiveDate::parse_from_str(&raw, "%Y-%m-%d").map_err(|_| {
                    ServiceError::invalid("birth_date", format!("{raw:?} is not a date like 1984-07-31"))
                })?;
                if date > today {
                    return Err(ServiceError::invalid("birth_date", "is in the future"));
                }
                Some(date)
            }
        };
        let mut phones: Vec<E164> = Vec::new();
        for raw in input.phones.split([',', '\n', ';']).map(str::trim).filter(|s| !s.is_empty()) {
            let phone = E164::parse(raw, self.settings().default_region)
                .map_err(|e| ServiceError::invalid("phones", format!("{raw:?}: {e}")))?;
            if !phones.contains(&phone) {
                phones.push(phone);
            }
        }
        let mrn = opt(&input.mrn);
        if mrn.as_ref().is_some_and(|m| m.chars().count() > 64) {
            return Err(ServiceError::invalid("mrn", "is longer than 64 characters"));
        }
        let status = match input.status.trim() {
            "" => PatientStatus::Patient,
            s => s.parse::<PatientStatus>().map_err(|e| ServiceError::invalid("status", e))?,
        };
        let language = opt(&input.language);
        if let Some(l) = &language {
            check_language(l).map_err(|e| ServiceError::invalid("language", e))?;
        }
        let time_zone = opt(&input.time_zone);
        if let Some(tz) = &time_zone {
            frontdesk_domain::parse_time_zone(tz).map_err(|e| ServiceError::invalid("time_zone", e))?;
        }
        Ok(Checked {
            first_name,
            last_name,
            birth_date,
            mrn,
            phones,
            status,
            extras: PatientExtras { language, time_zone },
        })
    }

    pub async fn create_patient(
        &self,
        input: NewPatient,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<Patient, ServiceError> {
        let form = PatientInput {
            first_name: input.first_name,
            last_name: input.last_name,
            birth_date: input.birth_date.unwrap_or_default(),
            mrn: input.mrn.unwrap_or_default(),
            phones: input.phone.unwrap_or_default().replace([',', ';', '\n'], " "),
            status: input.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            ..PatientInput::default()
        };
        if !form.phones.trim().is_empty() {
            // One number only here: validate it under the API's field name.
            E164::parse(&form.phones, self.settings().default_region)
                .map_err(|e| ServiceError::invalid("phone", e.to_string()))?;
        }
        self.create_patient_from(form, actor, ip).await
    }

    /// Creates a patient from the dashboard's form (every field), audited `patient.create`.
    pub async fn create_patient_from(
        &self,
        input: PatientInput,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<Patient, ServiceError> {
        let c = self.check_patient(&input)?;
        let now = crate::now();
        let patient = Patient {
            id: new_id(),
            first_name: c.first_name,
            last_name: c.last_name,
            birth_date: c.birth_date,
            mrn: c.mrn,
            phone: c.phones.first().cloned(),
            status: c.status,
            created_at: now,
        };
        let stored = patient.clone();
        let (phones, extras) = (c.phones, c.extras);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_patient(&stored).await?;
                tx.set_patient_extras(&stored, &extras).await?;
                for phone in &phones {
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

    /// Changes every field of a patient (staff and admins), audited `patient.update`. Phones
    /// no longer listed are unlinked; their conversations stay.
    pub async fn update_patient(
        &self,
        ctx: &StaffContext,
        id: PatientId,
        input: PatientInput,
        ip: Option<String>,
    ) -> Result<Patient, ServiceError> {
        ctx.require_can_act()?;
        let existing = self.store.patient_by_id(id).await?.ok_or_else(|| ServiceError::NotFound("patient".into()))?;
        let c = self.check_patient(&input)?;
        let linked = self.store.patient_phones(id).await?;
        let patient = Patient {
            first_name: c.first_name,
            last_name: c.last_name,
            birth_date: c.birth_date,
            mrn: c.mrn,
            phone: c.phones.first().cloned(),
            status: c.status,
            ..existing
        };
        let stored = patient.clone();
        let (phones, extras) = (c.phones, c.extras);
        let actor = Actor::User(ctx.user.id);
        let now = crate::now();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.update_patient(&stored, &extras).await?;
                for phone in &phones {
                    let contact = tx.upsert_contact(phone, now).await?;
                    tx.link_contact_patient(contact.id, stored.id).await?;
                }
                for old in linked.iter().filter(|p| !phones.contains(p)) {
                    let contact = tx.upsert_contact(old, now).await?;
                    tx.unlink_contact_patient(contact.id, stored.id).await?;
                }
                tx.insert_audit(&audit::entry(
                    &actor,
                    "patient.update",
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

    /// The patient's page, audited `patient.view` (when `ip` is given or not: every view).
    pub async fn view_patient(
        &self,
        ctx: &StaffContext,
        id: PatientId,
        ip: Option<String>,
    ) -> Result<PatientPage, ServiceError> {
        let patient = self.store.patient_by_id(id).await?.ok_or_else(|| ServiceError::NotFound("patient".into()))?;
        let (extras, phones, conversations) = tokio::try_join!(
            self.store.patient_extras(id),
            self.store.patient_phones(id),
            self.store.patient_conversations(id),
        )?;
        let mut shared = Vec::new();
        let linked = self.store.patients_by_phones(&phones).await?;
        for phone in &phones {
            let others: Vec<Patient> =
                linked.iter().filter(|(ph, p)| ph == phone && p.id != id).map(|(_, p)| p.clone()).collect();
            if !others.is_empty() {
                shared.push(SharedPhone { phone: phone.clone(), others });
            }
        }
        let conversations = conversations.into_iter().filter(|s| ctx.can_see(&s.conversation)).collect();
        self.audit_now(Actor::User(ctx.user.id), "patient.view", Some(format!("patient:{id}")), ip).await?;
        Ok(PatientPage { patient, extras, phones, shared, conversations })
    }

    /// The directory: newest-created first pages, or a search by name words, phone or MRN.
    /// A search is audited `patient.search` (not its text: it may be PHI).
    pub async fn patient_directory(
        &self,
        ctx: &StaffContext,
        q: &str,
        offset: u32,
        ip: Option<String>,
    ) -> Result<Vec<Patient>, ServiceError> {
        let q = q.trim();
        if q.chars().count() > 200 {
            return Err(ServiceError::invalid("q", "search for at most 200 characters"));
        }
        if q.is_empty() {
            self.audit_now(Actor::User(ctx.user.id), "patient.list", None, ip).await?;
            return Ok(self.store.list_patients(50, offset).await?);
        }
        let mut out = Vec::new();
        let digits = q.chars().filter(char::is_ascii_digit).count();
        let looks_like_phone = digits >= 7 && q.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if looks_like_phone && let Ok(phone) = E164::parse(q, self.settings().default_region) {
            out.extend(self.store.patients_by_phones(std::slice::from_ref(&phone)).await?.into_iter().map(|(_, p)| p));
        }
        for p in self.store.patients_by_mrn(q).await? {
            if !out.iter().any(|x: &Patient| x.id == p.id) {
                out.push(p);
            }
        }
        for p in self.store.search_patients(&query_terms(q), 50).await? {
            if !out.iter().any(|x: &Patient| x.id == p.id) {
                out.push(p);
            }
        }
        self.audit_now(Actor::User(ctx.user.id), "patient.search", None, ip).await?;
        Ok(out)
    }
}
