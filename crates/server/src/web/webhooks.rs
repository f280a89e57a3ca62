//! Provider webhooks: verify, parse, hand to a service, acknowledge only after the commit.
//! Twilio (`/webhooks/twilio/*`, signed form posts), Telnyx (`/webhooks/telnyx`, Ed25519-signed
//! JSON) and Bandwidth (`/webhooks/bandwidth`, JSON arrays behind HTTP Basic credentials) all
//! get the same answers.
//!
//! Answers: 200 with empty TwiML once the message is durable (or was already: duplicates are
//! acknowledged so the provider stops retrying); 403 for a missing or wrong signature (nothing
//! stored); 400 naming the malformed field; 404 for a `To` number that is not ours (logged so
//! an operator sees the misconfiguration); 413 for an oversized body (the body-limit layer);
//! 503 when the database is unavailable, so the provider retries.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use frontdesk_providers::bandwidth::{self, BandwidthEvent};
use frontdesk_providers::telnyx::{self, TelnyxEvent};
use frontdesk_providers::twilio::{signature, webhook};
use frontdesk_providers::{InboundSms, StatusReport};
use frontdesk_services::ServiceError;

use super::AppState;

/// What Twilio expects back: an empty TwiML document (an empty body produces error 11200).
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;

/// Webhook bodies are small (Twilio's limit is 64 kB for responses; requests are far smaller).
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

fn twiml_ok() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], EMPTY_TWIML).into_response()
}

fn reject(status: StatusCode, kind: &'static str, outcome: &'static str, message: impl Into<String>) -> Response {
    reject_for("twilio", status, kind, outcome, message)
}

fn reject_for(
    provider: &'static str,
    status: StatusCode,
    kind: &'static str,
    outcome: &'static str,
    message: impl Into<String>,
) -> Response {
    Rejection { status, outcome, message: message.into() }.respond_for(provider, kind)
}

/// Why a webhook is refused, before it is turned into a response (and counted).
struct Rejection {
    status: StatusCode,
    outcome: &'static str,
    message: String,
}

impl Rejection {
    fn forged(message: impl Into<String>) -> Rejection {
        Rejection { status: StatusCode::FORBIDDEN, outcome: "forged", message: message.into() }
    }

    fn invalid(message: impl Into<String>) -> Rejection {
        Rejection { status: StatusCode::BAD_REQUEST, outcome: "invalid", message: message.into() }
    }

    fn respond(self, kind: &'static str) -> Response {
        self.respond_for("twilio", kind)
    }

    fn respond_for(self, provider: &'static str, kind: &'static str) -> Response {
        count_for(provider, kind, self.outcome);
        (self.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], self.message).into_response()
    }
}

fn count(kind: &'static str, outcome: &'static str) {
    count_for("twilio", kind, outcome);
}

fn count_for(provider: &'static str, kind: &'static str, outcome: &'static str) {
    metrics::counter!("frontdesk_webhooks_total", "provider" => provider, "kind" => kind, "outcome" => outcome)
        .increment(1);
}

/// Checks the signature and returns the request's parameters.
fn verified_params(
    state: &AppState,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Vec<(String, String)>, Rejection> {
    let Some(token) = state.twilio_auth_token.as_deref() else {
        return Err(Rejection::forged("Twilio is not configured on this server, so its signature cannot be checked"));
    };
    let Some(signature) = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()) else {
        return Err(Rejection::forged("missing X-Twilio-Signature header"));
    };
    let settings = headers.get("x-twilio-webhooks-signature-settings").and_then(|v| v.to_str().ok());
    let url = state.public_request_url(uri, headers);
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));

    if is_json {
        signature::verify_json(token, &url, body, signature, settings)
            .map_err(|e| Rejection::forged(format!("signature check failed: {e}")))?;
        return json_params(body).map_err(Rejection::invalid);
    }
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| Rejection::invalid(format!("the body is not form-encoded: {e}")))?;
    signature::verify(token, &url, &params, signature, settings)
        .map_err(|e| Rejection::forged(format!("signature check failed: {e}")))?;
    Ok(params)
}

