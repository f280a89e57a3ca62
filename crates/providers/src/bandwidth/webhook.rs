//! Bandwidth callbacks (reference/sms.md §3): a JSON array of
//! `{type, time, description, to, message{id, from, to[], text, media[], tag, …}, errorCode?}`.
//! `message-received` becomes an [`InboundSms`], `message-delivered` and `message-failed` a
//! [`StatusReport`]; our message id travels in `tag` (set when sending). Other types are
//! [`BandwidthEvent::Ignored`].
//!
//! Bandwidth does not sign callbacks: the application is configured with HTTP Basic
//! credentials, checked here in constant time ([`CallbackCredentials::check`]).
//! Never panics on any input: a fuzz target.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use frontdesk_domain::model::{MediaRef, ProviderKind};
use frontdesk_domain::{E164, MessageStatus};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

pub use crate::twilio::webhook::WebhookError;
use crate::{InboundSms, StatusReport};

/// The user name and password Bandwidth sends with every callback.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackCredentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for CallbackCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the callback has no HTTP Basic Authorization header, so it cannot be from Bandwidth")]
    Missing,
    #[error("the Authorization header is not HTTP Basic credentials")]
    Malformed,
    #[error(
        "the callback's credentials do not match; check FRONTDESK_BANDWIDTH__CALLBACK_USERNAME and \
         CALLBACK_PASSWORD against the Bandwidth application"
    )]
    Mismatch,
}

impl CallbackCredentials {
    /// Checks an `Authorization` header value. Both parts are compared through SHA-256 in
    /// constant time, so neither their content nor their length leaks through timing.
    pub fn check(&self, authorization: Option<&str>) -> Result<(), AuthError> {
        let value = authorization.map(str::trim).filter(|v| !v.is_empty()).ok_or(AuthError::Missing)?;
        let (scheme, encoded) = value.split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(AuthError::Malformed);
        }
        let decoded = BASE64.decode(encoded.trim()).map_err(|_| AuthError::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
        let (user, pass) = decoded.split_once(':').ok_or(AuthError::Malformed)?;
        let user_ok = Sha256::digest(user.as_bytes()).ct_eq(&Sha256::digest(self.username.as_bytes()));
        let pass_ok = Sha256::digest(pass.as_bytes()).ct_eq(&Sha256::digest(self.password.as_bytes()));
        if bool::from(user_ok & pass_ok) { Ok(()) } else { Err(AuthError::Mismatch) }
    }

    /// The header value Bandwidth would send; for tests and the fake providers.
    pub fn header_value(&self) -> String {
        format!("Basic {}", BASE64.encode(format!("{}:{}", self.username, self.password)))
    }
}

/// What one element of a callback array means for us.
#[derive(Debug, Clone, PartialEq)]
pub enum BandwidthEvent {
    Inbound(InboundSms),
    Status(StatusReport),
    Ignored(String),
}

/// At most this many events per callback: Bandwidth batches only a handful.
pub const MAX_EVENTS: usize = 100;

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn phone(raw: Option<&str>, field: String) -> Result<E164, WebhookError> {
    let raw = raw.ok_or_else(|| WebhookError::BadField { field: field.clone(), problem: "is missing".into() })?;
    E164::parse_strict(raw).map_err(|_| WebhookError::BadField { field, problem: "is not an E.164 number".to_string() })
}

/// Parses a callback body (a JSON array; a single object is accepted too). Errors name the
/// element and field, e.g. `field [1].message.id is missing`.
pub fn parse(body: &[u8]) -> Result<Vec<BandwidthEvent>, WebhookError> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|_| WebhookError::BadField { field: "body".to_string(), problem: "is not valid JSON".to_string() })?;
    let items = match root {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return Err(WebhookError::BadField {
                field: "body".to_string(),
                problem: "is not a JSON array of events".to_string(),
            });
        }
    };
    if items.len() > MAX_EVENTS {
        return Err(WebhookError::BadField {
            field: "body".to_string(),
            problem: format!("has more than {MAX_EVENTS} events"),
        });
    }
    items.iter().enumerate().map(|(i, item)| parse_one(i, item)).collect()
}

