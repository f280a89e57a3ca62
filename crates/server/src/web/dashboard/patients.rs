//! The patient directory: `GET /patients` (list and search by name, phone, MRN),
//! `GET|POST /patients/new`, `GET|POST /patients/{id}` (view, audited `patient.view`, and
//! edit, audited `patient.update`). Several patients sharing a phone (a family) are listed
//! on each of their pages.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use frontdesk_domain::model::{Patient, PatientStatus};
use frontdesk_services::ServiceError;
use frontdesk_services::audit::Actor;
use frontdesk_services::patients::{PatientInput, PatientPage};
use serde::Deserialize;
use uuid::Uuid;

use super::{local_time, see_other, who};
use crate::web::AppState;
use crate::web::home::render;
use crate::web::pages::{Chrome, error_page};
use crate::web::session::Staff;

pub struct Row {
    pub href: String,
    pub name: String,
    pub birth_date: String,
    pub mrn: String,
    pub phone: String,
    pub status: String,
}

fn row(p: &Patient) -> Row {
    Row {
        href: format!("/patients/{}", p.id),
        name: format!("{} {}", p.first_name, p.last_name),
        birth_date: p.birth_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        mrn: p.mrn.clone().unwrap_or_default(),
        phone: p.phone.as_ref().map(|p| p.display()).unwrap_or_default(),
        status: p.status.as_str().to_owned(),
    }
}

#[derive(Template)]
#[template(path = "patients.html")]
struct ListPage {
    chrome: Chrome,
    q: String,
    error: String,
    rows: Vec<Row>,
    next: String,
    can_act: bool,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    offset: u32,
}

pub async fn list(State(state): State<AppState>, staff: Staff, Query(query): Query<ListQuery>) -> Response {
    let mut page = ListPage {
        chrome: Chrome::new(&state, &staff, "patients"),
        q: query.q.trim().to_owned(),
        error: String::new(),
        rows: Vec::new(),
        next: String::new(),
        can_act: staff.ctx.require_can_act().is_ok(),
    };
    match state.services.patient_directory(&staff.ctx, &query.q, query.offset, staff.ip.clone()).await {
        Ok(patients) => {
            if page.q.is_empty() && patients.len() == 50 {
                page.next = format!("/patients?offset={}", query.offset + 50);
            }
            page.rows = patients.iter().map(row).collect();
            render(&page, StatusCode::OK)
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            page.error = e.to_string();
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&e),
    }
}

/// The form's values, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct PatientForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    mrn: String,
    #[serde(default)]
    phones: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    time_zone: String,
}

impl From<PatientForm> for PatientInput {
    fn from(f: PatientForm) -> PatientInput {
        PatientInput {
            first_name: f.first_name,
            last_name: f.last_name,
            birth_date: f.birth_date,
            mrn: f.mrn,
            phones: f.phones,
            status: f.status,
            language: f.language,
            time_zone: f.time_zone,
        }
    }
}

pub struct Shared {
    pub phone: String,
    pub others: Vec<Row>,
}

pub struct ConversationLink {
    pub href: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "patient.html")]
struct EditPage {
    chrome: Chrome,
    /// Empty for a new patient.
    id: String,
    title: String,
    form: PatientForm,
    error: String,
    error_field: String,
    saved: bool,
    can_act: bool,
    shared: Vec<Shared>,
    conversations: Vec<ConversationLink>,
}

impl EditPage {
    fn status_options(&self) -> Vec<(&'static str, bool)> {
        let current = if self.form.status.is_empty() { "patient" } else { self.form.status.as_str() };
        PatientStatus::ALL.iter().map(|s| (s.as_str(), s.as_str() == current)).collect()
    }
}

fn form_of(page: &PatientPage) -> PatientForm {
    let p = &page.patient;
    PatientForm {
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        birth_date: p.birth_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        mrn: p.mrn.clone().unwrap_or_default(),
        phones: {
            // The texting number first, then the other linked ones.
            let mut all: Vec<String> = p.phone.iter().map(|ph| ph.as_str().to_owned()).collect();
            for ph in &page.phones {
                if !all.iter().any(|a| a == ph.as_str()) {
                    all.push(ph.as_str().to_owned());
                }
            }
            all.join("\n")
        },
        status: p.status.as_str().to_owned(),
        language: page.extras.language.clone().unwrap_or_default(),
        time_zone: page.extras.time_zone.clone().unwrap_or_default(),
    }
}

