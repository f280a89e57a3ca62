//! Everything that reads outside input must answer, never panic, on any input.
//! (The fuzz targets in fuzz/ call the same functions; this keeps a cheap guard in `cargo test`.)

use chrono::Utc;
use frontdesk_providers::twilio::client::{parse_error_body, parse_message, parse_message_page, parse_retry_after};
use frontdesk_providers::twilio::signature::{self, Algorithm};
use frontdesk_providers::twilio::webhook::{parse_form, parse_inbound, parse_status_with_query};
use proptest::prelude::*;

fn twilioish_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("MessageSid".to_string()),
        Just("SmsSid".to_string()),
        Just("From".to_string()),
        Just("To".to_string()),
        Just("Body".to_string()),
        Just("MessageStatus".to_string()),
        Just("ErrorCode".to_string()),
        Just("OptOutType".to_string()),
        "MediaUrl[0-9]{0,6}",
        "MediaContentType[0-9]{0,3}",
        any::<String>(),
    ]
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((twilioish_key(), prop_oneof![any::<String>(), "\\+[0-9]{0,16}", "[a-z_]{0,12}"]), 0..20)
}

proptest! {
    #[test]
    fn webhook_parsers_never_panic(body in prop::collection::vec(any::<u8>(), 0..512), ps in params(), q in proptest::option::of(any::<String>())) {
        let decoded = parse_form(&body);
        let _ = parse_inbound(&decoded);
        let _ = parse_status_with_query(&decoded, q.as_deref());
        let _ = parse_inbound(&ps);
        let _ = parse_status_with_query(&ps, q.as_deref());
    }

    #[test]
    fn signature_functions_never_panic(url in any::<String>(), ps in params(), sig in any::<String>(), settings in proptest::option::of(any::<String>()), body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = signature::verify("token", &url, &ps, &sig, settings.as_deref());
        let _ = signature::verify_json("token", &url, &body, &sig, settings.as_deref());
        let _ = signature::url_candidates(&url);
        let _ = Algorithm::from_settings_header(settings.as_deref());
    }

    #[test]
    fn url_like_strings_never_panic(url in "(https?|HTTP)://[a-z@:\\[\\]0-9.]{0,20}[/?#]?[ -~é]{0,10}") {
        let candidates = signature::url_candidates(&url);
        prop_assert!(!candidates.is_empty() && candidates.len() <= 2);
        let sig = signature::compute("t", &url, &[], Algorithm::HmacSha1);
        prop_assert_eq!(signature::verify("t", &url, &[], &sig, None), Ok(()));
    }

    #[test]
    fn rest_answer_parsers_never_panic(body in prop::collection::vec(any::<u8>(), 0..512), value in any::<String>()) {
        let _ = parse_error_body(&body);
        let _ = parse_message(&body).map(|m| m.accepted());
        let _ = parse_message_page(&body);
        let _ = parse_retry_after(&value, Utc::now());
    }
}
