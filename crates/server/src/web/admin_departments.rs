//! Department hours and replies: the admin edit page per department
//! (`/admin/departments/{id}/settings`, linked from `/admin/departments`), the urgent-phrase
//! list (`/admin/urgent-phrases`), and the admin API (`GET /api/v1/departments`,
//! `GET/PUT /api/v1/departments/{id}/settings`). Saving is all or nothing; every refused
//! field is named next to its input (page) or in the error (API).

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use frontdesk_domain::office_hours::{DAY_KEYS, DAY_NAMES, DepartmentSettings, FieldError};
use frontdesk_services::ServiceError;
use frontdesk_services::audit::Actor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::api::{ApiJson, ApiPath, TokenPrincipal};
use super::error::{ApiError, ErrorBody};
use super::home::render;
use super::pages::{Chrome, error_page, message_page};
use super::session::{Staff, client_ip};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/departments/{id}/settings", get(settings_page).post(save_settings))
        .route("/admin/urgent-phrases", get(phrases_page).post(save_phrases))
        .route("/c/{id}/consent-review", post(resolve_consent_review))
}

/// `POST /c/{id}/consent-review`: staff decide about a text that may revoke consent
/// (`decision=opt_out` or `decision=keep`); works without JavaScript.
async fn resolve_consent_review(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return message_page(StatusCode::NOT_FOUND, "Not found", "There is no such conversation.");
    };
    let decision = url::form_urlencoded::parse(&body).find(|(k, _)| k == "decision").map(|(_, v)| v.into_owned());
    let opt_out = match decision.as_deref() {
        Some("opt_out") => true,
        Some("keep") => false,
        _ => {
            return message_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose a decision",
                "Decision: choose \"opt out\" or \"keep texting\".",
            );
        }
    };
    match state.services.resolve_consent_review(&staff.ctx, id, opt_out, staff.ip.clone()).await {
        Ok(()) | Err(ServiceError::Conflict(_)) => Redirect::to(&format!("/c/{id}")).into_response(),
        Err(e) => error_page(&e),
    }
}

fn not_found() -> Response {
    message_page(StatusCode::NOT_FOUND, "Not found", "There is no such department. It may have been removed.")
}

/// What a field is called on the page.
fn label(field: &str) -> String {
    if let Some(day) = field.strip_prefix("hours.")
        && let Some(i) = DAY_KEYS.iter().position(|k| *k == day)
    {
        return format!("{} hours", DAY_NAMES[i]);
    }
    match field {
        "time_zone" => "Time zone",
        "holidays" => "Holidays",
        "response_target_minutes" => "Response-time target",
        "staff_reply_quiet_minutes" => "Quiet after a staff reply",
        "after_hours_text" => "After-hours reply",
        "on_call_user_ids" => "On-call staff",
        "on_call_phone" => "On-call phone",
        "lead_user_id" => "Lead",
        "phrases" => "Urgent phrases",
        _ => "This form",
    }
    .to_owned()
}

pub struct DayRow {
    pub key: &'static str,
    pub name: &'static str,
    pub value: String,
    pub error: Option<String>,
}

pub struct PersonChoice {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

pub struct ErrorLine {
    pub id: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "admin_department_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    id: String,
    name: String,
    saved: bool,
    confirmation: bool,
    errors: Vec<ErrorLine>,
    days: Vec<DayRow>,
    time_zone: String,
    practice_time_zone: String,
    holidays: String,
    response_target_minutes: String,
    staff_reply_quiet_minutes: String,
    after_hours_text: String,
    on_call: Vec<PersonChoice>,
    on_call_phone: String,
    leads: Vec<PersonChoice>,
    no_lead: bool,
}

impl SettingsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        let id = field_id(field);
        self.errors.iter().find(|e| e.id == id).map(|e| e.text.as_str())
    }
}

fn field_id(field: &str) -> String {
    format!("error-{}", field.replace('.', "-"))
}

/// The form as posted (checkboxes arrive only when ticked).
#[derive(Default)]
struct SettingsForm {
    days: BTreeMap<String, String>,
    time_zone: String,
    holidays: String,
    response_target_minutes: String,
    staff_reply_quiet_minutes: String,
    after_hours_text: String,
    on_call: Vec<String>,
    on_call_phone: String,
    lead: String,
}

