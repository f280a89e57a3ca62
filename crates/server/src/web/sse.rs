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
