//! Phone numbers: parsed once at the edge into [`E164`], then trusted everywhere.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A region used to read numbers written without a country code (`(415) 555-0100`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(phonenumber::country::Id);

impl Region {
    pub const US: Region = Region(phonenumber::country::Id::US);

    /// Parses an ISO 3166-1 alpha-2 code such as `US` or `CA`.
    pub fn from_code(code: &str) -> Result<Region, PhoneError> {
        phonenumber::country::Id::from_str(&code.trim().to_ascii_uppercase())
            .map(Region)
            .map_err(|_| PhoneError::UnknownRegion(code.to_string()))
    }

    pub fn code(&self) -> String {
        format!("{:?}", self.0)
    }
}

impl Default for Region {
    fn default() -> Self {
        Region::US
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error("the phone number could not be read; write it with its country code, like +14155550100")]
    Unparseable,
    #[error("the phone number is not a valid number for its country")]
    Invalid,
    #[error("unknown region code {0:?}; use a two-letter country code like US")]
    UnknownRegion(String),
}

/// A valid phone number in E.164 form (`+14155550100`).
///
/// `Debug` masks all but the last four digits so a number never reaches a log by accident;
/// use [`E164::as_str`] where the full number is really needed (provider calls, storage).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    /// Parses user or provider input; numbers without a country code are read in `region`.
    pub fn parse(input: &str, region: Region) -> Result<E164, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let parsed = phonenumber::parse(Some(region.0), trimmed).map_err(|_| PhoneError::Unparseable)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid);
        }
        Ok(E164(parsed.format().mode(phonenumber::Mode::E164).to_string()))
    }

    /// Accepts a number already in E.164 form (`+` and 8 to 15 digits), as providers send it.
    ///
    /// Only the syntax is checked: a provider is the authority on numbers it routes, and
    /// rejecting one of its webhooks over numbering-plan metadata would lose a message.
    pub fn parse_strict(input: &str) -> Result<E164, PhoneError> {
        let trimmed = input.trim();
        let digits = trimmed.strip_prefix('+').ok_or(PhoneError::Unparseable)?;
        let well_formed =
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        if well_formed { Ok(E164(trimmed.to_string())) } else { Err(PhoneError::Unparseable) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+1•••••••0199`: enough for staff and logs to tell numbers apart, not enough to dial.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }

    /// The whole number as people write it: `(212) 555-0100` in North America, E.164
    /// elsewhere. For pages a signed-in person is allowed to see, never for logs.
    pub fn display(&self) -> String {
        match self.0.strip_prefix("+1") {
            Some(d) if d.len() == 10 => format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..]),
            _ => self.0.clone(),
        }
    }

    /// The ISO region of the number, if known (`US`, `CA`, ...).
    pub fn region_code(&self) -> Option<String> {
        phonenumber::parse(None, &self.0).ok().and_then(|n| n.country().id()).map(|id| format!("{id:?}"))
    }
}

/// Masks any phone-like string, keeping a leading `+` and the last four characters.
pub fn mask_phone(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 4 {
        return "•".repeat(chars.len());
    }
    let keep_from = chars.len() - 4;
    let prefix_len = if raw.starts_with("+1") {
        2
    } else if raw.starts_with('+') {
        1
    } else {
        0
    };
    chars.iter().enumerate().map(|(i, c)| if i < prefix_len || i >= keep_from { *c } else { '•' }).collect()
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.masked())
    }
}

impl fmt::Display for E164 {
    /// Display is masked too; templates and logs that need the full number call `as_str`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl TryFrom<String> for E164 {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        E164::parse_strict(&value)
    }
}

impl From<E164> for String {
    fn from(value: E164) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_national_and_international_forms() {
        assert_eq!(E164::parse_strict("+14155550100").unwrap().as_str(), "+14155550100");
        let b = E164::parse("(212) 736-5000", Region::US).unwrap();
        assert_eq!(b.as_str(), "+12127365000");
        let c = E164::parse("+44 20 7946 0958", Region::US).unwrap();
        assert_eq!(c.as_str(), "+442079460958");
        let d = E164::parse("020 7946 0958", Region::from_code("gb").unwrap()).unwrap();
        assert_eq!(d, c);
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        assert_eq!(E164::parse("   ", Region::US), Err(PhoneError::Empty));
        assert!(E164::parse("hello", Region::US).is_err());
        assert!(E164::parse("+1 212", Region::US).is_err());
        assert!(E164::parse_strict("2127365000").is_err());
        assert!(Region::from_code("XX").is_err());
    }

    #[test]
    fn debug_and_display_never_show_the_whole_number() {
        let n = E164::parse("+12127365000", Region::US).unwrap();
        assert_eq!(format!("{n}"), "+1••••••5000");
        assert!(!format!("{n:?}").contains("2127365000"));
        assert_eq!(n.region_code().as_deref(), Some("US"));
    }
}
