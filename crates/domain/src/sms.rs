//! SMS encoding and segments (reference/sms.md §4).
//!
//! Staff see, before sending, how a message will be encoded and how many segments (billed
//! messages) it will take, and the outbound path records the same figure. The numbers must
//! be the ones Twilio's segment calculator gives, so the rules here follow that calculator
//! (npm `sms-segments-calculator`, checked by `oracles/segments`):
//!
//! - GSM-7 when every character is in the GSM 03.38 basic set or extension table (the latter
//!   cost two septets: ESC + code); one other character switches the whole message to UCS-2.
//! - A message that fits one SMS gets 160 septets or 70 UTF-16 code units; a longer one is
//!   sent as concatenated parts of 153 / 67, the rest of each being the User Data Header.
//! - Parts are filled greedily and never cut inside a character, a GSM escape pair, a UTF-16
//!   surrogate pair, or (UCS-2) a grapheme cluster as the calculator finds them; see
//!   [`grapheme`] for why that is Unicode 10's definition and not today's.
//!
//! One deliberate difference from the calculator: a single grapheme cluster longer than
//! 32 UTF-16 units (only seen in adversarial text such as hundreds of stacked combining
//! marks) can make the calculator overfill a segment or leave the first one empty. We keep
//! every segment within its limit instead, cutting such a cluster between code points, so
//! for those texts our count can be higher. Ordinary emoji sequences are far shorter (a
//! family emoji is 11 units).

mod grapheme;
mod grapheme_table;
mod gsm;
mod smart;

use std::collections::HashSet;
use std::fmt;

/// How the message body is encoded on the air interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    /// GSM 03.38 default alphabet, 7 bits per character (14 for the extension table).
    #[serde(rename = "GSM-7")]
    Gsm7,
    /// UTF-16 (carriers say UCS-2, but surrogate pairs go through), 16 bits per code unit.
    #[serde(rename = "UCS-2")]
    Ucs2,
}

impl Encoding {
    /// The name Twilio and the calculator use: `"GSM-7"` or `"UCS-2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }

