//! Secure forms: definitions (serde JSON), validation of a patient's answers against a
//! definition (naming each bad field), conditions, server-side scoring (PHQ-9, GAD-7), the
//! built-in forms, image checks (content sniffing, metadata stripping) and FHIR R4 builders.
//! No I/O: the services layer stores and seals what comes out of here.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod builtin;
pub mod fhir;
pub mod image;
pub mod records;

pub use builtin::{builtin, builtins};
pub use records::{FormFile, FormRequest, FormRequestStatus, FormSubmission};

/// Longest text answer kept (characters); longer answers are refused, not cut.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Largest drawn signature (PNG bytes after decoding the data URL).
pub const MAX_SIGNATURE_BYTES: usize = 512 * 1024;

/// A form as patients see it and staff send it. Stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormDefinition {
    /// Stable key (`phq-9`): what a request names and the FHIR Questionnaire's id.
    pub key: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring: Option<Scoring>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Unique within the form; the HTML input name and the FHIR `linkId`.
    pub id: String,
    pub label: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Shown (and required) only when this condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    LongText,
    Number {
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
    Date,
    SingleChoice {
        options: Vec<Choice>,
    },
    MultipleChoice {
        options: Vec<Choice>,
    },
    YesNo,
    /// A scale whose options carry scores (PHQ-9, GAD-7 items).
    Likert {
        options: Vec<Choice>,
    },
    /// A checkbox the patient must tick to agree to `label`.
    Consent,
    /// Drawn on a canvas; arrives as a `data:image/png;base64,` URL.
    Signature,
    /// A camera picture or file (JPEG or PNG).
    Photo,
    /// Not a question: a section title.
    Heading,
}

impl FieldKind {
    pub fn word(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::LongText => "long_text",
            FieldKind::Number { .. } => "number",
            FieldKind::Date => "date",
            FieldKind::SingleChoice { .. } => "single_choice",
            FieldKind::MultipleChoice { .. } => "multiple_choice",
            FieldKind::YesNo => "yes_no",
            FieldKind::Likert { .. } => "likert",
            FieldKind::Consent => "consent",
            FieldKind::Signature => "signature",
            FieldKind::Photo => "photo",
            FieldKind::Heading => "heading",
        }
    }

    pub fn options(&self) -> &[Choice] {
        match self {
            FieldKind::SingleChoice { options }
            | FieldKind::MultipleChoice { options }
            | FieldKind::Likert { options } => options,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<i32>,
}

/// Show a field when another field's answer equals `equals` (choice value, `yes`/`no`, text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub field: String,
    pub equals: String,
}

/// Sum of the scored options of `items`, read against severity bands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scoring {
    pub items: Vec<String>,
    pub bands: Vec<Band>,
    /// Items whose answer above zero must be brought to a clinician's attention.
    #[serde(default)]
    pub flags: Vec<ScoreFlag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub min: i32,
    pub max: i32,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreFlag {
    pub item: String,
    pub message: String,
}

/// A computed score, stored with the submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub total: i32,
    pub max: i32,
    pub band: String,
    #[serde(default)]
    pub flags: Vec<String>,
}

/// A typed, validated answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Answer {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Choice(String),
    Choices(Vec<String>),
    Bool(bool),
    /// A signature or photo, stored separately (sealed) under this id.
    File {
        id: Uuid,
        content_type: String,
    },
}

impl Answer {
    /// The answer as a condition compares it.
    pub fn as_condition_value(&self) -> String {
        match self {
            Answer::Text(s) | Answer::Choice(s) => s.clone(),
            Answer::Number(n) => n.to_string(),
            Answer::Date(d) => d.to_string(),
            Answer::Choices(v) => v.join(","),
            Answer::Bool(b) => if *b { "yes" } else { "no" }.into(),
            Answer::File { .. } => "file".into(),
        }
    }
}

pub type Answers = BTreeMap<String, Answer>;

/// An uploaded file as it arrived (before checks).
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A file that passed its checks, ready to seal.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedFile {
    pub id: Uuid,
    pub field: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// What validation produced: typed answers and the files they refer to.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub answers: Answers,
    pub files: Vec<CheckedFile>,
}

