//! Twilio's REST API behind [`SmsProvider`]: Create Message and List Messages (for
//! reconciliation), checked against Twilio's official OpenAPI spec by `oracles/prism`.
//!
//! The classification of every answer decides whether a patient's text is retried, failed or
//! reconciled (DESIGN.md §3 "Outbound flow"), so it errs towards never sending twice: a request
//! that may have reached Twilio without an answer is [`SendError::Unknown`], not retried.
//!
//! Nothing here logs a message body or a full phone number, and Twilio's own error text
//! (which can quote the number) is replaced by our sentence from [`crate::errors::explain`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use url::Url;

use frontdesk_domain::MessageStatus;
use frontdesk_domain::model::ProviderKind;

use crate::errors::{ErrorClass, classify_twilio, explain};
use crate::http::transport_error;
use crate::{Lookup, OutboundSms, SendAccepted, SendError, SmsProvider};

/// How a [`TwilioClient`] reaches Twilio.
#[derive(Clone)]
pub struct TwilioConfig {
    /// `AC…`: the account whose Messages are created, and the Basic-auth user name.
    pub account_sid: String,
    pub auth_token: String,
    /// `https://api.twilio.com` in production; tests point it at a local fake or Prism.
    pub api_base: String,
    /// Whole-request limit. Past it the send is [`SendError::Unknown`], since Twilio may have
    /// taken the message; connecting is capped at the smaller of this and 10 s.
    pub timeout: Duration,
}

impl TwilioConfig {
    pub const DEFAULT_API_BASE: &'static str = "https://api.twilio.com";
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

    /// A configuration for the real Twilio with the default timeout.
    pub fn new(account_sid: impl Into<String>, auth_token: impl Into<String>) -> TwilioConfig {
        TwilioConfig {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            api_base: Self::DEFAULT_API_BASE.to_string(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

impl fmt::Debug for TwilioConfig {
    /// Keeps the auth token out of logs and panics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioConfigError {
    #[error("the Twilio account SID is missing or not letters and digits (set FRONTDESK_TWILIO__ACCOUNT_SID)")]
    BadAccountSid,
    #[error("the Twilio auth token is empty (set FRONTDESK_TWILIO__AUTH_TOKEN)")]
    MissingAuthToken,
    #[error("the Twilio API address {0:?} is not an http(s) URL (FRONTDESK_TWILIO__API_BASE)")]
    BadApiBase(String),
    #[error("the Twilio timeout must be more than zero")]
    ZeroTimeout,
    #[error("could not build the HTTP client: {0}")]
    Http(String),
}

/// Sends through Twilio's Messages API. Cheap to clone; share one per account.
#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    account_sid: String,
    auth_token: String,
    /// `api_base` without a trailing slash, to resolve `next_page_uri`.
    api_base: String,
    messages_url: Url,
}

impl fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioClient")
            .field("account_sid", &self.account_sid)
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// How many pages of 50 [`TwilioClient::lookup`] reads before concluding "not found".
const LOOKUP_MAX_PAGES: usize = 5;
/// Twilio's clock and ours differ; a message created slightly "before" `since` still counts.
const LOOKUP_CLOCK_SLACK: chrono::Duration = chrono::Duration::minutes(1);

impl TwilioClient {
    pub fn new(config: TwilioConfig) -> Result<TwilioClient, TwilioConfigError> {
        let sid = config.account_sid.trim();
        // It goes into the URL path: only letters and digits, so it cannot change the path.
        if sid.is_empty() || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(TwilioConfigError::BadAccountSid);
        }
        if config.auth_token.is_empty() {
            return Err(TwilioConfigError::MissingAuthToken);
        }
        if config.timeout.is_zero() {
            return Err(TwilioConfigError::ZeroTimeout);
        }
        let api_base = config.api_base.trim().trim_end_matches('/').to_string();
        let messages_url = Url::parse(&format!("{api_base}/2010-04-01/Accounts/{sid}/Messages.json"))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| TwilioConfigError::BadApiBase(config.api_base.clone()))?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            // A redirected POST could be replayed as something else; Twilio does not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("frontdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TwilioConfigError::Http(e.to_string()))?;
        Ok(TwilioClient { http, account_sid: sid.to_string(), auth_token: config.auth_token, api_base, messages_url })
    }

    /// The form fields of Create Message, in the order sent. `From` is left out when a
    /// Messaging Service is given: Twilio then picks a number from the service's pool.
    pub fn create_form(sms: &OutboundSms) -> Vec<(&'static str, &str)> {
        let mut form = vec![("To", sms.to.as_str())];
        match sms.messaging_service_sid.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(service) => form.push(("MessagingServiceSid", service)),
            None => form.push(("From", sms.from.as_str())),
        }
        if !sms.body.is_empty() {
            form.push(("Body", sms.body.as_str()));
        }
        for url in &sms.media_urls {
            form.push(("MediaUrl", url.as_str()));
        }
        if let Some(callback) = sms.status_callback.as_deref().filter(|s| !s.is_empty()) {
            form.push(("StatusCallback", callback));
        }
        form
    }

