//! Writes a FHIR R4 `Questionnaire` and a completed `QuestionnaireResponse` for every built-in
//! form (every field answered with a valid value, photos and signatures as PNG attachments)
//! into a directory, for the `fhir.resources` oracle (`oracles/fhir/run.sh`):
//!
//! ```text
//! $ cargo run -q -p frontdesk-domain --example fhir_samples -- /tmp/fhir-out
//! ```

use std::collections::BTreeMap;

use base64::Engine as _;
use frontdesk_domain::forms::{FieldKind, Upload, builtins, fhir};

/// A 1×1 PNG.
const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn main() {
    let out = std::env::args().nth(1).expect("usage: fhir_samples OUT_DIR");
    let mut responses = Vec::new();
    std::fs::create_dir_all(&out).expect("create the output directory");
    let png = base64::engine::general_purpose::STANDARD.decode(PNG_B64).unwrap();
    for form in builtins() {
        let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut uploads = BTreeMap::new();
        for f in &form.fields {
            let values: Vec<String> = match &f.kind {
                FieldKind::Heading => continue,
                FieldKind::Text => vec!["Sample answer".into()],
                FieldKind::LongText => vec!["A longer answer\nover two lines".into()],
                FieldKind::Number { .. } => vec!["1".into()],
                FieldKind::Date => vec!["1980-02-03".into()],
                FieldKind::SingleChoice { options } => vec![options[0].value.clone()],
                FieldKind::Likert { options } => vec![options[options.len() / 2].value.clone()],
                FieldKind::MultipleChoice { options } => options.iter().take(2).map(|o| o.value.clone()).collect(),
                FieldKind::YesNo | FieldKind::Consent => vec!["yes".into()],
                FieldKind::Signature => vec![format!("data:image/png;base64,{PNG_B64}")],
                FieldKind::Photo => {
                    uploads.insert(f.id.clone(), Upload { file_name: "photo.png".into(), bytes: png.clone() });
                    continue;
                }
            };
            raw.insert(f.id.clone(), values);
        }
        let validated = form.validate(&raw, &uploads).unwrap_or_else(|e| panic!("{}: {e:?}", form.key));
        let files = validated.files.iter().map(|f| (f.id, (f.content_type.clone(), f.bytes.clone()))).collect();
        let id = frontdesk_domain::model::new_id();
        let qr = fhir::questionnaire_response(&form, id, &validated.answers, chrono::Utc::now(), &files);
        let q = fhir::questionnaire(&form);
        responses.push(qr.clone());
        for (suffix, value) in [("questionnaire", q), ("response", qr)] {
            let path = format!("{out}/{}-{suffix}.json", form.key);
            std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).expect("write");
            println!("{path}");
        }
    }
    let path = format!("{out}/conversation-bundle.json");
    std::fs::write(&path, serde_json::to_string_pretty(&chart_bundle(responses)).unwrap()).expect("write");
    println!("{path}");
}

/// A conversation for the chart (`fhir_chart::bundle`): texts both ways, a staff reply with a
/// photo, a failed text, the forms' responses.
fn chart_bundle(responses: Vec<serde_json::Value>) -> serde_json::Value {
    use frontdesk_domain::E164;
    use frontdesk_domain::fhir_chart::{ChartConversation, bundle};
    use frontdesk_domain::model::{MediaRef, Message, Patient, PatientStatus, ProviderKind, SenderKind, new_id};
    use frontdesk_domain::{Direction, MessageStatus};
    let user = new_id();
    let at = chrono::Utc::now();
    let text = |direction: Direction, body: &str, status: MessageStatus, i: i64| Message {
        id: new_id(),
        conversation_id: uuid::Uuid::nil(),
        thread_id: uuid::Uuid::nil(),
        direction,
        body: body.into(),
        media: Vec::new(),
        sender: if direction == Direction::Inbound { SenderKind::Patient } else { SenderKind::Staff },
        sender_user_id: (direction == Direction::Outbound).then_some(user),
        provider: ProviderKind::Twilio,
        provider_message_id: Some(format!("SM{i:032}")),
        status,
        error_code: None,
        error_message: None,
        encoding: "GSM-7".into(),
        segments: 1,
        created_at: at + chrono::TimeDelta::minutes(i),
        updated_at: at + chrono::TimeDelta::minutes(i + 1),
        needs_review: false,
    };
    let mut messages = vec![
        text(Direction::Inbound, "Can I move my appointment to Friday?", MessageStatus::Received, 0),
        text(Direction::Outbound, "Yes: Friday at 3 pm.", MessageStatus::Delivered, 1),
        text(Direction::Inbound, "Thanks! Photo of my insurance card attached.", MessageStatus::Received, 2),
        text(Direction::Outbound, "Got it.", MessageStatus::Failed, 3),
    ];
    messages[2]
        .media
        .push(MediaRef { url: "https://media.example.org/card.jpg".into(), content_type: Some("image/jpeg".into()) });
    let patient = Patient {
        id: new_id(),
        first_name: "Ana".into(),
        last_name: "Lopez".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1984, 7, 31),
        mrn: Some("MRN-0001".into()),
        phone: None,
        status: PatientStatus::Patient,
        created_at: at,
    };
    let staff = BTreeMap::from([(user, "Dana Desk".to_string())]);
    let practice = E164::parse_strict("+12125550100").unwrap();
    let phone = E164::parse_strict("+12127365050").unwrap();
    let c = ChartConversation {
        conversation_id: new_id(),
        practice_name: "Maple Family Practice",
        practice_phone: &practice,
        patient: Some(&patient),
        patient_phone: &phone,
        messages: &messages,
        staff: &staff,
        questionnaire_responses: responses,
    };
    bundle(&c, at)
}
