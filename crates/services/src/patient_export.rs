//! Right of access (issue 7 item 6): everything Frontdesk holds about one patient, for the
//! patient, as one ZIP: `patient.json` (machine-readable), `transcript.txt` (readable) and the
//! photos and signatures of their forms under `files/`.
//!
//! Included: the patient's details; every conversation about them (linked to the patient, or
//! on their phone number's threads and not linked to another patient, so a family sharing a
//! phone does not receive each other's conversations) with every message in both directions,
//! its times and status; every form submission with its answers and score; the consent
//! history of their phone numbers. Staff notes are left out: they are the practice's internal
//! working notes about handling the conversation, not the patient's record, and may name
//! other people (documented in ARCHITECTURE.md). Admins and auditors only; audited
//! (`patient.export`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;

use chrono::{DateTime, Utc};
use frontdesk_domain::forms::Answer;
use frontdesk_domain::model::{ConsentEvent, Conversation, Message, Patient, PatientId};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Reader};
use crate::{ServiceError, Services};

#[derive(Debug, Serialize)]
pub struct PatientRecord {
    pub exported_at: DateTime<Utc>,
    pub practice: String,
    pub patient: Patient,
    pub conversations: Vec<ConversationRecord>,
    pub form_submissions: Vec<FormRecord>,
    pub consent_history: Vec<ConsentRecord>,
}

#[derive(Debug, Serialize)]
pub struct ConversationRecord {
    pub conversation: Conversation,
    pub practice_number: String,
    pub patient_phone: String,
    pub messages: Vec<Message>,
}

#[derive(Debug, Serialize)]
pub struct FormRecord {
    pub submission_id: Uuid,
    pub conversation_id: Uuid,
    pub form_key: String,
    pub sent_at: DateTime<Utc>,
    pub submitted_at: DateTime<Utc>,
    pub answers: BTreeMap<String, Answer>,
    pub score: Option<frontdesk_domain::forms::Score>,
    /// Paths inside the ZIP of the photos and signatures.
    pub files: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ConsentRecord {
    pub phone: String,
    #[serde(flatten)]
    pub event: ConsentEvent,
}

/// The ZIP and the name to offer it under.
#[derive(Debug)]
pub struct PatientExport {
    pub file_name: String,
    pub zip: Vec<u8>,
}

fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        _ => "bin",
    }
}

impl Services {
    /// Builds the patient's export and records it (`patient.export`).
    pub async fn export_patient(
        &self,
        reader: Reader<'_>,
        patient_id: PatientId,
        ip: Option<String>,
    ) -> Result<PatientExport, ServiceError> {
        reader.require_records_access()?;
        let patient = self
            .store
            .patient_by_id(patient_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("patient {patient_id}")))?;

        // Conversations about this patient, oldest first.
        let mut summaries = self.store.patient_conversations(patient_id).await?;
        if let Some(phone) = &patient.phone
            && let Some(contact) = self.store.contact_by_phone(phone).await?
        {
            for s in self.store.contact_conversations(contact.id).await? {
                let theirs = s.conversation.patient_id.is_none_or(|p| p == patient_id);
                if theirs && !summaries.iter().any(|k| k.conversation.id == s.conversation.id) {
                    summaries.push(s);
                }
            }
        }
        summaries.sort_by_key(|s| (s.conversation.opened_at, s.conversation.id));
        let conversation_ids: BTreeSet<Uuid> = summaries.iter().map(|s| s.conversation.id).collect();

        let mut thread_messages: BTreeMap<Uuid, Vec<Message>> = BTreeMap::new();
        let mut forms = Vec::new();
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut contacts = BTreeMap::new();
        for s in &summaries {
            contacts.insert(s.contact.id, s.contact.phone.as_str().to_owned());
            if thread_messages.contains_key(&s.thread.id) {
                continue;
            }
            thread_messages.insert(s.thread.id, self.store.thread_messages(s.thread.id).await?);
            for request in self.store.thread_form_requests(s.thread.id).await? {
                if !conversation_ids.contains(&request.conversation_id) {
                    continue;
                }
                let Some(sub) = self.store.form_submission_by_request(request.id).await? else { continue };
                let mut paths = Vec::new();
                for f in self.store.submission_files(sub.id).await? {
                    let path = format!("files/{}/{}.{}", sub.id, f.id, extension(&f.content_type));
                    paths.push(path.clone());
                    files.push((path, f.bytes));
                }
                forms.push(FormRecord {
                    submission_id: sub.id,
                    conversation_id: request.conversation_id,
                    form_key: request.form_key.clone(),
                    sent_at: request.created_at,
                    submitted_at: sub.created_at,
                    answers: sub.answers,
                    score: sub.score,
                    files: paths,
                });
            }
        }
        let conversations = summaries
            .into_iter()
            .map(|s| {
                let id = s.conversation.id;
                let messages = thread_messages
                    .get(&s.thread.id)
                    .map(|all| all.iter().filter(|m| m.conversation_id == id).cloned().collect())
                    .unwrap_or_default();
                ConversationRecord {
                    practice_number: s.number.e164.as_str().to_owned(),
                    patient_phone: s.contact.phone.as_str().to_owned(),
                    conversation: s.conversation,
                    messages,
                }
            })
            .collect::<Vec<_>>();
        let mut consent_history = Vec::new();
        for (contact_id, phone) in &contacts {
            for event in self.store.consent_events(*contact_id).await? {
                consent_history.push(ConsentRecord { phone: phone.clone(), event });
            }
        }
        consent_history.sort_by_key(|c| c.event.created_at);