    /// The List Messages URL used by [`SmsProvider::lookup`]: `To`, `From` (unless sent
    /// through a Messaging Service, whose pool chooses the sender), `DateSent>` one minute
    /// before `since` (the spec wants a date-time; Twilio compares by day), `PageSize=50`.
    pub fn lookup_url(&self, sms: &OutboundSms, since: DateTime<Utc>) -> Url {
        let mut url = self.messages_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("To", sms.to.as_str());
            if sms.messaging_service_sid.as_deref().is_none_or(|s| s.trim().is_empty()) {
                q.append_pair("From", sms.from.as_str());
            }
            let after = since - LOOKUP_CLOCK_SLACK;
            q.append_pair("DateSent>", &after.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            q.append_pair("PageSize", "50");
        }
        url
    }

    async fn execute(&self, request: reqwest::RequestBuilder) -> Result<(StatusCode, HeaderMap, Vec<u8>), SendError> {
        let response = request
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .send()
            .await
            .map_err(|e| transport_error("Twilio", e))?;
        let status = response.status();
        let headers = response.headers().clone();
        match response.bytes().await {
            Ok(body) => Ok((status, headers, body.to_vec())),
            // The status line arrived, so Twilio processed the request: an error status is
            // still classifiable, but a lost success body leaves us without the SID.
            Err(_) if !status.is_success() => Ok((status, headers, Vec::new())),
            Err(e) => Err(SendError::Unknown {
                message: format!(
                    "Twilio answered HTTP {} but the answer could not be read ({}); check whether the message went out",
                    status.as_u16(),
                    e.without_url()
                ),
            }),
        }
    }
}

/// Both error shapes Twilio uses: legacy `{code, message, more_info, status}` and RFC 9457
/// `{type, title, status, code, detail, instance}`. Every field optional: we classify on
/// whatever is there.
#[derive(Debug, Default, Deserialize)]
pub struct TwilioErrorBody {
    #[serde(default, deserialize_with = "lenient_i64")]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub more_info: Option<String>,
    #[serde(default, rename = "type")]
    pub type_uri: Option<String>,
}

/// Reads an error body; anything unreadable (HTML from a proxy, empty) gives no code.
/// Never panics: a fuzz target.
pub fn parse_error_body(body: &[u8]) -> TwilioErrorBody {
    serde_json::from_slice(body).unwrap_or_default()
}

/// The parts of a Message resource we use.
#[derive(Debug, Default, Deserialize)]
pub struct TwilioMessage {
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub num_segments: Option<i64>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    /// RFC 2822, e.g. `Thu, 24 Aug 2023 05:01:45 +0000`.
    #[serde(default)]
    pub date_created: Option<String>,
}

