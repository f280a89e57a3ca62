//! A conversation for the patient's chart: a FHIR R4 transaction `Bundle` of `Communication`
//! resources (one per text) plus the `QuestionnaireResponse`s of its forms, and the same
//! conversation as a readable transcript.
//!
//! Each Communication: `subject` the patient (by MRN identifier when known), `sender` and
//! `recipient` (the patient, the practice as an Organization, staff as Practitioners), `sent`
//! and `received`, `medium` SMSWRIT (v3-ParticipationMode), `payload.contentString`,
//! `inResponseTo` the previous text in the other direction, `identifier` the provider's message
//! id (and ours). Entries are POSTed with `ifNoneExist` on our id, so sending a Bundle twice
//! does not duplicate it in the chart.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::model::{Message, Patient, SenderKind};
use crate::phone::E164;
use crate::status::{Direction, MessageStatus};

pub const PARTICIPATION_MODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode";
pub const IDENTIFIER_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
/// Our own message ids.
pub const MESSAGE_SYSTEM: &str = "urn:frontdesk:message";

/// What a chart export needs to know about one conversation.
#[derive(Debug, Clone)]
pub struct ChartConversation<'a> {
    pub conversation_id: Uuid,
    pub practice_name: &'a str,
    pub practice_phone: &'a E164,
    pub patient: Option<&'a Patient>,
    pub patient_phone: &'a E164,
    /// The conversation's texts, oldest first.
    pub messages: &'a [Message],
    /// Staff names by user id, for senders.
    pub staff: &'a BTreeMap<Uuid, String>,
    /// Completed `QuestionnaireResponse`s of the conversation's forms.
    pub questionnaire_responses: Vec<Value>,
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn tel(phone: &E164) -> Value {
    json!({ "system": "urn:ietf:rfc:3966", "value": format!("tel:{}", phone.as_str()) })
}

