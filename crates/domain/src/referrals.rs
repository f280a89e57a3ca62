//! Referrals and prospective patients: the pipeline (new → contacted → replied → scheduled →
//! closed with a reason), its transitions, and reading referral files (CSV with patient
//! columns plus `source` and `reason`; FHIR R4 Bundle of `ServiceRequest` + `Patient`). The
//! patient columns are read by `patient_import` so matching works the same as a patient
//! import. Pure: the services layer stores, texts and audits.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::model::{ConversationId, PatientId, UserId};
use crate::patient_import::{self as pi, Field, Format, ImportError, ImportRow, Rejected};
use crate::phone::Region;

/// Where a referral is in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    New,
    Contacted,
    Replied,
    Scheduled,
    Closed,
}

impl ReferralStatus {
    pub const ALL: [ReferralStatus; 5] = [
        ReferralStatus::New,
        ReferralStatus::Contacted,
        ReferralStatus::Replied,
        ReferralStatus::Scheduled,
        ReferralStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReferralStatus::New => "new",
            ReferralStatus::Contacted => "contacted",
            ReferralStatus::Replied => "replied",
            ReferralStatus::Scheduled => "scheduled",
            ReferralStatus::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<ReferralStatus> {
        ReferralStatus::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            ReferralStatus::New => "New",
            ReferralStatus::Contacted => "Contacted",
            ReferralStatus::Replied => "Replied",
            ReferralStatus::Scheduled => "Scheduled",
            ReferralStatus::Closed => "Closed",
        }
    }

    /// Whether the pipeline may move from `self` to `next`. Forward only, one step at a time
    /// for the automatic steps; staff may schedule or close from any open state; a closed
    /// or scheduled referral may still be closed (scheduled → closed), nothing reopens.
    pub fn can_move_to(self, next: ReferralStatus) -> bool {
        use ReferralStatus::*;
        matches!(
            (self, next),
            (New, Contacted)
                | (Contacted, Replied)
                | (New | Contacted | Replied, Scheduled)
                | (New | Contacted | Replied | Scheduled, Closed)
        )
    }
}

impl std::str::FromStr for ReferralStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ReferralStatus::parse(s).ok_or_else(|| format!("unknown referral status {s:?}"))
    }
}

impl fmt::Display for ReferralStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a referral was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    ScheduledElsewhere,
    NotInterested,
    Unreachable,
    Other,
}

impl CloseReason {
    pub const ALL: [CloseReason; 4] =
        [CloseReason::ScheduledElsewhere, CloseReason::NotInterested, CloseReason::Unreachable, CloseReason::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ScheduledElsewhere => "scheduled_elsewhere",
            CloseReason::NotInterested => "not_interested",
            CloseReason::Unreachable => "unreachable",
            CloseReason::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CloseReason::ScheduledElsewhere => "Scheduled elsewhere",
            CloseReason::NotInterested => "Not interested",
            CloseReason::Unreachable => "Unreachable",
            CloseReason::Other => "Other",
        }
    }

    pub fn parse(text: &str) -> Option<CloseReason> {
        CloseReason::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }
}

/// The referral's free text, sealed together in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralDetails {
    /// The referring practice or provider.
    pub source: String,
    /// Reason or specialty.
    pub reason: String,
    pub close_reason: Option<CloseReason>,
    pub close_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub id: Uuid,
    pub patient_id: PatientId,
    pub status: ReferralStatus,
    pub details: ReferralDetails,
    pub received_at: DateTime<Utc>,
    /// The conversation the outreach opened.
    pub conversation_id: Option<ConversationId>,
    pub first_contact_at: Option<DateTime<Utc>>,
    /// When the worker should look at it next (outreach, then the follow-up); `None` when
    /// there is nothing left to send.
    pub next_action_at: Option<DateTime<Utc>>,
    /// Follow-up texts sent (at most one).
    pub followups: u32,
    pub updated_at: DateTime<Utc>,
}

