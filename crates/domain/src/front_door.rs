//! The front door: rules for the public chat-request form (`/start`) and the consent it
//! records, free of I/O.
//!
//! - [`check_first_name`]: the only text from the form that ever reaches an SMS, so it is
//!   held to a strict shape (letters, spaces, hyphen, apostrophe; at most 30 characters; no
//!   digits or links). The form cannot be used to text arbitrary words to a stranger.
//! - [`request_received_text`]: the first text to the patient, built in one place.
//! - [`ConversationSource`] and [`ConsentBasis`]: how a conversation began and why staff may
//!   text a number first.
//! - [`SmsPolicy`]: the practice's SMS policy, rendered at `/sms-policy`, versioned so that a
//!   consent record points at the exact text the patient agreed to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest first name the form accepts, in characters.
pub const MAX_FIRST_NAME: usize = 30;
/// Longest free text ("what is it about, in a few words"), in characters.
pub const MAX_FREE_TEXT: usize = 500;
/// Longest reason label admins may configure, in characters.
pub const MAX_REASON_LABEL: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("enter your first name")]
    Empty,
    #[error("use at most {MAX_FIRST_NAME} characters for your first name")]
    TooLong,
    #[error("use only letters, spaces, hyphens and apostrophes in your first name")]
    BadCharacter,
}

/// Checks a first name typed into the public form and returns it tidied (trimmed, inner
/// runs of spaces collapsed). Letters of any script are allowed; digits, punctuation other
/// than `-` and `'` (or `’`), symbols and anything that could form a link are refused.
pub fn check_first_name(raw: &str) -> Result<String, NameError> {
    let tidy = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if tidy.is_empty() {
        return Err(NameError::Empty);
    }
    if tidy.chars().count() > MAX_FIRST_NAME {
        return Err(NameError::TooLong);
    }
    let allowed = |c: char| c.is_alphabetic() || c == ' ' || c == '-' || c == '\'' || c == '’';
    if !tidy.chars().all(allowed) {
        return Err(NameError::BadCharacter);
    }
    // At least one letter, and no name made only of separators ("--", "'").
    if !tidy.chars().any(char::is_alphabetic) {
        return Err(NameError::BadCharacter);
    }
    // Letters alone can still spell a link without dots ("wwwexamplecom" is harmless, but
    // "http" followed by nothing is not a link either); refuse the obvious link words so a
    // name never looks like one in the text.
    let lower = tidy.to_lowercase();
    if lower.starts_with("http") || lower.starts_with("www") {
        return Err(NameError::BadCharacter);
    }
    Ok(tidy)
}

/// The first text to a patient who asked to be contacted from the website. The patient's
/// free text is never part of it: only the checked first name, the practice's own name and
/// the reason label an admin configured. `eta` is a phrase such as `"by 2:30 PM"` when the
/// practice can promise a time (office hours), else the text says "soon".
pub fn request_received_text(first_name: &str, practice: &str, reason_label: &str, eta: Option<&str>) -> String {
    let when = match eta.map(str::trim).filter(|e| !e.is_empty()) {
        Some(eta) => eta.to_string(),
        None => "soon".to_string(),
    };
    let reason = in_sentence(reason_label.trim());
    format!(
        "Hi {first_name}, this is {practice}. We got your request about {reason}; a team member will text you here {when}. Reply STOP to opt out."
    )
}

/// A label as it reads inside a sentence: "Billing" → "billing", "Test results" → "test
/// results", but "MRI scans" keeps its acronym.
fn in_sentence(label: &str) -> String {
    let first_word = label.split_whitespace().next().unwrap_or("");
    let acronym = first_word.chars().filter(|c| c.is_alphabetic()).count() > 1
        && first_word.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase);
    let mut chars = label.chars();
    match chars.next() {
        Some(first) if !acronym => first.to_lowercase().chain(chars).collect(),
        _ => label.to_string(),
    }
}

/// How a conversation began, so reports can count conversations by source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationSource {
    /// The patient texted the practice (the default for every conversation).
    PatientText,
    /// The chat-request form at `/start`.
    WebForm,
    /// Staff or the API texted first.
    StaffOutreach,
    Referral,
}

