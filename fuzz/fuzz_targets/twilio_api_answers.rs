//! Answers from Twilio's REST API (or something pretending to be it): the JSON readers and the
//! Retry-After parser must never panic.
#![no_main]

use frontdesk_providers::twilio::client;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = client::parse_message(data);
    let _ = client::parse_message_page(data);
    let _ = client::parse_error_body(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = client::parse_retry_after(text, chrono::DateTime::UNIX_EPOCH);
    }
});
