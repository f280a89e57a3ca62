//! Broadcasts: `GET /broadcasts` (the form and recent broadcasts), `POST /broadcasts/preview`
//! (the first recipients' texts and the skips, nothing written), `POST /broadcasts` (queue it),
//! `GET /broadcasts/{id}` (queued / sent / skipped with reasons / failed). Admins and staff
//! without department limits; the rules live in `services/src/broadcasts.rs`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use frontdesk_services::ServiceError;
use frontdesk_services::broadcasts::{BroadcastCounts, PREVIEW, counts};
use serde::Deserialize;
use uuid::Uuid;

use super::see_other;
use crate::web::AppState;
use crate::web::home::render;
use crate::web::pages::{Chrome, error_page};
use crate::web::session::Staff;

pub struct PreviewRow {
    pub name: String,
    pub text: String,
    pub skipped: bool,
}

pub struct ListRow {
    pub href: String,
    pub when: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "broadcasts.html")]
struct FormPage {
    chrome: Chrome,
    body: String,
    recipients: String,
    error: String,
    error_field: String,
    preview: Vec<PreviewRow>,
    preview_total: usize,
    preview_skipped: usize,
    recent: Vec<ListRow>,
}

pub struct StatusRow {
    pub name: String,
    pub state: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "broadcast.html")]
struct StatusPage {
    chrome: Chrome,
    when: String,
    body: String,
    counts: BroadcastCounts,
    rows: Vec<StatusRow>,
}

#[derive(Deserialize, Default)]
pub struct BroadcastForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    recipients: String,
}

fn when(state: &AppState, at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&state.services.settings().time_zone).format("%a %b %-d, %Y %-I:%M %p").to_string()
}

async fn form_page(state: &AppState, staff: &Staff, form: BroadcastForm) -> Result<FormPage, ServiceError> {
    let recent = state
        .services
        .list_broadcasts(&staff.ctx)
        .await?
        .into_iter()
        .map(|b| ListRow { href: format!("/broadcasts/{}", b.id), when: when(state, b.created_at), body: b.body })
        .collect();
    Ok(FormPage {
        chrome: Chrome::new(state, staff, "broadcasts"),
        body: form.body,
        recipients: form.recipients,
        error: String::new(),
        error_field: String::new(),
        preview: Vec::new(),
        preview_total: 0,
        preview_skipped: 0,
        recent,
    })
}

fn with_error(mut page: FormPage, e: &ServiceError) -> FormPage {
    if let ServiceError::Invalid { field, .. } = e {
        page.error_field = field.clone();
    }
    page.error = e.to_string();
    page
}

pub async fn page(State(state): State<AppState>, staff: Staff) -> Response {
    match form_page(&state, &staff, BroadcastForm::default()).await {
        Ok(p) => render(&p, StatusCode::OK),
        Err(e) => error_page(&e),
    }
}

pub async fn preview(State(state): State<AppState>, staff: Staff, Form(form): Form<BroadcastForm>) -> Response {
    let planned = state.services.plan_broadcast(&staff.ctx, &form.body, &form.recipients).await;
    let mut page = match form_page(&state, &staff, form).await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    match planned {
        Ok(planned) => {
            page.preview_total = planned.len();
            page.preview_skipped = planned.iter().filter(|p| p.outcome.is_err()).count();
            page.preview = planned
                .iter()
                .take(PREVIEW)
                .map(|p| PreviewRow {
                    name: format!("{} {}", p.patient.first_name, p.patient.last_name),
                    skipped: p.outcome.is_err(),
                    text: match &p.outcome {
                        Ok(t) => t.clone(),
                        Err(reason) => format!("Skipped: {reason}"),
                    },
                })
                .collect();
            render(&page, StatusCode::OK)
        }
        Err(e @ (ServiceError::Forbidden(_) | ServiceError::Internal(_))) => error_page(&e),
        Err(e) => render(&with_error(page, &e), StatusCode::UNPROCESSABLE_ENTITY),
    }
}

pub async fn send(State(state): State<AppState>, staff: Staff, Form(form): Form<BroadcastForm>) -> Response {
    match state.services.send_broadcast(&staff.ctx, &form.body, &form.recipients, staff.ip.clone()).await {
        Ok(id) => see_other(&format!("/broadcasts/{id}")),
        Err(e @ (ServiceError::Forbidden(_) | ServiceError::Internal(_))) => error_page(&e),
        Err(e) => match form_page(&state, &staff, form).await {
            Ok(page) => render(&with_error(page, &e), StatusCode::UNPROCESSABLE_ENTITY),
            Err(e) => error_page(&e),
        },
    }
}

pub async fn status(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return error_page(&ServiceError::NotFound("broadcast".into()));
    };
    match state.services.broadcast_status(&staff.ctx, id).await {
        Ok((broadcast, rows)) => {
            let states: Vec<_> = rows.iter().map(|(r, _)| r.clone()).collect();
            let page = StatusPage {
                chrome: Chrome::new(&state, &staff, "broadcasts"),
                when: when(&state, broadcast.created_at),
                body: broadcast.body,
                counts: counts(&states),
                rows: rows
                    .into_iter()
                    .map(|(r, name)| {
                        let (state, reason) = match (r.recipient.status.as_str(), r.scheduled_status.as_deref()) {
                            ("skipped", _) => ("Skipped", r.recipient.reason.unwrap_or_default()),
                            (_, Some("sent")) => ("Sent", String::new()),
                            (_, Some("failed")) => ("Failed", r.scheduled_reason.unwrap_or_default()),
                            (_, Some("cancelled")) => ("Cancelled", String::new()),
                            _ => ("Queued", r.scheduled_reason.unwrap_or_default()),
                        };
                        StatusRow { name, state: state.to_string(), reason }
                    })
                    .collect(),
            };
            render(&page, StatusCode::OK)
        }
        Err(e) => error_page(&e),
    }
}