/// One step of the status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralEvent {
    pub referral_id: Uuid,
    pub status: ReferralStatus,
    pub at: DateTime<Utc>,
    /// Who moved it; `None` for the system (import, worker, the patient's reply).
    pub actor: Option<UserId>,
}

/// Checks a move requested by staff; the error names the field.
pub fn check_transition(
    from: ReferralStatus,
    to: ReferralStatus,
    close_reason: Option<CloseReason>,
    note: Option<&str>,
) -> Result<(), (&'static str, String)> {
    if !from.can_move_to(to) {
        return Err(("status", format!("a {from} referral cannot move to {to}")));
    }
    if to == ReferralStatus::Closed {
        match close_reason {
            None => return Err(("close_reason", "choose why the referral is closed".into())),
            Some(CloseReason::Other) if note.is_none_or(|n| n.trim().is_empty()) => {
                return Err(("note", "write a note when the reason is other".into()));
            }
            _ => {}
        }
    }
    if note.is_some_and(|n| n.chars().count() > 1000) {
        return Err(("note", "at most 1000 characters".into()));
    }
    Ok(())
}

/// Checks the referral's own fields (source, reason).
pub fn check_details(source: &str, reason: &str) -> Result<(), (&'static str, String)> {
    let source = source.trim();
    if source.is_empty() {
        return Err(("source", "missing source (the referring practice or provider)".into()));
    }
    for (field, value) in [("source", source), ("reason", reason.trim())] {
        if value.chars().count() > 200 {
            return Err((field, format!("{field} is longer than 200 characters")));
        }
        if value.chars().any(char::is_control) {
            return Err((field, format!("{field} contains control characters")));
        }
    }
    Ok(())
}

/// One valid referral in a file: its patient row and its own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRow {
    pub patient: ImportRow,
    pub source: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedReferrals {
    pub format: Format,
    pub rows: Vec<ReferralRow>,
    pub rejected: Vec<Rejected>,
    pub ignored_columns: Vec<String>,
}

fn is_source_header(h: &str) -> bool {
    let key: String = h.trim().to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    matches!(key.as_str(), "source" | "referralsource" | "referredby" | "referringpractice" | "referrer")
}

fn is_reason_header(h: &str) -> bool {
    let key: String = h.trim().to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    matches!(key.as_str(), "reason" | "specialty" | "speciality" | "referralreason")
}

/// Reads a referral file (format detected by content, like `patient_import::parse`).
pub fn parse(
    bytes: &[u8],
    mapping: &[(String, Field)],
    region: Region,
    today: NaiveDate,
) -> Result<ParsedReferrals, ImportError> {
    let trimmed = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if trimmed.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return parse_fhir(trimmed, region, today);
    }
    let patients = pi::parse(bytes, mapping, region, today)?;
    // The referral's own columns, by line (the patient parser ignores them).
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter(trimmed)).flexible(true).has_headers(true).from_reader(trimmed);
    let headers = reader.byte_headers().map_err(|e| ImportError::Csv(e.to_string()))?.clone();
    let names: Vec<String> = headers.iter().map(|h| String::from_utf8_lossy(h).trim().to_owned()).collect();
    let source_col = names.iter().position(|h| is_source_header(h));
    let reason_col = names.iter().position(|h| is_reason_header(h));
    let Some(source_col) = source_col else {
        return Err(ImportError::Header(format!(
            "no source column found (header: {}); name the referring practice's column source",
            names.join(", ")
        )));
    };
    let mut by_line: HashMap<usize, (String, String)> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    while let Ok(true) = reader.read_byte_record(&mut record) {
        let Some(line) = record.position().map(|p| p.line() as usize) else { continue };
        let text = |i: Option<usize>| {
            i.and_then(|i| record.get(i)).map(|v| String::from_utf8_lossy(v).trim().to_owned()).unwrap_or_default()
        };
        by_line.insert(line, (text(Some(source_col)), text(reason_col)));
    }
    let mut out = ParsedReferrals {
        format: Format::Csv,
        rows: Vec::new(),
        rejected: patients.rejected,
        ignored_columns: patients
            .ignored_columns
            .into_iter()
            .filter(|c| !is_source_header(c) && !is_reason_header(c))
            .collect(),
    };
    for row in patients.rows {
        let (source, reason) = by_line.remove(&row.line).unwrap_or_default();
        match check_details(&source, &reason) {
            Ok(()) => out.rows.push(ReferralRow { patient: row, source, reason }),
            Err((_, reason)) => out.rejected.push(Rejected { line: row.line, reason }),
        }
    }
    out.rejected.sort_by_key(|r| r.line);
    Ok(out)
}

