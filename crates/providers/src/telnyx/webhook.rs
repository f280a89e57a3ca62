//! Telnyx webhook parsing (reference/sms.md §2): `{"data":{"event_type", "id", "payload":{…}},
//! "meta":{…}}` into an [`InboundSms`] (`message.received`) or a [`StatusReport`]
//! (`message.sent`, `message.finalized`). Other event types are [`TelnyxEvent::Ignored`]: the
//! web layer answers 200 so Telnyx does not retry them.
//!
//! Lenient like the Twilio parser: unknown fields are ignored, only what we cannot do without
//! is required, and errors name the field. Verify the signature over the raw body first
//! ([`super::signature::verify`]). Never panics: a fuzz target.

use frontdesk_domain::model::{MediaRef, ProviderKind};
use frontdesk_domain::{E164, MessageStatus};
use serde_json::Value;
use uuid::Uuid;

pub use crate::twilio::webhook::WebhookError;
use crate::{InboundSms, StatusReport};

/// The query parameter of our webhook URL that carries our message id.
pub const MESSAGE_ID_QUERY_PARAM: &str = "m";

/// What a Telnyx webhook means for us.
#[derive(Debug, Clone, PartialEq)]
pub enum TelnyxEvent {
    Inbound(InboundSms),
    Status(StatusReport),
    /// An event type or status word with nothing for us; answered 200 and otherwise dropped.
    Ignored(String),
}

fn short(s: &str) -> String {
    s.trim().chars().take(40).collect()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn phone(raw: Option<&str>, field: &'static str) -> Result<E164, WebhookError> {
    let raw = raw.ok_or(WebhookError::MissingField(field))?;
    E164::parse_strict(raw)
        .map_err(|_| WebhookError::BadField { field: field.to_string(), problem: "is not an E.164 number".to_string() })
}

fn message_id(payload: &Value) -> Result<String, WebhookError> {
    let id = str_at(payload, &["id"]).ok_or(WebhookError::MissingField("data.payload.id"))?;
    if id.len() > 100 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(WebhookError::BadField {
            field: "data.payload.id".to_string(),
            problem: "is not a Telnyx message id (letters, digits and dashes, at most 100)".to_string(),
        });
    }
    Ok(id.to_string())
}

