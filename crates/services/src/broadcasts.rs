//! Broadcasts: one template sent to a list of patients (admins and staff with the whole
//! directory in reach; auditors and department-limited staff no).
//!
//! Each recipient needs consent on record (a grant, or a text from the patient: the thread is
//! patient-initiated); others are skipped with the reason, as are opted-out contacts and
//! patients without a phone. A queued recipient becomes a `scheduled_messages` row of kind
//! automated due now, so the scheduler sends it in batches through the normal send path, and
//! quiet hours and the daily/weekly caps (`domain::bulk_rules`) apply. Rows are written
//! [`WRITE_BATCH`] recipients per transaction so a large list does not hold the writer.

use std::collections::HashSet;

use frontdesk_domain::front_door::ConversationSource;
use frontdesk_domain::model::*;
use frontdesk_domain::template::{self, TemplateValues};
use frontdesk_domain::{Direction, E164};
use frontdesk_store::ScheduledMessage;
use frontdesk_store::outreach::{
    Broadcast, BroadcastRecipient, KIND_AUTOMATED, RECIPIENT_QUEUED, RECIPIENT_SKIPPED, RecipientState,
    SCHEDULED_PENDING,
};
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::inbox::StaffContext;
use crate::outbound::validate_content;
use crate::{ServiceError, Services};

/// Most recipients in one broadcast.
pub const MAX_RECIPIENTS: usize = 5_000;
/// Recipients written per transaction.
pub const WRITE_BATCH: usize = 200;
/// Recipients shown in the preview.
pub const PREVIEW: usize = 3;
/// Variables a broadcast may use (the rest belong to a conversation or a sender).
pub const BROADCAST_VARIABLES: &[&str] = &["patient.first_name", "patient.last_name", "practice.name"];

/// One recipient as planned: the text it would get, or why it is skipped.
#[derive(Debug, Clone)]
pub struct Planned {
    pub patient: Patient,
    pub phone: Option<E164>,
    pub contact_id: Option<ContactId>,
    pub outcome: Result<String, String>,
}

/// The counts on a broadcast's status page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastCounts {
    pub total: usize,
    /// Waiting for the scheduler (due now, or deferred by quiet hours or the caps).
    pub queued: usize,
    pub sent: usize,
    pub skipped: usize,
    pub failed: usize,
}

pub fn counts(rows: &[RecipientState]) -> BroadcastCounts {
    let mut c = BroadcastCounts { total: rows.len(), ..Default::default() };
    for r in rows {
        match (r.recipient.status.as_str(), r.scheduled_status.as_deref()) {
            (RECIPIENT_SKIPPED, _) => c.skipped += 1,
            (_, Some("sent")) => c.sent += 1,
            (_, Some("failed")) | (_, Some("cancelled")) => c.failed += 1,
            _ => c.queued += 1,
        }
    }
    c
}

pub fn require_broadcaster(ctx: &StaffContext) -> Result<(), ServiceError> {
    ctx.require_can_act()?;
    if ctx.departments.is_some() {
        return Err(ServiceError::Forbidden(
            "broadcasts reach the whole patient directory; ask an admin or a colleague without department limits"
                .into(),
        ));
    }
    Ok(())
}

