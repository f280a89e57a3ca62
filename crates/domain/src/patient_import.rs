//! Patient import: reading a CSV file (header names guessed, `column=field` overrides) or a
//! FHIR R4 `Bundle` of `Patient` resources into rows, rejecting bad rows with their line and
//! reason, and the rules that match a row to an existing patient and merge it without losing
//! data. Pure: the services layer looks candidates up and writes.

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::model::{Patient, PatientStatus};
use crate::phone::{E164, Region};

/// A patient field a column can be mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    FirstName,
    LastName,
    BirthDate,
    Mrn,
    Phone,
    Status,
    Language,
    TimeZone,
    /// The column is read but ignored.
    Ignore,
}

impl Field {
    pub const NAMES: &'static [&'static str] =
        &["first_name", "last_name", "birth_date", "mrn", "phone", "status", "language", "time_zone", "ignore"];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::BirthDate => "birth_date",
            Field::Mrn => "mrn",
            Field::Phone => "phone",
            Field::Status => "status",
            Field::Language => "language",
            Field::TimeZone => "time_zone",
            Field::Ignore => "ignore",
        }
    }

    /// A field named exactly (as in `--map column=field`).
    pub fn from_name(name: &str) -> Option<Field> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "first_name" => Field::FirstName,
            "last_name" => Field::LastName,
            "birth_date" => Field::BirthDate,
            "mrn" => Field::Mrn,
            "phone" => Field::Phone,
            "status" => Field::Status,
            "language" => Field::Language,
            "time_zone" => Field::TimeZone,
            "ignore" => Field::Ignore,
            _ => return None,
        })
    }

    /// The field a common header name means (`given`, `Family Name`, `DOB`, `Mobile`…).
    pub fn guess(header: &str) -> Option<Field> {
        let key: String = header.trim().to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
        Some(match key.as_str() {
            "firstname" | "first" | "given" | "givenname" | "forename" | "fname" => Field::FirstName,
            "lastname" | "last" | "family" | "familyname" | "surname" | "lname" => Field::LastName,
            "dob" | "birthdate" | "dateofbirth" | "birthday" | "born" => Field::BirthDate,
            "mrn" | "medicalrecordnumber" | "patientid" | "chartnumber" | "recordnumber" => Field::Mrn,
            "phone" | "mobile" | "cell" | "cellphone" | "mobilephone" | "phonenumber" | "telephone" | "tel"
            | "homephone" | "sms" => Field::Phone,
            "status" | "patientstatus" => Field::Status,
            "language" | "preferredlanguage" | "lang" => Field::Language,
            "timezone" | "tz" => Field::TimeZone,
            _ => return None,
        })
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem with the whole file (nothing can be imported from it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("wrong encoding: {0}")]
    Encoding(String),
    #[error("bad column mapping {0:?}: {1}")]
    Mapping(String, String),
    #[error("{0}")]
    Header(String),
    #[error("not a valid FHIR R4 Bundle of Patient: {0}")]
    Fhir(String),
    #[error("the CSV could not be read: {0}")]
    Csv(String),
}

/// The file's format, detected by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Fhir,
}

/// Preferred language and time zone: kept next to a patient's sealed details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientExtras {
    pub language: Option<String>,
    pub time_zone: Option<String>,
}

/// One valid row. `line` is the CSV line number (the header is line 1) or, for FHIR, the
/// 1-based position of the entry in the Bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub line: usize,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<NaiveDate>,
    pub mrn: Option<String>,
    pub phones: Vec<E164>,
    pub status: Option<PatientStatus>,
    pub extras: PatientExtras,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub format: Format,
    pub rows: Vec<ImportRow>,
    pub rejected: Vec<Rejected>,
    /// Header names that map to no field (CSV only); their values are not imported.
    pub ignored_columns: Vec<String>,
}

/// Reads `column=field` (as given to `--map`).
pub fn parse_mapping(spec: &str) -> Result<(String, Field), ImportError> {
    let Some((column, field)) = spec.split_once('=') else {
        return Err(ImportError::Mapping(spec.into(), "write it as column=field".into()));
    };
    let column = column.trim();
    if column.is_empty() {
        return Err(ImportError::Mapping(spec.into(), "the column name is empty".into()));
    }
    let field = Field::from_name(field).ok_or_else(|| {
        ImportError::Mapping(spec.into(), format!("unknown field; use one of {}", Field::NAMES.join(", ")))
    })?;
    Ok((column.to_owned(), field))
}

