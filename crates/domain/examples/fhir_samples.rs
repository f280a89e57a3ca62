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
        for (suffix, value) in [("questionnaire", q), ("response", qr)] {
            let path = format!("{out}/{}-{suffix}.json", form.key);
            std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).expect("write");
            println!("{path}");
        }
    }
}
