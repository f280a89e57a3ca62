//! PHI guard (DESIGN.md §6 "PHI guard"): before a staff text leaves, spot likely protected
//! health information so the practice can warn (staff confirm, audited) or block (offer a
//! secure form instead).
//!
//! SMS is not a secure channel, but most front-desk texts are logistics: appointment dates and
//! times, phone numbers, prices, addresses, "your refill is ready". Those must pass silently or
//! staff learn to click through the warning. So the rules look for things that identify a
//! patient's record or health, not for anything that merely looks like a number:
//!
//! - identifiers only next to their label ("MRN 448812", "member ID XJH123456789"), except
//!   the SSN's own 3-2-4 shape, which nothing else on a front desk has;
//! - dates of birth next to a label ("DOB", "born"), or any full date in the 1900s, which no
//!   appointment has;
//! - diagnoses and medications from curated lists of whole words and phrases;
//! - lab values as a test name followed by a number, a number with a lab unit ("140 mg/dL"),
//!   or a test result ("positive for strep").
//!
//! Matching is case-insensitive on word boundaries and runs in linear time (regex crate).
//! It is a guard for honest mistakes, not a data-loss-prevention system: it will miss PHI
//! written creatively.

use std::sync::LazyLock;

use regex::Regex;

/// What kind of PHI a finding looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PhiKind {
    Ssn,
    BirthDate,
    /// A medical record number or chart number.
    RecordNumber,
    /// An insurance member, subscriber, policy or group id.
    MemberId,
    Diagnosis,
    Medication,
    LabValue,
}

impl PhiKind {
    /// Every kind, in the order [`describe`] lists them.
    pub const ALL: [PhiKind; 7] = [
        PhiKind::Ssn,
        PhiKind::BirthDate,
        PhiKind::RecordNumber,
        PhiKind::MemberId,
        PhiKind::Diagnosis,
        PhiKind::Medication,
        PhiKind::LabValue,
    ];

    /// Stable snake_case name for audit records and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            PhiKind::Ssn => "ssn",
            PhiKind::BirthDate => "birth_date",
            PhiKind::RecordNumber => "record_number",
            PhiKind::MemberId => "member_id",
            PhiKind::Diagnosis => "diagnosis",
            PhiKind::Medication => "medication",
            PhiKind::LabValue => "lab_value",
        }
    }

    /// Plain English for staff, with its article ("a Social Security number").
    pub fn label(self) -> &'static str {
        match self {
            PhiKind::Ssn => "a Social Security number",
            PhiKind::BirthDate => "a date of birth",
            PhiKind::RecordNumber => "a medical record number",
            PhiKind::MemberId => "an insurance member or policy number",
            PhiKind::Diagnosis => "a diagnosis",
            PhiKind::Medication => "a medication name",
            PhiKind::LabValue => "a lab result",
        }
    }
}

/// One suspected piece of PHI: `text[start..end]` (byte offsets on char boundaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhiFinding {
    pub kind: PhiKind,
    pub start: usize,
    pub end: usize,
}

/// Diagnoses and conditions (regex fragments; spaces match any whitespace). Words that are
/// everyday front-desk vocabulary ("flu shot", "COVID vaccine", "physical") are left out on
/// purpose: they appear in reminders sent to everyone.
const DIAGNOSES: &[&str] = &[
    "diabetes",
    "diabetic",
    "pre-?diabetes",
    "pre-?diabetic",
    "hypertension",
    "high blood pressure",
    "hiv",
    "aids virus",
    "hepatitis(?: [abc])?",
    "hep [abc]",
    "cancer",
    "cancerous",
    "carcinoma",
    "lymphoma",
    "leukemia",
    "melanoma",
    "tumou?r",
    "malignant",
    "depression",
    "depressive disorder",
    "anxiety disorder",
    "generalized anxiety",
    "panic disorder",
    "ptsd",
    "adhd",
    "ocd",
    "autism",
    "pregnancy",
    "pregnant",
    "miscarriage",
    "chlamydia",
    "gonorrh?o?ea",
    "syphilis",
    "herpes",
    "hpv",
    "std",
    "stds",
    "sti",
    "stis",
    "bipolar",
    "schizophrenia",
    "schizophrenic",
    "dementia",
    "alzheimer'?s?",
    "parkinson'?s",
    "asthma",
    "copd",
    "emphysema",
    "epilepsy",
    "seizure disorder",
    "multiple sclerosis",
    "hypothyroidism",
    "hyperthyroidism",
    "kidney disease",
    "renal failure",
    "ckd",
    "heart failure",
    "atrial fibrillation",
    "afib",
    "pneumonia",
    "tuberculosis",
    "eating disorder",
    "anorexia",
    "bulimia",
    "substance use disorder",
    "opioid use disorder",
    "alcoholism",
    "obesity",
    "osteoporosis",
    "rheumatoid arthritis",
    "arthritis",
    "lupus",
    "crohn'?s",
    "ulcerative colitis",
    "celiac disease",
    "sleep apnea",
    "uti",
    "urinary tract infection",
    "strep throat",
    "shingles",
    "gout",
];