impl TwilioMessage {
    /// Our view of an accepted message; `None` without a SID. Unknown status words count as
    /// `queued`: Twilio took the message, and callbacks will move it on.
    pub fn accepted(&self) -> Option<SendAccepted> {
        let sid = self.sid.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        Some(SendAccepted {
            provider_message_id: sid.to_string(),
            status: self.status.as_deref().and_then(MessageStatus::from_provider_word).unwrap_or(MessageStatus::Queued),
            segments: self.num_segments.and_then(|n| i32::try_from(n).ok()),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TwilioMessagePage {
    #[serde(default)]
    pub messages: Vec<TwilioMessage>,
    #[serde(default)]
    pub next_page_uri: Option<String>,
}

/// Reads a Create Message answer. Never panics: a fuzz target.
pub fn parse_message(body: &[u8]) -> Result<TwilioMessage, serde_json::Error> {
    serde_json::from_slice(body)
}

/// Reads a List Messages page. Never panics: a fuzz target.
pub fn parse_message_page(body: &[u8]) -> Result<TwilioMessagePage, serde_json::Error> {
    serde_json::from_slice(body)
}

/// Twilio sends numbers as strings in some fields (`num_segments: "1"`) and as numbers in
/// others (`code: 21211`); accept either, and treat anything else as absent.
fn lenient_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// `Retry-After` in seconds or as an HTTP date; capped at a day so a hostile or broken value
/// cannot park a message for ever.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    const CAP: Duration = Duration::from_secs(24 * 3600);
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(CAP));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO).min(CAP))
}

/// Turns a non-success answer into the dispatcher's decision, with a sentence for staff.
pub fn error_from_response(status: u16, headers: &HeaderMap, body: &[u8]) -> SendError {
    let parsed = parse_error_body(body);
    let code = parsed.code;
    let code_str = code.map_or_else(|| format!("http-{status}"), |c| c.to_string());
    match classify_twilio(status, code) {
        ErrorClass::Transient => SendError::Transient {
            message: match code {
                Some(c) => explain(ProviderKind::Twilio, &c.to_string()),
                None if status == 429 => explain(ProviderKind::Twilio, "20429"),
                None => format!("Twilio had a temporary problem (HTTP {status}); the message will be tried again."),
            },
            code: Some(code_str),
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, Utc::now())),
        },
        ErrorClass::OptedOut => {
            SendError::OptedOut { message: explain(ProviderKind::Twilio, &code_str), code: code_str }
        }
        ErrorClass::Permanent => SendError::Permanent {
            message: match (status, code) {
                (401 | 403, None | Some(20003)) => format!(
                    "Twilio refused the account credentials (HTTP {status}). Check \
                     FRONTDESK_TWILIO__ACCOUNT_SID and FRONTDESK_TWILIO__AUTH_TOKEN."
                ),
                (_, Some(c)) => explain(ProviderKind::Twilio, &c.to_string()),
                (_, None) => format!("Twilio refused the request (HTTP {status})."),
            },
            code: code_str,
        },
        ErrorClass::Unknown => SendError::Unknown {
            message: format!(
                "Twilio answered with the unexpected HTTP status {status}; check whether the message went out"
            ),
        },
    }
}

