//! Twilio webhook parsing: inbound messages and status callbacks, from decoded form params.
//!
//! Lenient on purpose (reference/sms.md §1): Twilio adds parameters without notice, so unknown
//! ones are ignored, and only what we cannot do without is required. Rejecting a real inbound
//! webhook makes Twilio retry and finally drop a patient's text, so an error here must mean the
//! request is unusable, and it names the field so the log says what was wrong.
//!
//! Verify the signature ([`super::signature::verify`]) over the same params before parsing.
//! These functions take any input without panicking; they are fuzz targets.

use frontdesk_domain::model::{MediaRef, ProviderKind};
use frontdesk_domain::{E164, MessageStatus};
use uuid::Uuid;

use crate::{InboundSms, ProviderOptOut, StatusReport};

/// The query parameter of our StatusCallback URL that carries our message id.
pub const MESSAGE_ID_QUERY_PARAM: &str = "m";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A required parameter is absent or empty.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A parameter is present but unusable; `problem` completes "field X …".
    #[error("field {field} {problem}")]
    BadField { field: String, problem: String },
    /// A status callback whose status word carries no progress for us (`receiving`,
    /// `partially_delivered`, a word Twilio adds later). Not an error for Twilio: the web
    /// layer should answer 200 and change nothing.
    #[error("status {0:?} carries no progress for us; ignored")]
    IgnoredStatus(String),
}

/// Decodes a `application/x-www-form-urlencoded` body into ordered pairs, keeping repeats.
/// Invalid UTF-8 is replaced rather than refused, as the signature check will then fail
/// cleanly for a tampered body rather than this step guessing.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first non-empty value of `name`.
fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.as_str())
}

fn first_of<'a>(params: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| field(params, n))
}

fn phone(params: &[(String, String)], name: &'static str) -> Result<E164, WebhookError> {
    let raw = field(params, name).ok_or(WebhookError::MissingField(name))?;
    // The number itself is left out of the error: errors end up in logs.
    E164::parse_strict(raw)
        .map_err(|_| WebhookError::BadField { field: name.to_string(), problem: "is not an E.164 number".to_string() })
}

fn message_sid(params: &[(String, String)]) -> Result<String, WebhookError> {
    let sid = first_of(params, &["MessageSid", "SmsMessageSid", "SmsSid"])
        .ok_or(WebhookError::MissingField("MessageSid"))?
        .trim();
    if sid.len() > 64 || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(WebhookError::BadField {
            field: "MessageSid".to_string(),
            problem: "is not a Twilio SID (letters and digits, at most 64)".to_string(),
        });
    }
    Ok(sid.to_string())
}

/// Parses an inbound-message webhook (`POST /webhooks/twilio/messages`).
///
/// Required: `MessageSid` (or its legacy copies `SmsMessageSid`, `SmsSid`), `From`, `To`.
/// `Body` may be absent (MMS with media only) and becomes empty. Media are every
/// `MediaUrl{N}` present, in order of N, with `MediaContentType{N}`; `NumMedia` is not trusted
/// for the count, so a missing or odd `NumMedia` loses nothing. `OptOutType` (Advanced Opt-Out)
/// becomes [`InboundSms::provider_opt_out`]; an unknown value is ignored.
pub fn parse_inbound(params: &[(String, String)]) -> Result<InboundSms, WebhookError> {
    let provider_message_id = message_sid(params)?;
    let from = phone(params, "From")?;
    let to = phone(params, "To")?;
    let body = params.iter().find(|(k, _)| k == "Body").map(|(_, v)| v.clone()).unwrap_or_default();

    let mut indexed: Vec<(u32, &str)> = params
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix("MediaUrl")?;
            let index = (!n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| n.parse::<u32>().ok())
                .flatten()?;
            (!v.trim().is_empty()).then_some((index, v.as_str()))
        })
        .collect();
    indexed.sort_by_key(|(i, _)| *i);
    indexed.dedup_by_key(|(i, _)| *i);
    let media = indexed
        .into_iter()
        .map(|(i, url)| MediaRef {
            url: url.to_string(),
            content_type: field(params, &format!("MediaContentType{i}")).map(str::to_string),
        })
        .collect();

    let provider_opt_out = field(params, "OptOutType").and_then(|v| match v.trim().to_ascii_uppercase().as_str() {
        "STOP" => Some(ProviderOptOut::Stop),
        "START" => Some(ProviderOptOut::Start),
        "HELP" => Some(ProviderOptOut::Help),
        _ => None,
    });

    Ok(InboundSms { provider: ProviderKind::Twilio, provider_message_id, from, to, body, media, provider_opt_out })
}