/// Parses a webhook body; `query` is the raw query string of the request URL, whose `m`
/// carries our message id (see [`webhook_url`]).
pub fn parse(body: &[u8], query: Option<&str>) -> Result<TelnyxEvent, WebhookError> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|_| WebhookError::BadField { field: "body".to_string(), problem: "is not valid JSON".to_string() })?;
    let data = root.get("data").filter(|d| d.is_object()).ok_or(WebhookError::MissingField("data"))?;
    let event_type = str_at(data, &["event_type"]).ok_or(WebhookError::MissingField("data.event_type"))?;
    if !matches!(event_type, "message.received" | "message.sent" | "message.finalized") {
        return Ok(TelnyxEvent::Ignored(short(event_type)));
    }
    let payload = data.get("payload").filter(|p| p.is_object()).ok_or(WebhookError::MissingField("data.payload"))?;
    let provider_message_id = message_id(payload)?;
    let first_to = payload.get("to").and_then(|t| t.as_array()).and_then(|t| t.first());

    if event_type == "message.received" {
        let from = phone(str_at(payload, &["from", "phone_number"]), "data.payload.from.phone_number")?;
        let to = phone(first_to.and_then(|t| str_at(t, &["phone_number"])), "data.payload.to[0].phone_number")?;
        let body = payload.get("text").and_then(Value::as_str).unwrap_or_default().to_string();
        let media = payload
            .get("media")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|m| {
                        Some(MediaRef {
                            url: str_at(m, &["url"])?.to_string(),
                            content_type: str_at(m, &["content_type"]).map(str::to_string),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        return Ok(TelnyxEvent::Inbound(InboundSms {
            provider: ProviderKind::Telnyx,
            provider_message_id,
            from,
            to,
            body,
            media,
            // Telnyx handles STOP itself but does not flag the inbound message as such.
            provider_opt_out: None,
        }));
    }

    let word =
        first_to.and_then(|t| str_at(t, &["status"])).ok_or(WebhookError::MissingField("data.payload.to[0].status"))?;
    let Some(status) = MessageStatus::from_provider_word(word) else {
        return Ok(TelnyxEvent::Ignored(short(word)));
    };
    let error_code = payload
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .and_then(|e| e.get("code"))
        .and_then(|c| match c {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .filter(|c| !c.is_empty() && c != "0")
        .map(|c| c.chars().take(16).collect());
    let message_id = query.and_then(|q| {
        url::form_urlencoded::parse(q.trim_start_matches('?').as_bytes())
            .find(|(k, _)| k == MESSAGE_ID_QUERY_PARAM)
            .and_then(|(_, v)| Uuid::parse_str(v.trim()).ok())
    });
    Ok(TelnyxEvent::Status(StatusReport {
        provider: ProviderKind::Telnyx,
        provider_message_id,
        status,
        error_code,
        message_id,
    }))
}

/// The `webhook_url` to give Telnyx for one of our messages:
/// `{public_url}/webhooks/telnyx?m={message_id}`.
pub fn webhook_url(public_url: &str, message_id: Uuid) -> String {
    format!(
        "{}/webhooks/telnyx?{MESSAGE_ID_QUERY_PARAM}={}",
        public_url.trim_end_matches('/'),
        message_id.as_hyphenated()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "b0c7e8cb-6227-4c74-9f32-c7f80c30934b";

    fn event(event_type: &str, payload: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "data": {"record_type": "event", "event_type": event_type, "id": "e1", "occurred_at": "2024-01-01T00:00:00Z", "payload": payload},
            "meta": {"attempt": 1, "delivered_to": "https://x"}
        }))
        .unwrap()
    }

    #[test]
    fn inbound_message_with_media() {
        let body = event(
            "message.received",
            json!({
                "id": ID, "direction": "inbound", "type": "MMS", "text": "Café 👍",
                "from": {"phone_number": "+12125550199", "carrier": "T-Mobile", "line_type": "Wireless"},
                "to": [{"phone_number": "+14155550100", "status": "webhook_delivered"}],
                "media": [{"url": "https://media/1", "content_type": "image/jpeg"}, {"content_type": "x"}, {"url": "https://media/2"}],
                "new_field": {"x": 1}
            }),
        );
        let TelnyxEvent::Inbound(m) = parse(&body, None).unwrap() else { panic!("not inbound") };
        assert_eq!(m.provider, ProviderKind::Telnyx);
        assert_eq!(m.provider_message_id, ID);
        assert_eq!(m.from.as_str(), "+12125550199");
        assert_eq!(m.to.as_str(), "+14155550100");
        assert_eq!(m.body, "Café 👍");
        assert_eq!(
            m.media,
            vec![
                MediaRef { url: "https://media/1".into(), content_type: Some("image/jpeg".into()) },
                MediaRef { url: "https://media/2".into(), content_type: None },
            ]
        );
    }

    #[test]
    fn statuses_errors_and_our_id() {
        let id = Uuid::now_v7();
        let body = event(
            "message.finalized",
            json!({"id": ID, "to": [{"phone_number": "+12125550199", "status": "delivery_failed"}],
                   "errors": [{"code": "40300", "title": "Blocked due to STOP message"}]}),
        );
        let TelnyxEvent::Status(s) = parse(&body, Some(&format!("m={id}"))).unwrap() else { panic!() };
        assert_eq!(s.status, MessageStatus::Undelivered);
        assert_eq!(s.error_code.as_deref(), Some("40300"));
        assert_eq!(s.message_id, Some(id));
        assert_eq!(s.provider, ProviderKind::Telnyx);

        let body = event("message.sent", json!({"id": ID, "to": [{"status": "sent"}], "errors": []}));
        let TelnyxEvent::Status(s) = parse(&body, None).unwrap() else { panic!() };
        assert_eq!((s.status, s.error_code, s.message_id), (MessageStatus::Sent, None, None));

        let body =
            event("message.finalized", json!({"id": ID, "to": [{"status": "delivered"}], "errors": [{"code": 0}]}));
        let TelnyxEvent::Status(s) = parse(&body, Some("m=junk")).unwrap() else { panic!() };
        assert_eq!((s.status, s.error_code, s.message_id), (MessageStatus::Delivered, None, None));

        let body = event(
            "message.finalized",
            json!({"id": ID, "to": [{"status": "sending_failed"}], "errors": [{"code": 40008}]}),
        );
        let TelnyxEvent::Status(s) = parse(&body, None).unwrap() else { panic!() };
        assert_eq!((s.status, s.error_code.as_deref()), (MessageStatus::Failed, Some("40008")));
    }

    #[test]
    fn ignored_and_malformed() {
        assert_eq!(
            parse(&event("number_order.complete", json!({})), None),
            Ok(TelnyxEvent::Ignored("number_order.complete".into()))
        );
        let body = event("message.sent", json!({"id": ID, "to": [{"status": "webhook_delivered"}]}));
        assert_eq!(parse(&body, None), Ok(TelnyxEvent::Ignored("webhook_delivered".into())));

        let e = parse(b"not json", None).unwrap_err();
        assert_eq!(e.to_string(), "field body is not valid JSON");
        assert_eq!(parse(b"[]", None).unwrap_err().to_string(), "missing field data");
        assert_eq!(parse(br#"{"data":{}}"#, None).unwrap_err().to_string(), "missing field data.event_type");
        let e = parse(&event("message.received", json!({"id": ID, "to": [{"phone_number": "+14155550100"}]})), None)
            .unwrap_err();
        assert_eq!(e.to_string(), "missing field data.payload.from.phone_number");
        let e = parse(
            &event(
                "message.received",
                json!({"id": ID, "from": {"phone_number": "+12125550199"}, "to": [{"phone_number": "555"}]}),
            ),
            None,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "field data.payload.to[0].phone_number is not an E.164 number");
        let e = parse(&event("message.sent", json!({"id": "<x>", "to": [{"status": "sent"}]})), None).unwrap_err();
        assert!(e.to_string().starts_with("field data.payload.id"));
        let e = parse(&event("message.sent", json!({"id": ID, "to": []})), None).unwrap_err();
        assert_eq!(e.to_string(), "missing field data.payload.to[0].status");
    }

    #[test]
    fn webhook_url_round_trips() {
        let id = Uuid::now_v7();
        let url = webhook_url("https://clinic.example/", id);
        assert_eq!(url, format!("https://clinic.example/webhooks/telnyx?m={id}"));
        let body = event("message.sent", json!({"id": ID, "to": [{"status": "sent"}]}));
        let TelnyxEvent::Status(s) = parse(&body, url.split_once('?').map(|(_, q)| q)).unwrap() else { panic!() };
        assert_eq!(s.message_id, Some(id));
    }
}
