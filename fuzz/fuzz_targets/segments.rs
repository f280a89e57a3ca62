//! SMS encoding and segmentation on arbitrary text: no panic, and the segments are the text.
#![no_main]

use frontdesk_domain::sms::{Encoding, analyze, smart_encode, split_segments};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let info = analyze(text);
    let parts = split_segments(text);
    assert_eq!(parts.concat(), text);
    assert_eq!(parts.len(), info.segments as usize);
    assert_eq!(info.characters as usize, text.chars().count());
    for part in &parts {
        let part_info = analyze(part);
        // A part never needs more room than its segment has (counted in the message's
        // encoding: a GSM-7 part is GSM-7 on its own too).
        let units = match info.encoding {
            Encoding::Gsm7 => part_info.units,
            Encoding::Ucs2 => part.encode_utf16().count() as u32,
        };
        assert!(units <= info.per_segment, "{units} > {}", info.per_segment);
    }
    if let Some(smart) = smart_encode(text) {
        assert_ne!(smart.text, text);
        assert_eq!(smart.after, analyze(&smart.text));
        assert!(smart_encode(&smart.text).is_none());
    }
});
