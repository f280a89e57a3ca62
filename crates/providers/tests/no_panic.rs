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

/// JSON-shaped bytes reach deeper into the Telnyx and Bandwidth parsers than random bytes.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<i64>().prop_map(serde_json::Value::from),
        "[ -~é+0-9]{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("message.received"),
            Just("message.finalized"),
            Just("message-received"),
            Just("message-failed"),
            Just("+14155550100"),
            Just("delivered")
        ]
        .prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("data"),
        Just("payload"),
        Just("event_type"),
        Just("type"),
        Just("message"),
        Just("id"),
        Just("to"),
        Just("from"),
        Just("phone_number"),
        Just("status"),
        Just("errors"),
        Just("code"),
        Just("errorCode"),
        Just("media"),
        Just("tag"),
        Just("text")
    ];
    let value = leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys.clone().prop_map(str::to_string), inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    value.prop_map(|v| serde_json::to_vec(&v).unwrap_or_default())
}

proptest! {
    #[test]
    fn telnyx_and_bandwidth_parsers_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..512),
        json in jsonish(),
        q in proptest::option::of(any::<String>()),
        sig in proptest::option::of(any::<String>()),
        ts in proptest::option::of(any::<String>()),
        now in any::<i64>(),
        auth in proptest::option::of(any::<String>()),
    ) {
        use frontdesk_providers::{bandwidth, telnyx};
        for b in [&body, &json] {
            let _ = telnyx::webhook::parse(b, q.as_deref());
            let _ = bandwidth::webhook::parse(b);
            let _ = telnyx::client::parse_accepted(b);
            let _ = telnyx::client::error_from_response(400, q.as_deref(), b);
            let _ = bandwidth::client::parse_accepted(b);
            let _ = bandwidth::client::error_from_response(400, q.as_deref(), b);
            let key = telnyx::PublicKey::from_secret(&[3; 32]);
            let _ = telnyx::signature::verify(&key, b, sig.as_deref(), ts.as_deref(), now);
        }
        let _ = telnyx::PublicKey::from_base64(sig.as_deref().unwrap_or(""));
        let creds = bandwidth::CallbackCredentials { username: "u".into(), password: "p".into() };
        let _ = creds.check(auth.as_deref());
    }
}
