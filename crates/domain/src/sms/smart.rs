//! Look-alike replacements for smart encoding.
//!
//! The list is the one Twilio's segment calculator uses to emulate Twilio's Smart Encoding
//! (`SmartEncodingMap` in npm `sms-segments-calculator` 1.3.0), which covers reference/sms.md
//! §4 and more. One deliberate difference: the calculator turns no-break and other Unicode
//! spaces (and a few C1 controls) into *two* spaces and a tab into seven; we write one space
//! for each, as sms.md and Twilio's published character list do, because staff see the
//! result before sending and doubled spaces would look like a typo.

/// The GSM-7 text to send instead of `c`, if `c` is a look-alike Twilio would replace.
pub(super) fn replacement(c: char) -> Option<&'static str> {
    let text = match c {
        // Double quotes.
        '\u{00AB}' | '\u{00BB}' | '\u{201C}' | '\u{201D}' | '\u{02BA}' | '\u{02EE}' | '\u{201F}' | '\u{201E}'
        | '\u{275D}' | '\u{275E}' | '\u{301D}' | '\u{301E}' | '\u{FF02}' => "\"",
        // Apostrophes and single quotes (the backtick is not GSM-7 either).
        '\u{2018}' | '\u{2019}' | '\u{02BB}' | '\u{02C8}' | '\u{02BC}' | '\u{02BD}' | '\u{02B9}' | '\u{201B}'
        | '\u{FF07}' | '\u{00B4}' | '\u{02CA}' | '\u{0060}' | '\u{02CB}' | '\u{275B}' | '\u{275C}' | '\u{0313}'
        | '\u{0314}' | '\u{FE10}' | '\u{FE11}' => "'",
        // Slashes and fractions.
        '\u{00F7}' | '\u{29F8}' | '\u{0337}' | '\u{0338}' | '\u{2044}' | '\u{2215}' | '\u{FF0F}' => "/",
        '\u{00BC}' => "1/4",
        '\u{00BD}' => "1/2",
        '\u{00BE}' => "3/4",
        '\u{29F9}' | '\u{29F5}' | '\u{20E5}' | '\u{FE68}' | '\u{FF3C}' => "\\",
        '\u{0332}' | '\u{FF3F}' | '\u{2017}' => "_",
        '\u{20D2}' | '\u{20D3}' | '\u{2223}' | '\u{FF5C}' | '\u{23B8}' | '\u{23B9}' | '\u{23D0}' | '\u{239C}'
        | '\u{239F}' => "|",
        // Dashes, hyphens, bullet.
        '\u{23BC}' | '\u{23BD}' | '\u{2015}' | '\u{FE63}' | '\u{FF0D}' | '\u{2010}' | '\u{2043}' | '\u{2014}'
        | '\u{2013}' | '\u{2022}' => "-",
        '\u{FE6B}' | '\u{FF20}' => "@",
        '\u{FE69}' | '\u{FF04}' => "$",
        '\u{01C3}' | '\u{FE15}' | '\u{FE57}' | '\u{FF01}' => "!",
        '\u{203C}' => "!!",
        '\u{FE5F}' | '\u{FF03}' => "#",
        '\u{FE6A}' | '\u{FF05}' => "%",
        '\u{FE60}' | '\u{FF06}' => "&",
        '\u{201A}' | '\u{0326}' | '\u{FE50}' | '\u{FE51}' | '\u{FF0C}' | '\u{FF64}' | '\u{3001}' => ",",
        '\u{2768}' | '\u{276A}' | '\u{FE59}' | '\u{FF08}' | '\u{27EE}' | '\u{2985}' => "(",
        '\u{2769}' | '\u{276B}' | '\u{FE5A}' | '\u{FF09}' | '\u{27EF}' | '\u{2986}' => ")",
        '\u{204E}' | '\u{2217}' | '\u{229B}' | '\u{2722}' | '\u{2723}' | '\u{2724}' | '\u{2725}' | '\u{2731}'
        | '\u{2732}' | '\u{2733}' | '\u{273A}' | '\u{273B}' | '\u{273C}' | '\u{273D}' | '\u{2743}' | '\u{2749}'
        | '\u{274A}' | '\u{274B}' | '\u{29C6}' | '\u{FE61}' | '\u{FF0A}' => "*",
        '\u{02D6}' | '\u{FE62}' | '\u{FF0B}' => "+",
        '\u{3002}' | '\u{FE52}' | '\u{FF0E}' | '\u{FF61}' => ".",
        '\u{2026}' => "...",
        '\u{02D0}' | '\u{02F8}' | '\u{2982}' | '\u{A789}' | '\u{FE13}' | '\u{FF1A}' => ":",
        '\u{204F}' | '\u{FE14}' | '\u{FE54}' | '\u{FF1B}' => ";",
        '\u{FE64}' | '\u{FF1C}' | '\u{2039}' => "<",
        '\u{0347}' | '\u{A78A}' | '\u{FE66}' | '\u{FF1D}' => "=",
        '\u{FE65}' | '\u{FF1E}' | '\u{203A}' => ">",
        '\u{FE16}' | '\u{FE56}' | '\u{FF1F}' => "?",
        '\u{02C6}' | '\u{0302}' | '\u{FF3E}' | '\u{1DCD}' => "^",
        '\u{2774}' | '\u{FE5B}' | '\u{FF5B}' => "{",
        '\u{2775}' | '\u{FE5C}' | '\u{FF5D}' => "}",
        '\u{FF3B}' => "[",
        '\u{FF3D}' => "]",
        '\u{02DC}' | '\u{02F7}' | '\u{0303}' | '\u{0330}' | '\u{0334}' | '\u{223C}' | '\u{FF5E}' => "~",
        // Fullwidth digits.
        '\u{FF10}'..='\u{FF19}' => DIGITS[(u32::from(c) - 0xFF10) as usize],
        // Fullwidth and small-capital Latin letters.
        '\u{FF21}' | '\u{1D00}' => "A",
        '\u{FF22}' | '\u{0299}' => "B",
        '\u{FF23}' | '\u{1D04}' => "C",
        '\u{FF24}' | '\u{1D05}' => "D",
        '\u{FF25}' | '\u{1D07}' => "E",
        '\u{FF26}' | '\u{A730}' => "F",
        '\u{FF27}' | '\u{0262}' => "G",
        '\u{FF28}' | '\u{029C}' => "H",
        '\u{FF29}' | '\u{026A}' => "I",
        '\u{FF2A}' | '\u{1D0A}' => "J",
        '\u{FF2B}' | '\u{1D0B}' => "K",
        '\u{FF2C}' | '\u{029F}' => "L",
        '\u{FF2D}' | '\u{1D0D}' => "M",
        '\u{FF2E}' | '\u{0274}' => "N",
        '\u{FF2F}' | '\u{1D0F}' => "O",
        '\u{FF30}' | '\u{1D18}' => "P",
        '\u{FF31}' => "Q",
        '\u{FF32}' | '\u{0280}' => "R",
        '\u{FF33}' | '\u{A731}' => "S",
        '\u{FF34}' | '\u{1D1B}' => "T",
        '\u{FF35}' | '\u{1D1C}' => "U",
        '\u{FF36}' | '\u{1D20}' => "V",
        '\u{FF37}' | '\u{1D21}' => "W",
        '\u{FF38}' => "X",
        '\u{FF39}' | '\u{028F}' => "Y",
        '\u{FF3A}' | '\u{1D22}' => "Z",
        // Unicode spaces, separators and invisible C1 controls: one plain space.
        '\u{00A0}'
        | '\u{2000}'..='\u{200A}'
        | '\u{202F}'
        | '\u{205F}'
        | '\u{3000}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{0080}'
        | '\u{008D}'
        | '\u{0090}'
        | '\u{009B}'
        | '\u{009F}'
        | '\t' => " ",
        // Invisible characters: removed.
        '\u{200B}' | '\u{200C}' | '\u{2060}' | '\u{FEFF}' | '\u{0000}' | '\u{0003}' | '\u{0004}' | '\u{0010}'
        | '\u{0011}' | '\u{0012}' | '\u{0013}' | '\u{0014}' | '\u{0017}' | '\u{0019}' => "",
        _ => return None,
    };
    Some(text)
}

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

#[cfg(test)]
mod tests {
    use super::replacement;
    use crate::sms::gsm::septets;

    #[test]
    fn every_replacement_is_gsm() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if let Some(text) = replacement(c) {
                assert!(septets(c).is_none(), "{c:?} is already GSM-7");
                assert!(text.chars().all(|r| septets(r).is_some()), "{c:?} -> {text:?}");
            }
        }
    }

    #[test]
    fn reference_list() {
        // reference/sms.md §4.
        for (c, expected) in [
            ('“', "\""),
            ('”', "\""),
            ('«', "\""),
            ('»', "\""),
            ('‘', "'"),
            ('’', "'"),
            ('´', "'"),
            ('–', "-"),
            ('—', "-"),
            ('•', "-"),
            ('…', "..."),
            ('\u{A0}', " "),
            ('\u{2009}', " "),
            ('\u{200B}', ""),
            ('\u{2060}', ""),
            ('\u{FEFF}', ""),
            ('５', "5"),
        ] {
            assert_eq!(replacement(c), Some(expected), "{c:?}");
        }
    }
}
