//! The front door on the web.
//!
//! Public (no staff session): `GET /start` shows the chat-request form (`?embed=1`: without
//! the page header, for an iframe on the practice's website), `POST /start` takes it, `GET
//! /sms-policy` shows the practice's SMS policy (`?version=N`: an earlier version, the one a
//! consent record names). Everything works without JavaScript: errors come back as the same
//! page with an error summary linking to each field. `/start` is the only page that may be
//! framed, and only by the origins admins list (CSP `frame-ancestors`, see `security.rs`).
//!
//! Forgery protection for a form without a session: a signed, time-limited, single-use token
//! in a hidden field (`Services::issue_form_token`), a honeypot field, and per-client and
//! per-number limits counted in the database (`services::front_door`).
//!
//! Staff (behind the session layer): `GET|POST /admin/front-door` (reasons, countries,
//! embedding origins, limits, the iframe snippet) and `POST /admin/front-door/policy` (the SMS
//! policy's text; a change saves a new version).

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use frontdesk_domain::front_door::{MAX_FIRST_NAME, MAX_FREE_TEXT};
use frontdesk_services::ServiceError;
use frontdesk_services::audit::Actor;
use frontdesk_services::front_door::{FrontDoorSettings, Reason, RequestError, RequestOutcome, WebRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::api::{ApiJson, TokenPrincipal};
use super::error::{ApiError, ErrorBody};
use super::home::render;
use super::pages::{Chrome, error_page, message_page};
use super::security::FrameAncestors;
use super::session::{Staff, client_ip};

pub fn public_routes() -> Router<AppState> {
    Router::new().route("/start", get(start_page).post(start_submit)).route("/sms-policy", get(policy_page))
}

pub fn staff_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/front-door", get(admin_page).post(admin_save))
        .route("/admin/front-door/policy", post(admin_save_policy))
}

// ---- public pages -------------------------------------------------------------------------

pub struct ReasonView {
    pub key: String,
    pub label: String,
    pub checked: bool,
}

/// One error for the summary and its field.
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "start.html")]
struct StartPage {
    practice: String,
    embed: bool,
    token: String,
    first_name: String,
    phone: String,
    reasons: Vec<ReasonView>,
    message: String,
    consent: bool,
    countries: String,
    errors: Vec<FieldError>,
    notice: String,
    max_name: usize,
    max_text: usize,
}

impl StartPage {
    fn error(&self, field: &str) -> &str {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str()).unwrap_or("")
    }

    fn embed_query(&self) -> &'static str {
        if self.embed { "?embed=1" } else { "" }
    }
}

#[derive(Template)]
#[template(path = "start_done.html")]
struct DonePage {
    practice: String,
    embed: bool,
    title: String,
    message: String,
    again: bool,
}

#[derive(Template)]
#[template(path = "sms_policy.html")]
struct PolicyPage {
    practice: String,
    version: i64,
    saved: String,
    sections: Vec<(&'static str, String)>,
    latest: i64,
}

#[derive(Deserialize, Default)]
pub struct StartQuery {
    #[serde(default)]
    embed: Option<String>,
}

impl StartQuery {
    fn embed(&self) -> bool {
        matches!(self.embed.as_deref(), Some("1" | "true" | "yes"))
    }
}

#[derive(Deserialize, Default)]
pub struct StartForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    consent: Option<String>,
    /// The honeypot (hidden from people and assistive technology).
    #[serde(default)]
    website: String,
    #[serde(default)]
    form_token: String,
}

/// Public pages: never cached, never indexed, no referrer; framable only by the listed origins.
fn public(mut r: Response, frame: Option<FrameAncestors>) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    if let Some(f) = frame {
        r.extensions_mut().insert(f);
    }
    r
}

fn frame_for(settings: &FrontDoorSettings, embed: bool) -> Option<FrameAncestors> {
    (embed && !settings.embed_origins.is_empty()).then(|| FrameAncestors(settings.embed_origins.clone()))
}

