//! `GET|POST /new`: text a phone number, or a patient chosen from search (`?patient=<id>`).
//! The send path joins the thread's open conversation or opens a new one.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use frontdesk_domain::front_door::ConsentBasis;
use frontdesk_domain::model::SenderKind;
use frontdesk_services::ServiceError;
use frontdesk_services::audit::Actor;
use frontdesk_services::conversations::ConversationChange;
use frontdesk_services::outbound::StartRequest;
use serde::Deserialize;
use uuid::Uuid;

use super::see_other;
use crate::web::AppState;
use crate::web::home::render;
use crate::web::pages::{Chrome, error_page};
use crate::web::session::Staff;

#[derive(Template)]
#[template(path = "new_conversation.html")]
struct NewPage {
    chrome: Chrome,
    to: String,
    body: String,
    patient_id: String,
    patient_name: String,
    error: String,
    phi_warning: String,
    can_act: bool,
    /// The consent basis chosen (`existing`, `patient_initiated`, `verbal`) and its note.
    consent_basis: String,
    consent_note: String,
    bases: Vec<(&'static str, &'static str)>,
}

fn bases() -> Vec<(&'static str, &'static str)> {
    ConsentBasis::ALL.iter().map(|b| (b.as_str(), b.label())).collect()
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    patient: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

async fn patient_of(
    state: &AppState,
    raw: Option<&str>,
) -> Result<Option<frontdesk_domain::model::Patient>, ServiceError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let id: Uuid = raw.parse().map_err(|_| ServiceError::NotFound("patient".into()))?;
    Ok(Some(state.services.store.patient_by_id(id).await?.ok_or_else(|| ServiceError::NotFound("patient".into()))?))
}

pub async fn page(State(state): State<AppState>, staff: Staff, Query(q): Query<NewQuery>) -> Response {
    let patient = match patient_of(&state, q.patient.as_deref()).await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    let to = q
        .to
        .unwrap_or_else(|| patient.as_ref().and_then(|p| p.phone.as_ref()).map(|p| p.display()).unwrap_or_default());
    render(
        &NewPage {
            chrome: Chrome::new(&state, &staff, "new"),
            to,
            body: String::new(),
            patient_id: patient.as_ref().map(|p| p.id.to_string()).unwrap_or_default(),
            patient_name: patient.as_ref().map(|p| format!("{} {}", p.first_name, p.last_name)).unwrap_or_default(),
            error: String::new(),
            phi_warning: String::new(),
            can_act: staff.ctx.require_can_act().is_ok(),
            consent_basis: ConsentBasis::Existing.as_str().to_string(),
            consent_note: String::new(),
            bases: bases(),
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    patient: String,
    #[serde(default)]
    confirm_phi: Option<String>,
    #[serde(default)]
    consent_basis: String,
    #[serde(default)]
    consent_note: String,
}

pub async fn start(State(state): State<AppState>, staff: Staff, Form(form): Form<StartForm>) -> Response {
    if let Err(e) = staff.ctx.require_can_act() {
        return error_page(&e);
    }
    let patient = match patient_of(&state, Some(&form.patient)).await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    let consent_basis = match form.consent_basis.trim() {
        "" => None,
        raw => match raw.parse::<ConsentBasis>() {
            Ok(b) => Some(b),
            Err(e) => return error_page(&ServiceError::invalid("consent_basis", e)),
        },
    };
    let result = state
        .services
        .start_conversation(StartRequest {
            to: form.to.clone(),
            from: None,
            body: form.body.clone(),
            media_urls: Vec::new(),
            sender: SenderKind::Staff,
            sender_user_id: Some(staff.ctx.user.id),
            actor: Actor::User(staff.ctx.user.id),
            ip: staff.ip.clone(),
            phi_confirmed: form.confirm_phi.as_deref().is_some_and(|v| matches!(v, "1" | "on" | "true")),
            within_departments: staff.ctx.departments.clone(),
            consent_basis,
            consent_note: form.consent_note.clone(),
        })
        .await;
    match result {
        Ok(message) => {
            let id = message.conversation_id;
            if let Some(p) = &patient {
                // Best effort: the text is queued already; a failed link is shown on the page.
                if let Err(e) = state
                    .services
                    .change_conversation(&staff.ctx, id, ConversationChange::LinkPatient(Some(p.id)), staff.ip.clone())
                    .await
                {
                    tracing::warn!(error = %e, "could not link the new conversation to the patient");
                }
            }
            see_other(&format!("/c/{id}"))
        }
        Err(e) => {
            let (error, phi_warning, status) = match &e {
                ServiceError::PhiWarning(w) => (String::new(), w.clone(), StatusCode::UNPROCESSABLE_ENTITY),
                ServiceError::OptedOut => (e.to_string(), String::new(), StatusCode::CONFLICT),
                ServiceError::Invalid { .. } | ServiceError::PhiBlocked(_) | ServiceError::UnknownNumber(_) => {
                    (e.to_string(), String::new(), StatusCode::UNPROCESSABLE_ENTITY)
                }
                _ => return error_page(&e),
            };
            render(
                &NewPage {
                    chrome: Chrome::new(&state, &staff, "new"),
                    to: form.to,
                    body: form.body,
                    patient_id: patient.as_ref().map(|p| p.id.to_string()).unwrap_or_default(),
                    patient_name: patient
                        .as_ref()
                        .map(|p| format!("{} {}", p.first_name, p.last_name))
                        .unwrap_or_default(),
                    error,
                    phi_warning,
                    can_act: true,
                    consent_basis: form.consent_basis,
                    consent_note: form.consent_note,
                    bases: bases(),
                },
                status,
            )
        }
    }
}
