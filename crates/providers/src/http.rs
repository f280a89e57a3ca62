//! HTTP plumbing shared by the JSON providers (Telnyx, Bandwidth): one client set-up, one way
//! to read an answer, one classification of transport failures.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use url::Url;

use crate::{OutboundSms, SendAccepted, SendError};

/// Classifies a request that got no answer. Failures to connect happen before the request is
/// sent, so they are safe to retry; a timeout or a broken connection after that may mean the
/// provider has the message, so it is `Unknown` and reconciled rather than resent. The URL is
/// dropped from the error because lookup URLs carry phone numbers.
pub(crate) fn transport_error(provider: &str, e: reqwest::Error) -> SendError {
    let e = e.without_url();
    if e.is_connect() {
        SendError::Transient {
            code: None,
            message: format!("could not connect to {provider}: {e}; the message will be tried again"),
            retry_after: None,
        }
    } else if e.is_builder() {
        SendError::Permanent {
            code: "request".to_string(),
            message: format!("the request to {provider} could not be built: {e}"),
        }
    } else if e.is_timeout() {
        SendError::Unknown { message: format!("{provider} did not answer in time") }
    } else {
        SendError::Unknown { message: format!("the connection to {provider} broke before an answer: {e}") }
    }
}

pub(crate) fn build_http(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("frontdesk/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

pub(crate) fn http_url(base: &str, path: &str) -> Option<Url> {
    let base = base.trim().trim_end_matches('/');
    Url::parse(&format!("{base}{path}")).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// How one JSON provider reads its answers.
pub(crate) struct JsonProvider {
    pub name: &'static str,
    pub parse_accepted: fn(&[u8]) -> Option<SendAccepted>,
    pub error_from_response: fn(u16, Option<&str>, &[u8]) -> SendError,
}

/// Sends a prepared create-message request and classifies the answer. A success whose body
/// cannot be read or carries no id is `Unknown`: the message may have gone out.
pub(crate) async fn send_json(
    provider: &JsonProvider,
    request: reqwest::RequestBuilder,
    sms: &OutboundSms,
) -> Result<SendAccepted, SendError> {
    let name = provider.name;
    let response = request.send().await.map_err(|e| transport_error(name, e))?;
    let status = response.status();
    let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = match response.bytes().await {
        Ok(b) => b.to_vec(),
        Err(_) if !status.is_success() => Vec::new(),
        Err(e) => {
            return Err(SendError::Unknown {
                message: format!(
                    "{name} answered HTTP {} but the answer could not be read ({}); check whether the message went out",
                    status.as_u16(),
                    e.without_url()
                ),
            });
        }
    };
    if status.is_success() {
        let accepted = (provider.parse_accepted)(&body).ok_or_else(|| SendError::Unknown {
            message: format!(
                "{name} accepted the request (HTTP {}) but its answer had no message id; check whether the message went out",
                status.as_u16()
            ),
        })?;
        tracing::info!(provider = name, to = %sms.to, message_id = %sms.message_id, id = %accepted.provider_message_id, "provider accepted the message");
        return Ok(accepted);
    }
    let error = (provider.error_from_response)(status.as_u16(), retry_after.as_deref(), &body);
    tracing::warn!(provider = name, to = %sms.to, message_id = %sms.message_id, http_status = status.as_u16(), error = %error, "provider did not accept the message");
    Err(error)
}
