//! The forms every practice has: PHQ-9 and GAD-7 (with their published scoring), a general
//! consent, a medical-records release request and a new-patient intake.

use super::*;

fn field(id: &str, label: &str, kind: FieldKind, required: bool) -> Field {
    Field { id: id.into(), label: label.into(), kind, required, help: None, show_if: None }
}

fn when(mut f: Field, field: &str, equals: &str) -> Field {
    f.show_if = Some(Condition { field: field.into(), equals: equals.into() });
    f
}

fn choices(items: &[(&str, &str)]) -> Vec<Choice> {
    items.iter().map(|(v, l)| Choice { value: (*v).into(), label: (*l).into(), score: None }).collect()
}

/// "Over the last 2 weeks…" frequency scale, scored 0–3 (PHQ-9, GAD-7).
fn frequency() -> FieldKind {
    let labels = ["Not at all", "Several days", "More than half the days", "Nearly every day"];
    FieldKind::Likert {
        options: labels
            .iter()
            .enumerate()
            .map(|(i, l)| Choice { value: i.to_string(), label: (*l).into(), score: Some(i as i32) })
            .collect(),
    }
}

fn difficulty(id: &str) -> Field {
    field(
        id,
        "If you checked off any problems, how difficult have these problems made it for you to do your work, take care of things at home, or get along with other people?",
        FieldKind::SingleChoice {
            options: choices(&[
                ("not", "Not difficult at all"),
                ("somewhat", "Somewhat difficult"),
                ("very", "Very difficult"),
                ("extremely", "Extremely difficult"),
            ]),
        },
        false,
    )
}

fn band(min: i32, max: i32, label: &str) -> Band {
    Band { min, max, label: label.into() }
}

pub const PHQ9_ITEMS: [&str; 9] = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed, or the opposite: being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead, or of hurting yourself in some way",
];

pub const GAD7_ITEMS: [&str; 7] = [
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid, as if something awful might happen",
];

pub fn phq9() -> FormDefinition {
    let mut fields = vec![field(
        "phq9_intro",
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
        FieldKind::Heading,
        false,
    )];
    let items: Vec<String> = (1..=9).map(|i| format!("phq9_{i}")).collect();
    for (id, label) in items.iter().zip(PHQ9_ITEMS) {
        fields.push(field(id, label, frequency(), true));
    }
    fields.push(difficulty("phq9_difficulty"));
    FormDefinition {
        key: "phq-9".into(),
        title: "PHQ-9 depression questionnaire".into(),
        description: "Nine questions about the last two weeks. It takes about two minutes.".into(),
        fields,
        scoring: Some(Scoring {
            items,
            bands: vec![
                band(0, 4, "minimal"),
                band(5, 9, "mild"),
                band(10, 14, "moderate"),
                band(15, 19, "moderately severe"),
                band(20, 27, "severe"),
            ],
            flags: vec![ScoreFlag {
                item: "phq9_9".into(),
                message: "Item 9 (thoughts of self-harm) answered above \"Not at all\": review today".into(),
            }],
        }),
    }
}

pub fn gad7() -> FormDefinition {
    let mut fields = vec![field(
        "gad7_intro",
        "Over the last 2 weeks, how often have you been bothered by the following problems?",
        FieldKind::Heading,
        false,
    )];
    let items: Vec<String> = (1..=7).map(|i| format!("gad7_{i}")).collect();
    for (id, label) in items.iter().zip(GAD7_ITEMS) {
        fields.push(field(id, label, frequency(), true));
    }
    fields.push(difficulty("gad7_difficulty"));
    FormDefinition {
        key: "gad-7".into(),
        title: "GAD-7 anxiety questionnaire".into(),
        description: "Seven questions about the last two weeks. It takes about two minutes.".into(),
        fields,
        scoring: Some(Scoring {
            items,
            bands: vec![band(0, 4, "minimal"), band(5, 9, "mild"), band(10, 14, "moderate"), band(15, 21, "severe")],
            flags: vec![],
        }),
    }
}