/// Parses a status callback without our message id; see [`parse_status_with_query`].
pub fn parse_status(params: &[(String, String)]) -> Result<StatusReport, WebhookError> {
    parse_status_with_query(params, None)
}

/// Parses a status callback (`POST /webhooks/twilio/status?m=<our message id>`).
///
/// `query` is the raw query string of the request URL (without `?`). Our StatusCallback URL
/// carries our message id as `m` (see [`status_callback_url`]), which lets the services layer
/// find the message even if the callback beats the write of the provider id. A missing or
/// malformed `m` gives `message_id: None` rather than an error: the provider id still
/// identifies the message, and refusing a genuine, signed callback would only lose it.
///
/// The status is `MessageStatus` (or legacy `SmsStatus`) read with
/// [`MessageStatus::from_provider_word`]; a word with no progress for us is
/// [`WebhookError::IgnoredStatus`]. `ErrorCode` (absent, empty or `0` means none) is kept.
pub fn parse_status_with_query(params: &[(String, String)], query: Option<&str>) -> Result<StatusReport, WebhookError> {
    let provider_message_id = message_sid(params)?;
    let word = first_of(params, &["MessageStatus", "SmsStatus"]).ok_or(WebhookError::MissingField("MessageStatus"))?;
    let status = MessageStatus::from_provider_word(word)
        .ok_or_else(|| WebhookError::IgnoredStatus(word.trim().chars().take(40).collect()))?;
    let error_code = field(params, "ErrorCode").map(str::trim).filter(|c| *c != "0").map(|c| {
        // Error codes are short numbers; cap anything else so a hostile value stays small.
        c.chars().take(16).collect::<String>()
    });
    let message_id = query.and_then(|q| {
        url::form_urlencoded::parse(q.trim_start_matches('?').as_bytes())
            .find(|(k, _)| k == MESSAGE_ID_QUERY_PARAM)
            .and_then(|(_, v)| Uuid::parse_str(v.trim()).ok())
    });
    Ok(StatusReport { provider: ProviderKind::Twilio, provider_message_id, status, error_code, message_id })
}