impl ConversationSource {
    pub const ALL: &'static [ConversationSource] = &[
        ConversationSource::PatientText,
        ConversationSource::WebForm,
        ConversationSource::StaffOutreach,
        ConversationSource::Referral,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConversationSource::PatientText => "patient_text",
            ConversationSource::WebForm => "web_form",
            ConversationSource::StaffOutreach => "staff_outreach",
            ConversationSource::Referral => "referral",
        }
    }
}

impl FromStr for ConversationSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConversationSource::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown conversation source {s:?}"))
    }
}

impl fmt::Display for ConversationSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why staff may text a number first (DESIGN.md §4, consent events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentBasis {
    /// A consent grant is already on record for the number (web form, START, an earlier
    /// attestation) and not revoked since.
    Existing,
    /// The patient texted the practice first.
    PatientInitiated,
    /// A staff member attests the patient agreed out loud; a note says when and how.
    Verbal,
}

impl ConsentBasis {
    pub const ALL: &'static [ConsentBasis] =
        &[ConsentBasis::Existing, ConsentBasis::PatientInitiated, ConsentBasis::Verbal];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentBasis::Existing => "existing",
            ConsentBasis::PatientInitiated => "patient_initiated",
            ConsentBasis::Verbal => "verbal",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConsentBasis::Existing => "Consent is already on record",
            ConsentBasis::PatientInitiated => "The patient texted us first",
            ConsentBasis::Verbal => "The patient agreed out loud (I attest; add a note)",
        }
    }
}

impl FromStr for ConsentBasis {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConsentBasis::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| format!("unknown consent basis {s:?}; expected one of: existing, patient_initiated, verbal"))
    }
}

/// The parts of the SMS policy an admin writes; the practice's name and the STOP / HELP and
/// rates sentences are added when it is rendered (see [`SmsPolicy::sections`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsPolicy {
    /// The practice's name as it was when this version was saved.
    pub practice: String,
    /// What the practice texts about.
    pub purpose: String,
    /// How often.
    pub frequency: String,
    /// How numbers and messages are protected and shared.
    pub privacy: String,
}

/// Longest text of one policy part, in characters.
pub const MAX_POLICY_PART: usize = 2000;

impl SmsPolicy {
    pub fn default_for(practice: &str) -> SmsPolicy {
        SmsPolicy {
            practice: practice.to_string(),
            purpose: format!(
                "{practice} texts patients and people who ask to be contacted about appointments, billing, records, forms and replies to their questions."
            ),
            frequency: "Message frequency varies with your requests: usually a few messages per conversation, and no marketing.".into(),
            privacy: format!(
                "{practice} keeps your number and messages confidential. We do not sell or share your mobile number or consent with third parties for marketing. Do not text emergencies: call 911."
            ),
        }
    }

    /// Checks the parts an admin wrote, naming the field that is wrong.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (field, value) in [("purpose", &self.purpose), ("frequency", &self.frequency), ("privacy", &self.privacy)] {
            let n = value.trim().chars().count();
            if n == 0 {
                return Err((field, format!("write the policy's {field} section")));
            }
            if n > MAX_POLICY_PART {
                return Err((field, format!("the {field} section is {n} characters; the limit is {MAX_POLICY_PART}")));
            }
        }
        Ok(())
    }

    /// The policy as headed sections, in the order shown: who texts, what for, how often,
    /// STOP / HELP, costs, privacy.
    pub fn sections(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Who texts you", format!("Texts come from {}.", self.practice)),
            ("What we text about", self.purpose.clone()),
            ("How often", self.frequency.clone()),
            (
                "Stopping and help",
                "Reply STOP at any time to stop receiving texts; you will get one confirmation and nothing more. Reply START to receive texts again. Reply HELP for help."
                    .into(),
            ),
            ("Costs", "Message and data rates may apply.".into()),
            ("Privacy", self.privacy.clone()),
        ]
    }
}

