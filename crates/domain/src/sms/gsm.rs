//! The GSM 03.38 default alphabet (3GPP TS 23.038 §6.2.1) and its extension table.
//!
//! Only what matters for sizing is kept: whether a character can be sent in GSM-7 and how
//! many septets it takes. The wire codes themselves are the carrier's business.

/// Septets `c` takes in GSM-7: 1 for the basic set, 2 for the extension table (ESC + code),
/// `None` when the character forces the whole message to UCS-2.
///
/// Note `Ç` (0x09) is in the basic set but lowercase `ç` is not, and the backtick is not
/// either; both are common surprises in French and code-like text.
pub(super) fn septets(c: char) -> Option<u32> {
    match c {
        // Basic set, in GSM code order (0x1B ESC has no Unicode counterpart).
        '@'
        | '£'
        | '$'
        | '¥'
        | 'è'
        | 'é'
        | 'ù'
        | 'ì'
        | 'ò'
        | 'Ç'
        | '\n'
        | 'Ø'
        | 'ø'
        | '\r'
        | 'Å'
        | 'å'
        | 'Δ'
        | '_'
        | 'Φ'
        | 'Γ'
        | 'Λ'
        | 'Ω'
        | 'Π'
        | 'Ψ'
        | 'Σ'
        | 'Θ'
        | 'Ξ'
        | 'Æ'
        | 'æ'
        | 'ß'
        | 'É'
        | ' '
        | '!'
        | '"'
        | '#'
        | '¤'
        | '%'
        | '&'
        | '\''
        | '('
        | ')'
        | '*'
        | '+'
        | ','
        | '-'
        | '.'
        | '/'
        | '0'..='9'
        | ':'
        | ';'
        | '<'
        | '='
        | '>'
        | '?'
        | '¡'
        | 'A'..='Z'
        | 'Ä'
        | 'Ö'
        | 'Ñ'
        | 'Ü'
        | '§'
        | '¿'
        | 'a'..='z'
        | 'ä'
        | 'ö'
        | 'ñ'
        | 'ü'
        | 'à' => Some(1),
        // Extension table: form feed, ^ { } \ [ ~ ] | €.
        '\u{0C}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' => Some(2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::septets;

    /// The basic set as written in reference/sms.md §4, ranges expanded and without the
    /// space standing in for ESC (0x1B) after `Ξ`.
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡\
                         ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENSION: &str = "\u{0C}^{}\\[~]|€";

    #[test]
    fn basic_set_matches_reference() {
        // 128 codes minus ESC.
        assert_eq!(BASIC.chars().count(), 127);
        for c in BASIC.chars() {
            assert_eq!(septets(c), Some(1), "{c:?}");
        }
    }

    #[test]
    fn extension_table_matches_reference() {
        for c in EXTENSION.chars() {
            assert_eq!(septets(c), Some(2), "{c:?}");
        }
    }

    #[test]
    fn nothing_else_is_gsm() {
        let known: Vec<char> = BASIC.chars().chain(EXTENSION.chars()).collect();
        for c in (0..=0x2FFFu32).filter_map(char::from_u32) {
            if !known.contains(&c) {
                assert_eq!(septets(c), None, "{c:?} U+{:04X}", c as u32);
            }
        }
        for c in ['ç', '`', 'á', '\t', '\u{1B}', '\u{A0}'] {
            assert_eq!(septets(c), None, "{c:?}");
        }
    }
}