/// The StatusCallback URL to give Twilio for one of our messages:
/// `{public_url}/webhooks/twilio/status?m={message_id}`.
pub fn status_callback_url(public_url: &str, message_id: Uuid) -> String {
    format!(
        "{}/webhooks/twilio/status?{MESSAGE_ID_QUERY_PARAM}={}",
        public_url.trim_end_matches('/'),
        message_id.as_hyphenated()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const SID: &str = "SM11111111111111111111111111111111";

    #[test]
    fn inbound_sms_with_extra_params() {
        let params = p(&[
            ("ToCountry", "US"),
            ("SmsMessageSid", SID),
            ("NumMedia", "0"),
            ("Body", "Café 👍\nThanks"),
            ("To", "+14155550100"),
            ("MessageSid", SID),
            ("From", "+12125550199"),
            ("SomethingNew", "x"),
        ]);
        let m = parse_inbound(&params).unwrap();
        assert_eq!(m.provider_message_id, SID);
        assert_eq!(m.from.as_str(), "+12125550199");
        assert_eq!(m.to.as_str(), "+14155550100");
        assert_eq!(m.body, "Café 👍\nThanks");
        assert!(m.media.is_empty());
        assert_eq!(m.provider_opt_out, None);
        assert_eq!(m.provider, ProviderKind::Twilio);
    }

    #[test]
    fn inbound_mms_without_body_and_legacy_sid() {
        let params = p(&[
            ("SmsSid", "MM22222222222222222222222222222222"),
            ("From", "+12125550199"),
            ("To", "+14155550100"),
            ("NumMedia", "2"),
            ("MediaUrl1", "https://api.twilio.com/m/1"),
            ("MediaContentType1", "image/png"),
            ("MediaUrl0", "https://api.twilio.com/m/0"),
            ("MediaContentType0", "image/jpeg"),
            ("OptOutType", "stop"),
        ]);
        let m = parse_inbound(&params).unwrap();
        assert_eq!(m.provider_message_id, "MM22222222222222222222222222222222");
        assert_eq!(m.body, "");
        assert_eq!(
            m.media,
            vec![
                MediaRef { url: "https://api.twilio.com/m/0".into(), content_type: Some("image/jpeg".into()) },
                MediaRef { url: "https://api.twilio.com/m/1".into(), content_type: Some("image/png".into()) },
            ]
        );
        assert_eq!(m.provider_opt_out, Some(ProviderOptOut::Stop));
    }

    #[test]
    fn inbound_errors_name_the_field() {
        let e = parse_inbound(&p(&[("From", "+12125550199"), ("To", "+14155550100")])).unwrap_err();
        assert_eq!(e.to_string(), "missing field MessageSid");
        let e = parse_inbound(&p(&[("MessageSid", SID), ("From", "12125550199"), ("To", "+14155550100")])).unwrap_err();
        assert_eq!(e.to_string(), "field From is not an E.164 number");
        let e = parse_inbound(&p(&[("MessageSid", SID), ("From", "+12125550199")])).unwrap_err();
        assert_eq!(e.to_string(), "missing field To");
        let e = parse_inbound(&p(&[("MessageSid", "SM<script>"), ("From", "+12125550199"), ("To", "+14155550100")]))
            .unwrap_err();
        assert!(e.to_string().starts_with("field MessageSid is not a Twilio SID"));
        for (v, want) in [("START", ProviderOptOut::Start), (" Help ", ProviderOptOut::Help)] {
            let m = parse_inbound(&p(&[
                ("MessageSid", SID),
                ("From", "+12125550199"),
                ("To", "+14155550100"),
                ("OptOutType", v),
            ]))
            .unwrap();
            assert_eq!(m.provider_opt_out, Some(want));
        }
    }

    #[test]
    fn status_callbacks() {
        let id = Uuid::now_v7();
        let params =
            p(&[("MessageSid", SID), ("MessageStatus", "undelivered"), ("ErrorCode", "30003"), ("SmsStatus", "sent")]);
        let s = parse_status_with_query(&params, Some(&format!("m={id}&x=1"))).unwrap();
        assert_eq!(s.status, MessageStatus::Undelivered);
        assert_eq!(s.error_code.as_deref(), Some("30003"));
        assert_eq!(s.message_id, Some(id));
        assert_eq!(s.provider_message_id, SID);

        let s = parse_status(&p(&[("SmsSid", SID), ("SmsStatus", "delivered"), ("ErrorCode", "0")])).unwrap();
        assert_eq!(s.status, MessageStatus::Delivered);
        assert_eq!(s.error_code, None);
        assert_eq!(s.message_id, None);

        let s = parse_status_with_query(&p(&[("MessageSid", SID), ("MessageStatus", "sent")]), Some("m=nope")).unwrap();
        assert_eq!(s.message_id, None);

        let e = parse_status(&p(&[("MessageSid", SID), ("MessageStatus", "partially_delivered")])).unwrap_err();
        assert_eq!(e, WebhookError::IgnoredStatus("partially_delivered".into()));
        let e = parse_status(&p(&[("MessageSid", SID)])).unwrap_err();
        assert_eq!(e.to_string(), "missing field MessageStatus");
    }

    #[test]
    fn callback_url_round_trips_through_parse() {
        let id = Uuid::now_v7();
        let url = status_callback_url("https://clinic.example/", id);
        assert_eq!(url, format!("https://clinic.example/webhooks/twilio/status?m={id}"));
        let query = url.split_once('?').map(|(_, q)| q);
        let s = parse_status_with_query(&p(&[("MessageSid", SID), ("MessageStatus", "sent")]), query).unwrap();
        assert_eq!(s.message_id, Some(id));
    }

    #[test]
    fn form_decoding_keeps_order_and_repeats() {
        let f = parse_form(b"Body=a+b%26c&MediaUrl=1&MediaUrl=2&Empty=&%FF=%FE");
        assert_eq!(f[0], ("Body".into(), "a b&c".into()));
        assert_eq!(f[1].1, "1");
        assert_eq!(f[2].1, "2");
        assert_eq!(f[3], ("Empty".into(), "".into()));
        assert_eq!(f.len(), 5);
    }
}