/// The recipients as typed: MRNs or phone numbers, one per line (commas and semicolons too).
fn entries(raw: &str) -> Result<Vec<String>, ServiceError> {
    let mut seen = HashSet::new();
    let list: Vec<String> = raw
        .split(['\n', ',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter(|s| seen.insert(s.to_string()))
        .map(str::to_string)
        .collect();
    if list.is_empty() {
        return Err(ServiceError::invalid("recipients", "list at least one MRN or phone number, one per line"));
    }
    if list.len() > MAX_RECIPIENTS {
        return Err(ServiceError::invalid("recipients", format!("at most {MAX_RECIPIENTS} recipients per broadcast")));
    }
    Ok(list)
}

impl Services {
    /// Checks the template and resolves the list, without writing anything.
    pub async fn plan_broadcast(
        &self,
        ctx: &StaffContext,
        body: &str,
        recipients: &str,
    ) -> Result<Vec<Planned>, ServiceError> {
        require_broadcaster(ctx)?;
        validate_content(body, &[])?;
        let vars = template::variables(body).map_err(|e| ServiceError::invalid("body", e.to_string()))?;
        if let Some(bad) = vars.iter().find(|v| !BROADCAST_VARIABLES.contains(&v.as_str())) {
            return Err(ServiceError::invalid(
                "body",
                format!(
                    "{{{bad}}} cannot be used in a broadcast; use {{patient.first_name}}, {{patient.last_name}} or {{practice.name}}"
                ),
            ));
        }
        let list = entries(recipients)?;
        let by_mrn = self.store.patients_by_mrns(&list).await?;
        let mut phones = Vec::new();
        let mut found: Vec<(Patient, Option<E164>)> = Vec::new();
        let mut unknown = Vec::new();
        for entry in &list {
            if let Some(p) = by_mrn.iter().find(|p| p.mrn.as_deref() == Some(entry.as_str())) {
                found.push((p.clone(), None));
            } else if let Ok(phone) = E164::parse(entry, self.settings().default_region) {
                phones.push(phone.clone());
                found.push((Patient { id: Uuid::nil(), ..placeholder() }, Some(phone)));
            } else {
                unknown.push(entry.clone());
            }
        }
        let by_phone = if phones.is_empty() { Vec::new() } else { self.store.patients_by_phones(&phones).await? };
        let mut resolved = Vec::new();
        for (patient, phone) in found {
            if patient.id.is_nil() {
                let phone = phone.expect("a phone entry has its phone");
                let matches: Vec<&Patient> = by_phone.iter().filter(|(p, _)| *p == phone).map(|(_, x)| x).collect();
                match matches.as_slice() {
                    [] => unknown.push(phone.masked()),
                    many => resolved.extend(many.iter().map(|p| ((*p).clone(), Some(phone.clone())))),
                }
            } else {
                resolved.push((patient, phone));
            }
        }
        if !unknown.is_empty() {
            return Err(ServiceError::invalid(
                "recipients",
                format!("no patient in the directory with this MRN or phone: {}", unknown.join(", ")),
            ));
        }
        let mut seen = HashSet::new();
        let mut planned = Vec::new();
        let practice = self.settings().name.clone();
        for (patient, phone) in resolved {
            if !seen.insert(patient.id) {
                continue;
            }
            let phone = match phone.or_else(|| patient.phone.clone()) {
                Some(p) => Some(p),
                None => self.store.patient_phones(patient.id).await?.into_iter().next(),
            };
            let (contact_id, outcome) = self.recipient_outcome(&patient, phone.as_ref(), body, &practice).await?;
            planned.push(Planned { patient, phone, contact_id, outcome });
        }
        Ok(planned)
    }

    async fn recipient_outcome(
        &self,
        patient: &Patient,
        phone: Option<&E164>,
        body: &str,
        practice: &str,
    ) -> Result<(Option<ContactId>, Result<String, String>), ServiceError> {
        let Some(phone) = phone else {
            return Ok((None, Err("no phone number on file".into())));
        };
        let Some(contact) = self.store.contact_by_phone(phone).await? else {
            return Ok((None, Err("no consent to texts on record (never texted the practice)".into())));
        };
        if contact.opted_out {
            return Ok((Some(contact.id), Err("opted out of texts".into())));
        }
        let latest = self
            .store
            .consent_events(contact.id)
            .await?
            .into_iter()
            .filter(|e| e.purpose == ConsentPurpose::Sms)
            .max_by_key(|e| (e.created_at, e.id));
        let consented = match latest {
            Some(e) => e.granted,
            None => {
                let mut texted = false;
                for summary in self.store.contact_conversations(contact.id).await? {
                    let messages = self.store.thread_messages(summary.thread.id).await?;
                    if messages.iter().any(|m| m.direction == Direction::Inbound) {
                        texted = true;
                        break;
                    }
                }
                texted
            }
        };
        if !consented {
            return Ok((Some(contact.id), Err("no consent to texts on record".into())));
        }
        let values = TemplateValues::new()
            .with("patient.first_name", &patient.first_name)
            .with("patient.last_name", &patient.last_name)
            .with("practice.name", practice);
        let text = template::render(body, &values).map_err(|e| ServiceError::invalid("body", e.to_string()))?;
        Ok((Some(contact.id), Ok(text)))
    }

    /// Queues the broadcast: every recipient with consent gets an automated scheduled message
    /// due now; the others are recorded as skipped with the reason. Audited `broadcast.create`.
    pub async fn send_broadcast(
        &self,
        ctx: &StaffContext,
        body: &str,
        recipients: &str,
        ip: Option<String>,
    ) -> Result<Uuid, ServiceError> {
        let planned = self.plan_broadcast(ctx, body, recipients).await?;
        let number = self.sending_number(None).await?;
        let now = crate::now();
        let broadcast =
            Broadcast { id: new_id(), body: body.to_string(), created_by: Some(ctx.user.id), created_at: now };
        let queued = planned.iter().filter(|p| p.outcome.is_ok()).count();
        let mut entry = audit::entry(
            &Actor::User(ctx.user.id),
            "broadcast.create",
            Some(format!("broadcast:{}", broadcast.id)),
            ip,
            now,
        );
        entry.detail = Some(format!("recipients={} queued={queued} skipped={}", planned.len(), planned.len() - queued));
        let user = ctx.user.id;
        let id = broadcast.id;
        let mut first = Some((broadcast, entry));
        for (batch_no, batch) in planned.chunks(WRITE_BATCH).enumerate() {
            let batch: Vec<Planned> = batch.to_vec();
            let head = first.take();
            let number = number.clone();
            frontdesk_store::write(&*self.store, move |tx| {
                Box::pin(async move {
                    if let Some((b, entry)) = &head {
                        tx.insert_broadcast(b).await?;
                        tx.insert_audit(entry).await?;
                    }
                    for (i, p) in batch.iter().enumerate() {
                        let position = (batch_no * WRITE_BATCH + i) as i64;
                        let mut recipient = BroadcastRecipient {
                            broadcast_id: id,
                            position,
                            patient_id: p.patient.id,
                            status: RECIPIENT_SKIPPED.into(),
                            reason: None,
                            scheduled_id: None,
                        };
                        match (&p.outcome, p.contact_id) {
                            (Ok(text), Some(contact_id)) => {
                                let thread = tx.upsert_thread_for_update(number.id, contact_id, now).await?;
                                let conversation = match tx.current_conversation(thread.id).await? {
                                    Some(c) => c,
                                    None => {
                                        let fresh = Conversation::open(thread.id, number.default_department_id, now);
                                        tx.insert_conversation(&fresh).await?;
                                        tx.set_conversation_origin(fresh.id, ConversationSource::StaffOutreach, None)
                                            .await?;
                                        fresh
                                    }
                                };
                                let scheduled = ScheduledMessage {
                                    id: new_id(),
                                    conversation_id: conversation.id,
                                    contact_id,
                                    body: text.clone(),
                                    kind: KIND_AUTOMATED.into(),
                                    sender: SenderKind::Automation,
                                    created_by: Some(user),
                                    send_at: now,
                                    requested_at: now,
                                    status: SCHEDULED_PENDING.into(),
                                    reason: None,
                                    message_id: None,
                                    created_at: now,
                                    updated_at: now,
                                };
                                tx.insert_scheduled(&scheduled).await?;
                                recipient.status = RECIPIENT_QUEUED.into();
                                recipient.scheduled_id = Some(scheduled.id);
                            }
                            (Err(reason), _) => recipient.reason = Some(reason.clone()),
                            (Ok(_), None) => recipient.reason = Some("no consent to texts on record".into()),
                        }
                        tx.insert_broadcast_recipient(&recipient).await?;
                    }
                    Ok(())
                })
            })
            .await?;
        }
        if let Some((b, entry)) = first {
            // An empty plan cannot happen (entries() refuses it), but never lose the record.
            frontdesk_store::write(&*self.store, move |tx| {
                Box::pin(async move {
                    tx.insert_broadcast(&b).await?;
                    tx.insert_audit(&entry).await?;
                    Ok(())
                })
            })
            .await?;
        }
        self.outbox_signal.notify_one();
        Ok(id)
    }

    /// A broadcast and its recipients (with their patients' names for the status page).
    pub async fn broadcast_status(
        &self,
        ctx: &StaffContext,
        id: Uuid,
    ) -> Result<(Broadcast, Vec<(RecipientState, String)>), ServiceError> {
        require_broadcaster(ctx)?;
        let broadcast =
            self.store.broadcast_by_id(id).await?.ok_or_else(|| ServiceError::NotFound("broadcast".into()))?;
        let mut rows = Vec::new();
        for r in self.store.broadcast_recipients(id).await? {
            let name = match self.store.patient_by_id(r.recipient.patient_id).await? {
                Some(p) => format!("{} {}", p.first_name, p.last_name),
                None => "(patient removed)".to_string(),
            };
            rows.push((r, name));
        }
        Ok((broadcast, rows))
    }

    pub async fn list_broadcasts(&self, ctx: &StaffContext) -> Result<Vec<Broadcast>, ServiceError> {
        require_broadcaster(ctx)?;
        Ok(self.store.list_broadcasts(50).await?)
    }
}

fn placeholder() -> Patient {
    Patient {
        id: Uuid::nil(),
        first_name: String::new(),
        last_name: String::new(),
        birth_date: None,
        mrn: None,
        phone: None,
        status: PatientStatus::Patient,
        created_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
    }
}
