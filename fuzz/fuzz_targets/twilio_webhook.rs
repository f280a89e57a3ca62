//! A Twilio webhook body from anyone on the internet: form decoding, the inbound and status
//! parsers, and signature verification must never panic, whatever the bytes.
#![no_main]

use frontdesk_providers::twilio::{signature, webhook};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };
    let params = webhook::parse_form(body);
    let _ = webhook::parse_inbound(&params);
    let _ = webhook::parse_status_with_query(&params, query);
    let url = format!("https://example.org/webhooks/twilio/messages?{}", query.unwrap_or(""));
    let _ = signature::verify("token", &url, &params, "c2lnbmF0dXJl", query);
    let _ = signature::verify_json("token", &url, body, "c2lnbmF0dXJl", None);
});