impl SettingsForm {
    fn parse(body: &[u8]) -> SettingsForm {
        let mut form = SettingsForm::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            let v = v.into_owned();
            match &*k {
                "time_zone" => form.time_zone = v,
                "holidays" => form.holidays = v,
                "response_target_minutes" => form.response_target_minutes = v,
                "staff_reply_quiet_minutes" => form.staff_reply_quiet_minutes = v,
                "after_hours_text" => form.after_hours_text = v,
                "on_call" => form.on_call.push(v),
                "on_call_phone" => form.on_call_phone = v,
                "lead" => form.lead = v,
                other => {
                    if let Some(day) = other.strip_prefix("hours_") {
                        form.days.insert(day.to_owned(), v);
                    }
                }
            }
        }
        form
    }

    fn from_settings(s: &DepartmentSettings) -> SettingsForm {
        SettingsForm {
            days: DAY_KEYS
                .iter()
                .map(|k| ((*k).to_owned(), s.hours.get(*k).map(|v| v.join(", ")).unwrap_or_default()))
                .collect(),
            time_zone: s.time_zone.clone(),
            holidays: s.holidays.join("\n"),
            response_target_minutes: s.response_target_minutes.to_string(),
            staff_reply_quiet_minutes: s.staff_reply_quiet_minutes.to_string(),
            after_hours_text: s.after_hours_text.clone(),
            on_call: s.on_call_user_ids.iter().map(Uuid::to_string).collect(),
            on_call_phone: s.on_call_phone.clone().unwrap_or_default(),
            lead: s.lead_user_id.map(|u| u.to_string()).unwrap_or_default(),
        }
    }

    /// The settings the form describes, or the fields that are not even readable.
    fn to_settings(&self) -> Result<DepartmentSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let number = |field: &str, text: &str, errors: &mut Vec<FieldError>| -> u32 {
            match text.trim().parse::<u32>() {
                Ok(n) => n,
                Err(_) => {
                    errors.push(FieldError::new(field, "give a whole number of minutes"));
                    0
                }
            }
        };
        let response_target_minutes = number("response_target_minutes", &self.response_target_minutes, &mut errors);
        let staff_reply_quiet_minutes =
            number("staff_reply_quiet_minutes", &self.staff_reply_quiet_minutes, &mut errors);
        let ids = |field: &str, raw: &[String], errors: &mut Vec<FieldError>| -> Vec<Uuid> {
            raw.iter()
                .filter(|r| !r.trim().is_empty())
                .filter_map(|r| match Uuid::parse_str(r.trim()) {
                    Ok(id) => Some(id),
                    Err(_) => {
                        errors.push(FieldError::new(field, "choose people from the list"));
                        None
                    }
                })
                .collect()
        };
        let on_call_user_ids = ids("on_call_user_ids", &self.on_call, &mut errors);
        let lead_user_id = ids("lead_user_id", std::slice::from_ref(&self.lead), &mut errors).into_iter().next();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(DepartmentSettings {
            time_zone: self.time_zone.trim().to_owned(),
            hours: self
                .days
                .iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| (k.clone(), vec![v.clone()]))
                .collect(),
            holidays: self
                .holidays
                .split(['\n', ',', ';'])
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect(),
            response_target_minutes,
            after_hours_text: self.after_hours_text.clone(),
            on_call_user_ids,
            on_call_phone: Some(self.on_call_phone.trim().to_owned()).filter(|p| !p.is_empty()),
            lead_user_id,
            staff_reply_quiet_minutes,
        })
    }
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render_settings(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    form: Option<SettingsForm>,
    errors: Vec<FieldError>,
    confirmation: bool,
    status: StatusCode,
) -> Response {
    let current = match state.services.department_with_settings(id).await {
        Ok(d) => d,
        Err(ServiceError::NotFound(_)) => return not_found(),
        Err(e) => return error_page(&e),
    };
    let users = match state.services.store.list_users().await {
        Ok(u) => u,
        Err(e) => return error_page(&ServiceError::from(e)),
    };
    let form = form.unwrap_or_else(|| SettingsForm::from_settings(&current.settings));
    let lines: Vec<ErrorLine> = errors
        .iter()
        .map(|e| ErrorLine { id: field_id(&e.field), text: format!("{}: {}", label(&e.field), e.message) })
        .collect();
    let day_error = |key: &str| {
        let id = field_id(&format!("hours.{key}"));
        lines.iter().find(|l| l.id == id).map(|l| l.text.clone())
    };
    let days = DAY_KEYS
        .iter()
        .zip(DAY_NAMES.iter())
        .map(|(k, n)| DayRow {
            key: k,
            name: n,
            value: form.days.get(*k).cloned().unwrap_or_default(),
            error: day_error(k),
        })
        .collect();
    let active: Vec<_> = users.into_iter().filter(|u| !u.disabled).collect();
    let page = SettingsPage {
        chrome: Chrome::new(state, staff, "admin"),
        id: id.to_string(),
        name: current.department.name,
        saved: current.saved,
        confirmation,
        days,
        time_zone: form.time_zone.clone(),
        practice_time_zone: state.services.settings().time_zone.name().to_owned(),
        holidays: form.holidays.clone(),
        response_target_minutes: form.response_target_minutes.clone(),
        staff_reply_quiet_minutes: form.staff_reply_quiet_minutes.clone(),
        after_hours_text: form.after_hours_text.clone(),
        on_call: active
            .iter()
            .map(|u| PersonChoice {
                id: u.id.to_string(),
                name: u.name.clone(),
                selected: form.on_call.contains(&u.id.to_string()),
            })
            .collect(),
        on_call_phone: form.on_call_phone.clone(),
        no_lead: form.lead.is_empty(),
        leads: active
            .iter()
            .map(|u| PersonChoice {
                id: u.id.to_string(),
                name: u.name.clone(),
                selected: form.lead == u.id.to_string(),
            })
            .collect(),
        errors: lines,
    };
    render(&page, status)
}

