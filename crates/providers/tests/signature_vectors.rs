//! The official SDK's signature vectors (shared/twilio/signature_vectors.json, produced by
//! twilio-python 9.13.0) must all verify, and any tampering must fail.

use frontdesk_providers::twilio::signature::{self, Algorithm, SignatureError, verify, verify_json};
use frontdesk_providers::twilio::webhook::parse_form;
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/twilio/signature_vectors.json");

fn vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| panic!("read {VECTORS}: {e}"));
    let doc: Value = serde_json::from_str(&text).expect("vectors are JSON");
    doc["vectors"].as_array().expect("a vectors array").clone()
}

fn settings(v: &Value) -> Option<&'static str> {
    match v["algorithm"].as_str() {
        Some("HMAC_SHA256") => Some("key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"),
        _ => None,
    }
}

fn params(v: &Value) -> Vec<(String, String)> {
    v["params"]
        .as_array()
        .map(|a| a.iter().map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string())).collect())
        .unwrap_or_default()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("vector field {key}"))
}

#[test]
fn every_vector_verifies_and_tampering_fails() {
    let vectors = vectors();
    assert!(vectors.len() >= 7);
    for v in &vectors {
        let name = s(v, "name");
        let (token, url, sig) = (s(v, "token"), s(v, "url"), s(v, "expected_signature"));
        assert_eq!(v["sdk_validate"], Value::Bool(true), "{name}");
        if v["content_type"] == "application/json" {
            let body = s(v, "raw_body").as_bytes();
            assert_eq!(verify_json(token, url, body, sig, settings(v)), Ok(()), "{name}");
            let mut tampered = body.to_vec();
            tampered[2] ^= 1;
            assert_eq!(
                verify_json(token, url, &tampered, sig, settings(v)),
                Err(SignatureError::BodyHashMismatch),
                "{name}"
            );
            let tampered_url = url.replace("foo=1", "foo=2");
            assert_eq!(
                verify_json(token, &tampered_url, body, sig, settings(v)),
                Err(SignatureError::Mismatch),
                "{name}"
            );
            continue;
        }
        let ps = params(v);
        let algorithm = Algorithm::from_settings_header(settings(v)).unwrap();
        assert_eq!(signature::compute(token, url, &ps, algorithm), sig, "{name}");
        assert_eq!(verify(token, url, &ps, sig, settings(v)), Ok(()), "{name}");
        // The raw body decodes to the same params, in the same order.
        assert_eq!(parse_form(s(v, "raw_body").as_bytes()), ps, "{name}");
        // Change one param value: rejected.
        for i in 0..ps.len() {
            let mut t = ps.clone();
            t[i].1.push('x');
            assert_eq!(verify(token, url, &t, sig, settings(v)), Err(SignatureError::Mismatch), "{name} param {i}");
        }
        // A dropped or added param, a different token or algorithm: rejected.
        assert_eq!(verify(token, url, &ps[1..], sig, settings(v)), Err(SignatureError::Mismatch), "{name}");
        let mut extra = ps.clone();
        extra.push(("Extra".into(), String::new()));
        assert_eq!(verify(token, url, &extra, sig, settings(v)), Err(SignatureError::Mismatch), "{name}");
        assert_eq!(verify("wrong", url, &ps, sig, settings(v)), Err(SignatureError::Mismatch), "{name}");
        let other_algorithm = if settings(v).is_some() { None } else { Some("algorithm=HMAC_SHA256") };
        assert_eq!(verify(token, url, &ps, sig, other_algorithm), Err(SignatureError::Mismatch), "{name}");
        // Param order as received does not matter.
        let mut reversed = ps.clone();
        reversed.reverse();
        assert_eq!(verify(token, url, &reversed, sig, settings(v)), Ok(()), "{name}");
        assert_eq!(verify(token, url, &ps, "", settings(v)), Err(SignatureError::Missing), "{name}");
    }
}

#[test]
fn published_values_are_reproduced() {
    let published: Vec<_> =
        vectors().into_iter().filter(|v| v["matches_published_value"] == Value::Bool(true)).collect();
    assert_eq!(published.len(), 2);
    let docs = &published[0];
    assert_eq!(
        signature::compute("12345", s(docs, "url"), &params(docs), Algorithm::HmacSha1),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
}

#[test]
fn default_ports_are_accepted_both_ways() {
    let v = vectors().into_iter().find(|v| v["name"] == "status_callback_default_port_stripped").unwrap();
    let (token, sig, ps) = (s(&v, "token"), s(&v, "expected_signature"), params(&v));
    // Signed without the port, server sees :443.
    assert_eq!(verify(token, "https://sms.example.org:443/twilio/status", &ps, sig, None), Ok(()));
    // Signed with the port, server sees none.
    let with_port = signature::compute(token, "https://sms.example.org:443/twilio/status", &ps, Algorithm::HmacSha1);
    assert_eq!(verify(token, "https://sms.example.org/twilio/status", &ps, &with_port, None), Ok(()));
    // http and :80, and the SHA-256 variant.
    let http = signature::compute(token, "http://h.example:80/s?x=1", &ps, Algorithm::HmacSha256);
    assert_eq!(verify(token, "http://h.example/s?x=1", &ps, &http, Some("algorithm=HMAC_SHA256")), Ok(()));
    // The wrong default port for the scheme, or another port, is not the same URL.
    assert_eq!(
        verify(token, "https://sms.example.org:80/twilio/status", &ps, sig, None),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(token, "https://sms.example.org:8443/twilio/status", &ps, sig, None),
        Err(SignatureError::Mismatch)
    );
    // A non-default port is kept: the vector signed with :8443 fails without it.
    let p = vectors().into_iter().find(|v| v["name"] == "status_callback_with_query_and_port").unwrap();
    let url_without = s(&p, "url").replace(":8443", "");
    assert_eq!(
        verify(s(&p, "token"), &url_without, &params(&p), s(&p, "expected_signature"), None),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn repeated_values_are_sorted_and_deduplicated() {
    let url = "https://sms.example.org/hook";
    let one = vec![("MediaUrl".to_string(), "a".to_string()), ("Body".to_string(), "x".to_string())];
    let twice = vec![
        ("MediaUrl".to_string(), "a".to_string()),
        ("Body".to_string(), "x".to_string()),
        ("MediaUrl".to_string(), "a".to_string()),
    ];
    let sig = signature::compute("t", url, &one, Algorithm::HmacSha1);
    assert_eq!(signature::compute("t", url, &twice, Algorithm::HmacSha1), sig);
    assert_eq!(verify("t", url, &twice, &sig, None), Ok(()));
}

#[test]
fn json_variant_round_trip_and_missing_hash() {
    let body = br#"{"a":1}"#;
    let url = signature::json_url("https://x.example/j?t=1", body);
    let sig = signature::compute("tok", &url, &[], Algorithm::HmacSha256);
    assert_eq!(verify_json("tok", &url, body, &sig, Some("algorithm=HMAC_SHA256")), Ok(()));
    let bare = "https://x.example/j";
    let sig = signature::compute("tok", bare, &[], Algorithm::HmacSha1);
    assert_eq!(verify_json("tok", bare, body, &sig, None), Err(SignatureError::BodyHashMissing));
    assert_eq!(
        verify_json("tok", bare, body, &sig, Some("algorithm=SHA3")),
        Err(SignatureError::UnsupportedAlgorithm("SHA3".into()))
    );
}