/// Detects the format (a JSON object is FHIR, anything else CSV) and parses the file.
/// `today` rejects birth dates in the future; `region` reads phone numbers without a country
/// code.
pub fn parse(
    bytes: &[u8],
    mapping: &[(String, Field)],
    region: Region,
    today: NaiveDate,
) -> Result<Parsed, ImportError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(ImportError::Encoding("the file is UTF-16; save it as UTF-8 (CSV UTF-8) and try again".into()));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(ImportError::Empty),
        Some(b'{') => parse_fhir(bytes, region, today),
        Some(_) => parse_csv(bytes, mapping, region, today),
    }
}

/// The raw text of a row's fields, before validation.
#[derive(Default)]
struct RawRow {
    first_name: String,
    last_name: String,
    birth_date: String,
    mrn: String,
    phones: Vec<(String, String)>,
    status: String,
    language: String,
    time_zone: String,
}

fn parse_csv(
    bytes: &[u8],
    mapping: &[(String, Field)],
    region: Region,
    today: NaiveDate,
) -> Result<Parsed, ImportError> {
    let delimiter = sniff_delimiter(bytes);
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(bytes);
    let headers = reader.byte_headers().map_err(|e| ImportError::Csv(e.to_string()))?.clone();
    let mut columns: Vec<(String, Field)> = Vec::new();
    let mut ignored = Vec::new();
    for raw in headers.iter() {
        let name = std::str::from_utf8(raw)
            .map_err(|_| ImportError::Encoding("the header line is not UTF-8; save the file as UTF-8".into()))?
            .trim()
            .to_owned();
        let field = mapping
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(&name))
            .map(|(_, f)| *f)
            .or_else(|| Field::guess(&name))
            .unwrap_or(Field::Ignore);
        if field == Field::Ignore {
            ignored.push(name.clone());
        }
        columns.push((name, field));
    }
    for (column, _) in mapping {
        if !columns.iter().any(|(c, _)| c.eq_ignore_ascii_case(column)) {
            return Err(ImportError::Mapping(column.clone(), "there is no such column in the header".into()));
        }
    }
    for (field, what) in [(Field::FirstName, "first name"), (Field::LastName, "last name")] {
        if !columns.iter().any(|(_, f)| *f == field) {
            return Err(ImportError::Header(format!(
                "no {what} column found (header: {}); name it {} or map it with --map column={}",
                columns.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", "),
                field,
                field
            )));
        }
    }
    for field in [Field::FirstName, Field::LastName, Field::BirthDate, Field::Mrn, Field::Status] {
        let n = columns.iter().filter(|(_, f)| *f == field).count();
        if n > 1 {
            return Err(ImportError::Header(format!(
                "{n} columns map to {field}; map the extra ones with --map column=ignore"
            )));
        }
    }

    let mut out = Parsed { format: Format::Csv, rows: Vec::new(), rejected: Vec::new(), ignored_columns: ignored };
    let mut seen = Dedupe::default();
    let mut record = csv::ByteRecord::new();
    loop {
        let line_hint = reader.position().line() as usize;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(line_hint);
                out.rejected.push(Rejected { line, reason: format!("unreadable CSV: {e}") });
                continue;
            }
        }
        let line = record.position().map(|p| p.line() as usize).unwrap_or(line_hint);
        if record.iter().all(|v| v.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let mut raw = RawRow::default();
        let mut bad_encoding = None;
        for (i, value) in record.iter().enumerate() {
            let Some((column, field)) = columns.get(i) else { continue };
            let text = match std::str::from_utf8(value) {
                Ok(t) => t.trim().to_owned(),
                Err(_) => {
                    bad_encoding = Some(column.clone());
                    break;
                }
            };
            match field {
                Field::FirstName => raw.first_name = text,
                Field::LastName => raw.last_name = text,
                Field::BirthDate => raw.birth_date = text,
                Field::Mrn => raw.mrn = text,
                Field::Phone => {
                    if !text.is_empty() {
                        raw.phones.push((column.clone(), text))
                    }
                }
                Field::Status => raw.status = text,
                Field::Language => raw.language = text,
                Field::TimeZone => raw.time_zone = text,
                Field::Ignore => {}
            }
        }
        if let Some(column) = bad_encoding {
            out.rejected.push(Rejected {
                line,
                reason: format!(
                    "wrong encoding in column {column}: not UTF-8 (probably Latin-1 or Windows-1252); save the file as UTF-8"
                ),
            });
            continue;
        }
        match validate(raw, line, region, today) {
            Ok(row) => match seen.check(&row) {
                Some(first) => {
                    out.rejected.push(Rejected { line, reason: format!("duplicate of line {first} in this file") })
                }
                None => out.rows.push(row),
            },
            Err(reason) => out.rejected.push(Rejected { line, reason }),
        }
    }
    Ok(out)
}

