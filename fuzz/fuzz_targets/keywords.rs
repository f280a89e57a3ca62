//! Keyword and free-text revocation detection on arbitrary inbound bodies: no panic, and a
//! keyword message is never also reported as free text.
#![no_main]

use frontdesk_domain::keywords::{classify_keyword, detect_free_text_revocation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &str| {
    let keyword = classify_keyword(body);
    let revocation = detect_free_text_revocation(body);
    if keyword.is_some() {
        assert!(revocation.is_none());
    }
});