fn parse_one(i: usize, item: &Value) -> Result<BandwidthEvent, WebhookError> {
    let f = |name: &str| format!("[{i}].{name}");
    let missing = |name: &str| WebhookError::BadField { field: f(name), problem: "is missing".to_string() };
    let kind = str_at(item, "type").ok_or_else(|| missing("type"))?;
    if !matches!(kind, "message-received" | "message-delivered" | "message-failed") {
        return Ok(BandwidthEvent::Ignored(kind.chars().take(40).collect()));
    }
    let message = item.get("message").filter(|m| m.is_object()).ok_or_else(|| missing("message"))?;
    let id = str_at(message, "id").ok_or_else(|| missing("message.id"))?;
    if id.len() > 100 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(WebhookError::BadField {
            field: f("message.id"),
            problem: "is not a Bandwidth message id (letters, digits and dashes, at most 100)".to_string(),
        });
    }
    let provider_message_id = id.to_string();

    if kind == "message-received" {
        let from = phone(str_at(message, "from"), f("message.from"))?;
        // `to` at the top is the number that received the message; fall back on message.to[0].
        let to_raw = str_at(item, "to")
            .or_else(|| message.get("to").and_then(Value::as_array).and_then(|t| t.first()).and_then(Value::as_str));
        let to = phone(to_raw, f("to"))?;
        let body = message.get("text").and_then(Value::as_str).unwrap_or_default().to_string();
        let media = message
            .get("media")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(Value::as_str)
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    // Bandwidth sends a SMIL part with every MMS; it is layout, not content.
                    .filter(|u| !u.ends_with(".smil"))
                    .map(|u| MediaRef { url: u.to_string(), content_type: None })
                    .collect()
            })
            .unwrap_or_default();
        return Ok(BandwidthEvent::Inbound(InboundSms {
            provider: ProviderKind::Bandwidth,
            provider_message_id,
            from,
            to,
            body,
            media,
            provider_opt_out: None,
        }));
    }

    let status = if kind == "message-delivered" { MessageStatus::Delivered } else { MessageStatus::Failed };
    let error_code = match item.get("errorCode") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) => Some(s.trim().chars().take(16).collect()),
        _ => None,
    }
    .filter(|c: &String| !c.is_empty() && c != "0");
    let message_id = str_at(message, "tag").and_then(|t| Uuid::parse_str(t).ok());
    Ok(BandwidthEvent::Status(StatusReport {
        provider: ProviderKind::Bandwidth,
        provider_message_id,
        status,
        error_code,
        message_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_are_checked() {
        let c = CallbackCredentials { username: "bw".into(), password: "s3cret:x".into() };
        assert_eq!(c.check(Some(&c.header_value())), Ok(()));
        assert_eq!(c.check(Some(&c.header_value().replace("Basic", "basic"))), Ok(()));
        assert_eq!(c.check(None), Err(AuthError::Missing));
        assert_eq!(c.check(Some("Bearer abc")), Err(AuthError::Malformed));
        assert_eq!(c.check(Some("Basic !!!")), Err(AuthError::Malformed));
        let wrong = CallbackCredentials { username: "bw".into(), password: "s3cret".into() };
        assert_eq!(c.check(Some(&wrong.header_value())), Err(AuthError::Mismatch));
        let wrong = CallbackCredentials { username: "bx".into(), password: "s3cret:x".into() };
        assert_eq!(c.check(Some(&wrong.header_value())), Err(AuthError::Mismatch));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn an_array_of_mixed_events() {
        let ours = Uuid::now_v7();
        let body = json!([
            {"type": "message-received", "time": "2024-01-01T00:00:00Z", "description": "Incoming message received",
             "to": "+14155550100",
             "message": {"id": "1661365814859loooxxxxxxxx", "from": "+12125550199", "to": ["+14155550100"],
                         "text": "Hi", "media": ["https://messaging.bandwidth.com/m/1.jpg", "https://m/x.smil"],
                         "direction": "in", "segmentCount": 1, "applicationId": "app"}},
            {"type": "message-delivered", "to": "+12125550199",
             "message": {"id": "abc-1", "from": "+14155550100", "to": ["+12125550199"], "tag": ours.to_string()}},
            {"type": "message-failed", "errorCode": 4720,
             "message": {"id": "abc-2", "tag": "not-a-uuid"}},
            {"type": "message-sending", "message": {"id": "abc-3"}}
        ]);
        let events = parse(&serde_json::to_vec(&body).unwrap()).unwrap();
        let BandwidthEvent::Inbound(m) = &events[0] else { panic!() };
        assert_eq!((m.from.as_str(), m.to.as_str(), m.body.as_str()), ("+12125550199", "+14155550100", "Hi"));
        assert_eq!(m.provider_message_id, "1661365814859loooxxxxxxxx");
        assert_eq!(
            m.media,
            vec![MediaRef { url: "https://messaging.bandwidth.com/m/1.jpg".into(), content_type: None }]
        );
        let BandwidthEvent::Status(s) = &events[1] else { panic!() };
        assert_eq!((s.status, s.message_id, s.error_code.as_deref()), (MessageStatus::Delivered, Some(ours), None));
        let BandwidthEvent::Status(s) = &events[2] else { panic!() };
        assert_eq!((s.status, s.message_id, s.error_code.as_deref()), (MessageStatus::Failed, None, Some("4720")));
        assert_eq!(events[3], BandwidthEvent::Ignored("message-sending".into()));
    }

    #[test]
    fn malformed_callbacks_name_the_field() {
        assert_eq!(parse(b"{").unwrap_err().to_string(), "field body is not valid JSON");
        assert_eq!(parse(b"3").unwrap_err().to_string(), "field body is not a JSON array of events");
        let e = parse(br#"[{"type":"message-delivered","message":{"id":"a"}},{"type":"message-failed","message":{}}]"#)
            .unwrap_err();
        assert_eq!(e.to_string(), "field [1].message.id is missing");
        let e = parse(br#"[{"type":"message-received","to":"+14155550100","message":{"id":"a","from":"12"}}]"#)
            .unwrap_err();
        assert_eq!(e.to_string(), "field [0].message.from is not an E.164 number");
        let e = parse(br#"[{"message":{"id":"a"}}]"#).unwrap_err();
        assert_eq!(e.to_string(), "field [0].type is missing");
        // A single object is read as a one-element array.
        assert_eq!(parse(br#"{"type":"message-delivered","message":{"id":"a"}}"#).unwrap().len(), 1);
        assert_eq!(parse(b"[]").unwrap(), vec![]);
    }
}