async fn settings_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    let confirmation = done.done.as_deref() == Some("saved");
    render_settings(&state, &staff, id, None, Vec::new(), confirmation, StatusCode::OK).await
}

async fn save_settings(State(state): State<AppState>, staff: Staff, Path(id): Path<String>, body: Bytes) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    let form = SettingsForm::parse(&body);
    let settings = match form.to_settings() {
        Ok(s) => s,
        Err(errors) => {
            return render_settings(&state, &staff, id, Some(form), errors, false, StatusCode::UNPROCESSABLE_ENTITY)
                .await;
        }
    };
    match state.services.update_department_settings(&staff.ctx, id, settings, staff.ip.clone()).await {
        Ok(Ok(_)) => Redirect::to(&format!("/admin/departments/{id}/settings?done=saved")).into_response(),
        Ok(Err(errors)) => {
            render_settings(&state, &staff, id, Some(form), errors, false, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(ServiceError::NotFound(_)) => not_found(),
        Err(e) => error_page(&e),
    }
}

// ---- /admin/urgent-phrases ----

#[derive(Template)]
#[template(path = "admin_urgent_phrases.html")]
struct PhrasesPage {
    chrome: Chrome,
    phrases: String,
    error: Option<String>,
    confirmation: bool,
}

async fn phrases_page(State(state): State<AppState>, staff: Staff, Query(done): Query<Done>) -> Response {
    let phrases = match state.services.urgent_phrases(&staff.ctx).await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    let page = PhrasesPage {
        chrome: Chrome::new(&state, &staff, "admin"),
        phrases,
        error: None,
        confirmation: done.done.as_deref() == Some("saved"),
    };
    render(&page, StatusCode::OK)
}

async fn save_phrases(State(state): State<AppState>, staff: Staff, body: Bytes) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let lines = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "phrases")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    match state.services.set_urgent_phrases(&staff.ctx, &lines, staff.ip.clone()).await {
        Ok(_) => Redirect::to("/admin/urgent-phrases?done=saved").into_response(),
        Err(ServiceError::Invalid { message, .. }) => {
            let page = PhrasesPage {
                chrome: Chrome::new(&state, &staff, "admin"),
                phrases: lines,
                error: Some(format!("Urgent phrases: {message}")),
                confirmation: false,
            };
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&e),
    }
}

// ---- admin API ----