    /// Units one SMS holds when the message is not split.
    fn single_limit(self) -> u64 {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    /// Units each part of a concatenated message holds (6 octets go to the UDH).
    fn concatenated_limit(self) -> u64 {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What sending a text costs, as shown to staff in the composer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SegmentInfo {
    pub encoding: Encoding,
    /// Number of SMS the text is sent as. The empty text counts as 1, as in the calculator.
    pub segments: u32,
    /// Unicode scalar values (Rust `char`s) in the text.
    pub characters: u32,
    /// Septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2.
    pub units: u32,
    /// Units per segment: 160 / 70 for a single SMS, 153 / 67 once concatenated.
    pub per_segment: u32,
    /// Distinct characters that forced UCS-2, in order of first appearance (empty for GSM-7),
    /// so the composer can point at them.
    pub non_gsm_characters: Vec<char>,
}

/// Computes encoding and segment count of `text`, exactly as they will be sent.
pub fn analyze(text: &str) -> SegmentInfo {
    layout(text).info
}

/// Splits `text` into the segments it is sent as. Concatenating them gives `text` back; there
/// are always [`SegmentInfo::segments`] of them (one empty string for the empty text).
pub fn split_segments(text: &str) -> Vec<String> {
    let cuts = layout(text).cuts;
    let mut parts = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts.into_iter().chain([text.len()]) {
        parts.push(text.get(start..cut).unwrap_or_default().to_owned());
        start = cut;
    }
    parts
}

/// Result of replacing look-alike characters so that a text may fit GSM-7.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SmartEncoding {
    /// The text with every look-alike replaced.
    pub text: String,
    /// Each distinct replaced character with what replaced it (possibly nothing, for
    /// invisible characters), in order of first appearance.
    pub replacements: Vec<(char, String)>,
    pub before: SegmentInfo,
    pub after: SegmentInfo,
}

/// Replaces look-alikes (curly quotes, dashes, ellipsis, Unicode spaces, zero-width
/// characters, fullwidth forms...) with their GSM-7 equivalents, the way Twilio's Smart
/// Encoding does. `Some` only when that changes the text, so staff can be offered the
/// cheaper version; `after` may still be UCS-2 when other characters (emoji) remain.
pub fn smart_encode(text: &str) -> Option<SmartEncoding> {
    let mut replaced = String::with_capacity(text.len());
    let mut replacements: Vec<(char, String)> = Vec::new();
    let mut seen = HashSet::new();
    for c in text.chars() {
        match smart::replacement(c) {
            Some(with) => {
                replaced.push_str(with);
                if seen.insert(c) {
                    replacements.push((c, with.to_owned()));
                }
            }
            None => replaced.push(c),
        }
    }
    if replacements.is_empty() {
        return None;
    }
    Some(SmartEncoding { before: analyze(text), after: analyze(&replaced), text: replaced, replacements })
}

/// A text's [`SegmentInfo`] and where its segments start.
struct Layout {
    info: SegmentInfo,
    /// Byte offsets at which the second and later segments start, increasing.
    cuts: Vec<usize>,
}

fn layout(text: &str) -> Layout {
    let mut non_gsm = Vec::new();
    let mut seen = HashSet::new();
    let mut septets: u64 = 0;
    let mut utf16_units: u64 = 0;
    let mut characters: u64 = 0;
    for c in text.chars() {
        characters += 1;
        utf16_units += c.len_utf16() as u64;
        match gsm::septets(c) {
            Some(n) => septets += u64::from(n),
            None => {
                if seen.insert(c) {
                    non_gsm.push(c);
                }
            }
        }
    }
    let encoding = if non_gsm.is_empty() { Encoding::Gsm7 } else { Encoding::Ucs2 };
    let units = match encoding {
        Encoding::Gsm7 => septets,
        Encoding::Ucs2 => utf16_units,
    };

    let (per_segment, cuts) = if units <= encoding.single_limit() {
        (encoding.single_limit(), Vec::new())
    } else {
        let limit = encoding.concatenated_limit();
        let cuts = match encoding {
            // Every character is GSM here; an escape pair is one `char`, so it stays whole.
            Encoding::Gsm7 => pack(limit, text.char_indices().map(|(i, c)| (i, gsm::septets(c).map_or(0, u64::from)))),
            Encoding::Ucs2 => pack(limit, ucs2_pieces(text, limit)),
        };
        (limit, cuts)
    };

    Layout {
        info: SegmentInfo {
            encoding,
            segments: saturate(cuts.len() as u64 + 1),
            characters: saturate(characters),
            units: saturate(units),
            per_segment: saturate(per_segment),
            non_gsm_characters: non_gsm,
        },
        cuts,
    }
}

/// The indivisible pieces of a UCS-2 text as `(byte offset, UTF-16 units)`: its grapheme
/// clusters, except that a cluster too long for any segment is broken into its code points.
fn ucs2_pieces(text: &str, limit: u64) -> impl Iterator<Item = (usize, u64)> + '_ {
    grapheme::clusters(text).into_iter().flat_map(move |range| {
        let cluster = text.get(range.clone()).unwrap_or_default();
        let units: u64 = cluster.chars().map(|c| c.len_utf16() as u64).sum();
        let pieces: Vec<(usize, u64)> = if units <= limit {
            vec![(range.start, units)]
        } else {
            cluster.char_indices().map(|(i, c)| (range.start + i, c.len_utf16() as u64)).collect()
        };
        pieces
    })
}

/// Fills segments of `limit` units greedily with `pieces` (byte offset, cost) and returns the
/// offsets where new segments begin. Every piece costs at most `limit`, so no segment is
/// left empty.
fn pack(limit: u64, pieces: impl Iterator<Item = (usize, u64)>) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut used = 0;
    for (offset, cost) in pieces {
        if used > 0 && used + cost > limit {
            cuts.push(offset);
            used = 0;
        }
        used += cost;
    }
    cuts
}

fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(text: &str) -> u32 {
        analyze(text).segments
    }

    // Values from Twilio's segment calculator (reference/sms.md §4).
    #[test]
    fn twilio_gsm_boundaries() {
        assert_eq!(segments(&"1".repeat(160)), 1);
        assert_eq!(segments(&"1".repeat(161)), 2);
        assert_eq!(segments(&"1".repeat(306)), 2);
        assert_eq!(segments(&"1".repeat(307)), 3);
    }

    #[test]
    fn twilio_emoji_boundaries() {
        let emoji = |digits: usize| format!("😜{}", "1".repeat(digits));
        assert_eq!(segments(&emoji(68)), 1);
        assert_eq!(segments(&emoji(69)), 2);
        assert_eq!(segments(&emoji(133)), 3);
    }

    #[test]
    fn twilio_flag_boundaries() {
        let flag = |digits: usize| format!("🇮🇹{}", "1".repeat(digits));
        assert_eq!(segments(&flag(66)), 1);
        assert_eq!(segments(&flag(67)), 2);
        let info = analyze(&flag(66));
        assert_eq!((info.units, info.characters), (70, 68));
    }

    #[test]
    fn twilio_c_cedilla_boundaries() {
        assert_eq!(segments(&"ç".repeat(70)), 1);
        assert_eq!(segments(&"ç".repeat(71)), 2);
        assert_eq!(analyze("ç").encoding, Encoding::Ucs2);
        assert_eq!(analyze("Ç").encoding, Encoding::Gsm7);
    }

    #[test]
    fn empty_text_is_one_segment() {
        let info = analyze("");
        assert_eq!(
            info,
            SegmentInfo {
                encoding: Encoding::Gsm7,
                segments: 1,
                characters: 0,
                units: 0,
                per_segment: 160,
                non_gsm_characters: vec![],
            }
        );
        assert_eq!(split_segments(""), [""]);
    }

    #[test]
    fn extension_characters_cost_two_septets() {
        let info = analyze("{}[]~|^\\€\u{0C}");
        assert_eq!(info.encoding, Encoding::Gsm7);
        assert_eq!((info.characters, info.units), (10, 20));
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
    }

    #[test]
    fn escape_pair_is_never_split() {
        // 152 septets of digits, then "€" (2 septets) would straddle the 153 boundary.
        let text = format!("{}€{}", "1".repeat(152), "1".repeat(20));
        let parts = split_segments(&text);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], "1".repeat(152));
        assert!(parts[1].starts_with('€'));
    }

    #[test]
    fn surrogate_pair_is_never_split() {
        // 66 units, then an emoji (2 units) that would straddle the 67 boundary.
        let text = format!("{}😜{}", "ç".repeat(66), "ç".repeat(10));
        let parts = split_segments(&text);
        assert_eq!(parts, ["ç".repeat(66), format!("😜{}", "ç".repeat(10))]);
    }

    #[test]
    fn flag_is_never_split() {
        let text = format!("{}🇮🇹{}", "ç".repeat(65), "ç".repeat(10));
        let parts = split_segments(&text);
        assert_eq!(parts[0], "ç".repeat(65));
        assert!(parts[1].starts_with("🇮🇹"));
    }

    #[test]
    fn non_gsm_characters_are_distinct_and_ordered() {
        let info = analyze("ça va? ça va 😜 çá");
        assert_eq!(info.non_gsm_characters, ['ç', '😜', 'á']);
        assert_eq!(info.per_segment, 70);
        assert!(analyze("é è Ç").non_gsm_characters.is_empty());
    }

    #[test]
    fn per_segment_reflects_concatenation() {
        assert_eq!(analyze(&"a".repeat(160)).per_segment, 160);
        assert_eq!(analyze(&"a".repeat(161)).per_segment, 153);
        assert_eq!(analyze(&"ç".repeat(71)).per_segment, 67);
    }

    #[test]
    fn oversized_cluster_is_cut_between_code_points() {
        let text = format!("a{}", "\u{301}".repeat(200));
        let parts = split_segments(&text);
        assert_eq!(parts.concat(), text);
        assert_eq!(parts.len() as u32, analyze(&text).segments);
        assert!(parts.iter().all(|p| p.encode_utf16().count() <= 67));
        assert_eq!(parts.len(), 3);
    }

    #[test]
    fn encoding_serializes_as_twilio_names() {
        assert_eq!(Encoding::Gsm7.as_str(), "GSM-7");
        assert_eq!(Encoding::Ucs2.to_string(), "UCS-2");
    }

    #[test]
    fn smart_encoding_replaces_look_alikes() {
        let text = "“Hi” – it’s… ready\u{A0}now\u{200B}";
        let smart = smart_encode(text).expect("has look-alikes");
        assert_eq!(smart.text, "\"Hi\" - it's... ready now");
        assert_eq!(smart.before.encoding, Encoding::Ucs2);
        assert_eq!(smart.after.encoding, Encoding::Gsm7);
        assert_eq!(
            smart.replacements,
            [
                ('“', "\"".to_owned()),
                ('”', "\"".to_owned()),
                ('–', "-".to_owned()),
                ('’', "'".to_owned()),
                ('…', "...".to_owned()),
                ('\u{A0}', " ".to_owned()),
                ('\u{200B}', String::new()),
            ]
        );
    }

    #[test]
    fn smart_encoding_keeps_emoji() {
        let smart = smart_encode("See you “soon” 😜").expect("has quotes");
        assert_eq!(smart.text, "See you \"soon\" 😜");
        assert_eq!(smart.after.encoding, Encoding::Ucs2);
        assert_eq!(smart.after.non_gsm_characters, ['😜']);
    }

    #[test]
    fn smart_encoding_none_when_nothing_changes() {
        assert_eq!(smart_encode("Plain text, already GSM."), None);
        assert_eq!(smart_encode("ça 😜"), None);
        assert_eq!(smart_encode(""), None);
    }
}