fn edit_page(state: &AppState, staff: &Staff, page: &PatientPage) -> EditPage {
    let p = &page.patient;
    EditPage {
        chrome: Chrome::new(state, staff, "patients"),
        id: p.id.to_string(),
        title: format!("{} {}", p.first_name, p.last_name),
        form: form_of(page),
        error: String::new(),
        error_field: String::new(),
        saved: false,
        can_act: staff.ctx.require_can_act().is_ok(),
        shared: page
            .shared
            .iter()
            .map(|s| Shared { phone: s.phone.display(), others: s.others.iter().map(row).collect() })
            .collect(),
        conversations: page
            .conversations
            .iter()
            .map(|s| ConversationLink {
                href: format!("/c/{}", s.conversation.id),
                label: format!(
                    "{} · {} · {}",
                    who(s),
                    s.conversation.status,
                    local_time(state, s.conversation.last_message_at)
                ),
            })
            .collect(),
    }
}

fn invalid(page: &mut EditPage, e: &ServiceError) {
    page.error = e.to_string();
    if let ServiceError::Invalid { field, .. } = e {
        page.error_field = field.clone();
    }
}

pub async fn new_page(State(state): State<AppState>, staff: Staff) -> Response {
    let page = EditPage {
        chrome: Chrome::new(&state, &staff, "patients"),
        id: String::new(),
        title: "New patient".into(),
        form: PatientForm::default(),
        error: String::new(),
        error_field: String::new(),
        saved: false,
        can_act: staff.ctx.require_can_act().is_ok(),
        shared: Vec::new(),
        conversations: Vec::new(),
    };
    render(&page, StatusCode::OK)
}

pub async fn create(State(state): State<AppState>, staff: Staff, Form(form): Form<PatientForm>) -> Response {
    if let Err(e) = staff.ctx.require_can_act() {
        return error_page(&e);
    }
    match state
        .services
        .create_patient_from(form.clone().into(), Actor::User(staff.ctx.user.id), staff.ip.clone())
        .await
    {
        Ok(p) => see_other(&format!("/patients/{}?saved=1", p.id)),
        Err(e @ ServiceError::Invalid { .. }) => {
            let mut page = EditPage {
                chrome: Chrome::new(&state, &staff, "patients"),
                id: String::new(),
                title: "New patient".into(),
                form,
                error: String::new(),
                error_field: String::new(),
                saved: false,
                can_act: true,
                shared: Vec::new(),
                conversations: Vec::new(),
            };
            invalid(&mut page, &e);
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize, Default)]
pub struct ViewQuery {
    #[serde(default)]
    saved: Option<String>,
}

fn parse_id(raw: &str) -> Result<Uuid, ServiceError> {
    raw.parse().map_err(|_| ServiceError::NotFound("patient".into()))
}

pub async fn view(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&e),
    };
    match state.services.view_patient(&staff.ctx, id, staff.ip.clone()).await {
        Ok(p) => {
            let mut page = edit_page(&state, &staff, &p);
            page.saved = q.saved.is_some();
            render(&page, StatusCode::OK)
        }
        Err(e) => error_page(&e),
    }
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<PatientForm>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&e),
    };
    match state.services.update_patient(&staff.ctx, id, form.clone().into(), staff.ip.clone()).await {
        Ok(_) => see_other(&format!("/patients/{id}?saved=1")),
        Err(e @ ServiceError::Invalid { .. }) => {
            match state.services.view_patient(&staff.ctx, id, staff.ip.clone()).await {
                Ok(p) => {
                    let mut page = edit_page(&state, &staff, &p);
                    page.form = form;
                    invalid(&mut page, &e);
                    render(&page, StatusCode::UNPROCESSABLE_ENTITY)
                }
                Err(e) => error_page(&e),
            }
        }
        Err(e) => error_page(&e),
    }
}