/// A department's routing settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentSettingsBody {
    /// IANA time zone, e.g. America/New_York; empty: the practice's.
    #[serde(default)]
    pub time_zone: String,
    /// Weekday (`mon`..`sun`) → spans "HH:MM-HH:MM"; an end not after its start runs overnight.
    #[serde(default)]
    pub hours: BTreeMap<String, Vec<String>>,
    /// Dates closed all day, YYYY-MM-DD.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Response-time target in minutes of open time (1 to 10080).
    pub response_target_minutes: u32,
    /// The after-hours reply; `{eta}` becomes e.g. "by 9:30 AM Monday".
    pub after_hours_text: String,
    #[serde(default)]
    pub on_call_user_ids: Vec<Uuid>,
    /// E.164, e.g. +15551234567: texted (without patient data) when an urgent message arrives.
    #[serde(default)]
    pub on_call_phone: Option<String>,
    /// Receives overdue escalations.
    #[serde(default)]
    pub lead_user_id: Option<Uuid>,
    /// No after-hours reply when staff replied this recently (minutes, 0 to 1440).
    #[serde(default = "default_quiet")]
    pub staff_reply_quiet_minutes: u32,
}

fn default_quiet() -> u32 {
    10
}

impl From<DepartmentSettings> for DepartmentSettingsBody {
    fn from(s: DepartmentSettings) -> Self {
        DepartmentSettingsBody {
            time_zone: s.time_zone,
            hours: s.hours,
            holidays: s.holidays,
            response_target_minutes: s.response_target_minutes,
            after_hours_text: s.after_hours_text,
            on_call_user_ids: s.on_call_user_ids,
            on_call_phone: s.on_call_phone,
            lead_user_id: s.lead_user_id,
            staff_reply_quiet_minutes: s.staff_reply_quiet_minutes,
        }
    }
}

impl From<DepartmentSettingsBody> for DepartmentSettings {
    fn from(b: DepartmentSettingsBody) -> Self {
        DepartmentSettings {
            time_zone: b.time_zone,
            hours: b.hours,
            holidays: b.holidays,
            response_target_minutes: b.response_target_minutes,
            after_hours_text: b.after_hours_text,
            on_call_user_ids: b.on_call_user_ids,
            on_call_phone: b.on_call_phone,
            lead_user_id: b.lead_user_id,
            staff_reply_quiet_minutes: b.staff_reply_quiet_minutes,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentView {
    pub id: Uuid,
    pub name: String,
    /// False while the department uses the defaults (Mon–Fri 08:00–17:00, practice time zone).
    pub settings_saved: bool,
    pub settings: DepartmentSettingsBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentList {
    pub departments: Vec<DepartmentView>,
}

fn invalid(errors: &[FieldError]) -> ApiError {
    let message = errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ");
    let field = errors.first().map(|e| e.field.as_str()).unwrap_or("settings");
    ApiError::invalid(field, message)
}

#[utoipa::path(get, path = "/api/v1/departments", security(("bearer" = [])),
    responses((status = 200, body = DepartmentList), (status = 401, body = ErrorBody)))]
pub async fn api_list_departments(State(state): State<AppState>) -> Result<Json<DepartmentList>, ApiError> {
    let all = state.services.departments_with_settings_as().await?;
    Ok(Json(DepartmentList {
        departments: all
            .into_iter()
            .map(|d| DepartmentView {
                id: d.department.id,
                name: d.department.name,
                settings_saved: d.saved,
                settings: d.settings.into(),
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/departments/{id}/settings", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = DepartmentSettingsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn api_get_settings(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<DepartmentSettingsBody>, ApiError> {
    let d = state.services.department_with_settings(id).await?;
    Ok(Json(d.settings.into()))
}

#[utoipa::path(put, path = "/api/v1/departments/{id}/settings", params(("id" = Uuid, Path)), request_body = DepartmentSettingsBody, security(("bearer" = [])),
    responses((status = 200, body = DepartmentSettingsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`field` names the first invalid field; `message` lists every problem as `field: message`; nothing was saved")))]
pub async fn api_put_settings(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DepartmentSettingsBody>,
) -> Result<Json<DepartmentSettingsBody>, ApiError> {
    let saved = state
        .services
        .update_department_settings_as(id, body.into(), Actor::Token(principal.0), client_ip(&headers))
        .await?;
    match saved {
        Ok(clean) => Ok(Json(clean.into())),
        Err(errors) => Err(invalid(&errors)),
    }
}
