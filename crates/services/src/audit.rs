//! Audit entries: who did what to which record, and from where.

use chrono::{DateTime, Utc};
use frontdesk_domain::export::csv_field;
use frontdesk_domain::model::{AuditEvent, new_id};

/// Who acted: a staff user, an API token, a provider, or the system itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(uuid::Uuid),
    Token(uuid::Uuid),
    Provider(&'static str),
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Token(id) => format!("token:{id}"),
            Actor::Provider(p) => format!("provider:{p}"),
            Actor::System => "system".to_string(),
        }
    }
}

pub fn entry(actor: &Actor, action: &str, target: Option<String>, ip: Option<String>, at: DateTime<Utc>) -> AuditEvent {
    AuditEvent { id: new_id(), at, actor: actor.label(), action: action.to_string(), target, ip, detail: None }
}

// ---- browsing and exporting the log (auditors and admins) ----------------------------------

use std::collections::HashMap;

use chrono::{NaiveDate, TimeZone};
use frontdesk_domain::model::Role;
use frontdesk_store::audit::AuditFilter;

use crate::inbox::StaffContext;
use crate::{ServiceError, Services};

/// Entries on one page of `/audit`.
pub const AUDIT_PAGE_SIZE: u32 = 50;
/// Most rows one CSV export holds (a narrower filter gets the rest).
pub const AUDIT_CSV_MAX_ROWS: u32 = 100_000;

/// Who reads the audit log or exports a patient's record: an admin or auditor signed in to
/// the dashboard, or an API token (the admin API).
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    Staff(&'a StaffContext),
    Token(uuid::Uuid),
}

impl Reader<'_> {
    pub fn actor(&self) -> Actor {
        match self {
            Reader::Staff(ctx) => Actor::User(ctx.user.id),
            Reader::Token(id) => Actor::Token(*id),
        }
    }

    /// Admins and auditors (and API tokens); staff answer patients but do not read the
    /// practice's audit trail or bulk records.
    pub fn require_records_access(&self) -> Result<(), ServiceError> {
        match self {
            Reader::Staff(ctx) if !matches!(ctx.user.role, Role::Admin | Role::Auditor) => {
                Err(ServiceError::Forbidden("only admins and auditors can do this".into()))
            }
            _ => Ok(()),
        }
    }
}

/// The filters of `/audit` as typed: blank values mean "any". Dates are `YYYY-MM-DD` days in
/// the practice's time zone, both inclusive.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<String>,
    pub until: Option<String>,
    /// 1-based.
    pub page: Option<u32>,
}

/// One row of the log, with the acting user's name when the actor is a user.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditRow {
    pub id: uuid::Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    pub page: u32,
    pub has_next: bool,
}