/// Comma unless the header line has more semicolons or tabs (spreadsheets in some locales).
fn sniff_delimiter(bytes: &[u8]) -> u8 {
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

/// Remembers rows by MRN and by name + birth date to reject repeats within one file.
#[derive(Default)]
struct Dedupe {
    by_mrn: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
}

impl Dedupe {
    fn check(&mut self, row: &ImportRow) -> Option<usize> {
        if let Some(mrn) = &row.mrn
            && let Some(first) = self.by_mrn.get(mrn)
        {
            return Some(*first);
        }
        let name_key = match_key(&row.first_name, &row.last_name, row.birth_date)
            .unwrap_or_else(|| format!("{}|nodob|{:?}", normalise_name(&row.first_name), row.phones.first()));
        let name_key = format!("{}|{}", normalise_name(&row.last_name), name_key);
        if row.mrn.is_none()
            && let Some(first) = self.by_name.get(&name_key)
        {
            return Some(*first);
        }
        if let Some(mrn) = &row.mrn {
            self.by_mrn.insert(mrn.clone(), row.line);
        }
        self.by_name.entry(name_key).or_insert(row.line);
        None
    }
}

fn validate(raw: RawRow, line: usize, region: Region, today: NaiveDate) -> Result<ImportRow, String> {
    if raw.first_name.is_empty() && raw.last_name.is_empty() {
        return Err("missing name (first_name and last_name are empty)".into());
    }
    if raw.first_name.is_empty() {
        return Err("missing first_name".into());
    }
    if raw.last_name.is_empty() {
        return Err("missing last_name".into());
    }
    for (field, value) in [("first_name", &raw.first_name), ("last_name", &raw.last_name)] {
        if value.chars().count() > 100 {
            return Err(format!("{field} is longer than 100 characters"));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("{field} contains control characters"));
        }
    }
    let birth_date = if raw.birth_date.is_empty() {
        None
    } else {
        let date = parse_date(&raw.birth_date)
            .ok_or_else(|| format!("bad birth_date {:?}: write it like 1984-07-31 or 07/31/1984", raw.birth_date))?;
        if date > today {
            return Err(format!("bad birth_date {:?}: it is in the future", raw.birth_date));
        }
        if date < NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or(date) {
            return Err(format!("bad birth_date {:?}: before 1880", raw.birth_date));
        }
        Some(date)
    };
    let mut phones: Vec<E164> = Vec::new();
    for (column, text) in &raw.phones {
        let phone = E164::parse(text, region).map_err(|e| format!("bad phone in column {column}: {e}"))?;
        if !phones.contains(&phone) {
            phones.push(phone);
        }
    }
    let mrn = Some(raw.mrn).filter(|m| !m.is_empty());
    if let Some(m) = &mrn
        && (m.chars().count() > 64 || m.chars().any(char::is_control))
    {
        return Err("bad mrn: at most 64 printable characters".into());
    }
    let status = match raw.status.to_ascii_lowercase().as_str() {
        "" => None,
        "patient" | "active" | "existing" => Some(PatientStatus::Patient),
        "prospective" | "prospect" | "referral" | "new" => Some(PatientStatus::Prospective),
        other => return Err(format!("bad status {other:?}: use patient or prospective")),
    };
    let language = Some(raw.language).filter(|l| !l.is_empty());
    if let Some(l) = &language {
        check_language(l)?;
    }
    let time_zone = Some(raw.time_zone).filter(|t| !t.is_empty());
    if let Some(tz) = &time_zone {
        crate::quiet_hours::parse_time_zone(tz).map_err(|e| format!("bad time_zone: {e}"))?;
    }
    Ok(ImportRow {
        line,
        first_name: raw.first_name,
        last_name: raw.last_name,
        birth_date,
        mrn,
        phones,
        status,
        extras: PatientExtras { language, time_zone },
    })
}