/// Checks an admin's reason key (a short word kept with each conversation for reports).
pub fn check_reason_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 32
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_names_in_many_shapes_are_accepted() {
        for (raw, tidy) in [
            ("Ana", "Ana"),
            ("  Mary  Jane ", "Mary Jane"),
            ("Jean-Luc", "Jean-Luc"),
            ("O'Brien", "O'Brien"),
            ("D’Angelo", "D’Angelo"),
            ("José", "José"),
            ("Zoë", "Zoë"),
            ("Łukasz", "Łukasz"),
            ("Андрей", "Андрей"),
            ("王芳", "王芳"),
        ] {
            assert_eq!(check_first_name(raw).as_deref(), Ok(tidy), "{raw:?}");
        }
    }

    #[test]
    fn first_names_that_could_carry_a_message_are_refused() {
        for raw in [
            "Ana2",
            "Win $500",
            "bit.ly/x",
            "http",
            "httpsevilcom",
            "www",
            "Ana: call 5550100",
            "Ana!",
            "a@b",
            "<b>",
            "--",
            "'",
            "Ana\u{200b}",
        ] {
            assert!(check_first_name(raw).is_err(), "{raw:?} should be refused");
        }
        assert_eq!(check_first_name("   "), Err(NameError::Empty));
        assert_eq!(check_first_name(&"a".repeat(31)), Err(NameError::TooLong));
        assert!(check_first_name(&"a".repeat(30)).is_ok());
    }

    #[test]
    fn newline_inside_a_name_is_collapsed_not_kept() {
        // Whitespace of any kind becomes one space: the text never gets a line break from it.
        assert_eq!(check_first_name("Ana\tMaria").as_deref(), Ok("Ana Maria"));
    }

    #[test]
    fn the_first_text_matches_the_agreed_wording() {
        assert_eq!(
            request_received_text("Ana", "Acme Family Clinic", "Billing", None),
            "Hi Ana, this is Acme Family Clinic. We got your request about billing; a team member will text you here soon. Reply STOP to opt out."
        );
        assert_eq!(
            request_received_text("Ana", "Acme Family Clinic", "billing", Some("by 2:30 PM")),
            "Hi Ana, this is Acme Family Clinic. We got your request about billing; a team member will text you here by 2:30 PM. Reply STOP to opt out."
        );
        assert!(request_received_text("Ana", "Acme", "billing", Some("  ")).contains("here soon."));
        assert!(request_received_text("Ana", "Acme", "Test results", None).contains("about test results;"));
        assert!(request_received_text("Ana", "Acme", "MRI scans", None).contains("about MRI scans;"));
    }

    #[test]
    fn the_first_text_fits_two_segments_with_the_longest_name() {
        let text = request_received_text(&"A".repeat(MAX_FIRST_NAME), "Acme Family Clinic", "Test results", None);
        assert!(crate::sms::analyze(&text).segments <= 2, "{text}");
    }

    #[test]
    fn sources_and_bases_read_back_from_their_words() {
        for s in ConversationSource::ALL {
            assert_eq!(s.as_str().parse::<ConversationSource>(), Ok(*s));
        }
        for b in ConsentBasis::ALL {
            assert_eq!(b.as_str().parse::<ConsentBasis>(), Ok(*b));
        }
        assert!("maybe".parse::<ConsentBasis>().unwrap_err().contains("existing"));
    }

    #[test]
    fn the_policy_names_stop_help_rates_and_privacy() {
        let p = SmsPolicy::default_for("Acme Family Clinic");
        assert!(p.validate().is_ok());
        let all: String = p.sections().into_iter().map(|(h, t)| format!("{h}: {t}\n")).collect();
        for needle in ["Acme Family Clinic", "STOP", "HELP", "Message and data rates may apply", "Privacy"] {
            assert!(all.contains(needle), "{needle} missing from {all}");
        }
        let bad = SmsPolicy { purpose: " ".into(), ..p };
        assert_eq!(bad.validate().unwrap_err().0, "purpose");
    }

    #[test]
    fn reason_keys_are_short_words() {
        assert!(check_reason_key("billing"));
        assert!(check_reason_key("test_results-2"));
        assert!(!check_reason_key(""));
        assert!(!check_reason_key("Billing"));
        assert!(!check_reason_key("a b"));
    }
}
