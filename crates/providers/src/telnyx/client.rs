//! Telnyx Messaging v2 behind [`SmsProvider`]: `POST /v2/messages` with a Bearer API key.
//!
//! Classification follows the Twilio client's rule of never sending twice: 429, 408 and 5xx
//! are [`SendError::Transient`]; a timeout or a broken connection after the request left is
//! [`SendError::Unknown`]; 40300 is [`SendError::OptedOut`]; other 4xx are
//! [`SendError::Permanent`] with our sentence from [`crate::errors::explain`] (Telnyx's own
//! `detail` can quote the number, so it is not stored).
//!
//! Telnyx can only look a message up by its id, which is exactly what a lost answer leaves us
//! without, so [`SmsProvider::lookup`] is [`Lookup::Unsupported`]: the service flags the
//! message for staff instead of guessing.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use frontdesk_domain::MessageStatus;
use frontdesk_domain::model::ProviderKind;

use crate::errors::{ErrorClass, classify_telnyx, explain};
use crate::http::{JsonProvider, build_http, http_url, send_json};
use crate::twilio::client::parse_retry_after;
use crate::{Lookup, OutboundSms, SendAccepted, SendError, SmsProvider};

#[derive(Clone)]
pub struct TelnyxConfig {
    pub api_key: String,
    /// `https://api.telnyx.com` in production; tests point it at a local fake.
    pub api_base: String,
    /// Whole-request limit; past it the send is [`SendError::Unknown`].
    pub timeout: Duration,
}

impl TelnyxConfig {
    pub const DEFAULT_API_BASE: &'static str = "https://api.telnyx.com";
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

    pub fn new(api_key: impl Into<String>) -> TelnyxConfig {
        TelnyxConfig {
            api_key: api_key.into(),
            api_base: Self::DEFAULT_API_BASE.to_string(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

impl fmt::Debug for TelnyxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelnyxConfig")
            .field("api_key", &"<redacted>")
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelnyxConfigError {
    #[error("the Telnyx API key is empty or not printable ASCII (set FRONTDESK_TELNYX__API_KEY)")]
    BadApiKey,
    #[error("the Telnyx API address {0:?} is not an http(s) URL (FRONTDESK_TELNYX__API_BASE)")]
    BadApiBase(String),
    #[error("the Telnyx timeout must be more than zero")]
    ZeroTimeout,
    #[error("could not build the HTTP client: {0}")]
    Http(String),
}

#[derive(Clone)]
pub struct TelnyxClient {
    http: reqwest::Client,
    api_key: String,
    messages_url: Url,
}

impl fmt::Debug for TelnyxClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelnyxClient").field("messages_url", &self.messages_url.as_str()).finish()
    }
}

/// The JSON body of `POST /v2/messages`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SendRequest<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub text: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub media_urls: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<&'a str>,
}

/// Telnyx's error body: `{"errors":[{"code","title","detail"}]}`; every part optional.
#[derive(Debug, Default, Deserialize)]
pub struct TelnyxErrorBody {
    #[serde(default)]
    pub errors: Vec<TelnyxError>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TelnyxError {
    #[serde(default)]
    pub code: Option<Value>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
}

impl TelnyxErrorBody {
    /// The first error's code, as a string whether Telnyx sent a string or a number.
    pub fn first_code(&self) -> Option<String> {
        self.errors.iter().find_map(|e| match &e.code {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().chars().take(16).collect()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
    }
}

/// Reads an error body; anything unreadable gives no errors. Never panics.
pub fn parse_error_body(body: &[u8]) -> TelnyxErrorBody {
    serde_json::from_slice(body).unwrap_or_default()
}

/// Reads a send answer `{"data":{"id", "to":[{"status"}], "parts"}}` into what we keep.
/// `None` without an id. Never panics.
pub fn parse_accepted(body: &[u8]) -> Option<SendAccepted> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let data = v.get("data")?;
    let id = data.get("id")?.as_str().map(str::trim).filter(|s| !s.is_empty() && s.len() <= 100)?;
    let status = data
        .get("to")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(|t| t.get("status"))
        .and_then(Value::as_str)
        .and_then(MessageStatus::from_provider_word)
        .unwrap_or(MessageStatus::Queued);
    let segments = data.get("parts").and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok());
    Some(SendAccepted { provider_message_id: id.to_string(), status, segments })
}

/// Turns a non-success answer into the dispatcher's decision.
pub fn error_from_response(status: u16, retry_after: Option<&str>, body: &[u8]) -> SendError {
    let code = parse_error_body(body).first_code();
    let code_str = code.clone().unwrap_or_else(|| format!("http-{status}"));
    match classify_telnyx(status, code.as_deref()) {
        ErrorClass::Transient => SendError::Transient {
            message: format!("Telnyx had a temporary problem (HTTP {status}); the message will be tried again."),
            code: Some(code_str),
            retry_after: retry_after.and_then(|v| parse_retry_after(v, Utc::now())),
        },
        ErrorClass::OptedOut => {
            SendError::OptedOut { message: explain(ProviderKind::Telnyx, &code_str), code: code_str }
        }
        ErrorClass::Permanent => SendError::Permanent {
            message: match (status, &code) {
                (401 | 403, None) => {
                    format!("Telnyx refused the API key (HTTP {status}). Check FRONTDESK_TELNYX__API_KEY.")
                }
                (_, Some(c)) => explain(ProviderKind::Telnyx, c),
                (_, None) => format!("Telnyx refused the request (HTTP {status})."),
            },
            code: code_str,
        },
        ErrorClass::Unknown => SendError::Unknown {
            message: format!(
                "Telnyx answered with the unexpected HTTP status {status}; check whether the message went out"
            ),
        },
    }
}

impl TelnyxClient {
    pub fn new(config: TelnyxConfig) -> Result<TelnyxClient, TelnyxConfigError> {
        let key = config.api_key.trim();
        // It goes into a header: printable ASCII only.
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TelnyxConfigError::BadApiKey);
        }
        if config.timeout.is_zero() {
            return Err(TelnyxConfigError::ZeroTimeout);
        }
        let messages_url = http_url(&config.api_base, "/v2/messages")
            .ok_or_else(|| TelnyxConfigError::BadApiBase(config.api_base.clone()))?;
        let http = build_http(config.timeout).map_err(TelnyxConfigError::Http)?;
        Ok(TelnyxClient { http, api_key: key.to_string(), messages_url })
    }

