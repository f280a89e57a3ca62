//! Properties of SMS encoding and segmentation that must hold for any text.

use frontdesk_domain::sms::{Encoding, SegmentInfo, analyze, smart_encode, split_segments};
use proptest::prelude::*;

const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡\
                         ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

/// Pieces that stress the segmenter: extension characters, surrogate pairs, flags, ZWJ
/// sequences, combining marks, CR LF, look-alikes.
const TRICKY: &[&str] = &[
    "€",
    "{",
    "\u{0C}",
    "ç",
    "á",
    "😜",
    "🇮🇹",
    "🇮",
    "👨‍👩‍👧‍👦",
    "👍🏽",
    "🧑‍🤝‍🧑",
    "e\u{301}",
    "\u{301}",
    "\u{200D}",
    "\u{FE0F}",
    "\r\n",
    "“",
    "…",
    "\u{A0}",
    "각",
    "\u{1100}",
    "\u{0600}",
    "中",
    "\u{10FFFF}",
];

fn gsm_basic_char() -> impl Strategy<Value = char> {
    prop::sample::select(GSM_BASIC.chars().collect::<Vec<_>>())
}

fn gsm_char() -> impl Strategy<Value = char> {
    prop::sample::select(GSM_BASIC.chars().chain(GSM_EXTENSION.chars()).collect::<Vec<_>>())
}

/// Mostly-GSM text with tricky pieces mixed in, long enough to need several segments.
fn mixed_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => gsm_char().prop_map(String::from),
        3 => prop::sample::select(TRICKY).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..400).prop_map(|pieces| pieces.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![mixed_text(), any::<String>(), ".{0,300}"]
}

/// Units of `part` in `encoding`, counted independently of the implementation.
fn units(part: &str, encoding: Encoding) -> u32 {
    match encoding {
        Encoding::Gsm7 => part.chars().map(|c| if GSM_EXTENSION.contains(c) { 2 } else { 1 }).sum(),
        Encoding::Ucs2 => part.encode_utf16().count() as u32,
    }
}

fn check_layout(text: &str, info: &SegmentInfo, parts: &[String]) -> Result<(), TestCaseError> {
    prop_assert_eq!(parts.concat(), text);
    prop_assert_eq!(parts.len() as u32, info.segments);
    prop_assert!(info.segments >= 1);
    prop_assert_eq!(info.characters as usize, text.chars().count());
    prop_assert_eq!(info.units, units(text, info.encoding));
    let limit = match (info.encoding, info.segments) {
        (Encoding::Gsm7, 1) => 160,
        (Encoding::Gsm7, _) => 153,
        (Encoding::Ucs2, 1) => 70,
        (Encoding::Ucs2, _) => 67,
    };
    prop_assert_eq!(info.per_segment, limit);
    // Never more segments than needed plus the waste of not splitting clusters, never fewer
    // than the units require.
    prop_assert!(u64::from(info.units) <= u64::from(info.segments) * u64::from(limit));
    for part in parts {
        prop_assert!(units(part, info.encoding) <= limit, "{part:?} over {limit}");
        if info.segments > 1 {
            prop_assert!(!part.is_empty());
        }
        // Each part re-encodes on its own to the same units: no escape pair or surrogate
        // pair was cut (a cut would leave a lone ESC or surrogate, which a `String` cannot
        // even hold, and would change the count).
        let utf16: Vec<u16> = part.encode_utf16().collect();
        prop_assert!(utf16.first().is_none_or(|u| !(0xDC00..=0xDFFF).contains(u)));
        prop_assert!(utf16.last().is_none_or(|u| !(0xD800..=0xDBFF).contains(u)));
    }
    prop_assert_eq!(parts.iter().map(|p| units(p, info.encoding)).sum::<u32>(), info.units);
    let is_gsm = text.chars().all(|c| GSM_BASIC.contains(c) || GSM_EXTENSION.contains(c));
    prop_assert_eq!(info.encoding == Encoding::Gsm7, is_gsm);
    prop_assert_eq!(info.non_gsm_characters.is_empty(), is_gsm);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn layout_invariants(text in any_text()) {
        let info = analyze(&text);
        let parts = split_segments(&text);
        check_layout(&text, &info, &parts)?;
    }

    #[test]
    fn appending_never_reduces_segments(text in mixed_text(), extra in prop_oneof![
        gsm_char(),
        prop::sample::select(vec!['ç', '😜', '\u{301}', '\u{200D}', '🇹', '🏽', '\u{FE0F}', '\n']),
        any::<char>(),
    ]) {
        let before = analyze(&text).segments;
        let after = analyze(&format!("{text}{extra}")).segments;
        prop_assert!(after >= before, "{before} -> {after}");
    }

    #[test]
    fn gsm_basic_up_to_160_is_one_segment(text in prop::collection::vec(gsm_basic_char(), 0..=160)) {
        let text: String = text.into_iter().collect();
        let info = analyze(&text);
        prop_assert_eq!(info.encoding, Encoding::Gsm7);
        prop_assert_eq!(info.segments, 1);
        prop_assert_eq!(split_segments(&text), vec![text.clone()]);
    }

    #[test]
    fn gsm_up_to_160_septets_is_one_segment(text in prop::collection::vec(gsm_char(), 0..=160)) {
        let text: String = text.into_iter().collect();
        let info = analyze(&text);
        prop_assert_eq!(info.segments == 1, info.units <= 160);
    }

    #[test]
    fn gsm_basic_segments_are_a_simple_division(len in 0usize..2000) {
        let text = "a".repeat(len);
        let expected = if len <= 160 { 1 } else { len.div_ceil(153) };
        prop_assert_eq!(analyze(&text).segments as usize, expected);
    }

    #[test]
    fn smart_encoding_is_idempotent(text in any_text()) {
        if let Some(smart) = smart_encode(&text) {
            prop_assert_ne!(&smart.text, &text);
            prop_assert!(!smart.replacements.is_empty());
            prop_assert_eq!(&smart.before, &analyze(&text));
            prop_assert_eq!(&smart.after, &analyze(&smart.text));
            prop_assert_eq!(smart_encode(&smart.text), None);
            // Never makes a GSM-7 text UCS-2.
            prop_assert!(smart.before.encoding == Encoding::Ucs2 || smart.after.encoding == Encoding::Gsm7);
        }
    }
}

#[test]
fn serializes_for_the_composer() {
    let json = serde_json::to_value(analyze("ça 😜")).expect("serializes");
    assert_eq!(
        json,
        serde_json::json!({
            "encoding": "UCS-2",
            "segments": 1,
            "characters": 4,
            "units": 5,
            "per_segment": 70,
            "non_gsm_characters": ["ç", "😜"],
        })
    );
}