fn blank_to_none(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl Services {
    /// Turns typed filters into a store filter, naming the field that is wrong.
    pub fn audit_filter(&self, q: &AuditQuery) -> Result<AuditFilter, ServiceError> {
        let tz = self.settings().time_zone;
        let day = |field: &str, raw: &Option<String>| -> Result<Option<NaiveDate>, ServiceError> {
            blank_to_none(raw)
                .map(|s| {
                    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                        .map_err(|_| ServiceError::invalid(field, format!("{s:?} is not a date like 2026-01-31")))
                })
                .transpose()
        };
        let start_of = |d: NaiveDate| {
            let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
            tz.from_local_datetime(&midnight)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| midnight.and_utc())
        };
        let from = day("from", &q.from)?;
        let until = day("until", &q.until)?;
        if let (Some(f), Some(u)) = (from, until)
            && u < f
        {
            return Err(ServiceError::invalid("until", "is before the from date"));
        }
        let page = q.page.unwrap_or(1);
        if page == 0 {
            return Err(ServiceError::invalid("page", "starts at 1"));
        }
        Ok(AuditFilter {
            actor: blank_to_none(&q.actor),
            action: blank_to_none(&q.action),
            target: blank_to_none(&q.target),
            from: from.map(start_of),
            until: until.and_then(|u| u.succ_opt()).map(start_of),
            limit: AUDIT_PAGE_SIZE,
            offset: (page - 1).saturating_mul(AUDIT_PAGE_SIZE),
        })
    }

    async fn audit_rows(&self, events: Vec<AuditEvent>) -> Result<Vec<AuditRow>, ServiceError> {
        let names: HashMap<String, String> =
            self.store.list_users().await?.into_iter().map(|u| (format!("user:{}", u.id), u.name)).collect();
        Ok(events
            .into_iter()
            .map(|e| AuditRow {
                actor_name: names.get(&e.actor).cloned(),
                id: e.id,
                at: e.at,
                actor: e.actor,
                action: e.action,
                target: e.target,
                ip: e.ip,
                detail: e.detail,
            })
            .collect())
    }

    /// One page of the log, newest first.
    pub async fn audit_log(&self, reader: Reader<'_>, q: &AuditQuery) -> Result<AuditPage, ServiceError> {
        reader.require_records_access()?;
        let mut filter = self.audit_filter(q)?;
        filter.limit += 1;
        let mut events = self.store.audit_search(&filter).await?;
        let has_next = events.len() > AUDIT_PAGE_SIZE as usize;
        events.truncate(AUDIT_PAGE_SIZE as usize);
        Ok(AuditPage { rows: self.audit_rows(events).await?, page: q.page.unwrap_or(1), has_next })
    }

    /// Every row the filter matches (up to [`AUDIT_CSV_MAX_ROWS`]) as CSV; the export itself
    /// is audited (`audit.export`, with the filters in the detail).
    pub async fn audit_csv(
        &self,
        reader: Reader<'_>,
        q: &AuditQuery,
        ip: Option<String>,
    ) -> Result<String, ServiceError> {
        reader.require_records_access()?;
        let mut filter = self.audit_filter(q)?;
        filter.offset = 0;
        filter.limit = 1000;
        let detail = serde_json::json!({
            "actor": filter.actor, "action": filter.action, "target": filter.target,
            "from": filter.from, "until": filter.until,
        })
        .to_string();
        let mut entry = entry(&reader.actor(), "audit.export", None, ip, crate::now());
        entry.detail = Some(detail);
        // Recorded first, so the export lists itself (and nothing is handed out unrecorded).
        frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.insert_audit(&entry).await })).await?;
        let mut out = String::from("at,actor,actor_name,action,target,ip,detail\r\n");
        let mut total = 0u32;
        loop {
            let events = self.store.audit_search(&filter).await?;
            let n = events.len() as u32;
            for r in self.audit_rows(events).await? {
                let at = r.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let fields = [Some(at), Some(r.actor), r.actor_name, Some(r.action), r.target, r.ip, r.detail];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f.as_deref().unwrap_or(""))).collect();
                out.push_str(&line.join(","));
                out.push_str("\r\n");
            }
            total += n;
            if n < filter.limit || total >= AUDIT_CSV_MAX_ROWS {
                break;
            }
            filter.offset += n;
        }
        Ok(out)
    }
}

// ---- reads through the API that leave a trace ----------------------------------------------

impl Services {
    /// One patient, read by `actor` (`patient.view`).
    pub async fn read_patient_as(
        &self,
        id: uuid::Uuid,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<frontdesk_domain::model::Patient, ServiceError> {
        let patient =
            self.store.patient_by_id(id).await?.ok_or_else(|| ServiceError::NotFound(format!("patient {id}")))?;
        self.audit_now(actor, "patient.view", Some(format!("patient:{id}")), ip).await?;
        Ok(patient)
    }

    /// A page of the patient directory, read by `actor` (`patient.list`).
    pub async fn list_patients_as(
        &self,
        limit: u32,
        offset: u32,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<Vec<frontdesk_domain::model::Patient>, ServiceError> {
        let patients = self.store.list_patients(limit, offset).await?;
        self.audit_now(actor, "patient.list", None, ip).await?;
        Ok(patients)
    }

    /// One message, read by `actor` (`message.view`).
    pub async fn view_message(
        &self,
        id: uuid::Uuid,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<frontdesk_domain::model::Message, ServiceError> {
        let message =
            self.store.message_by_id(id).await?.ok_or_else(|| ServiceError::NotFound(format!("message {id}")))?;
        self.audit_now(actor, "message.view", Some(format!("message:{id}")), ip).await?;
        Ok(message)
    }
}