/// Common US generic and brand names (regex fragments). Names that are also ordinary words
/// ("plan b", "prep") are left out.
const MEDICATIONS: &[&str] = &[
    "metformin",
    "glipizide",
    "insulin",
    "lantus",
    "humalog",
    "novolog",
    "ozempic",
    "wegovy",
    "semaglutide",
    "mounjaro",
    "zepbound",
    "tirzepatide",
    "trulicity",
    "jardiance",
    "farxiga",
    "januvia",
    "lisinopril",
    "losartan",
    "valsartan",
    "amlodipine",
    "hydrochlorothiazide",
    "hctz",
    "furosemide",
    "lasix",
    "metoprolol",
    "carvedilol",
    "atenolol",
    "propranolol",
    "spironolactone",
    "atorvastatin",
    "lipitor",
    "simvastatin",
    "rosuvastatin",
    "crestor",
    "pravastatin",
    "warfarin",
    "coumadin",
    "eliquis",
    "apixaban",
    "xarelto",
    "rivaroxaban",
    "clopidogrel",
    "plavix",
    "levothyroxine",
    "synthroid",
    "omeprazole",
    "prilosec",
    "pantoprazole",
    "esomeprazole",
    "nexium",
    "famotidine",
    "gabapentin",
    "neurontin",
    "pregabalin",
    "lyrica",
    "sertraline",
    "zoloft",
    "fluoxetine",
    "prozac",
    "escitalopram",
    "lexapro",
    "citalopram",
    "celexa",
    "paroxetine",
    "paxil",
    "bupropion",
    "wellbutrin",
    "venlafaxine",
    "effexor",
    "duloxetine",
    "cymbalta",
    "trazodone",
    "mirtazapine",
    "buspirone",
    "hydroxyzine",
    "alprazolam",
    "xanax",
    "lorazepam",
    "ativan",
    "clonazepam",
    "klonopin",
    "diazepam",
    "valium",
    "zolpidem",
    "ambien",
    "quetiapine",
    "seroquel",
    "aripiprazole",
    "abilify",
    "risperidone",
    "lithium",
    "lamotrigine",
    "lamictal",
    "topiramate",
    "topamax",
    "adderall",
    "ritalin",
    "methylphenidate",
    "vyvanse",
    "oxycodone",
    "oxycontin",
    "percocet",
    "hydrocodone",
    "vicodin",
    "norco",
    "tramadol",
    "morphine",
    "fentanyl",
    "codeine",
    "buprenorphine",
    "suboxone",
    "methadone",
    "naloxone",
    "narcan",
    "prednisone",
    "methylprednisolone",
    "albuterol",
    "ventolin",
    "advair",
    "symbicort",
    "montelukast",
    "singulair",
    "amoxicillin",
    "augmentin",
    "azithromycin",
    "z-?pak",
    "z-?pack",
    "doxycycline",
    "cephalexin",
    "keflex",
    "ciprofloxacin",
    "cipro",
    "bactrim",
    "nitrofurantoin",
    "macrobid",
    "valacyclovir",
    "valtrex",
    "acyclovir",
    "truvada",
    "descovy",
    "biktarvy",
    "tamoxifen",
    "methotrexate",
    "humira",
    "meloxicam",
    "cyclobenzaprine",
    "ondansetron",
    "zofran",
    "sumatriptan",
    "sildenafil",
    "viagra",
    "tadalafil",
    "cialis",
    "finasteride",
    "estradiol",
    "medroxyprogesterone",
    "depo-provera",
    "birth control pills?",
];