fn delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first.iter().filter(|b| **b == c).count();
    let (commas, semis, tabs) = (count(b','), count(b';'), count(b'\t'));
    if tabs > commas && tabs >= semis {
        b'\t'
    } else if semis > commas {
        b';'
    } else {
        b','
    }
}

/// A display from a FHIR `Reference` (`display`, else the reference text).
fn reference_display(v: Option<&Value>) -> Option<String> {
    let v = v?;
    let v = if let Value::Array(a) = v { a.first()? } else { v };
    v.get("display").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn concept_text(v: Option<&Value>) -> Option<String> {
    let v = v?;
    let v = if let Value::Array(a) = v { a.first()? } else { v };
    v.get("text")
        .and_then(Value::as_str)
        .or_else(|| v.pointer("/coding/0/display").and_then(Value::as_str))
        .or_else(|| v.pointer("/coding/0/code").and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A Bundle of `ServiceRequest` (each one referral; `subject` references a `Patient` in the
/// Bundle by `fullUrl` or `Patient/{id}`) and `Patient` resources. Line numbers are the
/// 1-based positions of the ServiceRequest entries in the Bundle.
fn parse_fhir(bytes: &[u8], region: Region, today: NaiveDate) -> Result<ParsedReferrals, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ImportError::Encoding(format!("FHIR JSON must be UTF-8 (invalid byte at offset {})", e.valid_up_to()))
    })?;
    let doc: Value = serde_json::from_str(text).map_err(|e| ImportError::Fhir(format!("not JSON: {e}")))?;
    match doc.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => {}
        Some(other) => return Err(ImportError::Fhir(format!("resourceType is {other:?}, expected Bundle"))),
        None => return Err(ImportError::Fhir("resourceType is missing".into())),
    }
    let entries = match doc.get("entry") {
        None => Vec::new(),
        Some(Value::Array(e)) => e.clone(),
        Some(_) => return Err(ImportError::Fhir("Bundle.entry must be an array".into())),
    };
    let mut patients: HashMap<String, (usize, &Value)> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(r) = e.get("resource") else { continue };
        if r.get("resourceType").and_then(Value::as_str) != Some("Patient") {
            continue;
        }
        if let Some(url) = e.get("fullUrl").and_then(Value::as_str) {
            patients.insert(url.to_owned(), (i + 1, r));
        }
        if let Some(id) = r.get("id").and_then(Value::as_str) {
            patients.insert(format!("Patient/{id}"), (i + 1, r));
        }
    }
    let mut out =
        ParsedReferrals { format: Format::Fhir, rows: Vec::new(), rejected: Vec::new(), ignored_columns: Vec::new() };
    for (i, e) in entries.iter().enumerate() {
        let line = i + 1;
        let resource = e.get("resource").unwrap_or(&Value::Null);
        match resource.get("resourceType").and_then(Value::as_str) {
            Some("Patient") => continue,
            Some("ServiceRequest") => {}
            Some(other) => {
                out.rejected
                    .push(Rejected { line, reason: format!("entry is a {other}, not a ServiceRequest or Patient") });
                continue;
            }
            None => {
                out.rejected.push(Rejected { line, reason: "entry has no resource".into() });
                continue;
            }
        }
        let Some(reference) = resource.pointer("/subject/reference").and_then(Value::as_str) else {
            out.rejected.push(Rejected { line, reason: "ServiceRequest.subject.reference is missing".into() });
            continue;
        };
        let Some((_, patient)) = patients.get(reference) else {
            out.rejected.push(Rejected {
                line,
                reason: format!("ServiceRequest.subject {reference:?} is not a Patient in this Bundle"),
            });
            continue;
        };
        let source = reference_display(resource.get("requester"))
            .or_else(|| reference_display(resource.get("performer")))
            .unwrap_or_default();
        let reason = concept_text(resource.get("reasonCode"))
            .or_else(|| concept_text(resource.get("code")))
            .or_else(|| concept_text(resource.get("performerType")))
            .unwrap_or_default();
        if source.is_empty() {
            out.rejected.push(Rejected {
                line,
                reason: "missing source: ServiceRequest.requester (or performer) has no display".into(),
            });
            continue;
        }
        let row = pi::patient_from_fhir(patient, line, region, today)
            .map_err(|r| format!("Patient {reference}: {r}"))
            .and_then(|p| check_details(&source, &reason).map(|_| p).map_err(|(_, r)| r));
        match row {
            Ok(p) => out.rows.push(ReferralRow { patient: p, source, reason }),
            Err(reason) => out.rejected.push(Rejected { line, reason }),
        }
    }
    Ok(out)
}