#[async_trait]
impl SmsProvider for TwilioClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Twilio
    }

    async fn send(&self, sms: &OutboundSms) -> Result<SendAccepted, SendError> {
        let request = self.http.post(self.messages_url.clone()).form(&Self::create_form(sms));
        let (status, headers, body) = self.execute(request).await?;
        if status.is_success() {
            let accepted = parse_message(&body).ok().and_then(|m| m.accepted()).ok_or_else(|| SendError::Unknown {
                message: format!(
                    "Twilio accepted the request (HTTP {}) but its answer had no message SID; check whether the message went out",
                    status.as_u16()
                ),
            })?;
            tracing::info!(
                to = %sms.to,
                message_id = %sms.message_id,
                sid = %accepted.provider_message_id,
                status = %accepted.status,
                "twilio accepted the message"
            );
            return Ok(accepted);
        }
        let error = error_from_response(status.as_u16(), &headers, &body);
        tracing::warn!(
            to = %sms.to,
            message_id = %sms.message_id,
            http_status = status.as_u16(),
            error = %error,
            "twilio did not accept the message"
        );
        Err(error)
    }

    /// Pages through List Messages (at most [`LOOKUP_MAX_PAGES`] pages of 50) for a message
    /// to the same number with the same body created at or after `since` − 1 minute. A
    /// message without a readable `date_created` counts as a match: the server-side date
    /// filter already bounds the search, and a false "not found" would send the text twice.
    async fn lookup(&self, sms: &OutboundSms, since: DateTime<Utc>) -> Result<Lookup, SendError> {
        let earliest = since - LOOKUP_CLOCK_SLACK;
        let mut url = self.lookup_url(sms, since);
        for _ in 0..LOOKUP_MAX_PAGES {
            let (status, headers, body) = self.execute(self.http.get(url.clone())).await?;
            if !status.is_success() {
                return Err(error_from_response(status.as_u16(), &headers, &body));
            }
            let page = parse_message_page(&body).map_err(|e| SendError::Unknown {
                message: format!("Twilio's list of messages could not be read: {e}"),
            })?;
            let found = page.messages.iter().find(|m| {
                m.body.as_deref() == Some(sms.body.as_str())
                    && m.to.as_deref().is_none_or(|to| to == sms.to.as_str())
                    && m.date_created
                        .as_deref()
                        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
                        .is_none_or(|d| d.with_timezone(&Utc) >= earliest)
            });
            if let Some(accepted) = found.and_then(TwilioMessage::accepted) {
                tracing::info!(to = %sms.to, message_id = %sms.message_id, sid = %accepted.provider_message_id, "twilio lookup found the message");
                return Ok(Lookup::Found(accepted));
            }
            // Only follow relative links, so our credentials never go to another host.
            match page.next_page_uri.as_deref().filter(|n| n.starts_with('/') && !n.starts_with("//")) {
                Some(next) => {
                    url = Url::parse(&format!("{}{next}", self.api_base)).map_err(|_| SendError::Unknown {
                        message: "Twilio's next page link could not be read".to_string(),
                    })?
                }
                None => break,
            }
        }
        tracing::info!(to = %sms.to, message_id = %sms.message_id, "twilio lookup did not find the message");
        Ok(Lookup::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation() {
        assert_eq!(TwilioClient::new(TwilioConfig::new("", "t")).unwrap_err(), TwilioConfigError::BadAccountSid);
        assert_eq!(TwilioClient::new(TwilioConfig::new("AC/../x", "t")).unwrap_err(), TwilioConfigError::BadAccountSid);
        assert_eq!(TwilioClient::new(TwilioConfig::new("AC1", "")).unwrap_err(), TwilioConfigError::MissingAuthToken);
        let mut c = TwilioConfig::new("AC1", "t");
        c.api_base = "ftp://x".into();
        assert!(matches!(TwilioClient::new(c.clone()).unwrap_err(), TwilioConfigError::BadApiBase(_)));
        c.api_base = "http://127.0.0.1:9/".into();
        assert!(TwilioClient::new(c.clone()).is_ok());
        assert!(!format!("{c:?}").contains("\"t\""));
    }

    #[test]
    fn error_bodies_of_both_shapes() {
        let legacy = parse_error_body(br#"{"code":21211,"message":"bad","more_info":"https://x","status":400}"#);
        assert_eq!(legacy.code, Some(21211));
        let rfc = parse_error_body(
            br#"{"type":"https://x","title":"t","status":400,"code":"21610","detail":"d","instance":"/i"}"#,
        );
        assert_eq!(rfc.code, Some(21610));
        assert_eq!(parse_error_body(b"<html>").code, None);
        assert_eq!(parse_error_body(br#"{"code":[1]}"#).code, None);
    }

    #[test]
    fn retry_after_forms() {
        let now = Utc::now();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("99999999", now), Some(Duration::from_secs(86400)));
        let later = (now + chrono::Duration::seconds(30)).to_rfc2822();
        let d = parse_retry_after(&later, now).unwrap();
        assert!(d <= Duration::from_secs(30) && d >= Duration::from_secs(29));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn accepted_reads_segments_and_status() {
        let m = parse_message(br#"{"sid":"SM1","status":"queued","num_segments":"2"}"#).unwrap();
        assert_eq!(
            m.accepted(),
            Some(SendAccepted { provider_message_id: "SM1".into(), status: MessageStatus::Queued, segments: Some(2) })
        );
        let m = parse_message(br#"{"sid":"SM1","status":"weird","num_segments":null}"#).unwrap();
        assert_eq!(m.accepted().map(|a| (a.status, a.segments)), Some((MessageStatus::Queued, None)));
        assert_eq!(parse_message(br#"{"status":"queued"}"#).unwrap().accepted(), None);
    }
}