/// A language tag such as `en`, `es` or `pt-BR`.
pub fn check_language(tag: &str) -> Result<(), String> {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    let ok = (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok { Ok(()) } else { Err(format!("bad language {tag:?}: use a language code such as en, es or pt-BR")) }
}

/// `YYYY-MM-DD`, `YYYYMMDD` or US `MM/DD/YYYY`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(t, "%m/%d/%Y")).ok().or_else(|| {
        if t.len() == 8 && t.chars().all(|c| c.is_ascii_digit()) {
            NaiveDate::parse_from_str(t, "%Y%m%d").ok()
        } else {
            None
        }
    })
}

fn parse_fhir(bytes: &[u8], region: Region, today: NaiveDate) -> Result<Parsed, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ImportError::Encoding(format!("FHIR JSON must be UTF-8 (invalid byte at offset {})", e.valid_up_to()))
    })?;
    let doc: Value = serde_json::from_str(text).map_err(|e| ImportError::Fhir(format!("not JSON: {e}")))?;
    let entries: Vec<Value> = match doc.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => match doc.get("entry") {
            None => Vec::new(),
            Some(Value::Array(entries)) => {
                entries.iter().map(|e| e.get("resource").cloned().unwrap_or(Value::Null)).collect()
            }
            Some(_) => return Err(ImportError::Fhir("Bundle.entry must be an array".into())),
        },
        Some("Patient") => vec![doc.clone()],
        Some(other) => return Err(ImportError::Fhir(format!("resourceType is {other:?}, expected Bundle"))),
        None => return Err(ImportError::Fhir("resourceType is missing".into())),
    };
    let mut out = Parsed { format: Format::Fhir, rows: Vec::new(), rejected: Vec::new(), ignored_columns: Vec::new() };
    let mut seen = Dedupe::default();
    for (i, resource) in entries.iter().enumerate() {
        let line = i + 1;
        let kind = resource.get("resourceType").and_then(Value::as_str);
        if kind != Some("Patient") {
            let what = kind.map(|k| format!("a {k}")).unwrap_or_else(|| "no resource".into());
            out.rejected.push(Rejected { line, reason: format!("entry is {what}, not a Patient") });
            continue;
        }
        let result = fhir_raw(resource).and_then(|raw| validate(raw, line, region, today));
        match result {
            Ok(row) => match seen.check(&row) {
                Some(first) => {
                    out.rejected.push(Rejected { line, reason: format!("duplicate of entry {first} in this Bundle") })
                }
                None => out.rows.push(row),
            },
            Err(reason) => out.rejected.push(Rejected { line, reason }),
        }
    }
    Ok(out)
}

/// One FHIR `Patient` resource read and validated like a Bundle entry (used by the referral
/// import, whose Bundles hold `ServiceRequest`s next to their `Patient`s).
pub fn patient_from_fhir(resource: &Value, line: usize, region: Region, today: NaiveDate) -> Result<ImportRow, String> {
    fhir_raw(resource).and_then(|raw| validate(raw, line, region, today))
}

