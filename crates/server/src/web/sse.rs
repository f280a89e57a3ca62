//! `GET /api/v1/events`: live events as Server-Sent Events. Events carry ids and kinds only;
//! the subscriber fetches what it needs through the API, where access is checked and audited.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::stream::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::AppState;

#[utoipa::path(get, path = "/api/v1/events", security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream",
        description = "One SSE event per change: `event:` is the kind (message_received, message_queued, message_status, consent_changed, consent_review), `data:` JSON with conversation_id and message_id. `lagged` means events were dropped: refetch.")))]
pub async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let stream = BroadcastStream::new(state.services.events.subscribe()).map(|item| {
        Ok(match item {
            Ok(event) => {
                let kind = serde_json::to_value(event.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                SseEvent::default().event(kind).data(serde_json::to_string(&event).unwrap_or_default())
            }
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                SseEvent::default().event("lagged").data(format!("{{\"missed\":{n}}}"))
            }
        })
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// `GET /events` for the signed-in dashboard: the same events, only for conversations this
/// person may see (checked per event, so a change of department takes effect at once), each
/// with `attention: true` when it is a patient's text for them or for the unassigned queue
/// (the page's title badge, sound and notification). Still ids only: the page fetches what
/// it shows through the session-checked pages.
pub async fn staff_events(
    State(state): State<AppState>,
    staff: super::session::Staff,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let services = state.services.clone();
    let ctx = staff.ctx.clone();
    let raw = BroadcastStream::new(state.services.events.subscribe());
    let stream = futures::StreamExt::filter_map(raw, move |item| {
        let services = services.clone();
        let ctx = ctx.clone();
        async move {
            let event = match item {
                Ok(event) => event,
                Err(BroadcastStreamRecvError::Lagged(n)) => {
                    return Some(Ok(SseEvent::default().event("lagged").data(format!("{{\"missed\":{n}}}"))));
                }
            };
            let mut attention = false;
            // Urgent messages alert on-call staff; overdue escalations alert the lead.
            let mut alert = false;
            if let Some(id) = event.conversation_id {
                match services.store.conversation_summary(id).await {
                    Ok(Some(s)) if ctx.can_see(&s.conversation) => {
                        let department = s.conversation.department_id.or(s.number.default_department_id);
                        alert = match event.kind {
                            frontdesk_services::EventKind::UrgentMessage => {
                                services.is_on_call(ctx.user.id, department).await
                            }
                            frontdesk_services::EventKind::OverdueEscalation => {
                                services.is_department_lead(ctx.user.id, department).await
                            }
                            _ => false,
                        };
                        attention = matches!(
                            event.kind,
                            frontdesk_services::EventKind::MessageReceived
                                | frontdesk_services::EventKind::FormSubmitted
                        ) && s.conversation.assignee_id.is_none_or(|a| a == ctx.user.id);
                    }
                    Ok(_) => return None,
                    // The page refetches on any event; an unreadable one is passed on bare.
                    Err(_) => {}
                }
            }
            let kind =
                serde_json::to_value(event.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let data = serde_json::json!({
                "kind": kind,
                "conversation_id": event.conversation_id,
                "message_id": event.message_id,
                "attention": attention,
                "alert": alert,
            });
            Some(Ok(SseEvent::default().event(kind).data(data.to_string())))
        }
    });
    // The stream ends with its session (sign-out, idle or absolute limit, disabled account):
    // checked every few seconds rather than per event, so a quiet stream ends too.
    let services = state.services.clone();
    let id_hash = staff.session.id_hash.clone();
    let session_ended = async move {
        loop {
            tokio::time::sleep(SESSION_CHECK).await;
            if !services.session_alive(&id_hash).await.unwrap_or(true) {
                return;
            }
        }
    };
    let stream = futures::StreamExt::take_until(stream, Box::pin(session_ended));
    Sse::new(Box::pin(stream)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// How often a dashboard's event stream checks that its session is still alive.
const SESSION_CHECK: Duration = Duration::from_secs(10);