/// Flattens a JSON object webhook into name/value pairs (strings and numbers only).
fn json_params(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let object = value.as_object().ok_or("the JSON body must be an object")?;
    Ok(object
        .iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k.clone(), s.clone())),
            serde_json::Value::Number(n) => Some((k.clone(), n.to_string())),
            serde_json::Value::Bool(b) => Some((k.clone(), b.to_string())),
            _ => None,
        })
        .collect())
}

pub async fn twilio_message(
    State(state): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const KIND: &str = "inbound";
    let params = match verified_params(&state, &uri, &headers, &body) {
        Ok(p) => p,
        Err(rejection) => return rejection.respond(KIND),
    };
    let inbound = match webhook::parse_inbound(&params) {
        Ok(sms) => sms,
        Err(e) => return reject(StatusCode::BAD_REQUEST, KIND, "invalid", e.to_string()),
    };
    let to = inbound.to.clone();
    match state.services.receive_inbound(inbound).await {
        Ok(outcome) => {
            count(KIND, if outcome.duplicate { "duplicate" } else { "accepted" });
            twiml_ok()
        }
        Err(ServiceError::UnknownNumber(_)) => {
            tracing::warn!(to = %to, "inbound text for a number that is not configured; add it with `frontdesk number add`");
            reject(StatusCode::NOT_FOUND, KIND, "unknown_number", format!("{to} is not a number of this practice"))
        }
        Err(e) => service_failure(KIND, e),
    }
}

pub async fn twilio_status(
    State(state): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const KIND: &str = "status";
    let params = match verified_params(&state, &uri, &headers, &body) {
        Ok(p) => p,
        Err(rejection) => return rejection.respond(KIND),
    };
    let report = match webhook::parse_status_with_query(&params, uri.0.query()) {
        Ok(r) => r,
        Err(webhook::WebhookError::IgnoredStatus(_)) => {
            count(KIND, "ignored");
            return twiml_ok();
        }
        Err(e) => return reject(StatusCode::BAD_REQUEST, KIND, "invalid", e.to_string()),
    };
    match state.services.apply_status(report).await {
        Ok(outcome) => {
            count(
                KIND,
                match outcome {
                    frontdesk_services::status::StatusOutcome::Applied { .. } => "applied",
                    frontdesk_services::status::StatusOutcome::Unchanged => "unchanged",
                    frontdesk_services::status::StatusOutcome::UnknownMessage => "unknown_message",
                },
            );
            twiml_ok()
        }
        Err(e) => service_failure(KIND, e),
    }
}

fn service_failure(kind: &'static str, e: ServiceError) -> Response {
    service_failure_for("twilio", kind, e)
}

fn service_failure_for(provider: &'static str, kind: &'static str, e: ServiceError) -> Response {
    let reject = |status, kind, outcome, message: String| reject_for(provider, status, kind, outcome, message);
    match e {
        ServiceError::Unavailable(detail) => {
            tracing::warn!(error = %detail, kind, provider, "database unavailable; asking the provider to retry");
            let mut r =
                reject(StatusCode::SERVICE_UNAVAILABLE, kind, "unavailable", "temporarily unavailable; retry".into());
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            r
        }
        ServiceError::Invalid { field, message } => {
            reject(StatusCode::BAD_REQUEST, kind, "invalid", format!("{field}: {message}"))
        }
        other => {
            tracing::error!(error = %other, kind, provider, "webhook could not be processed");
            reject(
                StatusCode::INTERNAL_SERVER_ERROR,
                kind,
                "error",
                "the webhook could not be processed; it has been logged".into(),
            )
        }
    }
}

fn plain_ok() -> Response {
    StatusCode::OK.into_response()
}