/// Per-source metrics: time to first contact and conversion (scheduled / total).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceMetrics {
    pub source: String,
    pub total: usize,
    pub scheduled: usize,
    /// `scheduled / total`, 0 when there are none.
    pub conversion: f64,
    /// Median minutes from received to first contact, among those contacted.
    pub median_minutes_to_first_contact: Option<i64>,
}

/// Metrics per source, sorted by source. A referral counts as converted when it reached
/// `scheduled` (it may have been closed since).
pub fn metrics_by_source<'a>(items: impl IntoIterator<Item = (&'a Referral, bool)>) -> Vec<SourceMetrics> {
    let mut groups: HashMap<String, (usize, usize, Vec<i64>)> = HashMap::new();
    for (r, reached_scheduled) in items {
        let g = groups.entry(r.details.source.clone()).or_default();
        g.0 += 1;
        if reached_scheduled {
            g.1 += 1;
        }
        if let Some(first) = r.first_contact_at {
            g.2.push((first - r.received_at).num_minutes().max(0));
        }
    }
    let mut out: Vec<SourceMetrics> = groups
        .into_iter()
        .map(|(source, (total, scheduled, mut minutes))| {
            minutes.sort_unstable();
            SourceMetrics {
                source,
                total,
                scheduled,
                conversion: if total == 0 { 0.0 } else { scheduled as f64 / total as f64 },
                median_minutes_to_first_contact: (!minutes.is_empty()).then(|| minutes[(minutes.len() - 1) / 2]),
            }
        })
        .collect();
    out.sort_by(|a, b| a.source.cmp(&b.source));
    out
}

/// The default outreach text (admin setting `referrals.outreach_template`).
pub const DEFAULT_OUTREACH: &str = "Hello {patient.first_name}, this is {practice.name}. Your doctor referred you to us: reply to this text to book your visit. Reply STOP to opt out.";
/// The default follow-up text (`referrals.followup_template`).
pub const DEFAULT_FOLLOWUP: &str = "Hello {patient.first_name}, {practice.name} again: reply to this text when you are ready to book your visit. Reply STOP to opt out.";
/// Hours without a reply before the one follow-up (`referrals.followup_hours`).
pub const DEFAULT_FOLLOWUP_HOURS: i64 = 48;