fn fhir_raw(p: &Value) -> Result<RawRow, String> {
    let mut raw = RawRow::default();
    let names = p.get("name").and_then(Value::as_array).cloned().unwrap_or_default();
    let name =
        names.iter().find(|n| n.get("use").and_then(Value::as_str) == Some("official")).or_else(|| names.first());
    if let Some(n) = name {
        raw.last_name = n.get("family").and_then(Value::as_str).unwrap_or_default().trim().to_owned();
        raw.first_name = n
            .get("given")
            .and_then(Value::as_array)
            .and_then(|g| g.first())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned();
    }
    match p.get("birthDate") {
        None => {}
        Some(Value::String(d)) => {
            // FHIR allows partial dates; only full dates identify a person.
            if NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                return Err(format!("bad birthDate {d:?}: a full date like 1984-07-31 is needed"));
            }
            raw.birth_date = d.clone();
        }
        Some(_) => return Err("bad birthDate: not a string".into()),
    }
    let identifiers = p.get("identifier").and_then(Value::as_array).cloned().unwrap_or_default();
    let is_mr = |i: &&Value| {
        i.pointer("/type/coding")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(|c| c.get("code").and_then(Value::as_str) == Some("MR")))
    };
    let mrn = identifiers.iter().find(is_mr).or_else(|| identifiers.first());
    if let Some(id) = mrn {
        raw.mrn = id.get("value").and_then(Value::as_str).unwrap_or_default().trim().to_owned();
    }
    if let Some(telecom) = p.get("telecom").and_then(Value::as_array) {
        let mut phones: Vec<&Value> = telecom
            .iter()
            .filter(|t| matches!(t.get("system").and_then(Value::as_str), Some("phone" | "sms")))
            .collect();
        // Mobile numbers first: the first phone is the one texts go to.
        phones.sort_by_key(|t| t.get("use").and_then(Value::as_str) != Some("mobile"));
        for (i, t) in phones.into_iter().enumerate() {
            if let Some(v) = t.get("value").and_then(Value::as_str).filter(|v| !v.trim().is_empty()) {
                raw.phones.push((format!("telecom[{i}]"), v.trim().to_owned()));
            }
        }
    }
    if let Some(lang) = p
        .get("communication")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c.get("preferred") == Some(&Value::Bool(true))).or_else(|| c.first()))
        .and_then(|c| c.pointer("/language/coding/0/code"))
        .and_then(Value::as_str)
    {
        raw.language = lang.to_owned();
    }
    if p.get("active") == Some(&Value::Bool(false)) {
        raw.status = "prospective".into();
    }
    Ok(raw)
}

/// Lower-case, accents removed, only letters and digits: `José` and `JOSE` compare equal.
pub fn normalise_name(name: &str) -> String {
    name.nfd().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The key a patient is matched under by name and birth date (needs a birth date).
pub fn match_key(first_name: &str, last_name: &str, birth_date: Option<NaiveDate>) -> Option<String> {
    let dob = birth_date?;
    Some(format!("{}|{}|{}", normalise_name(last_name), normalise_name(first_name), dob.format("%Y-%m-%d")))
}

/// How a row was matched to an existing patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchBy {
    Mrn,
    NameAndBirthDate,
    Phone,
}

/// Chooses the existing patient a row is, from the candidates found by its MRN, by its name
/// and birth date, and by its phones. Rules, in order:
/// 1. the same MRN;
/// 2. the same name and birth date, unless the existing patient has a different MRN;
/// 3. a *prospective* patient linked to one of the row's phones (`by_phone` holds only
///    those) with the same first name (a family shares a phone, so the phone alone never
///    merges two people), unless MRNs or birth dates differ.
///
/// `Err` when several patients match equally (the row is reported, not guessed).
pub fn choose_match(
    row: &ImportRow,
    by_mrn: &[Patient],
    by_name_dob: &[Patient],
    by_phone: &[Patient],
) -> Result<Option<(MatchBy, Patient)>, String> {
    if let Some(mrn) = &row.mrn {
        let same: Vec<&Patient> = by_mrn.iter().filter(|p| p.mrn.as_deref() == Some(mrn)).collect();
        match same.len() {
            0 => {}
            1 => return Ok(Some((MatchBy::Mrn, same[0].clone()))),
            n => return Err(format!("{n} patients already have MRN {mrn:?}")),
        }
    }
    let key = match_key(&row.first_name, &row.last_name, row.birth_date);
    let compatible_mrn = |p: &Patient| match (&row.mrn, &p.mrn) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    if key.is_some() {
        let same: Vec<&Patient> = by_name_dob
            .iter()
            .filter(|p| match_key(&p.first_name, &p.last_name, p.birth_date) == key && compatible_mrn(p))
            .collect();
        match same.len() {
            0 => {}
            1 => return Ok(Some((MatchBy::NameAndBirthDate, same[0].clone()))),
            n => return Err(format!("{n} patients already have this name and birth date")),
        }
    }
    let first = normalise_name(&row.first_name);
    let mut same: Vec<&Patient> = by_phone
        .iter()
        .filter(|p| p.status == PatientStatus::Prospective)
        .filter(|p| normalise_name(&p.first_name) == first)
        .filter(|p| compatible_mrn(p))
        .filter(|p| match (p.birth_date, row.birth_date) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        })
        .collect();
    same.dedup_by_key(|p| p.id);
    match same.len() {
        0 => Ok(None),
        1 => Ok(Some((MatchBy::Phone, same[0].clone()))),
        n => Err(format!("{n} prospective patients with this phone and first name")),
    }
}

