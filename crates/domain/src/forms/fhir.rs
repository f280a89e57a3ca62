//! FHIR R4 `Questionnaire` and `QuestionnaireResponse` JSON for a form and its answers.
//! Photos and signatures travel as `valueAttachment` with their content type and base64 data.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Answer, Answers, FieldKind, FormDefinition};

/// The canonical URL of a built-in or stored form.
pub fn questionnaire_url(key: &str) -> String {
    format!("urn:frontdesk:questionnaire:{key}")
}

fn item_type(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "string",
        FieldKind::LongText => "text",
        FieldKind::Number { .. } => "decimal",
        FieldKind::Date => "date",
        FieldKind::SingleChoice { .. } | FieldKind::MultipleChoice { .. } | FieldKind::Likert { .. } => "choice",
        FieldKind::YesNo | FieldKind::Consent => "boolean",
        FieldKind::Signature | FieldKind::Photo => "attachment",
        FieldKind::Heading => "display",
    }
}

fn code_system(form: &FormDefinition, field: &str) -> String {
    format!("{}#{field}", questionnaire_url(&form.key))
}

pub fn questionnaire(form: &FormDefinition) -> Value {
    let items: Vec<Value> = form
        .fields
        .iter()
        .map(|f| {
            let mut item = json!({ "linkId": f.id, "text": f.label, "type": item_type(&f.kind) });
            if !matches!(f.kind, FieldKind::Heading) {
                item["required"] = json!(f.required);
            }
            if matches!(f.kind, FieldKind::MultipleChoice { .. }) {
                item["repeats"] = json!(true);
            }
            let options = f.kind.options();
            if !options.is_empty() {
                item["answerOption"] = options
                    .iter()
                    .map(|o| json!({ "valueCoding": { "system": code_system(form, &f.id), "code": o.value, "display": o.label } }))
                    .collect();
            }
            if let Some(c) = &f.show_if {
                let mut when = json!({ "question": c.field, "operator": "=" });
                match form.field(&c.field).map(|p| &p.kind) {
                    Some(FieldKind::YesNo | FieldKind::Consent) => when["answerBoolean"] = json!(c.equals == "yes"),
                    Some(k) if !k.options().is_empty() => {
                        when["answerCoding"] = json!({ "system": code_system(form, &c.field), "code": c.equals })
                    }
                    _ => when["answerString"] = json!(c.equals),
                }
                item["enableWhen"] = json!([when]);
            }
            item
        })
        .collect();
    json!({
        "resourceType": "Questionnaire",
        "id": form.key,
        "url": questionnaire_url(&form.key),
        "title": form.title,
        "status": "active",
        "item": items,
    })
}

/// The answers as a completed `QuestionnaireResponse`. `files` maps file ids to their
/// content type and bytes.
pub fn questionnaire_response(
    form: &FormDefinition,
    id: Uuid,
    answers: &Answers,
    authored: DateTime<Utc>,
    files: &BTreeMap<Uuid, (String, Vec<u8>)>,
) -> Value {
    let mut items = Vec::new();
    for f in &form.fields {
        let Some(answer) = answers.get(&f.id) else { continue };
        let label =
            |v: &str| f.kind.options().iter().find(|o| o.value == v).map(|o| o.label.clone()).unwrap_or_default();
        let coding =
            |v: &str| json!({ "valueCoding": { "system": code_system(form, &f.id), "code": v, "display": label(v) } });
        let values: Vec<Value> = match answer {
            Answer::Text(s) => vec![json!({ "valueString": s })],
            Answer::Number(n) => vec![json!({ "valueDecimal": n })],
            Answer::Date(d) => vec![json!({ "valueDate": d.format("%Y-%m-%d").to_string() })],
            Answer::Choice(v) => vec![coding(v)],
            Answer::Choices(vs) => vs.iter().map(|v| coding(v)).collect(),
            Answer::Bool(b) => vec![json!({ "valueBoolean": b })],
            Answer::File { id, content_type } => {
                let mut attachment = json!({ "contentType": content_type, "title": f.label });
                if let Some((_, bytes)) = files.get(id) {
                    attachment["data"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
                    attachment["size"] = json!(bytes.len());
                }
                vec![json!({ "valueAttachment": attachment })]
            }
        };
        if values.is_empty() {
            continue;
        }
        items.push(json!({ "linkId": f.id, "text": f.label, "answer": values }));
    }
    json!({
        "resourceType": "QuestionnaireResponse",
        "id": id.to_string(),
        "questionnaire": questionnaire_url(&form.key),
        "status": "completed",
        "authored": authored.to_rfc3339_opts(SecondsFormat::Millis, true),
        "item": items,
    })
}