/// One referral given field by field (the API): read exactly like a one-row CSV, so the
/// rules and messages are the same. `Err` is `(field, message)`.
pub fn parse_one(fields: &[(&str, &str)], region: Region, today: NaiveDate) -> Result<ReferralRow, (String, String)> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| ("request".to_string(), e.to_string());
    w.write_record(fields.iter().map(|(k, _)| *k)).map_err(csv_err)?;
    w.write_record(fields.iter().map(|(_, v)| *v)).map_err(csv_err)?;
    let bytes = w.into_inner().map_err(|e| ("request".to_string(), e.to_string()))?;
    let parsed = parse(&bytes, &[], region, today).map_err(|e| ("request".to_string(), e.to_string()))?;
    if let Some(rejected) = parsed.rejected.into_iter().next() {
        let field = fields
            .iter()
            .map(|(k, _)| *k)
            .find(|k| rejected.reason.contains(k))
            .or_else(|| rejected.reason.contains("name").then_some("first_name"))
            .unwrap_or("request");
        return Err((field.to_string(), rejected.reason));
    }
    parsed.rows.into_iter().next().ok_or_else(|| ("request".to_string(), "no referral given".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReferralStatus::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    #[test]
    fn pipeline_moves_forward_only() {
        assert!(New.can_move_to(Contacted));
        assert!(Contacted.can_move_to(Replied));
        assert!(Replied.can_move_to(Scheduled));
        assert!(New.can_move_to(Scheduled));
        assert!(Scheduled.can_move_to(Closed));
        assert!(!Replied.can_move_to(Contacted));
        assert!(!Closed.can_move_to(Scheduled));
        assert!(!Scheduled.can_move_to(Replied));
        assert!(!New.can_move_to(Replied));
        assert!(!Closed.can_move_to(Closed));
    }

    #[test]
    fn closing_needs_a_reason_and_other_needs_a_note() {
        assert_eq!(check_transition(Replied, Closed, None, None).unwrap_err().0, "close_reason");
        assert_eq!(check_transition(Replied, Closed, Some(CloseReason::Other), Some(" ")).unwrap_err().0, "note");
        assert!(check_transition(Replied, Closed, Some(CloseReason::Other), Some("moved away")).is_ok());
        assert!(check_transition(Contacted, Closed, Some(CloseReason::Unreachable), None).is_ok());
        assert_eq!(check_transition(Closed, Scheduled, None, None).unwrap_err().0, "status");
        assert_eq!(ReferralStatus::parse("replied"), Some(Replied));
        assert_eq!(CloseReason::parse("not_interested"), Some(CloseReason::NotInterested));
    }

    #[test]
    fn csv_keeps_good_rows_and_names_bad_ones() {
        let csv = "first_name,last_name,dob,phone,source,reason\n\
                   Ana,Lima,1980-02-03,+14155550111,Valley Cardiology,Cardiology consult\n\
                   Ben,,1990-01-01,+14155550122,Valley Cardiology,Knee\n\
                   Cleo,Park,1975-05-06,+14155550133,,Dermatology\n\
                   Dan,Ruiz,1970-07-08,not-a-phone,Hillside Clinic,Back pain\n\
                   Eve,Stone,1999-09-09,+14155550155,Hillside Clinic,\n";
        let parsed = parse(csv.as_bytes(), &[], Region::US, today()).unwrap();
        assert_eq!(parsed.format, Format::Csv);
        let names: Vec<&str> = parsed.rows.iter().map(|r| r.patient.first_name.as_str()).collect();
        assert_eq!(names, ["Ana", "Eve"]);
        assert_eq!(parsed.rows[0].source, "Valley Cardiology");
        assert_eq!(parsed.rows[0].reason, "Cardiology consult");
        let lines: Vec<usize> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(parsed.rejected[0].reason.contains("last_name"), "{:?}", parsed.rejected);
        assert!(parsed.rejected[1].reason.contains("source"), "{:?}", parsed.rejected);
        assert!(parsed.rejected[2].reason.contains("phone"), "{:?}", parsed.rejected);
        assert!(parsed.ignored_columns.is_empty(), "{:?}", parsed.ignored_columns);
    }

    #[test]
    fn csv_without_a_source_column_is_refused() {
        let err = parse(b"first_name,last_name\nAna,Lima\n", &[], Region::US, today()).unwrap_err();
        assert!(err.to_string().contains("source"), "{err}");
    }

    #[test]
    fn fhir_service_request_points_at_its_patient() {
        let bundle = serde_json::json!({
            "resourceType": "Bundle", "type": "collection",
            "entry": [
                {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1",
                    "name": [{"family": "Lima", "given": ["Ana"]}], "birthDate": "1980-02-03",
                    "telecom": [{"system": "phone", "value": "+14155550111", "use": "mobile"}]}},
                {"resource": {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                    "subject": {"reference": "urn:uuid:p1"},
                    "requester": {"display": "Valley Cardiology"},
                    "reasonCode": [{"text": "Chest pain follow-up"}]}},
                {"resource": {"resourceType": "ServiceRequest", "subject": {"reference": "Patient/p1"},
                    "performer": [{"display": "Hillside Clinic"}], "code": {"coding": [{"display": "Dermatology"}]}}},
                {"resource": {"resourceType": "ServiceRequest", "subject": {"reference": "Patient/zzz"},
                    "requester": {"display": "X"}}},
                {"resource": {"resourceType": "ServiceRequest", "subject": {"reference": "Patient/p1"}}},
                {"resource": {"resourceType": "Observation"}}
            ]
        });
        let parsed = parse(bundle.to_string().as_bytes(), &[], Region::US, today()).unwrap();
        assert_eq!(parsed.format, Format::Fhir);
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[0].source, "Valley Cardiology");
        assert_eq!(parsed.rows[0].reason, "Chest pain follow-up");
        assert_eq!(parsed.rows[0].patient.last_name, "Lima");
        assert_eq!(parsed.rows[1].source, "Hillside Clinic");
        assert_eq!(parsed.rows[1].reason, "Dermatology");
        let lines: Vec<usize> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [4, 5, 6]);
        assert!(parsed.rejected[0].reason.contains("Patient/zzz"));
        assert!(parsed.rejected[1].reason.contains("source"));
    }

    #[test]
    fn one_referral_from_fields_names_the_bad_field() {
        let ok = parse_one(
            &[
                ("first_name", "Ana"),
                ("last_name", "Lima"),
                ("phone", "+14155550111"),
                ("source", "Valley"),
                ("reason", ""),
            ],
            Region::US,
            today(),
        )
        .unwrap();
        assert_eq!(ok.source, "Valley");
        let err = parse_one(
            &[("first_name", "Ana"), ("last_name", "Lima"), ("phone", "12"), ("source", "Valley"), ("reason", "")],
            Region::US,
            today(),
        )
        .unwrap_err();
        assert_eq!(err.0, "phone");
        let err = parse_one(
            &[("first_name", "Ana"), ("last_name", "Lima"), ("phone", "+14155550111"), ("source", " "), ("reason", "")],
            Region::US,
            today(),
        )
        .unwrap_err();
        assert_eq!(err.0, "source");
    }

    #[test]
    fn fhir_that_is_not_a_bundle_is_refused() {
        let err = parse(br#"{"resourceType":"Patient"}"#, &[], Region::US, today()).unwrap_err();
        assert!(matches!(err, ImportError::Fhir(_)));
    }

    #[test]
    fn metrics_per_source() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z").unwrap().with_timezone(&Utc);
        let mk = |source: &str, minutes: Option<i64>| Referral {
            id: Uuid::nil(),
            patient_id: Uuid::nil(),
            status: New,
            details: ReferralDetails { source: source.into(), ..Default::default() },
            received_at: t0,
            conversation_id: None,
            first_contact_at: minutes.map(|m| t0 + chrono::Duration::minutes(m)),
            next_action_at: None,
            followups: 0,
            updated_at: t0,
        };
        let a = mk("A", Some(2));
        let b = mk("A", Some(10));
        let c = mk("B", None);
        let m = metrics_by_source([(&a, true), (&b, false), (&c, false)]);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].total, m[0].scheduled), (2, 1));
        assert!((m[0].conversion - 0.5).abs() < 1e-9);
        assert_eq!(m[0].median_minutes_to_first_contact, Some(2));
        assert_eq!(m[1].median_minutes_to_first_contact, None);
    }
}