impl FormDefinition {
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// Checks the definition itself: unique ids, options where needed, conditions and
    /// scored items that refer to existing fields.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.fields {
            if f.id.is_empty() || !f.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(format!("field id {:?} must be letters, digits, - or _", f.id));
            }
            if !seen.insert(f.id.as_str()) {
                return Err(format!("field id {:?} is used twice", f.id));
            }
            let needs_options = matches!(
                f.kind,
                FieldKind::SingleChoice { .. } | FieldKind::MultipleChoice { .. } | FieldKind::Likert { .. }
            );
            if needs_options && f.kind.options().is_empty() {
                return Err(format!("field {:?} needs options", f.id));
            }
        }
        for f in &self.fields {
            if let Some(c) = &f.show_if
                && !seen.contains(c.field.as_str())
            {
                return Err(format!("field {:?} depends on unknown field {:?}", f.id, c.field));
            }
        }
        if let Some(s) = &self.scoring {
            for i in s.items.iter().chain(s.flags.iter().map(|f| &f.item)) {
                if !seen.contains(i.as_str()) {
                    return Err(format!("scored item {i:?} is not a field"));
                }
            }
        }
        Ok(())
    }

    /// Whether `field` is shown given the raw answers (conditions read raw values, as the
    /// page does while the patient fills it).
    pub fn is_shown(&self, field: &Field, raw: &BTreeMap<String, Vec<String>>) -> bool {
        match &field.show_if {
            None => true,
            Some(c) => {
                // A condition on a hidden field is false.
                let parent_shown = self.field(&c.field).is_some_and(|p| p.id != field.id && self.is_shown(p, raw));
                parent_shown && raw.get(&c.field).is_some_and(|v| v.iter().any(|x| x.trim() == c.equals))
            }
        }
    }

    /// Validates a patient's raw answers (form values by field id; files by field id) and
    /// returns typed answers, or every problem, each naming its field. Hidden fields'
    /// answers are dropped.
    pub fn validate(
        &self,
        raw: &BTreeMap<String, Vec<String>>,
        uploads: &BTreeMap<String, Upload>,
    ) -> Result<Validated, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut answers = Answers::new();
        let mut files = Vec::new();
        let err = |errors: &mut Vec<FieldError>, f: &Field, m: String| {
            errors.push(FieldError { field: f.id.clone(), message: m })
        };
        for f in &self.fields {
            if matches!(f.kind, FieldKind::Heading) || !self.is_shown(f, raw) {
                continue;
            }
            let values: Vec<&str> = raw
                .get(&f.id)
                .map(|v| v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default();
            let first = values.first().copied();
            let missing = || format!("{}: this answer is required", f.label);
            match &f.kind {
                FieldKind::Heading => {}
                FieldKind::Photo => match uploads.get(&f.id).filter(|u| !u.bytes.is_empty()) {
                    None if f.required => err(&mut errors, f, format!("{}: add a photo", f.label)),
                    None => {}
                    Some(u) => match image::check_photo(&u.bytes) {
                        Ok((content_type, clean)) => {
                            let id = crate::model::new_id();
                            answers.insert(f.id.clone(), Answer::File { id, content_type: content_type.into() });
                            files.push(CheckedFile {
                                id,
                                field: f.id.clone(),
                                content_type: content_type.into(),
                                bytes: clean,
                            });
                        }
                        Err(m) => err(&mut errors, f, format!("{}: {m}", f.label)),
                    },
                },
                FieldKind::Signature => match first {
                    None if f.required => err(&mut errors, f, format!("{}: please sign in the box", f.label)),
                    None => {}
                    Some(v) => match image::signature_png(v) {
                        Ok(png) => {
                            let id = crate::model::new_id();
                            answers.insert(f.id.clone(), Answer::File { id, content_type: "image/png".into() });
                            files.push(CheckedFile {
                                id,
                                field: f.id.clone(),
                                content_type: "image/png".into(),
                                bytes: png,
                            });
                        }
                        Err(m) => err(&mut errors, f, format!("{}: {m}", f.label)),
                    },
                },
                _ if first.is_none() => {
                    if f.required {
                        err(&mut errors, f, missing());
                    }
                }
                FieldKind::Text | FieldKind::LongText => {
                    let v = first.unwrap_or_default();
                    if v.chars().count() > MAX_TEXT_CHARS {
                        err(&mut errors, f, format!("{}: at most {MAX_TEXT_CHARS} characters", f.label));
                    } else {
                        answers.insert(f.id.clone(), Answer::Text(v.to_string()));
                    }
                }
                FieldKind::Number { min, max } => match first.unwrap_or_default().parse::<f64>() {
                    Ok(n) if n.is_finite() => {
                        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                            err(
                                &mut errors,
                                f,
                                format!(
                                    "{}: enter a number between {} and {}",
                                    f.label,
                                    min.map(|m| m.to_string()).unwrap_or_else(|| "any".into()),
                                    max.map(|m| m.to_string()).unwrap_or_else(|| "any".into())
                                ),
                            );
                        } else {
                            answers.insert(f.id.clone(), Answer::Number(n));
                        }
                    }
                    _ => err(&mut errors, f, format!("{}: enter a number", f.label)),
                },
                FieldKind::Date => match NaiveDate::parse_from_str(first.unwrap_or_default(), "%Y-%m-%d") {
                    Ok(d) => {
                        answers.insert(f.id.clone(), Answer::Date(d));
                    }
                    Err(_) => err(&mut errors, f, format!("{}: enter a date as YYYY-MM-DD", f.label)),
                },
                FieldKind::SingleChoice { options } | FieldKind::Likert { options } => {
                    let v = first.unwrap_or_default();
                    if values.len() > 1 || !options.iter().any(|o| o.value == v) {
                        err(&mut errors, f, format!("{}: choose one of the options", f.label));
                    } else {
                        answers.insert(f.id.clone(), Answer::Choice(v.to_string()));
                    }
                }
                FieldKind::MultipleChoice { options } => {
                    if let Some(bad) = values.iter().find(|v| !options.iter().any(|o| o.value == **v)) {
                        err(&mut errors, f, format!("{}: {bad:?} is not one of the options", f.label));
                    } else {
                        let mut chosen: Vec<String> = Vec::new();
                        for o in options {
                            if values.contains(&o.value.as_str()) {
                                chosen.push(o.value.clone());
                            }
                        }
                        answers.insert(f.id.clone(), Answer::Choices(chosen));
                    }
                }
                FieldKind::YesNo => match first.unwrap_or_default() {
                    "yes" => {
                        answers.insert(f.id.clone(), Answer::Bool(true));
                    }
                    "no" => {
                        answers.insert(f.id.clone(), Answer::Bool(false));
                    }
                    _ => err(&mut errors, f, format!("{}: answer yes or no", f.label)),
                },
                FieldKind::Consent => match first.unwrap_or_default() {
                    "yes" | "on" | "true" => {
                        answers.insert(f.id.clone(), Answer::Bool(true));
                    }
                    _ => err(&mut errors, f, format!("{}: tick the box to agree", f.label)),
                },
            }
        }
        for id in raw.keys().chain(uploads.keys()) {
            if self.field(id).is_none() && !id.starts_with('_') {
                errors
                    .push(FieldError { field: id.clone(), message: format!("{id:?} is not a question of this form") });
            }
        }
        if errors.is_empty() { Ok(Validated { answers, files }) } else { Err(errors) }
    }

    /// The score of validated answers, when the form is scored. Unanswered items count 0.
    pub fn score(&self, answers: &Answers) -> Option<Score> {
        let scoring = self.scoring.as_ref()?;
        let item_score = |id: &str| -> (i32, i32) {
            let Some(f) = self.field(id) else { return (0, 0) };
            let max = f.kind.options().iter().filter_map(|o| o.score).max().unwrap_or(0);
            let got = match answers.get(id) {
                Some(Answer::Choice(v)) => {
                    f.kind.options().iter().find(|o| &o.value == v).and_then(|o| o.score).unwrap_or(0)
                }
                _ => 0,
            };
            (got, max)
        };
        let (total, max) = scoring.items.iter().map(|i| item_score(i)).fold((0, 0), |(t, m), (g, x)| (t + g, m + x));
        let band = scoring
            .bands
            .iter()
            .find(|b| total >= b.min && total <= b.max)
            .map(|b| b.label.clone())
            .unwrap_or_default();
        let flags = scoring.flags.iter().filter(|fl| item_score(&fl.item).0 > 0).map(|fl| fl.message.clone()).collect();
        Some(Score { total, max, band, flags })
    }
}

/// Builds raw answers from `(name, value)` pairs as an HTML form posts them.
pub fn raw_from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> BTreeMap<String, Vec<String>> {
    let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in pairs {
        raw.entry(k).or_default().push(v);
    }
    raw
}