pub fn consent() -> FormDefinition {
    FormDefinition {
        key: "consent".into(),
        title: "Consent to treatment".into(),
        description: "Please read, tick the box and sign.".into(),
        fields: vec![
            field("full_name", "Your full name", FieldKind::Text, true),
            field(
                "agree",
                "I consent to examination and treatment by the practice, and I understand I may withdraw this consent at any time.",
                FieldKind::Consent,
                true,
            ),
            field("signature", "Signature", FieldKind::Signature, true),
        ],
        scoring: None,
    }
}

pub fn records_release() -> FormDefinition {
    FormDefinition {
        key: "records-release".into(),
        title: "Request to release medical records".into(),
        description: "Tell us which records to send, and where.".into(),
        fields: vec![
            field("full_name", "Your full name", FieldKind::Text, true),
            field("birth_date", "Date of birth", FieldKind::Date, true),
            field("recipient", "Send the records to (name of person or practice)", FieldKind::Text, true),
            field("recipient_contact", "Their address, fax or email", FieldKind::LongText, true),
            field(
                "records",
                "Which records?",
                FieldKind::MultipleChoice {
                    options: choices(&[
                        ("all", "All records"),
                        ("visits", "Visit notes"),
                        ("labs", "Lab results"),
                        ("imaging", "Imaging reports"),
                        ("immunizations", "Immunizations"),
                    ]),
                },
                true,
            ),
            field(
                "purpose",
                "Purpose",
                FieldKind::SingleChoice {
                    options: choices(&[
                        ("care", "Continuing care"),
                        ("personal", "Personal use"),
                        ("legal", "Legal"),
                        ("other", "Other"),
                    ]),
                },
                true,
            ),
            when(field("purpose_other", "Please describe the purpose", FieldKind::Text, true), "purpose", "other"),
            field(
                "authorize",
                "I authorize the practice to release these records. This authorization expires one year from today unless I revoke it in writing.",
                FieldKind::Consent,
                true,
            ),
            field("signature", "Signature", FieldKind::Signature, true),
        ],
        scoring: None,
    }
}

pub fn intake() -> FormDefinition {
    FormDefinition {
        key: "intake".into(),
        title: "New patient intake".into(),
        description: "About you and your insurance. Have your insurance card at hand.".into(),
        fields: vec![
            field("about", "About you", FieldKind::Heading, false),
            field("first_name", "First name", FieldKind::Text, true),
            field("last_name", "Last name", FieldKind::Text, true),
            field("birth_date", "Date of birth", FieldKind::Date, true),
            field(
                "sex",
                "Sex",
                FieldKind::SingleChoice {
                    options: choices(&[
                        ("female", "Female"),
                        ("male", "Male"),
                        ("other", "Other"),
                        ("unknown", "Prefer not to say"),
                    ]),
                },
                false,
            ),
            field("address", "Home address", FieldKind::LongText, true),
            field("email", "Email", FieldKind::Text, false),
            field("insurance", "Insurance", FieldKind::Heading, false),
            field("has_insurance", "Do you have health insurance?", FieldKind::YesNo, true),
            when(field("insurer", "Insurance company", FieldKind::Text, true), "has_insurance", "yes"),
            when(field("member_id", "Member ID", FieldKind::Text, true), "has_insurance", "yes"),
            when(field("card_front", "Insurance card, front", FieldKind::Photo, true), "has_insurance", "yes"),
            when(field("card_back", "Insurance card, back", FieldKind::Photo, false), "has_insurance", "yes"),
            field("health", "Health", FieldKind::Heading, false),
            field("allergies", "Allergies", FieldKind::LongText, false),
            field("medications", "Medications you take", FieldKind::LongText, false),
            field("emergency_contact", "Emergency contact (name and phone)", FieldKind::Text, false),
        ],
        scoring: None,
    }
}

/// Every built-in form, in the order staff pick from.
pub fn builtins() -> Vec<FormDefinition> {
    vec![intake(), phq9(), gad7(), consent(), records_release()]
}

pub fn builtin(key: &str) -> Option<FormDefinition> {
    builtins().into_iter().find(|d| d.key == key)
}