/// Lab tests that, followed by a number, make a result.
const LAB_TESTS: &[&str] = &[
    "a1c",
    "hba1c",
    "hemoglobin a1c",
    "glucose",
    "blood sugar",
    "sugar",
    "cholesterol",
    "ldl",
    "hdl",
    "triglycerides",
    "potassium",
    "sodium",
    "creatinine",
    "e?gfr",
    "tsh",
    "free t4",
    "psa",
    "inr",
    "hemoglobin",
    "hgb",
    "hematocrit",
    "wbc",
    "white (?:blood )?count",
    "platelets?",
    "alt",
    "ast",
    "vitamin d",
    "vit d",
    "b12",
    "ferritin",
    "bun",
    "calcium",
    "magnesium",
    "cd4(?: count)?",
    "viral load",
    "blood pressure",
    "bp",
    "pulse ox",
    "oxygen saturation",
];

fn alternation(items: &[&str]) -> String {
    items.iter().map(|s| s.replace(' ', r"\s+")).collect::<Vec<_>>().join("|")
}

/// A value after a label: "MRN 448812", "member ID: XJH123456789", "policy # AB-1234",
/// "MRN is 448812". The value must contain a digit (checked in code), so "member ID card" is
/// not an id.
const LABEL_SEPARATOR: &str =
    r"(?:\s*(?:#|(?:no|num|number|id)\b\.?))?\s*[:#=]?\s*(?:(?:on\s+file\s+)?(?:is|was|of|as)\s+)?[:#]?\s*";
const ID_VALUE: &str = r"([A-Za-z0-9][A-Za-z0-9-]{3,24})\b";

struct Rules {
    ssn_bare: Regex,
    ssn_labelled: Regex,
    dob_labelled: Regex,
    date_1900s: Regex,
    record_number: Regex,
    member_id: Regex,
    diagnosis: Regex,
    medication: Regex,
    lab_named: Regex,
    lab_unit: Regex,
    lab_result: Regex,
}

const MONTH: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";

static RULES: LazyLock<Rules> = LazyLock::new(|| {
    let re = |pattern: &str| Regex::new(&format!("(?i){pattern}")).expect("PHI rule compiles");
    // Any written date: 04/12/1985, 4-12-85, 1985-04-12, April 12, 1985, 12 April 1985, and
    // without a year after a DOB label ("DOB 4/12").
    let date = format!(
        r"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[/.-]\d{{1,2}}(?:[/.-]\d{{2,4}})?|{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}(?:,?\s+\d{{4}})?)"
    );
    Rules {
        ssn_bare: re(r"\b(\d{3}-\d{2}-\d{4})\b"),
        ssn_labelled: re(&format!(
            r"\b(?:ssn|ss#|social\s+security(?:\s+(?:number|no\.?|#))?|social){LABEL_SEPARATOR}(\d{{3}}[ .-]?\d{{2}}[ .-]?\d{{4}})\b"
        )),
        dob_labelled: re(&format!(
            r"\b(?:dob|d\.o\.b\.?|date\s+of\s+birth|birth\s*date|birthday|born(?:\s+(?:on|in))?)(?:\s+on\s+file)?\s*(?:(?:is|was|of|as)\s+)?[:=]?\s*({date}|(?:19|20)\d{{2}})\b"
        )),
        date_1900s: re(&format!(
            r"\b(\d{{1,2}}[/.-]\d{{1,2}}[/.-]19\d{{2}}|19\d{{2}}-\d{{1,2}}-\d{{1,2}}|{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+19\d{{2}})\b"
        )),
        record_number: re(&format!(
            r"\b(?:mrn|medical\s+record(?:\s+(?:number|no\.?|#))?|record\s+(?:number|no\.?|#)|chart(?:\s+(?:number|no\.?|id)|\s*#)|patient\s+(?:id|number|no\.?|#)){LABEL_SEPARATOR}{ID_VALUE}"
        )),
        member_id: re(&format!(
            r"\b(?:member|subscriber|policy|mbi|(?:group|insurance|medicaid|medicare|plan)\s*(?:id|#|no\.?|num(?:ber)?\.?)){LABEL_SEPARATOR}{ID_VALUE}"
        )),
        diagnosis: re(&format!(r"\b(?:{})\b", alternation(DIAGNOSES))),
        medication: re(&format!(r"\b(?:{})\b", alternation(MEDICATIONS))),
        lab_named: re(&format!(
            r"\b(?:{})(?:\s+(?:levels?|results?|reading|test|count))?(?:\s*(?::|=|is|was|were|of|at|came\s+back(?:\s+at)?|went\s+up\s+to|dropped\s+to))*\s*(\d+(?:\.\d+)?(?:/\d+)?\s*(?:%|mg/dl|mmol/l|meq/l)?)",
            alternation(LAB_TESTS)
        )),
        lab_unit: re(
            r"\b(\d+(?:\.\d+)?\s*(?:mg/dl|mmol/l|meq/l|ng/ml|pg/ml|miu/l|u/l|iu/l|g/dl|mcg/dl|copies/ml|cells/mm3))",
        ),
        lab_result: re(
            r"\b((?:tested|test(?:s)?\s+(?:came\s+back|(?:was|were|is|are))|came\s+back|results?\s+(?:was|were|is|are|came\s+back))\s+(?:positive|negative|abnormal|elevated)|(?:positive|negative)\s+for\s+\w+)",
        ),
    }
});