/// The patient: by MRN when known, else by phone number.
pub fn patient_reference(c: &ChartConversation<'_>) -> Value {
    match c.patient {
        Some(p) => {
            let display = format!("{} {}", p.first_name, p.last_name);
            match &p.mrn {
                Some(mrn) => json!({
                    "type": "Patient",
                    "identifier": {
                        "type": { "coding": [{ "system": IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number" }] },
                        "value": mrn,
                    },
                    "display": display,
                }),
                None => json!({ "type": "Patient", "identifier": tel(c.patient_phone), "display": display }),
            }
        }
        None => json!({ "type": "Patient", "identifier": tel(c.patient_phone), "display": "Patient (not linked)" }),
    }
}

fn practice_reference(c: &ChartConversation<'_>) -> Value {
    json!({ "type": "Organization", "identifier": tel(c.practice_phone), "display": c.practice_name })
}

fn sender_of(c: &ChartConversation<'_>, m: &Message) -> Value {
    match (m.direction, m.sender, m.sender_user_id) {
        (Direction::Inbound, _, _) => patient_reference(c),
        (Direction::Outbound, SenderKind::Staff, Some(user)) => json!({
            "type": "Practitioner",
            "identifier": { "system": "urn:frontdesk:user", "value": user.to_string() },
            "display": c.staff.get(&user).cloned().unwrap_or_else(|| "Staff member".into()),
        }),
        _ => practice_reference(c),
    }
}

fn status_of(m: &Message) -> &'static str {
    match (m.direction, m.status) {
        (Direction::Inbound, _) => "completed",
        (_, MessageStatus::Failed | MessageStatus::Undelivered) => "not-done",
        (_, MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Received) => "completed",
        _ => "in-progress",
    }
}

fn full_url(id: Uuid) -> String {
    format!("urn:uuid:{id}")
}

/// The Communication for one text; `previous_other` is the latest earlier text in the other
/// direction (what this one answers).
pub fn communication(c: &ChartConversation<'_>, m: &Message, previous_other: Option<&Message>) -> Value {
    let mut identifiers = vec![json!({ "system": MESSAGE_SYSTEM, "value": m.id.to_string() })];
    if let Some(pid) = &m.provider_message_id {
        identifiers.insert(0, json!({ "system": format!("urn:frontdesk:provider:{}", m.provider), "value": pid }));
    }
    let mut payload = vec![json!({ "contentString": m.body })];
    for media in &m.media {
        let mut att = json!({ "url": media.url });
        if let Some(ct) = &media.content_type {
            att["contentType"] = json!(ct);
        }
        payload.push(json!({ "contentAttachment": att }));
    }
    let (sender, recipient) = match m.direction {
        Direction::Inbound => (patient_reference(c), practice_reference(c)),
        Direction::Outbound => (sender_of(c, m), patient_reference(c)),
    };
    let mut r = json!({
        "resourceType": "Communication",
        "id": m.id.to_string(),
        "identifier": identifiers,
        "status": status_of(m),
        "medium": [{ "coding": [{ "system": PARTICIPATION_MODE, "code": "SMSWRIT", "display": "SMS written" }] }],
        "subject": patient_reference(c),
        "sender": sender,
        "recipient": [recipient],
        "payload": payload,
    });
    match m.direction {
        Direction::Inbound => {
            r["sent"] = json!(instant(m.created_at));
            r["received"] = json!(instant(m.created_at));
        }
        Direction::Outbound => {
            r["sent"] = json!(instant(m.created_at));
            if m.status == MessageStatus::Delivered {
                r["received"] = json!(instant(m.updated_at));
            }
        }
    }
    if let Some(prev) = previous_other {
        r["inResponseTo"] = json!([{ "reference": full_url(prev.id) }]);
    }
    r
}

/// The transaction Bundle for the chart.
pub fn bundle(c: &ChartConversation<'_>, now: DateTime<Utc>) -> Value {
    let mut entries = Vec::new();
    let mut last_in: Option<&Message> = None;
    let mut last_out: Option<&Message> = None;
    for m in c.messages {
        let previous_other = match m.direction {
            Direction::Inbound => last_out,
            Direction::Outbound => last_in,
        };
        entries.push(json!({
            "fullUrl": full_url(m.id),
            "resource": communication(c, m, previous_other),
            "request": {
                "method": "POST",
                "url": "Communication",
                "ifNoneExist": format!("identifier={MESSAGE_SYSTEM}|{}", m.id),
            },
        }));
        match m.direction {
            Direction::Inbound => last_in = Some(m),
            Direction::Outbound => last_out = Some(m),
        }
    }
    for qr in &c.questionnaire_responses {
        let mut qr = qr.clone();
        qr["subject"] = patient_reference(c);
        let id = qr.get("id").and_then(Value::as_str).and_then(|s| s.parse::<Uuid>().ok()).unwrap_or_else(Uuid::nil);
        entries.push(json!({
            "fullUrl": full_url(id),
            "resource": qr,
            "request": { "method": "POST", "url": "QuestionnaireResponse" },
        }));
    }
    json!({
        "resourceType": "Bundle",
        "id": c.conversation_id.to_string(),
        "identifier": { "system": "urn:frontdesk:conversation", "value": c.conversation_id.to_string() },
        "type": "transaction",
        "timestamp": instant(now),
        "entry": entries,
    })
}

/// The conversation as plain text for people: a header, then one block per text with its
/// time (in `tz`), who wrote it and its status.
pub fn transcript(c: &ChartConversation<'_>, tz: Tz, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let patient = match c.patient {
        Some(p) => format!(
            "{} {}{}{}",
            p.first_name,
            p.last_name,
            p.birth_date.map(|d| format!(", born {}", d.format("%Y-%m-%d"))).unwrap_or_default(),
            p.mrn.as_ref().map(|m| format!(", MRN {m}")).unwrap_or_default()
        ),
        None => "not linked to a patient".into(),
    };
    out.push_str(&format!("{} - text conversation\n", c.practice_name));
    out.push_str(&format!("Patient: {patient}\n"));
    out.push_str(&format!("Patient phone: {}\n", c.patient_phone.display()));
    out.push_str(&format!("Practice phone: {}\n", c.practice_phone.display()));
    out.push_str(&format!("Conversation: {}\n", c.conversation_id));
    out.push_str(&format!("Exported: {}\n", now.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z")));
    out.push_str(&"-".repeat(60));
    out.push('\n');
    for m in c.messages {
        let who = match m.direction {
            Direction::Inbound => "Patient".to_owned(),
            Direction::Outbound => match (m.sender, m.sender_user_id) {
                (SenderKind::Staff, Some(u)) => {
                    format!("{} (staff)", c.staff.get(&u).cloned().unwrap_or_else(|| "Staff member".into()))
                }
                (SenderKind::Automation, _) => format!("{} (automatic)", c.practice_name),
                _ => c.practice_name.to_owned(),
            },
        };
        let status = match m.direction {
            Direction::Inbound => String::new(),
            Direction::Outbound => format!(" [{}]", m.status),
        };
        out.push_str(&format!("\n{} - {who}{status}\n", m.created_at.with_timezone(&tz).format("%Y-%m-%d %H:%M")));
        for line in m.body.lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
        for media in &m.media {
            out.push_str(&format!("  [attachment: {}]\n", media.content_type.as_deref().unwrap_or("file")));
        }
    }
    if !c.questionnaire_responses.is_empty() {
        out.push_str(&format!("\nForms submitted: {}\n", c.questionnaire_responses.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MediaRef, PatientStatus, ProviderKind, new_id};

    fn message(direction: Direction, body: &str, minute: i64, user: Option<Uuid>) -> Message {
        let at = DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap();
        Message {
            id: new_id(),
            conversation_id: Uuid::nil(),
            thread_id: Uuid::nil(),
            direction,
            body: body.into(),
            media: Vec::new(),
            sender: if direction == Direction::Inbound { SenderKind::Patient } else { SenderKind::Staff },
            sender_user_id: user,
            provider: ProviderKind::Twilio,
            provider_message_id: Some(format!("SM{minute:032}")),
            status: if direction == Direction::Inbound { MessageStatus::Received } else { MessageStatus::Delivered },
            error_code: None,
            error_message: None,
            encoding: "GSM-7".into(),
            segments: 1,
            created_at: at,
            updated_at: at + chrono::TimeDelta::seconds(5),
            needs_review: false,
        }
    }

    #[test]
    fn communications_thread_identify_and_reference_the_patient() {
        let user = new_id();
        let mut msgs = vec![
            message(Direction::Inbound, "Can I move my appointment?", 0, None),
            message(Direction::Inbound, "To Friday?", 1, None),
            message(Direction::Outbound, "Yes, Friday 3pm works.", 2, Some(user)),
            message(Direction::Inbound, "Thanks", 3, None),
        ];
        msgs[1]
            .media
            .push(MediaRef { url: "https://example.org/m.jpg".into(), content_type: Some("image/jpeg".into()) });
        let patient = Patient {
            id: new_id(),
            first_name: "Ana".into(),
            last_name: "Lopez".into(),
            birth_date: None,
            mrn: Some("A-1".into()),
            phone: None,
            status: PatientStatus::Patient,
            created_at: Utc::now(),
        };
        let staff = BTreeMap::from([(user, "Dana Desk".to_string())]);
        let practice = E164::parse_strict("+12125550100").unwrap();
        let phone = E164::parse_strict("+12127365050").unwrap();
        let c = ChartConversation {
            conversation_id: new_id(),
            practice_name: "Maple Clinic",
            practice_phone: &practice,
            patient: Some(&patient),
            patient_phone: &phone,
            messages: &msgs,
            staff: &staff,
            questionnaire_responses: vec![
                json!({"resourceType": "QuestionnaireResponse", "id": new_id().to_string(), "status": "completed"}),
            ],
        };
        let b = bundle(&c, Utc::now());
        assert_eq!(b["type"], "transaction");
        let entries = b["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 5);
        let reply = &entries[2]["resource"];
        assert_eq!(reply["medium"][0]["coding"][0]["code"], "SMSWRIT");
        assert_eq!(reply["sender"]["type"], "Practitioner");
        assert_eq!(reply["sender"]["display"], "Dana Desk");
        assert_eq!(reply["recipient"][0]["identifier"]["value"], "A-1");
        assert_eq!(reply["subject"]["identifier"]["type"]["coding"][0]["code"], "MR");
        assert_eq!(reply["inResponseTo"][0]["reference"], format!("urn:uuid:{}", msgs[1].id), "the latest inbound");
        assert_eq!(reply["identifier"][0]["value"], msgs[2].provider_message_id.clone().unwrap());
        assert!(reply["received"].is_string(), "delivered texts have a received time");
        assert!(entries[0]["resource"].get("inResponseTo").is_none());
        assert_eq!(entries[3]["resource"]["inResponseTo"][0]["reference"], format!("urn:uuid:{}", msgs[2].id));
        assert_eq!(entries[1]["resource"]["payload"][1]["contentAttachment"]["contentType"], "image/jpeg");
        assert_eq!(entries[0]["resource"]["recipient"][0]["type"], "Organization");
        assert_eq!(entries[4]["resource"]["subject"]["identifier"]["value"], "A-1");
        assert_eq!(entries[0]["request"]["ifNoneExist"], format!("identifier={MESSAGE_SYSTEM}|{}", msgs[0].id));

        let text = transcript(&c, chrono_tz::America::New_York, Utc::now());
        assert!(text.contains("Patient: Ana Lopez, MRN A-1"), "{text}");
        assert!(text.contains("Dana Desk (staff) [delivered]\n  Yes, Friday 3pm works."), "{text}");
        assert!(text.contains("[attachment: image/jpeg]"));
        assert!(text.contains("Forms submitted: 1"));
    }
}