    pub fn send_request(sms: &OutboundSms) -> SendRequest<'_> {
        SendRequest {
            from: sms.from.as_str(),
            to: sms.to.as_str(),
            text: &sms.body,
            media_urls: &sms.media_urls,
            webhook_url: sms.status_callback.as_deref().filter(|s| !s.is_empty()),
        }
    }
}

#[async_trait]
impl SmsProvider for TelnyxClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Telnyx
    }

    async fn send(&self, sms: &OutboundSms) -> Result<SendAccepted, SendError> {
        let request =
            self.http.post(self.messages_url.clone()).bearer_auth(&self.api_key).json(&Self::send_request(sms));
        send_json(&JsonProvider { name: "Telnyx", parse_accepted, error_from_response }, request, sms).await
    }

    async fn lookup(&self, _sms: &OutboundSms, _since: DateTime<Utc>) -> Result<Lookup, SendError> {
        Ok(Lookup::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::post;
    use frontdesk_domain::E164;
    use serde_json::json;
    use uuid::Uuid;

    type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

    /// A fake Telnyx answering every send with `(status, body)` after `delay`.
    async fn fake(status: u16, body: Value, delay: Duration) -> (String, Seen) {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        let app = Router::new().route(
            "/v2/messages",
            post(move |headers: HeaderMap, axum::Json(req): axum::Json<Value>| {
                let s = s.clone();
                let body = body.clone();
                async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
                    s.lock().unwrap().push((auth, req));
                    tokio::time::sleep(delay).await;
                    (StatusCode::from_u16(status).unwrap(), [("retry-after", "3")], axum::Json(body)).into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), seen)
    }

    fn client(base: &str, timeout: Duration) -> TelnyxClient {
        TelnyxClient::new(TelnyxConfig { api_key: "KEYsecret".into(), api_base: base.into(), timeout }).unwrap()
    }

    fn sms(callback: Option<&str>) -> OutboundSms {
        OutboundSms {
            message_id: Uuid::now_v7(),
            from: E164::parse_strict("+14155550100").unwrap(),
            to: E164::parse_strict("+12125550199").unwrap(),
            body: "Hello".into(),
            media_urls: vec![],
            messaging_service_sid: None,
            status_callback: callback.map(str::to_string),
        }
    }

    fn errors(code: &str) -> Value {
        json!({"errors": [{"code": code, "title": "t", "detail": "d +12125550199"}]})
    }

    #[tokio::test]
    async fn send_posts_json_with_bearer_and_reads_the_answer() {
        let answer = json!({"data": {"id": "40318f4e-aaaa", "to": [{"phone_number": "+12125550199", "status": "queued"}], "parts": 2}});
        let (base, seen) = fake(200, answer, Duration::ZERO).await;
        let accepted =
            client(&base, Duration::from_secs(2)).send(&sms(Some("https://c/webhooks/telnyx?m=1"))).await.unwrap();
        assert_eq!(
            accepted,
            SendAccepted {
                provider_message_id: "40318f4e-aaaa".into(),
                status: MessageStatus::Queued,
                segments: Some(2)
            }
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].0.as_deref(), Some("Bearer KEYsecret"));
        assert_eq!(
            seen[0].1,
            json!({"from": "+14155550100", "to": "+12125550199", "text": "Hello", "webhook_url": "https://c/webhooks/telnyx?m=1"})
        );
    }

    #[tokio::test]
    async fn answers_are_classified() {
        let c = Duration::from_secs(2);
        let (base, _) = fake(400, errors("40300"), Duration::ZERO).await;
        let e = client(&base, c).send(&sms(None)).await.unwrap_err();
        assert!(
            matches!(&e, SendError::OptedOut { code, message } if code == "40300" && message.contains("opted out")),
            "{e:?}"
        );

        let (base, _) = fake(422, errors("40012"), Duration::ZERO).await;
        let e = client(&base, c).send(&sms(None)).await.unwrap_err();
        assert!(
            matches!(&e, SendError::Permanent { code, message } if code == "40012" && !message.contains("+1212")),
            "{e:?}"
        );

        let (base, _) = fake(429, errors("10011"), Duration::ZERO).await;
        let e = client(&base, c).send(&sms(None)).await.unwrap_err();
        assert!(
            matches!(&e, SendError::Transient { retry_after: Some(d), .. } if *d == Duration::from_secs(3)),
            "{e:?}"
        );

        let (base, _) = fake(503, json!("oops"), Duration::ZERO).await;
        assert!(matches!(client(&base, c).send(&sms(None)).await, Err(SendError::Transient { .. })));

        let (base, _) = fake(401, json!({}), Duration::ZERO).await;
        let e = client(&base, c).send(&sms(None)).await.unwrap_err();
        assert!(
            matches!(&e, SendError::Permanent { message, .. } if message.contains("FRONTDESK_TELNYX__API_KEY")),
            "{e:?}"
        );

        // Success without an id: it may have been sent.
        let (base, _) = fake(200, json!({"data": {}}), Duration::ZERO).await;
        assert!(matches!(client(&base, c).send(&sms(None)).await, Err(SendError::Unknown { .. })));

        // A timeout after sending: unknown, never blindly retried.
        let (base, _) = fake(200, json!({"data": {"id": "x"}}), Duration::from_secs(3)).await;
        let e = client(&base, Duration::from_millis(300)).send(&sms(None)).await.unwrap_err();
        assert!(matches!(e, SendError::Unknown { .. }), "{e:?}");

        // Nothing listening: not sent, safe to retry.
        let e = client("http://127.0.0.1:9", c).send(&sms(None)).await.unwrap_err();
        assert!(matches!(e, SendError::Transient { .. }), "{e:?}");

        assert_eq!(client(&base, c).lookup(&sms(None), Utc::now()).await, Ok(Lookup::Unsupported));
    }

    #[test]
    fn config_and_bodies() {
        assert_eq!(TelnyxClient::new(TelnyxConfig::new(" ")).unwrap_err(), TelnyxConfigError::BadApiKey);
        assert_eq!(TelnyxClient::new(TelnyxConfig::new("a\nb")).unwrap_err(), TelnyxConfigError::BadApiKey);
        let mut c = TelnyxConfig::new("KEY123");
        c.api_base = "ftp://x".into();
        assert!(matches!(TelnyxClient::new(c.clone()).unwrap_err(), TelnyxConfigError::BadApiBase(_)));
        assert!(!format!("{c:?}").contains("KEY123"));
        assert_eq!(parse_error_body(b"<html>").first_code(), None);
        assert_eq!(parse_error_body(br#"{"errors":[{"code":40300}]}"#).first_code().as_deref(), Some("40300"));
        assert_eq!(
            parse_accepted(br#"{"data":{"id":"x","to":[{"status":"weird"}]}}"#).map(|a| a.status),
            Some(MessageStatus::Queued)
        );
        assert_eq!(parse_accepted(br#"{"data":{"id":""}}"#), None);
    }
}
