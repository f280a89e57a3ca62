//! Message templates ("Hi {patient.first_name}, this is {practice.name}…") for saved replies
//! and automated messages.
//!
//! Syntax: `{name}` is a variable from [`KNOWN_VARIABLES`]; `{{` and `}}` are literal braces;
//! any other brace is an error. Rendering never guesses: a variable without a value in this
//! context is an error rather than an empty string, because "Hi , your results…" sent to a
//! patient is worse than a composer that asks staff to fill the gap.
//!
//! Positions in errors are 1-based character counts, the way an admin counts in a text box.

use std::collections::HashMap;

/// Longest template an admin may save: 1,600 characters is the longest message providers
/// accept (10 GSM-7 segments), so a longer template could never be sent.
pub const MAX_TEMPLATE_CHARS: usize = 1600;

/// Every variable a template may use, with the description shown in the template editor.
pub const KNOWN_VARIABLES: &[(&str, &str)] = &[
    ("patient.first_name", "The patient's first name"),
    ("patient.last_name", "The patient's last name"),
    ("practice.name", "The practice's name"),
    ("department.name", "The name of the conversation's department"),
    ("department.phone", "The department's phone number"),
    ("staff.first_name", "The first name of the staff member sending the message"),
    ("staff.name", "The full name of the staff member sending the message"),
    ("form.link", "The link to the secure form attached to the message"),
];

/// The placeholder for a secure form's link. Templates rendered in a conversation keep it as
/// it stands; the link is made when the message is sent with a form chosen, because every
/// link is a fresh single-use token.
pub const FORM_LINK: &str = "{form.link}";

/// Why a template cannot be saved or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{{{name}}} at character {position} is not a known variable")]
    UnknownVariable { name: String, position: usize },
    #[error("{{{name}}} has no value: {reason} (at character {position})")]
    MissingValue { name: String, position: usize, reason: &'static str },
    #[error("the brace at character {position} is never closed: close it with }} or write {{{{ for a literal {{")]
    UnclosedBrace { position: usize },
    #[error("the brace at character {position} closes nothing: write }}}} for a literal }}")]
    UnmatchedClosingBrace { position: usize },
    #[error("the braces at character {position} have no variable name inside")]
    EmptyName { position: usize },
    #[error("the template is empty")]
    Empty,
    #[error("the template is {chars} characters long; the limit is {max}")]
    TooLong { chars: usize, max: usize },
}

/// The values available in one sending context, by variable name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateValues {
    values: HashMap<String, String>,
}

impl TemplateValues {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder form of [`TemplateValues::set`].
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// The value of `name`; blank values count as missing (a patient saved without a first
    /// name must not produce "Hi ,").
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }
}

/// One piece of a parsed template.
enum Piece<'a> {
    Text(&'a str),
    Var { name: &'a str, position: usize },
}

/// Splits a template into literal text and variables, checking only the syntax.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut chars = template.char_indices().enumerate().peekable();
    let mut text_start = 0;
    while let Some((index, (byte, c))) = chars.next() {
        let position = index + 1;
        match c {
            '{' | '}' if chars.peek().is_some_and(|(_, (_, next))| *next == c) => {
                // Doubled brace: keep one of them as literal text.
                pieces.push(Piece::Text(&template[text_start..byte + 1]));
                chars.next();
                text_start = byte + 2;
            }
            '}' => return Err(TemplateError::UnmatchedClosingBrace { position }),
            '{' => {
                pieces.push(Piece::Text(&template[text_start..byte]));
                let close = loop {
                    match chars.next() {
                        Some((_, (b, '}'))) => break b,
                        Some((_, (_, '{'))) | None => return Err(TemplateError::UnclosedBrace { position }),
                        Some(_) => {}
                    }
                };
                let name = template[byte + 1..close].trim();
                if name.is_empty() {
                    return Err(TemplateError::EmptyName { position });
                }
                pieces.push(Piece::Var { name, position });
                text_start = close + 1;
            }
            _ => {}
        }
    }
    pieces.push(Piece::Text(&template[text_start..]));
    Ok(pieces)
}

fn is_known(name: &str) -> bool {
    KNOWN_VARIABLES.iter().any(|(known, _)| *known == name)
}

/// Why a known variable may lack a value, in words staff understand.
fn missing_reason(name: &str) -> &'static str {
    match name.split('.').next() {
        Some("patient") => "this conversation is not linked to a patient",
        Some("staff") => "no staff member is sending this message",
        Some("department") => "this conversation has no department, or the department has no such detail",
        Some("form") => "no form is attached to this message: choose the secure form the link should open",
        _ => "the practice settings do not fill it in",
    }
}

/// Fills in a template. Errors on syntax, on unknown variables and on variables without a
/// value in `values`.
pub fn render(template: &str, values: &TemplateValues) -> Result<String, TemplateError> {
    let pieces = parse(template)?;
    let mut out = String::with_capacity(template.len());
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Var { name, position } => {
                if !is_known(name) {
                    return Err(TemplateError::UnknownVariable { name: name.to_owned(), position });
                }
                let value = values.get(name).ok_or_else(|| TemplateError::MissingValue {
                    name: name.to_owned(),
                    position,
                    reason: missing_reason(name),
                })?;
                out.push_str(value);
            }
        }
    }
    Ok(out)
}

/// The variable names a template uses, each once, in order of first use. Only the syntax is
/// checked, so the editor can list (and highlight) unknown names too; see [`validate`].
pub fn variables(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut names: Vec<String> = Vec::new();
    for piece in parse(template)? {
        if let Piece::Var { name, .. } = piece
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// The check run when an admin saves a template: not blank, at most [`MAX_TEMPLATE_CHARS`]
/// characters, valid syntax, only known variables.
pub fn validate(template: &str) -> Result<(), TemplateError> {
    if template.trim().is_empty() {
        return Err(TemplateError::Empty);
    }
    let chars = template.chars().count();
    if chars > MAX_TEMPLATE_CHARS {
        return Err(TemplateError::TooLong { chars, max: MAX_TEMPLATE_CHARS });
    }
    for piece in parse(template)? {
        if let Piece::Var { name, position } = piece
            && !is_known(name)
        {
            return Err(TemplateError::UnknownVariable { name: name.to_owned(), position });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_braces() {
        assert_eq!(render("{{not a var}} ok", &TemplateValues::new()).unwrap(), "{not a var} ok");
    }

    #[test]
    fn missing_value_message_names_variable_and_reason() {
        let err = render("Hi {patient.first_name}!", &TemplateValues::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "{patient.first_name} has no value: this conversation is not linked to a patient (at character 4)"
        );
    }

    #[test]
    fn position_counts_characters_not_bytes() {
        let err = validate("Olá {nope}").unwrap_err();
        assert_eq!(err, TemplateError::UnknownVariable { name: "nope".into(), position: 5 });
    }
}
