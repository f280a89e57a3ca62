//! Forms: PHQ-9 and GAD-7 scoring against the published tables, validation errors,
//! conditions, definitions as JSON, FHIR shapes.

use std::collections::BTreeMap;

use frontdesk_domain::forms::{self, Answer, FormDefinition, Upload, builtin, raw_from_pairs};

fn answers_all(form: &FormDefinition, prefix: &str, n: usize, values: &[u8]) -> BTreeMap<String, Vec<String>> {
    assert_eq!(values.len(), n);
    let _ = form;
    raw_from_pairs((1..=n).map(|i| (format!("{prefix}_{i}"), values[i - 1].to_string())))
}

fn score(form: &FormDefinition, raw: &BTreeMap<String, Vec<String>>) -> forms::Score {
    let v = form.validate(raw, &BTreeMap::new()).expect("valid");
    form.score(&v.answers).expect("scored")
}

#[test]
fn phq9_all_zero_and_all_max() {
    let f = builtin::phq9();
    let s = score(&f, &answers_all(&f, "phq9", 9, &[0; 9]));
    assert_eq!((s.total, s.max, s.band.as_str()), (0, 27, "minimal"));
    assert!(s.flags.is_empty());
    let s = score(&f, &answers_all(&f, "phq9", 9, &[3; 9]));
    assert_eq!((s.total, s.band.as_str()), (27, "severe"));
    assert_eq!(s.flags.len(), 1, "item 9 above zero is flagged");
}

#[test]
fn phq9_band_boundaries() {
    // (total, band) at every boundary of the published table (Kroenke et al. 2001).
    let table = [
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ];
    let f = builtin::phq9();
    for (total, band) in table {
        // Fill items 1..8 first so item 9 stays 0 below 25.
        let mut vals = [0u8; 9];
        let mut left = total;
        for v in vals.iter_mut() {
            let take = left.min(3);
            *v = take as u8;
            left -= take;
        }
        let s = score(&f, &answers_all(&f, "phq9", 9, &vals));
        assert_eq!(s.total, total);
        assert_eq!(s.band, band, "PHQ-9 total {total}");
        assert_eq!(s.flags.is_empty(), vals[8] == 0);
    }
}

#[test]
fn phq9_item9_flag_alone() {
    let f = builtin::phq9();
    let s = score(&f, &answers_all(&f, "phq9", 9, &[0, 0, 0, 0, 0, 0, 0, 0, 1]));
    assert_eq!((s.total, s.band.as_str()), (1, "minimal"));
    assert_eq!(s.flags.len(), 1);
}

#[test]
fn gad7_table() {
    let f = builtin::gad7();
    let table = [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ];
    for (total, band) in table {
        let mut vals = [0u8; 7];
        let mut left = total;
        for v in vals.iter_mut() {
            let take = left.min(3);
            *v = take as u8;
            left -= take;
        }
        let s = score(&f, &answers_all(&f, "gad7", 7, &vals));
        assert_eq!((s.total, s.max, s.band.as_str()), (total, 21, band), "GAD-7 total {total}");
    }
}

#[test]
fn validation_names_each_bad_field() {
    let f = builtin::phq9();
    let mut raw = answers_all(&f, "phq9", 9, &[1; 9]);
    raw.remove("phq9_3");
    raw.insert("phq9_4".into(), vec!["7".into()]);
    raw.insert("bogus".into(), vec!["x".into()]);
    let errors = f.validate(&raw, &BTreeMap::new()).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["phq9_3", "phq9_4", "bogus"]);
    assert!(errors[0].message.contains("required"));
    assert!(errors[1].message.contains("choose one"));
}

#[test]
fn conditions_show_and_require() {
    let f = builtin::records_release();
    let base = [
        ("full_name", "Ann Lee"),
        ("birth_date", "1980-02-03"),
        ("recipient", "Dr Who"),
        ("recipient_contact", "1 Main St"),
        ("records", "labs"),
        ("records", "visits"),
        ("authorize", "yes"),
        (
            "signature",
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
        ),
    ];
    let mk = |purpose: &str, other: Option<&str>| {
        let mut pairs: Vec<(String, String)> = base.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect();
        pairs.push(("purpose".into(), purpose.into()));
        if let Some(o) = other {
            pairs.push(("purpose_other".into(), o.into()));
        }
        raw_from_pairs(pairs)
    };
    let ok = f.validate(&mk("care", Some("ignored")), &BTreeMap::new()).unwrap();
    assert!(!ok.answers.contains_key("purpose_other"), "hidden answers are dropped");
    assert_eq!(ok.answers["records"], Answer::Choices(vec!["visits".into(), "labs".into()]));
    assert_eq!(ok.files.len(), 1);
    let errors = f.validate(&mk("other", None), &BTreeMap::new()).unwrap_err();
    assert_eq!(errors[0].field, "purpose_other");
    assert!(f.validate(&mk("other", Some("moving")), &BTreeMap::new()).is_ok());
}

#[test]
fn intake_photo_is_required_when_insured_and_checked_by_content() {
    let f = builtin::intake();
    let pairs = |insured: &str| {
        raw_from_pairs(
            [
                ("first_name", "Ann"),
                ("last_name", "Lee"),
                ("birth_date", "1980-02-03"),
                ("address", "1 Main St"),
                ("has_insurance", insured),
                ("insurer", "Acme"),
                ("member_id", "X1"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string())),
        )
    };
    assert!(f.validate(&pairs("no"), &BTreeMap::new()).is_ok());
    let errors = f.validate(&pairs("yes"), &BTreeMap::new()).unwrap_err();
    assert_eq!(errors[0].field, "card_front");
    let mut uploads = BTreeMap::new();
    uploads.insert("card_front".to_string(), Upload { file_name: "card.png".into(), bytes: b"GIF89a....".to_vec() });
    let errors = f.validate(&pairs("yes"), &uploads).unwrap_err();
    assert!(errors[0].message.contains("not a photo"), "{errors:?}");
}

#[test]
fn builtins_are_consistent_and_round_trip_as_json() {
    for f in builtin::builtins() {
        f.check().unwrap_or_else(|e| panic!("{}: {e}", f.key));
        let json = serde_json::to_string(&f).unwrap();
        let back: FormDefinition = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        let q = forms::fhir::questionnaire(&f);
        assert_eq!(q["resourceType"], "Questionnaire");
    }
}

#[test]
fn questionnaire_response_shape() {
    let f = builtin::phq9();
    let v = f.validate(&answers_all(&f, "phq9", 9, &[2; 9]), &BTreeMap::new()).unwrap();
    let qr =
        forms::fhir::questionnaire_response(&f, uuid::Uuid::nil(), &v.answers, chrono::Utc::now(), &BTreeMap::new());
    assert_eq!(qr["status"], "completed");
    assert_eq!(qr["item"].as_array().unwrap().len(), 9);
    assert_eq!(qr["item"][0]["answer"][0]["valueCoding"]["code"], "2");
}
