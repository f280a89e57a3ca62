//! The staff inbox: the pages front-office staff work from all day. Every handler takes the
//! signed-in `Staff` (the session layer in front has already checked the cookie and, for
//! anything but GET, the CSRF token), calls one service and renders. Every piece of patient or
//! staff text goes through askama's escaping; nothing here marks text as safe.
//!
//! - [`inbox`]: `GET /` (the views), `GET /inbox/rows` (the live-refreshed list).
//! - [`conversation`]: `GET /c/{id}` and its actions, `POST /messages/{id}/retry`, templates.
//! - [`chart`]: `GET /c/{id}/export`, `POST /c/{id}/chart` (saving to the chart).
//! - [`compose`]: `POST /compose/check`, the composer's live segment/cost/PHI estimate.
//! - [`new`]: `GET|POST /new`, texting a number or a patient.
//! - [`search`]: `GET /search`.
//! - [`patients`]: `GET /patients`, `GET|POST /patients/new`, `GET|POST /patients/{id}`.
//! - `GET /events`: the dashboard's live events (see `web::sse::staff_events`).

use std::collections::HashMap;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use frontdesk_domain::model::{Department, User};
use frontdesk_store::ConversationSummary;
use uuid::Uuid;

use super::AppState;

pub mod broadcasts;
pub mod chart;
pub mod compose;
pub mod conversation;
pub mod inbox;
pub mod new;
pub mod patients;
pub mod search;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(inbox::page))
        .route("/inbox/rows", get(inbox::rows))
        .route("/events", get(super::sse::staff_events))
        .route("/c/{id}", get(conversation::page))
        .route("/c/{id}/thread", get(conversation::thread))
        .route("/c/{id}/reply", post(conversation::reply))
        .route("/c/{id}/scheduled/{scheduled}/cancel", post(conversation::cancel_scheduled))
        .route("/c/{id}/notes", post(conversation::note))
        .route("/c/{id}/assign", post(conversation::assign))
        .route("/c/{id}/department", post(conversation::department))
        .route("/c/{id}/status", post(conversation::status))
        .route("/c/{id}/patient", post(conversation::patient))
        .route("/c/{id}/urgent", post(conversation::urgent))
        .route("/c/{id}/export", get(chart::export))
        .route("/c/{id}/chart", post(chart::sync))
        .route("/c/{id}/template/{template_id}", get(conversation::template))
        .route("/messages/{id}/retry", post(conversation::retry))
        .route("/compose/check", post(compose::check))
        .route("/new", get(new::page).post(new::start))
        .route("/search", get(search::page))
        .route("/patients", get(patients::list))
        .route("/broadcasts", get(broadcasts::page).post(broadcasts::send))
        .route("/broadcasts/preview", post(broadcasts::preview))
        .route("/broadcasts/{id}", get(broadcasts::status))
        .route("/patients/new", get(patients::new_page).post(patients::create))
        .route("/patients/{id}", get(patients::view).post(patients::update))
}

/// A time as staff read it, in the practice's time zone: "Mar 4, 2:05 PM".
pub(crate) fn local_time(state: &AppState, at: DateTime<Utc>) -> String {
    at.with_timezone(&state.services.settings().time_zone).format("%b %-d, %-I:%M %p").to_string()
}

/// "waiting 12 min", "waiting 3 h 5 min", "waiting 2 days".
pub(crate) fn waiting_label(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - since).num_minutes().max(0);
    if minutes < 1 {
        "waiting <1 min".into()
    } else if minutes < 60 {
        format!("waiting {minutes} min")
    } else if minutes < 24 * 60 {
        let (h, m) = (minutes / 60, minutes % 60);
        if m == 0 { format!("waiting {h} h") } else { format!("waiting {h} h {m} min") }
    } else {
        let days = minutes / (24 * 60);
        format!("waiting {days} day{}", if days == 1 { "" } else { "s" })
    }
}

/// Names of people and departments, for showing ids.
#[derive(Default)]
pub(crate) struct Names {
    pub users: HashMap<Uuid, User>,
    pub departments: Vec<Department>,
}

impl Names {
    pub async fn load(state: &AppState) -> Result<Names, frontdesk_services::ServiceError> {
        let store = &state.services.store;
        let (users, departments) = tokio::try_join!(store.list_users(), store.list_departments())?;
        Ok(Names { users: users.into_iter().map(|u| (u.id, u)).collect(), departments })
    }

    pub fn user(&self, id: Option<Uuid>) -> String {
        id.and_then(|id| self.users.get(&id)).map(|u| u.name.clone()).unwrap_or_default()
    }

    pub fn department(&self, id: Option<Uuid>) -> String {
        id.and_then(|id| self.departments.iter().find(|d| d.id == id)).map(|d| d.name.clone()).unwrap_or_default()
    }
}

/// Who a conversation is with, for lists: the patient's name, else the masked number (the
/// full number is shown only on the conversation page).
pub(crate) fn who(summary: &ConversationSummary) -> String {
    match &summary.patient {
        Some(p) => format!("{} {}", p.first_name, p.last_name),
        None => summary.contact.phone.masked(),
    }
}

/// The preview line: one line, at most 140 characters (escaped by the template).
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        let mut cut: String = flat.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

pub(crate) fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// Requests from `dashboard.js` ask for JSON; forms get a redirect back to the page.
pub(crate) fn wants_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("application/json"))
}

pub(crate) fn json_error(e: &frontdesk_services::ServiceError) -> Response {
    let status = match e {
        frontdesk_services::ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
        frontdesk_services::ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        frontdesk_services::ServiceError::OptedOut | frontdesk_services::ServiceError::Conflict(_) => {
            StatusCode::CONFLICT
        }
        frontdesk_services::ServiceError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error on a dashboard request");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({"error": {"code": "internal", "message": "something went wrong; it has been logged"}})),
            )
                .into_response();
        }
        frontdesk_services::ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (status, axum::Json(serde_json::json!({"error": {"code": e.code(), "message": e.to_string()}}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_labels_read_naturally() {
        let now = Utc::now();
        assert_eq!(waiting_label(now, now), "waiting <1 min");
        assert_eq!(waiting_label(now - chrono::TimeDelta::minutes(12), now), "waiting 12 min");
        assert_eq!(waiting_label(now - chrono::TimeDelta::minutes(125), now), "waiting 2 h 5 min");
        assert_eq!(waiting_label(now - chrono::TimeDelta::days(1), now), "waiting 1 day");
    }

    #[test]
    fn previews_are_one_line() {
        assert_eq!(one_line("a\n\nb   c", 10), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