/// An id after a label has a digit and is not just a year ("Medicare 2026 open enrollment").
fn is_identifier(value: &str) -> bool {
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let is_year = value.len() == 4 && (value.starts_with("19") || value.starts_with("20"));
    has_digit && !is_year
}

/// Finds likely PHI in an outbound message, ordered by position. Overlapping findings of the
/// same kind are merged into the first one; different kinds may overlap.
pub fn detect_phi(text: &str) -> Vec<PhiFinding> {
    let rules = &*RULES;
    let mut found = Vec::new();
    let mut captures = |re: &Regex, kind: PhiKind, needs_digit: bool| {
        for caps in re.captures_iter(text) {
            let Some(m) = caps.get(1).or_else(|| caps.get(0)) else { continue };
            if needs_digit && !is_identifier(m.as_str()) {
                continue;
            }
            found.push(PhiFinding { kind, start: m.start(), end: m.end() });
        }
    };
    captures(&rules.ssn_bare, PhiKind::Ssn, false);
    captures(&rules.ssn_labelled, PhiKind::Ssn, false);
    captures(&rules.dob_labelled, PhiKind::BirthDate, false);
    captures(&rules.date_1900s, PhiKind::BirthDate, false);
    captures(&rules.record_number, PhiKind::RecordNumber, true);
    captures(&rules.member_id, PhiKind::MemberId, true);
    captures(&rules.diagnosis, PhiKind::Diagnosis, false);
    captures(&rules.medication, PhiKind::Medication, false);
    captures(&rules.lab_named, PhiKind::LabValue, false);
    captures(&rules.lab_unit, PhiKind::LabValue, false);
    captures(&rules.lab_result, PhiKind::LabValue, false);

    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end), f.kind));
    let mut merged: Vec<PhiFinding> = Vec::with_capacity(found.len());
    for f in found {
        // A labelled SSN also matches the bare SSN rule, a labelled date of birth may also be a
        // 1900s date: keep one finding per kind and place.
        if let Some(kept) = merged.iter_mut().find(|k| k.kind == f.kind && f.start < k.end && k.start < f.end) {
            kept.end = kept.end.max(f.end);
        } else {
            merged.push(f);
        }
    }
    merged
}

/// One sentence for staff naming the kinds found, e.g. "This text looks like it contains a
/// Social Security number and a medication name."
pub fn describe(findings: &[PhiFinding]) -> String {
    let labels: Vec<&str> =
        PhiKind::ALL.iter().filter(|k| findings.iter().any(|f| f.kind == **k)).map(|k| k.label()).collect();
    match labels.as_slice() {
        [] => "This text does not look like it contains health information.".to_owned(),
        [one] => format!("This text looks like it contains {one}."),
        [init @ .., last] => format!("This text looks like it contains {} and {last}.", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<PhiKind> {
        detect_phi(text).into_iter().map(|f| f.kind).collect()
    }

    #[test]
    fn labelled_ssn_is_one_finding_on_the_number() {
        let text = "SSN 123-45-6789";
        let f = detect_phi(text);
        assert_eq!(f.len(), 1);
        assert_eq!(&text[f[0].start..f[0].end], "123-45-6789");
    }

    #[test]
    fn describe_joins_kinds() {
        let text = "SSN 123-45-6789, start metformin";
        assert_eq!(kinds(text), [PhiKind::Ssn, PhiKind::Medication]);
        assert_eq!(
            describe(&detect_phi(text)),
            "This text looks like it contains a Social Security number and a medication name."
        );
    }
}