        let now = crate::now();
        let record = PatientRecord {
            exported_at: now,
            practice: self.settings().name.clone(),
            patient,
            conversations,
            form_submissions: forms,
            consent_history,
        };
        let json = serde_json::to_vec_pretty(&record).map_err(|e| ServiceError::Internal(format!("export: {e}")))?;
        let transcript = transcript(&record, self.settings().time_zone);
        let zip = write_zip(&[("patient.json", json), ("transcript.txt", transcript.into_bytes())], &files)
            .map_err(|e| ServiceError::Internal(format!("could not build the ZIP: {e}")))?;

        let mut entry = audit::entry(&reader.actor(), "patient.export", Some(format!("patient:{patient_id}")), ip, now);
        entry.detail = Some(
            serde_json::json!({
                "conversations": record.conversations.len(),
                "messages": record.conversations.iter().map(|c| c.messages.len()).sum::<usize>(),
                "form_submissions": record.form_submissions.len(),
            })
            .to_string(),
        );
        frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.insert_audit(&entry).await })).await?;
        Ok(PatientExport { file_name: format!("patient-{patient_id}.zip"), zip })
    }
}

fn write_zip(named: &[(&str, Vec<u8>)], files: &[(String, Vec<u8>)]) -> zip::result::ZipResult<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // Stored, not deflated: text compresses well but the export is small, and this keeps the
    // dependency free of compression codecs.
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in named {
        w.start_file(*name, options)?;
        w.write_all(bytes)?;
    }
    for (name, bytes) in files {
        w.start_file(name.as_str(), options)?;
        w.write_all(bytes)?;
    }
    Ok(w.finish()?.into_inner())
}

fn answer_text(a: &Answer) -> String {
    match a {
        Answer::Text(s) | Answer::Choice(s) => s.clone(),
        Answer::Number(n) => n.to_string(),
        Answer::Date(d) => d.to_string(),
        Answer::Choices(v) => v.join(", "),
        Answer::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Answer::File { id, .. } => format!("(file {id}, see files/)"),
    }
}

/// The readable copy: plain text, times in the practice's time zone.
fn transcript(r: &PatientRecord, tz: chrono_tz::Tz) -> String {
    use std::fmt::Write as _;
    let time = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string();
    let p = &r.patient;
    let mut out = String::new();
    let _ = writeln!(out, "Records held by {} about {} {}", r.practice, p.first_name, p.last_name);
    let _ = writeln!(out, "Exported {}", time(r.exported_at));
    let _ = writeln!(out);
    let _ = writeln!(out, "PATIENT");
    let _ = writeln!(out, "  Name: {} {}", p.first_name, p.last_name);
    if let Some(d) = p.birth_date {
        let _ = writeln!(out, "  Date of birth: {d}");
    }
    if let Some(m) = &p.mrn {
        let _ = writeln!(out, "  Medical record number: {m}");
    }
    if let Some(phone) = &p.phone {
        let _ = writeln!(out, "  Phone: {}", phone.as_str());
    }
    for c in &r.conversations {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "CONVERSATION opened {} ({}), between {} and the practice number {}",
            time(c.conversation.opened_at),
            c.conversation.status,
            c.patient_phone,
            c.practice_number
        );
        if c.messages.is_empty() {
            let _ = writeln!(out, "  (no messages kept)");
        }
        for m in &c.messages {
            let who = match m.direction {
                frontdesk_domain::Direction::Inbound => "Patient",
                frontdesk_domain::Direction::Outbound => "Practice",
            };
            let _ = writeln!(out, "  [{}] {who} ({}): {}", time(m.created_at), m.status, m.body);
            for media in &m.media {
                let _ = writeln!(out, "      attachment: {}", media.url);
            }
        }
    }
    for f in &r.form_submissions {
        let _ = writeln!(out);
        let _ = writeln!(out, "FORM {} submitted {}", f.form_key, time(f.submitted_at));
        if let Some(s) = &f.score {
            let _ = writeln!(out, "  Score: {} of {} ({})", s.total, s.max, s.band);
        }
        for (question, answer) in &f.answers {
            let _ = writeln!(out, "  {question}: {}", answer_text(answer));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "CONSENT HISTORY");
    if r.consent_history.is_empty() {
        let _ = writeln!(out, "  (none recorded)");
    }
    for c in &r.consent_history {
        let e = &c.event;
        let _ = writeln!(
            out,
            "  [{}] {} {} texts ({}, {}: {})",
            time(e.created_at),
            c.phone,
            if e.granted { "agreed to" } else { "opted out of" },
            e.purpose,
            e.source,
            e.evidence
        );
    }
    out
}

/// What the patient's records page shows.
#[derive(Debug, Clone)]
pub struct PatientRecordsView {
    pub patient: Patient,
    pub hold: Option<frontdesk_store::audit::LegalHold>,
    pub conversations: usize,
}

impl Services {
    /// The patient's records page (legal hold, export) for admins and auditors; the view is
    /// audited (`patient.view`).
    pub async fn patient_records(
        &self,
        reader: Reader<'_>,
        patient_id: PatientId,
        ip: Option<String>,
    ) -> Result<PatientRecordsView, ServiceError> {
        reader.require_records_access()?;
        let patient = self
            .store
            .patient_by_id(patient_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("patient {patient_id}")))?;
        let hold = self.store.legal_hold(patient_id).await?;
        let conversations = self.store.patient_conversations(patient_id).await?.len();
        let entry =
            audit::entry(&reader.actor(), "patient.view", Some(format!("patient:{patient_id}")), ip, crate::now());
        frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.insert_audit(&entry).await })).await?;
        Ok(PatientRecordsView { patient, hold, conversations })
    }
}