/// The result of merging a row into an existing patient.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub patient: Patient,
    pub extras: PatientExtras,
    /// Phones of the row the patient is not yet linked to.
    pub new_phones: Vec<E164>,
    /// Fields where the row and the patient disagree: the stored value was kept.
    pub conflicts: Vec<String>,
    /// Whether anything changes.
    pub changed: bool,
}

/// Merges a row into an existing patient: fills empty fields, never overwrites a value with a
/// blank, keeps the stored value where they disagree and names the field as a conflict.
/// A prospective patient becomes a patient when the row says so (never the reverse).
/// `linked_phones` are the phones the patient is already linked to.
pub fn merge(existing: &Patient, extras: &PatientExtras, linked_phones: &[E164], row: &ImportRow) -> Merged {
    let mut p = existing.clone();
    let mut x = extras.clone();
    let mut conflicts = Vec::new();
    let mut changed = false;
    for (field, stored, new) in
        [("first_name", &p.first_name, &row.first_name), ("last_name", &p.last_name, &row.last_name)]
    {
        if normalise_name(stored) != normalise_name(new) {
            conflicts.push(format!("{field}: kept {stored:?}, file has {new:?}"));
        }
    }
    fill(&mut p.birth_date, &row.birth_date, "birth_date", &mut conflicts, &mut changed);
    fill(&mut p.mrn, &row.mrn, "mrn", &mut conflicts, &mut changed);
    fill(&mut x.language, &row.extras.language, "language", &mut conflicts, &mut changed);
    fill(&mut x.time_zone, &row.extras.time_zone, "time_zone", &mut conflicts, &mut changed);
    if p.phone.is_none()
        && let Some(first) = row.phones.first()
    {
        p.phone = Some(first.clone());
        changed = true;
    }
    if row.status == Some(PatientStatus::Patient) && p.status == PatientStatus::Prospective {
        p.status = PatientStatus::Patient;
        changed = true;
    }
    let new_phones: Vec<E164> = row.phones.iter().filter(|ph| !linked_phones.contains(ph)).cloned().collect();
    if !new_phones.is_empty() {
        changed = true;
    }
    Merged { patient: p, extras: x, new_phones, conflicts, changed }
}

