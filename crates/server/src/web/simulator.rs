//! `/simulator`: a phone in the browser. A person texts the practice as a patient, from any
//! number they type, and sees automatic and staff replies arrive live with their statuses.
//! Mounted only when the simulator provider is enabled.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use frontdesk_domain::E164;
use frontdesk_providers::simulator::{PhoneEvent, Simulator};
use frontdesk_services::ServiceError;
use futures::stream::Stream;
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::AppState;
use super::api::ApiJson;
use super::error::ApiError;
use super::home::render;

#[derive(Clone)]
pub struct SimulatorWeb {
    pub simulator: Simulator,
    pub practice_number: E164,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/simulator", get(page))
        .route("/simulator/send", post(send))
        .route("/simulator/events", get(events))
}

#[derive(Template)]
#[template(path = "simulator.html")]
struct SimulatorPage<'a> {
    practice: &'a str,
    practice_number: &'a str,
}

async fn page(State(state): State<AppState>) -> Response {
    let Some(sim) = &state.simulator else { return super::home::not_found().await };
    render(
        &SimulatorPage { practice: &state.services.settings().name, practice_number: sim.practice_number.as_str() },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendForm {
    /// The patient's number, as typed.
    from: String,
    body: String,
}

#[derive(Serialize)]
struct Sent {
    /// The patient's number in E.164, as the practice sees it.
    from: String,
    provider_message_id: String,
    conversation_id: Option<uuid::Uuid>,
}

/// Browsers send `Origin` on cross-site POSTs; refuse any that is not this site. JSON bodies
/// also cannot be sent cross-site without a CORS preflight, which we never grant.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(form): ApiJson<SendForm>,
) -> Result<Json<Sent>, ApiError> {
    let sim = state.simulator.as_ref().ok_or_else(|| ApiError::not_found("the simulator"))?;
    if !same_origin(&headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "the simulator only accepts texts from its own page",
        ));
    }
    let from = E164::parse(&form.from, state.services.settings().default_region)
        .or_else(|_| E164::parse_strict(&form.from))
        .map_err(|e| ApiError::invalid("from", e.to_string()))?;
    if form.body.trim().is_empty() {
        return Err(ApiError::invalid("body", "type a message"));
    }
    if form.body.chars().count() > 1600 {
        return Err(ApiError::invalid("body", "a text can be at most 1600 characters"));
    }
    let sms = sim.simulator.patient_text(from.clone(), sim.practice_number.clone(), form.body, Vec::new());
    let provider_message_id = sms.provider_message_id.clone();
    let outcome = state.services.receive_inbound(sms).await.map_err(|e| match e {
        ServiceError::UnknownNumber(_) => ApiError::not_found("the simulator's practice number"),
        other => other.into(),
    })?;
    Ok(Json(Sent { from: from.as_str().to_string(), provider_message_id, conversation_id: outcome.conversation_id }))
}

#[derive(Deserialize)]
struct EventsQuery {
    phone: String,
}

/// The phone's feed: texts the practice sends to this number, and status changes (the page
/// ignores statuses of texts it does not show).
async fn events(State(state): State<AppState>, Query(q): Query<EventsQuery>) -> Response {
    let Some(sim) = &state.simulator else { return super::home::not_found().await };
    let Ok(phone) =
        E164::parse(&q.phone, state.services.settings().default_region).or_else(|_| E164::parse_strict(&q.phone))
    else {
        return ApiError::invalid("phone", "not a phone number").into_response();
    };
    phone_stream(sim.simulator.subscribe(), phone).into_response()
}

fn phone_stream(
    rx: tokio::sync::broadcast::Receiver<PhoneEvent>,
    phone: E164,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let stream = BroadcastStream::new(rx).filter_map(move |item| {
        let event = item.ok()?;
        let relevant = match &event {
            PhoneEvent::MessageToPhone { to, .. } => to == &phone,
            PhoneEvent::Status { .. } => true,
        };
        relevant.then(|| Ok(SseEvent::default().data(serde_json::to_string(&event).unwrap_or_default())))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
