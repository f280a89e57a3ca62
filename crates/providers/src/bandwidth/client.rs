//! Bandwidth Messaging v2 behind [`SmsProvider`]:
//! `POST /api/v2/users/{accountId}/messages` with HTTP Basic (API user) credentials, answered
//! `202 {id, …}`. Our message id goes in `tag`, which Bandwidth echoes in every callback.
//!
//! Classification as for the other providers: 429, 408, 5xx transient; timeouts after the
//! request left unknown; other 4xx permanent. Bandwidth documents no opt-out error for sends.
//! [`SmsProvider::lookup`] is [`Lookup::Unsupported`]: the list endpoint's filters are not
//! documented well enough for us to trust "not found", and a wrong "not found" sends twice.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use url::Url;

use frontdesk_domain::MessageStatus;
use frontdesk_domain::model::ProviderKind;

use crate::errors::{ErrorClass, classify_bandwidth};
use crate::http::{JsonProvider, build_http, http_url, send_json};
use crate::twilio::client::parse_retry_after;
use crate::{Lookup, OutboundSms, SendAccepted, SendError, SmsProvider};

#[derive(Clone)]
pub struct BandwidthConfig {
    pub account_id: String,
    pub username: String,
    pub password: String,
    pub application_id: String,
    /// `https://messaging.bandwidth.com` in production.
    pub api_base: String,
    pub timeout: Duration,
}

impl BandwidthConfig {
    pub const DEFAULT_API_BASE: &'static str = "https://messaging.bandwidth.com";
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
}

impl fmt::Debug for BandwidthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BandwidthConfig")
            .field("account_id", &self.account_id)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("application_id", &self.application_id)
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BandwidthConfigError {
    #[error("the Bandwidth account id is missing or not letters and digits (FRONTDESK_BANDWIDTH__ACCOUNT_ID)")]
    BadAccountId,
    #[error("the Bandwidth API user name or password is empty (FRONTDESK_BANDWIDTH__USERNAME, PASSWORD)")]
    MissingCredentials,
    #[error("the Bandwidth application id is empty (FRONTDESK_BANDWIDTH__APPLICATION_ID)")]
    MissingApplicationId,
    #[error("the Bandwidth API address {0:?} is not an http(s) URL (FRONTDESK_BANDWIDTH__API_BASE)")]
    BadApiBase(String),
    #[error("the Bandwidth timeout must be more than zero")]
    ZeroTimeout,
    #[error("could not build the HTTP client: {0}")]
    Http(String),
}

#[derive(Clone)]
pub struct BandwidthClient {
    http: reqwest::Client,
    username: String,
    password: String,
    application_id: String,
    messages_url: Url,
}

impl fmt::Debug for BandwidthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BandwidthClient").field("messages_url", &self.messages_url.as_str()).finish()
    }
}

/// The JSON body of Create Message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest<'a> {
    pub application_id: &'a str,
    pub to: [&'a str; 1],
    pub from: &'a str,
    pub text: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub media: &'a [String],
    pub tag: String,
}

/// Reads a Create Message answer; `None` without an id. Never panics.
pub fn parse_accepted(body: &[u8]) -> Option<SendAccepted> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let id = v.get("id")?.as_str().map(str::trim).filter(|s| !s.is_empty() && s.len() <= 100)?;
    let segments = v.get("segmentCount").and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok());
    Some(SendAccepted { provider_message_id: id.to_string(), status: MessageStatus::Queued, segments })
}

/// Turns a non-success answer into the dispatcher's decision. Bandwidth's error body is
/// `{type, description}`; the `type` word becomes the code (its description may quote numbers).
pub fn error_from_response(status: u16, retry_after: Option<&str>, body: &[u8]) -> SendError {
    let kind = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(|t| t.trim().chars().take(40).collect::<String>()))
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let code = kind.clone().unwrap_or_else(|| format!("http-{status}"));
    match classify_bandwidth(status) {
        ErrorClass::Transient => SendError::Transient {
            message: format!("Bandwidth had a temporary problem (HTTP {status}); the message will be tried again."),
            code: Some(code),
            retry_after: retry_after.and_then(|v| parse_retry_after(v, Utc::now())),
        },
        ErrorClass::Permanent | ErrorClass::OptedOut => SendError::Permanent {
            message: match status {
                401 | 403 => format!(
                    "Bandwidth refused the API credentials (HTTP {status}). Check FRONTDESK_BANDWIDTH__USERNAME, \
                     PASSWORD and ACCOUNT_ID."
                ),
                _ => match &kind {
                    Some(k) => {
                        format!("Bandwidth refused the message ({k}, HTTP {status}). Check the number and the text.")
                    }
                    None => format!("Bandwidth refused the request (HTTP {status})."),
                },
            },
            code,
        },
        ErrorClass::Unknown => SendError::Unknown {
            message: format!(
                "Bandwidth answered with the unexpected HTTP status {status}; check whether the message went out"
            ),
        },
    }
}