fn fill<T: Clone + PartialEq + fmt::Debug>(
    stored: &mut Option<T>,
    new: &Option<T>,
    field: &str,
    conflicts: &mut Vec<String>,
    changed: &mut bool,
) {
    match (stored.as_ref(), new) {
        (None, Some(v)) => {
            *stored = Some(v.clone());
            *changed = true;
        }
        (Some(a), Some(b)) if a != b => conflicts.push(format!("{field}: kept {a:?}, file has {b:?}")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::new_id;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }

    fn parse_csv_text(text: &str) -> Parsed {
        parse(text.as_bytes(), &[], Region::US, today()).unwrap()
    }

    fn patient(first: &str, last: &str, dob: Option<&str>, mrn: Option<&str>, phone: Option<&str>) -> Patient {
        Patient {
            id: new_id(),
            first_name: first.into(),
            last_name: last.into(),
            birth_date: dob.map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()),
            mrn: mrn.map(Into::into),
            phone: phone.map(|p| E164::parse(p, Region::US).unwrap()),
            status: PatientStatus::Patient,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn guesses_common_headers_and_reports_each_bad_row() {
        let csv = "Given,Family,DOB,MRN,Mobile,Notes\n\
                   Ana,Lopez,1984-07-31,A1,(415) 555-0100,x\n\
                   Bo,,1990-01-01,A2,,\n\
                   Cy,Diaz,31/12/1990,A3,,\n\
                   Di,Eve,2001-02-03,A4,12,\n\
                   Ana,Lopez,1984-07-31,A1,,\n\
                   Fay,Gold,07/04/1970,,+14155550199,\n";
        let parsed = parse_csv_text(csv);
        assert_eq!(parsed.format, Format::Csv);
        assert_eq!(parsed.ignored_columns, vec!["Notes".to_string()]);
        let lines: Vec<usize> = parsed.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 7]);
        assert_eq!(parsed.rows[0].phones[0].as_str(), "+14155550100");
        assert_eq!(parsed.rows[1].birth_date, NaiveDate::from_ymd_opt(1970, 7, 4));
        let rejected: Vec<(usize, &str)> = parsed.rejected.iter().map(|r| (r.line, r.reason.as_str())).collect();
        assert_eq!(rejected.len(), 4, "{rejected:?}");
        assert_eq!(rejected[0], (3, "missing last_name"));
        assert!(rejected[1].0 == 4 && rejected[1].1.starts_with("bad birth_date"), "{rejected:?}");
        assert!(rejected[2].0 == 5 && rejected[2].1.starts_with("bad phone in column Mobile"), "{rejected:?}");
        assert_eq!(rejected[3], (6, "duplicate of line 2 in this file"));
    }

    #[test]
    fn mapping_overrides_guesses_and_unknown_mappings_are_refused() {
        let csv = "a,b,c\nAna,Lopez,A9\n";
        let mapping: Vec<(String, Field)> =
            ["a=first_name", "b=last_name", "c=mrn"].iter().map(|m| parse_mapping(m).unwrap()).collect();
        let parsed = parse(csv.as_bytes(), &mapping, Region::US, today()).unwrap();
        assert_eq!(parsed.rows[0].mrn.as_deref(), Some("A9"));
        assert!(matches!(parse_mapping("a=shoe_size"), Err(ImportError::Mapping(..))));
        assert!(matches!(parse_mapping("nonsense"), Err(ImportError::Mapping(..))));
        let missing = parse(csv.as_bytes(), &[("zzz".into(), Field::Mrn)], Region::US, today());
        assert!(matches!(missing, Err(ImportError::Mapping(c, _)) if c == "zzz"));
        let no_names = parse(b"x,y\n1,2\n", &[], Region::US, today());
        assert!(matches!(no_names, Err(ImportError::Header(m)) if m.contains("first name")));
    }

    #[test]
    fn wrong_encodings_are_reported() {
        let mut latin1 = b"first_name,last_name\nAna,Lopez\n".to_vec();
        latin1.extend_from_slice(b"Jos\xE9,Diaz\n");
        let parsed = parse(&latin1, &[], Region::US, today()).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rejected[0].line, 3);
        assert!(parsed.rejected[0].reason.contains("not UTF-8"), "{:?}", parsed.rejected);
        let utf16 = [0xFF, 0xFE, b'a', 0];
        assert!(matches!(parse(&utf16, &[], Region::US, today()), Err(ImportError::Encoding(_))));
        // A BOM and semicolons (spreadsheet exports) are fine.
        let parsed = parse("\u{feff}first_name;last_name\nJosé;Díaz\n".as_bytes(), &[], Region::US, today()).unwrap();
        assert_eq!(parsed.rows[0].first_name, "José");
    }

    #[test]
    fn fhir_bundles_are_detected_by_content() {
        let bundle = serde_json::json!({
            "resourceType": "Bundle", "type": "collection",
            "entry": [
                {"resource": {"resourceType": "Patient",
                    "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "M-1"}],
                    "name": [{"use": "official", "family": "Lopez", "given": ["Ana", "Maria"]}],
                    "birthDate": "1984-07-31",
                    "telecom": [{"system": "phone", "use": "home", "value": "+14155550101"},
                                {"system": "phone", "use": "mobile", "value": "+14155550100"}],
                    "communication": [{"language": {"coding": [{"code": "es"}]}, "preferred": true}]}},
                {"resource": {"resourceType": "Observation"}},
                {"resource": {"resourceType": "Patient", "name": [{"family": "Diaz", "given": ["Cy"]}], "birthDate": "1990"}},
                {"resource": {"resourceType": "Patient", "name": [{"family": "Eve"}]}}
            ]
        });
        let parsed = parse(bundle.to_string().as_bytes(), &[], Region::US, today()).unwrap();
        assert_eq!(parsed.format, Format::Fhir);
        assert_eq!(parsed.rows.len(), 1);
        let row = &parsed.rows[0];
        assert_eq!((row.first_name.as_str(), row.mrn.as_deref()), ("Ana", Some("M-1")));
        assert_eq!(row.phones[0].as_str(), "+14155550100", "mobile first");
        assert_eq!(row.extras.language.as_deref(), Some("es"));
        let lines: Vec<usize> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3, 4]);
        assert!(parsed.rejected[0].reason.contains("Observation"));
        assert!(parsed.rejected[2].reason.contains("first_name"));
        assert!(matches!(
            parse(b"{\"resourceType\": \"Bundle\", ", &[], Region::US, today()),
            Err(ImportError::Fhir(_))
        ));
        assert!(matches!(
            parse(b"{\"resourceType\": \"Observation\"}", &[], Region::US, today()),
            Err(ImportError::Fhir(_))
        ));
    }

    #[test]
    fn matching_prefers_mrn_then_name_and_birth_date_then_phone_for_prospects() {
        let parsed = parse_csv_text("first,last,dob,mrn,phone\nAna,López,1984-07-31,A1,+14155550100\n");
        let row = &parsed.rows[0];
        let by_mrn = patient("Ann", "Other", None, Some("A1"), None);
        let m = choose_match(row, std::slice::from_ref(&by_mrn), &[], &[]).unwrap().unwrap();
        assert_eq!((m.0, m.1.id), (MatchBy::Mrn, by_mrn.id));

        let by_name = patient("ANA", "Lopez", Some("1984-07-31"), None, None);
        let m = choose_match(row, &[], std::slice::from_ref(&by_name), &[]).unwrap().unwrap();
        assert_eq!((m.0, m.1.id), (MatchBy::NameAndBirthDate, by_name.id));
        // Same name and birth date but another MRN: another person.
        let other = patient("Ana", "Lopez", Some("1984-07-31"), Some("Z9"), None);
        assert!(choose_match(row, &[], &[other], &[]).unwrap().is_none());

        let mut prospect = patient("Ana", "L", None, None, Some("+14155550100"));
        prospect.status = PatientStatus::Prospective;
        let m = choose_match(row, &[], &[], std::slice::from_ref(&prospect)).unwrap().unwrap();
        assert_eq!((m.0, m.1.id), (MatchBy::Phone, prospect.id));
        // A family member on the same phone is not merged, nor is a known patient.
        let mut sibling = prospect.clone();
        sibling.first_name = "Bea".into();
        let known = patient("Ana", "L", None, None, Some("+14155550100"));
        assert!(choose_match(row, &[], &[], &[sibling, known]).unwrap().is_none());
        // Two equal candidates are reported, not guessed.
        let twin = patient("Ana", "Lopez", Some("1984-07-31"), None, None);
        assert!(choose_match(row, &[], &[by_name, twin], &[]).is_err());
    }

    #[test]
    fn merge_fills_blanks_keeps_values_and_reports_conflicts() {
        let parsed = parse_csv_text(
            "first_name,last_name,dob,mrn,phone,language\nAna,Lopez,1984-07-31,A1,+14155550100,es\nAna,Lopez,,B2,,\n",
        );
        let mut existing = patient("Ana", "Lopez", None, Some("A1"), None);
        existing.status = PatientStatus::Prospective;
        let merged = merge(&existing, &PatientExtras::default(), &[], &parsed.rows[0]);
        assert!(merged.changed && merged.conflicts.is_empty());
        assert_eq!(merged.patient.birth_date, NaiveDate::from_ymd_opt(1984, 7, 31));
        assert_eq!(merged.patient.phone.as_ref().map(E164::as_str), Some("+14155550100"));
        assert_eq!(merged.new_phones.len(), 1);
        assert_eq!(merged.extras.language.as_deref(), Some("es"));
        assert_eq!(merged.patient.status, PatientStatus::Prospective, "no status in the file: unchanged");

        let full = merged.patient.clone();
        let linked = vec![full.phone.clone().unwrap()];
        let again = merge(&full, &merged.extras, &linked, &parsed.rows[1]);
        assert!(!again.changed, "blanks never overwrite");
        assert_eq!(again.patient.birth_date, full.birth_date);
        assert_eq!(again.conflicts.len(), 1);
        assert!(again.conflicts[0].starts_with("mrn"));
        let same = merge(&full, &merged.extras, &linked, &parsed.rows[0]);
        assert!(!same.changed && same.conflicts.is_empty(), "{same:?}");
    }
}