/// Stores one inbound text; `Err` is the response to give instead of 200.
async fn store_inbound(state: &AppState, provider: &'static str, inbound: InboundSms) -> Result<(), Response> {
    const KIND: &str = "inbound";
    let to = inbound.to.clone();
    match state.services.receive_inbound(inbound).await {
        Ok(outcome) => {
            count_for(provider, KIND, if outcome.duplicate { "duplicate" } else { "accepted" });
            Ok(())
        }
        Err(ServiceError::UnknownNumber(_)) => {
            tracing::warn!(to = %to, provider, "inbound text for a number that is not configured; add it with `frontdesk number add`");
            Err(reject_for(
                provider,
                StatusCode::NOT_FOUND,
                KIND,
                "unknown_number",
                format!("{to} is not a number of this practice"),
            ))
        }
        Err(e) => Err(service_failure_for(provider, KIND, e)),
    }
}

/// Applies one status report; `Err` is the response to give instead of 200.
async fn store_status(state: &AppState, provider: &'static str, report: StatusReport) -> Result<(), Response> {
    use frontdesk_services::status::StatusOutcome;
    match state.services.apply_status(report).await {
        Ok(outcome) => {
            let outcome = match outcome {
                StatusOutcome::Applied { .. } => "applied",
                StatusOutcome::Unchanged => "unchanged",
                StatusOutcome::UnknownMessage => "unknown_message",
            };
            count_for(provider, "status", outcome);
            Ok(())
        }
        Err(e) => Err(service_failure_for(provider, "status", e)),
    }
}

/// `POST /webhooks/telnyx`: every Messaging v2 event, verified with the account's Ed25519 key
/// over `timestamp|raw body` (±300 s). Our message id may ride in the query (`?m=`), which is
/// not signed: it only helps find the message, and the provider id must still match.
pub async fn telnyx(State(state): State<AppState>, uri: OriginalUri, headers: HeaderMap, body: Bytes) -> Response {
    const P: &str = "telnyx";
    const KIND: &str = "event";
    let Some(key) = state.telnyx_public_key.as_ref() else {
        return Rejection::forged("Telnyx is not configured on this server, so its signature cannot be checked")
            .respond_for(P, KIND);
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = telnyx::signature::verify(
        key,
        &body,
        header(telnyx::signature::SIGNATURE_HEADER),
        header(telnyx::signature::TIMESTAMP_HEADER),
        now,
    ) {
        tracing::warn!(error = %e, "telnyx webhook refused");
        return Rejection::forged(format!("signature check failed: {e}")).respond_for(P, KIND);
    }
    let event = match telnyx::webhook::parse(&body, uri.0.query()) {
        Ok(event) => event,
        Err(e) => return Rejection::invalid(e.to_string()).respond_for(P, KIND),
    };
    let stored = match event {
        TelnyxEvent::Inbound(sms) => store_inbound(&state, P, sms).await,
        TelnyxEvent::Status(report) => store_status(&state, P, report).await,
        TelnyxEvent::Ignored(_) => {
            count_for(P, KIND, "ignored");
            Ok(())
        }
    };
    match stored {
        Ok(()) => plain_ok(),
        Err(response) => response,
    }
}

/// `POST /webhooks/bandwidth`: a JSON array of callbacks behind HTTP Basic credentials. Each
/// element is stored in order; 200 only when all are durable. On a failure Bandwidth retries
/// the whole array, and the elements already stored are then recognised as duplicates.
pub async fn bandwidth(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    const P: &str = "bandwidth";
    const KIND: &str = "event";
    let Some(credentials) = state.bandwidth_callback.as_deref() else {
        return Rejection::forged("Bandwidth is not configured on this server, so its callbacks cannot be checked")
            .respond_for(P, KIND);
    };
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Err(e) = credentials.check(authorization) {
        tracing::warn!(error = %e, "bandwidth callback refused");
        return Rejection::forged(e.to_string()).respond_for(P, KIND);
    }
    let events = match bandwidth::webhook::parse(&body) {
        Ok(events) => events,
        Err(e) => return Rejection::invalid(e.to_string()).respond_for(P, KIND),
    };
    for event in events {
        let stored = match event {
            BandwidthEvent::Inbound(sms) => store_inbound(&state, P, sms).await,
            BandwidthEvent::Status(report) => store_status(&state, P, report).await,
            BandwidthEvent::Ignored(_) => {
                count_for(P, KIND, "ignored");
                Ok(())
            }
        };
        if let Err(response) = stored {
            return response;
        }
    }
    plain_ok()
}