impl BandwidthClient {
    pub fn new(config: BandwidthConfig) -> Result<BandwidthClient, BandwidthConfigError> {
        let account = config.account_id.trim();
        if account.is_empty() || !account.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(BandwidthConfigError::BadAccountId);
        }
        if config.username.is_empty() || config.password.is_empty() {
            return Err(BandwidthConfigError::MissingCredentials);
        }
        if config.application_id.trim().is_empty() {
            return Err(BandwidthConfigError::MissingApplicationId);
        }
        if config.timeout.is_zero() {
            return Err(BandwidthConfigError::ZeroTimeout);
        }
        let messages_url = http_url(&config.api_base, &format!("/api/v2/users/{account}/messages"))
            .ok_or_else(|| BandwidthConfigError::BadApiBase(config.api_base.clone()))?;
        let http = build_http(config.timeout).map_err(BandwidthConfigError::Http)?;
        Ok(BandwidthClient {
            http,
            username: config.username,
            password: config.password,
            application_id: config.application_id.trim().to_string(),
            messages_url,
        })
    }

    pub fn send_request<'a>(&'a self, sms: &'a OutboundSms) -> SendRequest<'a> {
        SendRequest {
            application_id: &self.application_id,
            to: [sms.to.as_str()],
            from: sms.from.as_str(),
            text: &sms.body,
            media: &sms.media_urls,
            tag: sms.message_id.as_hyphenated().to_string(),
        }
    }
}

#[async_trait]
impl SmsProvider for BandwidthClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Bandwidth
    }

    async fn send(&self, sms: &OutboundSms) -> Result<SendAccepted, SendError> {
        let request = self
            .http
            .post(self.messages_url.clone())
            .basic_auth(&self.username, Some(&self.password))
            .json(&self.send_request(sms));
        send_json(&JsonProvider { name: "Bandwidth", parse_accepted, error_from_response }, request, sms).await
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
    use axum::extract::Path;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::post;
    use frontdesk_domain::E164;
    use serde_json::json;
    use uuid::Uuid;

    type Seen = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;

    async fn fake(status: u16, body: Value) -> (String, Seen) {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        let app = Router::new().route(
            "/api/v2/users/{account}/messages",
            post(move |Path(account): Path<String>, headers: HeaderMap, axum::Json(req): axum::Json<Value>| {
                let s = s.clone();
                let body = body.clone();
                async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
                    s.lock().unwrap().push((account, auth, req));
                    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), seen)
    }

    fn config(base: &str) -> BandwidthConfig {
        BandwidthConfig {
            account_id: "9900000".into(),
            username: "api-user".into(),
            password: "pw".into(),
            application_id: "app-1".into(),
            api_base: base.into(),
            timeout: Duration::from_secs(2),
        }
    }

    fn sms() -> OutboundSms {
        OutboundSms {
            message_id: Uuid::now_v7(),
            from: E164::parse_strict("+14155550100").unwrap(),
            to: E164::parse_strict("+12125550199").unwrap(),
            body: "Hello".into(),
            media_urls: vec!["https://x/1.jpg".into()],
            messaging_service_sid: None,
            status_callback: None,
        }
    }

    #[tokio::test]
    async fn send_posts_json_with_basic_auth_and_our_tag() {
        let (base, seen) = fake(202, json!({"id": "1589228074636lm4k2je7j7jklbn2", "segmentCount": 1})).await;
        let sms = sms();
        let accepted = BandwidthClient::new(config(&base)).unwrap().send(&sms).await.unwrap();
        assert_eq!(accepted.provider_message_id, "1589228074636lm4k2je7j7jklbn2");
        assert_eq!(accepted.segments, Some(1));
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].0, "9900000");
        assert!(seen[0].1.as_deref().unwrap().starts_with("Basic "));
        assert_eq!(
            seen[0].2,
            json!({"applicationId": "app-1", "to": ["+12125550199"], "from": "+14155550100", "text": "Hello",
                   "media": ["https://x/1.jpg"], "tag": sms.message_id.to_string()})
        );
    }

    #[tokio::test]
    async fn answers_are_classified() {
        let (base, _) = fake(400, json!({"type": "request-validation", "description": "bad +12125550199"})).await;
        let e = BandwidthClient::new(config(&base)).unwrap().send(&sms()).await.unwrap_err();
        assert!(
            matches!(&e, SendError::Permanent { code, message } if code == "request-validation" && !message.contains("+1212")),
            "{e:?}"
        );
        let (base, _) = fake(429, json!({})).await;
        assert!(matches!(
            BandwidthClient::new(config(&base)).unwrap().send(&sms()).await,
            Err(SendError::Transient { .. })
        ));
        let (base, _) = fake(500, json!({})).await;
        assert!(matches!(
            BandwidthClient::new(config(&base)).unwrap().send(&sms()).await,
            Err(SendError::Transient { .. })
        ));
        let (base, _) = fake(401, json!({})).await;
        let e = BandwidthClient::new(config(&base)).unwrap().send(&sms()).await.unwrap_err();
        assert!(matches!(&e, SendError::Permanent { message, .. } if message.contains("USERNAME")), "{e:?}");
        let (base, _) = fake(202, json!({})).await;
        assert!(matches!(
            BandwidthClient::new(config(&base)).unwrap().send(&sms()).await,
            Err(SendError::Unknown { .. })
        ));
        let c = BandwidthClient::new(config(&base)).unwrap();
        assert_eq!(c.lookup(&sms(), Utc::now()).await, Ok(Lookup::Unsupported));
    }

    #[test]
    fn config_validation() {
        let mut c = config("http://127.0.0.1:9");
        c.account_id = "../x".into();
        assert_eq!(BandwidthClient::new(c).unwrap_err(), BandwidthConfigError::BadAccountId);
        let mut c = config("http://127.0.0.1:9");
        c.password = String::new();
        assert_eq!(BandwidthClient::new(c).unwrap_err(), BandwidthConfigError::MissingCredentials);
        let c = config("gopher://x");
        assert!(matches!(BandwidthClient::new(c.clone()).unwrap_err(), BandwidthConfigError::BadApiBase(_)));
        assert!(!format!("{c:?}").contains("\"pw\""));
    }
}