/// "enter your first name" → "Enter your first name."
fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn not_available() -> Response {
    message_page(StatusCode::NOT_FOUND, "Not available", "This practice does not take chat requests on this site.")
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    settings: &FrontDoorSettings,
    embed: bool,
    form: &StartForm,
    errors: Vec<FieldError>,
    notice: &str,
    status: StatusCode,
) -> Response {
    let token = match state.services.issue_form_token().await {
        Ok(t) => t,
        Err(e) => return error_page(&e),
    };
    let page = StartPage {
        practice: state.services.settings().name.clone(),
        embed,
        token,
        first_name: form.first_name.clone(),
        phone: form.phone.clone(),
        reasons: settings
            .reasons
            .iter()
            .map(|r| ReasonView { key: r.key.clone(), label: r.label.clone(), checked: r.key == form.reason })
            .collect(),
        message: form.message.clone(),
        consent: form.consent.is_some(),
        countries: frontdesk_services::front_door::country_names(&settings.allowed_countries),
        errors,
        notice: notice.to_string(),
        max_name: MAX_FIRST_NAME,
        max_text: MAX_FREE_TEXT,
    };
    public(render(&page, status), frame_for(settings, embed))
}

pub async fn start_page(State(state): State<AppState>, Query(q): Query<StartQuery>) -> Response {
    let settings = match state.services.front_door_settings().await {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    if !settings.enabled {
        return not_available();
    }
    form_page(&state, &settings, q.embed(), &StartForm::default(), Vec::new(), "", StatusCode::OK).await
}

pub async fn start_submit(
    State(state): State<AppState>,
    Query(q): Query<StartQuery>,
    headers: HeaderMap,
    Form(form): Form<StartForm>,
) -> Response {
    let embed = q.embed();
    let settings = match state.services.front_door_settings().await {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    if !settings.enabled {
        return not_available();
    }
    let request = WebRequest {
        first_name: form.first_name.clone(),
        phone: form.phone.clone(),
        reason: form.reason.clone(),
        message: form.message.clone(),
        consent: form.consent.as_deref().is_some_and(|v| matches!(v, "yes" | "on" | "1" | "true")),
        website: form.website.clone(),
        form_token: form.form_token.clone(),
        client: client_ip(&headers).unwrap_or_else(|| "local".to_string()),
    };
    match state.services.submit_web_request(request).await {
        // Every outcome answers the same page: nobody learns whether the number is a
        // patient's, opted out, or asked a minute ago.
        Ok(outcome) => {
            if let RequestOutcome::Texted { conversation_id }
            | RequestOutcome::Merged { conversation_id }
            | RequestOutcome::NotTexted { conversation_id } = &outcome
            {
                tracing::info!(conversation = %conversation_id, "front door: chat request taken");
            }
            let page = DonePage {
                practice: state.services.settings().name.clone(),
                embed,
                title: "Thank you, we got your request".into(),
                message: "We will text you soon at the number you gave. If it is an emergency, call 911.".into(),
                again: false,
            };
            public(render(&page, StatusCode::OK), frame_for(&settings, embed))
        }
        Err(RequestError::Invalid(errors)) => {
            let errors =
                errors.into_iter().map(|(field, message)| FieldError { field, message: sentence(&message) }).collect();
            form_page(&state, &settings, embed, &form, errors, "", StatusCode::BAD_REQUEST).await
        }
        Err(RequestError::Expired) => {
            form_page(
                &state,
                &settings,
                embed,
                &form,
                Vec::new(),
                "This page was open for a long time, so for your security please check your answers and send it again.",
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(RequestError::TooMany { retry_after_secs }) => {
            let when = if retry_after_secs >= 24 * 3600 {
                "tomorrow".to_string()
            } else if retry_after_secs >= 3600 {
                "in an hour".to_string()
            } else {
                format!("in {} minutes", (retry_after_secs + 59) / 60)
            };
            let page = DonePage {
                practice: state.services.settings().name.clone(),
                embed,
                title: "Too many requests".into(),
                message: format!(
                    "We have received too many requests from here or for this number. Please try again {when}, or call the practice. If it is an emergency, call 911."
                ),
                again: false,
            };
            let mut r = public(render(&page, StatusCode::TOO_MANY_REQUESTS), frame_for(&settings, embed));
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(RequestError::Service(e)) => {
            tracing::warn!(error = %e, "front door: request failed");
            let page = DonePage {
                practice: state.services.settings().name.clone(),
                embed,
                title: "We could not take your request".into(),
                message: "Something went wrong on our side. Please try again in a few minutes, or call the practice. If it is an emergency, call 911.".into(),
                again: true,
            };
            let status = match e {
                ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                ServiceError::NotFound(_) => return not_available(),
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            public(render(&page, status), frame_for(&settings, embed))
        }
    }
}

#[derive(Deserialize, Default)]
pub struct PolicyQuery {
    #[serde(default)]
    version: Option<String>,
}

pub async fn policy_page(State(state): State<AppState>, Query(q): Query<PolicyQuery>) -> Response {
    let current = match state.services.current_sms_policy().await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    let shown = match q.version.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => current.clone(),
        Some(raw) => {
            let Ok(v) = raw.parse::<i64>() else {
                return message_page(StatusCode::BAD_REQUEST, "Not found", "version: write a version number, like 1.");
            };
            match state.services.sms_policy_version(v).await {
                Ok(Some(p)) => p,
                Ok(None) => {
                    return message_page(
                        StatusCode::NOT_FOUND,
                        "Not found",
                        "There is no such version of the SMS policy.",
                    );
                }
                Err(e) => return error_page(&e),
            }
        }
    };
    let page = PolicyPage {
        practice: shown.policy.practice.clone(),
        version: shown.version,
        saved: shown.created_at.format("%B %-d, %Y").to_string(),
        sections: shown.policy.sections(),
        latest: current.version,
    };
    let mut r = render(&page, StatusCode::OK);
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

// ---- admin --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_front_door.html")]
struct AdminPage {
    chrome: Chrome,
    enabled: bool,
    reasons: String,
    countries: String,
    origins: String,
    per_ip: String,
    per_number: String,
    departments: String,
    purpose: String,
    frequency: String,
    privacy: String,
    version: i64,
    snippet: String,
    start_url: String,
    confirmation: String,
    error_field: String,
    error: String,
}

impl AdminPage {
    fn is(&self, field: &str) -> bool {
        self.error_field == field
    }
}

#[derive(Deserialize, Default)]
pub struct AdminForm {
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    reasons: String,
    #[serde(default)]
    countries: String,
    #[serde(default)]
    origins: String,
    #[serde(default)]
    per_ip: String,
    #[serde(default)]
    per_number: String,
}

#[derive(Deserialize, Default)]
pub struct PolicyForm {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    frequency: String,
    #[serde(default)]
    privacy: String,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `key | Label | Department` per line, the way the settings page shows reasons.
fn reasons_text(reasons: &[Reason], departments: &[frontdesk_domain::model::Department]) -> String {
    reasons
        .iter()
        .map(|r| {
            let dep = r.department_id.and_then(|d| departments.iter().find(|x| x.id == d)).map(|d| d.name.as_str());
            match dep {
                Some(name) => format!("{} | {} | {name}", r.key, r.label),
                None => format!("{} | {}", r.key, r.label),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_reasons(text: &str, departments: &[frontdesk_domain::model::Department]) -> Result<Vec<Reason>, ServiceError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        if parts.len() < 2 || parts.len() > 3 {
            return Err(ServiceError::invalid(
                "reasons",
                format!("line {}: write it as key | Label | Department (the department is optional)", i + 1),
            ));
        }
        let department_id = match parts.get(2).filter(|d| !d.is_empty()) {
            Some(name) => Some(
                departments
                    .iter()
                    .find(|d| d.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        ServiceError::invalid("reasons", format!("line {}: no department named {name:?}", i + 1))
                    })?
                    .id,
            ),
            None => None,
        };
        out.push(Reason { key: parts[0].to_string(), label: parts[1].to_string(), department_id });
    }
    Ok(out)
}

fn snippet(start_url: &str, practice: &str) -> String {
    format!(
        "<iframe src=\"{start_url}?embed=1\" title=\"Text {practice}\" style=\"width:100%;max-width:32rem;height:46rem;border:0\" loading=\"lazy\"></iframe>"
    )
}

async fn admin_render(
    state: &AppState,
    staff: &Staff,
    form: Option<AdminForm>,
    policy: Option<PolicyForm>,
    error: Option<(String, String)>,
    confirmation: &str,
    status: StatusCode,
) -> Response {
    let settings = match state.services.front_door_settings().await {
        Ok(s) => s,
        Err(e) => return error_page(&e),
    };
    let current = match state.services.current_sms_policy().await {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    let departments = match state.services.store.list_departments().await {
        Ok(d) => d,
        Err(e) => return error_page(&e.into()),
    };
    let form = form.unwrap_or_else(|| AdminForm {
        enabled: settings.enabled.then(|| "yes".to_string()),
        reasons: reasons_text(&settings.reasons, &departments),
        countries: settings.allowed_countries.join(", "),
        origins: settings.embed_origins.join("\n"),
        per_ip: settings.per_ip_per_hour.to_string(),
        per_number: settings.per_number_per_day.to_string(),
    });
    let policy = policy.unwrap_or_else(|| PolicyForm {
        purpose: current.policy.purpose.clone(),
        frequency: current.policy.frequency.clone(),
        privacy: current.policy.privacy.clone(),
    });
    let base = state.services.settings().links_base_url.clone().unwrap_or_default();
    let start_url = format!("{base}/start");
    let practice = state.services.settings().name.clone();
    let (error_field, error) = error.unwrap_or_default();
    let page = AdminPage {
        chrome: Chrome::new(state, staff, "admin"),
        enabled: form.enabled.is_some(),
        reasons: form.reasons,
        countries: form.countries,
        origins: form.origins,
        per_ip: form.per_ip,
        per_number: form.per_number,
        departments: departments.iter().map(|d| d.name.clone()).collect::<Vec<_>>().join(", "),
        purpose: policy.purpose,
        frequency: policy.frequency,
        privacy: policy.privacy,
        version: current.version,
        snippet: snippet(&start_url, &practice),
        start_url,
        confirmation: confirmation.to_string(),
        error_field,
        error,
    };
    render(&page, status)
}

fn confirmation(q: &DoneQuery) -> &'static str {
    match q.done.as_deref() {
        Some("saved") => "Saved.",
        Some("policy") => "Saved. The SMS policy has a new version; new consents point at it.",
        Some("unchanged") => "The SMS policy text did not change; its version stays the same.",
        _ => "",
    }
}

pub async fn admin_page(State(state): State<AppState>, staff: Staff, Query(q): Query<DoneQuery>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    admin_render(&state, &staff, None, None, None, confirmation(&q), StatusCode::OK).await
}

fn number_field(raw: &str, field: &str) -> Result<u32, ServiceError> {
    raw.trim().parse::<u32>().map_err(|_| ServiceError::invalid(field, "write a whole number"))
}

pub async fn admin_save(State(state): State<AppState>, staff: Staff, Form(form): Form<AdminForm>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let result = async {
        let departments = state.services.store.list_departments().await?;
        let settings = FrontDoorSettings {
            enabled: form.enabled.is_some(),
            reasons: parse_reasons(&form.reasons, &departments)?,
            allowed_countries: form.countries.split([',', ' ', '\n']).map(str::to_string).collect(),
            embed_origins: form.origins.lines().map(str::to_string).collect(),
            per_ip_per_hour: number_field(&form.per_ip, "per_ip_per_hour")?,
            per_number_per_day: number_field(&form.per_number, "per_number_per_day")?,
        };
        state.services.update_front_door_settings(&staff.ctx, settings, staff.ip.clone()).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to("/admin/front-door?done=saved").into_response(),
        Err(ServiceError::Invalid { field, message }) => {
            admin_render(&state, &staff, Some(form), None, Some((field, message)), "", StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => error_page(&e),
    }
}

pub async fn admin_save_policy(State(state): State<AppState>, staff: Staff, Form(form): Form<PolicyForm>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let before = state.services.current_sms_policy().await.map(|p| p.version).unwrap_or(0);
    match state
        .services
        .update_sms_policy(&staff.ctx, &form.purpose, &form.frequency, &form.privacy, staff.ip.clone())
        .await
    {
        Ok(v) if v.version == before => Redirect::to("/admin/front-door?done=unchanged").into_response(),
        Ok(_) => Redirect::to("/admin/front-door?done=policy").into_response(),
        Err(ServiceError::Invalid { field, message }) => {
            admin_render(&state, &staff, None, Some(form), Some((field, message)), "", StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => error_page(&e),
    }
}

// ---- admin API (`/api/v1`, bearer tokens) ---------------------------------------------------

/// One reason patients choose on the form.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Kept with each conversation for reports: lowercase letters, digits, `-`, `_`.
    pub key: String,
    /// Shown on the form and named in the first text.
    pub label: String,
    /// The department the request is routed to (the number's default when absent).
    #[serde(default)]
    pub department_id: Option<uuid::Uuid>,
}

/// The front door's settings (`/start`).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrontDoorBody {
    pub enabled: bool,
    pub reasons: Vec<ReasonBody>,
    /// ISO country codes whose numbers the form accepts (default `["US", "CA"]`).
    pub allowed_countries: Vec<String>,
    /// Origins allowed to frame `/start?embed=1`, like `https://www.example.com`.
    pub embed_origins: Vec<String>,
    pub per_ip_per_hour: u32,
    pub per_number_per_day: u32,
}

impl From<FrontDoorSettings> for FrontDoorBody {
    fn from(s: FrontDoorSettings) -> Self {
        FrontDoorBody {
            enabled: s.enabled,
            reasons: s
                .reasons
                .into_iter()
                .map(|r| ReasonBody { key: r.key, label: r.label, department_id: r.department_id })
                .collect(),
            allowed_countries: s.allowed_countries,
            embed_origins: s.embed_origins,
            per_ip_per_hour: s.per_ip_per_hour,
            per_number_per_day: s.per_number_per_day,
        }
    }
}

/// The SMS policy's text as an admin writes it; the rest of `/sms-policy` is fixed wording.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsPolicyBody {
    pub purpose: String,
    pub frequency: String,
    pub privacy: String,
}

/// A saved version of the SMS policy.
#[derive(Serialize, ToSchema)]
pub struct SmsPolicyView {
    /// Consent records name this version; a changed text gets the next one.
    pub version: i64,
    pub practice: String,
    pub purpose: String,
    pub frequency: String,
    pub privacy: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<frontdesk_store::PolicyVersion> for SmsPolicyView {
    fn from(v: frontdesk_store::PolicyVersion) -> Self {
        SmsPolicyView {
            version: v.version,
            practice: v.policy.practice,
            purpose: v.policy.purpose,
            frequency: v.policy.frequency,
            privacy: v.policy.privacy,
            created_at: v.created_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/front-door", security(("bearer" = [])),
    responses((status = 200, body = FrontDoorBody), (status = 401, body = ErrorBody)))]
pub async fn api_settings(State(state): State<AppState>) -> Result<Json<FrontDoorBody>, ApiError> {
    Ok(Json(state.services.front_door_settings().await?.into()))
}

#[utoipa::path(put, path = "/api/v1/front-door", request_body = FrontDoorBody, security(("bearer" = [])),
    description = "Replaces the chat-request form's settings. Nothing is saved when a field is wrong (422 naming it).",
    responses((status = 200, body = FrontDoorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_save_settings(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FrontDoorBody>,
) -> Result<Json<FrontDoorBody>, ApiError> {
    let settings = FrontDoorSettings {
        enabled: body.enabled,
        reasons: body
            .reasons
            .into_iter()
            .map(|r| Reason { key: r.key, label: r.label, department_id: r.department_id })
            .collect(),
        allowed_countries: body.allowed_countries,
        embed_origins: body.embed_origins,
        per_ip_per_hour: body.per_ip_per_hour,
        per_number_per_day: body.per_number_per_day,
    };
    let saved =
        state.services.save_front_door_settings(settings, Actor::Token(principal.0), client_ip(&headers)).await?;
    Ok(Json(saved.into()))
}

#[utoipa::path(get, path = "/api/v1/sms-policy", security(("bearer" = [])),
    responses((status = 200, body = SmsPolicyView), (status = 401, body = ErrorBody)))]
pub async fn api_policy(State(state): State<AppState>) -> Result<Json<SmsPolicyView>, ApiError> {
    Ok(Json(state.services.current_sms_policy().await?.into()))
}

#[utoipa::path(put, path = "/api/v1/sms-policy", request_body = SmsPolicyBody, security(("bearer" = [])),
    description = "Saves the SMS policy's text. A changed text becomes the next version (earlier versions stay readable at `/sms-policy?version=N`); an unchanged text keeps its version.",
    responses((status = 200, body = SmsPolicyView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn api_save_policy(
    State(state): State<AppState>,
    Extension(principal): Extension<TokenPrincipal>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SmsPolicyBody>,
) -> Result<Json<SmsPolicyView>, ApiError> {
    let saved = state
        .services
        .save_sms_policy(&body.purpose, &body.frequency, &body.privacy, Actor::Token(principal.0), client_ip(&headers))
        .await?;
    Ok(Json(saved.into()))
}
